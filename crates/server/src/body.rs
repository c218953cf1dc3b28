//! Reading request bodies within the size limit, gzip included: a body is gunzipped when it
//! says `Content-Encoding: gzip` or starts with gzip's magic bytes (some clients compress
//! without saying so), and the limit applies to the decompressed bytes too, so a small
//! "zip bomb" cannot grow past it.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};

/// A body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyProblem {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

/// The whole body as sent (no decompression), at most `limit` bytes; not copied again.
pub(crate) async fn read_raw(body: Body, limit: usize) -> Result<Bytes, BodyProblem> {
    axum::body::to_bytes(body, limit).await.map_err(|e| too_large_or(e.to_string(), limit))
}

/// The whole body, decompressed, at most `limit` bytes. A `Content-Encoding` other than
/// gzip (or identity) is refused with 415 naming it, rather than read as plain text.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyProblem> {
    let encoding = match headers.get(axum::http::header::CONTENT_ENCODING) {
        None => "",
        Some(value) => value.to_str().unwrap_or("(not text)").trim(),
    };
    let gzip = encoding.eq_ignore_ascii_case("gzip");
    if !gzip && !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
        return Err(BodyProblem {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!("Content-Encoding {encoding:?} is not supported (gzip is)"),
        });
    }
    let bytes = read_raw(body, limit).await?;
    if gzip || bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes, limit).map(Bytes::from)
    } else {
        Ok(bytes)
    }
}

fn too_large_or(message: String, limit: usize) -> BodyProblem {
    if message.contains("length limit") {
        BodyProblem {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("request body is larger than the limit of {limit} bytes (max-body-bytes)"),
        }
    } else {
        BodyProblem {
            status: StatusCode::BAD_REQUEST,
            message: format!("reading the request body: {message}"),
        }
    }
}

/// Gunzips `bytes`, refusing output past `limit`.
pub(crate) fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, BodyProblem> {
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| BodyProblem {
        status: StatusCode::BAD_REQUEST,
        message: format!("request body is not valid gzip: {e}"),
    })?;
    if out.len() > limit {
        return Err(BodyProblem {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "decompressed request body is larger than the limit of {limit} bytes (max-body-bytes)"
            ),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_is_undone_within_the_limit() {
        assert_eq!(gunzip(&gzip(b"cpu v=1"), 100).unwrap(), b"cpu v=1");
        let bomb = gzip(&vec![b'a'; 1 << 20]);
        assert!(bomb.len() < 10_000);
        assert_eq!(gunzip(&bomb, 1000).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(gunzip(&[0x1f, 0x8b, 1, 2, 3], 1000).unwrap_err().status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413() {
        let problem = read_body(&HeaderMap::new(), Body::from(vec![0u8; 2000]), 1000).await.unwrap_err();
        assert_eq!(problem.status, StatusCode::PAYLOAD_TOO_LARGE);
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(read_body(&headers, Body::from(gzip(b"x")), 1000).await.unwrap(), &b"x"[..]);
    }
}
