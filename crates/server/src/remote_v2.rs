//! Prometheus remote write 2.0 (`io.prometheus.write.v2.Request`, ../shared/specs/
//! remote-write-notes.md), negotiated per request on `POST /api/v1/write` by
//! `Content-Type`:
//!
//! | `Content-Type` | protocol |
//! |---|---|
//! | none, `application/x-protobuf`, `…;proto=prometheus.WriteRequest` | 1.0 (`remote`) |
//! | `application/x-protobuf;proto=io.prometheus.write.v2.Request` | 2.0 (here) |
//! | anything else | 415 |
//!
//! and `Content-Encoding` none or `snappy` (anything else 415). A 2.0 request names labels
//! by reference into its symbol table (`symbols[0]` must be `""`); a series has samples or
//! native histograms, not both. Samples are stored as in 1.0 (same partial-write policy,
//! series numbered by position from 1), and so are native histograms (`remote_histograms`;
//! their start timestamps are not kept: blocks have no place for them). Exemplars are
//! counted as refused and dropped; metadata is ignored; start timestamps of float samples
//! are not stored either (Prometheus' block format has no room for them). Every answer, success or not, carries
//! `X-Prometheus-Remote-Write-Samples-Written`, `-Histograms-Written` and
//! `-Exemplars-Written`, as 2.0 requires.

use prost::Message;
use strata_model::Labels;

use crate::ingest_batch::Batch;
use crate::remote::BodyError;
use crate::remote_histograms::HistogramBatch;
use crate::series_cache::ProtocolCache;
use strata_ingest::prompb::v2::{Request, TimeSeries};

/// The media type parameter that selects 2.0.
pub(crate) const V2_PROTO: &str = "io.prometheus.write.v2.Request";

/// Which remote-write protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// The protocol a request's `Content-Type` and `Content-Encoding` select, or why neither
/// is acceptable (the answer is then 415).
pub(crate) fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Version, String> {
    if let Some(encoding) = content_encoding.map(str::trim).filter(|e| !e.is_empty()) {
        if !encoding.eq_ignore_ascii_case("snappy") {
            return Err(format!("Content-Encoding {encoding:?} is not supported: remote write is snappy"));
        }
    }
    let Some(content_type) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Version::V1);
    };
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or("");
    if !media.eq_ignore_ascii_case("application/x-protobuf") {
        return Err(format!("Content-Type {content_type:?} is not remote write: use application/x-protobuf"));
    }
    let proto = parts.find_map(|p| p.strip_prefix("proto=")).map(|p| p.trim_matches('"'));
    match proto {
        None | Some("prometheus.WriteRequest") => Ok(Version::V1),
        Some(V2_PROTO) => Ok(Version::V2),
        Some(other) => Err(format!(
            "remote write message {other:?} is not supported: use prometheus.WriteRequest or {V2_PROTO}"
        )),
    }
}

/// A decoded request, checked as a whole.
pub(crate) fn decode(raw: &[u8]) -> Result<Request, BodyError> {
    let request = Request::decode(raw)
        .map_err(|e| BodyError(format!("body is not a protobuf io.prometheus.write.v2.Request: {e}")))?;
    if request.symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(BodyError("symbols[0] must be the empty string".into()));
    }
    Ok(request)
}

/// The samples of a request, series keyed by their label strings (so a known series costs
/// no label validation); a series is numbered by its position from 1.
pub(crate) fn collect<'c>(request: &Request, cache: &'c ProtocolCache) -> Batch<'c> {
    let mut batch = Batch::new(cache, "series");
    let mut key = Vec::new();
    for (i, series) in request.timeseries.iter().enumerate() {
        if series.samples.is_empty() {
            continue;
        }
        if !series.histograms.is_empty() {
            batch.error(i + 1, "a series has samples or histograms, not both".into());
            continue;
        }
        series_key(request, series, &mut key);
        match batch.target(&key, || series_labels(request, series)) {
            Ok(target) => series.samples.iter().for_each(|s| batch.push(target, i + 1, s.timestamp, s.value)),
            Err(message) => batch.error(i + 1, message),
        }
    }
    batch
}

/// The native histograms of a request's series (a series with samples too was refused
/// as a whole by [`collect`]).
pub(crate) fn collect_histograms(request: &Request) -> HistogramBatch {
    let mut batch = HistogramBatch::default();
    for (i, series) in request.timeseries.iter().enumerate().filter(|(_, s)| s.samples.is_empty()) {
        batch.add(i + 1, || series_labels(request, series), series.histograms.iter().map(Vec::as_slice));
    }
    batch
}

/// A series' cache key: its label strings, each ended by a byte UTF-8 never holds.
fn series_key(request: &Request, series: &TimeSeries, key: &mut Vec<u8>) {
    key.clear();
    for &r in &series.labels_refs {
        key.extend_from_slice(request.symbols.get(r as usize).map_or(&b""[..], |s| s.as_bytes()));
        key.push(0xff);
    }
}

/// A series' labels, or why they are not valid.
pub(crate) fn series_labels(request: &Request, series: &TimeSeries) -> Result<Labels, String> {
    let refs = &series.labels_refs;
    if !refs.len().is_multiple_of(2) {
        return Err(format!("labels_refs has an odd length ({})", refs.len()));
    }
    let symbol = |r: u32| {
        request
            .symbols
            .get(r as usize)
            .ok_or_else(|| format!("label reference {r} is past the {} symbols", request.symbols.len()))
    };
    let mut pairs = Vec::with_capacity(refs.len() / 2);
    for pair in refs.chunks_exact(2) {
        pairs.push((symbol(pair[0])?.clone(), symbol(pair[1])?.clone()));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| e.to_string())?;
    if labels.metric_name().is_none() {
        return Err(format!("series {labels} has no __name__ label"));
    }
    Ok(labels)
}

/// What a 2.0 request holds besides samples.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extras {
    pub(crate) histograms: usize,
    pub(crate) exemplars: usize,
}

/// Counts the histograms and exemplars of a request.
pub(crate) fn extras(request: &Request) -> Extras {
    request.timeseries.iter().fold(Extras::default(), |e, s| Extras {
        histograms: e.histograms + s.histograms.len(),
        exemplars: e.exemplars + s.exemplars.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_content_type_and_encoding() {
        let v2 = format!("application/x-protobuf;proto={V2_PROTO}");
        assert_eq!(negotiate(Some(&v2), Some("snappy")), Ok(Version::V2));
        assert_eq!(negotiate(Some("application/x-protobuf"), Some("snappy")), Ok(Version::V1));
        assert_eq!(
            negotiate(Some("application/x-protobuf; proto=prometheus.WriteRequest"), None),
            Ok(Version::V1)
        );
        assert_eq!(negotiate(None, None), Ok(Version::V1));
        assert!(negotiate(Some("application/json"), None).unwrap_err().contains("application/json"));
        assert!(negotiate(Some(&v2), Some("gzip")).unwrap_err().contains("gzip"));
        assert!(negotiate(Some("application/x-protobuf;proto=foo.Bar"), None).is_err());
    }

    /// A request encoded by hand from the .proto's field numbers decodes as expected.
    #[test]
    fn hand_encoded_request_decodes() {
        let mut raw = Vec::new();
        for symbol in ["", "__name__", "up", "job", "a"] {
            raw.extend_from_slice(&[0x22, symbol.len() as u8]);
            raw.extend_from_slice(symbol.as_bytes());
        }
        // TimeSeries{labels_refs: [1,2,3,4] packed, samples: [{value 1.5, timestamp 1000, start 500}]}
        let mut sample = vec![0x09];
        sample.extend_from_slice(&1.5f64.to_le_bytes());
        sample.extend_from_slice(&[0x10, 0xe8, 0x07, 0x18, 0xf4, 0x03]);
        let mut series = vec![0x0a, 4, 1, 2, 3, 4, 0x12, sample.len() as u8];
        series.extend_from_slice(&sample);
        series.extend_from_slice(&[0x22, 0]); // an exemplar
        raw.push(0x2a);
        raw.push(series.len() as u8);
        raw.extend_from_slice(&series);
        let request = decode(&raw).unwrap();
        let series = &request.timeseries[0];
        assert_eq!(series_labels(&request, series).unwrap().to_string(), r#"up{job="a"}"#);
        assert_eq!((series.samples[0].value, series.samples[0].timestamp), (1.5, 1000));
        assert_eq!(series.samples[0].start_timestamp, 500);
        assert_eq!(extras(&request), Extras { histograms: 0, exemplars: 1 });
    }

    #[test]
    fn bad_references_and_symbols_are_errors() {
        let request = Request { symbols: vec!["".into(), "__name__".into()], timeseries: Vec::new() };
        let odd = TimeSeries { labels_refs: vec![1], ..Default::default() };
        assert!(series_labels(&request, &odd).unwrap_err().contains("odd"));
        let past = TimeSeries { labels_refs: vec![1, 9], ..Default::default() };
        assert!(series_labels(&request, &past).unwrap_err().contains("past the 2 symbols"));
        let bad = Request { symbols: vec!["x".into()], timeseries: Vec::new() }.encode_to_vec();
        assert!(decode(&bad).unwrap_err().0.contains("symbols[0]"));
    }
}
