//! Every script of Prometheus' PromQL conformance corpus reads, and the reader agrees with
//! the corpus' own counts (../shared/conformance/promql/README.md) and its eval index
//! (eval-index.tsv: the file and line of every eval). Needs `STRATA_PROMQL_CONFORMANCE`
//! (`.ci/run` points it at ../shared/conformance/promql/); skipped loudly without it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use strata_promql::runner::{run_script, script_files, EvalStatus};
use strata_promql::testscript::{load_into, parse_script, Command, EvalKind, Item, MessageMatch};
use strata_promql::{EngineOptions, MemoryQueryable, QueryBounds, QueryEngine};

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("STRATA_PROMQL_CONFORMANCE") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("SKIPPED: STRATA_PROMQL_CONFORMANCE is not set; the conformance scripts were not read");
            None
        }
    }
}

#[test]
fn every_script_reads_and_the_counts_match_the_corpus() {
    let Some(dir) = corpus() else { return };
    let files = script_files(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(files.len(), 21);
    let (mut instant, mut range, mut loads, mut nhcb, mut clears, mut fails) = (0, 0, 0, 0, 0, 0);
    let (mut ordered, mut range_vectors, mut strings, mut scalars) = (0, 0, 0, 0);
    let mut found = BTreeSet::new();
    let (mut floats, mut histograms) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let commands = parse_script(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut store = MemoryQueryable::new();
        for c in commands {
            match c {
                Command::Load { with_nhcb, interval, series, .. } => {
                    loads += 1;
                    nhcb += usize::from(with_nhcb);
                    let loaded = load_into(&mut store, &series, interval);
                    let items = series.iter().flat_map(|s| &s.items).filter(|i| **i != Item::Empty).count();
                    assert_eq!(loaded.samples + loaded.histograms, items, "{name}: every item loaded");
                    floats += loaded.samples;
                    histograms += loaded.histograms;
                }
                Command::Clear { .. } => {
                    clears += 1;
                    store.clear();
                }
                Command::Eval(e) => {
                    match e.kind {
                        EvalKind::Instant { .. } => instant += 1,
                        EvalKind::Range { .. } => range += 1,
                    }
                    fails += usize::from(e.expect.fail.is_some());
                    ordered += usize::from(e.expect.ordered);
                    range_vectors += usize::from(e.expect.range_vector.is_some());
                    strings += usize::from(e.expect.string.is_some());
                    scalars += usize::from(e.expect.scalar.is_some());
                    found.insert((name.clone(), e.line));
                }
            }
        }
    }
    assert_eq!((instant, range), (1885, 329), "evals");
    assert_eq!((loads, nhcb, clears), (310, 33, 231), "loads and clears");
    assert_eq!(fails, 35, "evals expecting failure");
    assert_eq!((ordered, range_vectors, strings, scalars), (24, 5, 5, 54));
    eprintln!("loaded {floats} float samples and {histograms} native histogram samples (left out for now)");
    assert!(floats > 50_000 && histograms > 1_000, "{floats} floats, {histograms} histograms");

    let index = std::fs::read_to_string(dir.join("eval-index.tsv")).unwrap();
    let indexed: BTreeSet<(String, usize)> = index
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap().to_string(), f.next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(found, indexed, "every eval is where the index says");
}

#[test]
fn failure_expectations_keep_their_messages() {
    let Some(dir) = corpus() else { return };
    let text = std::fs::read_to_string(dir.join("functions.test")).unwrap();
    let exact = parse_script(&text)
        .unwrap()
        .into_iter()
        .filter_map(|c| match c {
            Command::Eval(e) => e.expect.fail,
            _ => None,
        })
        .filter(|m| matches!(m, MessageMatch::Exact(_)))
        .count();
    assert!(exact > 0, "functions.test has `expect fail msg:` lines");
}

#[test]
fn the_parser_reads_every_eval_expression_outside_experimental_features() {
    let Some(dir) = corpus() else { return };
    let index = std::fs::read_to_string(dir.join("eval-index.tsv")).unwrap();
    let engine = QueryEngine::new(EngineOptions::conformance());
    let flagged = |column: usize, flagged: fn(&str) -> bool| -> BTreeSet<(String, usize)> {
        index
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                flagged(f[column]).then(|| (f[0].to_string(), f[1].parse().unwrap()))
            })
            .collect()
    };
    let experimental = flagged(5, |v| v != "-");
    let native = flagged(4, |v| v == "1");
    let (mut parsed, mut failed_plain, mut failed_experimental, mut failed_native) = (0, Vec::new(), 0, 0);
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".test") {
            continue;
        }
        for c in parse_script(&std::fs::read_to_string(entry.path()).unwrap()).unwrap() {
            let Command::Eval(e) = c else { continue };
            // As the engine reads it: the parser after the text-level steps (duration
            // arithmetic, the anchored/smoothed modifiers).
            match engine.parse(&e.expr, QueryBounds::default()) {
                Ok(_) => parsed += 1,
                Err(_) if experimental.contains(&(name.clone(), e.line)) => failed_experimental += 1,
                Err(_) if native.contains(&(name.clone(), e.line)) => failed_native += 1,
                Err(err) => failed_plain.push(format!("{name}:{}: {} — {err}", e.line, e.expr)),
            }
        }
    }
    eprintln!(
        "the parser reads {parsed} of 2214 eval expressions; fail: {failed_experimental} experimental, \
         {failed_native} native-histogram (the `</` and `>/` trim operators), {} others:\n{}",
        failed_plain.len(),
        failed_plain.join("\n")
    );
    // A floor, raised as the parser gap closes (never lowered).
    assert!(parsed >= PARSED_FLOOR, "{parsed} parsed, below the floor {PARSED_FLOOR}");
}

/// Eval expressions of the corpus that the engine reads today.
const PARSED_FLOOR: usize = 2214;

/// Every eval of the corpus, run by the engine with the harness' settings. Writes the
/// failures grouped by file to stderr and holds the number of passing evals — and of passing
/// evals that use neither native histograms nor experimental features — to floors.
#[test]
fn evals_pass_above_the_floor() {
    let Some(dir) = corpus() else { return };
    let index = std::fs::read_to_string(dir.join("eval-index.tsv")).unwrap();
    let plain: BTreeSet<(String, usize)> = index
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[4] == "0" && f[5] == "-").then(|| (f[0].to_string(), f[1].parse().unwrap()))
        })
        .collect();
    assert_eq!(plain.len(), 966);
    let engine = QueryEngine::new(EngineOptions::conformance());
    let (mut passed, mut failed, mut skipped, mut plain_passed) = (0, 0, 0, 0);
    let mut report = Vec::new();
    let files = script_files(std::slice::from_ref(&dir)).unwrap();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let outcomes = run_script(&std::fs::read_to_string(&file).unwrap(), &engine).unwrap();
        for o in outcomes {
            let is_plain = plain.contains(&(name.clone(), o.line));
            match o.status {
                EvalStatus::Passed => {
                    passed += 1;
                    plain_passed += usize::from(is_plain);
                }
                EvalStatus::Failed => {
                    failed += 1;
                    let mark = if is_plain { "PLAIN" } else { "exp" };
                    report.push(format!("{mark} {name}:{} {} — {}", o.line, o.expr, o.reason));
                }
                EvalStatus::Skipped => skipped += 1,
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    eprintln!(
        "corpus: {passed} passed, {failed} failed, {skipped} skipped; \
         {plain_passed} of 966 evals without native histograms or experimental features pass"
    );
    assert!(passed >= PASSED_FLOOR, "{passed} evals pass, below the floor {PASSED_FLOOR}");
    assert!(
        plain_passed >= PLAIN_PASSED_FLOOR,
        "{plain_passed} plain evals pass, below {PLAIN_PASSED_FLOOR}"
    );
}

/// Evals of the corpus that pass today (raised as the engine grows, never lowered).
const PASSED_FLOOR: usize = 2214;
/// Of those, evals without native histograms or experimental features.
const PLAIN_PASSED_FLOOR: usize = 966;
