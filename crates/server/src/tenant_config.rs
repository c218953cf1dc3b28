//! Tenant settings as users write them —
//!
//! ```toml
//! multi-tenant = true            # also --multi-tenant
//!
//! [tenants.acme]
//! max-series = 100000            # active series of the tenant
//! ingest-rate = 50000            # samples a second (429 past it)
//! ingest-burst = 100000          # samples at once (default: one second's worth)
//! retention = "30d"              # how long its samples are kept
//! ```
//!
//! A tenant's series limit and retention become a series limit and a retention rule on the
//! selector `{__tenant__="acme"}` (modules `cardinality_config`, `retention_config`), so
//! they are enforced, reported and reloaded as those are; for retention that means the
//! longest rule matching a series wins, a tenant's included. The ingest rate is the
//! server's (`strata_tenant::RateLimiter`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use strata_cardinality::SeriesLimit;
use strata_model::Matcher;
use strata_storage::RetentionRule;
use strata_tenant::{Rate, TenantId, TENANT_LABEL};

use crate::config::{ConfigError, ServerConfig};
use crate::params::parse_duration;

/// One `[tenants.<id>]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TenantSettings {
    pub max_series: Option<u64>,
    pub ingest_rate: Option<u64>,
    pub ingest_burst: Option<u64>,
    pub retention: Option<String>,
}

/// The selector of a tenant's series, as limits and rules show it.
fn selector(tenant: &TenantId) -> (String, Vec<Matcher>) {
    (format!("{{{TENANT_LABEL}=\"{tenant}\"}}"), vec![Matcher::equal(TENANT_LABEL, tenant.as_str())])
}

impl ServerConfig {
    /// The `[tenants]` tables by checked id; an error unless the server is multi-tenant.
    fn tenant_settings(&self) -> Result<Vec<(TenantId, &TenantSettings)>, ConfigError> {
        if !self.tenants.is_empty() && !self.multi_tenant {
            return Err(ConfigError("[tenants] settings need multi-tenant = true".into()));
        }
        self.tenants
            .iter()
            .map(|(id, s)| {
                let tenant = TenantId::parse(id).map_err(|e| ConfigError(format!("[tenants.{id}]: {e}")))?;
                Ok((tenant, s))
            })
            .collect()
    }

    /// Checks the tenant settings and what multi-tenancy rules out.
    pub(crate) fn validate_tenants(&self) -> Result<(), ConfigError> {
        if self.multi_tenant && self.influx_tcp_listen.is_some() {
            return Err(ConfigError(
                "influx-tcp-listen cannot be used with multi-tenant: a raw TCP connection cannot name its tenant"
                    .into(),
            ));
        }
        self.tenant_series_limits()?;
        self.tenant_retention_rules()?;
        self.tenant_rates()?;
        Ok(())
    }

    /// Each tenant's `max-series` as a series limit.
    pub(crate) fn tenant_series_limits(&self) -> Result<Vec<SeriesLimit>, ConfigError> {
        Ok(self
            .tenant_settings()?
            .into_iter()
            .filter_map(|(t, s)| {
                let (selector, matchers) = selector(&t);
                s.max_series.map(|max| SeriesLimit { selector, matchers, max })
            })
            .collect())
    }

    /// Each tenant's `retention` as a retention rule.
    pub(crate) fn tenant_retention_rules(&self) -> Result<Vec<RetentionRule>, ConfigError> {
        let mut rules = Vec::new();
        for (t, s) in self.tenant_settings()? {
            let Some(text) = &s.retention else { continue };
            let keep = match parse_duration(text) {
                Ok(ms) if ms > 0 => ms,
                Ok(_) => {
                    return Err(ConfigError(format!(
                        "[tenants.{t}]: retention must be positive, got {text:?}"
                    )))
                }
                Err(e) => return Err(ConfigError(format!("[tenants.{t}]: retention: {e}"))),
            };
            let (selector, matchers) = selector(&t);
            rules.push(RetentionRule { selector, matchers: vec![matchers], keep });
        }
        Ok(rules)
    }

    /// Each tenant's ingest rate.
    pub(crate) fn tenant_rates(&self) -> Result<HashMap<TenantId, Rate>, ConfigError> {
        let mut rates = HashMap::new();
        for (t, s) in self.tenant_settings()? {
            match (s.ingest_rate, s.ingest_burst) {
                (None, None) => {}
                (None, Some(_)) => {
                    return Err(ConfigError(format!("[tenants.{t}]: ingest-burst needs ingest-rate")))
                }
                (Some(0), _) => {
                    return Err(ConfigError(format!("[tenants.{t}]: ingest-rate must be at least 1")))
                }
                (Some(rate), burst) => {
                    let burst = burst.unwrap_or(rate).max(1);
                    rates.insert(t, Rate { per_second: rate as f64, burst: burst as f64 });
                }
            }
        }
        Ok(rates)
    }
}

/// The `tenants` field's type.
pub(crate) type TenantTable = BTreeMap<String, TenantSettings>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_limits_rules_and_rates() {
        let c: ServerConfig = toml::from_str(
            r#"
multi-tenant = true
[tenants.acme]
max-series = 10
ingest-rate = 500
retention = "30d"
[tenants.beta]
ingest-rate = 5
ingest-burst = 50
"#,
        )
        .unwrap();
        c.validate().unwrap();
        let limits = c.limits().unwrap();
        assert_eq!(limits.series_limits.len(), 1);
        assert_eq!(limits.series_limits[0].selector, "{__tenant__=\"acme\"}");
        assert_eq!(limits.series_limits[0].max, 10);
        let policy = c.retention_policy().unwrap();
        assert_eq!(policy.rules.len(), 1);
        assert_eq!(policy.rules[0].keep, 30 * 86_400_000);
        let rates = c.tenant_rates().unwrap();
        assert_eq!(rates[&TenantId::parse("beta").unwrap()], Rate { per_second: 5.0, burst: 50.0 });
        assert_eq!(rates[&TenantId::parse("acme").unwrap()].burst, 500.0);
    }

    #[test]
    fn mistakes_name_the_tenant_and_the_setting() {
        let err = |text: &str| toml::from_str::<ServerConfig>(text).unwrap().validate().unwrap_err().0;
        assert!(err("[tenants.acme]\nmax-series = 1\n").contains("need multi-tenant"));
        assert!(err("multi-tenant = true\n[tenants.\"a/b\"]\nmax-series = 1\n").contains("[tenants.a/b]"));
        assert!(err("multi-tenant = true\n[tenants.acme]\nretention = \"soon\"\n")
            .contains("[tenants.acme]: retention"));
        assert!(err("multi-tenant = true\n[tenants.acme]\ningest-burst = 5\n").contains("needs ingest-rate"));
        assert!(err("multi-tenant = true\ninflux-tcp-listen = \"127.0.0.1:0\"\n")
            .contains("cannot name its tenant"));
        assert!(
            toml::from_str::<ServerConfig>("multi-tenant = true\n[tenants.acme]\nmax-seriez = 1\n").is_err()
        );
    }
}
