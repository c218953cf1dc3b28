//! `strata cluster cleanup`: asks every member to hand over the series it no longer owns
//! and delete its copies (`strata_cluster::cleanup`) — after a join, the old holders of the
//! joiner's share free their disk. With `--wait`, until every member has done it, printing
//! progress. Every member must be active.

use std::time::{Duration, Instant};

use serde::Serialize;
use strata_cluster::membership::read_view;

use super::admin::EtcdArgs;
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct CleanupArgs {
    #[command(flatten)]
    etcd: EtcdArgs,
    /// Wait until every member has cleaned up, printing progress (on stderr) meanwhile.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this long (seconds).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct MemberCleanup {
    id: String,
    /// Series it handed over and deleted (known once done; with `--wait`).
    series_moved: Option<u64>,
    done: bool,
}

#[derive(Serialize)]
struct CleanupReport {
    members: Vec<MemberCleanup>,
}

pub(super) fn run(args: CleanupArgs) -> anyhow::Result<()> {
    let etcd = args.etcd.client()?;
    let members = read_view(&etcd, &args.etcd.prefix)?.members();
    strata_cluster::cleanup::all_active(&members).map_err(anyhow::Error::msg)?;
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let status = |addr: &str| super::repair::fetch_repair(&agent, addr);
    let mut before = Vec::new();
    for m in &members {
        let repair = status(&m.addr)?;
        before.push((
            repair["cleanups"].as_u64().unwrap_or(0),
            repair["seriesMovedTotal"].as_u64().unwrap_or(0),
        ));
        match agent.post(&format!("http://{}/cluster/v1/cleanup", m.addr)).call() {
            Ok(_) => {}
            Err(ureq::Error::Status(code, answer)) => {
                anyhow::bail!(
                    "{} refused the cleanup ({code}): {}",
                    m.id,
                    answer.into_string().unwrap_or_default()
                )
            }
            Err(e) => anyhow::bail!("{} did not answer: {e}", m.id),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last_printed = None;
    loop {
        let mut report = CleanupReport { members: Vec::new() };
        for (m, (cleanups, moved)) in members.iter().zip(&before) {
            let repair = status(&m.addr)?;
            if let Some(error) = repair["lastError"].as_str().filter(|e| e.starts_with("cleanup")) {
                anyhow::bail!("{}: {error}", m.id);
            }
            let done = repair["cleanups"].as_u64().unwrap_or(0) > *cleanups;
            let series_moved = done.then(|| repair["seriesMovedTotal"].as_u64().unwrap_or(0) - moved);
            report.members.push(MemberCleanup { id: m.id.0.clone(), series_moved, done });
        }
        let finished = report.members.iter().filter(|m| m.done).count();
        if !args.wait || finished == report.members.len() {
            return report::print(&report, args.json);
        }
        anyhow::ensure!(Instant::now() < deadline, "cleanup still running after {} s", args.timeout);
        let percent = 100 * finished / report.members.len().max(1);
        if !args.json && last_printed != Some(percent) {
            eprintln!("Progress: {percent}%… ({finished} of {} members done)", report.members.len());
            last_printed = Some(percent);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

impl Report for CleanupReport {
    fn text(&self) -> String {
        let mut out = String::from("id            done   series moved\n");
        for m in &self.members {
            let moved = m.series_moved.map_or_else(|| "-".to_string(), |n| n.to_string());
            out.push_str(&format!(
                "{:<13} {:<6} {:>12}\n",
                m.id,
                if m.done { "yes" } else { "asked" },
                moved
            ));
        }
        out
    }
}
