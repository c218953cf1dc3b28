//! Counting a set of series for the cardinality explorers users already have: the
//! VictoriaMetrics shape of `/api/v1/status/tsdb` (`topN`, `match[]`, `focusLabel`), and
//! Mimir's `/api/v1/cardinality/label_names` and `label_values`. The server hands the
//! selected series over (exact, from the head's index); this counts and shapes.

use std::collections::HashMap;

use serde_json::{json, Value};
use strata_model::Labels;

/// Counts over a set of series.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub total_series: u64,
    /// Series per label name.
    by_label_name: HashMap<String, u64>,
    /// Series per value, per label name (`__name__` included).
    values: HashMap<String, HashMap<String, u64>>,
}

/// Counts `series`.
pub fn count<'a>(series: impl IntoIterator<Item = &'a Labels>) -> Counts {
    let mut c = Counts::default();
    for labels in series {
        c.total_series += 1;
        for l in labels.iter() {
            *c.by_label_name.entry(l.name.clone()).or_default() += 1;
            *c.values.entry(l.name.clone()).or_default().entry(l.value.clone()).or_default() += 1;
        }
    }
    c
}

/// The `top` largest `(name, count)` pairs, largest first, ties by name.
fn top(items: impl IntoIterator<Item = (String, u64)>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = items.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn entries(items: Vec<(String, u64)>) -> Value {
    Value::Array(items.into_iter().map(|(name, value)| json!({"name": name, "value": value})).collect())
}

impl Counts {
    fn values_of(&self, name: &str) -> impl Iterator<Item = (String, u64)> + '_ {
        self.values.get(name).into_iter().flatten().map(|(v, n)| (v.clone(), *n))
    }

    /// VictoriaMetrics' `/api/v1/status/tsdb` data (a superset of Prometheus' keys).
    pub fn tsdb_status(&self, n: usize, focus: Option<&str>) -> Value {
        let pairs = self
            .values
            .iter()
            .flat_map(|(name, vals)| vals.iter().map(move |(v, c)| (format!("{name}={v}"), *c)));
        let pair_count: usize = self.values.values().map(HashMap::len).sum();
        json!({
            "totalSeries": self.total_series,
            "totalLabelValuePairs": pair_count,
            "seriesCountByMetricName": entries(top(self.values_of("__name__"), n)),
            "seriesCountByLabelName": entries(top(self.by_label_name.iter().map(|(k, v)| (k.clone(), *v)), n)),
            "seriesCountByFocusLabelValue": entries(focus.map(|f| top(self.values_of(f), n)).unwrap_or_default()),
            "seriesCountByLabelValuePair": entries(top(pairs, n)),
            "labelValueCountByLabelName": entries(top(self.values.iter().map(|(k, v)| (k.clone(), v.len() as u64)), n)),
        })
    }

    /// Mimir's `/api/v1/cardinality/label_names` data.
    pub fn label_names(&self, limit: usize) -> Value {
        let names = top(self.values.iter().map(|(k, v)| (k.clone(), v.len() as u64)), limit);
        json!({
            "label_values_count_total": self.values.values().map(|v| v.len() as u64).sum::<u64>(),
            "label_names_count": self.values.len(),
            "cardinality": names.into_iter().map(|(n, c)| json!({"label_name": n, "label_values_count": c})).collect::<Vec<_>>(),
        })
    }

    /// Mimir's `/api/v1/cardinality/label_values` data for `names`.
    pub fn label_values(&self, names: &[String], limit: usize) -> Value {
        let labels: Vec<Value> = names
            .iter()
            .map(|name| {
                let values = top(self.values_of(name), limit);
                json!({
                    "label_name": name,
                    "label_values_count": self.values.get(name).map_or(0, HashMap::len),
                    "series_count": self.by_label_name.get(name).copied().unwrap_or(0),
                    "cardinality": values.into_iter().map(|(v, c)| json!({"label_value": v, "series_count": c})).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "series_count_total": self.total_series, "labels": labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Labels> {
        let mut out = Vec::new();
        for i in 0..5 {
            out.push(Labels::from_pairs([("__name__", "a"), ("job", "x"), ("i", &i.to_string())]).unwrap());
        }
        out.push(Labels::from_pairs([("__name__", "b"), ("job", "y")]).unwrap());
        out
    }

    #[test]
    fn shapes_count_every_series_once() {
        let all = series();
        let c = count(&all);
        let s = c.tsdb_status(2, Some("job"));
        assert_eq!(s["totalSeries"], 6);
        assert_eq!(s["seriesCountByMetricName"][0], json!({"name": "a", "value": 5}));
        assert_eq!(s["seriesCountByFocusLabelValue"][0], json!({"name": "x", "value": 5}));
        assert_eq!(s["labelValueCountByLabelName"][0], json!({"name": "i", "value": 5}));
        let names = c.label_names(20);
        assert_eq!(names["label_names_count"], 3);
        assert_eq!(names["label_values_count_total"], 5 + 2 + 2);
        let values = c.label_values(&["job".into()], 1);
        assert_eq!(values["series_count_total"], 6);
        assert_eq!(values["labels"][0]["label_values_count"], 2);
        assert_eq!(values["labels"][0]["cardinality"], json!([{"label_value": "x", "series_count": 5}]));
    }
}
