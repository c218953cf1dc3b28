//! The cluster settings as users write them (docs/cluster.md). Off unless etcd is named;
//! in the TOML file
//!
//! ```toml
//! [cluster]
//! etcd = ["http://10.0.0.5:2379"]
//! node-id = "node-1"
//! advertise = "10.0.0.11:9090"   # where other nodes reach this one's HTTP API
//! zone = "a"                     # optional
//! replication-factor = 3
//! zone-aware = false
//! hint-memory = "64MiB"          # copies kept for failed members until they return
//! repair-delay = "60s"           # the ring unchanged this long: re-replication starts
//! ```
//!
//! or on the command line `--cluster-etcd`, `--node-id`, `--cluster-advertise`, …
//! Every mistake names the setting.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_cluster::membership::DEFAULT_PREFIX;
use strata_cluster::{ClusterOptions, MembershipConfig, Placement};

use crate::config::{ConfigError, ServerConfig};
use crate::params::parse_duration;

/// `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterConfig {
    /// etcd's client URLs; empty: no cluster (a single node).
    pub etcd: Vec<String>,
    /// This node's id, unique in the cluster.
    pub node_id: Option<String>,
    /// Where other nodes reach this node's HTTP API (`host:port`); default: `listen`.
    pub advertise: Option<String>,
    /// This node's failure domain.
    pub zone: Option<String>,
    /// The etcd key prefix of this cluster.
    pub prefix: String,
    /// Copies of each series.
    pub replication_factor: usize,
    /// Keep a series' copies in different zones.
    pub zone_aware: bool,
    /// Tokens a new member takes on the ring.
    pub tokens: usize,
    /// The heartbeat lease: how long a dead node still counts as alive.
    pub lease_ttl: String,
    /// How long a request to another node may take.
    pub request_timeout: String,
    /// Memory for hints: the copies failed members missed, delivered when they return.
    pub hint_memory: String,
    /// How long the ring must stay unchanged before re-replication copies history.
    pub repair_delay: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            etcd: Vec::new(),
            node_id: None,
            advertise: None,
            zone: None,
            prefix: DEFAULT_PREFIX.into(),
            replication_factor: 3,
            zone_aware: false,
            tokens: 256,
            lease_ttl: "5s".into(),
            request_timeout: "10s".into(),
            hint_memory: "64MiB".into(),
            repair_delay: "60s".into(),
        }
    }
}

impl ServerConfig {
    /// How this node joins a cluster, or `None` when it runs alone.
    pub fn cluster_options(&self) -> Result<Option<ClusterOptions>, ConfigError> {
        let c = &self.cluster;
        if c.etcd.is_empty() {
            return Ok(None);
        }
        let id = c
            .node_id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ConfigError("cluster: node-id is required when etcd is set".into()))?;
        if !id.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            return Err(ConfigError(format!(
                "cluster: node-id {id:?} may hold only letters, digits, '-', '_' and '.'"
            )));
        }
        if c.replication_factor == 0 {
            return Err(ConfigError("cluster: replication-factor must be at least 1".into()));
        }
        if c.tokens == 0 {
            return Err(ConfigError("cluster: tokens must be at least 1".into()));
        }
        let addr = c.advertise.clone().unwrap_or_else(|| self.listen.clone());
        if addr.starts_with("0.0.0.0") || addr.starts_with("[::]") {
            return Err(ConfigError(format!(
                "cluster: this node listens on {addr}, which other nodes cannot dial; set advertise"
            )));
        }
        let mut membership = MembershipConfig::new(c.etcd.clone(), &id, &addr);
        membership.prefix = c.prefix.clone();
        membership.zone = c.zone.clone();
        membership.tokens = c.tokens;
        membership.replication = c.replication_factor;
        membership.lease_ttl = seconds("lease-ttl", &c.lease_ttl)?;
        if membership.lease_ttl < Duration::from_secs(1) {
            return Err(ConfigError("cluster: lease-ttl must be at least 1s".into()));
        }
        Ok(Some(ClusterOptions {
            membership,
            placement: Placement { rf: c.replication_factor, zone_aware: c.zone_aware },
            request_timeout: seconds("request-timeout", &c.request_timeout)?,
            hint_bytes: strata_model::size::parse_size(&c.hint_memory)
                .map_err(|e| ConfigError(format!("cluster: hint-memory: {e}")))?
                as usize,
            repair_delay: seconds("repair-delay", &c.repair_delay)?,
        }))
    }
}

fn seconds(name: &str, text: &str) -> Result<Duration, ConfigError> {
    match parse_duration(text) {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms as u64)),
        Ok(_) => Err(ConfigError(format!("cluster: {name} must be positive, got {text:?}"))),
        Err(e) => Err(ConfigError(format!("cluster: {name}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_without_etcd_and_every_mistake_named() {
        assert!(ServerConfig::default().cluster_options().unwrap().is_none());
        let mut c = ServerConfig::default();
        c.cluster.etcd = vec!["http://127.0.0.1:2379".into()];
        assert!(c.cluster_options().unwrap_err().0.contains("node-id is required"));
        c.cluster.node_id = Some("n 1".into());
        assert!(c.cluster_options().unwrap_err().0.contains("node-id"));
        c.cluster.node_id = Some("n1".into());
        c.cluster.lease_ttl = "0s".into();
        assert!(c.cluster_options().unwrap_err().0.contains("lease-ttl"));
        c.cluster.lease_ttl = "5s".into();
        c.cluster.repair_delay = "soon".into();
        assert!(c.cluster_options().unwrap_err().0.contains("repair-delay"));
        c.cluster.repair_delay = "60s".into();
        c.listen = "0.0.0.0:9090".into();
        assert!(c.cluster_options().unwrap_err().0.contains("advertise"));
        c.cluster.advertise = Some("10.0.0.1:9090".into());
        let options = c.cluster_options().unwrap().unwrap();
        assert_eq!(options.membership.addr, "10.0.0.1:9090");
        assert_eq!(options.placement.rf, 3);
    }

    #[test]
    fn the_toml_section_is_read() {
        let c: ServerConfig = toml::from_str(
            "[cluster]\netcd = [\"http://e:2379\"]\nnode-id = \"a\"\nreplication-factor = 2\nzone = \"z1\"\n",
        )
        .unwrap();
        let options = c.cluster_options().unwrap().unwrap();
        assert_eq!((options.placement.rf, options.membership.zone.as_deref()), (2, Some("z1")));
        assert!(toml::from_str::<ServerConfig>("[cluster]\nreplicas = 2\n").is_err());
    }
}
