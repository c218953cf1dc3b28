//! `--query-max-concurrency`: at most that many queries (PromQL, InfluxQL) evaluate at once,
//! as Prometheus' `--query.max-concurrency`. More wait for a slot for at most the query
//! timeout, then get 503 "too many concurrent queries" — each query holds its samples in
//! memory while it runs, so this bounds query memory as the write gate bounds write memory.
//! Waiting queries hold no evaluation state, only their parsed request.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct QueryGate {
    slots: Semaphore,
    max: usize,
    waiting: AtomicUsize,
    refused: AtomicU64,
}

/// A query that waited its whole timeout for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyQueries {
    /// The limit in force.
    pub(crate) max: usize,
}

impl std::fmt::Display for TooManyQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "too many concurrent queries (query-max-concurrency is {}); retry later", self.max)
    }
}

impl QueryGate {
    pub(crate) fn new(max: usize) -> QueryGate {
        QueryGate {
            slots: Semaphore::new(max),
            max,
            waiting: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Waits up to `wait` for a slot; the slot is freed when the permit drops.
    pub(crate) async fn enter(&self, wait: Duration) -> Result<SemaphorePermit<'_>, TooManyQueries> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let slot = tokio::time::timeout(wait, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match slot {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(TooManyQueries { max: self.max })
            }
        }
    }

    /// The limit.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Queries evaluating now.
    pub(crate) fn running(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// Queries waiting for a slot now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Queries refused since start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_bounded_and_a_waiter_gets_the_next_free_one_or_times_out() {
        let gate = QueryGate::new(2);
        let (a, b) = (gate.enter(Duration::ZERO).await.unwrap(), gate.enter(Duration::ZERO).await.unwrap());
        assert_eq!((gate.running(), gate.waiting()), (2, 0));
        assert_eq!(gate.enter(Duration::from_millis(20)).await.unwrap_err(), TooManyQueries { max: 2 });
        assert_eq!(gate.refused(), 1);
        let (waited, ()) = tokio::join!(gate.enter(Duration::from_secs(5)), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(gate.waiting(), 1);
            drop(a);
        });
        assert!(waited.is_ok());
        drop((b, waited));
        assert_eq!(gate.running(), 0);
    }
}
