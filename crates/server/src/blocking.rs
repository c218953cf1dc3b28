//! Running a request's blocking work (a query) from an async handler.
//!
//! `spawn_blocking` hands the work to a pool thread and parks the handler until it is done:
//! the answer waits for a pool thread to wake and then for the handler's thread to wake,
//! which on an idle machine costs more than a small query itself (measured: `/ping` 0.07 ms
//! back to back, 0.32 ms with 5 ms between requests). On the multi-threaded runtime the
//! server runs, the work runs on the handler's own thread instead (`block_in_place`): the
//! runtime still hands that worker's scheduler to a pool thread so its other tasks go on,
//! but the answer does not wait for that hand-over. A panic is caught either way and
//! becomes an error, so one bad query never takes a worker thread down.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work` to completion; `Err` when it panicked.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let guarded = move || catch_unwind(AssertUnwindSafe(work)).map_err(|_| "the query panicked".to_string());
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(guarded)
    } else {
        tokio::task::spawn_blocking(guarded).await.map_err(|e| e.to_string())?
    }
}
