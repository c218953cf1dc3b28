//! Membership in etcd: who is in the ring, and who is alive.
//!
//! Two kinds of keys under a prefix (default `/strata/cluster`):
//! - `<prefix>/ring` — the ring: every member's id, address, zone, state and tokens, as one
//!   JSON value ([`RingRecord`]). It changes only on a join, a drain or a removal, always by
//!   compare-and-swap on its `mod_revision`, so two nodes joining at once cannot both
//!   compute tokens from the same old ring: the loser re-reads and recomputes.
//! - `<prefix>/alive/<id>` — a member's heartbeat: a key attached to a lease the member keeps
//!   alive (every TTL/3). When the process dies, its lease expires after the TTL and etcd
//!   deletes the key; every node watching the prefix then sees that member as failed.
//!   Liveness is kept out of the ring value so heartbeats never rewrite it (the dskit
//!   design rewrites the whole ring on every heartbeat).
//!
//! Invariants: a member id is alive in at most one process (creating its alive key is a
//! compare-and-swap on "does not exist"; a second process with the same id is refused
//! while the first one's lease lives); a member keeps its tokens across restarts (a
//! rejoin finds its entry and only marks it active), so a restart moves no series.
//!
//! Failure detection is bounded by the lease TTL (default 5 s) plus the watch's delay
//! (under a second): a killed node is seen as failed within ~6 s of its last keepalive.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::etcd::{Etcd, EtcdError, WatchEvent};
use crate::ring::{Member, MemberState, NodeId, Ring, RingError};
use crate::tokens::tokens_for_join;

/// How a node joins.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// etcd's client URLs.
    pub etcd: Vec<String>,
    /// The key prefix this cluster's keys live under.
    pub prefix: String,
    /// This node's id.
    pub id: NodeId,
    /// Where other nodes reach this node's HTTP API.
    pub addr: String,
    /// This node's zone, if zones are used.
    pub zone: Option<String>,
    /// Tokens a new member takes.
    pub tokens: usize,
    /// Copies of each series: a joining member chooses its tokens to even out all of them.
    pub replication: usize,
    /// The heartbeat lease's TTL: how long a dead node stays "alive".
    pub lease_ttl: Duration,
}

impl MembershipConfig {
    /// A config with the defaults: prefix `/strata/cluster`, 256 tokens balanced for one
    /// copy, a 5 s lease.
    pub fn new(etcd: Vec<String>, id: &str, addr: &str) -> MembershipConfig {
        MembershipConfig {
            etcd,
            prefix: DEFAULT_PREFIX.to_string(),
            id: NodeId(id.to_string()),
            addr: addr.to_string(),
            zone: None,
            tokens: 256,
            replication: 1,
            lease_ttl: Duration::from_secs(5),
        }
    }
}

/// The prefix a cluster's keys live under unless told otherwise.
pub const DEFAULT_PREFIX: &str = "/strata/cluster";

/// The ring as stored in etcd (`<prefix>/ring`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RingRecord {
    /// Every member, in the order they joined.
    pub members: Vec<Member>,
}

/// A node's heartbeat value (`<prefix>/alive/<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Heartbeat {
    addr: String,
}

/// What a node knows of the cluster: the ring and who is alive, at an etcd revision.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterView {
    /// The etcd revision this view reflects.
    pub revision: i64,
    /// The ring as recorded.
    pub record: RingRecord,
    /// The members whose heartbeat key exists.
    pub alive: BTreeSet<NodeId>,
}

impl ClusterView {
    /// Each member with its effective state: an active member that is not alive is failed.
    pub fn members(&self) -> Vec<Member> {
        self.record
            .members
            .iter()
            .map(|m| {
                let mut m = m.clone();
                if m.state == MemberState::Active && !self.alive.contains(&m.id) {
                    m.state = MemberState::Failed;
                }
                m
            })
            .collect()
    }

    /// The ring with effective states, for routing.
    pub fn ring(&self) -> Result<Ring, RingError> {
        Ring::new(self.members())
    }

    /// Each member with its effective state and share of the circle, sorted by id: what
    /// `strata cluster status` and `/api/v1/status/cluster` show.
    pub fn report(&self) -> Vec<MemberReport> {
        let members = self.members();
        let shares = Ring::new(members.clone()).map(|ring| ring.ownership()).unwrap_or_default();
        let mut sorted = members;
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        sorted
            .into_iter()
            .enumerate()
            .map(|(i, m)| MemberReport {
                id: m.id,
                addr: m.addr,
                zone: m.zone,
                state: m.state,
                tokens: m.tokens.len(),
                ownership: shares.get(i).copied().unwrap_or(0.0),
            })
            .collect()
    }

    fn apply(&mut self, prefix: &str, event: &WatchEvent) {
        let ring_key = ring_key(prefix);
        let alive_prefix = alive_prefix(prefix);
        match event {
            WatchEvent::Put(kv) => {
                self.revision = self.revision.max(kv.mod_revision);
                if kv.key == ring_key.as_bytes() {
                    match serde_json::from_slice(&kv.value) {
                        Ok(record) => self.record = record,
                        Err(e) => {
                            tracing::error!(error = %e, "the ring in etcd is not valid JSON; keeping the last one")
                        }
                    }
                } else if let Some(id) = kv.key.strip_prefix(alive_prefix.as_bytes()) {
                    self.alive.insert(NodeId(String::from_utf8_lossy(id).into_owned()));
                }
            }
            WatchEvent::Delete { key, mod_revision } => {
                self.revision = self.revision.max(*mod_revision);
                if let Some(id) = key.strip_prefix(alive_prefix.as_bytes()) {
                    self.alive.remove(&NodeId(String::from_utf8_lossy(id).into_owned()));
                } else if *key == ring_key.as_bytes() {
                    self.record = RingRecord::default();
                }
            }
        }
    }
}

/// Whether this node can reach etcd, as its heartbeat last found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EtcdHealth {
    /// The last heartbeat reached etcd.
    pub reachable: bool,
    /// Why the last heartbeat failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Since when (Unix ms) heartbeats have failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable_since_ms: Option<u64>,
}

impl EtcdHealth {
    fn record(&mut self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => *self = EtcdHealth { reachable: true, ..EtcdHealth::default() },
            Err(error) => {
                if self.reachable || self.unreachable_since_ms.is_none() {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    self.unreachable_since_ms = Some(now.as_millis() as u64);
                }
                self.reachable = false;
                self.error = Some(error);
            }
        }
    }
}

/// One member as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberReport {
    /// Its id.
    pub id: NodeId,
    /// Its HTTP address.
    pub addr: String,
    /// Its zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Its effective state.
    pub state: MemberState,
    /// How many tokens it holds.
    pub tokens: usize,
    /// Its primary share of the circle (0–1).
    pub ownership: f64,
}

/// Why joining (or changing) the ring failed.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// etcd could not be used.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
    /// Another live process holds this id.
    #[error(
        "node id {id} is already alive in the cluster (at {addr}); pick another --node-id or stop that node"
    )]
    AlreadyAlive {
        /// The id.
        id: NodeId,
        /// Where the live one is.
        addr: String,
    },
    /// The ring in etcd cannot be read.
    #[error("the ring in etcd ({key}) is not valid: {reason}")]
    BadRing {
        /// Its key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Too many concurrent changes; the compare-and-swap kept losing.
    #[error("the ring kept changing under {attempts} attempts to update it")]
    Contended {
        /// Attempts made.
        attempts: usize,
    },
    /// The member is not in the ring.
    #[error("node {0} is not in the ring")]
    NotAMember(NodeId),
}

fn ring_key(prefix: &str) -> String {
    format!("{}/ring", prefix.trim_end_matches('/'))
}

fn alive_prefix(prefix: &str) -> String {
    format!("{}/alive/", prefix.trim_end_matches('/'))
}

/// The ring as etcd holds it (`<prefix>/ring`, JSON): an error names what is wrong — bad
/// JSON, a member listed twice, a token held twice — never a panic.
pub fn decode_ring(bytes: &[u8]) -> Result<Ring, String> {
    let record: RingRecord = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    Ring::new(record.members).map_err(|e| e.to_string())
}

/// Reads the cluster once (for `strata cluster status` and for a node starting up).
pub fn read_view(etcd: &Etcd, prefix: &str) -> Result<ClusterView, MembershipError> {
    let (kvs, revision) = etcd.get_prefix(format!("{}/", prefix.trim_end_matches('/')).as_bytes())?;
    let mut view = ClusterView { revision, ..ClusterView::default() };
    for kv in kvs {
        view.apply(prefix, &WatchEvent::Put(kv));
    }
    view.revision = revision;
    Ok(view)
}

/// Applies `change` to the ring by compare-and-swap, retrying when another node changed it
/// first. `change` sees the current record and returns false to leave it as it is.
pub fn update_ring(
    etcd: &Etcd,
    prefix: &str,
    mut change: impl FnMut(&mut RingRecord) -> Result<bool, MembershipError>,
) -> Result<RingRecord, MembershipError> {
    const ATTEMPTS: usize = 50;
    let key = ring_key(prefix);
    for _ in 0..ATTEMPTS {
        let current = etcd.get(key.as_bytes())?;
        let (mut record, revision) = match &current {
            Some(kv) => (
                serde_json::from_slice::<RingRecord>(&kv.value)
                    .map_err(|e| MembershipError::BadRing { key: key.clone(), reason: e.to_string() })?,
                kv.mod_revision,
            ),
            None => (RingRecord::default(), 0),
        };
        if !change(&mut record)? {
            return Ok(record);
        }
        let value = serde_json::to_vec(&record).expect("a ring serializes");
        if etcd.compare_and_put(key.as_bytes(), revision, &value, 0)? {
            return Ok(record);
        }
    }
    Err(MembershipError::Contended { attempts: ATTEMPTS })
}

/// Sets `id`'s state in the ring (a drain marks it leaving).
pub fn set_state(
    etcd: &Etcd,
    prefix: &str,
    id: &NodeId,
    state: MemberState,
) -> Result<RingRecord, MembershipError> {
    update_ring(etcd, prefix, |record| {
        let member = record
            .members
            .iter_mut()
            .find(|m| &m.id == id)
            .ok_or_else(|| MembershipError::NotAMember(id.clone()))?;
        let changed = member.state != state;
        member.state = state;
        Ok(changed)
    })
}

/// Removes `id` from the ring: its tokens go, and its share falls to its neighbours.
pub fn remove_member(etcd: &Etcd, prefix: &str, id: &NodeId) -> Result<RingRecord, MembershipError> {
    update_ring(etcd, prefix, |record| {
        let before = record.members.len();
        record.members.retain(|m| &m.id != id);
        Ok(record.members.len() != before)
    })
}

/// This node's live membership: its heartbeat, and a view kept current by a watch.
#[derive(Debug)]
pub struct Membership {
    config: MembershipConfig,
    etcd: Etcd,
    lease: Arc<AtomicI64>,
    view: Arc<RwLock<ClusterView>>,
    health: Arc<Mutex<EtcdHealth>>,
    /// Until when this node's lease surely lives: the send time of the last keepalive
    /// etcd answered, plus the TTL, less a margin.
    lease_valid_until: Arc<Mutex<Instant>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Membership {
    /// Joins the cluster: takes the id's heartbeat key, adds this node to the ring (or
    /// marks it active again with its old tokens), and starts the heartbeat and the watch.
    pub fn join(config: MembershipConfig) -> Result<Membership, MembershipError> {
        let etcd = Etcd::new(&config.etcd, Duration::from_secs(5));
        let ttl = config.lease_ttl.as_secs().max(1) as i64;
        let lease = etcd.grant_lease(ttl)?;
        let alive_key = format!("{}{}", alive_prefix(&config.prefix), config.id);
        let heartbeat = serde_json::to_vec(&Heartbeat { addr: config.addr.clone() }).expect("serializes");
        // A process killed a moment ago still holds the id until its lease runs out: wait
        // that long (a live holder keeps renewing, and is refused after the wait).
        let wait_for_holder = Instant::now() + config.lease_ttl * 2 + Duration::from_secs(1);
        while !etcd.compare_and_put(alive_key.as_bytes(), 0, &heartbeat, lease)? {
            if Instant::now() >= wait_for_holder {
                let _ = etcd.revoke_lease(lease);
                let holder = etcd.get(alive_key.as_bytes())?;
                let addr = holder
                    .and_then(|kv| serde_json::from_slice::<Heartbeat>(&kv.value).ok())
                    .map_or_else(|| "unknown".to_string(), |h| h.addr);
                return Err(MembershipError::AlreadyAlive { id: config.id.clone(), addr });
            }
            tracing::info!(id = %config.id, "the id is still alive in etcd (a previous run's lease?); waiting for it to expire");
            std::thread::sleep(Duration::from_millis(250));
            etcd.keep_alive(lease)?;
        }
        let renewed_at = Instant::now();
        etcd.keep_alive(lease)?;
        update_ring(&etcd, &config.prefix, |record| {
            if let Some(member) = record.members.iter_mut().find(|m| m.id == config.id) {
                member.addr = config.addr.clone();
                member.zone = config.zone.clone();
                member.state = MemberState::Active;
                return Ok(true);
            }
            let ring = Ring::new(record.members.clone()).map_err(|e| MembershipError::BadRing {
                key: ring_key(&config.prefix),
                reason: e.to_string(),
            })?;
            let tokens = tokens_for_join(&ring, &config.id, config.tokens, config.replication);
            record.members.push(Member {
                id: config.id.clone(),
                addr: config.addr.clone(),
                zone: config.zone.clone(),
                state: MemberState::Active,
                tokens,
            });
            Ok(true)
        })?;
        let view = read_view(&etcd, &config.prefix)?;
        let membership = Membership {
            config,
            etcd,
            lease: Arc::new(AtomicI64::new(lease)),
            view: Arc::new(RwLock::new(view)),
            health: Arc::new(Mutex::new(EtcdHealth { reachable: true, ..EtcdHealth::default() })),
            lease_valid_until: Arc::new(Mutex::new(lease_deadline(renewed_at, ttl))),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(Vec::new()),
        };
        let threads = vec![membership.spawn_heartbeat(alive_key, heartbeat), membership.spawn_watch()];
        *membership.threads.lock().expect("threads lock") = threads;
        tracing::info!(id = %membership.config.id, "joined the cluster");
        Ok(membership)
    }

    /// What this node knows of the cluster now.
    pub fn view(&self) -> ClusterView {
        self.view.read().expect("view lock").clone()
    }

    /// Whether etcd answered the last heartbeat. While it does not, this node goes on
    /// with the last ring it saw, and ring changes (joins, drains) fail.
    pub fn etcd_health(&self) -> EtcdHealth {
        self.health.lock().expect("health lock").clone()
    }

    /// Whether this node's heartbeat lease surely still lives. When it may have expired,
    /// the others may already route around this node: it must not acknowledge writes (a
    /// node cut off from etcd and its peers would otherwise acknowledge on a minority side).
    pub fn lease_valid(&self) -> bool {
        Instant::now() < *self.lease_valid_until.lock().expect("lease lock")
    }

    /// This node's id.
    pub fn id(&self) -> &NodeId {
        &self.config.id
    }

    /// The etcd client this membership uses.
    pub fn etcd(&self) -> &Etcd {
        &self.etcd
    }

    /// Leaves cleanly: stops the heartbeat and revokes the lease, so others see this node
    /// gone at once rather than after the TTL. The ring entry stays (a restart rejoins it).
    pub fn leave(&self) {
        self.stop_threads();
        let _ = self.etcd.revoke_lease(self.lease.load(Ordering::SeqCst));
    }

    /// Stops the heartbeat and the watch without revoking the lease: what a crash looks
    /// like to the rest of the cluster (the lease expires after its TTL).
    pub fn abandon(&self) {
        self.stop_threads();
    }

    fn stop_threads(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let threads = std::mem::take(&mut *self.threads.lock().expect("threads lock"));
        for thread in threads {
            let _ = thread.join();
        }
    }

    fn spawn_heartbeat(&self, alive_key: String, heartbeat: Vec<u8>) -> JoinHandle<()> {
        let (etcd, lease, stop) = (self.etcd.clone(), self.lease.clone(), self.stop.clone());
        let health = self.health.clone();
        let valid_until = self.lease_valid_until.clone();
        let ttl = self.config.lease_ttl.max(Duration::from_secs(1));
        let period = ttl / 3;
        std::thread::Builder::new()
            .name("cluster-heartbeat".into())
            .spawn(move || {
                while !sleep_unless_stopped(&stop, period) {
                    let current = lease.load(Ordering::SeqCst);
                    let sent = Instant::now();
                    let outcome = match etcd.keep_alive(current) {
                        Ok(granted) => {
                            *valid_until.lock().expect("lease lock") = lease_deadline(sent, granted);
                            Ok(())
                        }
                        Err(EtcdError::LeaseExpired(_)) => {
                            tracing::warn!("the cluster heartbeat lease expired; registering again");
                            let renewed = etcd.grant_lease(ttl.as_secs() as i64).and_then(|new_lease| {
                                etcd.put(alive_key.as_bytes(), &heartbeat, new_lease)?;
                                Ok(new_lease)
                            });
                            renewed
                                .map(|new_lease| {
                                    lease.store(new_lease, Ordering::SeqCst);
                                    let granted = ttl.as_secs() as i64;
                                    *valid_until.lock().expect("lease lock") = lease_deadline(sent, granted);
                                })
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = &outcome {
                        tracing::warn!(error = %e, "cluster heartbeat failed; going on with the last ring seen");
                    }
                    health.lock().expect("health lock").record(outcome);
                }
            })
            .expect("spawning the heartbeat thread")
    }

    fn spawn_watch(&self) -> JoinHandle<()> {
        let (etcd, view, stop) = (self.etcd.clone(), self.view.clone(), self.stop.clone());
        let prefix = self.config.prefix.clone();
        let watched = format!("{}/", prefix.trim_end_matches('/'));
        std::thread::Builder::new()
            .name("cluster-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let from = view.read().expect("view lock").revision + 1;
                    let watched_ok = etcd.watch_prefix(watched.as_bytes(), from, |event| {
                        if let Some(event) = event {
                            view.write().expect("view lock").apply(&prefix, &event);
                        }
                        !stop.load(Ordering::SeqCst)
                    });
                    if let Err(e) = watched_ok {
                        // Compacted past our revision, or a server error: read afresh.
                        tracing::warn!(error = %e, "cluster watch broke; reading the ring again");
                        match read_view(&etcd, &prefix) {
                            Ok(fresh) => *view.write().expect("view lock") = fresh,
                            Err(e) => tracing::warn!(error = %e, "could not read the ring"),
                        }
                        sleep_unless_stopped(&stop, Duration::from_millis(500));
                    }
                }
            })
            .expect("spawning the watch thread")
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Until when a lease renewed (or granted) by a request sent at `sent` surely lives: etcd
/// starts its `ttl_seconds` no earlier than it receives the request; half a second of
/// margin covers the clocks' drift over a TTL.
fn lease_deadline(sent: Instant, ttl_seconds: i64) -> Instant {
    let ttl = Duration::from_secs(ttl_seconds.max(0) as u64);
    (sent + ttl).checked_sub(Duration::from_millis(500)).unwrap_or(sent)
}

/// Sleeps `period` in small steps; returns true as soon as `stop` is set.
fn sleep_unless_stopped(stop: &AtomicBool, period: Duration) -> bool {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < period {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(step);
        slept += step;
    }
    stop.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::KeyValue;

    fn put(key: &str, value: &[u8], revision: i64) -> WatchEvent {
        WatchEvent::Put(KeyValue {
            key: key.as_bytes().to_vec(),
            value: value.to_vec(),
            create_revision: revision,
            mod_revision: revision,
            lease: 0,
        })
    }

    #[test]
    fn an_active_member_without_a_heartbeat_is_failed_and_comes_back_with_one() {
        let record = RingRecord {
            members: vec![Member {
                id: NodeId("a".into()),
                addr: "127.0.0.1:1".into(),
                zone: None,
                state: MemberState::Active,
                tokens: vec![1, 2],
            }],
        };
        let mut view = ClusterView::default();
        view.apply("/p", &put("/p/ring", &serde_json::to_vec(&record).unwrap(), 2));
        assert_eq!(view.members()[0].state, MemberState::Failed);
        view.apply("/p", &put("/p/alive/a", b"{\"addr\":\"x\"}", 3));
        assert_eq!(view.members()[0].state, MemberState::Active);
        view.apply("/p", &WatchEvent::Delete { key: b"/p/alive/a".to_vec(), mod_revision: 4 });
        assert_eq!(view.members()[0].state, MemberState::Failed);
        assert_eq!(view.revision, 4);
    }

    #[test]
    fn a_ring_value_that_is_not_json_leaves_the_last_good_ring() {
        let mut view = ClusterView::default();
        view.apply("/p", &put("/p/ring", b"{\"members\":[]}", 2));
        view.apply("/p", &put("/p/ring", b"garbage", 3));
        assert_eq!(view.record, RingRecord::default());
        assert_eq!(view.revision, 3);
    }
}
