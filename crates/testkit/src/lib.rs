//! Helpers for interop tests against the real peers (Prometheus, promtool, …).
//!
//! The contract for such tests (README, `.ci/run`): a peer that is not installed makes the
//! test print `SKIPPED` and pass on a developer's machine, but fail under `CI=true`, where
//! `.ci/run` installs every peer. Peers bind 127.0.0.1 on free ports, use temp dirs, and
//! are stopped when the test ends.

mod alertmanager;
pub mod counting_alloc;
mod etcd;
mod files;
pub mod histogram_target;
mod http;
mod influxdb;
mod prometheus;
mod promtool;
pub mod remote_v1;
pub mod remote_write_v2;
mod strata;
mod tls;

pub use alertmanager::Alertmanager;
pub use counting_alloc::CountingAllocator;
pub use etcd::EtcdServer;
pub use files::copy_dir;
pub use histogram_target::HistogramTarget;
pub use http::{get, post, request, url_encode, HttpResponse};
pub use influxdb::InfluxDb;
pub use prometheus::{matrix, MatrixSeries, Prometheus};
pub use promtool::{promtool_dump, promtool_labels, value_bits, PROM_NAN};
pub use rustls::ClientConfig as TlsClientConfig;
pub use strata::{guarded_bytes, resident_bytes, StrataServer};
pub use tls::{https_request, TestPki};

/// The path of peer binary `name` (from Debian package `package`), or `None` after
/// printing why the calling test is skipped. Panics under `CI=true` if it is missing.
pub fn peer_binary(name: &str, package: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "{name} (Debian package `{package}`) is missing, and CI=true: interop tests must run");
        eprintln!(
            "SKIPPED: {name} is not installed (apt-get install {package}); this interop test did not run"
        );
    }
    found
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(0, |a| a.port())
}

/// Whether `python3` can import `module` (from PyPI package `package`); prints why the
/// calling test is skipped when not. Panics under `CI=true` if it is missing.
pub fn python_module(module: &str, package: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "python module {module} (pip install {package}) is missing, and CI=true: interop tests must run"
        );
        eprintln!("SKIPPED: python module {module} is not installed (pip install {package}); this interop test did not run");
    }
    found
}

/// A peer process started by a test, killed when dropped.
#[derive(Debug)]
pub struct PeerProcess(pub std::process::Child);

impl PeerProcess {
    /// Starts `binary` with `args`, output discarded.
    pub fn spawn(binary: &std::path::Path, args: &[String]) -> PeerProcess {
        let child = std::process::Command::new(binary)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        PeerProcess(child)
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
