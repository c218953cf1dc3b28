//! A node's part in the cluster: its membership, and the two things the server asks of
//! it — replicate a write ([`ClusterNode::replicate`]) and read from every replica
//! ([`ClusterNode::reader`], a PromQL [`Queryable`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use strata_model::Matcher;
use strata_promql::Queryable;
use strata_storage::{Series, StorageError};

use crate::forward::Forwarder;
use crate::handoff::{Hint, HintFigures, Hints};
use crate::membership::{ClusterView, Membership, MembershipConfig, MembershipError};
use crate::merge::merge;
use crate::repair::{Repair, RepairJob, RepairSource, RepairStatus};
use crate::replication::{plan, tally, write_quorum, SendError, SeriesSamples, WriteOutcome};
use crate::ring::{MemberState, NodeId, Placement};

/// How a node takes part.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Its membership.
    pub membership: MembershipConfig,
    /// Copies per series, and zone awareness.
    pub placement: Placement,
    /// How long a request to another node may take.
    pub request_timeout: Duration,
    /// Bytes of hints kept for failed members (`handoff`).
    pub hint_bytes: usize,
    /// How long the ring must stay unchanged before re-replication copies data (`repair`).
    pub repair_delay: Duration,
}

/// See the module docs.
#[derive(Debug)]
pub struct ClusterNode {
    membership: Arc<Membership>,
    placement: Placement,
    forwarder: Forwarder,
    hints: Arc<Hints>,
    stop: Arc<AtomicBool>,
    handoff: Mutex<Option<JoinHandle<()>>>,
    repair: Arc<Repair>,
    repair_delay: Duration,
    repair_thread: Mutex<Option<JoinHandle<()>>>,
}

impl ClusterNode {
    /// Joins the cluster.
    pub fn start(options: ClusterOptions) -> Result<ClusterNode, MembershipError> {
        let forwarder = Forwarder::new(&options.membership.id.0, options.request_timeout);
        let membership = Arc::new(Membership::join(options.membership)?);
        let hints = Arc::new(Hints::new(options.hint_bytes));
        let stop = Arc::new(AtomicBool::new(false));
        let handoff = spawn_handoff(membership.clone(), forwarder.clone(), hints.clone(), stop.clone());
        Ok(ClusterNode {
            membership,
            placement: options.placement,
            forwarder,
            hints,
            stop,
            handoff: Mutex::new(Some(handoff)),
            repair: Arc::new(Repair::default()),
            repair_delay: options.repair_delay,
            repair_thread: Mutex::new(None),
        })
    }

    /// Starts re-replication (`repair`) over the series `source` reads: from now on, ring
    /// changes are followed by copies of history to the members that need them. Once.
    pub fn start_repair(&self, source: Arc<dyn RepairSource>) {
        let mut thread = self.repair_thread.lock().expect("repair thread lock");
        if thread.is_some() {
            return;
        }
        let job = RepairJob {
            membership: self.membership.clone(),
            forwarder: self.forwarder.clone(),
            placement: self.placement,
            source,
            repair: self.repair.clone(),
            stop: self.stop.clone(),
            delay: self.repair_delay,
        };
        *thread = Some(
            std::thread::Builder::new()
                .name("cluster-repair".into())
                .spawn(move || job.run())
                .expect("spawning the repair thread"),
        );
    }

    /// Asks for a cleanup (`cleanup`): the series this node no longer owns are handed to
    /// their replicas and deleted here, once no re-replication pass is owed. Refused while
    /// a member is not active, or before re-replication has started.
    pub fn request_cleanup(&self) -> Result<(), String> {
        if self.repair_thread.lock().expect("repair thread lock").is_none() {
            return Err("re-replication has not started on this node".into());
        }
        crate::cleanup::all_active(&self.view().members())?;
        self.repair.request_cleanup();
        Ok(())
    }

    /// What re-replication is doing.
    pub fn repair_status(&self) -> RepairStatus {
        self.repair.status()
    }

    /// Hints waiting for failed members, delivered and dropped.
    pub fn hint_figures(&self) -> HintFigures {
        self.hints.figures()
    }

    /// This node's id.
    pub fn id(&self) -> &NodeId {
        self.membership.id()
    }

    /// Copies per series, and zone awareness.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// What this node knows of the cluster.
    pub fn view(&self) -> ClusterView {
        self.membership.view()
    }

    /// Whether etcd answers this node's heartbeats.
    pub fn etcd_health(&self) -> crate::membership::EtcdHealth {
        self.membership.etcd_health()
    }

    /// Sends each series to its replicas and counts the copies made. This node's own share
    /// is written by `local` (the indices of its series), the others' go over HTTP, all at
    /// once.
    pub fn replicate(
        &self,
        tenant: Option<&str>,
        series: &[SeriesSamples],
        local: &(dyn Fn(&[usize]) -> Result<(), SendError> + Sync),
    ) -> WriteOutcome {
        if !self.membership.lease_valid() {
            return self.cut_off(series.len());
        }
        let ring = match self.view().ring() {
            Ok(ring) => ring,
            Err(e) => {
                let mut outcome =
                    WriteOutcome { series: series.len(), short: series.len(), ..Default::default() };
                outcome.errors.insert(self.id().clone(), format!("the ring is not valid: {e}"));
                return outcome;
            }
        };
        let plan = plan(&ring, self.placement, series);
        let results: BTreeMap<NodeId, Result<(), SendError>> = std::thread::scope(|scope| {
            let sends: Vec<_> = plan
                .sends
                .iter()
                .map(|(id, (addr, indices))| {
                    let forwarder = &self.forwarder;
                    let me = id == self.id();
                    let send = scope.spawn(move || match me {
                        true => local(indices),
                        false => forwarder.write(addr, tenant, series, indices),
                    });
                    (id.clone(), send)
                })
                .collect();
            sends
                .into_iter()
                .map(|(id, send)| {
                    (id, send.join().unwrap_or_else(|_| Err(SendError::Failed("the send panicked".into()))))
                })
                .collect()
        });
        let outcome = tally(&plan, &results);
        for (member, indices) in &plan.hints {
            let hinted = indices.iter().map(|&i| series[i].clone()).collect();
            self.hints.add(member, Hint { tenant: tenant.map(str::to_string), series: hinted });
        }
        // The lease may have run out while the copies were made: then the others may
        // already be routing around this node, and it must not acknowledge.
        if outcome.acknowledged() && !self.membership.lease_valid() {
            return self.cut_off(series.len());
        }
        outcome
    }

    /// The refusal of a write while this node's lease may have expired.
    fn cut_off(&self, series: usize) -> WriteOutcome {
        let mut outcome = WriteOutcome { series, short: series, ..WriteOutcome::default() };
        outcome.errors.insert(
            self.id().clone(),
            "this node has not reached etcd within its lease TTL: it may be cut off from the cluster, so it acknowledges no writes until etcd answers again (queries go on with the last ring it saw)".into(),
        );
        outcome
    }

    /// A queryable that reads `local` and every other reachable member, merged.
    pub fn reader<'a>(&'a self, local: &'a dyn Queryable, tenant: Option<String>) -> ClusterReader<'a> {
        ClusterReader { node: self, local, tenant, warnings: Mutex::new(Vec::new()) }
    }

    /// Leaves the cluster cleanly (others see it gone at once). Hints not yet delivered
    /// are dropped.
    pub fn leave(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handoff) = self.handoff.lock().expect("handoff lock").take() {
            let _ = handoff.join();
        }
        if let Some(repair) = self.repair_thread.lock().expect("repair thread lock").take() {
            let _ = repair.join();
        }
        self.membership.leave();
    }
}

/// Delivers hints to members that are active again, every half second: a member's hints in
/// order, stopping at its first failed delivery (tried again next round).
fn spawn_handoff(
    membership: Arc<Membership>,
    forwarder: Forwarder,
    hints: Arc<Hints>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("cluster-handoff".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                let members = hints.members();
                if members.is_empty() {
                    continue;
                }
                let view = membership.view().members();
                for id in members {
                    let Some(member) = view.iter().find(|m| m.id == id && m.state == MemberState::Active) else {
                        continue;
                    };
                    while let Some(hint) = hints.take(&id) {
                        let all: Vec<usize> = (0..hint.series.len()).collect();
                        match forwarder.write(&member.addr, hint.tenant.as_deref(), &hint.series, &all) {
                            Ok(()) => hints.delivered(),
                            Err(SendError::Rejected(why)) => {
                                tracing::warn!(member = %id, reason = %why, "a hint was refused; that copy stays missing");
                                hints.given_up();
                            }
                            Err(SendError::Failed(_)) => {
                                hints.put_back(&id, hint);
                                break;
                            }
                        }
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawning the handoff thread")
}

/// Reads from every replica; see [`ClusterNode::reader`].
pub struct ClusterReader<'a> {
    node: &'a ClusterNode,
    local: &'a dyn Queryable,
    tenant: Option<String>,
    warnings: Mutex<Vec<String>>,
}

impl std::fmt::Debug for ClusterReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterReader").field("node", self.node.id()).field("tenant", &self.tenant).finish()
    }
}

impl ClusterReader<'_> {
    /// The warnings the reads so far gave (unreachable members, possibly partial
    /// answers), each once (`warn` keeps them distinct).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().expect("warnings lock"))
    }

    fn warn(&self, warning: String) {
        let mut warnings = self.warnings.lock().expect("warnings lock");
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }
}

impl Queryable for ClusterReader<'_> {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        if !self.node.membership.lease_valid() {
            self.warn(
                "this node has not reached etcd within its lease TTL; answering with the last ring it saw"
                    .into(),
            );
        }
        let view = self.node.view();
        let members = view.members();
        let me = self.node.id();
        let mut parts = Vec::with_capacity(members.len());
        let mut local = Vec::new();
        for series in self.local.select(matchers, mint, maxt)? {
            let samples = series.collect_samples()?;
            local.push(SeriesSamples { labels: series.into_labels(), samples });
        }
        parts.push(local);
        let others: Vec<_> =
            members.iter().filter(|m| &m.id != me && m.state != MemberState::Failed).collect();
        let tenant = self.tenant.as_deref();
        let answers: Vec<(NodeId, Result<Vec<SeriesSamples>, String>)> = std::thread::scope(|scope| {
            let reads: Vec<_> = others
                .iter()
                .map(|m| {
                    let forwarder = &self.node.forwarder;
                    (m.id.clone(), scope.spawn(move || forwarder.read(&m.addr, tenant, matchers, mint, maxt)))
                })
                .collect();
            reads
                .into_iter()
                .map(|(id, r)| (id, r.join().unwrap_or_else(|_| Err("the read panicked".into()))))
                .collect()
        });
        let mut missing: Vec<String> =
            members.iter().filter(|m| m.state == MemberState::Failed).map(|m| m.id.0.clone()).collect();
        for (id, answer) in answers {
            match answer {
                Ok(series) => parts.push(series),
                Err(why) => {
                    self.warn(format!("cluster member {id} could not be read: {why}"));
                    missing.push(id.0);
                }
            }
        }
        if !missing.is_empty() {
            let needed = write_quorum(&members, self.node.placement);
            if missing.len() >= needed {
                self.warn(format!(
                    "results may be partial: {} cluster members are down or unreachable ({}), as many as a write's quorum ({needed})",
                    missing.len(),
                    missing.join(", ")
                ));
            }
        }
        Ok(merge(parts).into_iter().map(|s| Series::from_samples(s.labels, s.samples, mint, maxt)).collect())
    }
}
