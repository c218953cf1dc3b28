//! The rollup settings as users write them (docs/rollups.md): on by default with the
//! seed's tiers (1m kept 30d, 1h kept 1y, 1d forever); in the TOML file
//!
//! ```toml
//! rollups = [
//!   { resolution = "1m", keep = "30d" },
//!   { resolution = "1h", keep = "1y" },
//!   { resolution = "1d" },             # kept forever
//! ]
//! rollup-interval = "1m"               # how often the job looks for settled spans
//! ```
//!
//! or `rollups = "off"`; on the command line `--rollups off`, `--rollups on` (the file's
//! tiers, else the defaults) or `--rollups 1m:30d,1h:1y,1d:forever`. A tier may also set
//! `span` (the time one segment file covers). Every mistake names the setting.

use serde::{Deserialize, Serialize};
use strata_rollup::{Tier, Tiers};

use crate::config::{ConfigError, ServerConfig};
use crate::params::parse_duration;

/// `rollups`: a switch or the tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RollupsConfig {
    /// `on`, `off`, or tiers written `1m:30d,1h:1y,1d:forever`.
    Text(String),
    /// Tiers as TOML tables.
    Tiers(Vec<RollupTierConfig>),
}

impl Default for RollupsConfig {
    fn default() -> Self {
        RollupsConfig::Text("on".into())
    }
}

/// One tier as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupTierConfig {
    /// Window length (a Prometheus duration).
    pub resolution: String,
    /// How long its windows are kept; absent or `forever`: forever.
    #[serde(default)]
    pub keep: Option<String>,
    /// Time one segment file covers (default: 240 windows, at most a day).
    #[serde(default)]
    pub span: Option<String>,
}

impl ServerConfig {
    /// The rollup tiers, or `None` when rollups are off.
    pub fn rollup_tiers(&self) -> Result<Option<Tiers>, ConfigError> {
        let configs = match &self.rollups {
            RollupsConfig::Text(t) if t == "off" => return Ok(None),
            RollupsConfig::Text(t) if t == "on" => return Ok(Some(Tiers::seed_default())),
            RollupsConfig::Text(t) => parse_tier_list(t)?,
            RollupsConfig::Tiers(list) => list.clone(),
        };
        let mut tiers = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let what = |field: &str| format!("rollups[{i}].{field}");
            let resolution = duration(&what("resolution"), &c.resolution)?;
            let keep = match c.keep.as_deref() {
                None | Some("forever") | Some("0") => None,
                Some(k) => Some(duration(&what("keep"), k)?),
            };
            let mut tier = Tier::new(resolution, keep);
            if let Some(span) = &c.span {
                tier.span = duration(&what("span"), span)?;
            }
            tiers.push(tier);
        }
        Tiers::new(tiers).map(Some).map_err(|e| ConfigError(format!("rollups: {e}")))
    }

    /// How often the rollup job looks for settled spans, ms.
    pub fn rollup_interval_ms(&self) -> Result<i64, ConfigError> {
        self.duration_ms("rollup-interval", &self.rollup_interval)
    }
}

/// `1m:30d,1h:1y,1d:forever` (keep optional: `1d` alone is kept forever).
fn parse_tier_list(text: &str) -> Result<Vec<RollupTierConfig>, ConfigError> {
    text.split(',')
        .map(|item| {
            let mut parts = item.trim().splitn(2, ':');
            let resolution = parts.next().unwrap_or("").to_string();
            if resolution.is_empty() {
                return Err(ConfigError(format!(
                    "rollups: {text:?} is not on, off or tiers like 1m:30d,1h:1y,1d:forever"
                )));
            }
            Ok(RollupTierConfig { resolution, keep: parts.next().map(str::to_string), span: None })
        })
        .collect()
}

fn duration(setting: &str, text: &str) -> Result<i64, ConfigError> {
    match parse_duration(text) {
        Ok(ms) if ms > 0 => Ok(ms),
        Ok(_) => Err(ConfigError(format!("{setting}: {text:?} must be longer than 0"))),
        Err(e) => Err(ConfigError(format!("{setting}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(rollups: RollupsConfig) -> ServerConfig {
        ServerConfig { rollups, ..ServerConfig::default() }
    }

    #[test]
    fn on_off_and_tier_lists() {
        assert_eq!(
            with(RollupsConfig::Text("on".into())).rollup_tiers().unwrap(),
            Some(Tiers::seed_default())
        );
        assert_eq!(with(RollupsConfig::Text("off".into())).rollup_tiers().unwrap(), None);
        let tiers =
            with(RollupsConfig::Text("1m:30d,1h:1y,1d:forever".into())).rollup_tiers().unwrap().unwrap();
        assert_eq!(tiers, Tiers::seed_default());
        let err = with(RollupsConfig::Text("1m:30d,90s".into())).rollup_tiers().unwrap_err();
        assert!(err.0.contains("90s is not a multiple of 1m"), "{err}");
        let err = with(RollupsConfig::Text("1m:soon".into())).rollup_tiers().unwrap_err();
        assert!(err.0.starts_with("rollups[0].keep"), "{err}");
    }

    #[test]
    fn toml_tables() {
        let c: ServerConfig = toml::from_str(
            "rollups = [{ resolution = \"5m\", keep = \"10d\", span = \"1d\" }, { resolution = \"1h\" }]",
        )
        .unwrap();
        let tiers = c.rollup_tiers().unwrap().unwrap();
        assert_eq!(tiers.list()[0], Tier { resolution: 300_000, keep: Some(864_000_000), span: 86_400_000 });
        assert_eq!(tiers.list()[1].keep, None);
        let off: ServerConfig = toml::from_str("rollups = \"off\"").unwrap();
        assert_eq!(off.rollup_tiers().unwrap(), None);
    }
}
