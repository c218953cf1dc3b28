//! A minimal HTTP/1.x client over `std::net` for the tools that talk to a running server
//! (`strata bench`, `strata promql --url`): plain `http://host:port` only, which is what a
//! server on loopback speaks. No dependency on an async runtime or a TLS stack.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};

/// `host:port` of an `http://host:port[/]` URL (port 80 when none is given).
pub(crate) fn host_port(target: &str) -> anyhow::Result<String> {
    let rest =
        target.strip_prefix("http://").context("the URL must start with http:// (https is not supported)")?;
    let hostport = rest.trim_end_matches('/');
    if hostport.is_empty() || hostport.contains('/') {
        bail!("the URL must be http://host:port, got {target:?}");
    }
    Ok(if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:80") })
}

/// `GET path` from `addr` (`host:port`) as HTTP/1.0, so the answer is one plain body ended
/// by the server closing the connection; returns the status and the body.
pub(crate) fn get(addr: &str, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).with_context(|| format!("reading the answer from {addr}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").context("the answer has no end of headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the answer has no HTTP status line")?;
    Ok((status, body.to_string()))
}

/// Percent-encodes a query parameter's value (RFC 3986 unreserved bytes stay as they are).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_components() {
        assert_eq!(host_port("http://127.0.0.1:9090/").unwrap(), "127.0.0.1:9090");
        assert_eq!(host_port("http://example").unwrap(), "example:80");
        assert!(host_port("https://x:1").is_err());
        assert!(host_port("http://x:1/api").is_err());
        assert_eq!(encode_component(r#"rate(up{a="b c"}[5m])"#), "rate%28up%7Ba%3D%22b%20c%22%7D%5B5m%5D%29");
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
