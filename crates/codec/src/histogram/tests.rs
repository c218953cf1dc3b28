//! Round trips of histogram chunks against an oracle: the absolute count of every bucket
//! index (zero counts dropped, since recoding adds explicit zeros), the counts, the sum's
//! bits and the timestamp of every sample, across cuts and recodes.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use strata_model::histogram::{
    absolute_counts, bucket_indices, delta_counts, spans_for_indices, CounterResetHint, FloatHistogram,
    Histogram,
};

/// What a sample means, whatever its layout.
#[derive(Debug, Clone, PartialEq)]
struct Meaning {
    t: i64,
    stale: bool,
    schema: i32,
    count: u64,
    zero_count: u64,
    sum_bits: u64,
    positive: BTreeMap<i64, u64>,
    negative: BTreeMap<i64, u64>,
}

fn nonzero(spans: &[strata_model::Span], counts: impl IntoIterator<Item = u64>) -> BTreeMap<i64, u64> {
    bucket_indices(spans).zip(counts).filter(|(_, c)| *c != 0).collect()
}

fn meaning(t: i64, h: &Histogram) -> Meaning {
    if h.is_stale() {
        return Meaning {
            t,
            stale: true,
            schema: 0,
            count: 0,
            zero_count: 0,
            sum_bits: h.sum.to_bits(),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
        };
    }
    Meaning {
        t,
        stale: false,
        schema: h.schema,
        count: h.count,
        zero_count: h.zero_count,
        sum_bits: h.sum.to_bits(),
        positive: nonzero(
            &h.positive_spans,
            absolute_counts(&h.positive_buckets).into_iter().map(|c| c as u64),
        ),
        negative: nonzero(
            &h.negative_spans,
            absolute_counts(&h.negative_buckets).into_iter().map(|c| c as u64),
        ),
    }
}

fn float_meaning(t: i64, h: &FloatHistogram) -> Meaning {
    let as_int = |v: &[f64]| v.iter().map(|c| *c as u64).collect::<Vec<_>>();
    let integer = Histogram {
        schema: h.schema,
        count: h.count as u64,
        zero_count: h.zero_count as u64,
        sum: h.sum,
        positive_spans: h.positive_spans.clone(),
        negative_spans: h.negative_spans.clone(),
        positive_buckets: delta_counts(
            &as_int(&h.positive_buckets).iter().map(|c| *c as i64).collect::<Vec<_>>(),
        ),
        negative_buckets: delta_counts(
            &as_int(&h.negative_buckets).iter().map(|c| *c as i64).collect::<Vec<_>>(),
        ),
        ..Default::default()
    };
    meaning(t, &integer)
}

/// A series of integer histograms: counters growing bucket by bucket, new buckets
/// appearing, with resets, schema changes, gauges and stale markers mixed in.
fn histogram_series() -> impl Strategy<Value = Vec<(i64, Histogram)>> {
    let step = (
        1i64..100_000,                                           // time step
        proptest::collection::vec((-12i64..12, 0u64..50), 0..6), // positive increments
        proptest::collection::vec((-12i64..12, 0u64..50), 0..3), // negative increments
        0u64..20,                                                // zero bucket increment
        0u8..100,                                                // event roll
        any::<f64>(),                                            // sum noise
    );
    (any::<bool>(), proptest::collection::vec(step, 1..80)).prop_map(|(gauge, steps)| {
        let mut t = 1_700_000_000_000i64;
        let mut schema = 3i32;
        let (mut pos, mut neg, mut zero) = (BTreeMap::<i64, u64>::new(), BTreeMap::<i64, u64>::new(), 0u64);
        let mut sum = 0.0;
        let mut out = Vec::new();
        for (dt, p_inc, n_inc, z_inc, roll, noise) in steps {
            t += dt;
            if roll < 4 {
                out.push((t, Histogram::stale()));
                continue;
            }
            if roll < 10 || gauge {
                pos.clear();
                neg.clear();
                zero = 0;
                sum = 0.0;
            }
            if roll == 10 {
                schema = (schema + 5).rem_euclid(13) - 4;
            }
            p_inc.into_iter().for_each(|(i, c)| *pos.entry(i).or_default() += c);
            n_inc.into_iter().for_each(|(i, c)| *neg.entry(i).or_default() += c);
            zero += z_inc;
            sum += if noise.is_finite() { noise % 1e6 } else { 1.5 };
            let side = |m: &BTreeMap<i64, u64>| {
                let idx: Vec<i64> = m.keys().copied().collect();
                (spans_for_indices(&idx), delta_counts(&m.values().map(|c| *c as i64).collect::<Vec<_>>()))
            };
            let (ps, pb) = side(&pos);
            let (ns, nb) = side(&neg);
            let h = Histogram {
                counter_reset_hint: if gauge { CounterResetHint::Gauge } else { CounterResetHint::Unknown },
                schema,
                zero_threshold: 2f64.powi(-128),
                zero_count: zero,
                count: zero + pos.values().sum::<u64>() + neg.values().sum::<u64>(),
                sum,
                positive_spans: ps,
                negative_spans: ns,
                positive_buckets: pb,
                negative_buckets: nb,
                custom_values: vec![],
            };
            h.validate().expect("generator makes valid histograms");
            out.push((t, h));
        }
        out
    })
}

/// Encodes a series into chunks the way a head would, cutting only when told.
fn encode_integer(series: &[(i64, Histogram)]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut enc = HistogramChunkEncoder::new(CounterResetHeader::Unknown);
    for (t, h) in series {
        if let Appended::Cut(header) = enc.append(*t, h).unwrap() {
            chunks.push(enc.to_bytes());
            enc = HistogramChunkEncoder::new(header);
            assert_eq!(enc.append(*t, h).unwrap(), Appended::InPlace, "a fresh chunk takes any sample");
        }
    }
    chunks.push(enc.to_bytes());
    chunks
}

fn encode_float(series: &[(i64, FloatHistogram)]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut enc = FloatHistogramChunkEncoder::new(CounterResetHeader::Unknown);
    for (t, h) in series {
        if let Appended::Cut(header) = enc.append(*t, h).unwrap() {
            chunks.push(enc.to_bytes());
            enc = FloatHistogramChunkEncoder::new(header);
            assert_eq!(enc.append(*t, h).unwrap(), Appended::InPlace);
        }
    }
    chunks.push(enc.to_bytes());
    chunks
}

proptest! {
    #[test]
    fn integer_chunks_keep_every_sample(series in histogram_series()) {
        let want: Vec<Meaning> = series.iter().map(|(t, h)| meaning(*t, h)).collect();
        let mut got = Vec::new();
        for chunk in encode_integer(&series) {
            for sample in HistogramChunkIter::new(&chunk).unwrap() {
                let (t, h) = sample.unwrap();
                got.push(meaning(t, &h));
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn float_chunks_keep_every_sample(series in histogram_series()) {
        let floats: Vec<(i64, FloatHistogram)> = series.iter().map(|(t, h)| (*t, h.to_float())).collect();
        let want: Vec<Meaning> = series.iter().map(|(t, h)| meaning(*t, h)).collect();
        let mut got = Vec::new();
        for chunk in encode_float(&floats) {
            for sample in FloatHistogramChunkIter::new(&chunk).unwrap() {
                let (t, h) = sample.unwrap();
                got.push(float_meaning(t, &h));
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn decoders_never_panic_on_damaged_chunks(series in histogram_series(), cut in 0usize..400, flip in any::<(usize, u8)>()) {
        for mut chunk in encode_integer(&series) {
            let at = flip.0 % chunk.len();
            chunk[at] ^= flip.1;
            chunk.truncate(cut.max(3));
            for _ in HistogramChunkIter::new(&chunk).unwrap() {}
            for _ in FloatHistogramChunkIter::new(&chunk).unwrap() {}
        }
    }
}

fn counter(t_count: u64, buckets: &[(i64, u64)]) -> Histogram {
    let idx: Vec<i64> = buckets.iter().map(|b| b.0).collect();
    let counts: Vec<i64> = buckets.iter().map(|b| b.1 as i64).collect();
    Histogram {
        schema: 0,
        count: t_count,
        sum: t_count as f64,
        positive_spans: spans_for_indices(&idx),
        positive_buckets: delta_counts(&counts),
        ..Default::default()
    }
}

#[test]
fn new_buckets_recode_and_resets_cut() {
    let mut enc = HistogramChunkEncoder::new(CounterResetHeader::Unknown);
    assert_eq!(enc.append(1000, &counter(3, &[(0, 1), (1, 2)])).unwrap(), Appended::InPlace);
    assert_eq!(enc.append(2000, &counter(4, &[(0, 2), (1, 2)])).unwrap(), Appended::InPlace);
    assert_eq!(enc.append(3000, &counter(6, &[(0, 2), (1, 2), (5, 2)])).unwrap(), Appended::Recoded);
    assert_eq!(
        enc.append(4000, &counter(6, &[(1, 4), (5, 2)])).unwrap(),
        Appended::Cut(CounterResetHeader::CounterReset),
        "bucket 0 went from 2 to nothing"
    );
    assert_eq!(
        enc.append(4000, &counter(2, &[(0, 2)])).unwrap(),
        Appended::Cut(CounterResetHeader::CounterReset)
    );
    let mut other_schema = counter(7, &[(0, 7)]);
    other_schema.schema = 1;
    assert_eq!(enc.append(4000, &other_schema).unwrap(), Appended::Cut(CounterResetHeader::Unknown));
    assert_eq!(enc.append(4000, &Histogram::stale()).unwrap(), Appended::InPlace);
    assert_eq!(
        enc.append(5000, &counter(7, &[(0, 7)])).unwrap(),
        Appended::Cut(CounterResetHeader::Unknown),
        "nothing follows a stale marker"
    );
    let decoded: Vec<_> = HistogramChunkIter::new(&enc.to_bytes()).unwrap().map(|s| s.unwrap()).collect();
    assert_eq!(decoded.len(), 4);
    assert_eq!(
        decoded[0].1.positive_spans, decoded[2].1.positive_spans,
        "earlier samples carry the wider layout"
    );
    assert_eq!(decoded[1].1.counter_reset_hint, CounterResetHint::NotCounterReset);
    assert!(decoded[3].1.is_stale());
}

#[test]
fn gauge_and_reset_hints_set_the_header() {
    let mut gauge = counter(3, &[(0, 3)]);
    gauge.counter_reset_hint = CounterResetHint::Gauge;
    let mut enc = HistogramChunkEncoder::new(CounterResetHeader::Unknown);
    enc.append(1, &gauge).unwrap();
    assert_eq!(enc.header(), CounterResetHeader::Gauge);
    let mut lower = counter(1, &[(0, 1)]);
    lower.counter_reset_hint = CounterResetHint::Gauge;
    assert_eq!(enc.append(2, &lower).unwrap(), Appended::InPlace, "gauges go down freely");
    assert_eq!(enc.append(3, &counter(5, &[(0, 5)])).unwrap(), Appended::Cut(CounterResetHeader::Unknown));
    let bytes = enc.to_bytes();
    assert_eq!(bytes[2] >> 6, 0b11);
    let hints: Vec<_> =
        HistogramChunkIter::new(&bytes).unwrap().map(|s| s.unwrap().1.counter_reset_hint).collect();
    assert_eq!(hints, vec![CounterResetHint::Gauge; 2]);
}

#[test]
fn custom_bucket_histograms_round_trip() {
    let h = Histogram {
        schema: strata_model::histogram::CUSTOM_BUCKETS_SCHEMA,
        count: 7,
        sum: 3.25,
        positive_spans: spans_for_indices(&[0, 1, 3]),
        positive_buckets: vec![1, 2, 0],
        custom_values: vec![0.1, 0.25, 1.0, 2.5],
        ..Default::default()
    };
    h.validate().unwrap();
    let mut enc = HistogramChunkEncoder::new(CounterResetHeader::Unknown);
    enc.append(10, &h).unwrap();
    let mut other_bounds = h.clone();
    other_bounds.custom_values[3] = 5.0;
    assert_eq!(enc.append(20, &other_bounds).unwrap(), Appended::Cut(CounterResetHeader::Unknown));
    let (t, back) = HistogramChunkIter::new(&enc.to_bytes()).unwrap().next().unwrap().unwrap();
    assert_eq!((t, back.custom_values, back.positive_buckets), (10, h.custom_values, h.positive_buckets));
}

#[test]
fn truncated_chunks_report_the_field() {
    let bytes =
        encode_integer(&[(5, counter(3, &[(0, 1), (1, 2)])), (6, counter(4, &[(0, 2), (1, 2)]))]).remove(0);
    let err = HistogramChunkIter::new(&bytes[..bytes.len() - 3]).unwrap().find_map(|s| s.err()).unwrap();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(HistogramChunkIter::new(&bytes[..2]).is_err());
}
