//! Cardinality limits as users write them —
//!
//! ```toml
//! max-series = 1000000                   # active series in all (also --max-series)
//! series-limits = [{ match = 'http_requests_total', max = 10000 }]
//! max-new-series-per-hour = 100000
//! max-new-series-per-day = 1000000
//! ```
//!
//! (`series_limits` is accepted too) — turned into `strata_cardinality::Limits`. They reload
//! from the TOML file on SIGHUP and `POST /-/reload`; a `--max-series` flag keeps winning.

use serde::{Deserialize, Serialize};
use strata_cardinality::{Limits, SeriesLimit};

use crate::config::{ConfigError, ServerConfig};

/// One `series-limits` entry as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesLimitConfig {
    /// A series selector: `http_requests_total`, `{job="api"}`.
    #[serde(rename = "match")]
    pub selector: String,
    /// Most active series it may select.
    pub max: u64,
}

impl ServerConfig {
    /// The limits these settings give.
    pub fn limits(&self) -> Result<Limits, ConfigError> {
        let mut series_limits = Vec::new();
        for (i, l) in self.series_limits.iter().enumerate() {
            let at = format!("series-limits[{i}]");
            let mut sets = strata_promql::parse_metric_selector(&l.selector)
                .map_err(|e| ConfigError(format!("{at}: match {:?}: {e}", l.selector)))?;
            if sets.len() != 1 {
                return Err(ConfigError(format!("{at}: match {:?} must be one selector", l.selector)));
            }
            series_limits.push(SeriesLimit {
                selector: l.selector.clone(),
                matchers: sets.remove(0),
                max: l.max,
            });
        }
        series_limits.extend(self.tenant_series_limits()?);
        Ok(Limits {
            max_series: self.max_series,
            series_limits,
            max_new_series_per_hour: self.max_new_series_per_hour,
            max_new_series_per_day: self.max_new_series_per_day,
        })
    }

    /// The settings a reload takes: the config file read again, with a `--max-series` given
    /// on the command line kept (these settings themselves when there is no file).
    pub(crate) fn reloaded(&self) -> Result<ServerConfig, ConfigError> {
        let Some(path) = &self.config_file else { return Ok(self.clone()) };
        let mut fresh = ServerConfig::from_toml_file(path)?;
        if self.max_series_flag.is_some() {
            fresh.max_series = self.max_series_flag;
        }
        Ok(fresh)
    }
}
