//! A small etcd v3 client over etcd's JSON gateway (`POST /v3/kv/range`, …).
//!
//! Why the gateway and not gRPC: the `etcd-client` crate generates its code with `protoc`
//! at build time, which a fresh machine lacks; the gateway is part of every etcd ≥ 3.4
//! and needs nothing but HTTP and JSON. In its JSON, keys and values are base64 and 64-bit
//! integers are strings; a field at its zero value (a `false`, a `0`) is left out.
//!
//! The client is blocking (ureq): membership runs on its own threads, never on the
//! server's async runtime. Every call names the endpoint and etcd's own message when it
//! fails. Several endpoints may be given; a call that cannot reach one tries the next.

use std::io::{BufReader, Read};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

/// A key's current value and revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// The revision that created the key (0: the key does not exist).
    pub create_revision: i64,
    /// The revision of its last change: what a compare-and-swap compares.
    pub mod_revision: i64,
    /// The lease it is attached to (0: none).
    pub lease: i64,
}

/// A change seen by a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The key was written.
    Put(KeyValue),
    /// The key was deleted, or its lease expired.
    Delete {
        /// The key.
        key: Vec<u8>,
        /// The revision of the deletion.
        mod_revision: i64,
    },
}

/// What went wrong talking to etcd.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered.
    #[error("etcd is unreachable ({endpoints}): {reason}")]
    Unreachable {
        /// The endpoints tried.
        endpoints: String,
        /// The last failure.
        reason: String,
    },
    /// etcd answered with an error.
    #[error("etcd {path} failed: {message}")]
    Server {
        /// The API path.
        path: String,
        /// etcd's message.
        message: String,
    },
    /// etcd answered something that is not the JSON expected.
    #[error("etcd {path} answered unexpected JSON: {reason}")]
    Malformed {
        /// The API path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The lease has expired (or was revoked).
    #[error("etcd lease {0} has expired")]
    LeaseExpired(i64),
}

/// A client for one etcd cluster.
#[derive(Clone, Debug)]
pub struct Etcd {
    endpoints: Vec<String>,
    agent: ureq::Agent,
    /// For watches: a read that waits longer ends the stream, which is then resumed.
    watch_agent: ureq::Agent,
}

/// The end of the range of keys starting with `prefix`: the prefix with its last byte
/// below 0xff increased (etcd's `range_end` for a prefix).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0] // every key
}

impl Etcd {
    /// A client for `endpoints` (`http://127.0.0.1:2379`); calls time out after `timeout`.
    pub fn new(endpoints: &[String], timeout: Duration) -> Etcd {
        let endpoints = endpoints.iter().map(|e| e.trim_end_matches('/').to_string()).collect();
        Etcd {
            endpoints,
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
            watch_agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout)
                .timeout_read(Duration::from_millis(500))
                .build(),
        }
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// etcd's server version (`GET /version`), to check it is reachable.
    pub fn version(&self) -> Result<String, EtcdError> {
        let mut last = String::new();
        for endpoint in &self.endpoints {
            match self.agent.get(&format!("{endpoint}/version")).call() {
                Ok(response) => {
                    let body: Value = read_json(response.into_reader(), "/version")?;
                    return Ok(body["etcdserver"].as_str().unwrap_or("unknown").to_string());
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(self.unreachable(last))
    }

    /// The value of `key`, if it exists.
    pub fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, EtcdError> {
        let answer = self.call("/v3/kv/range", json!({ "key": B64.encode(key) }))?;
        Ok(kvs(&answer, "/v3/kv/range")?.into_iter().next())
    }

    /// Every key starting with `prefix`, and the store's revision they were read at.
    pub fn get_prefix(&self, prefix: &[u8]) -> Result<(Vec<KeyValue>, i64), EtcdError> {
        let answer = self.call(
            "/v3/kv/range",
            json!({ "key": B64.encode(prefix), "range_end": B64.encode(prefix_end(prefix)) }),
        )?;
        Ok((kvs(&answer, "/v3/kv/range")?, header_revision(&answer)))
    }

    /// Writes `key` unconditionally, attached to `lease` if not 0.
    pub fn put(&self, key: &[u8], value: &[u8], lease: i64) -> Result<(), EtcdError> {
        self.call("/v3/kv/put", put_request(key, value, lease)).map(drop)
    }

    /// Writes `key` only if its last change was at `mod_revision` (0: only if it does not
    /// exist). Returns whether it was written; `false` means someone else changed it first.
    pub fn compare_and_put(
        &self,
        key: &[u8],
        mod_revision: i64,
        value: &[u8],
        lease: i64,
    ) -> Result<bool, EtcdError> {
        let compare = if mod_revision == 0 {
            json!({ "key": B64.encode(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0" })
        } else {
            json!({ "key": B64.encode(key), "result": "EQUAL", "target": "MOD", "mod_revision": mod_revision.to_string() })
        };
        let answer = self.call(
            "/v3/kv/txn",
            json!({ "compare": [compare], "success": [{ "request_put": put_request(key, value, lease) }] }),
        )?;
        Ok(answer["succeeded"].as_bool().unwrap_or(false))
    }

    /// Deletes `key`.
    pub fn delete(&self, key: &[u8]) -> Result<(), EtcdError> {
        self.call("/v3/kv/deleterange", json!({ "key": B64.encode(key) })).map(drop)
    }

    /// Grants a lease of `ttl_seconds`; keys attached to it vanish when it expires.
    pub fn grant_lease(&self, ttl_seconds: i64) -> Result<i64, EtcdError> {
        let answer = self.call("/v3/lease/grant", json!({ "TTL": ttl_seconds.to_string() }))?;
        int_field(&answer, "ID", "/v3/lease/grant")
    }

    /// Renews `lease`; returns its TTL, or [`EtcdError::LeaseExpired`] if it is gone.
    pub fn keep_alive(&self, lease: i64) -> Result<i64, EtcdError> {
        let answer = self.call("/v3/lease/keepalive", json!({ "ID": lease.to_string() }))?;
        let ttl = answer["result"]["TTL"].as_str().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
        if ttl <= 0 {
            return Err(EtcdError::LeaseExpired(lease));
        }
        Ok(ttl)
    }

    /// Revokes `lease`, deleting its keys at once.
    pub fn revoke_lease(&self, lease: i64) -> Result<(), EtcdError> {
        self.call("/v3/lease/revoke", json!({ "ID": lease.to_string() })).map(drop)
    }

    /// Watches keys starting with `prefix` from `start_revision` on, calling `on_event`
    /// for each change in order, until `on_event` returns false. The stream is resumed
    /// after the last revision seen when it breaks or goes quiet (every half second, so
    /// `on_event` is also called with `None` to let the caller decide to stop).
    pub fn watch_prefix(
        &self,
        prefix: &[u8],
        start_revision: i64,
        mut on_event: impl FnMut(Option<WatchEvent>) -> bool,
    ) -> Result<(), EtcdError> {
        let mut next_revision = start_revision;
        loop {
            let request = json!({ "create_request": {
                "key": B64.encode(prefix),
                "range_end": B64.encode(prefix_end(prefix)),
                "start_revision": next_revision.to_string(),
            }});
            let stream = match self.open_watch(&request) {
                Ok(stream) => stream,
                Err(e) => {
                    if !on_event(None) {
                        return Ok(());
                    }
                    tracing::debug!(error = %e, "etcd watch could not start; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            };
            let messages = serde_json::Deserializer::from_reader(BufReader::new(stream)).into_iter::<Value>();
            for message in messages {
                let Ok(message) = message else { break }; // quiet (read timeout) or broken
                if let Some(error) = message.get("error") {
                    return Err(EtcdError::Server { path: "/v3/watch".into(), message: error.to_string() });
                }
                let result = &message["result"];
                if result["compact_revision"].as_str().is_some() {
                    return Err(EtcdError::Server {
                        path: "/v3/watch".into(),
                        message: format!("revision {next_revision} has been compacted"),
                    });
                }
                for event in result["events"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    let event = parse_event(event)?;
                    let revision = match &event {
                        WatchEvent::Put(kv) => kv.mod_revision,
                        WatchEvent::Delete { mod_revision, .. } => *mod_revision,
                    };
                    next_revision = next_revision.max(revision + 1);
                    if !on_event(Some(event)) {
                        return Ok(());
                    }
                }
            }
            if !on_event(None) {
                return Ok(());
            }
        }
    }

    fn open_watch(&self, request: &Value) -> Result<Box<dyn Read + Send + Sync>, EtcdError> {
        let mut last = String::new();
        for endpoint in &self.endpoints {
            match self.watch_agent.post(&format!("{endpoint}/v3/watch")).send_string(&request.to_string()) {
                Ok(response) => return Ok(response.into_reader()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(self.unreachable(last))
    }

    /// POSTs `body` to `path` on the first endpoint that answers.
    fn call(&self, path: &str, body: Value) -> Result<Value, EtcdError> {
        let body = body.to_string();
        let mut last = String::new();
        for endpoint in &self.endpoints {
            match self.agent.post(&format!("{endpoint}{path}")).send_string(&body) {
                Ok(response) => return read_json(response.into_reader(), path),
                Err(ureq::Error::Status(_, response)) => {
                    let answer: Value = read_json(response.into_reader(), path)?;
                    let message =
                        answer["message"].as_str().or(answer["error"].as_str()).unwrap_or("no message");
                    return Err(EtcdError::Server { path: path.into(), message: message.into() });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(self.unreachable(last))
    }

    fn unreachable(&self, reason: String) -> EtcdError {
        EtcdError::Unreachable { endpoints: self.endpoints.join(","), reason }
    }
}

fn put_request(key: &[u8], value: &[u8], lease: i64) -> Value {
    let mut put = json!({ "key": B64.encode(key), "value": B64.encode(value) });
    if lease != 0 {
        put["lease"] = json!(lease.to_string());
    }
    put
}

fn read_json(reader: impl Read, path: &str) -> Result<Value, EtcdError> {
    serde_json::from_reader(reader.take(64 << 20))
        .map_err(|e| EtcdError::Malformed { path: path.into(), reason: e.to_string() })
}

fn header_revision(answer: &Value) -> i64 {
    answer["header"]["revision"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn int_field(answer: &Value, field: &str, path: &str) -> Result<i64, EtcdError> {
    answer[field]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| EtcdError::Malformed { path: path.into(), reason: format!("no integer {field}") })
}

fn kvs(answer: &Value, path: &str) -> Result<Vec<KeyValue>, EtcdError> {
    answer["kvs"].as_array().map(Vec::as_slice).unwrap_or(&[]).iter().map(|kv| parse_kv(kv, path)).collect()
}

fn parse_kv(kv: &Value, path: &str) -> Result<KeyValue, EtcdError> {
    let bytes = |field: &str| -> Result<Vec<u8>, EtcdError> {
        match kv[field].as_str() {
            None => Ok(Vec::new()),
            Some(text) => B64
                .decode(text)
                .map_err(|e| EtcdError::Malformed { path: path.into(), reason: format!("{field}: {e}") }),
        }
    };
    let int = |field: &str| kv[field].as_str().and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(KeyValue {
        key: bytes("key")?,
        value: bytes("value")?,
        create_revision: int("create_revision"),
        mod_revision: int("mod_revision"),
        lease: int("lease"),
    })
}

fn parse_event(event: &Value) -> Result<WatchEvent, EtcdError> {
    let kv = parse_kv(&event["kv"], "/v3/watch")?;
    Ok(match event["type"].as_str() {
        Some("DELETE") => WatchEvent::Delete { key: kv.key, mod_revision: kv.mod_revision },
        _ => WatchEvent::Put(kv),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_end_is_the_first_key_past_every_key_with_the_prefix() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn the_gateways_json_is_read_with_its_zero_fields_left_out() {
        let event = json!({ "type": "DELETE", "kv": { "key": B64.encode("/k"), "mod_revision": "7" } });
        assert_eq!(parse_event(&event).unwrap(), WatchEvent::Delete { key: b"/k".to_vec(), mod_revision: 7 });
        let put = json!({ "kv": { "key": B64.encode("/k"), "value": B64.encode("v"), "create_revision": "3", "mod_revision": "5", "lease": "9" } });
        let WatchEvent::Put(kv) = parse_event(&put).unwrap() else { panic!("not a put") };
        assert_eq!(
            (kv.value.as_slice(), kv.create_revision, kv.mod_revision, kv.lease),
            (&b"v"[..], 3, 5, 9)
        );
        let bad = json!({ "kv": { "key": "not base64!" } });
        assert!(matches!(parse_event(&bad), Err(EtcdError::Malformed { .. })));
    }
}
