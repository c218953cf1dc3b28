//! Errors of the Prometheus API, answered as Prometheus answers them: the error envelope
//! with its `errorType`, and the HTTP status that goes with that type.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use strata_promql::QueryError;
use strata_storage::StorageError;

use crate::json;

/// An API error: Prometheus' `errorType` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        ApiError { error_type, message: message.into() }
    }

    /// `bad_data`: `message` as it is.
    pub(crate) fn bad_data(message: impl Into<String>) -> Self {
        ApiError::new("bad_data", message)
    }

    /// `bad_data` about one parameter: `invalid parameter "name": cause`.
    pub(crate) fn bad_param(name: &str, cause: impl std::fmt::Display) -> Self {
        ApiError::bad_data(format!("invalid parameter \"{name}\": {cause}"))
    }

    /// `internal`: storage failed.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError::new("internal", message)
    }

    /// The HTTP status Prometheus gives this `errorType`.
    pub(crate) fn status(&self) -> StatusCode {
        match self.error_type {
            "bad_data" => StatusCode::BAD_REQUEST,
            "execution" => StatusCode::UNPROCESSABLE_ENTITY,
            "timeout" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "canceled" => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            "not_found" => StatusCode::NOT_FOUND,
            "not_acceptable" => StatusCode::NOT_ACCEPTABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::new(e.error_type(), e.to_string())
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status(), json::error(self.error_type, &self.message))
    }
}

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_map_to_prometheus_statuses() {
        for (e, status) in [
            (QueryError::BadData("x".into()), 400),
            (QueryError::Execution("x".into()), 422),
            (QueryError::Timeout("query execution"), 503),
            (QueryError::Canceled("query execution"), 499),
            (QueryError::TooManySamples("query execution"), 422),
            (QueryError::Storage("x".into()), 500),
        ] {
            assert_eq!(ApiError::from(e).status().as_u16(), status);
        }
    }
}
