//! The Influx line-protocol TCP listener (`influx-tcp-listen`, off by default): clients
//! write newline-separated lines on a plain connection and get no answer, as with
//! InfluxDB's Graphite/UDP-style listeners. Timestamps are nanoseconds.
//!
//! Each connection gathers lines into a batch and appends it when it holds
//! `tcp-batch-lines` lines or its oldest line has waited `tcp-flush-interval`, whichever
//! comes first, and when the connection closes. Appends take a turn at the write gate like
//! HTTP writes, but wait as long as needed: meanwhile the connection is not read, so TCP's
//! flow control slows the sender down instead of memory growing. Bad lines are logged (with
//! the connection and line number) and counted in `strata_samples_rejected_total`.

use std::net::SocketAddr;
use std::time::Duration;

use strata_ingest::line_protocol::Precision;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::ingest_batch;
use crate::metrics::Protocol;
use crate::state::{now_ms, Shared};

/// Accepts connections until `stop` turns true.
pub(crate) async fn serve(listener: TcpListener, state: Shared, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(stream, peer, state.clone(), stop.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "influx tcp listener: accept failed"),
            },
            _ = stop.changed() => return,
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, state: Shared, mut stop: watch::Receiver<bool>) {
    let flush_every = state.tcp_flush_every;
    let max_lines = state.config.tcp_batch_lines;
    let mut reader = BufReader::new(stream);
    let mut batch: Vec<u8> = Vec::new();
    let (mut lines, mut first_line_no) = (0usize, 1usize);
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let wait = deadline
            .map_or(Duration::from_secs(3600), |d| d.saturating_duration_since(tokio::time::Instant::now()));
        let before = batch.len();
        // A line may not be longer than max-body-bytes: a read stops one byte beyond it, so a
        // client that never sends a newline cannot grow this buffer without bound; and the
        // batch is appended once it holds max-body-bytes, so it stays under twice that.
        let mut line = (&mut reader).take(state.config.max_body_bytes as u64 + 1);
        let read = tokio::select! {
            read = line.read_until(b'\n', &mut batch) => Some(read),
            _ = tokio::time::sleep(wait) => None,
            _ = stop.changed() => Some(Ok(0)),
        };
        let closed = match read {
            Some(Ok(0)) | Some(Err(_)) => true,
            Some(Ok(_)) => {
                lines += 1;
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + flush_every);
                if batch.len() - before > state.config.max_body_bytes {
                    tracing::warn!(%peer, "influx tcp: a line is longer than max-body-bytes; closing the connection");
                    batch.truncate(before);
                    true
                } else {
                    false
                }
            }
            None => false,
        };
        let due = lines >= max_lines
            || batch.len() >= state.config.max_body_bytes
            || deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
        if (due || closed) && lines > 0 {
            append(&state, peer, std::mem::take(&mut batch), first_line_no).await;
            first_line_no += lines;
            lines = 0;
            deadline = None;
        }
        if closed {
            return;
        }
    }
}

async fn append(state: &Shared, peer: SocketAddr, batch: Vec<u8>, first_line_no: usize) {
    // Under memory pressure the batch waits (TCP's flow control holds the sender back).
    while state.memory.refusing_writes() && !state.is_stopping() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let Some(_turn) = state.writes.enter_patiently().await else { return };
    let worker = state.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let cache = &worker.series_caches.line_protocol;
        let parsed = ingest_batch::parse_line_protocol(&batch, Precision::Nanoseconds, now_ms(), cache, None);
        {
            let samples = parsed.len();
            worker.apply(None, Protocol::InfluxTcp, parsed, samples)
        }
    })
    .await;
    match summary {
        Ok(s) if s.complete() => {}
        Ok(s) => tracing::warn!(%peer, first_line = first_line_no, "influx tcp: {}", s.problem()),
        Err(e) => tracing::error!(%peer, error = %e, "influx tcp: append failed"),
    }
}
