//! Naming rules for metric and label names.
//!
//! Prometheus 3 accepts any non-empty UTF-8 string as a name (names outside the legacy
//! character set are quoted in PromQL and in the text format); older tools and the
//! exposition format without quoting need the legacy sets:
//! metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`.

use crate::{ModelError, Result};

/// Which naming rules a name must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Any non-empty UTF-8 string (Prometheus 3's default).
    #[default]
    Utf8,
    /// The classic character sets of Prometheus 2.x.
    Legacy,
}

/// Whether `name` is a metric name under the legacy rules.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `name` is a label name under the legacy rules.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks a label name (`__name__` included) under `scheme`; for `__name__` the caller
/// checks the *value* with [`validate_metric_name`].
pub fn validate_label_name(name: &str, value: &str, scheme: NameValidation) -> Result<()> {
    if name.is_empty() {
        return Err(ModelError::EmptyLabelName { value: value.to_string() });
    }
    if scheme == NameValidation::Legacy && !is_legacy_label_name(name) {
        return Err(ModelError::InvalidLabelName {
            name: name.to_string(),
            reason: "must match [a-zA-Z_][a-zA-Z0-9_]*",
        });
    }
    Ok(())
}

/// Checks a metric name (the value of `__name__`) under `scheme`.
pub fn validate_metric_name(name: &str, scheme: NameValidation) -> Result<()> {
    if name.is_empty() {
        return Err(ModelError::InvalidMetricName { name: String::new(), reason: "is empty" });
    }
    if scheme == NameValidation::Legacy && !is_legacy_metric_name(name) {
        return Err(ModelError::InvalidMetricName {
            name: name.to_string(),
            reason: "must match [a-zA-Z_:][a-zA-Z0-9_:]*",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_sets() {
        assert!(is_legacy_metric_name("node_cpu:rate5m"));
        assert!(is_legacy_metric_name("_x"));
        assert!(!is_legacy_metric_name("9lives"));
        assert!(!is_legacy_metric_name("cpu.usage"));
        assert!(!is_legacy_metric_name(""));
        assert!(is_legacy_label_name("__name__"));
        assert!(!is_legacy_label_name("a:b"));
        assert!(!is_legacy_label_name("é"));
    }

    #[test]
    fn errors_name_the_input() {
        let err = validate_label_name("a-b", "v", NameValidation::Legacy).unwrap_err();
        assert!(err.to_string().contains("\"a-b\""), "{err}");
        assert!(validate_label_name("a-b", "v", NameValidation::Utf8).is_ok());
        let err = validate_label_name("", "v", NameValidation::Utf8).unwrap_err();
        assert_eq!(err, ModelError::EmptyLabelName { value: "v".into() });
        let err = validate_metric_name("cpu.usage", NameValidation::Legacy).unwrap_err();
        assert!(err.to_string().contains("cpu.usage"), "{err}");
    }
}
