//! Reading what `promtool tsdb dump` prints, to compare it with what was written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use strata_model::Labels;

/// Prometheus' NaN: the bits its parser and its dump give every NaN.
pub const PROM_NAN: u64 = 0x7ff8_0000_0000_0001;

/// The bits a value has once Prometheus stored it (every NaN becomes [`PROM_NAN`]; its
/// stale marker too, so tests that need it apart check it first).
pub fn value_bits(v: f64) -> u64 {
    if v.is_nan() {
        PROM_NAN
    } else {
        v.to_bits()
    }
}

/// Labels as promtool prints them: `{a="x", b="y"}`.
pub fn promtool_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|l| format!("{}=\"{}\"", l.name, l.value)).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Every sample `promtool tsdb dump DIR` prints, keyed by (labels as printed, timestamp),
/// with its value's bits. Panics if promtool fails or prints a sample twice.
pub fn promtool_dump(promtool: &Path, dir: &Path) -> BTreeMap<(String, i64), u64> {
    let dump = Command::new(promtool).args(["tsdb", "dump"]).arg(dir).output().expect("promtool runs");
    assert!(dump.status.success(), "promtool tsdb dump failed: {}", String::from_utf8_lossy(&dump.stderr));
    let mut dumped = BTreeMap::new();
    for line in String::from_utf8_lossy(&dump.stdout).lines() {
        let (rest, t) = line.rsplit_once(' ').expect("`labels value ts`");
        let (labels, v) = rest.rsplit_once(' ').expect("`labels value ts`");
        let v: f64 = v.parse().expect("a float");
        let previous = dumped.insert((labels.to_string(), t.parse().expect("a timestamp")), value_bits(v));
        assert!(previous.is_none(), "sample dumped twice: {line}");
    }
    dumped
}
