//! A real etcd (Debian `etcd-server`) on loopback, for cluster membership tests: one
//! member, its data under a temp dir, client and peer ports free ones.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get};

/// A running single-member etcd, killed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    binary: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    /// Its client port on 127.0.0.1.
    pub port: u16,
    peer: u16,
}

impl EtcdServer {
    /// Starts `binary` with its data under `dir`; waits until `/health` answers.
    pub fn start(binary: &Path, dir: &Path) -> EtcdServer {
        std::fs::create_dir_all(dir).expect("etcd dir");
        let mut server = EtcdServer {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            child: None,
            port: free_port(),
            peer: free_port(),
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let (port, peer) = (self.port, self.peer);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .expect("etcd log");
        let client = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(&self.binary)
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--name", "test", "--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("test={peer_url}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(port, "/health").is_none_or(|(code, body)| code != 200 || !body.contains("true")) {
            assert!(Instant::now() < deadline, "etcd did not become healthy within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills it (SIGKILL); its data stays for [`EtcdServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on its data and ports.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
    }
}
