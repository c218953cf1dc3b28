//! Templates against the outputs Go and Prometheus give (../shared/specs/alerting-notes.md,
//! sections 3.1–3.2; the compliance suite's expected strings).

use super::*;

fn expand_with(
    text: &str,
    labels: &[(&str, &str)],
    value: f64,
    query: Option<&QueryFn<'_>>,
) -> Result<String, String> {
    let template = Template::parse("__alert_Test", text)?;
    let data = TemplateData {
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        external_labels: [("cluster".to_string(), "prod".to_string())].into(),
        external_url: "http://strata.example:9090/prefix".into(),
        value,
    };
    template.expand(&data, &Env { query, external_url: &data.external_url, now: 1643114203.0 })
}

fn expand(text: &str) -> String {
    expand_with(text, &[("instance", "host:9100"), ("job", "node")], 1234567.0, None).unwrap()
}

#[test]
fn values_and_missing_labels_print_as_go() {
    assert_eq!(expand("{{ $value }}"), "1.234567e+06");
    assert_eq!(
        expand("{{ .Value }}|{{ 123456.0 }}|{{ 0.00001234 }}|{{ 1e21 }}"),
        "1.234567e+06|123456|1.234e-05|1e+21"
    );
    assert_eq!(expand("[{{ $labels.nope }}]"), "[]");
    assert_eq!(
        expand("{{ $labels.instance }} of {{ .Labels.job }} in {{ $externalLabels.cluster }}"),
        "host:9100 of node in prod"
    );
    assert_eq!(expand("{{ (args 1).arg3 }}"), "<no value>");
}

#[test]
fn compliance_suite_strings() {
    // prometheus/compliance alert_generator case_zero_for_and_small_for's expected outputs.
    let text = "{{ humanize 1048576 }} {{ humanize1024 1048576 }} {{ humanizeDuration 135.3563 }} {{ humanizePercentage 0.959 }} {{ humanizeTimestamp 1643114203 }}";
    assert_eq!(expand(text), "1.049M 1Mi 2m 15s 95.9% 2022-01-25 12:36:43 +0000 UTC");
    let text = r#"{{ title "this part" }} {{ toUpper "is" }} {{ toLower "TESTING" }} the strings. {{ stripPort "[::1]:80" }} {{ stripPort "127.0.0.1:9090" }}. {{ parseDuration "2h10m15s" }}. {{ reReplaceAll "(a)bc" "re${1}" "abc" }}placed text. {{ if match "^f" "foo" }}.{{ end }}"#;
    assert_eq!(expand(text), "This Part IS testing the strings. ::1 127.0.0.1. 7815. reaplaced text. .");
}

#[test]
fn control_flow_variables_and_defines() {
    assert_eq!(
        expand(r#"{{ $s := "" }}{{ if gt $value 1.0 }}{{ $s = "s" }}{{ end }}alert{{ $s }}"#),
        "alerts"
    );
    assert_eq!(
        expand(
            r#"{{ range $k, $e := args 3 4 5 }}{{ if eq $k "arg1" }}{{ continue }}{{ end }}{{ $e }},{{ end }}"#
        ),
        "3,5,"
    );
    assert_eq!(
        expand("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=host:9100;job=node;"
    );
    assert_eq!(expand("{{ with $labels.nope }}x{{ else }}empty{{ end }}"), "empty");
    assert_eq!(expand(r#"{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" "y" }}"#), "[y]");
    assert_eq!(expand("{{ if false }}a{{ else if true }}b{{ else }}c{{ end }}"), "b");
    assert_eq!(expand("a  {{- /* note */ -}}  b"), "ab");
    assert_eq!(expand(r#"{{ printf "%.2f" $value }} {{ $value | humanize }}"#), "1234567.00 1.235M");
    assert_eq!(
        expand(
            "{{ len $labels }} {{ index $labels \"job\" }} {{ and 1 0 }} {{ or 0 \"\" 2 }} {{ not true }}"
        ),
        "2 node 0 2 false"
    );
}

#[test]
fn query_results_pipe_through_first_and_value() {
    let query = |q: &str| -> Result<Vec<QuerySample>, String> {
        assert_eq!(q, "up");
        Ok(vec![
            QuerySample { labels: [("instance".to_string(), "b".to_string())].into(), value: 2.0 },
            QuerySample { labels: [("instance".to_string(), "a".to_string())].into(), value: 1.0 },
        ])
    };
    let out = expand_with(
        r#"{{ query "up" | first | value }} {{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}{{ with query "up" }}{{ . | first | label "instance" }}{{ end }}"#,
        &[],
        0.0,
        Some(&query),
    )
    .unwrap();
    assert_eq!(out, "2 a=1 b=2 b");
}

#[test]
fn errors_name_the_template_and_what_failed() {
    let e = Template::parse("__alert_X", "{{ $label.foo }}").unwrap_err();
    assert!(e.contains("__alert_X") && e.contains("undefined variable \"$label\""), "{e}");
    let e = Template::parse("__alert_X", "{{ nosuch 1 }}").unwrap_err();
    assert!(e.contains("function \"nosuch\" not defined"), "{e}");
    let none = |_: &str| -> Result<Vec<QuerySample>, String> { Ok(vec![]) };
    let e = expand_with(r#"{{ query "x" | first }}"#, &[], 0.0, Some(&none)).unwrap_err();
    assert!(e.contains("first() called on vector with no elements") && e.contains("__alert_Test"), "{e}");
    assert!(expand_with("{{ gt $value 1 }}", &[], 0.0, None).unwrap_err().contains("incompatible types"));
}
