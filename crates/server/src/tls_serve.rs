//! Serving HTTPS: a listener that hands axum connections whose TLS handshake is done.
//!
//! Handshakes run in their own tasks (bounded by [`HANDSHAKE_TIMEOUT`]), not in `accept`, so
//! one slow or silent client cannot hold up everyone else's connections. A failed handshake
//! (wrong CA, no client certificate where one is required, plain HTTP to the TLS port) is
//! logged at debug level and counted in `strata_tls_handshake_failures_total`. Each
//! connection takes the TLS config as its files are then (`strata_auth::TlsReloader`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_auth::TlsReloader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::state::Shared;

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections with finished handshakes; axum's [`axum::serve::Listener`].
#[derive(Debug)]
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener` with the config `tls` gives at each connection.
    pub(crate) fn new(
        listener: TcpListener,
        tls: Arc<TlsReloader>,
        state: Shared,
    ) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(64);
        let acceptor_task = tokio::spawn(accept_loop(listener, tls, sender, state));
        Ok(TlsListener { ready, local, acceptor_task })
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<TlsReloader>,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    state: Shared,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a TLS connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // The config as its files are now (renewed certificates apply to new connections).
        let acceptor = TlsAcceptor::from(tls.config());
        let (sender, state) = (sender.clone(), state.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(Err(e)) => {
                    state.metrics.tls_handshake_failed();
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    state.metrics.tls_handshake_failed();
                    tracing::debug!(%peer, "TLS handshake timed out");
                }
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended (it does not, short of a panic): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The finished handshakes as a stream, for tonic's `serve_with_incoming` (OTLP gRPC over
/// TLS: the same certificate, client-certificate rules and handshake accounting as HTTP).
impl tokio_stream::Stream for TlsListener {
    type Item = std::io::Result<TlsStream<TcpStream>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.ready.poll_recv(cx).map(|c| c.map(|(stream, _)| Ok(stream)))
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}
