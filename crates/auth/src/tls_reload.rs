//! TLS settings that follow their files without a restart, as Prometheus' do (its exporter
//! toolkit reads the web config and the files it names again for every new connection):
//! a certificate renewed in place (cert-manager, certbot) is served from the next
//! connection on, and a new client CA or `client_auth_type` applies the same way.
//!
//! [`TlsReloader::config`] is asked once per connection. At most once a second it compares
//! the size and modification time of the web config file, the certificate, the key and the
//! client CA with what it last built from, and builds again when one changed. A build that
//! fails — a key replaced before its certificate, a file cut short — keeps the running
//! config and is tried again at the next check, so a half-done rotation never takes TLS
//! down; [`TlsReloader::last_error`] says what failed. [`TlsReloader::reload`] (SIGHUP,
//! `/-/reload`) builds at once. TLS cannot be turned on or off this way: the listener
//! was started with or without it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::ServerConfig;

use crate::web_config::WebConfig;

/// How often the files are looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A file's size and modification time (`None`: it could not be read).
type Stamp = Option<(u64, SystemTime)>;

/// The files a config was built from, each with its stamp then.
type Sources = Vec<(PathBuf, Stamp)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

#[derive(Debug)]
struct Loaded {
    config: Arc<ServerConfig>,
    files: Sources,
    checked: Instant,
    error: Option<String>,
}

/// See the module docs.
#[derive(Debug)]
pub struct TlsReloader {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl TlsReloader {
    /// The TLS config of the web config file at `path`, which must turn TLS on.
    pub fn open(path: &Path) -> Result<TlsReloader, String> {
        let (config, files) = build(path)?;
        let loaded = Loaded { config, files, checked: Instant::now(), error: None };
        Ok(TlsReloader { path: path.to_path_buf(), loaded: Mutex::new(loaded) })
    }

    /// The config for a new connection: built again first when a file changed (see the
    /// module docs).
    pub fn config(&self) -> Arc<ServerConfig> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if loaded.checked.elapsed() >= CHECK_EVERY {
            loaded.checked = Instant::now();
            if loaded.files.iter().any(|(path, then)| stamp(path) != *then) {
                self.rebuild(&mut loaded);
            }
        }
        loaded.config.clone()
    }

    /// Builds again now; on an error the running config stays and the error is returned.
    pub fn reload(&self) -> Result<(), String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        self.rebuild(&mut loaded);
        loaded.error.clone().map_or(Ok(()), Err)
    }

    /// Why the last build failed, while the config before it is still served.
    pub fn last_error(&self) -> Option<String> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).error.clone()
    }

    fn rebuild(&self, loaded: &mut Loaded) {
        match build(&self.path) {
            Ok((config, files)) => {
                loaded.config = config;
                loaded.files = files;
                loaded.error = None;
            }
            Err(e) => loaded.error = Some(e),
        }
    }
}

/// The config and the files it came from, stamped before they were read (a file changed
/// while being read is then seen as changed at the next check).
fn build(path: &Path) -> Result<(Arc<ServerConfig>, Sources), String> {
    let web_stamp = stamp(path);
    let web = WebConfig::load(path).map_err(|e| e.to_string())?;
    if !web.tls_enabled() {
        return Err(format!(
            "{}: tls_server_config no longer names cert_file and key_file; TLS stays on until a restart",
            path.display()
        ));
    }
    let tls = &web.tls_server_config;
    let named = [&tls.cert_file, &tls.key_file, &tls.client_ca_file];
    let mut files: Sources = vec![(path.to_path_buf(), web_stamp)];
    files.extend(named.into_iter().flatten().map(|p| web.resolve(p)).map(|p| {
        let s = stamp(&p);
        (p, s)
    }));
    let config = crate::tls::server_config(&web)?;
    Ok((config, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::tests::handshake;

    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.into()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_certificate_renewed_in_place_is_served_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let web = dir.path().join("web.yml");
        write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
        let (cert, key) = self_signed("localhost");
        write("server.crt", &cert);
        write("server.key", &key);
        let reloader = TlsReloader::open(&web).unwrap();
        // The client trusts what server.crt holds now.
        handshake(reloader.config(), dir.path(), None).unwrap();

        // A new pair: served once the check is due (made due here rather than waited for).
        let due = || reloader.loaded.lock().unwrap().checked -= CHECK_EVERY;
        let (cert2, key2) = self_signed("localhost");
        write("server.crt", &cert2);
        write("server.key", &key2);
        due();
        handshake(reloader.config(), dir.path(), None).expect("the renewed certificate is served");
        assert!(reloader.last_error().is_none());

        // Half a rotation (a new certificate, the old key): the running pair stays, so a
        // client that trusts the new certificate is refused and one that trusts the running
        // one is not.
        let (cert3, _) = self_signed("localhost");
        write("server.crt", &cert3);
        due();
        assert!(handshake(reloader.config(), dir.path(), None).is_err());
        assert!(reloader.last_error().unwrap().contains("do not make a pair"), "{:?}", reloader.last_error());
        write("server.crt", &cert2);
        handshake(reloader.config(), dir.path(), None).expect("the running pair still serves");
        write("server.crt", &cert3);
        assert!(reloader.reload().is_err());

        // TLS turned off in the file: refused, the running config stays.
        write("web.yml", "basic_auth_users: {}\n");
        assert!(reloader.reload().unwrap_err().contains("until a restart"));
        write("server.crt", &cert2);
        handshake(reloader.config(), dir.path(), None).expect("still served");
    }
}
