//! Per-tenant ingest rate limits: a token bucket of samples per tenant, refilled at the
//! tenant's rate and holding at most its burst (one second's worth unless set).
//!
//! A request takes as many tokens as it has samples. One larger than the whole burst is let
//! through when the bucket is full and leaves it in debt, so a tenant's average stays at its
//! rate whatever its request size, and a big batch is never refused forever.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::TenantId;

/// A tenant's limit: samples a second, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every tenant that has a limit.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limits: Mutex<HashMap<TenantId, Rate>>,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Replaces every limit (a tenant left out has none); buckets of tenants whose limit
    /// stays keep their tokens.
    pub fn set_limits(&self, limits: HashMap<TenantId, Rate>) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|t, _| limits.contains_key(t));
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// The tenant's limit, if it has one.
    pub fn limit(&self, tenant: &TenantId) -> Option<Rate> {
        self.limits.lock().unwrap_or_else(|e| e.into_inner()).get(tenant).copied()
    }

    /// Takes `samples` tokens from the tenant's bucket now; `Err(seconds)` — how long until
    /// the request would fit — when it cannot.
    pub fn take(&self, tenant: &TenantId, samples: usize) -> Result<(), f64> {
        self.take_at(tenant, samples, Instant::now())
    }

    /// [`RateLimiter::take`] at a given time (tests).
    pub fn take_at(&self, tenant: &TenantId, samples: usize, now: Instant) -> Result<(), f64> {
        let Some(rate) = self.limit(tenant) else { return Ok(()) };
        if rate.per_second <= 0.0 {
            return Err(f64::INFINITY);
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket { tokens: rate.burst, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
        bucket.at = now.max(bucket.at);
        let wanted = samples as f64;
        // A request over the burst needs a full bucket and leaves it in debt.
        let needed = wanted.min(rate.burst);
        if bucket.tokens >= needed {
            bucket.tokens -= wanted;
            Ok(())
        } else {
            Err((needed - bucket.tokens) / rate.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn limiter(per_second: f64, burst: f64) -> (RateLimiter, TenantId) {
        let t = TenantId::parse("acme").unwrap();
        let l = RateLimiter::new();
        l.set_limits(HashMap::from([(t.clone(), Rate { per_second, burst })]));
        (l, t)
    }

    #[test]
    fn refuses_past_the_burst_and_says_when_to_retry() {
        let (l, t) = limiter(100.0, 100.0);
        let t0 = Instant::now();
        assert!(l.take_at(&t, 60, t0).is_ok());
        let wait = l.take_at(&t, 60, t0).unwrap_err();
        assert!((wait - 0.2).abs() < 1e-9, "{wait}");
        assert!(l.take_at(&t, 60, t0 + Duration::from_millis(200)).is_ok());
        // A request larger than the burst passes on a full bucket, then the debt is paid.
        assert!(l.take_at(&t, 500, t0 + Duration::from_secs(10)).is_ok());
        assert!(l.take_at(&t, 1, t0 + Duration::from_secs(13)).is_err());
        assert!(l.take_at(&t, 1, t0 + Duration::from_secs(15)).is_ok());
        let other = TenantId::parse("other").unwrap();
        assert!(l.take_at(&other, 1_000_000, t0).is_ok(), "no limit, no refusal");
    }

    proptest! {
        /// Whatever the requests, what is let through over a time T is at most the burst
        /// plus T times the rate plus the one request that may overdraw.
        #[test]
        fn never_lets_through_more_than_the_rate_allows(
            requests in prop::collection::vec((0u64..200, 1usize..300), 1..200),
            per_second in 10.0f64..1000.0,
            burst in 1.0f64..500.0,
        ) {
            let (l, t) = limiter(per_second, burst);
            let t0 = Instant::now();
            let (mut now_ms, mut passed, mut largest) = (0u64, 0usize, 0usize);
            for (gap, n) in requests {
                now_ms += gap;
                if l.take_at(&t, n, t0 + Duration::from_millis(now_ms)).is_ok() {
                    passed += n;
                    largest = largest.max(n);
                }
            }
            let allowed = burst + per_second * now_ms as f64 / 1000.0 + largest as f64;
            prop_assert!(passed as f64 <= allowed + 1e-6, "{} > {}", passed, allowed);
        }
    }
}
