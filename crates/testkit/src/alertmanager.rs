//! A real Alertmanager (Debian `prometheus-alertmanager`) on loopback, for alerting interop
//! tests: one route grouping by `alertname`, a receiver that drops notifications (there is
//! no egress here), cluster mode off.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get};

/// A running Alertmanager, killed on drop.
#[derive(Debug)]
pub struct Alertmanager {
    child: Child,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl Alertmanager {
    /// Starts `binary` with its config and storage under `dir`, and waits until `/-/ready`.
    pub fn start(binary: &Path, dir: &Path) -> Alertmanager {
        let port = free_port();
        std::fs::create_dir_all(dir).expect("alertmanager dir");
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: blackhole\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1m\nreceivers:\n  - name: blackhole\n",
        )
        .expect("writing the alertmanager config");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("alertmanager starts");
        let am = Alertmanager { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(port, "/-/ready").is_none_or(|(code, _)| code != 200) {
            assert!(Instant::now() < deadline, "alertmanager did not become ready within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET path` as JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (code, body) = get(self.port, path).expect("alertmanager answers");
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("alertmanager answers JSON")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
