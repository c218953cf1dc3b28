//! OTLP attributes to label pairs: values as text (as OpenTelemetry's collector renders
//! them: numbers in Go's shortest form, arrays and maps as JSON, bytes as base64), keys
//! through [`label_name`], and keys that collide once translated (`a.b` and `a_b`) joined
//! as Prometheus does: their values, in key order, separated by `;`.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

use crate::naming::{label_name, NameError, NameStrategy};

/// Labels under construction: name → value, later entries of the same name override.
pub(crate) type LabelMap = BTreeMap<String, String>;

/// The value of attribute `key`, as text, if present.
pub(crate) fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attributes.iter().find(|kv| kv.key == key)
}

/// The text of an attribute value (empty for a missing one).
pub(crate) fn value_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        // A string-table index only means something inside a profile.
        None | Some(Value::StringValueStrindex(_)) => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => go_float(*d),
        Some(Value::BytesValue(b)) => base64(b),
        Some(v @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => json_of(v).to_string(),
    }
}

/// Adds `attributes` to `labels`, keys translated; colliding keys' values joined by `;`.
/// Labels with empty values are left out (Prometheus treats them as absent).
pub(crate) fn add_all(
    labels: &mut LabelMap,
    attributes: &[KeyValue],
    strategy: NameStrategy,
) -> Result<(), NameError> {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut mine = LabelMap::new();
    for kv in sorted {
        let value = value_text(kv.value.as_ref());
        if value.is_empty() {
            continue;
        }
        let name = label_name(&kv.key, strategy)?;
        match mine.get_mut(&name) {
            Some(existing) => {
                existing.push(';');
                existing.push_str(&value);
            }
            None => {
                mine.insert(name, value);
            }
        }
    }
    labels.extend(mine);
    Ok(())
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits, never an exponent.
pub(crate) fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

fn json_of(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::StringValue(s) => J::String(s.clone()),
        Value::StringValueStrindex(_) => J::Null,
        Value::BoolValue(b) => J::Bool(*b),
        Value::IntValue(i) => J::from(*i),
        Value::DoubleValue(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::BytesValue(b) => J::String(base64(b)),
        Value::ArrayValue(a) => {
            J::Array(a.values.iter().map(|v| v.value.as_ref().map_or(J::Null, json_of)).collect())
        }
        Value::KvlistValue(kvs) => J::Object(
            kvs.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().and_then(|v| v.value.as_ref()).map_or(J::Null, json_of),
                    )
                })
                .collect(),
        ),
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    #[test]
    fn values_as_text() {
        let text = |v| value_text(Some(&AnyValue { value: Some(v) }));
        assert_eq!(text(Value::IntValue(-3)), "-3");
        assert_eq!(text(Value::DoubleValue(0.25)), "0.25");
        assert_eq!(text(Value::DoubleValue(1e21)), "1000000000000000000000");
        assert_eq!(text(Value::BoolValue(true)), "true");
        assert_eq!(text(Value::BytesValue(b"hi!?".to_vec())), "aGkhPw==");
        let array = ArrayValue {
            values: vec![
                AnyValue { value: Some(Value::IntValue(1)) },
                AnyValue { value: Some(Value::StringValue("x".into())) },
            ],
        };
        assert_eq!(text(Value::ArrayValue(array)), r#"[1,"x"]"#);
        let map = KeyValueList { values: vec![kv("k", Value::BoolValue(false))] };
        assert_eq!(text(Value::KvlistValue(map)), r#"{"k":false}"#);
    }

    #[test]
    fn colliding_keys_join_in_key_order() {
        let mut labels = LabelMap::new();
        let attrs = vec![
            kv("a_b", Value::StringValue("2".into())),
            kv("a.b", Value::StringValue("1".into())),
            kv("empty", Value::StringValue(String::new())),
        ];
        add_all(&mut labels, &attrs, NameStrategy::default()).unwrap();
        assert_eq!(labels.get("a_b").map(String::as_str), Some("1;2"));
        assert!(!labels.contains_key("empty"));
    }
}
