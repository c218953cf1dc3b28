//! The rollup tiers as one tenant sees them: reads confined to the tenant, its label taken
//! off, as [`crate::TenantEngine`] does for raw samples.

use strata_model::Matcher;
use strata_rollup::{Coverage, Fields, RollupError, RollupSource, SeriesColumns};

use crate::label::{confine, strip};
use crate::TenantId;

/// Rollup tiers seen by one tenant.
#[derive(Debug)]
pub struct TenantRollups<'r> {
    inner: &'r dyn RollupSource,
    tenant: TenantId,
}

impl<'r> TenantRollups<'r> {
    pub fn new(inner: &'r dyn RollupSource, tenant: TenantId) -> TenantRollups<'r> {
        TenantRollups { inner, tenant }
    }
}

impl RollupSource for TenantRollups<'_> {
    fn coverage(&self) -> Coverage {
        self.inner.coverage()
    }

    fn read(
        &self,
        resolution: i64,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<Vec<SeriesColumns>, RollupError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        let mut series = self.inner.read(resolution, &confined, mint, maxt, fields)?;
        for s in &mut series {
            strip(&mut s.labels);
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(series)
    }
}
