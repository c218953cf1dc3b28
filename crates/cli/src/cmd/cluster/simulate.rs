//! `strata cluster simulate`: the token ring on paper (crate `strata-cluster`, module
//! `simulation`): per cluster size, the spread of series over members (max/mean), the share
//! of series moved when a member joins or leaves, and a throughput model from a measured
//! single-node rate. Prints each size as it finishes (progress) and a table, or one JSON
//! object with `--json`.

use std::time::Instant;

use serde::Serialize;
use strata_cluster::{simulate, SimulationOptions, SimulationReport};

use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// Cluster sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "3,10,100,1000")]
    nodes: Vec<usize>,
    /// Tokens (virtual nodes) per node.
    #[arg(long, default_value_t = 256)]
    tokens: usize,
    /// Replication factor.
    #[arg(long, default_value_t = 2)]
    rf: usize,
    /// Synthetic series hashed onto each ring (more: less sampling noise per node).
    #[arg(long, default_value_t = 2_000_000)]
    series: usize,
    /// A single node's measured ingest rate, points/s, for the throughput model.
    #[arg(long)]
    single_node_rate: Option<f64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SimulateReport {
    #[serde(flatten)]
    report: SimulationReport,
    seconds: f64,
}

pub(crate) fn run(args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.nodes.is_empty() && args.nodes.iter().all(|&n| n > 0),
        "--nodes: give sizes of at least 1"
    );
    anyhow::ensure!(args.tokens > 0, "--tokens must be at least 1");
    anyhow::ensure!(args.rf > 0, "--rf must be at least 1");
    let started = Instant::now();
    let options = SimulationOptions {
        nodes: args.nodes,
        tokens: args.tokens,
        rf: args.rf,
        series: args.series,
        single_node_rate: args.single_node_rate,
    };
    let report = simulate(&options, |size| {
        eprintln!("simulated {} nodes ({:.1} s)", size.nodes, started.elapsed().as_secs_f64());
    });
    report::print(&SimulateReport { report, seconds: started.elapsed().as_secs_f64() }, args.json)
}

impl Report for SimulateReport {
    fn text(&self) -> String {
        let r = &self.report;
        let mut out = format!(
            "ring simulation: rf {}, {} series, {} tokens a node ({:.1} s)\n",
            r.rf,
            r.series,
            r.sizes.first().map_or(0, |s| s.tokens_per_node),
            self.seconds
        );
        out.push_str(
            "nodes  first copies max/mean  min/mean  all copies max/mean  min/mean  series max/mean  replicas max/mean  join moved (1/N+1)  leave moved (1/N)  copies after leave",
        );
        if r.single_node_rate.is_some() {
            out.push_str("  model points/s");
        }
        out.push('\n');
        for s in &r.sizes {
            out.push_str(&format!(
                "{:>5}  {:>21.3}  {:>8.3}  {:>19.3}  {:>8.3}  {:>15.3}  {:>17.3}  {:>8.4} ({:.4})  {:>8.4} ({:.4})  {:>18.3}",
                s.nodes,
                s.ownership_max_over_mean,
                s.ownership_min_over_mean,
                s.copies_max_over_mean,
                s.copies_min_over_mean,
                s.series_max_over_mean,
                s.replicas_max_over_mean,
                s.join_moved_primary,
                1.0 / (s.nodes as f64 + 1.0),
                s.leave_moved_primary,
                1.0 / s.nodes as f64,
                s.copies_max_over_mean_after_leave,
            ));
            if let Some(model) = s.model_points_per_second {
                out.push_str(&format!("  {model:>14.0}"));
            }
            out.push('\n');
        }
        out.push_str("replica placements moved: ");
        let moved: Vec<String> = r
            .sizes
            .iter()
            .map(|s| {
                format!(
                    "{} nodes join {:.4} / leave {:.4}",
                    s.nodes, s.join_moved_replicas, s.leave_moved_replicas
                )
            })
            .collect();
        out.push_str(&moved.join(", "));
        out.push('\n');
        out
    }
}
