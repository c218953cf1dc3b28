//! Record payloads, as Prometheus encodes them (`tsdb/record`).
//!
//! | type | layout |
//! |---|---|
//! | 1 series | repeated: `BE64` ref, `uvarint` label count, then name and value as `uvarint`-length strings |
//! | 2 samples | `BE64` first ref, `BE64` first timestamp, then per sample (the first included): `varint` ref − first ref, `varint` t − first t, `BE64` value bits |
//! | 3 tombstones | repeated: `BE64` ref, `varint` mint, `varint` maxt |
//! | 7–10 histograms | see [`crate::histogram_record`] |
//!
//! The per-sample deltas are *signed* varints (Prometheus' docs say uvarint; its code
//! writes varint: refs and timestamps may go down within a record). Other record types a
//! Prometheus may write (exemplars, metadata) decode as [`Record::Other`] with their type
//! byte, so replay can count and skip them.

use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use strata_model::Labels;

use crate::histogram_record::{
    decode_float_histograms, decode_histograms, encode_float_histograms, encode_histograms,
    RefFloatHistogram, RefHistogram, CUSTOM_FLOAT_HISTOGRAMS, CUSTOM_HISTOGRAMS, FLOAT_HISTOGRAMS,
    HISTOGRAMS,
};
use crate::{Result, WalError};

/// A series as the WAL names it: its ref and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSeries {
    /// The series ref (Prometheus' `HeadSeriesRef`).
    pub series_ref: u64,
    /// Its labels.
    pub labels: Labels,
}

/// One sample of a series by ref.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// The series ref.
    pub series_ref: u64,
    /// Timestamp (ms).
    pub t: i64,
    /// Value; its bits are kept exactly.
    pub v: f64,
}

/// A deleted time range of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    /// The series ref.
    pub series_ref: u64,
    /// First deleted timestamp.
    pub mint: i64,
    /// Last deleted timestamp.
    pub maxt: i64,
}

/// One WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<RefSeries>),
    /// Samples.
    Samples(Vec<RefSample>),
    /// Deletions.
    Tombstones(Vec<Tombstone>),
    /// Integer native-histogram samples (type 7; 9 when they use custom buckets — build
    /// these with [`crate::histogram_records`], which keeps the two apart).
    Histograms(Vec<RefHistogram>),
    /// Float native-histogram samples (type 8, or 10).
    FloatHistograms(Vec<RefFloatHistogram>),
    /// A record type Strata does not interpret, kept as its type byte.
    Other(u8),
}

const SERIES: u8 = 1;
const SAMPLES: u8 = 2;
const TOMBSTONES: u8 = 3;

impl Record {
    /// Appends the record's payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Series(series) => encode_series(series, out),
            Record::Samples(samples) => encode_samples(samples, out),
            Record::Tombstones(stones) => {
                out.push(TOMBSTONES);
                for s in stones {
                    out.extend_from_slice(&s.series_ref.to_be_bytes());
                    put_varint(out, s.mint);
                    put_varint(out, s.maxt);
                }
            }
            Record::Histograms(h) => encode_histograms(h, out),
            Record::FloatHistograms(h) => encode_float_histograms(h, out),
            Record::Other(t) => out.push(*t),
        }
    }

    /// Decodes a payload.
    pub fn decode(payload: &[u8]) -> Result<Record> {
        let Some((&kind, body)) = payload.split_first() else {
            return Err(WalError::BadRecord("empty record".into()));
        };
        let mut r = Reader { buf: body, pos: 0 };
        match kind {
            SERIES => {
                let mut series = Vec::new();
                while !r.done() {
                    let series_ref = r.be64("series ref")?;
                    let count = r.uvarint("label count")?;
                    let mut pairs = Vec::with_capacity(count.min(64) as usize);
                    for _ in 0..count {
                        pairs.push((r.string("label name")?, r.string("label value")?));
                    }
                    let labels = Labels::from_pairs(pairs)
                        .map_err(|e| WalError::BadRecord(format!("series {series_ref}: {e}")))?;
                    series.push(RefSeries { series_ref, labels });
                }
                Ok(Record::Series(series))
            }
            SAMPLES => {
                let mut samples = Vec::new();
                if r.done() {
                    return Ok(Record::Samples(samples));
                }
                let base_ref = r.be64("first ref")?;
                let base_t = r.be64("first timestamp")? as i64;
                while !r.done() {
                    let dref = r.varint("ref delta")?;
                    let dt = r.varint("timestamp delta")?;
                    let v = f64::from_bits(r.be64("value")?);
                    samples.push(RefSample {
                        series_ref: base_ref.wrapping_add(dref as u64),
                        t: base_t.wrapping_add(dt),
                        v,
                    });
                }
                Ok(Record::Samples(samples))
            }
            TOMBSTONES => {
                let mut stones = Vec::new();
                while !r.done() {
                    let series_ref = r.be64("series ref")?;
                    stones.push(Tombstone { series_ref, mint: r.varint("mint")?, maxt: r.varint("maxt")? });
                }
                Ok(Record::Tombstones(stones))
            }
            HISTOGRAMS | CUSTOM_HISTOGRAMS => Ok(Record::Histograms(decode_histograms(&mut r)?)),
            FLOAT_HISTOGRAMS | CUSTOM_FLOAT_HISTOGRAMS => {
                Ok(Record::FloatHistograms(decode_float_histograms(&mut r)?))
            }
            other => Ok(Record::Other(other)),
        }
    }
}

fn encode_series(series: &[RefSeries], out: &mut Vec<u8>) {
    out.push(SERIES);
    for s in series {
        out.extend_from_slice(&s.series_ref.to_be_bytes());
        put_uvarint(out, s.labels.len() as u64);
        for l in &s.labels {
            put_uvarint(out, l.name.len() as u64);
            out.extend_from_slice(l.name.as_bytes());
            put_uvarint(out, l.value.len() as u64);
            out.extend_from_slice(l.value.as_bytes());
        }
    }
}

fn encode_samples(samples: &[RefSample], out: &mut Vec<u8>) {
    out.push(SAMPLES);
    let Some(first) = samples.first() else { return };
    out.extend_from_slice(&first.series_ref.to_be_bytes());
    out.extend_from_slice(&first.t.to_be_bytes());
    for s in samples {
        put_varint(out, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        out.extend_from_slice(&s.v.to_bits().to_be_bytes());
    }
}

/// Reads a record's fields, naming the field and byte of any problem.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    pub(crate) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn byte(&mut self, what: &str) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.bad(what, "truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bad(&self, what: &str, detail: impl std::fmt::Display) -> WalError {
        WalError::BadRecord(format!("{what} at byte {} of the record: {detail}", self.pos + 1))
    }

    pub(crate) fn be64(&mut self, what: &str) -> Result<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| self.bad(what, "truncated"))?;
        self.pos += 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_be_bytes(word))
    }

    pub(crate) fn uvarint(&mut self, what: &str) -> Result<u64> {
        let at = self.pos;
        read_uvarint(self.buf, &mut self.pos).map_err(|e| {
            self.pos = at;
            self.bad(what, e)
        })
    }

    pub(crate) fn varint(&mut self, what: &str) -> Result<i64> {
        let at = self.pos;
        read_varint(self.buf, &mut self.pos).map_err(|e| {
            self.pos = at;
            self.bad(what, e)
        })
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.uvarint(what)?;
        let end =
            usize::try_from(len).ok().and_then(|l| self.pos.checked_add(l)).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| self.bad(what, format!("length {len} overruns the record")))?;
        let text = std::str::from_utf8(&self.buf[self.pos..end]).map_err(|e| self.bad(what, e))?.to_string();
        self.pos = end;
        Ok(text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn samples_layout_matches_prometheus() {
        let rec = Record::Samples(vec![
            RefSample { series_ref: 7, t: 1000, v: 1.0 },
            RefSample { series_ref: 5, t: 990, v: 2.0 },
        ]);
        let mut out = Vec::new();
        rec.encode(&mut out);
        let mut want = vec![2];
        want.extend_from_slice(&7u64.to_be_bytes());
        want.extend_from_slice(&1000i64.to_be_bytes());
        want.extend_from_slice(&[0, 0]); // deltas 0, 0
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[3, 19]); // zig-zag(-2) = 3, zig-zag(-10) = 19
        want.extend_from_slice(&2.0f64.to_bits().to_be_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn truncated_payloads_are_errors() {
        let rec = Record::Series(vec![RefSeries {
            series_ref: 1,
            labels: Labels::from_pairs([("a", "b")]).unwrap(),
        }]);
        let mut out = Vec::new();
        rec.encode(&mut out);
        // Just the type byte is a valid empty record; any cut inside an entry is an error.
        assert_eq!(Record::decode(&out[..1]).unwrap(), Record::Series(Vec::new()));
        for cut in 2..out.len() {
            assert!(Record::decode(&out[..cut]).is_err(), "cut at {cut}");
        }
        assert!(Record::decode(&[]).is_err());
        assert_eq!(Record::decode(&[6, 1, 2]).unwrap(), Record::Other(6));
    }

    pub(crate) fn arb_record() -> impl Strategy<Value = Record> {
        let label = (r"[a-z_]{1,5}", r"\PC{1,6}");
        let series = (any::<u64>(), proptest::collection::vec(label, 0..4))
            .prop_filter_map("valid labels", |(r, pairs)| {
                Labels::from_pairs(pairs).ok().map(|labels| RefSeries { series_ref: r, labels })
            });
        let sample = (any::<u64>(), any::<i64>(), any::<u64>()).prop_map(|(r, t, v)| RefSample {
            series_ref: r,
            t,
            v: f64::from_bits(v),
        });
        let stone = (any::<u64>(), any::<i64>(), any::<i64>()).prop_map(|(r, mint, maxt)| Tombstone {
            series_ref: r,
            mint,
            maxt,
        });
        let histogram = (any::<u64>(), any::<i64>(), arb_histogram())
            .prop_map(|(r, t, h)| crate::RefHistogram { series_ref: r, t, h });
        let float = (any::<u64>(), any::<i64>(), arb_histogram()).prop_map(|(r, t, h)| {
            let mut h = h.to_float();
            h.count += 0.5; // a fraction only a float record keeps
            crate::RefFloatHistogram { series_ref: r, t, h }
        });
        prop_oneof![
            proptest::collection::vec(histogram, 0..4).prop_map(Record::Histograms),
            proptest::collection::vec(float, 0..4).prop_map(Record::FloatHistograms),
            proptest::collection::vec(series, 0..5).prop_map(Record::Series),
            proptest::collection::vec(sample, 0..20).prop_map(Record::Samples),
            proptest::collection::vec(stone, 0..5).prop_map(Record::Tombstones),
        ]
    }

    /// Any histogram the record must carry, valid or not (the WAL does not validate).
    fn arb_histogram() -> impl Strategy<Value = strata_model::Histogram> {
        use strata_model::histogram::{CounterResetHint, Span};
        let spans = proptest::collection::vec((any::<i32>(), any::<u32>()), 0..3)
            .prop_map(|v| v.into_iter().map(|(offset, length)| Span { offset, length }).collect::<Vec<_>>());
        let hint = prop_oneof![
            Just(CounterResetHint::Unknown),
            Just(CounterResetHint::CounterReset),
            Just(CounterResetHint::NotCounterReset),
            Just(CounterResetHint::Gauge),
        ];
        (
            (hint, prop_oneof![-4i32..=8, Just(-53)], any::<f64>(), any::<u64>(), any::<u64>(), any::<f64>()),
            (
                spans.clone(),
                spans,
                proptest::collection::vec(any::<i64>(), 0..5),
                proptest::collection::vec(any::<i64>(), 0..3),
            ),
            proptest::collection::vec(any::<f64>(), 0..4),
        )
            .prop_map(|((hint, schema, zt, zc, c, sum), (ps, ns, pb, nb), custom)| {
                strata_model::Histogram {
                    counter_reset_hint: hint,
                    schema,
                    zero_threshold: zt,
                    zero_count: zc,
                    count: c,
                    sum,
                    positive_spans: ps,
                    negative_spans: ns,
                    positive_buckets: pb,
                    negative_buckets: nb,
                    custom_values: if schema == -53 { custom } else { vec![] },
                }
            })
    }

    #[test]
    fn histogram_record_layout_matches_prometheus() {
        use strata_model::histogram::{CounterResetHint, Span};
        let h = strata_model::Histogram {
            counter_reset_hint: CounterResetHint::NotCounterReset,
            schema: -1,
            zero_threshold: 0.5,
            zero_count: 2,
            count: 300,
            sum: 1.0,
            positive_spans: vec![Span { offset: -2, length: 1 }],
            positive_buckets: vec![-3],
            ..Default::default()
        };
        let mut out = Vec::new();
        Record::Histograms(vec![crate::RefHistogram { series_ref: 9, t: 5, h }]).encode(&mut out);
        let mut want = vec![7];
        want.extend_from_slice(&9u64.to_be_bytes());
        want.extend_from_slice(&5i64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 2, 1]); // deltas; hint 2 (no reset); zig-zag(-1)
        want.extend_from_slice(&0.5f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[2, 0xac, 0x02]); // zero count 2, count 300 as a uvarint
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[1, 3, 1, 0, 1, 5, 0]); // spans; buckets [-3]; no negative buckets
        assert_eq!(out, want);
    }

    #[test]
    fn custom_bucket_histograms_get_their_own_record_type() {
        let plain = crate::RefHistogram { series_ref: 1, t: 1, h: strata_model::Histogram::default() };
        let mut custom = plain.clone();
        custom.h.schema = -53;
        custom.h.custom_values = vec![1.0, 2.0];
        let records = crate::histogram_records(vec![plain, custom.clone()]);
        let types: Vec<u8> = records
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                r.encode(&mut out);
                out[0]
            })
            .collect();
        assert_eq!(types, vec![7, 9]);
        assert_eq!(records[1], Record::Histograms(vec![custom]));
    }

    #[test]
    fn hostile_histogram_counts_are_errors() {
        let mut out = vec![7];
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // four billion spans
        let err = Record::decode(&out).unwrap_err();
        assert!(err.to_string().contains("overruns the record"), "{err}");
    }

    pub(crate) fn bits(r: &Record) -> String {
        match r {
            Record::Samples(s) => {
                format!("{:?}", s.iter().map(|s| (s.series_ref, s.t, s.v.to_bits())).collect::<Vec<_>>())
            }
            other => format!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn records_round_trip(rec in arb_record()) {
            let mut out = Vec::new();
            rec.encode(&mut out);
            prop_assert_eq!(bits(&Record::decode(&out)?), bits(&rec));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Record::decode(&bytes);
        }
    }
}
