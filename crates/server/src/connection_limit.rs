//! `--max-connections`: at most that many HTTP connections open at once, as Prometheus'
//! `--web.max-connections`. The listener stops accepting while the limit is reached (the
//! kernel's backlog holds newcomers, as Go's `netutil.LimitListener` does) and resumes when a
//! connection closes: a flood of clients cannot run the process out of file descriptors.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The open-connection budget, shared with `/metrics` and `/admin/status`.
#[derive(Debug)]
pub(crate) struct ConnectionBudget {
    slots: Arc<Semaphore>,
    max: usize,
}

impl ConnectionBudget {
    pub(crate) fn new(max: usize) -> ConnectionBudget {
        ConnectionBudget { slots: Arc::new(Semaphore::new(max)), max }
    }

    /// The limit.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }
}

/// A listener that takes a slot before each accept and holds it for the connection's life.
#[derive(Debug)]
pub(crate) struct LimitedListener<L> {
    inner: L,
    slots: Arc<Semaphore>,
}

impl<L> LimitedListener<L> {
    pub(crate) fn new(inner: L, budget: &ConnectionBudget) -> LimitedListener<L> {
        LimitedListener { inner, slots: budget.slots.clone() }
    }
}

impl<L: Listener> Listener for LimitedListener<L>
where
    L::Io: Unpin,
{
    type Io = Counted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring only waits.
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            Err(_) => std::future::pending().await,
        };
        let (io, addr) = self.inner.accept().await;
        (Counted { io, _slot: slot }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its slot until it is dropped.
#[derive(Debug)]
pub(crate) struct Counted<T> {
    io: T,
    _slot: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn accepting_pauses_at_the_limit_and_resumes_when_a_connection_closes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let budget = ConnectionBudget::new(1);
        let mut limited = LimitedListener::new(listener, &budget);
        let _c1 = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _c2 = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (first, _) = limited.accept().await;
        assert_eq!(budget.open(), 1);
        let second = tokio::time::timeout(Duration::from_millis(100), limited.accept()).await;
        assert!(second.is_err(), "a second connection was accepted past the limit");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), limited.accept()).await;
        assert!(second.is_ok(), "accepting did not resume after a connection closed");
        assert_eq!(budget.open(), 1);
    }
}
