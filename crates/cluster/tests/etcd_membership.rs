//! Membership against a real etcd (Debian `etcd-server`): joins by compare-and-swap,
//! heartbeats by lease, failure seen through the watch within the stated bound, an id
//! alive only once, tokens kept across a restart.
//!
//! Skipped (loudly) without etcd, failed under CI=true.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use strata_cluster::membership::{read_view, remove_member, set_state};
use strata_cluster::{Etcd, MemberState, Membership, MembershipConfig, MembershipError, NodeId};
use strata_testkit::{peer_binary, EtcdServer};

fn etcd() -> Option<(tempfile::TempDir, EtcdServer)> {
    let binary = peer_binary("etcd", "etcd-server")?;
    let dir = tempfile::tempdir().unwrap();
    let server = EtcdServer::start(&binary, dir.path());
    Some((dir, server))
}

fn config(server: &EtcdServer, id: &str) -> MembershipConfig {
    let mut config = MembershipConfig::new(vec![server.url()], id, &format!("127.0.0.1:{}", 9000 + id.len()));
    config.prefix = "/test/cluster".into();
    config.lease_ttl = Duration::from_secs(2);
    config
}

/// Waits until `check` holds on `member`'s view, or panics after `limit`.
fn wait_for(
    member: &Membership,
    limit: Duration,
    what: &str,
    check: impl Fn(&strata_cluster::ClusterView) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if check(&member.view()) {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not seen within {limit:?}; view: {:?}", member.view());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state_of(view: &strata_cluster::ClusterView, id: &str) -> Option<MemberState> {
    view.members().into_iter().find(|m| m.id.0 == id).map(|m| m.state)
}

#[test]
fn nodes_joining_at_once_all_get_distinct_tokens_and_see_each_other() {
    let Some((_dir, server)) = etcd() else { return };
    let joined: Vec<Membership> = std::thread::scope(|scope| {
        let handles: Vec<_> = ["n1", "n2", "n3", "n4"]
            .iter()
            .map(|id| {
                let config = config(&server, id);
                scope.spawn(move || Membership::join(config).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for member in &joined {
        wait_for(member, Duration::from_secs(5), "all four members", |view| {
            view.record.members.len() == 4 && view.alive.len() == 4
        });
    }
    let view = joined[0].view();
    let ring = view.ring().expect("no token is held twice");
    assert_eq!(ring.token_count(), 4 * 256);
    let tokens: HashSet<u64> = view.record.members.iter().flat_map(|m| m.tokens.iter().copied()).collect();
    assert_eq!(tokens.len(), 4 * 256);
    // Compare-and-swap made the joins one after another: shares are even, not what four
    // nodes computing from the same empty ring would get.
    let shares = ring.ownership();
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    let max = shares.iter().copied().fold(0.0, f64::max);
    assert!(max / mean < 1.1, "shares {shares:?}");
    // Every node computes the same ring.
    for member in &joined[1..] {
        assert_eq!(member.view().record, view.record);
    }
    for member in joined {
        member.leave();
    }
}

#[test]
fn a_node_that_stops_heartbeating_is_seen_failed_within_the_lease_ttl() {
    let Some((_dir, server)) = etcd() else { return };
    let a = Membership::join(config(&server, "a")).unwrap();
    let b = Membership::join(config(&server, "b")).unwrap();
    wait_for(&a, Duration::from_secs(5), "b alive", |v| state_of(v, "b") == Some(MemberState::Active));
    // A crash: the heartbeat stops, the lease is not revoked.
    let crashed = Instant::now();
    b.abandon();
    let limit = Duration::from_secs(10);
    wait_for(&a, limit, "b failed", |v| state_of(v, "b") == Some(MemberState::Failed));
    let seen = crashed.elapsed();
    // The 2 s lease ran out; it was not cut short.
    assert!(seen >= Duration::from_millis(1200), "b was seen failed after only {seen:?}");
    // a itself stays alive all along: its heartbeat keeps its 2 s lease.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(state_of(&a.view(), "a"), Some(MemberState::Active));
    a.leave();
}

#[test]
fn an_id_is_alive_once_and_a_restart_keeps_its_tokens() {
    let Some((_dir, server)) = etcd() else { return };
    let first = Membership::join(config(&server, "n1")).unwrap();
    let other = Membership::join(config(&server, "n2")).unwrap();
    match Membership::join(config(&server, "n1")) {
        Err(MembershipError::AlreadyAlive { id, addr }) => {
            assert_eq!(id, NodeId("n1".into()));
            assert_eq!(addr, "127.0.0.1:9002");
        }
        other => panic!("a second n1 was let in: {other:?}"),
    }
    let tokens_before = first.view().record.members.iter().find(|m| m.id.0 == "n1").unwrap().tokens.clone();
    // A clean leave revokes the lease: others see it gone at once, not after the TTL.
    let left = Instant::now();
    first.leave();
    wait_for(&other, Duration::from_secs(1), "n1 gone after leave", |v| {
        state_of(v, "n1") == Some(MemberState::Failed)
    });
    assert!(left.elapsed() < Duration::from_secs(1));
    let again = Membership::join(config(&server, "n1")).unwrap();
    let view = again.view();
    let member = view.record.members.iter().find(|m| m.id.0 == "n1").unwrap();
    assert_eq!(member.tokens, tokens_before, "a restart moved n1's tokens");
    assert_eq!(view.record.members.len(), 2);
    again.leave();
    other.leave();
}

#[test]
fn drain_and_removal_change_the_ring_for_every_watcher() {
    let Some((_dir, server)) = etcd() else { return };
    let a = Membership::join(config(&server, "a")).unwrap();
    let b = Membership::join(config(&server, "b")).unwrap();
    let etcd = Etcd::new(&[server.url()], Duration::from_secs(5));
    set_state(&etcd, "/test/cluster", &NodeId("b".into()), MemberState::Leaving).unwrap();
    wait_for(&a, Duration::from_secs(5), "b leaving", |v| state_of(v, "b") == Some(MemberState::Leaving));
    b.leave();
    remove_member(&etcd, "/test/cluster", &NodeId("b".into())).unwrap();
    wait_for(&a, Duration::from_secs(5), "b removed", |v| state_of(v, "b").is_none());
    // A one-shot read (what `strata cluster status` does) agrees with the watcher.
    let read = read_view(&etcd, "/test/cluster").unwrap();
    assert_eq!(read.record, a.view().record);
    assert!(matches!(
        set_state(&etcd, "/test/cluster", &NodeId("zz".into()), MemberState::Leaving),
        Err(MembershipError::NotAMember(_))
    ));
    a.leave();
}

#[test]
fn an_unreachable_etcd_is_named_in_the_error() {
    let port = strata_testkit::free_port();
    let mut config = MembershipConfig::new(vec![format!("http://127.0.0.1:{port}")], "x", "127.0.0.1:1");
    config.lease_ttl = Duration::from_secs(1);
    let error = Membership::join(config).unwrap_err().to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")) && error.contains("unreachable"), "{error}");
}

#[test]
fn a_node_restarted_right_after_a_crash_waits_out_its_old_lease_and_rejoins() {
    let Some((_dir, server)) = etcd() else { return };
    let crashed = Membership::join(config(&server, "n1")).unwrap();
    let tokens = crashed.view().record.members[0].tokens.clone();
    crashed.abandon();
    let restarted_at = Instant::now();
    let again =
        Membership::join(config(&server, "n1")).expect("the restart waits for the old lease, then joins");
    let waited = restarted_at.elapsed();
    assert!(waited < Duration::from_secs(5), "waited {waited:?} for a 2 s lease");
    assert_eq!(again.view().record.members[0].tokens, tokens);
    assert!(again.lease_valid());
    again.leave();
}
