//! `strata cluster init | kill | join | down`: a local cluster for trying the cluster out —
//! a real etcd (Debian `etcd-server`) and N `strata server` processes on 127.0.0.1, each
//! with its data, log and port under one dir, recorded in `<dir>/cluster.json` so the
//! other commands find them. The processes run on after the command returns, in their own
//! process group (a closed terminal does not stop them); `down` stops them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::report::{self, Report};

/// What `init` started, as `<dir>/cluster.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LocalCluster {
    pub(crate) etcd_url: String,
    etcd_pid: u32,
    replication: usize,
    /// The nodes' `--cluster-repair-delay`.
    #[serde(default = "default_repair_delay")]
    repair_delay: String,
    pub(crate) nodes: Vec<LocalNode>,
}

fn default_repair_delay() -> String {
    "10s".into()
}

/// One node of a local cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LocalNode {
    pub(crate) id: String,
    pub(crate) addr: String,
    pid: u32,
    data_dir: PathBuf,
    killed: bool,
}

impl LocalCluster {
    fn file(dir: &Path) -> PathBuf {
        dir.join("cluster.json")
    }

    /// The cluster `init` recorded under `dir`.
    pub(crate) fn load(dir: &Path) -> anyhow::Result<LocalCluster> {
        let path = LocalCluster::file(dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (start one with `strata cluster init`)", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a local cluster's record", path.display()))
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = LocalCluster::file(dir);
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The first node not killed.
    pub(crate) fn first_live(&self) -> Option<&LocalNode> {
        self.nodes.iter().find(|n| !n.killed)
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Nodes to start.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Copies of each series.
    #[arg(long, default_value_t = 2)]
    replication: usize,
    /// How long the ring must stay unchanged before re-replication copies history (a
    /// server's default is 60s; shorter here, for trying it).
    #[arg(long, default_value = "10s")]
    repair_delay: String,
    /// Where etcd's and the nodes' data, logs and cluster.json go.
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct KillArgs {
    /// The node's id (node-2).
    id: String,
    /// The local cluster's dir.
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct JoinArgs {
    /// The node's id [default: the next node-N]; a killed node's id restarts it on its data.
    id: Option<String>,
    /// The local cluster's dir.
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DownArgs {
    /// The local cluster's dir.
    #[arg(long, default_value = "strata-cluster")]
    dir: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct LocalReport {
    dir: PathBuf,
    action: String,
    etcd: String,
    nodes: Vec<LocalNode>,
}

impl Report for LocalReport {
    fn text(&self) -> String {
        let mut out = format!("{} ({}; etcd at {})\n", self.action, self.dir.display(), self.etcd);
        for n in &self.nodes {
            let state = if n.killed { "killed" } else { "running" };
            out.push_str(&format!("  {:<10} http://{:<22} pid {:<8} {state}\n", n.id, n.addr, n.pid));
        }
        out
    }
}

fn free_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.to_string())
}

/// Starts `program` detached (its own process group), output to `log`.
fn spawn_detached(command: &mut Command, log: &Path) -> anyhow::Result<u32> {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    Ok(child.id())
}

/// Waits until `GET url` answers 200, or fails after `limit` naming `what` and its log.
fn wait_ready(url: &str, what: &str, log: &Path, limit: Duration) -> anyhow::Result<()> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(1)).build();
    let started = Instant::now();
    while started.elapsed() < limit {
        if agent.get(url).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not become ready within {limit:?}; see {}", log.display())
}

fn start_node(dir: &Path, cluster: &LocalCluster, id: &str, addr: &str) -> anyhow::Result<LocalNode> {
    let data_dir = dir.join(id);
    let log = dir.join(format!("{id}.log"));
    let exe = std::env::current_exe().context("finding the strata binary")?;
    let mut command = Command::new(exe);
    command
        .arg("server")
        .arg(format!("--listen={addr}"))
        .arg(format!("--data-dir={}", data_dir.display()))
        .arg(format!("--cluster-etcd={}", cluster.etcd_url))
        .arg(format!("--node-id={id}"))
        .arg(format!("--replication-factor={}", cluster.replication))
        .arg(format!("--cluster-repair-delay={}", cluster.repair_delay))
        .arg("--grpc-listen=off");
    let pid = spawn_detached(&mut command, &log)?;
    wait_ready(&format!("http://{addr}/-/ready"), id, &log, Duration::from_secs(60))?;
    eprintln!("{id} is up at http://{addr}");
    Ok(LocalNode { id: id.to_string(), addr: addr.to_string(), pid, data_dir, killed: false })
}

pub(super) fn init(args: InitArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.nodes >= 1, "--nodes must be at least 1");
    anyhow::ensure!(args.replication >= 1, "--replication must be at least 1");
    if LocalCluster::file(&args.dir).exists() {
        bail!("{} already holds a cluster; `strata cluster down --dir {0}` first", args.dir.display());
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let etcd_binary = which("etcd").context("etcd is not installed (Debian: apt-get install etcd-server)")?;
    let (client, peer) = (free_addr()?, free_addr()?);
    let etcd_url = format!("http://{client}");
    let peer_url = format!("http://{peer}");
    let log = args.dir.join("etcd.log");
    let mut command = Command::new(etcd_binary);
    command
        .arg("--data-dir")
        .arg(args.dir.join("etcd"))
        .args([
            "--name",
            "strata-local",
            "--listen-client-urls",
            &etcd_url,
            "--advertise-client-urls",
            &etcd_url,
        ])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("strata-local={peer_url}")]);
    let etcd_pid = spawn_detached(&mut command, &log)?;
    wait_ready(&format!("{etcd_url}/health"), "etcd", &log, Duration::from_secs(30))?;
    eprintln!("etcd is up at {etcd_url}");
    let mut cluster = LocalCluster {
        etcd_url,
        etcd_pid,
        replication: args.replication,
        repair_delay: args.repair_delay,
        nodes: Vec::new(),
    };
    cluster.save(&args.dir)?;
    for i in 1..=args.nodes {
        let node = start_node(&args.dir, &cluster, &format!("node-{i}"), &free_addr()?)?;
        cluster.nodes.push(node);
        cluster.save(&args.dir)?;
    }
    let action = format!("started {} nodes, replication factor {}", args.nodes, args.replication);
    report::print(
        &LocalReport { dir: args.dir, action, etcd: cluster.etcd_url.clone(), nodes: cluster.nodes },
        args.json,
    )
}

pub(super) fn kill(args: KillArgs) -> anyhow::Result<()> {
    let mut cluster = LocalCluster::load(&args.dir)?;
    let node =
        cluster.nodes.iter_mut().find(|n| n.id == args.id).with_context(|| format!("no node {}", args.id))?;
    anyhow::ensure!(!node.killed, "{} is already killed", args.id);
    // SAFETY: kill(2) on a pid this cluster started; no memory is involved.
    unsafe { libc::kill(node.pid as i32, libc::SIGKILL) };
    node.killed = true;
    cluster.save(&args.dir)?;
    let action = format!("killed {} (SIGKILL)", args.id);
    report::print(
        &LocalReport { dir: args.dir, action, etcd: cluster.etcd_url.clone(), nodes: cluster.nodes },
        args.json,
    )
}

pub(super) fn join(args: JoinArgs) -> anyhow::Result<()> {
    let mut cluster = LocalCluster::load(&args.dir)?;
    let id = args.id.unwrap_or_else(|| format!("node-{}", cluster.nodes.len() + 1));
    let action;
    match cluster.nodes.iter().position(|n| n.id == id) {
        Some(i) => {
            anyhow::ensure!(cluster.nodes[i].killed, "{id} is running");
            let addr = cluster.nodes[i].addr.clone();
            cluster.nodes[i] = start_node(&args.dir, &cluster, &id, &addr)?;
            action = format!("restarted {id} on its data");
        }
        None => {
            let node = start_node(&args.dir, &cluster, &id, &free_addr()?)?;
            cluster.nodes.push(node);
            action = format!("{id} joined");
        }
    }
    cluster.save(&args.dir)?;
    report::print(
        &LocalReport { dir: args.dir, action, etcd: cluster.etcd_url.clone(), nodes: cluster.nodes },
        args.json,
    )
}

pub(super) fn down(args: DownArgs) -> anyhow::Result<()> {
    let mut cluster = LocalCluster::load(&args.dir)?;
    for node in cluster.nodes.iter_mut().filter(|n| !n.killed) {
        stop(node.pid, &node.id);
        node.killed = true;
    }
    stop(cluster.etcd_pid, "etcd");
    std::fs::remove_file(LocalCluster::file(&args.dir)).context("removing cluster.json")?;
    let action = "stopped every node and etcd (data kept)".to_string();
    report::print(
        &LocalReport { dir: args.dir, action, etcd: cluster.etcd_url.clone(), nodes: cluster.nodes },
        args.json,
    )
}

/// SIGTERM, then SIGKILL after 30 s.
fn stop(pid: u32, what: &str) {
    // A zombie (exited, not yet reaped: its parent was the `init` that started it) is dead.
    let alive = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|rest| rest.chars().next());
        !matches!(state, None | Some('Z') | Some('X'))
    };
    // SAFETY: kill(2) on a pid this cluster started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let started = Instant::now();
    while alive(pid) && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        eprintln!("{what} did not stop in 30 s; killing it");
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}
