//! A `strata server` process on loopback, for the server's tests and the interop tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get, request, url_encode, HttpResponse};

/// A running `strata server`; killed (SIGKILL) on drop unless stopped first.
#[derive(Debug)]
pub struct StrataServer {
    child: Option<Child>,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    /// Its OTLP gRPC port on 127.0.0.1 (a free port, not the default 9091, so that
    /// servers of parallel tests do not collide).
    pub grpc_port: u16,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// Where its log (stderr) goes.
    pub log: PathBuf,
}

impl StrataServer {
    /// Starts `binary server` on a free port with data dir `data_dir` and more `args`, and
    /// waits until `/-/ready` answers 200 (panics after 60 s, showing the log).
    pub fn start(binary: &Path, data_dir: &Path, args: &[&str]) -> StrataServer {
        StrataServer::start_with_env(binary, data_dir, args, &[])
    }

    /// [`StrataServer::start`] with environment variables.
    pub fn start_with_env(
        binary: &Path,
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> StrataServer {
        let mut server = StrataServer::spawn(binary, data_dir, args, env);
        server.wait_until(|port| get(port, "/-/ready").is_some_and(|(code, _)| code == 200));
        server
    }

    /// [`StrataServer::start`] for a server that does not speak plain HTTP (TLS): `ready(port)`
    /// says when it is up.
    pub fn start_when(
        binary: &Path,
        data_dir: &Path,
        args: &[&str],
        ready: impl Fn(u16) -> bool,
    ) -> StrataServer {
        let mut server = StrataServer::spawn(binary, data_dir, args, &[]);
        server.wait_until(ready);
        server
    }

    fn spawn(binary: &Path, data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> StrataServer {
        let port = free_port();
        let grpc_port = free_port();
        let log = data_dir.with_extension(format!("{port}.log"));
        let log_file = std::fs::File::create(&log).expect("creating the server log");
        let child = Command::new(binary)
            .arg("server")
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--grpc-listen=127.0.0.1:{grpc_port}"))
            .arg(format!("--data-dir={}", data_dir.display()))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("strata server starts");
        StrataServer { child: Some(child), port, grpc_port, data_dir: data_dir.to_path_buf(), log }
    }

    fn wait_until(&mut self, ready: impl Fn(u16) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(self.port) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("strata server exited ({status}) before it was ready:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "strata server not ready in 60 s:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Its resident memory (VmRSS) now, bytes; 0 when it cannot be read.
    pub fn resident_bytes(&self) -> u64 {
        resident_bytes(self.pid())
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> HttpResponse {
        request(self.port, "GET", path, &[], b"").expect("strata server answers")
    }

    /// `POST path` with a body.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
        request(self.port, "POST", path, &[("Content-Type", content_type)], body)
            .expect("strata server answers")
    }

    /// `/api/v1/query` of `promql` at `time` (seconds); the JSON answer.
    pub fn query(&self, promql: &str, time: f64) -> serde_json::Value {
        self.get(&format!("/api/v1/query?query={}&time={time:.3}", url_encode(promql))).json()
    }

    /// Sends `signal` (SIGHUP, say) and returns at once.
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(child.id() as i32, signal) };
        }
    }

    /// Sends `signal` and waits for the exit (panics after 60 s).
    pub fn signal_and_wait(mut self, signal: i32) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe { libc::kill(child.id() as i32, signal) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("waiting for strata") {
                return status;
            }
            assert!(Instant::now() < deadline, "strata server did not exit within 60 s of signal {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for StrataServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A process's resident memory (VmRSS) now, bytes; 0 when it cannot be read.
pub fn resident_bytes(pid: u32) -> u64 {
    status_bytes(pid, &["VmRSS:"])
}

/// What the server's memory guard watches in a process: its anonymous and shared resident
/// memory (`RssAnon` + `RssShmem`), bytes; 0 when it cannot be read.
pub fn guarded_bytes(pid: u32) -> u64 {
    status_bytes(pid, &["RssAnon:", "RssShmem:"])
}

/// The sum of these fields of `/proc/PID/status` (kB each), bytes.
fn status_bytes(pid: u32, fields: &[&str]) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    fields.iter().map(|f| field(f)).sum()
}
