//! `strata cluster write | query`: a client's view of the cluster through one node — which
//! nodes acknowledged a write (the node's `X-Strata-Acked-By`), and which members a query
//! read, what it warned of and how long it took.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::local::LocalCluster;
use crate::report::{self, Report};

/// Which node to go through.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The node's HTTP address, host:port [default: the first live node of the local
    /// cluster under --dir].
    #[arg(long)]
    node: Option<String>,
    /// A local cluster's dir (`strata cluster init --dir`).
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
}

impl NodeArgs {
    fn addr(&self) -> anyhow::Result<String> {
        if let Some(node) = &self.node {
            return Ok(node.trim_start_matches("http://").trim_end_matches('/').to_string());
        }
        let cluster = LocalCluster::load(&self.dir).context("give --node, or --dir of a local cluster")?;
        cluster.first_live().map(|n| n.addr.clone()).context("no node of the local cluster is running")
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct WriteArgs {
    /// Samples in the Prometheus text format, e.g. 'cpu{host="server1"} 0.75' (timestamp
    /// optional, milliseconds).
    samples: String,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    /// A PromQL expression.
    query: String,
    /// Evaluation time, Unix seconds [default: now].
    #[arg(long)]
    time: Option<f64>,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build()
}

#[derive(Serialize)]
struct WriteReport {
    node: String,
    status: u16,
    acked_by: Vec<String>,
    millis: f64,
    message: String,
}

impl Report for WriteReport {
    fn text(&self) -> String {
        let verdict = if (200..300).contains(&self.status) { "acknowledged" } else { "refused" };
        let mut out = format!(
            "write through {}: {verdict} (HTTP {}) in {:.1} ms; copies made by: {}\n",
            self.node,
            self.status,
            self.millis,
            if self.acked_by.is_empty() { "-".to_string() } else { self.acked_by.join(", ") }
        );
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
        out
    }
}

pub(super) fn write(args: WriteArgs) -> anyhow::Result<()> {
    let addr = args.node.addr()?;
    let mut body = args.samples.replace("\\n", "\n");
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let started = Instant::now();
    let answer = agent().post(&format!("http://{addr}/api/v1/import/prometheus")).send_string(&body);
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let response = match answer {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => anyhow::bail!("writing to {addr}: {e}"),
    };
    let status = response.status();
    let acked_by = response
        .header("x-strata-acked-by")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let message = response.into_string().unwrap_or_default();
    report::print(&WriteReport { node: addr, status, acked_by, millis, message }, args.json)?;
    anyhow::ensure!((200..300).contains(&status), "the write was refused");
    Ok(())
}

#[derive(Serialize)]
struct QueryReport {
    node: String,
    members_read: Vec<String>,
    members_down: Vec<String>,
    millis: f64,
    warnings: Vec<String>,
    result: serde_json::Value,
}

impl Report for QueryReport {
    fn text(&self) -> String {
        let mut out = format!(
            "plan: through {}, fan-out to {} (down: {}); {:.1} ms\n",
            self.node,
            self.members_read.join(", "),
            if self.members_down.is_empty() { "none".to_string() } else { self.members_down.join(", ") },
            self.millis
        );
        for warning in &self.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        for row in self.result.as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let value = row.get("value").or_else(|| row.get("values")).cloned().unwrap_or_default();
            out.push_str(&format!("{} {}\n", row["metric"], value));
        }
        out
    }
}

pub(super) fn query(args: QueryArgs) -> anyhow::Result<()> {
    let addr = args.node.addr()?;
    let agent = agent();
    let status: serde_json::Value = agent
        .get(&format!("http://{addr}/api/v1/status/cluster"))
        .call()
        .map(|r| serde_json::from_reader(r.into_reader()))
        .with_context(|| format!("asking {addr} for the cluster's status"))??;
    let (mut read, mut down) = (Vec::new(), Vec::new());
    for m in status["data"]["members"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let id = m["id"].as_str().unwrap_or("?").to_string();
        if m["state"] == "failed" {
            down.push(id);
        } else {
            read.push(id);
        }
    }
    let mut request = agent.get(&format!("http://{addr}/api/v1/query")).query("query", &args.query);
    if let Some(time) = args.time {
        request = request.query("time", &format!("{time:.3}"));
    }
    let started = Instant::now();
    let answer: serde_json::Value = match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => serde_json::from_reader(r.into_reader())?,
        Err(e) => anyhow::bail!("querying {addr}: {e}"),
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(answer["status"] == "success", "the query failed: {}", answer["error"]);
    let warnings = answer["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let result = answer["data"]["result"].clone();
    report::print(
        &QueryReport { node: addr, members_read: read, members_down: down, millis, warnings, result },
        args.json,
    )
}
