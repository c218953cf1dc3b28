//! InfluxQL end to end inside the crate: points written as line protocol would write them
//! (labels with `db`, pairs in the catalog) into a real TSM engine, statements parsed and
//! executed, answers compared as InfluxDB 1.6 writes them. These run without ../shared; the
//! full corpus of InfluxDB's own tests runs in crates/cli/tests/influxql_conformance.rs.

use strata_influxql::namespace::{self, Store};
use strata_influxql::time::Epoch;
use strata_influxql::{execute, parse_query, write_results, Catalog, Request};
use strata_model::{Labels, METRIC_NAME_LABEL};
use strata_storage::Engine;
use strata_tsm::{TsmEngine, TsmOptions};

struct Db {
    engine: TsmEngine,
    catalog: Catalog,
    _dir: tempfile::TempDir,
}

const S: i64 = 1_000_000_000;
/// 2000-01-01T00:00:00Z in ns.
const T0: i64 = 946_684_800 * S;

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let engine = TsmEngine::open(&dir.path().join("tsm"), TsmOptions::default()).unwrap();
        Db { engine, catalog: Catalog::in_memory(), _dir: dir }
    }

    /// Writes `measurement,tags field=value` at `t_ns` into database `db0`.
    fn write(&self, measurement: &str, tags: &[(&str, &str)], field: &str, value: f64, t_ns: i64) {
        let target = namespace::write_target(&self.catalog, "db0", None).unwrap();
        let metric =
            if field == "value" { measurement.to_string() } else { format!("{measurement}_{field}") };
        let pairs = std::iter::once((METRIC_NAME_LABEL.to_string(), metric))
            .chain(tags.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut labels = Labels::from_pairs(pairs).unwrap();
        namespace::label_new_series(&self.catalog, &target, measurement, &mut labels, "float").unwrap();
        self.engine.append(&[(labels, t_ns / 1_000_000, value)]).unwrap();
    }

    /// The answer to `q` on `db0` at `now`, as InfluxDB's JSON.
    fn query_at(&self, q: &str, now: i64, epoch: Epoch) -> String {
        let statements = parse_query(q, &Default::default()).unwrap();
        let store = Store {
            engine: &self.engine,
            catalog: &self.catalog,
            prometheus_database: "prometheus",
            stats: None,
        };
        let request = Request::new(Some("db0"), None, now);
        write_results(&execute(&store, &statements, request), epoch)
    }

    /// The answer to `q` on `db0`, times in seconds.
    fn query(&self, q: &str) -> String {
        self.query_at(q, T0 + 3600 * S, Epoch::Unit(S))
    }
}

/// cpu,host=a|b value at T0 + 0..6 s: a = 1..6, b = 10, 20, … 60.
fn cpu() -> Db {
    let db = Db::new();
    for i in 0..6i64 {
        db.write("cpu", &[("host", "a")], "value", (i + 1) as f64, T0 + i * S);
        db.write("cpu", &[("host", "b")], "value", ((i + 1) * 10) as f64, T0 + i * S);
    }
    db
}

fn series(name: &str, tags: &str, columns: &str, values: &str) -> String {
    let tags = if tags.is_empty() { String::new() } else { format!(",\"tags\":{{{tags}}}") };
    format!("{{\"name\":\"{name}\"{tags},\"columns\":[{columns}],\"values\":[{values}]}}")
}

fn one(series: &str) -> String {
    format!("{{\"results\":[{{\"statement_id\":0,\"series\":[{series}]}}]}}")
}

#[test]
fn aggregates_by_time_and_tag_with_fill() {
    let db = cpu();
    let got = db.query(&format!(
        "SELECT sum(value) FROM cpu WHERE time >= {T0} AND time < {} GROUP BY time(2s), host fill(0)",
        T0 + 8 * S
    ));
    let a = series(
        "cpu",
        "\"host\":\"a\"",
        "\"time\",\"sum\"",
        "[946684800,3],[946684802,7],[946684804,11],[946684806,0]",
    );
    let b = series(
        "cpu",
        "\"host\":\"b\"",
        "\"time\",\"sum\"",
        "[946684800,30],[946684802,70],[946684804,110],[946684806,0]",
    );
    assert_eq!(got, format!("{{\"results\":[{{\"statement_id\":0,\"series\":[{a},{b}]}}]}}"));
}

#[test]
fn a_derivative_over_windows_reads_one_window_before_the_range() {
    let db = cpu();
    let got = db.query(&format!(
        "SELECT derivative(mean(value), 1s) FROM cpu WHERE host = 'a' AND time >= {} AND time < {} GROUP BY time(2s)",
        T0 + 2 * S,
        T0 + 6 * S
    ));
    // Windows 0s (1.5), 2s (3.5), 4s (5.5): the first row, at 2s, needs the window before.
    assert_eq!(got, one(&series("cpu", "", "\"time\",\"derivative\"", "[946684802,1],[946684804,1]")));
}

#[test]
fn top_with_a_tag_argument_takes_the_best_point_of_each_tag_value() {
    let db = cpu();
    let got = db.query("SELECT top(value, host, 2) FROM cpu");
    let rows = "[946684805,60,\"b\"],[946684805,6,\"a\"]";
    assert_eq!(got, one(&series("cpu", "", "\"time\",\"top\",\"host\"", rows)));
}

#[test]
fn a_subquery_feeds_the_outer_query() {
    let db = cpu();
    let got = db.query(&format!(
        "SELECT max(m) FROM (SELECT mean(value) AS m FROM cpu GROUP BY host) WHERE time >= {T0} AND time < {}",
        T0 + 6 * S
    ));
    assert_eq!(got, one(&series("cpu", "", "\"time\",\"max\"", "[946684800,35]")));
}

#[test]
fn select_into_writes_rows_back_as_points() {
    let db = cpu();
    let written = db.query(&format!(
        "SELECT max(value) AS peak INTO cpu_peaks FROM cpu WHERE time >= {T0} AND time < {} GROUP BY time(3s), host",
        T0 + 6 * S
    ));
    assert_eq!(written, one(&series("result", "", "\"time\",\"written\"", "[0,4]")));
    let got = db.query("SELECT peak FROM cpu_peaks WHERE host = 'b'");
    assert_eq!(got, one(&series("cpu_peaks", "", "\"time\",\"peak\"", "[946684800,30],[946684803,60]")));
}

#[test]
fn show_statements_list_what_line_protocol_wrote() {
    let db = cpu();
    db.write("mem", &[("host", "a")], "free", 5.0, T0);
    assert_eq!(
        db.query("SHOW MEASUREMENTS"),
        one("{\"name\":\"measurements\",\"columns\":[\"name\"],\"values\":[[\"cpu\"],[\"mem\"]]}")
    );
    assert_eq!(
        db.query("SHOW FIELD KEYS FROM mem"),
        one("{\"name\":\"mem\",\"columns\":[\"fieldKey\",\"fieldType\"],\"values\":[[\"free\",\"float\"]]}")
    );
    assert_eq!(
        db.query("SHOW TAG VALUES CARDINALITY FROM cpu WITH KEY = host"),
        one("{\"name\":\"cpu\",\"columns\":[\"count\"],\"values\":[[2]]}")
    );
}

#[test]
fn a_zone_moves_the_windows_and_the_printed_times() {
    let db = Db::new();
    // Hourly points over the day Los Angeles moved to summer time (2000-04-02).
    let start = 954_662_400 * S; // 2000-04-02T08:00:00Z, midnight in Los Angeles
    for h in 0..30 {
        db.write("cpu", &[], "value", 1.0, start + h * 3600 * S);
    }
    let got = db.query_at(
        "SELECT count(value) FROM cpu WHERE time >= '2000-04-02T00:00:00-08:00' \
         AND time < '2000-04-03T00:00:00-07:00' GROUP BY time(1d) TZ('America/Los_Angeles')",
        start + 100 * 3600 * S,
        Epoch::Rfc3339,
    );
    assert_eq!(got, one(&series("cpu", "", "\"time\",\"count\"", "[\"2000-04-02T00:00:00-08:00\",23]")));
}

#[test]
fn bad_statements_are_errors_that_say_what_is_wrong() {
    let db = cpu();
    assert_eq!(
        db.query("SELECT top(value, 3) FROM cpu LIMIT 2"),
        "{\"results\":[{\"statement_id\":0,\"error\":\"limit (3) in top function can not be larger than the LIMIT (2) in the select statement\"}]}"
    );
    let many = db.query(&format!("SELECT mean(value) FROM cpu WHERE time >= {T0} GROUP BY time(1ns)"));
    assert!(many.contains("above the limit"), "{many}");
    let zone = db.query("SELECT value FROM cpu TZ('Nowhere/Else')");
    assert!(zone.contains("unable to find time zone Nowhere/Else"), "{zone}");
    let err = parse_query("SELECT FROM", &Default::default()).unwrap_err().to_string();
    assert!(err.contains("at line 1"), "{err}");
}

#[test]
fn a_select_reading_more_points_than_allowed_is_refused_by_name() {
    let db = cpu();
    let statements = parse_query("SELECT mean(value) FROM cpu", &Default::default()).unwrap();
    let store =
        Store { engine: &db.engine, catalog: &db.catalog, prometheus_database: "prometheus", stats: None };
    let limited = Request { max_points: 11, ..Request::new(Some("db0"), None, T0 + 3600 * S) };
    let got = write_results(&execute(&store, &statements, limited), Epoch::Unit(S));
    assert!(got.contains("reads more than 11 points (the server's --query-max-samples)"), "{got}");
    let enough = Request { max_points: 12, ..limited };
    let got = write_results(&execute(&store, &statements, enough), Epoch::Unit(S));
    assert_eq!(got, one(&series("cpu", "", "\"time\",\"mean\"", "[0,19.25]")));
    let late = Request { deadline: Some(std::time::Instant::now()), ..enough };
    let got = write_results(&execute(&store, &statements, late), Epoch::Unit(S));
    assert!(got.contains("query timeout"), "{got}");
}

#[test]
fn extreme_time_bounds_are_errors_or_answers_never_panics() {
    let db = cpu();
    for (lo, hi) in [(i64::MIN + 1, i64::MAX - 1), (-9_223_372_036_854_775_806, 0), (0, i64::MAX - 1)] {
        for group in ["GROUP BY time(1s)", "GROUP BY time(1h, -30m)", "GROUP BY time(1d) TZ('Asia/Kolkata')"]
        {
            let q = format!("SELECT count(value) FROM cpu WHERE time >= {lo} AND time <= {hi} {group}");
            let got = db.query(&q);
            // Too many windows where there is data; nothing where there is none.
            let empty = got == "{\"results\":[{\"statement_id\":0}]}";
            assert!(got.contains("above the limit") || got.contains("more than") || empty, "{q}: {got}");
        }
        let raw = db.query(&format!("SELECT value FROM cpu WHERE time >= {lo} AND time <= {hi} LIMIT 1"));
        assert!(raw.contains("\"values\"") || raw == "{\"results\":[{\"statement_id\":0}]}", "{raw}");
    }
}

#[test]
fn the_deepest_queries_the_parser_accepts_evaluate() {
    let db = cpu();
    let chain = vec!["value"; 250].join(" + ");
    let got = db.query(&format!("SELECT {chain} FROM cpu WHERE host = 'a' LIMIT 1"));
    assert!(got.contains("[946684800,250]"), "{got}");
    let depth = 60;
    let inner = format!(
        "{}SELECT value FROM cpu WHERE host = 'a'{}",
        "SELECT value FROM (".repeat(depth),
        ")".repeat(depth)
    );
    let got = db.query(&format!("SELECT max(value) FROM ({inner})"));
    assert!(got.contains("[0,6]") || got.contains(",6]"), "{got}");
}

const FIELDS: &[&str] = &[
    "*",
    "value",
    "host",
    "value * 2",
    "mean(value)",
    "top(value, 2)",
    "top(value, host, 1)",
    "bottom(value, 1)",
    "derivative(mean(value), 1s)",
    "derivative(value)",
    "moving_average(max(value), 3)",
    "percentile(value, 50)",
    "sample(value, 2)",
    "distinct(value)",
    "count(distinct(value))",
    "difference(value)",
    "elapsed(value, 1s)",
    "cumulative_sum(sum(value))",
    "abs(value)",
    "max(value), host",
    "first(value) + last(value)",
    "non_negative_derivative(max(value), 1s) / last(value)",
    "integral(value)",
    "spread(value)",
    "mode(value)",
];

const TAILS: &[&str] = &[
    "WHERE",
    "GROUP BY",
    "time(1s)",
    "time(2s, 1s)",
    "host",
    "*",
    ",",
    "AND",
    "OR",
    "time > 0",
    "time < now()",
    "time >= '2000-01-01T00:00:02Z'",
    "host = 'a'",
    "host =~ /a|b/",
    "value > 3",
    "fill(0)",
    "fill(previous)",
    "fill(linear)",
    "fill(none)",
    "ORDER BY time DESC",
    "LIMIT 2",
    "OFFSET 1",
    "SLIMIT 1",
    "TZ('Europe/Paris')",
    "(",
    ")",
    "value",
    "2",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// Whatever SELECT these pieces make, executing it answers (a result or a statement
    /// error); it never panics. Also through a subquery and SELECT INTO.
    #[test]
    fn any_statement_that_parses_executes_without_panicking(
        fields in proptest::collection::vec(proptest::sample::select(FIELDS), 1..3),
        tail in proptest::collection::vec(proptest::sample::select(TAILS), 0..8),
        shape in 0..3u8,
    ) {
        let (fields, tail) = (fields.join(", "), tail.join(" "));
        let text = match shape {
            0 => format!("SELECT {fields} FROM cpu {tail}"),
            1 => format!("SELECT {fields} FROM (SELECT * FROM cpu) {tail}"),
            _ => format!("SELECT {fields} INTO out FROM cpu {tail}"),
        };
        if parse_query(&text, &Default::default()).is_ok() {
            let got = shared_cpu().query(&text);
            proptest::prop_assert!(got.starts_with("{\"results\":["), "{}: {}", text, got);
        }
    }
}

/// One `cpu()` database for the property test's many cases.
fn shared_cpu() -> &'static Db {
    static DB: std::sync::OnceLock<Db> = std::sync::OnceLock::new();
    DB.get_or_init(cpu)
}
