//! Talking to other nodes: a write's share for a replica goes as a Prometheus remote-write
//! 1.0 request (`POST /api/v1/write`), a read as a remote-read request (`POST
//! /api/v1/read`, sample responses). Both carry `X-Strata-Forwarded: <sender id>`, which
//! tells the receiver to serve the request from its own store — not to replicate or fan
//! out again — so a request crosses at most one hop. A tenant's request goes to the same
//! tenant's path (`/tenant/<id>/api/v1/…`) on the replica.
//!
//! A replica's history for another node (re-replication, `repair`) goes to
//! [`BACKFILL_PATH`] in the same encoding.
//!
//! A remote write is answered 2xx by a node only once its own write path has taken every
//! sample, which is what a replica's copy promises (docs/cluster.md).

use std::io::Read as _;
use std::time::Duration;

use prost::Message;
use serde::{Deserialize, Serialize};
use strata_ingest::prompb;
use strata_model::{Labels, MatchOp, Matcher};

use crate::replication::{SendError, SeriesSamples};

/// The header that marks a request as sent by another node.
pub const FORWARDED_HEADER: &str = "x-strata-forwarded";

/// Sends writes and reads to other nodes.
#[derive(Clone, Debug)]
pub struct Forwarder {
    agent: ureq::Agent,
    sender: String,
}

impl Forwarder {
    /// A forwarder for node `sender`; each request times out after `timeout`.
    pub fn new(sender: &str, timeout: Duration) -> Forwarder {
        Forwarder {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout.min(Duration::from_secs(2)))
                .timeout(timeout)
                .build(),
            sender: sender.to_string(),
        }
    }

    /// Writes `series` (the ones at `indices`) to the node at `addr`.
    pub fn write(
        &self,
        addr: &str,
        tenant: Option<&str>,
        series: &[SeriesSamples],
        indices: &[usize],
    ) -> Result<(), SendError> {
        let request =
            prompb::WriteRequest { timeseries: indices.iter().map(|&i| to_proto(&series[i])).collect() };
        let answer = self
            .post(&url(addr, tenant, "/api/v1/write"), "X-Prometheus-Remote-Write-Version", &request)
            .map_err(SendError::Failed)?;
        match answer {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, response)) if (400..500).contains(&code) && code != 429 => {
                Err(SendError::Rejected(describe(ureq::Error::Status(code, response))))
            }
            Err(e) => Err(SendError::Failed(describe(e))),
        }
    }

    /// Reads the series `matchers` select in `[mint, maxt]` from the node at `addr`'s own
    /// store.
    pub fn read(
        &self,
        addr: &str,
        tenant: Option<&str>,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, String> {
        let request = prompb::ReadRequest {
            queries: vec![prompb::Query {
                start_timestamp_ms: mint,
                end_timestamp_ms: maxt,
                matchers: matchers.iter().map(matcher_to_proto).collect(),
            }],
            accepted_response_types: vec![prompb::RESPONSE_TYPE_SAMPLES],
        };
        let answer = self
            .post(&url(addr, tenant, "/api/v1/read"), "X-Prometheus-Remote-Read-Version", &request)?
            .map_err(describe)?;
        let mut compressed = Vec::new();
        std::io::Read::read_to_end(&mut answer.into_reader().take(MAX_READ_ANSWER as u64), &mut compressed)
            .map_err(|e| format!("reading the answer: {e}"))?;
        decode_read_response(&compressed)
    }

    /// Sends `series` — this node's copy of their history — to the node at `addr`, which
    /// stores the samples it does not hold ([`BACKFILL_PATH`]); its figures come back.
    pub fn backfill(&self, addr: &str, series: &[SeriesSamples]) -> Result<BackfillAnswer, SendError> {
        let request = prompb::WriteRequest { timeseries: series.iter().map(to_proto).collect() };
        let answer = self
            .post(&format!("http://{addr}{BACKFILL_PATH}"), "X-Prometheus-Remote-Write-Version", &request)
            .map_err(SendError::Failed)?;
        match answer {
            Ok(response) => response
                .into_string()
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<BackfillAnswer>(&text).map_err(|e| e.to_string()))
                .map_err(|e| SendError::Failed(format!("reading the backfill's answer: {e}"))),
            Err(ureq::Error::Status(code, response)) if (400..500).contains(&code) && code != 429 => {
                Err(SendError::Rejected(describe(ureq::Error::Status(code, response))))
            }
            Err(e) => Err(SendError::Failed(describe(e))),
        }
    }

    /// POSTs `message` snappy-compressed, as remote write and remote read send theirs,
    /// marked forwarded; `Err` only when it cannot be encoded, the answer as ureq gives it.
    fn post(
        &self,
        url: &str,
        version_header: &str,
        message: &impl Message,
    ) -> Result<Result<ureq::Response, ureq::Error>, String> {
        let body =
            snap::raw::Encoder::new().compress_vec(&message.encode_to_vec()).map_err(|e| e.to_string())?;
        Ok(self
            .agent
            .post(url)
            .set("Content-Type", "application/x-protobuf")
            .set("Content-Encoding", "snappy")
            .set(version_header, "0.1.0")
            .set(FORWARDED_HEADER, &self.sender)
            .send_bytes(&body))
    }
}

/// The largest remote-read answer taken from another node, compressed or not (1 GiB).
const MAX_READ_ANSWER: usize = 1 << 30;

/// Where a node takes another replica's history: `POST`, a snappy remote-write 1.0 body
/// whose series carry their labels as the sender stores them (a tenant's label included),
/// answered with a [`BackfillAnswer`] as JSON.
pub const BACKFILL_PATH: &str = "/cluster/v1/backfill";

/// What a node did with a backfill (`strata_storage::BackfillReport`, as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillAnswer {
    /// Samples stored.
    pub written: u64,
    /// Samples at timestamps it held already.
    pub held: u64,
    /// Blocks it wrote for samples older than its head.
    pub blocks: u64,
    /// Samples it refused.
    pub refused: u64,
    /// Why, the first few reasons.
    pub reasons: Vec<String>,
}

/// The series of a snappy-compressed remote-read `ReadResponse` (another node's answer):
/// an error names what is wrong, never a panic, and no allocation past the limit.
pub fn decode_read_response(compressed: &[u8]) -> Result<Vec<SeriesSamples>, String> {
    let raw = decompress(compressed, MAX_READ_ANSWER, "the answer")?;
    let response = prompb::ReadResponse::decode(raw.as_slice())
        .map_err(|e| format!("the answer is not a ReadResponse: {e}"))?;
    series_of(response.results.into_iter().flat_map(|r| r.timeseries), "the answer")
}

/// The series of a backfill's body (another node's history, [`BACKFILL_PATH`]), at most
/// `limit` bytes decompressed; each series' samples sorted by time with one per timestamp
/// (the first of a repeated one kept).
pub fn decode_backfill_request(compressed: &[u8], limit: usize) -> Result<Vec<SeriesSamples>, String> {
    let raw = decompress(compressed, limit, "the backfill")?;
    let request = prompb::WriteRequest::decode(raw.as_slice())
        .map_err(|e| format!("the backfill is not a WriteRequest: {e}"))?;
    let mut series = series_of(request.timeseries, "the backfill")?;
    for s in &mut series {
        s.samples.sort_by_key(|&(t, _)| t);
        s.samples.dedup_by_key(|&mut (t, _)| t);
    }
    Ok(series)
}

/// `compressed` decompressed, refusing to allocate past `limit`.
fn decompress(compressed: &[u8], limit: usize, what: &str) -> Result<Vec<u8>, String> {
    let length = snap::raw::decompress_len(compressed).map_err(|e| format!("{what} is not snappy: {e}"))?;
    if length > limit {
        return Err(format!("{what} would decompress to {length} bytes, past the {limit}-byte limit"));
    }
    snap::raw::Decoder::new().decompress_vec(compressed).map_err(|e| format!("{what} is not snappy: {e}"))
}

fn series_of(
    timeseries: impl IntoIterator<Item = prompb::TimeSeries>,
    what: &str,
) -> Result<Vec<SeriesSamples>, String> {
    let mut out = Vec::new();
    for series in timeseries {
        let labels = Labels::from_pairs(series.labels.into_iter().map(|l| (l.name, l.value)))
            .map_err(|e| format!("{what} holds a bad series: {e}"))?;
        out.push(SeriesSamples {
            labels,
            samples: series.samples.into_iter().map(|s| (s.timestamp, s.value)).collect(),
        });
    }
    Ok(out)
}

fn url(addr: &str, tenant: Option<&str>, path: &str) -> String {
    match tenant {
        Some(tenant) => format!("http://{addr}/tenant/{tenant}{path}"),
        None => format!("http://{addr}{path}"),
    }
}

/// A failed request in a few words: the status and the start of the body, or the
/// transport error.
fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::Status(code, response) => {
            let text = response.into_string().unwrap_or_default();
            format!("HTTP {code}: {}", text.trim().chars().take(200).collect::<String>())
        }
        ureq::Error::Transport(t) => t.to_string(),
    }
}

fn to_proto(series: &SeriesSamples) -> prompb::TimeSeries {
    prompb::TimeSeries {
        labels: series
            .labels
            .iter()
            .map(|l| prompb::Label { name: l.name.clone(), value: l.value.clone() })
            .collect(),
        samples: series
            .samples
            .iter()
            .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
            .collect(),
        histograms: Vec::new(),
    }
}

fn matcher_to_proto(m: &Matcher) -> prompb::LabelMatcher {
    let r#type = match m.op() {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::RegexMatch => 2,
        MatchOp::RegexNoMatch => 3,
    };
    prompb::LabelMatcher { r#type, name: m.name().to_string(), value: m.value().to_string() }
}
