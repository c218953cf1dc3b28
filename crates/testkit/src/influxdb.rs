//! A real InfluxDB 1.6 (Debian `influxdb`) on loopback, for TSM and InfluxQL interop tests:
//! its meta, data and WAL under one dir, the in-memory index (which rebuilds itself from the
//! TSM keys at start, so files put in a shard dir while it is stopped are found), HTTP and
//! RPC on free ports, no reporting, no internal monitor database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get, post, url_encode};

/// A running influxd, killed on drop.
#[derive(Debug)]
pub struct InfluxDb {
    binary: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl InfluxDb {
    /// Starts `binary` with everything under `dir`; `data_extra` is added to the `[data]`
    /// section (e.g. `cache-snapshot-write-cold-duration = "1s"`).
    pub fn start(binary: &Path, dir: &Path, data_extra: &str) -> InfluxDb {
        let (port, rpc) = (free_port(), free_port());
        std::fs::create_dir_all(dir).expect("influxdb dir");
        let d = dir.display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n  \
             index-version = \"inmem\"\n{data_extra}\n[http]\n  bind-address = \"127.0.0.1:{port}\"\n  \
             log-enabled = false\n[monitor]\n  store-enabled = false\n"
        );
        std::fs::write(dir.join("influxdb.conf"), config).expect("writing the influxdb config");
        let mut db = InfluxDb { binary: binary.to_path_buf(), dir: dir.to_path_buf(), child: None, port };
        db.run();
        db
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.join("influxd.log")).expect("influxd log");
        let child = Command::new(&self.binary)
            .args(["run", "-config"])
            .arg(self.dir.join("influxdb.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("influxd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(self.port, "/ping").is_none_or(|(code, _)| code != 204) {
            assert!(Instant::now() < deadline, "influxd did not answer /ping within 60 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What influxd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("influxd.log")).unwrap_or_default()
    }

    /// Stops it gracefully (SIGTERM) and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child we spawned and have not yet reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Stops it and starts it again on the same dirs and port.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Its data dir (`data/<db>/<rp>/<shard id>/*.tsm`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Its WAL dir (`wal/<db>/<rp>/<shard id>/_NNNNN.wal`).
    pub fn wal_dir(&self) -> PathBuf {
        self.dir.join("wal")
    }

    /// Runs InfluxQL `q` (POST, so writes such as `CREATE DATABASE` are allowed) with
    /// timestamps in nanoseconds, and returns the JSON answer.
    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let path = format!("/query?db={}&epoch=ns&q={}", url_encode(db), url_encode(q));
        let r =
            post(self.port, &path, "application/x-www-form-urlencoded", b"").expect("influxd answers /query");
        assert_eq!(r.code, 200, "{q}: {}", r.text());
        r.json()
    }

    /// Writes line protocol (nanosecond timestamps) into `db`.
    pub fn write(&self, db: &str, lines: &str) {
        let path = format!("/write?db={}", url_encode(db));
        let r = post(self.port, &path, "text/plain", lines.as_bytes()).expect("influxd answers /write");
        assert_eq!(r.code, 204, "write: {}", r.text());
    }
}

impl Drop for InfluxDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
