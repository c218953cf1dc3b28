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
//! Replication with quorum writes, query fan-out and re-replication build on these
//! (docs/cluster.md says what is built so far).

pub mod etcd;
pub mod membership;
pub mod ring;
pub mod simulation;
pub mod tokens;

pub use etcd::{Etcd, EtcdError};
pub use membership::{ClusterView, Membership, MembershipConfig, MembershipError, RingRecord};
pub use ring::{series_token, Member, MemberState, NodeId, Placement, Ring, RingError};
pub use simulation::{simulate, SimulationOptions, SimulationReport, SizeReport};
pub use tokens::tokens_for_join;
