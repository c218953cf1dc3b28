//! The rollup tiers as one tenant sees them: reads confined to the tenant, its label taken
//! off, as [`crate::TenantEngine`] does for raw samples.

use strata_model::Matcher;
use strata_rollup::{Coverage, Fields, RollupError, RollupSource, TierScan};

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

    fn scan(
        &self,
        resolution: i64,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<TierScan, RollupError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(TierScan::empty(fields)) };
        let mut scan = self.inner.scan(resolution, &confined, mint, maxt, fields)?;
        scan.relabel(strip);
        Ok(scan)
    }
}
