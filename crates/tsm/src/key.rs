//! Index keys: how a series and field are named in a TSM file, and how Strata's series map
//! to them and back.
//!
//! A key is `series#!~#field`, the series as line protocol writes it (escaped measurement,
//! then `,tag=value` sorted by tag key). Strata's data model (decision 2 of ARCHITECTURE.md)
//! names field `f` of measurement `m` as the metric `m_f`, and field `value` as `m`: a key
//! read becomes those labels. A Strata series is written as measurement = its metric name
//! and field `value`, so what Strata writes reads back as the same series, and influxd
//! shows a Prometheus metric as a measurement with one field `value`.

use strata_ingest::line_protocol::{field_labels, parse_series, series_text};
use strata_model::{Labels, METRIC_NAME_LABEL};

/// What separates the series from the field in a key.
pub const FIELD_SEPARATOR: &[u8] = b"#!~#";
/// The field a Strata series is written as.
pub const VALUE_FIELD: &str = "value";

/// The key of a Strata series; `Err` if it has no metric name (a measurement is required).
pub fn key_of(labels: &Labels) -> Result<Vec<u8>, String> {
    let measurement = labels
        .metric_name()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| format!("series {labels} has no metric name"))?;
    let tags =
        labels.iter().filter(|l| l.name != METRIC_NAME_LABEL).map(|l| (l.name.as_str(), l.value.as_str()));
    let mut key = series_text(measurement, tags).into_bytes();
    key.extend_from_slice(FIELD_SEPARATOR);
    key.extend_from_slice(VALUE_FIELD.as_bytes());
    Ok(key)
}

/// The series and field of a key (split at the first separator, as InfluxDB does).
pub fn split_key(key: &[u8]) -> Result<(&str, &str), String> {
    let text = std::str::from_utf8(key).map_err(|_| "key is not UTF-8".to_string())?;
    let at = text.find("#!~#").ok_or_else(|| format!("key {text:?} has no field separator #!~#"))?;
    Ok((&text[..at], &text[at + FIELD_SEPARATOR.len()..]))
}

/// The Strata labels of a key.
pub fn labels_of(key: &[u8]) -> Result<Labels, String> {
    let (series, field) = split_key(key)?;
    let parts = parse_series(series, 1, 0).map_err(|e| e.to_string())?;
    field_labels(&parts, field, 1, 0).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_prometheus_series_is_a_measurement_with_a_value_field() {
        let labels =
            Labels::with_metric_name("http_requests_total", [("job", "api"), ("code", "200")]).unwrap();
        assert_eq!(key_of(&labels).unwrap(), b"http_requests_total,code=200,job=api#!~#value");
    }

    #[test]
    fn influx_fields_become_metrics_named_after_measurement_and_field() {
        let labels = labels_of(b"cpu,host=a\\ b,region=eu#!~#usage_idle").unwrap();
        assert_eq!(labels.to_string(), r#"cpu_usage_idle{host="a b",region="eu"}"#);
        assert!(labels_of(b"cpu,host=a").is_err());
        assert!(labels_of(b"\xff#!~#value").is_err());
    }

    proptest! {
        #[test]
        fn strata_series_round_trip(metric in "[a-z][a-z_ ,]{0,10}", tags in prop::collection::btree_map(
            "[a-z][a-z_]{0,5}", "[a-zA-Z0-9 ,=]{1,6}", 0..4)) {
            let labels = Labels::with_metric_name(&metric, tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            prop_assert_eq!(labels_of(&key_of(&labels).unwrap()).unwrap(), labels);
        }
    }
}
