//! The quantile sketch of a window: DDSketch (Masson, Rim & Lee, VLDB 2019) with relative
//! accuracy α = 1%, using `sketches-ddsketch`'s index mapping (γ = (1+α)/(1−α), key
//! ⌊log_γ |v|⌋, a key's value 2γ^key/(γ+1)) over a **sparse** store of our own.
//!
//! Why not the crate's store: its dense store allocates bins 128 at a time (1 KiB per sign
//! for a sketch holding one value), so building a 6-hour segment of 1-minute windows for
//! 1,000 series would hold ~360 MB of bins; and past 2,048 bins it collapses the lowest
//! ones, which voids the guarantee for small values. A sorted `(key, count)` list holds one
//! entry per distinct bucket — at most ~71,000 over the whole f64 range — so the guarantee
//! holds for every value and a window of a few samples costs a few entries.
//!
//! **The guarantee**: for finite values with |v| > 1e−9 (smaller ones are counted as 0), the
//! value a bucket reports is within 1% of every value it holds. [`Sketch::quantile`]
//! reproduces PromQL's interpolation between the two ranks around φ·(n−1); when those two
//! values have the same sign the answer is within 1% of PromQL's (otherwise within 1% of
//! the larger in magnitude). Merging is exact: merged sketches equal the sketch of all the
//! values, whatever the order.

use sketches_ddsketch::Config;
use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, zigzag_decode};

/// Values at most this far from zero are counted as zero.
const MIN_MAGNITUDE: f64 = 1e-9;

/// A sparse DDSketch of finite values; see the module docs. An empty one is a null pointer
/// (windows hold one each, and most readers never fill it).
#[derive(Debug, Clone, Default)]
pub struct Sketch(Option<Box<Buckets>>);

#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets {
    /// Buckets of positive values, by key ascending.
    positive: Vec<(i32, u64)>,
    /// Buckets of negative values (keyed by magnitude), by key ascending.
    negative: Vec<(i32, u64)>,
    zeros: u64,
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Sketch) -> bool {
        let empty = Buckets::default();
        self.0.as_deref().unwrap_or(&empty) == other.0.as_deref().unwrap_or(&empty)
    }
}

fn mapping() -> Config {
    Config::defaults()
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Sketch {
        Sketch::default()
    }

    fn buckets(&self) -> &Buckets {
        static EMPTY: Buckets = Buckets { positive: Vec::new(), negative: Vec::new(), zeros: 0 };
        self.0.as_deref().unwrap_or(&EMPTY)
    }

    fn buckets_mut(&mut self) -> &mut Buckets {
        self.0.get_or_insert_with(Box::default)
    }

    /// Values held.
    pub fn count(&self) -> u64 {
        let b = self.buckets();
        b.zeros + b.positive.iter().chain(&b.negative).map(|b| b.1).sum::<u64>()
    }

    /// Adds a finite value (callers keep NaN and ±Inf out).
    pub fn add(&mut self, v: f64) {
        let b = self.buckets_mut();
        match Place::of(v) {
            Place::Positive(k) => add_bucket(&mut b.positive, k, 1),
            Place::Negative(k) => add_bucket(&mut b.negative, k, 1),
            Place::Zero => b.zeros += 1,
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        let Some(o) = other.0.as_deref() else { return };
        let b = self.buckets_mut();
        for &(k, n) in &o.positive {
            add_bucket(&mut b.positive, k, n);
        }
        for &(k, n) in &o.negative {
            add_bucket(&mut b.negative, k, n);
        }
        b.zeros += o.zeros;
    }

    /// The values of ranks `lower` ≤ `upper` (0-based, ascending), within the guarantee, in
    /// one walk; a bucket's value is computed once even when both ranks fall in it (the
    /// usual case), as it costs an `exp`.
    fn values_at_ranks(&self, lower: u64, upper: u64) -> Option<(f64, f64)> {
        let config = mapping();
        let b = self.buckets();
        // Negative values ascend as their magnitudes descend.
        let buckets = b
            .negative
            .iter()
            .rev()
            .map(|&(k, n)| (Some((k, -1.0)), n))
            .chain(std::iter::once((None, b.zeros)))
            .chain(b.positive.iter().map(|&(k, n)| (Some((k, 1.0)), n)));
        let value = |key: Option<(i32, f64)>| key.map_or(0.0, |(k, sign)| sign * config.value(k));
        let (mut seen, mut lo) = (0, None);
        for (key, n) in buckets {
            seen += n;
            // The bucket's value, if the lower rank is in it.
            let mut here = None;
            if lo.is_none() && lower < seen {
                here = Some(value(key));
                lo = here;
            }
            if let Some(lo) = lo.filter(|_| upper < seen) {
                return Some((lo, here.unwrap_or_else(|| value(key))));
            }
        }
        None
    }

    /// PromQL's φ-quantile (`quantile_over_time`) of the values, within the guarantee: the
    /// values at ranks ⌊φ(n−1)⌋ and the one after, interpolated as PromQL interpolates.
    /// φ < 0 gives −Inf, φ > 1 +Inf, NaN NaN, as in PromQL; `None` when empty.
    pub fn quantile(&self, phi: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        if phi.is_nan() {
            return Some(f64::NAN);
        }
        if phi < 0.0 {
            return Some(f64::NEG_INFINITY);
        }
        if phi > 1.0 {
            return Some(f64::INFINITY);
        }
        let rank = phi * (n - 1) as f64;
        let lower = rank.floor().max(0.0);
        let upper = (lower + 1.0).min((n - 1) as f64);
        let weight = rank - lower;
        let (lo, hi) = self.values_at_ranks(lower as u64, upper as u64)?;
        Some(lo * (1.0 - weight) + hi * weight)
    }

    /// Appends the encoding: zeros, then each store as a bucket count and (key delta,
    /// count) pairs, varints throughout.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let b = self.buckets();
        put_uvarint(out, b.zeros);
        for store in [&b.positive, &b.negative] {
            put_uvarint(out, store.len() as u64);
            let mut prev = 0i64;
            for &(k, n) in store {
                put_varint(out, i64::from(k) - prev);
                put_uvarint(out, n);
                prev = i64::from(k);
            }
        }
    }

    /// Empties the sketch, keeping its allocations.
    pub fn clear(&mut self) {
        if let Some(b) = self.0.as_deref_mut() {
            b.positive.clear();
            b.negative.clear();
            b.zeros = 0;
        }
    }

    /// Decodes what [`Sketch::encode`] wrote at `buf[*pos..]`; an error names what is wrong.
    pub fn decode(buf: &[u8], pos: &mut usize) -> Result<Sketch, String> {
        let mut sketch = Sketch::new();
        sketch.decode_into(buf, pos)?;
        Ok(sketch)
    }

    /// [`Sketch::decode`] into this sketch, replacing what it held and keeping its
    /// allocations: a query reading a sketch per window decodes them all into one.
    pub fn decode_into(&mut self, buf: &[u8], pos: &mut usize) -> Result<(), String> {
        let b = self.buckets_mut();
        b.zeros = uvarint(buf, pos)?;
        for store in [&mut b.positive, &mut b.negative] {
            store.clear();
            let len = uvarint(buf, pos)?;
            if len > (buf.len().saturating_sub(*pos) / 2) as u64 {
                return Err(format!("sketch claims {len} buckets in {} bytes", buf.len() - *pos));
            }
            let mut key = 0i64;
            for _ in 0..len {
                key = key
                    .checked_add(zigzag_decode(uvarint(buf, pos)?))
                    .ok_or_else(|| format!("sketch key past {key} out of range"))?;
                let n = uvarint(buf, pos)?;
                let k = i32::try_from(key).map_err(|_| format!("sketch key {key} out of range"))?;
                if store.last().is_some_and(|&(last, _)| last >= k) || n == 0 {
                    return Err(format!("sketch bucket {k} out of order or empty"));
                }
                store.push((k, n));
            }
        }
        Ok(())
    }

    /// Writes the encoding of a sketch holding `v` alone (finite) — what
    /// `Sketch::new()` + [`Sketch::add`] + [`Sketch::encode`] write, without the sketch.
    pub fn encode_one(v: f64, out: &mut Vec<u8>) {
        let place = Place::of(v);
        put_uvarint(out, u64::from(place == Place::Zero));
        for key in [place.positive(), place.negative()] {
            match key {
                Some(k) => {
                    put_uvarint(out, 1);
                    put_varint(out, i64::from(k));
                    put_uvarint(out, 1);
                }
                None => put_uvarint(out, 0),
            }
        }
    }
}

/// Where a finite value goes in a sketch: the zero count, or a bucket key of its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Zero,
    Positive(i32),
    Negative(i32),
}

impl Place {
    fn of(v: f64) -> Place {
        debug_assert!(v.is_finite());
        if v > MIN_MAGNITUDE {
            Place::Positive(mapping().key(v))
        } else if v < -MIN_MAGNITUDE {
            Place::Negative(mapping().key(-v))
        } else {
            Place::Zero
        }
    }

    fn positive(self) -> Option<i32> {
        match self {
            Place::Positive(k) => Some(k),
            _ => None,
        }
    }

    fn negative(self) -> Option<i32> {
        match self {
            Place::Negative(k) => Some(k),
            _ => None,
        }
    }
}

fn add_bucket(store: &mut Vec<(i32, u64)>, key: i32, n: u64) {
    match store.binary_search_by_key(&key, |b| b.0) {
        Ok(i) => store[i].1 += n,
        Err(i) => store.insert(i, (key, n)),
    }
}

/// A uvarint of a sketch: key deltas and counts are nearly always one byte, read inline
/// (a year-long quantile decodes millions of sketches); the rest by the checked decoder.
#[inline(always)]
fn uvarint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    match buf.get(*pos) {
        Some(&b) if b < 0x80 => {
            *pos += 1;
            Ok(u64::from(b))
        }
        _ => read_uvarint(buf, pos).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// PromQL's quantile over sorted values.
    fn exact_quantile(phi: f64, sorted: &[f64]) -> f64 {
        let rank = phi * (sorted.len() - 1) as f64;
        let lower = rank.floor();
        let upper = (lower + 1.0).min((sorted.len() - 1) as f64);
        let w = rank - lower;
        sorted[lower as usize] * (1.0 - w) + sorted[upper as usize] * w
    }

    proptest! {
        #[test]
        fn quantiles_are_within_one_percent_and_merges_are_exact(
            values in prop::collection::vec(prop_oneof![1e-6f64..1e12, -1e12f64..-1e-6], 1..400),
            split in 0usize..400,
            phi in 0.0f64..=1.0,
        ) {
            let mut whole = Sketch::new();
            values.iter().for_each(|&v| whole.add(v));
            let split = split.min(values.len());
            let (mut a, mut b) = (Sketch::new(), Sketch::new());
            values[..split].iter().for_each(|&v| a.add(v));
            values[split..].iter().for_each(|&v| b.add(v));
            b.merge(&a);
            prop_assert_eq!(&b, &whole, "a merge equals the sketch of all values");

            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = phi * (sorted.len() - 1) as f64;
            let (lo, hi) = (sorted[rank.floor() as usize], sorted[(rank.floor() as usize + 1).min(sorted.len() - 1)]);
            let exact = exact_quantile(phi, &sorted);
            let got = whole.quantile(phi).unwrap();
            let bound = if lo.signum() == hi.signum() { exact.abs() } else { lo.abs().max(hi.abs()) };
            prop_assert!((got - exact).abs() <= 0.01 * bound * (1.0 + 1e-9), "{got} vs {exact}");

            let mut bytes = Vec::new();
            whole.encode(&mut bytes);
            let mut pos = 0;
            prop_assert_eq!(Sketch::decode(&bytes, &mut pos).unwrap(), whole);
            prop_assert_eq!(pos, bytes.len());
        }
    }

    #[test]
    fn a_one_value_encoding_is_that_of_a_sketch_of_the_value() {
        let mut reused = Sketch::new();
        (1..30).for_each(|i| reused.add(f64::from(i)));
        for v in [0.0, 1e-12, -1e-12, 3.5, -3.5, 1e300, -1e-300, 7e-9] {
            let mut s = Sketch::new();
            s.add(v);
            let (mut want, mut got) = (Vec::new(), Vec::new());
            s.encode(&mut want);
            Sketch::encode_one(v, &mut got);
            assert_eq!(got, want, "{v}");
            let mut pos = 0;
            reused.decode_into(&got, &mut pos).unwrap();
            assert_eq!((&reused, pos), (&s, got.len()), "decoding into a used sketch replaces it");
        }
    }

    #[test]
    fn out_of_range_phi_and_empty_sketches_answer_as_promql() {
        let mut s = Sketch::new();
        assert_eq!(s.quantile(0.5), None);
        s.add(0.0);
        s.add(1e-12);
        assert_eq!(s.quantile(0.5), Some(0.0), "values within 1e-9 of zero count as zero");
        assert_eq!(s.quantile(-1.0), Some(f64::NEG_INFINITY));
        assert_eq!(s.quantile(2.0), Some(f64::INFINITY));
        assert!(s.quantile(f64::NAN).unwrap().is_nan());
    }

    #[test]
    fn damaged_encodings_are_errors_not_panics() {
        let mut s = Sketch::new();
        (1..50).for_each(|i| s.add(i as f64 * 1.7));
        let mut bytes = Vec::new();
        s.encode(&mut bytes);
        for cut in 0..bytes.len() {
            let _ = Sketch::decode(&bytes[..cut], &mut 0);
        }
        let mut pos = 0;
        assert!(Sketch::decode(&[0, 0xff, 0xff, 0xff, 0x0f], &mut pos).is_err(), "a huge bucket count");
    }
}
