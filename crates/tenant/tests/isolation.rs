//! Tenant isolation over a real block engine, as a property: whatever series tenants write
//! (the same label sets too) and whatever matchers a tenant reads with — `__tenant__`
//! matchers of its own included — select, label names and label values answer exactly what
//! the tenant wrote that the matchers select, as a store holding only its series would (where
//! no series has a `__tenant__` label), and never show the tenant label.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use strata_model::{Labels, MatchOp, Matcher};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_tenant::{TenantEngine, TenantId, TENANT_LABEL};

const TENANTS: [&str; 3] = ["t1", "t2", "t3"];

/// A series: metric, job, optional instance.
fn labels_strategy() -> impl Strategy<Value = Labels> {
    (prop::sample::select(vec!["up", "cpu", "mem"]), prop::sample::select(vec!["api", "db"]), 0u8..3)
        .prop_map(|(name, job, inst)| {
            let mut pairs = vec![("__name__", name.to_string()), ("job", job.to_string())];
            if inst > 0 {
                pairs.push(("instance", format!("i{inst}")));
            }
            Labels::from_pairs(pairs).unwrap()
        })
}

fn matcher_strategy() -> impl Strategy<Value = Matcher> {
    let name = prop::sample::select(vec!["__name__", "job", "instance", TENANT_LABEL]);
    let value =
        prop::sample::select(vec!["up", "cpu", "api", "db", "i1", "", "t1", "t2", ".+", "t.*", "c.*"]);
    let op = prop::sample::select(vec![
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::RegexMatch,
        MatchOp::RegexNoMatch,
    ]);
    (op, name, value).prop_map(|(op, n, v)| Matcher::new(op, n, v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_tenant_reads_exactly_its_own_series(
        writes in prop::collection::vec((0usize..3, labels_strategy(), 0i64..50), 1..60),
        reads in prop::collection::vec((0usize..3, prop::collection::vec(matcher_strategy(), 0..3)), 1..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = BlockEngine::open(dir.path(), BlockEngineOptions::default()).unwrap();
        // The oracle: per tenant, its series (tagged, as stored) and their samples.
        let mut stored: BTreeMap<usize, BTreeMap<Labels, BTreeMap<i64, f64>>> = BTreeMap::new();
        for (k, (tenant, labels, t)) in writes.iter().enumerate() {
            let view = TenantEngine::new(&engine, TenantId::parse(TENANTS[*tenant]).unwrap());
            let (t, v) = (1_000 * t, k as f64);
            let result = view.append(&[(labels.clone(), t, v)]).unwrap();
            if result.accepted == 1 {
                let mut tagged = labels.clone();
                tagged.set(TENANT_LABEL, TENANTS[*tenant]);
                stored.entry(*tenant).or_default().entry(tagged).or_default().entry(t).or_insert(v);
            }
        }
        for (tenant, matchers) in reads {
            let view = TenantEngine::new(&engine, TenantId::parse(TENANTS[tenant]).unwrap());
            let mine = stored.get(&tenant).cloned().unwrap_or_default();
            // The tenant's own store: its series without the label, the matchers on them.
            let selected: Vec<(Labels, BTreeMap<i64, f64>)> = mine
                .iter()
                .map(|(l, s)| {
                    let mut l = l.clone();
                    l.remove(TENANT_LABEL);
                    (l, s.clone())
                })
                .filter(|(l, _)| matchers.iter().all(|m| m.matches_labels(l)))
                .collect();
            let mut expected = selected.clone();
            expected.sort_by(|a, b| a.0.cmp(&b.0));

            let got: Vec<(Labels, BTreeMap<i64, f64>)> = view
                .select(&matchers, i64::MIN, i64::MAX)
                .unwrap()
                .into_iter()
                .map(|s| (s.labels().clone(), s.collect_samples().unwrap().into_iter().collect()))
                .collect();
            prop_assert_eq!(&got, &expected, "select {:?} for {}", matchers, TENANTS[tenant]);

            let names: BTreeSet<String> =
                expected.iter().flat_map(|(l, _)| l.iter().map(|l| l.name.clone())).collect();
            let got_names = view.label_names(&matchers, i64::MIN, i64::MAX).unwrap();
            prop_assert_eq!(got_names, names.into_iter().collect::<Vec<_>>());
            for name in ["job", "instance", TENANT_LABEL] {
                let values: BTreeSet<String> =
                    expected.iter().filter_map(|(l, _)| l.get(name).map(str::to_string)).collect();
                let got_values = view.label_values(name, &matchers, i64::MIN, i64::MAX).unwrap();
                prop_assert_eq!(got_values, values.into_iter().collect::<Vec<_>>(), "values of {}", name);
            }
        }
    }
}

#[test]
fn a_series_naming_the_tenant_label_is_refused_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(dir.path(), BlockEngineOptions::default()).unwrap();
    let view = TenantEngine::new(&engine, TenantId::parse("t1").unwrap());
    let good = Labels::from_pairs([("__name__", "up")]).unwrap();
    let sneaky = Labels::from_pairs([("__name__", "up"), (TENANT_LABEL, "t2")]).unwrap();
    let result = view.append(&[(good.clone(), 1, 1.0), (sneaky.clone(), 1, 2.0), (good, 2, 3.0)]).unwrap();
    assert_eq!(result.accepted, 2);
    assert_eq!(result.rejected.len(), 1);
    assert_eq!(result.rejected[0].index, 1);
    assert!(result.rejected[0].reason.contains("reserved"), "{}", result.rejected[0].reason);
    let other = TenantEngine::new(&engine, TenantId::parse("t2").unwrap());
    assert!(other.select(&[], i64::MIN, i64::MAX).unwrap().is_empty(), "nothing reached t2");
    let admitted = view.series_refs_admitted(&[sneaky]).unwrap();
    assert!(admitted[0].as_ref().is_err_and(|e| e.contains("reserved")));
}
