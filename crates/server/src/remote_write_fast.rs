//! Remote write without decoding what is already known: a hand-written walk over the
//! `WriteRequest` protobuf that borrows from the decompressed body, so a `TimeSeries` costs
//! no allocation until its labels turn out to be new to the series cache
//! (`series_cache`). Wire format as in `prompb` (field numbers from ../shared/proto):
//! `WriteRequest.timeseries = 1`; `TimeSeries.labels = 1`, `samples = 2`, `exemplars = 3`
//! (skipped), `histograms = 4` (borrowed, decoded by `remote_histograms`); `Label.name = 1`, `value = 2`;
//! `Sample.value = 1` (fixed64 double), `timestamp = 2` (varint int64). Unknown fields of
//! every wire type are skipped, as protobuf requires. The prost path in `remote` stays the
//! oracle: a proptest checks the two agree.

use crate::remote::BodyError;

/// One `TimeSeries`, borrowed from the request.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RawSeries<'a> {
    /// The bytes of its label fields (headers included), the series cache's key; owned only
    /// when other fields sat between the labels (then concatenated).
    pub(crate) key: std::borrow::Cow<'a, [u8]>,
    /// Label name and value bytes, in request order.
    pub(crate) labels: Vec<(&'a [u8], &'a [u8])>,
    /// (timestamp ms, value).
    pub(crate) samples: Vec<(i64, f64)>,
    /// Its native-histogram messages, undecoded (`remote_histograms` reads them).
    pub(crate) histograms: Vec<&'a [u8]>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn bad(what: &str) -> BodyError {
    BodyError(format!("body is not a protobuf WriteRequest: {what}"))
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn varint(&mut self) -> Result<u64, BodyError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.pos).ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(bad("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BodyError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| bad("truncated field"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next field: (number, wire type).
    fn key(&mut self) -> Result<(u64, u8), BodyError> {
        let key = self.varint()?;
        Ok((key >> 3, (key & 7) as u8))
    }

    fn bytes_field(&mut self) -> Result<&'a [u8], BodyError> {
        let len = usize::try_from(self.varint()?).map_err(|_| bad("length too large"))?;
        self.take(len)
    }

    fn skip(&mut self, wire: u8) -> Result<(), BodyError> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.take(8).map(|_| ()),
            2 => self.bytes_field().map(|_| ()),
            5 => self.take(4).map(|_| ()),
            other => Err(bad(&format!("unsupported wire type {other}"))),
        }
    }
}

/// Every `TimeSeries` of a decompressed `WriteRequest`.
pub(crate) fn walk(body: &[u8]) -> Result<Vec<RawSeries<'_>>, BodyError> {
    let mut out = Vec::new();
    let mut r = Reader::new(body);
    while !r.done() {
        // An error names the series it is in (by position, from 1) and the byte it starts at.
        let (n, at) = (out.len() + 1, r.pos);
        let placed = |e: BodyError| BodyError(format!("{} (series {n}, at byte {at})", e.0));
        match r.key().map_err(placed)? {
            (1, 2) => out.push(r.bytes_field().and_then(series).map_err(placed)?),
            (_, wire) => r.skip(wire).map_err(placed)?,
        }
    }
    Ok(out)
}

fn series(bytes: &[u8]) -> Result<RawSeries<'_>, BodyError> {
    let mut s = RawSeries::default();
    let mut r = Reader::new(bytes);
    // The label fields' span while they are contiguous; pieces once they are not.
    let (mut span, mut pieces): (Option<(usize, usize)>, Option<Vec<u8>>) = (None, None);
    while !r.done() {
        let start = r.pos;
        match r.key()? {
            (1, 2) => {
                s.labels.push(label(r.bytes_field()?)?);
                match (&mut span, &mut pieces) {
                    (_, Some(p)) => p.extend_from_slice(&bytes[start..r.pos]),
                    (Some((_, end)), None) if *end == start => *end = r.pos,
                    (Some((from, end)), None) => {
                        let mut p = bytes[*from..*end].to_vec();
                        p.extend_from_slice(&bytes[start..r.pos]);
                        pieces = Some(p);
                    }
                    (None, None) => span = Some((start, r.pos)),
                }
            }
            (2, 2) => s.samples.push(sample(r.bytes_field()?)?),
            (4, 2) => s.histograms.push(r.bytes_field()?),
            (_, wire) => r.skip(wire)?,
        }
    }
    s.key = match (pieces, span) {
        (Some(p), _) => std::borrow::Cow::Owned(p),
        (None, Some((from, end))) => std::borrow::Cow::Borrowed(&bytes[from..end]),
        (None, None) => std::borrow::Cow::Borrowed(&[]),
    };
    Ok(s)
}

fn label(bytes: &[u8]) -> Result<(&[u8], &[u8]), BodyError> {
    let (mut name, mut value): (&[u8], &[u8]) = (b"", b"");
    let mut r = Reader::new(bytes);
    while !r.done() {
        match r.key()? {
            (1, 2) => name = r.bytes_field()?,
            (2, 2) => value = r.bytes_field()?,
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((name, value))
}

fn sample(bytes: &[u8]) -> Result<(i64, f64), BodyError> {
    let (mut t, mut v) = (0i64, 0f64);
    let mut r = Reader::new(bytes);
    while !r.done() {
        match r.key()? {
            (1, 1) => {
                let raw = r.take(8)?;
                v = f64::from_le_bytes(raw.try_into().map_err(|_| bad("short double"))?);
            }
            (2, 0) => t = r.varint()? as i64,
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((t, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;
    use strata_ingest::prompb;

    type TestSeries = prompb::SeriesSpec<String, String>;

    fn request(series: &[TestSeries]) -> Vec<u8> {
        prompb::encode_write_request(series, 1)
    }

    proptest! {
        /// The walk reads what prost (the oracle) reads, and equal labels give equal keys.
        #[test]
        fn agrees_with_prost(series in proptest::collection::vec((
            proptest::collection::vec(("[a-z_]{1,6}", ".{0,6}"), 0..4),
            proptest::collection::vec((any::<i64>(), any::<f64>()), 0..4),
        ), 0..6)) {
            let body = request(&series);
            let walked = walk(&body).unwrap();
            let decoded = prompb::WriteRequest::decode(&body[..]).unwrap();
            prop_assert_eq!(walked.len(), decoded.timeseries.len());
            for (w, d) in walked.iter().zip(&decoded.timeseries) {
                let labels: Vec<(String, String)> = w.labels.iter()
                    .map(|(n, v)| (String::from_utf8(n.to_vec()).unwrap(), String::from_utf8(v.to_vec()).unwrap()))
                    .collect();
                let expected: Vec<(String, String)> = d.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
                prop_assert_eq!(labels, expected);
                let samples: Vec<(i64, u64)> = w.samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
                let expected: Vec<(i64, u64)> = d.samples.iter().map(|s| (s.timestamp, s.value.to_bits())).collect();
                prop_assert_eq!(samples, expected);
                prop_assert_eq!(&w.histograms, &vec![&[0x08u8, 0x01][..]]);
                let again = request(&[(labels_of(d), Vec::new())]);
                prop_assert_eq!(&walk(&again).unwrap()[0].key, &w.key);
            }
        }

        /// Random bytes never panic the walk.
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = walk(&bytes);
        }
    }

    fn labels_of(ts: &prompb::TimeSeries) -> Vec<(String, String)> {
        ts.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
    }

    #[test]
    fn labels_split_by_other_fields_make_one_key() {
        // Label, sample, label: the key is the two label fields joined.
        let label = |n: &[u8], v: &[u8]| {
            let mut inner = vec![0x0a, n.len() as u8];
            inner.extend_from_slice(n);
            inner.extend_from_slice(&[0x12, v.len() as u8]);
            inner.extend_from_slice(v);
            let mut field = vec![0x0a, inner.len() as u8];
            field.extend_from_slice(&inner);
            field
        };
        let mut ts = label(b"__name__", b"up");
        ts.extend_from_slice(&[0x12, 0x02, 0x10, 0x05]); // a sample at t=5
        ts.extend_from_slice(&label(b"job", b"a"));
        let mut body = vec![0x0a, ts.len() as u8];
        body.extend_from_slice(&ts);
        let walked = walk(&body).unwrap();
        assert_eq!(walked[0].samples, vec![(5, 0.0)]);
        assert_eq!(walked[0].key.as_ref(), [label(b"__name__", b"up"), label(b"job", b"a")].concat());
    }
}
