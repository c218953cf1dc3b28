//! `strata cardinality report|forecast --url URL`: a running server's cardinality report
//! (`/api/v1/cardinality`): total series and growth, top contributors with their share,
//! labels with many values (WARNING/CRITICAL with advice), the limits, and — `forecast
//! --days N` — the series count N days ahead with its method and interval. `--json` prints
//! the report as one JSON object.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use strata_cardinality::report::{text, Report};

use crate::http;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum CardinalityCommand {
    /// The cardinality report.
    Report(ReportArgs),
    /// The report with the series count N days ahead.
    Forecast(ForecastArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The server: http://host:port.
    #[arg(long)]
    url: String,
    /// Contributors listed (and whose labels are checked).
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ForecastArgs {
    #[command(flatten)]
    report: ReportArgs,
    /// Days ahead.
    #[arg(long, default_value_t = 30)]
    days: u32,
}

pub(crate) fn run(command: CardinalityCommand) -> anyhow::Result<ExitCode> {
    let (args, days) = match command {
        CardinalityCommand::Report(args) => (args, 0),
        CardinalityCommand::Forecast(f) => (f.report, f.days.max(1)),
    };
    let addr = http::host_port(&args.url)?;
    let path = format!("/api/v1/cardinality?topN={}&days={days}", args.top.max(1));
    let (status, body) = http::get(&addr, &path, Duration::from_secs(120))?;
    if status != 200 {
        bail!("{} answered {status}: {body}", args.url);
    }
    let answer: serde_json::Value = serde_json::from_str(&body).context("the answer is not JSON")?;
    let report: Report =
        serde_json::from_value(answer["data"].clone()).context("the answer is not a cardinality report")?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text(&report));
        if days > 0 && report.forecast.is_none() {
            println!("\nForecast: not enough history yet (three hourly points are needed)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
