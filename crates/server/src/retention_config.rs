//! The retention, shard and tier settings as users write them, turned into the storage's
//! [`RetentionPolicy`], shard duration and cold tier: `retention = "15d"` (`"0"`: keep
//! forever), `retention-size = "50GB"`, `shard-duration = "1d"`, `cold-dir` with
//! `cold-after = "7d"`, and per-selector rules in the TOML file —
//!
//! ```toml
//! retention-rules = [
//!   { match = '{__name__=~"debug_.*"}', keep = "2d" },
//!   { match = '{job="node"}', keep = "90d" },
//! ]
//! ```
//!
//! (`retention_rules` is accepted too). The longest matching rule wins; the global
//! retention applies to the rest (`strata_storage::RetentionPolicy`). Every mistake names
//! the setting and, for a rule, its place in the list.

use serde::{Deserialize, Serialize};
use strata_storage::{BlockEngineOptions, RetentionPolicy, RetentionRule};
use strata_wal::WalOptions;

use crate::config::{ConfigError, ServerConfig};
use crate::params::parse_duration;

/// One `retention-rules` entry as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRuleConfig {
    /// A series selector, `{job="node"}` or `debug_total{env="dev"}`.
    #[serde(rename = "match")]
    pub selector: String,
    /// How long the series it selects are kept (a Prometheus duration).
    pub keep: String,
}

impl ServerConfig {
    /// The shard duration, ms.
    pub fn shard_duration_ms(&self) -> Result<i64, ConfigError> {
        self.duration_ms("shard-duration", &self.shard_duration)
    }

    /// The block range, ms: the configured one, shortened to the shard duration when that
    /// is shorter (`--shard-duration 1h` works with the 2h default). It must divide the
    /// shard duration.
    pub fn block_range_ms(&self) -> Result<i64, ConfigError> {
        let shard = self.shard_duration_ms()?;
        let range = self.duration_ms("block-range", &self.block_range)?.min(shard);
        if shard % range != 0 {
            return Err(ConfigError(format!(
                "block-range {} must divide shard-duration {}",
                self.block_range, self.shard_duration
            )));
        }
        Ok(range)
    }

    /// The block engine's options these settings give (WAL, blocks, shards, retention,
    /// tiers), for the server and for the tools that open its data dir.
    pub fn engine_options(&self) -> Result<BlockEngineOptions, ConfigError> {
        let shard_duration = self.shard_duration_ms()?;
        Ok(BlockEngineOptions {
            block_range: self.block_range_ms()?,
            max_block_range: shard_duration,
            shard_duration,
            retention: self.retention_policy()?,
            cold_dir: self.cold_dir.clone(),
            cold_after: self.cold_after_ms()?,
            wal: WalOptions { policy: self.sync_policy()?, ..WalOptions::default() },
            ..BlockEngineOptions::default()
        })
    }

    /// The cold tier's `cold-after`, ms; both it and `cold-dir` or neither.
    pub fn cold_after_ms(&self) -> Result<Option<i64>, ConfigError> {
        match (&self.cold_dir, &self.cold_after) {
            (None, None) => Ok(None),
            (Some(_), Some(after)) => self.duration_ms("cold-after", after).map(Some),
            (Some(_), None) => Err(ConfigError("cold-dir needs cold-after (e.g. 7d)".into())),
            (None, Some(_)) => Err(ConfigError("cold-after needs cold-dir".into())),
        }
    }

    /// The retention policy the settings describe.
    pub fn retention_policy(&self) -> Result<RetentionPolicy, ConfigError> {
        let time = match self.retention.trim() {
            "0" | "0s" => None,
            text => Some(self.duration_ms("retention", text)?),
        };
        let size = self
            .retention_size
            .as_deref()
            .map(|text| {
                strata_model::size::parse_size(text).map_err(|e| ConfigError(format!("retention-size: {e}")))
            })
            .transpose()?;
        let mut rules: Vec<RetentionRule> =
            self.retention_rules.iter().enumerate().map(|(i, r)| rule(i, r)).collect::<Result<_, _>>()?;
        rules.extend(self.tenant_retention_rules()?);
        Ok(RetentionPolicy { time, size, rules })
    }
}

fn rule(i: usize, r: &RetentionRuleConfig) -> Result<RetentionRule, ConfigError> {
    let at = format!("retention-rules[{i}]");
    let matchers = strata_promql::parse_metric_selector(&r.selector)
        .map_err(|e| ConfigError(format!("{at}: match {:?}: {e}", r.selector)))?;
    let keep = match parse_duration(&r.keep) {
        Ok(ms) if ms > 0 => ms,
        Ok(_) => return Err(ConfigError(format!("{at}: keep must be positive, got {:?}", r.keep))),
        Err(e) => return Err(ConfigError(format!("{at}: keep: {e}"))),
    };
    Ok(RetentionRule { selector: r.selector.clone(), matchers, keep })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 86_400_000;

    #[test]
    fn the_issues_example_reads_and_the_longest_rule_wins() {
        let c: ServerConfig = toml::from_str(
            r#"
retention = "15d"
retention-size = "50GB"
retention_rules = [{ match = '{__name__=~"debug_.*"}', keep = "2d" }, { match = '{job="node"}', keep = "90d" }]
"#,
        )
        .unwrap();
        c.validate().unwrap();
        let p = c.retention_policy().unwrap();
        assert_eq!((p.time, p.size, p.rules.len()), (Some(15 * D), Some(50_000_000_000), 2));
        let l = strata_model::Labels::from_pairs([("__name__", "debug_x"), ("job", "node")]).unwrap();
        assert_eq!(p.keep_for(&l), Some(90 * D));
    }

    #[test]
    fn mistakes_name_the_setting() {
        let bad = |toml: &str| toml::from_str::<ServerConfig>(toml).unwrap().validate().unwrap_err().0;
        assert!(bad(r#"retention = "15x""#).starts_with("retention:"));
        assert!(bad(r#"retention-size = "50XB""#).starts_with("retention-size:"));
        assert!(bad(r#"shard-duration = "0s""#).starts_with("shard-duration"));
        assert!(bad(r#"shard-duration = "5h""#).contains("must divide shard-duration"));
        let e = bad(
            r#"retention-rules = [{ match = '{job="a"}', keep = "1d" }, { match = '{job=', keep = "1d" }]"#,
        );
        assert!(e.starts_with("retention-rules[1]: match \"{job=\""), "{e}");
        let e = bad(r#"retention-rules = [{ match = '{job="a"}', keep = "soon" }]"#);
        assert!(e.starts_with("retention-rules[0]: keep"), "{e}");
        assert!(
            toml::from_str::<ServerConfig>(r#"retention-rules = [{ matches = "x", keep = "1d" }]"#).is_err()
        );
    }

    #[test]
    fn a_short_shard_shortens_the_block_range_and_zero_keeps_forever() {
        let c =
            ServerConfig { shard_duration: "1h".into(), retention: "0".into(), ..ServerConfig::default() };
        c.validate().unwrap();
        assert_eq!(c.block_range_ms().unwrap(), 3_600_000);
        assert!(c.retention_policy().unwrap().time.is_none());
    }
}
