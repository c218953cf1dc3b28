//! Prometheus remote write 1.0 (`POST /api/v1/write`) and remote read (`POST /api/v1/read`),
//! as ../shared/specs/remote-write-notes.md describes them: protobuf bodies compressed with
//! snappy's block format (not the framed one).
//!
//! Write: a series whose labels are not valid is a bad "line" (numbered by its position in
//! the request, from 1), and the partial-write policy of `ingest_batch` applies; success is
//! 204 as from Prometheus; bad input is 400 (the sender drops the request rather than
//! retrying it forever); a storage failure is 500 (the sender retries). Native histograms
//! (`TimeSeries.histograms`, what Prometheus sends with `send_native_histograms`) are
//! stored as native-histogram samples (`remote_histograms`), under the same policy.
//!
//! Read: answers the `SAMPLES` response type (a snappy-compressed `ReadResponse`), which is
//! what Prometheus 2.x asks for; a request that accepts only streamed chunks is refused.

use prost::Message;
#[cfg(test)]
use strata_model::Labels;
use strata_model::{MatchOp, Matcher};
use strata_storage::Engine;

#[cfg(test)]
use crate::ingest_batch::LineError;
use strata_ingest::prompb;

/// Why a remote request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BodyError(pub(crate) String);

/// Snappy-decompresses `body`, refusing to grow past `limit` bytes.
pub(crate) fn unsnappy(body: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| BodyError(format!("body is not snappy-compressed: {e}")))?;
    if len > limit {
        return Err(BodyError(format!("decompressed body of {len} bytes is over the limit of {limit}")));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| BodyError(format!("body is not snappy-compressed: {e}")))
}

/// What the oracle decodes: samples by labels, and bad series.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) samples: Vec<(Labels, i64, f64)>,
    pub(crate) errors: Vec<LineError>,
}

/// The samples of a remote-write body (already decompressed), decoded with prost; histograms
/// are counted in `histograms`. The server takes the faster path in `remote_write_fast`;
/// this one is its oracle in tests.
#[cfg(test)]
pub(crate) fn parse_write_request(bytes: &[u8]) -> Result<(Decoded, usize), BodyError> {
    let request = prompb::WriteRequest::decode(bytes)
        .map_err(|e| BodyError(format!("body is not a protobuf WriteRequest: {e}")))?;
    let mut parsed = Decoded::default();
    let mut histograms = 0;
    for (i, series) in request.timeseries.into_iter().enumerate() {
        histograms += series.histograms.len();
        if series.samples.is_empty() {
            continue;
        }
        let labels = match Labels::from_pairs(series.labels.into_iter().map(|l| (l.name, l.value))) {
            Ok(l) if l.metric_name().is_some() => l,
            Ok(l) => {
                parsed
                    .errors
                    .push(LineError { line: i + 1, message: format!("series {l} has no __name__ label") });
                continue;
            }
            Err(e) => {
                parsed.errors.push(LineError { line: i + 1, message: format!("series {}: {e}", i + 1) });
                continue;
            }
        };
        parsed.samples.extend(series.samples.iter().map(|s| (labels.clone(), s.timestamp, s.value)));
    }
    Ok((parsed, histograms))
}

/// Answers a decompressed `ReadRequest` with the bytes of a snappy-compressed
/// `ReadResponse`.
pub(crate) fn read(engine: &dyn Engine, bytes: &[u8]) -> Result<Vec<u8>, ReadError> {
    let request = prompb::ReadRequest::decode(bytes)
        .map_err(|e| ReadError::Bad(format!("body is not a protobuf ReadRequest: {e}")))?;
    if !request.accepted_response_types.is_empty()
        && !request.accepted_response_types.contains(&prompb::RESPONSE_TYPE_SAMPLES)
    {
        return Err(ReadError::Bad(format!(
            "none of the accepted response types {:?} is supported (only SAMPLES, 0)",
            request.accepted_response_types
        )));
    }
    let mut response = prompb::ReadResponse::default();
    for query in &request.queries {
        let matchers = query.matchers.iter().map(matcher).collect::<Result<Vec<_>, _>>()?;
        let mut result = prompb::QueryResult::default();
        for series in engine
            .select(&matchers, query.start_timestamp_ms, query.end_timestamp_ms)
            .map_err(|e| ReadError::Storage(e.to_string()))?
        {
            let samples = series.collect_samples().map_err(|e| ReadError::Storage(e.to_string()))?;
            result.timeseries.push(prompb::TimeSeries {
                labels: series
                    .labels()
                    .iter()
                    .map(|l| prompb::Label { name: l.name.clone(), value: l.value.clone() })
                    .collect(),
                samples: samples
                    .into_iter()
                    .map(|(timestamp, value)| prompb::Sample { value, timestamp })
                    .collect(),
                histograms: Vec::new(),
            });
        }
        response.results.push(result);
    }
    snap::raw::Encoder::new()
        .compress_vec(&response.encode_to_vec())
        .map_err(|e| ReadError::Storage(format!("snappy: {e}")))
}

fn matcher(m: &prompb::LabelMatcher) -> Result<Matcher, ReadError> {
    let op = match m.r#type {
        0 => MatchOp::Equal,
        1 => MatchOp::NotEqual,
        2 => MatchOp::RegexMatch,
        3 => MatchOp::RegexNoMatch,
        other => return Err(ReadError::Bad(format!("unknown matcher type {other}"))),
    };
    Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| ReadError::Bad(e.to_string()))
}

/// Why a remote read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The request is wrong (400).
    Bad(String),
    /// Storage failed (500).
    Storage(String),
}

impl From<BodyError> for ReadError {
    fn from(e: BodyError) -> Self {
        ReadError::Bad(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type TestSeries<'a> = prompb::SeriesSpec<&'a str, &'a str>;

    fn request(series: Vec<TestSeries<'_>>) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(&prompb::encode_write_request(&series, 0)).unwrap()
    }

    #[test]
    fn series_without_a_name_are_bad_lines() {
        let body = request(vec![
            (vec![("__name__", "up"), ("job", "a")], vec![(1000, 1.0), (2000, 0.0)]),
            (vec![("job", "b")], vec![(1000, 1.0)]),
        ]);
        let (parsed, histograms) = parse_write_request(&unsnappy(&body, 1 << 20).unwrap()).unwrap();
        assert_eq!(histograms, 0);
        assert_eq!(parsed.samples.len(), 2);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
    }

    #[test]
    fn garbage_and_oversized_bodies_are_refused() {
        assert!(unsnappy(b"not snappy at all", 1 << 20).is_err());
        let body = request(vec![(vec![("__name__", "up")], vec![(1, 1.0); 1000])]);
        assert!(unsnappy(&body, 100).unwrap_err().0.contains("over the limit"));
        let junk = snap::raw::Encoder::new().compress_vec(&[0xff; 64]).unwrap();
        assert!(parse_write_request(&unsnappy(&junk, 1 << 20).unwrap()).is_err());
    }

    proptest! {
        /// Whatever series and samples are sent arrive as sent.
        #[test]
        fn samples_round_trip(series in proptest::collection::vec(
            ("[a-z]{1,8}", proptest::collection::vec((any::<i64>(), any::<f64>()), 1..20)), 1..10)
        ) {
            let input: Vec<_> = series.iter().map(|(name, s)| (vec![("__name__", name.as_str())], s.clone())).collect();
            let body = request(input);
            let (parsed, _) = parse_write_request(&unsnappy(&body, 1 << 24).unwrap()).unwrap();
            let expected: Vec<(String, i64, u64)> = series.iter()
                // prost's encoder (the test's sender) writes -0.0 as the default, i.e. not at all.
                .flat_map(|(n, s)| s.iter().map(move |(t, v)| (n.clone(), *t, if *v == 0.0 { 0 } else { v.to_bits() })))
                .collect();
            let got: Vec<(String, i64, u64)> = parsed.samples.iter()
                .map(|(l, t, v)| (l.metric_name().unwrap().to_string(), *t, v.to_bits())).collect();
            prop_assert_eq!(got, expected);
        }

        /// Random bytes never panic the decoders.
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = unsnappy(&bytes, 1 << 20).map(|b| parse_write_request(&b));
            let _ = parse_write_request(&bytes);
        }
    }
}
