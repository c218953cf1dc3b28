//! OTLP/HTTP bodies: a request is binary protobuf (`application/x-protobuf`) or OTLP's
//! JSON mapping (`application/json`: camelCase fields, 64-bit integers as strings, enums
//! as numbers); the answer is an `ExportMetricsServiceResponse` in the request's encoding,
//! with `partialSuccess` when some data points were rejected.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

/// The two encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters ignored); `None` for anything else.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A body that is not an OTLP metrics request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

/// Decodes a request body.
pub fn decode_request(bytes: &[u8], encoding: Encoding) -> Result<ExportMetricsServiceRequest, BodyError> {
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(bytes)
            .map_err(|e| BodyError(format!("body is not a protobuf ExportMetricsServiceRequest: {e}"))),
        Encoding::Json => serde_json::from_slice(bytes)
            .map_err(|e| BodyError(format!("body is not an OTLP/JSON ExportMetricsServiceRequest: {e}"))),
    }
}

/// The answer: empty on full success, `partialSuccess` when points were rejected.
pub fn response(rejected: usize, message: &str) -> ExportMetricsServiceResponse {
    let partial_success = (rejected > 0 || !message.is_empty()).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.to_string(),
    });
    ExportMetricsServiceResponse { partial_success }
}

/// Encodes an answer.
pub fn encode_response(response: &ExportMetricsServiceResponse, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec()),
    }
}
