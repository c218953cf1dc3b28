//! A real etcd (Debian `etcd-server`) on loopback, for cluster membership tests: one
//! member, its data under a temp dir, client and peer ports free ones.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get};

/// A running single-member etcd, killed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

impl EtcdServer {
    /// Starts `binary` with its data under `dir`; waits until `/health` answers.
    pub fn start(binary: &Path, dir: &Path) -> EtcdServer {
        let (port, peer) = (free_port(), free_port());
        std::fs::create_dir_all(dir).expect("etcd dir");
        let log = std::fs::File::create(dir.join("etcd.log")).expect("etcd log");
        let client = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(binary)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--name", "test", "--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("test={peer_url}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        let server = EtcdServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(port, "/health").is_none_or(|(code, body)| code != 200 || !body.contains("true")) {
            assert!(Instant::now() < deadline, "etcd did not become healthy within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
