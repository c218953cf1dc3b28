//! `strata promql`: the PromQL engine on its own.
//!
//! - `strata promql --dir D` is a REPL over a data dir (`repl`).
//! - `strata promql test PATH…` runs Prometheus' `.test` conformance scripts (`test`).

mod repl;
mod test;

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
