//! Record payloads, as Prometheus encodes them (`tsdb/record`).
//!
//! | type | layout |
//! |---|---|
//! | 1 series | repeated: `BE64` ref, `uvarint` label count, then name and value as `uvarint`-length strings |
//! | 2 samples | `BE64` first ref, `BE64` first timestamp, then per sample (the first included): `varint` ref − first ref, `varint` t − first t, `BE64` value bits |
//! | 3 tombstones | repeated: `BE64` ref, `varint` mint, `varint` maxt |
//!
//! The per-sample deltas are *signed* varints (Prometheus' docs say uvarint; its code
//! writes varint: refs and timestamps may go down within a record). Other record types a
//! Prometheus may write (exemplars, metadata, histograms) decode as [`Record::Other`] with
//! their type byte, so replay can count and skip them.

use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use strata_model::Labels;

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

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn bad(&self, what: &str, detail: impl std::fmt::Display) -> WalError {
        WalError::BadRecord(format!("{what} at byte {} of the record: {detail}", self.pos + 1))
    }

    fn be64(&mut self, what: &str) -> Result<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| self.bad(what, "truncated"))?;
        self.pos += 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_be_bytes(word))
    }

    fn uvarint(&mut self, what: &str) -> Result<u64> {
        let at = self.pos;
        read_uvarint(self.buf, &mut self.pos).map_err(|e| {
            self.pos = at;
            self.bad(what, e)
        })
    }

    fn varint(&mut self, what: &str) -> Result<i64> {
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
        prop_oneof![
            proptest::collection::vec(series, 0..5).prop_map(Record::Series),
            proptest::collection::vec(sample, 0..20).prop_map(Record::Samples),
            proptest::collection::vec(stone, 0..5).prop_map(Record::Tombstones),
        ]
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
