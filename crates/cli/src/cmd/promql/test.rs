//! `strata promql test PATH… [--json] [--failures]`: plays Prometheus' `.test` scripts
//! against the engine with the settings the scripts assume (delayed name removal,
//! experimental functions on) and reports every eval: a line per file and the totals, or
//! with `--json` one object `{passed, failed, skipped, evals: [{file, line, status,
//! reason}]}`. Exits 1 when an eval failed or a script did not read.

use std::path::PathBuf;

use serde::Serialize;
use strata_promql::runner::{run_script, EvalStatus};
use strata_promql::{EngineOptions, QueryEngine};

use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// `.test` files, or directories holding them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// List each failed eval under its file (text report).
    #[arg(long)]
    failures: bool,
}

#[derive(Debug, Serialize)]
struct EvalRow {
    file: String,
    line: usize,
    status: &'static str,
    reason: String,
}

#[derive(Debug, Serialize)]
struct FileRow {
    file: String,
    passed: usize,
    failed: usize,
    skipped: usize,
    /// Set when the script itself does not read.
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct TestReport {
    passed: usize,
    failed: usize,
    skipped: usize,
    files: Vec<FileRow>,
    evals: Vec<EvalRow>,
    #[serde(skip)]
    list_failures: bool,
}

impl Report for TestReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            match &f.error {
                Some(e) => s.push_str(&format!("{}: does not read: {e}\n", f.file)),
                None => s.push_str(&format!(
                    "{}: {} passed, {} failed, {} skipped\n",
                    f.file, f.passed, f.failed, f.skipped
                )),
            }
            if self.list_failures {
                for e in self.evals.iter().filter(|e| e.file == f.file && e.status == "failed") {
                    s.push_str(&format!("  line {}: {}\n", e.line, e.reason));
                }
            }
        }
        s.push_str(&format!("{} passed, {} failed, {} skipped\n", self.passed, self.failed, self.skipped));
        s
    }
}

pub(crate) fn run(args: TestArgs) -> anyhow::Result<std::process::ExitCode> {
    let engine = QueryEngine::new(EngineOptions::conformance());
    let mut report = TestReport {
        passed: 0,
        failed: 0,
        skipped: 0,
        files: Vec::new(),
        evals: Vec::new(),
        list_failures: args.failures,
    };
    let mut unreadable = false;
    for path in strata_promql::runner::script_files(&args.paths)? {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let mut row = FileRow { file: file.clone(), passed: 0, failed: 0, skipped: 0, error: None };
        match run_script(&text, &engine) {
            Err(e) => {
                unreadable = true;
                row.error = Some(e.to_string());
            }
            Ok(outcomes) => {
                for o in outcomes {
                    match o.status {
                        EvalStatus::Passed => row.passed += 1,
                        EvalStatus::Failed => row.failed += 1,
                        EvalStatus::Skipped => row.skipped += 1,
                    }
                    report.evals.push(EvalRow {
                        file: file.clone(),
                        line: o.line,
                        status: o.status.as_str(),
                        reason: o.reason,
                    });
                }
            }
        }
        report.passed += row.passed;
        report.failed += row.failed;
        report.skipped += row.skipped;
        report.files.push(row);
    }
    report::print(&report, args.json)?;
    Ok(if report.failed > 0 || unreadable {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}
