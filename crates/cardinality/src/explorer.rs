//! The shapes of the cardinality explorers users already have, from one count of the
//! head's postings (`strata_index::Census`, which never reads a series and holds a bounded
//! answer): Prometheus' `/api/v1/status/tsdb`, VictoriaMetrics' version of it (`topN`,
//! `match[]`, `focusLabel`), and Mimir's `/api/v1/cardinality/label_names` and
//! `label_values`.

use serde_json::{json, Value};
use strata_index::{Census, NameCount};

/// The `n` largest `(name, count)` pairs, largest first, ties by name.
fn top(items: impl IntoIterator<Item = (String, u64)>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = items.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn entries(items: Vec<(String, u64)>) -> Value {
    Value::Array(items.into_iter().map(|(name, value)| json!({"name": name, "value": value})).collect())
}

fn by_name(census: &Census, n: usize, figure: impl Fn(&NameCount) -> u64) -> Value {
    entries(top(census.names.iter().map(|c| (c.name.clone(), figure(c))), n))
}

/// The ranked values of `name`, if the census was asked for them.
fn focus_values(census: &Census, name: &str) -> Vec<(String, u64)> {
    census.top_values.iter().find(|(f, _)| f == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn pairs(census: &Census) -> Value {
    entries(census.top_pairs.iter().map(|(n, v, c)| (format!("{n}={v}"), *c)).collect())
}

/// Prometheus' lists of `/api/v1/status/tsdb` (the server adds `headStats`); the census
/// must rank `__name__`.
pub fn prometheus_tsdb_status(census: &Census, n: usize) -> Value {
    json!({
        "seriesCountByMetricName": entries(focus_values(census, "__name__")),
        "labelValueCountByLabelName": by_name(census, n, |c| c.values),
        "memoryInBytesByLabelName": by_name(census, n, |c| c.value_bytes),
        "seriesCountByLabelValuePair": pairs(census),
    })
}

/// VictoriaMetrics' `/api/v1/status/tsdb` data (a superset of Prometheus' keys); the census
/// must rank `__name__` and the focus label.
pub fn victoria_tsdb_status(census: &Census, n: usize, focus: Option<&str>) -> Value {
    json!({
        "totalSeries": census.total_series,
        "totalLabelValuePairs": census.total_pairs,
        "seriesCountByMetricName": entries(focus_values(census, "__name__")),
        "seriesCountByLabelName": by_name(census, n, |c| c.series),
        "seriesCountByFocusLabelValue": entries(focus.map(|f| focus_values(census, f)).unwrap_or_default()),
        "seriesCountByLabelValuePair": pairs(census),
        "labelValueCountByLabelName": by_name(census, n, |c| c.values),
    })
}

/// Mimir's `/api/v1/cardinality/label_names` data.
pub fn mimir_label_names(census: &Census, limit: usize) -> Value {
    let names = top(census.names.iter().map(|c| (c.name.clone(), c.values)), limit);
    json!({
        "label_values_count_total": census.total_pairs,
        "label_names_count": census.names.len(),
        "cardinality": names.into_iter().map(|(n, c)| json!({"label_name": n, "label_values_count": c})).collect::<Vec<_>>(),
    })
}

/// Mimir's `/api/v1/cardinality/label_values` data; the census must rank each of `names`.
pub fn mimir_label_values(census: &Census, names: &[String]) -> Value {
    let labels: Vec<Value> = names
        .iter()
        .map(|name| {
            let counted = census.names.iter().find(|c| &c.name == name);
            json!({
                "label_name": name,
                "label_values_count": counted.map_or(0, |c| c.values),
                "series_count": counted.map_or(0, |c| c.series),
                "cardinality": focus_values(census, name).into_iter().map(|(v, c)| json!({"label_value": v, "series_count": c})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "series_count_total": census.total_series, "labels": labels })
}

#[cfg(test)]
mod tests {
    use strata_index::{CensusRequest, SeriesIndex};
    use strata_model::Labels;

    use super::*;

    fn index() -> SeriesIndex {
        let index = SeriesIndex::new();
        for i in 0..5 {
            index
                .get_or_create(
                    &Labels::from_pairs([("__name__", "a"), ("job", "x"), ("i", &i.to_string())]).unwrap(),
                )
                .unwrap();
        }
        index.get_or_create(&Labels::from_pairs([("__name__", "b"), ("job", "y")]).unwrap()).unwrap();
        index
    }

    fn census(top: usize, focus: &[&str]) -> Census {
        let request = CensusRequest {
            selection: None,
            top,
            top_pairs: top,
            focus: focus.iter().map(|f| f.to_string()).collect(),
            budget: usize::MAX,
        };
        index().census(&request).unwrap()
    }

    #[test]
    fn shapes_count_every_series_once() {
        let s = victoria_tsdb_status(&census(2, &["__name__", "job"]), 2, Some("job"));
        assert_eq!(s["totalSeries"], 6);
        assert_eq!(s["seriesCountByMetricName"][0], json!({"name": "a", "value": 5}));
        assert_eq!(s["seriesCountByFocusLabelValue"][0], json!({"name": "x", "value": 5}));
        assert_eq!(s["labelValueCountByLabelName"][0], json!({"name": "i", "value": 5}));
        assert_eq!(s["seriesCountByLabelValuePair"][0], json!({"name": "__name__=a", "value": 5}));
        let p = prometheus_tsdb_status(&census(2, &["__name__"]), 2);
        assert_eq!(p["memoryInBytesByLabelName"][0], json!({"name": "__name__", "value": 6}));
        let names = mimir_label_names(&census(20, &[]), 20);
        assert_eq!(names["label_names_count"], 3);
        assert_eq!(names["label_values_count_total"], 5 + 2 + 2);
        let values = mimir_label_values(&census(1, &["job"]), &["job".into()]);
        assert_eq!(values["series_count_total"], 6);
        assert_eq!(values["labels"][0]["label_values_count"], 2);
        assert_eq!(values["labels"][0]["cardinality"], json!([{"label_value": "x", "series_count": 5}]));
    }
}
