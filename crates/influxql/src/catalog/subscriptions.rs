//! Subscriptions, kept per database as InfluxDB keeps them in its meta store: a name, the
//! retention policy whose writes they receive, a mode (ALL: every destination gets every
//! point; ANY: each batch goes to one, in turn) and the destinations' URLs (`udp://`,
//! `http://`). DROP DATABASE and DROP RETENTION POLICY drop theirs.

use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError};

/// A subscription as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub name: String,
    pub policy: String,
    /// ANY rather than ALL.
    pub any: bool,
    pub destinations: Vec<String>,
}

impl Subscription {
    /// `ALL` or `ANY`.
    pub fn mode(&self) -> &'static str {
        if self.any {
            "ANY"
        } else {
            "ALL"
        }
    }
}

/// Whether `url` is a destination Strata can send to: `udp://` or `http://` with a host
/// and a port. (InfluxDB also takes `https://`; Strata refuses it rather than accept a
/// subscription it cannot serve: the server has no TLS client yet.)
pub fn check_destination(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Err(format!(
            "https subscription destinations are not supported yet: {url} (use http or udp)"
        ));
    }
    let rest = ["udp://", "http://"].iter().find_map(|scheme| url.strip_prefix(scheme));
    let Some(rest) = rest else {
        return Err(format!("invalid subscription URL: {url} (the scheme must be udp or http)"));
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("invalid subscription URL: {url} (it needs a host and a port)")),
    }
}

impl Catalog {
    /// Every database's subscriptions: `(database, subscriptions)` in creation order.
    pub fn subscriptions(&self) -> Vec<(String, Vec<Subscription>)> {
        let guard = self.read();
        guard.state.databases.iter().map(|d| (d.name.clone(), d.subscriptions.clone())).collect()
    }

    /// The retention policy a write to `database` with `policy` (`None` or empty: the
    /// database's default) goes to, and that policy's subscriptions; `None` when the
    /// database does not exist. One read of the catalog and no copy of the database: the
    /// write path asks per request.
    pub fn subscriptions_of(
        &self,
        database: &str,
        policy: Option<&str>,
    ) -> Option<(String, Vec<Subscription>)> {
        let guard = self.read();
        let db = guard.database(database)?;
        let policy = policy.filter(|p| !p.is_empty()).unwrap_or(&db.default_policy);
        let subscriptions = db.subscriptions.iter().filter(|s| s.policy == policy).cloned().collect();
        Some((policy.to_string(), subscriptions))
    }

    /// CREATE SUBSCRIPTION; `Err` is the statement's error text.
    pub fn create_subscription(
        &self,
        database: &str,
        subscription: Subscription,
    ) -> Result<Result<(), String>, CatalogError> {
        if let Some(e) = subscription.destinations.iter().find_map(|url| check_destination(url).err()) {
            return Ok(Err(e));
        }
        self.change_database(database, |db| {
            if !db.policies.iter().any(|p| p.name == subscription.policy) {
                return Err(format!("retention policy not found: {}", subscription.policy));
            }
            if db.subscriptions.iter().any(|s| s.name == subscription.name && s.policy == subscription.policy)
            {
                return Err("subscription already exists".into());
            }
            db.subscriptions.push(subscription);
            Ok(true)
        })
    }

    /// DROP SUBSCRIPTION; `Err` is the statement's error text.
    pub fn drop_subscription(
        &self,
        database: &str,
        policy: &str,
        name: &str,
    ) -> Result<Result<(), String>, CatalogError> {
        self.change_database(database, |db| {
            let before = db.subscriptions.len();
            db.subscriptions.retain(|s| !(s.name == name && s.policy == policy));
            if db.subscriptions.len() == before {
                return Err("subscription not found".into());
            }
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(name: &str, destinations: &[&str]) -> Subscription {
        Subscription {
            name: name.into(),
            policy: "autogen".into(),
            any: false,
            destinations: destinations.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn subscriptions_are_checked_kept_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        let s = subscription("s", &["udp://127.0.0.1:9000"]);
        assert_eq!(
            catalog.create_subscription("db0", s.clone()).unwrap(),
            Err("database not found: db0".into())
        );
        catalog.create_database("db0", None).unwrap().unwrap();
        let bad = subscription("b", &["tcp://127.0.0.1:1"]);
        assert!(catalog
            .create_subscription("db0", bad)
            .unwrap()
            .unwrap_err()
            .contains("invalid subscription URL"));
        let no_port = subscription("b", &["http://host"]);
        assert!(catalog.create_subscription("db0", no_port).unwrap().is_err());
        let other_rp = Subscription { policy: "nope".into(), ..s.clone() };
        assert_eq!(
            catalog.create_subscription("db0", other_rp).unwrap(),
            Err("retention policy not found: nope".into())
        );
        catalog.create_subscription("db0", s.clone()).unwrap().unwrap();
        assert_eq!(
            catalog.create_subscription("db0", s.clone()).unwrap(),
            Err("subscription already exists".into())
        );
        drop(catalog);
        let again = Catalog::open(dir.path()).unwrap();
        assert_eq!(again.subscriptions_of("db0", None), Some(("autogen".to_string(), vec![s.clone()])));
        assert_eq!(again.subscriptions_of("db0", Some("autogen")), Some(("autogen".to_string(), vec![s])));
        assert_eq!(again.subscriptions_of("db0", Some("other")), Some(("other".to_string(), Vec::new())));
        assert_eq!(again.subscriptions_of("nodb", None), None);
        assert_eq!(again.drop_subscription("db0", "autogen", "s").unwrap(), Ok(()));
        assert_eq!(
            again.drop_subscription("db0", "autogen", "s").unwrap(),
            Err("subscription not found".into())
        );
    }
}
