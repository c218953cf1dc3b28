//! Back-pressure for writes. At most `max_concurrent_writes` requests are parsed and
//! appended at once; up to `max_pending_writes` more wait for a turn, each for at most
//! `write_wait_timeout`; beyond either, the request is refused with 503 and `Retry-After`
//! (senders — Prometheus, vmagent, Telegraf, Influx clients — retry 5xx). A request takes
//! its turn *before* its body is read, so waiting requests hold no bodies: memory stays
//! bounded by the number of turns times the body limit, however fast clients send.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Why a write did not get a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// Too many writes already wait.
    QueueFull,
    /// It waited `write_wait_timeout` in vain.
    TimedOut,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct WriteGate {
    turns: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
}

impl WriteGate {
    pub(crate) fn new(concurrent: usize, max_waiting: usize, wait: Duration) -> Self {
        WriteGate { turns: Semaphore::new(concurrent), waiting: AtomicUsize::new(0), max_waiting, wait }
    }

    /// Waits for a turn (see the module docs); the turn ends when the permit is dropped.
    pub(crate) async fn enter(&self) -> Result<SemaphorePermit<'_>, Busy> {
        if let Ok(permit) = self.turns.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy::QueueFull);
        }
        let turn = tokio::time::timeout(self.wait, self.turns.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match turn {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy::TimedOut),
        }
    }

    /// Waits for a turn however long it takes (the TCP listener: TCP's own flow control
    /// holds the sender back meanwhile).
    pub(crate) async fn enter_patiently(&self) -> Option<SemaphorePermit<'_>> {
        self.turns.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_are_bounded_and_waiters_time_out() {
        let gate = WriteGate::new(1, 1, Duration::from_millis(50));
        let first = gate.enter().await.unwrap();
        // One may wait; it times out while the first holds its turn.
        assert_eq!(gate.enter().await.unwrap_err(), Busy::TimedOut);
        // While one waits, a third is refused at once.
        let (waiter, third) = tokio::join!(gate.enter(), async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            gate.enter().await
        });
        assert_eq!(third.unwrap_err(), Busy::QueueFull);
        assert_eq!(waiter.unwrap_err(), Busy::TimedOut);
        drop(first);
        assert!(gate.enter().await.is_ok());
    }
}
