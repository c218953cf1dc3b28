//! `strata promql`: the PromQL engine on its own.
//!
//! - `strata promql --dir D` is a REPL over a data dir (`repl`).
//! - `strata promql test PATH…` runs Prometheus' `.test` conformance scripts (`test`).

mod repl;
mod test;

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<PromqlCommand>,
    #[command(flatten)]
    repl: repl::ReplArgs,
}

#[derive(Debug, clap::Subcommand)]
enum PromqlCommand {
    /// Run `.test` scripts (files or directories of them) and report each eval.
    Test(test::TestArgs),
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    match args.command {
        Some(PromqlCommand::Test(test)) => test::run(test),
        None => repl::run(args.repl),
    }
}

/// The `.test` files `paths` name: files as given, directories' `*.test` files in name order.
fn script_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "test"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(files)
}
