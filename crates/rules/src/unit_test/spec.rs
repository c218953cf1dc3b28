//! promtool's rule unit-test file (`docs/configuration/unit_testing_rules.md`), read strictly:
//! an unknown field is an error, as `yaml.UnmarshalStrict` makes it in promtool.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub evaluation_interval: Option<String>,
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    #[serde(default)]
    pub fuzzy_compare: bool,
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub external_url: String,
    /// Unix seconds or RFC 3339.
    #[serde(default)]
    pub start_timestamp: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    pub series: String,
    #[serde(default)]
    pub values: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTest {
    pub eval_time: String,
    #[serde(default)]
    pub alertname: String,
    #[serde(default)]
    pub exp_alerts: Vec<ExpectedAlert>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlert {
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTest {
    pub expr: String,
    pub eval_time: String,
    #[serde(default)]
    pub exp_samples: Vec<ExpectedSample>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSample {
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub value: Option<f64>,
    /// A native histogram in the test notation; native histograms are not supported yet,
    /// so a test that expects one fails with a message saying so.
    #[serde(default)]
    pub histogram: Option<String>,
}

/// Parses a test file; `lenient` accepts unknown fields (`--ignore-unknown-fields`).
pub(super) fn parse(text: &str, lenient: bool) -> Result<TestFile, String> {
    if lenient {
        let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        strip_unknown(&mut value);
        // Back through text, so numbers read into string fields as they do from a file.
        let text = serde_norway::to_string(&value).map_err(|e| e.to_string())?;
        return serde_norway::from_str(&text).map_err(|e| e.to_string());
    }
    serde_norway::from_str(text).map_err(|e| e.to_string())
}

/// Drops fields the format does not know, at every level it defines.
fn strip_unknown(value: &mut serde_norway::Value) {
    const FILE: &[&str] =
        &["rule_files", "evaluation_interval", "group_eval_order", "fuzzy_compare", "tests"];
    const GROUP: &[&str] = &[
        "name",
        "interval",
        "input_series",
        "alert_rule_test",
        "promql_expr_test",
        "external_labels",
        "external_url",
        "start_timestamp",
    ];
    let keep = |map: &mut serde_norway::Mapping, known: &[&str]| {
        map.retain(|k, _| k.as_str().is_some_and(|k| known.contains(&k)));
    };
    if let Some(map) = value.as_mapping_mut() {
        keep(map, FILE);
        if let Some(tests) = map.get_mut("tests").and_then(|t| t.as_sequence_mut()) {
            for group in tests.iter_mut().filter_map(|g| g.as_mapping_mut()) {
                keep(group, GROUP);
            }
        }
    }
}
