//! Serving HTTP connections from a listener: axum's `serve` (HTTP/1.1, and HTTP/2 — which
//! Prometheus speaks over TLS when ALPN offers it), plus a deadline for an HTTP/1 request's
//! head (`--http-header-read-timeout`, default 30 s).
//!
//! Why not `axum::serve`: it gives hyper no timer, so hyper's header-read timeout never
//! runs and a client that sends half a request line and then nothing (slowloris) holds its
//! connection — and one of `--max-connections` slots — for ever. With a timer, hyper closes
//! a connection whose request head has not arrived whole within the deadline; the deadline
//! also covers an idle keep-alive connection waiting for its next request, as Go's
//! `ReadHeaderTimeout`/`IdleTimeout` do for Prometheus. A request's body and a long query
//! are not bounded by it (the query timeout and body limits do that).
//!
//! Shutdown is axum's: stop accepting, ask every connection to finish its request in
//! flight and close, wait for them all.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower::ServiceExt;

/// Serves `app` on `listener` until `stopped` turns true, then lets open connections finish.
/// `header_read_timeout` of `None` turns the deadline off.
pub(crate) async fn serve<L>(
    mut listener: L,
    app: Router,
    mut stopped: watch::Receiver<bool>,
    header_read_timeout: Option<Duration>,
) where
    L: Listener,
{
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    http.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    loop {
        let (io, _addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let service = app.clone().map_request(|req: Request<Incoming>| req.map(Body::new));
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
