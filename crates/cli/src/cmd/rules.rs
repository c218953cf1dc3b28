//! `strata test rules` and `strata check rules`: promtool's rule unit tests and rule-file
//! checks, with its output and exit codes (0 passed, 1 failed, 3 lint problems with
//! `--lint-fatal`), so a Prometheus user's CI keeps working with `strata` in its place.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use strata_promql::EngineOptions;
use strata_rules::file::{load_file, ParseOptions, RuleFile};
use strata_rules::unit_test::{format_failures, run_file, TestOptions};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TestCommand {
    /// Run Prometheus rule unit-test files (promtool's format).
    Rules(TestArgs),
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum CheckCommand {
    /// Check rule files as `promtool check rules` does.
    Rules(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct Features {
    /// PromQL features rules may use, by Prometheus' names (`promql-experimental-functions`, …).
    #[arg(long = "enable-feature", value_name = "FEATURE")]
    enable_feature: Vec<String>,
    /// Accept fields the format does not know.
    #[arg(long)]
    ignore_unknown_fields: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// Only test groups whose name matches this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    run: Vec<String>,
    #[command(flatten)]
    features: Features,
    /// Test files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Exit with 3 when lint finds a problem (duplicate rules).
    #[arg(long)]
    lint_fatal: bool,
    #[command(flatten)]
    features: Features,
    /// Rule files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl Features {
    fn promql(&self) -> anyhow::Result<EngineOptions> {
        // Prometheus 3 parses duration arithmetic (`[1m * 2]`) in rule files by default.
        let mut options = EngineOptions { duration_expressions: true, ..EngineOptions::default() };
        for f in &self.enable_feature {
            for name in f.split(',') {
                if !options.enable_feature(name.trim()) {
                    eprintln!("warning: unknown feature {name:?} ignored");
                }
            }
        }
        Ok(options)
    }
}

pub(crate) fn run_test(command: TestCommand) -> anyhow::Result<ExitCode> {
    let TestCommand::Rules(args) = command;
    let mut run = Vec::new();
    for r in &args.run {
        run.push(regex::Regex::new(r).map_err(|e| anyhow::anyhow!("--run {r:?}: {e}"))?);
    }
    let options = TestOptions {
        run,
        ignore_unknown_fields: args.features.ignore_unknown_fields,
        promql: args.features.promql()?,
    };
    let mut all_passed = true;
    let mut reports = Vec::new();
    for file in &args.files {
        let outcome = run_file(file, &options);
        all_passed &= outcome.passed();
        if args.features.json {
            reports.push(TestReport {
                file: file.display().to_string(),
                passed: outcome.passed(),
                errors: outcome.errors.clone(),
                groups: outcome
                    .groups
                    .iter()
                    .map(|(name, failures)| GroupReport { name: name.clone(), failures: failures.clone() })
                    .collect(),
            });
        } else {
            println!("{}", format_failures(&file.display().to_string(), &outcome));
        }
    }
    if args.features.json {
        println!("{}", serde_json::to_string(&reports)?);
    }
    Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Serialize)]
struct TestReport {
    file: String,
    passed: bool,
    errors: Vec<String>,
    groups: Vec<GroupReport>,
}

#[derive(Serialize)]
struct GroupReport {
    name: String,
    failures: Vec<String>,
}

#[derive(Serialize)]
struct CheckReport {
    file: String,
    rules: usize,
    errors: Vec<String>,
    duplicates: Vec<String>,
}

pub(crate) fn run_check(command: CheckCommand) -> anyhow::Result<ExitCode> {
    let CheckCommand::Rules(args) = command;
    let options = ParseOptions {
        ignore_unknown_fields: args.features.ignore_unknown_fields,
        promql: args.features.promql()?,
    };
    let (mut failed, mut lint) = (false, false);
    let mut reports = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        let report = match load_file(file, &options) {
            Ok(rules) => {
                let duplicates = duplicates(&rules);
                lint |= !duplicates.is_empty();
                CheckReport {
                    file: name,
                    rules: rules.groups.iter().map(|g| g.rules.len()).sum(),
                    errors: vec![],
                    duplicates,
                }
            }
            Err(e) => {
                failed = true;
                CheckReport { file: name, rules: 0, errors: e.errors, duplicates: vec![] }
            }
        };
        if !args.features.json {
            print_check(&report);
        }
        reports.push(report);
    }
    if args.features.json {
        println!("{}", serde_json::to_string(&reports)?);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if lint && args.lint_fatal {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_check(report: &CheckReport) {
    println!("Checking {}", report.file);
    if !report.errors.is_empty() {
        eprintln!("  FAILED:");
        for e in &report.errors {
            eprintln!("{e}");
        }
        println!();
        return;
    }
    if !report.duplicates.is_empty() {
        println!("{} duplicate rule(s) found.", report.duplicates.len());
        for d in &report.duplicates {
            println!("{d}");
        }
        println!("Might cause inconsistency while recording expressions.");
    }
    println!("  SUCCESS: {} rules found\n", report.rules);
}

/// Rules that share a name and labels within a file (promtool's duplicate lint).
fn duplicates(file: &RuleFile) -> Vec<String> {
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::new();
    for group in &file.groups {
        for rule in &group.rules {
            let key = (rule.name.clone(), rule.labels.clone());
            let count = seen.entry(key).or_insert(0);
            *count += 1;
            if *count == 2 {
                let labels: Vec<String> = rule.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                out.push(format!("Metric: {}\nLabel(s):\n\t{}", rule.name, labels.join("\n\t")));
            }
        }
    }
    out
}
