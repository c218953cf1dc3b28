//! Arbitrary bytes as what a cluster node reads from outside: the ring's JSON from etcd
//! (`decode_ring`, then placement over it), another node's remote-read answer
//! (`decode_read_response`) and another node's backfill (`decode_backfill_request`, whose
//! series come out sorted, one sample per timestamp): a value, or an error naming the
//! problem; never a panic. The first byte picks which, so one corpus grows for all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_cluster::forward::{decode_backfill_request, decode_read_response};
use strata_cluster::membership::decode_ring;
use strata_cluster::Placement;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    if kind % 2 == 0 {
        if let Ok(ring) = decode_ring(bytes) {
            let shares: f64 = ring.ownership().iter().sum();
            assert!(ring.token_count() == 0 || (shares - 1.0).abs() < 1e-6, "shares sum to {shares}");
            for point in [0, u64::MAX / 3, u64::MAX] {
                let rf = 1 + kind as usize % 4;
                let replicas = ring.replicas(point, Placement { rf, zone_aware: kind & 4 != 0 });
                assert!(replicas.len() <= rf);
            }
        }
    } else if kind % 4 == 1 {
        let _ = decode_read_response(bytes);
    } else if let Ok(series) = decode_backfill_request(bytes, 1 << 24) {
        for s in series {
            assert!(s.samples.windows(2).all(|w| w[0].0 < w[1].0), "{} not sorted", s.labels);
        }
    }
});
