//! `strata cluster status | drain | remove`: the ring as etcd holds it, read and changed
//! directly (no node needs to be up), plus each member's series count and re-replication
//! state from its own API.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use strata_cluster::membership::{read_view, remove_member, set_state, MemberReport, DEFAULT_PREFIX};
use strata_cluster::{Etcd, MemberState, NodeId};

use super::local::LocalCluster;
use crate::report::{self, Report};

/// Where the cluster's etcd is.
#[derive(Debug, clap::Args)]
pub(crate) struct EtcdArgs {
    /// etcd endpoints, comma-separated [default: the local cluster's under --dir].
    #[arg(long, env = "STRATA_CLUSTER_ETCD", value_delimiter = ',')]
    etcd: Option<Vec<String>>,
    /// The cluster's etcd key prefix.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    pub(super) prefix: String,
    /// A local cluster's dir (`strata cluster init --dir`).
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
}

impl EtcdArgs {
    pub(super) fn client(&self) -> anyhow::Result<Etcd> {
        let endpoints = match &self.etcd {
            Some(endpoints) => endpoints.clone(),
            None => vec![
                LocalCluster::load(&self.dir)
                    .context("give --etcd, or --dir of a cluster `strata cluster init` started")?
                    .etcd_url,
            ],
        };
        Ok(Etcd::new(&endpoints, Duration::from_secs(5)))
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    etcd: EtcdArgs,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct MemberArgs {
    /// The member's id.
    id: String,
    #[command(flatten)]
    etcd: EtcdArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct NodeStatus {
    #[serde(flatten)]
    member: MemberReport,
    /// Series in its head, from its `/api/v1/status/tsdb` (none when it did not answer).
    series: Option<u64>,
    /// Its share of all the series copies the nodes reported.
    series_share: Option<f64>,
    /// Its re-replication state (`idle`, `waiting`, `running`, …), from its
    /// `/api/v1/status/cluster` (none when it did not answer).
    repair: Option<String>,
}

#[derive(Serialize)]
struct StatusReport {
    etcd: Vec<String>,
    revision: i64,
    online: usize,
    members: Vec<NodeStatus>,
}

pub(super) fn status(args: StatusArgs) -> anyhow::Result<()> {
    let etcd = args.etcd.client()?;
    let view = read_view(&etcd, &args.etcd.prefix)?;
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(3)).build();
    let mut members: Vec<NodeStatus> = view
        .report()
        .into_iter()
        .map(|member| {
            let live = member.state != MemberState::Failed;
            let series = live.then(|| head_series(&agent, &member.addr)).flatten();
            let repair = live.then(|| repair_state(&agent, &member.addr)).flatten();
            NodeStatus { member, series, series_share: None, repair }
        })
        .collect();
    let total: u64 = members.iter().filter_map(|m| m.series).sum();
    for m in &mut members {
        m.series_share = m.series.filter(|_| total > 0).map(|n| n as f64 / total as f64);
    }
    let online = members.iter().filter(|m| m.member.state != MemberState::Failed).count();
    report::print(
        &StatusReport { etcd: etcd.endpoints().to_vec(), revision: view.revision, online, members },
        args.json,
    )
}

/// The series in a node's head, from its TSDB status.
fn head_series(agent: &ureq::Agent, addr: &str) -> Option<u64> {
    let answer: serde_json::Value = serde_json::from_reader(
        agent.get(&format!("http://{addr}/api/v1/status/tsdb")).call().ok()?.into_reader(),
    )
    .ok()?;
    answer["data"]["headStats"]["numSeries"].as_u64()
}

/// A node's re-replication state, from its cluster status.
fn repair_state(agent: &ureq::Agent, addr: &str) -> Option<String> {
    super::repair::repair_of(agent, addr)?["state"].as_str().map(str::to_string)
}

impl Report for StatusReport {
    fn text(&self) -> String {
        let mut out = format!(
            "cluster at etcd {} (revision {}): {} of {} members online\n",
            self.etcd.join(","),
            self.revision,
            self.online,
            self.members.len()
        );
        out.push_str(
            "id            addr                   zone   state     tokens  ring share  series     of copies  repair\n",
        );
        for m in &self.members {
            let r = &m.member;
            let state = r.state.name();
            out.push_str(&format!(
                "{:<13} {:<22} {:<6} {:<9} {:>6}  {:>9.1}%  {:>9}  {:>8}  {}\n",
                r.id.0,
                r.addr,
                r.zone.as_deref().unwrap_or("-"),
                state,
                r.tokens,
                r.ownership * 100.0,
                m.series.map_or_else(|| "-".to_string(), |n| n.to_string()),
                m.series_share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0)),
                m.repair.as_deref().unwrap_or("-"),
            ));
        }
        out.push_str("replication: synchronous — a write is acknowledged once a quorum of each series' replicas has it\n");
        out
    }
}

#[derive(Serialize)]
struct ChangeReport {
    member: String,
    change: &'static str,
    members: usize,
}

impl Report for ChangeReport {
    fn text(&self) -> String {
        format!("{}: {} ({} members in the ring)\n", self.member, self.change, self.members)
    }
}

pub(super) fn drain(args: MemberArgs) -> anyhow::Result<()> {
    let etcd = args.etcd.client()?;
    let record = set_state(&etcd, &args.etcd.prefix, &NodeId(args.id.clone()), MemberState::Leaving)?;
    let change = "leaving: new writes go to the next members; it still answers reads";
    report::print(&ChangeReport { member: args.id, change, members: record.members.len() }, args.json)
}

pub(super) fn remove(args: MemberArgs) -> anyhow::Result<()> {
    let etcd = args.etcd.client()?;
    let before = read_view(&etcd, &args.etcd.prefix)?;
    anyhow::ensure!(
        before.record.members.iter().any(|m| m.id.0 == args.id),
        "{} is not in the ring ({} members)",
        args.id,
        before.record.members.len()
    );
    let record = remove_member(&etcd, &args.etcd.prefix, &NodeId(args.id.clone()))?;
    report::print(
        &ChangeReport { member: args.id, change: "removed from the ring", members: record.members.len() },
        args.json,
    )
}
