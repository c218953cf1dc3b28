//! `strata cluster`: the cluster's commands (docs/cluster.md), each with `--json`.
//!
//! - `simulate` — the token ring on paper at any size ([`simulate`]).
//! - `status`, `drain`, `remove` — the ring in etcd: members, states, shares and series per
//!   node; mark a member leaving; take it out of the ring ([`admin`]).
//! - `repair` — re-replication's progress on each member, `--wait` until it is done
//!   ([`repair`]); `cleanup` — every member hands over and deletes the series it no longer
//!   owns ([`cleanup`]).
//! - `write`, `query` — through one node, showing which nodes acknowledged a write and
//!   which members a query read ([`client`]).
//! - `init`, `kill`, `join`, `down` — a local cluster for trying it: etcd and N nodes on
//!   loopback under one dir ([`local`]).

mod admin;
mod cleanup;
mod client;
mod local;
mod repair;
mod simulate;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ClusterCommand {
    /// The ring at many sizes: spread of series per node, series moved on join and leave.
    Simulate(simulate::SimulateArgs),
    /// Members, their states and shares, series per node, etcd's health.
    Status(admin::StatusArgs),
    /// Mark a member leaving: writes stop going to it; it still answers reads.
    Drain(admin::MemberArgs),
    /// Take a member out of the ring (its tokens go; its share falls to its neighbours).
    Remove(admin::MemberArgs),
    /// Re-replication on each member: passes, series and samples sent; `--wait` until done.
    Repair(repair::RepairArgs),
    /// Every member hands over the series it no longer owns and deletes its copies.
    Cleanup(cleanup::CleanupArgs),
    /// Write samples (text format) through a node; prints which nodes acknowledged.
    Write(client::WriteArgs),
    /// Run a PromQL query through a node; prints the members read and any warnings.
    Query(client::QueryArgs),
    /// Start a local cluster: etcd and N nodes on 127.0.0.1, under --dir.
    Init(local::InitArgs),
    /// SIGKILL one node of a local cluster.
    Kill(local::KillArgs),
    /// Start one more node in a local cluster (or restart a killed one).
    Join(local::JoinArgs),
    /// Stop a local cluster (every node, then etcd).
    Down(local::DownArgs),
}

pub(crate) fn run(command: ClusterCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        ClusterCommand::Simulate(args) => simulate::run(args),
        ClusterCommand::Status(args) => admin::status(args),
        ClusterCommand::Drain(args) => admin::drain(args),
        ClusterCommand::Remove(args) => admin::remove(args),
        ClusterCommand::Repair(args) => repair::run(args),
        ClusterCommand::Cleanup(args) => cleanup::run(args),
        ClusterCommand::Write(args) => client::write(args),
        ClusterCommand::Query(args) => client::query(args),
        ClusterCommand::Init(args) => local::init(args),
        ClusterCommand::Kill(args) => local::kill(args),
        ClusterCommand::Join(args) => local::join(args),
        ClusterCommand::Down(args) => local::down(args),
    }
    .map(|()| std::process::ExitCode::SUCCESS)
}
