//! Label sets: the identity of a series.
//!
//! Invariants of [`Labels`], established by every constructor:
//! - sorted by name (byte order), so equal sets are equal vectors and hash the same;
//! - no name appears twice;
//! - no value is empty: Prometheus treats `l=""` as "no label `l`", so an empty value is
//!   dropped on construction rather than stored.

use std::fmt;

use crate::name::{validate_label_name, validate_metric_name, NameValidation};
use crate::{ModelError, Result, SeriesHash};

/// The label holding the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// One `name=value` pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// The label value (never empty inside a [`Labels`]).
    pub value: String,
}

/// A canonical label set; see the module docs for its invariants.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels(Vec::new())
    }

    /// Builds a canonical label set from pairs in any order, validating names with
    /// Prometheus 3's rules (any non-empty UTF-8). Empty values are dropped.
    pub fn from_pairs<N, V, I>(pairs: I) -> Result<Self>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        Self::from_pairs_with(pairs, NameValidation::Utf8)
    }

    /// Like [`Labels::from_pairs`], with an explicit naming scheme.
    pub fn from_pairs_with<N, V, I>(pairs: I, scheme: NameValidation) -> Result<Self>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut labels = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            validate_label_name(&name, &value, scheme)?;
            if name == METRIC_NAME_LABEL {
                validate_metric_name(&value, scheme)?;
            }
            if !value.is_empty() {
                labels.push(Label { name, value });
            }
        }
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = labels.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(ModelError::DuplicateLabelName { name: pair[0].name.clone() });
        }
        Ok(Labels(labels))
    }

    /// A series of metric `name` with the given other labels.
    pub fn with_metric_name<N, V, I>(name: &str, pairs: I) -> Result<Self>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        let pairs = pairs.into_iter().map(|(n, v)| (n.into(), v.into()));
        Self::from_pairs(std::iter::once((METRIC_NAME_LABEL.to_string(), name.to_string())).chain(pairs))
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|l| l.name.as_str().cmp(name)).ok().map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME_LABEL)
    }

    /// The labels, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every label of `subset` is in `self` with the same value.
    pub fn contains_all(&self, subset: &Labels) -> bool {
        subset.iter().all(|l| self.get(&l.name) == Some(l.value.as_str()))
    }

    /// The stable 64-bit hash of this set (see [`SeriesHash`]).
    pub fn stable_hash(&self) -> SeriesHash {
        SeriesHash::of(self)
    }

    /// Sets label `name` to `value`, replacing an existing value; an empty value removes the
    /// label (the invariants hold: sorted, unique, no empty values). The name is not
    /// validated: callers that take names from users check them first.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, Label { name: name.to_string(), value: value.to_string() }),
        }
    }

    /// Removes label `name`, returning its value if it was there.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.0.binary_search_by(|l| l.name.as_str().cmp(name)).ok()?;
        Some(self.0.remove(i).value)
    }

    /// Keeps only the labels for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) {
        self.0.retain(|l| keep(l));
    }

    /// A rough count of heap bytes held, for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Label>()
            + self.0.iter().map(|l| l.name.capacity() + l.value.capacity()).sum::<usize>()
    }
}

impl fmt::Display for Labels {
    /// The Prometheus form, e.g. `cpu_usage{host="server1",region="us-east"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prometheus_key())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_input_does_not_matter() {
        let a = Labels::from_pairs([("host", "a"), ("region", "b")]).unwrap();
        let b = Labels::from_pairs([("region", "b"), ("host", "a")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.get("region"), Some("b"));
        assert_eq!(a.get("zone"), None);
    }

    #[test]
    fn empty_values_are_dropped_and_duplicates_rejected() {
        let l = Labels::from_pairs([("a", "1"), ("b", "")]).unwrap();
        assert_eq!(l.len(), 1);
        let err = Labels::from_pairs([("a", "1"), ("a", "2")]).unwrap_err();
        assert_eq!(err, ModelError::DuplicateLabelName { name: "a".into() });
        let err = Labels::from_pairs([("", "x")]).unwrap_err();
        assert!(matches!(err, ModelError::EmptyLabelName { .. }));
    }

    #[test]
    fn metric_name_is_validated_by_scheme() {
        assert!(Labels::with_metric_name("cpu.usage", [("h", "1")]).is_ok());
        let legacy = Labels::from_pairs_with([("__name__", "cpu.usage")], NameValidation::Legacy);
        assert!(matches!(legacy, Err(ModelError::InvalidMetricName { .. })));
    }

    #[test]
    fn set_remove_and_retain_keep_the_invariants() {
        let mut l = Labels::from_pairs([("b", "2")]).unwrap();
        l.set("c", "3");
        l.set("a", "1");
        l.set("b", "20");
        assert_eq!(l, Labels::from_pairs([("a", "1"), ("b", "20"), ("c", "3")]).unwrap());
        l.set("a", "");
        assert_eq!(l.remove("c"), Some("3".to_string()));
        assert_eq!(l.remove("zz"), None);
        l.set("d", "");
        assert_eq!(l, Labels::from_pairs([("b", "20")]).unwrap());
        l.retain(|label| label.name != "b");
        assert!(l.is_empty());
    }

    #[test]
    fn contains_all_is_subset_test() {
        let s = Labels::with_metric_name("m", [("a", "1"), ("b", "2")]).unwrap();
        assert!(s.contains_all(&Labels::from_pairs([("a", "1")]).unwrap()));
        assert!(!s.contains_all(&Labels::from_pairs([("a", "2")]).unwrap()));
        assert!(s.contains_all(&Labels::empty()));
    }
}
