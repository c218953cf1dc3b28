//! Strata's cluster: many nodes running the same binary hold the data together.
//!
//! - [`ring`]: the token ring — members, their tokens, and which members hold a series
//!   (the first `rf` distinct members clockwise from the series' hash, optionally one zone
//!   at a time).
//! - [`tokens`]: how a joining member chooses its tokens so shares stay even and only the
//!   newcomer's share moves.
//! - [`simulation`]: the ring at any size on paper — spread, series moved on join and
//!   leave, and a throughput model (`strata cluster simulate`).
//!
//! - [`etcd`]: a small etcd v3 client over its JSON gateway (no protoc, no gRPC).
//! - [`membership`]: the ring and each member's heartbeat in etcd — joining by
//!   compare-and-swap, a lease kept alive, a watch keeping every node's view current.
//!
//! - [`replication`]: where a write's series go and when the write counts as written (a
//!   quorum of each series' replicas).
//! - [`forward`]: the inter-node requests — remote write for copies, remote read for
//!   fan-out — marked so they are not forwarded again.
//! - [`merge`]: one answer from several replicas' (each sample once, a fixed rule for
//!   conflicts).
//! - [`handoff`]: the copies a failed member missed, kept and delivered when it returns.
//! - [`repair_plan`]: after ring changes, which series each node sends to which members,
//!   from when; [`repair`]: the thread that does it (re-replication, rebalancing),
//!   with progress; [`cleanup`]: a node hands over the series it no longer owns and deletes
//!   its copies (a join's copy made a move).
//! - [`node`]: a node's part: replicate a write, read from every replica as a PromQL store,
//!   re-replicate.

pub mod cleanup;
pub mod etcd;
pub mod forward;
pub mod handoff;
pub mod membership;
pub mod merge;
pub mod node;
pub mod repair;
pub mod repair_plan;
mod replica_load;
pub mod replication;
pub mod ring;
pub mod simulation;
pub mod tokens;

pub use etcd::{Etcd, EtcdError};
pub use forward::{decode_backfill_request, BackfillAnswer, Forwarder, BACKFILL_PATH, FORWARDED_HEADER};
pub use membership::{ClusterView, EtcdHealth, Membership, MembershipConfig, MembershipError, RingRecord};
pub use node::{ClusterNode, ClusterOptions, ClusterReader};
pub use repair::{PassProgress, RepairSource, RepairStatus};
pub use replication::{SendError, SeriesSamples, WriteOutcome};
pub use ring::{series_token, Member, MemberState, NodeId, Placement, Ring, RingError};
pub use simulation::{simulate, SimulationOptions, SimulationReport, SizeReport};
pub use tokens::tokens_for_join;
