//! `strata cluster repair`: what re-replication is doing on each member (from its
//! `/api/v1/status/cluster`), and with `--wait`, progress lines until every member that
//! answers is idle — the ring's changes copied, every series back to its replicas.

use std::time::{Duration, Instant};

use serde::Serialize;
use strata_cluster::membership::read_view;
use strata_cluster::MemberState;

use super::admin::EtcdArgs;
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct RepairArgs {
    #[command(flatten)]
    etcd: EtcdArgs,
    /// Wait until every member is idle, printing progress (on stderr) meanwhile.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this long (seconds).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// One member's re-replication, as it reported it.
#[derive(Serialize)]
struct MemberRepair {
    id: String,
    addr: String,
    /// Its `repair` object, or `None` when it did not answer.
    repair: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct RepairReport {
    /// Series examined of all, over the members running a pass (1 when none does).
    progress: f64,
    /// Every member that answered is idle.
    done: bool,
    members: Vec<MemberRepair>,
}

pub(super) fn run(args: RepairArgs) -> anyhow::Result<()> {
    let etcd = args.etcd.client()?;
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(3)).build();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last_printed = None;
    loop {
        let view = read_view(&etcd, &args.etcd.prefix)?;
        let members = view
            .members()
            .into_iter()
            .filter(|m| m.state != MemberState::Failed)
            .map(|m| MemberRepair { repair: repair_of(&agent, &m.addr), id: m.id.0, addr: m.addr })
            .collect();
        let report = RepairReport::new(members);
        if !args.wait || report.done {
            return report::print(&report, args.json);
        }
        anyhow::ensure!(Instant::now() < deadline, "re-replication still running after {} s", args.timeout);
        let percent = (report.progress * 100.0).floor() as u32;
        if !args.json && last_printed != Some(percent) {
            eprintln!("Progress: {percent}%…");
            last_printed = Some(percent);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A member's `repair` status, if it answers.
pub(super) fn repair_of(agent: &ureq::Agent, addr: &str) -> Option<serde_json::Value> {
    fetch_repair(agent, addr).ok().filter(|r| !r.is_null())
}

/// A member's `repair` status from its `/api/v1/status/cluster`, or why it could not be read.
pub(super) fn fetch_repair(agent: &ureq::Agent, addr: &str) -> anyhow::Result<serde_json::Value> {
    let answer: serde_json::Value = serde_json::from_reader(
        agent.get(&format!("http://{addr}/api/v1/status/cluster")).call()?.into_reader(),
    )?;
    Ok(answer["data"]["repair"].clone())
}

impl RepairReport {
    fn new(members: Vec<MemberRepair>) -> RepairReport {
        let state =
            |m: &MemberRepair| m.repair.as_ref().and_then(|r| r["state"].as_str().map(str::to_string));
        let done = members.iter().all(|m| state(m).is_none_or(|s| s == "idle"));
        let (mut examined, mut series) = (0u64, 0u64);
        for m in members.iter().filter(|m| state(m).as_deref() == Some("running")) {
            let pass = &m.repair.as_ref().expect("running")["pass"];
            examined += pass["examined"].as_u64().unwrap_or(0);
            series += pass["series"].as_u64().unwrap_or(0);
        }
        let progress = if done {
            1.0
        } else if series == 0 {
            0.0
        } else {
            examined as f64 / series as f64
        };
        RepairReport { progress, done, members }
    }
}

impl Report for RepairReport {
    fn text(&self) -> String {
        let mut out =
            String::from("id            state      passes  series sent  samples sent  last error\n");
        for m in &self.members {
            let Some(r) = &m.repair else {
                out.push_str(&format!("{:<13} (did not answer)\n", m.id));
                continue;
            };
            out.push_str(&format!(
                "{:<13} {:<10} {:>6}  {:>11}  {:>12}  {}\n",
                m.id,
                r["state"].as_str().unwrap_or("?"),
                r["passes"].as_u64().unwrap_or(0),
                r["seriesSentTotal"].as_u64().unwrap_or(0),
                r["samplesSentTotal"].as_u64().unwrap_or(0),
                r["lastError"].as_str().unwrap_or("-"),
            ));
        }
        match self.done {
            true => out.push_str("re-replication: idle on every member that answered — Progress: 100%\n"),
            false => {
                out.push_str(&format!("re-replication: running — Progress: {:.0}%\n", self.progress * 100.0))
            }
        }
        out
    }
}
