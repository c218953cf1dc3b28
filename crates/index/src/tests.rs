//! The index against a brute-force oracle, on disk, under concurrency, and after deletion.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use roaring::RoaringBitmap;
use strata_model::{Labels, MatchOp, Matcher};

use crate::population::Population;
use crate::{IndexError, SeriesIndex, SeriesRef};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

/// What `select` must return: every live series the matchers accept, by direct test.
fn brute_force(index: &SeriesIndex, matchers: &[Matcher]) -> RoaringBitmap {
    index
        .all_series()
        .iter()
        .filter(|&r| {
            let l = index.labels(SeriesRef(r)).unwrap();
            matchers.iter().all(|m| m.matches_labels(&l))
        })
        .collect()
}

const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const VALUES: [&str; 6] = ["x", "y", "xy", "yx", "z1", "Z"];

fn arb_series() -> impl Strategy<Value = Vec<Labels>> {
    // Each name absent (empty value) or one of a few values; a small universe so matchers hit.
    let value = prop_oneof![Just(""), proptest::sample::select(&VALUES[..])];
    let set = proptest::collection::vec(value, NAMES.len())
        .prop_map(|vals| Labels::from_pairs(NAMES.iter().copied().zip(vals)).unwrap());
    proptest::collection::vec(set, 0..60)
}

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    let name = prop_oneof![proptest::sample::select(&NAMES[..]), Just("missing")];
    let literal = prop_oneof![Just(""), proptest::sample::select(&VALUES[..])];
    let pattern = prop_oneof![
        literal.clone().prop_map(str::to_string),
        Just("x|y".to_string()),
        Just("x|".to_string()),
        Just("x.*".to_string()),
        Just(".*".to_string()),
        Just(".+".to_string()),
        Just("^x$".to_string()),
        Just("^(x|y)".to_string()),
        Just("[xy]+".to_string()),
        Just("z\\d".to_string()),
        Just("(?i)z".to_string()),
        Just("y.*|Z".to_string()),
    ];
    let op = proptest::sample::select(
        &[MatchOp::Equal, MatchOp::NotEqual, MatchOp::RegexMatch, MatchOp::RegexNoMatch][..],
    );
    (op, name, literal, pattern).prop_map(|(op, name, literal, pattern)| match op {
        MatchOp::Equal | MatchOp::NotEqual => Matcher::new(op, name, literal).unwrap(),
        _ => Matcher::new(op, name, pattern).unwrap(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn select_equals_brute_force(series in arb_series(), matchers in proptest::collection::vec(arb_matcher(), 0..4), delete in proptest::collection::vec(any::<u8>(), 0..5)) {
        let index = SeriesIndex::new();
        for l in &series {
            index.get_or_create(l).unwrap();
        }
        let doomed: RoaringBitmap = delete.iter().map(|&d| u32::from(d) % 64).collect();
        index.delete(&doomed);
        prop_assert_eq!(index.select(&matchers), brute_force(&index, &matchers), "matchers {:?}", matchers.iter().map(ToString::to_string).collect::<Vec<_>>());
        // Label values restricted by the same matchers agree with the oracle too.
        let selected = brute_force(&index, &matchers);
        for name in NAMES {
            let want: BTreeSet<String> = selected.iter().filter_map(|r| index.labels(SeriesRef(r)).unwrap().get(name).map(str::to_string)).collect();
            let got: BTreeSet<String> = index.label_values(name, &matchers).into_iter().collect();
            prop_assert_eq!(&got, &want);
        }
    }
}

#[test]
fn prometheus_semantics_by_example() {
    let index = SeriesIndex::new();
    let with_a = index.get_or_create(&labels(&[("__name__", "up"), ("a", "x")])).unwrap();
    let other_a = index.get_or_create(&labels(&[("__name__", "up"), ("a", "y")])).unwrap();
    let without_a = index.get_or_create(&labels(&[("__name__", "up")])).unwrap();
    let set = |refs: &[SeriesRef]| refs.iter().map(|r| r.0).collect::<RoaringBitmap>();
    assert_eq!(index.select(&[m(MatchOp::Equal, "a", "")]), set(&[without_a]));
    assert_eq!(index.select(&[m(MatchOp::NotEqual, "a", "")]), set(&[with_a, other_a]));
    assert_eq!(
        index.select(&[m(MatchOp::NotEqual, "a", "x")]),
        set(&[other_a, without_a]),
        "negative-only works"
    );
    assert_eq!(index.select(&[m(MatchOp::RegexMatch, "a", "x|")]), set(&[with_a, without_a]));
    assert_eq!(
        index.select(&[m(MatchOp::RegexMatch, "a", "x.*"), m(MatchOp::Equal, "__name__", "up")]),
        set(&[with_a])
    );
    assert_eq!(index.select(&[m(MatchOp::RegexNoMatch, "a", "x|y")]), set(&[without_a]));
    assert_eq!(index.select(&[m(MatchOp::RegexMatch, "a", "")]), set(&[without_a]), "=~\"\" is like =\"\"");
    assert!(index.select(&[m(MatchOp::Equal, "nope", "1")]).is_empty());
    assert_eq!(index.select(&[]), set(&[with_a, other_a, without_a]));
}

#[test]
fn names_values_and_counts() {
    let index = SeriesIndex::new();
    for (job, n) in [("api", 3), ("db", 2)] {
        for i in 0..n {
            index.get_or_create(&labels(&[("job", job), ("i", &i.to_string())])).unwrap();
        }
    }
    assert_eq!(index.label_names(&[]), ["i", "job"]);
    assert_eq!(index.label_values("job", &[]), ["api", "db"]);
    assert_eq!(index.label_values("i", &[m(MatchOp::Equal, "job", "db")]), ["0", "1"]);
    assert_eq!(index.series_count("job", "api"), 3);
    let request = crate::CensusRequest { top_pairs: 1, budget: usize::MAX, ..Default::default() };
    let top = index.census(&request).unwrap().top_pairs;
    assert_eq!(top, [("job".to_string(), "api".to_string(), 3)]);
    assert_eq!(index.stats().series, 5);
}

#[test]
fn deletion_removes_from_postings_and_lookup() {
    let index = SeriesIndex::new();
    let a = index.get_or_create(&labels(&[("job", "a")])).unwrap();
    let b = index.get_or_create(&labels(&[("job", "b")])).unwrap();
    assert_eq!(index.delete(&[a.0].into_iter().collect()), 1);
    assert_eq!(index.delete(&[a.0].into_iter().collect()), 0, "already gone");
    assert_eq!(index.label_values("job", &[]), ["b"]);
    assert_eq!(index.get(&labels(&[("job", "a")])), None);
    assert!(index.labels(a).is_none());
    assert_eq!(index.labels_ever(a), Some(labels(&[("job", "a")])), "a deleted ref still names its labels");
    assert_eq!(index.labels_ever(SeriesRef(2)), None, "never handed out");
    let again = index.get_or_create(&labels(&[("job", "a")])).unwrap();
    assert_ne!(again, a, "refs are never reused");
    assert_eq!(index.select(&[]), [b.0, again.0].into_iter().collect());
}

#[test]
fn concurrent_get_or_create_agrees_on_refs() {
    let index = Arc::new(SeriesIndex::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                // Every thread creates the same 2,000 series, in a different order.
                let mut refs = Vec::new();
                for i in 0..2000u32 {
                    let k = (i * 7 + t * 131) % 2000;
                    let r = index.get_or_create(&labels(&[("k", &k.to_string()), ("job", "x")])).unwrap();
                    refs.push((k, r));
                }
                refs.sort();
                refs
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]), "every thread saw the same ref for each series");
    assert_eq!(index.stats().series, 2000);
    assert_eq!(index.series_count("job", "x"), 2000);
}

#[test]
fn persistence_round_trip_then_growth() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let index = SeriesIndex::new();
    let mut population = Population::new(9);
    for _ in 0..3000 {
        index.get_or_create(&population.next_labels()).unwrap();
    }
    let handed_out = index.stats().series as u32; // nothing deleted yet
    index.delete(&(0..handed_out).step_by(7).collect());
    let size = index.write_to(&path).unwrap();
    assert_eq!(size, std::fs::metadata(&path).unwrap().len());

    let loaded = SeriesIndex::open(&path).unwrap();
    assert_eq!(loaded.stats().series, index.stats().series);
    let queries = [
        vec![m(MatchOp::Equal, "env", "prod")],
        vec![m(MatchOp::RegexMatch, "status", "5.*"), m(MatchOp::NotEqual, "region", "region-0")],
        vec![m(MatchOp::Equal, "method", "")],
    ];
    for q in &queries {
        assert_eq!(loaded.select(q), index.select(q));
    }
    for r in index.all_series().iter().take(50).map(SeriesRef) {
        let l = index.labels(r).unwrap();
        assert_eq!(loaded.labels(r), Some(l.clone()));
        assert_eq!(loaded.get_or_create(&l).unwrap(), r, "existing series found after loading");
    }
    assert!(loaded.labels(SeriesRef(0)).is_none(), "deleted stays deleted");
    let fresh = labels(&[("job", "new-after-load")]);
    let r = loaded.get_or_create(&fresh).unwrap();
    assert_eq!(r.0, handed_out, "refs continue after the loaded ones");
    assert_eq!(loaded.select(&[m(MatchOp::Equal, "job", "new-after-load")]), [r.0].into_iter().collect());
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let index = SeriesIndex::new();
    for i in 0..20 {
        index.get_or_create(&labels(&[("job", "a"), ("i", &i.to_string())])).unwrap();
    }
    index.write_to(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad");
    for cut in 0..good.len() {
        std::fs::write(&bad, &good[..cut]).unwrap();
        assert!(matches!(SeriesIndex::open(&bad), Err(IndexError::Corrupt { .. })), "cut at {cut}");
    }
    for at in 0..good.len() {
        let mut flipped = good.clone();
        flipped[at] ^= 0x20;
        assert!(SeriesIndex::open(&bad.with_extension("x")).is_err());
        std::fs::write(&bad, &flipped).unwrap();
        let err = SeriesIndex::open(&bad).expect_err("a flipped byte is caught by the checksum");
        assert!(err.to_string().contains("corrupt index file"), "{err}");
    }
}

proptest! {
    /// `distinct_values` against reading every selected live series' labels.
    #[test]
    fn distinct_values_are_those_of_the_series_labels(
        series in arb_series(),
        deleted in proptest::collection::vec(any::<bool>(), 60),
        names in proptest::collection::vec(prop_oneof![proptest::sample::select(&NAMES[..]), Just("missing")], 1..4),
        matcher in arb_matcher(),
    ) {
        let index = SeriesIndex::new();
        for l in &series {
            index.get_or_create(l).unwrap();
        }
        let gone: RoaringBitmap = index.all_series().iter().filter(|r| deleted[*r as usize % 60]).collect();
        index.delete(&gone);
        let refs = index.select(std::slice::from_ref(&matcher));
        let got: BTreeSet<Vec<Option<String>>> = index.distinct_values(&refs, &names).into_iter().collect();
        let expected: BTreeSet<Vec<Option<String>>> = refs
            .iter()
            .filter_map(|r| index.labels(SeriesRef(r)))
            .map(|l| names.iter().map(|n| l.get(n).map(str::to_string)).collect())
            .collect();
        prop_assert_eq!(got.len(), index.distinct_values(&refs, &names).len(), "each tuple once");
        prop_assert_eq!(got, expected);
    }
}
