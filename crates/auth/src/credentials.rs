//! Who is asking: the `Authorization` header (or InfluxDB's `u`/`p` parameters) checked
//! against the web config's users and tokens.
//!
//! - **Basic auth**: the password against the user's bcrypt hash. bcrypt is slow on purpose
//!   (tens of milliseconds at cost 10), and a remote-write client sends the same credentials
//!   many times a second, so a success is remembered: the SHA-256 of user, hash and password
//!   maps to the user. A later request with the same digest skips bcrypt. The map is keyed by
//!   a digest of the secret, never by the secret, and is bounded ([`CACHE_ENTRIES`]).
//! - **Bearer tokens**: the token's SHA-256 against every configured digest, compared in
//!   constant time and without stopping at the first match, so timing tells nothing about
//!   which bytes matched.
//! - An unknown user costs a bcrypt check against a dummy hash, like a wrong password, so
//!   response times do not tell which user names exist.
//!
//! Failures say only "missing", "malformed" or "invalid": never which part was wrong.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::web_config::WebConfig;

/// How many verified basic-auth digests are remembered before the memory is cleared.
pub(crate) const CACHE_ENTRIES: usize = 1024;

/// Credentials as a request presents them.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(user:password)`, or InfluxDB's `u` and `p` parameters.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    // Secrets never reach a log line through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => write!(f, "Basic({user:?}, <password>)"),
            Credentials::Bearer(_) => write!(f, "Bearer(<token>)"),
        }
    }
}

/// Who a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user or token name from the web config.
    pub name: String,
    /// Whether `admin_users` lists it.
    pub admin: bool,
    /// The tenants it may name, when `tenant_users` confines it.
    pub tenants: Option<std::sync::Arc<[String]>>,
}

impl Identity {
    /// Whether it may name `tenant`.
    pub fn may_use_tenant(&self, tenant: &str) -> bool {
        self.tenants.as_ref().is_none_or(|t| t.iter().any(|t| t == tenant))
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The request carries no credentials.
    #[error("authentication required")]
    Missing,
    /// The `Authorization` header could not be read.
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    /// Unknown user, wrong password or unknown token (deliberately not told apart).
    #[error("invalid credentials")]
    Invalid,
}

impl Denied {
    /// The label for the failed-attempts counter.
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::Missing => "missing",
            Denied::Malformed(_) => "malformed",
            Denied::Invalid => "invalid",
        }
    }
}

/// Reads an `Authorization` header value: `Basic …` or `Bearer …` (scheme case-insensitive).
pub fn parse_authorization(value: &str) -> Result<Credentials, Denied> {
    let (scheme, rest) = value.trim().split_once(' ').ok_or(Denied::Malformed("no scheme"))?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| Denied::Malformed("Basic credentials are not base64"))?;
        let text =
            String::from_utf8(decoded).map_err(|_| Denied::Malformed("Basic credentials are not UTF-8"))?;
        let (user, password) =
            text.split_once(':').ok_or(Denied::Malformed("Basic credentials have no ':'"))?;
        Ok(Credentials::Basic { user: user.to_string(), password: password.to_string() })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(Denied::Malformed("empty Bearer token"));
        }
        Ok(Credentials::Bearer(rest.to_string()))
    } else {
        Err(Denied::Malformed("unsupported scheme (Basic or Bearer)"))
    }
}

/// 64 hex digits → 32 bytes.
pub fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim().as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Checks credentials against one web config's users and tokens.
#[derive(Debug)]
pub struct Authenticator {
    users: HashMap<String, String>,
    tokens: Vec<(String, [u8; 32])>,
    admins: BTreeSet<String>,
    tenants: HashMap<String, std::sync::Arc<[String]>>,
    /// Checked for unknown users, so they cost what a wrong password costs.
    dummy_hash: String,
    /// SHA-256(user, hash, password) of verified basic credentials → the user.
    verified: Mutex<HashMap<[u8; 32], String>>,
}

impl Authenticator {
    /// The authenticator for `config`'s users, tokens and admins.
    pub fn new(config: &WebConfig) -> Authenticator {
        let cost = config
            .basic_auth_users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let dummy_hash = bcrypt::hash("strata: no such user", cost).unwrap_or_default();
        Authenticator {
            users: config.basic_auth_users.clone().into_iter().collect(),
            tokens: config
                .bearer_tokens
                .iter()
                .filter_map(|(name, hex)| Some((name.clone(), parse_sha256_hex(hex)?)))
                .collect(),
            admins: config.admin_users.iter().cloned().collect(),
            tenants: config.tenant_users.iter().map(|(n, t)| (n.clone(), t.clone().into())).collect(),
            dummy_hash,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The answer if it needs no bcrypt (tokens, remembered passwords); `None` when
    /// [`Authenticator::check`] must hash, which callers should run off their event loop.
    pub fn check_fast(&self, credentials: &Credentials) -> Option<Result<Identity, Denied>> {
        match credentials {
            Credentials::Bearer(token) => Some(self.check_token(token)),
            Credentials::Basic { user, password } => {
                let hash = self.users.get(user)?;
                let digest = basic_digest(user, hash, password);
                let known = self.verified.lock().ok()?.get(&digest).cloned();
                known.map(|name| Ok(self.identity(name)))
            }
        }
    }

    /// Checks credentials, running bcrypt if the answer is not remembered.
    pub fn check(&self, credentials: &Credentials) -> Result<Identity, Denied> {
        if let Some(answer) = self.check_fast(credentials) {
            return answer;
        }
        let Credentials::Basic { user, password } = credentials else {
            return Err(Denied::Invalid);
        };
        let Some(hash) = self.users.get(user) else {
            let _ = bcrypt::verify(password, &self.dummy_hash);
            return Err(Denied::Invalid);
        };
        if !bcrypt::verify(password, hash).unwrap_or(false) {
            return Err(Denied::Invalid);
        }
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= CACHE_ENTRIES {
                verified.clear();
            }
            verified.insert(basic_digest(user, hash, password), user.clone());
        }
        Ok(self.identity(user.clone()))
    }

    fn check_token(&self, token: &str) -> Result<Identity, Denied> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found: Option<&str> = None;
        // Every digest is compared, in constant time: no early exit on a match.
        for (name, expected) in &self.tokens {
            if bool::from(expected.ct_eq(&digest)) {
                found = Some(name);
            }
        }
        found.map(|name| self.identity(name.to_string())).ok_or(Denied::Invalid)
    }

    fn identity(&self, name: String) -> Identity {
        let admin = self.admins.contains(&name);
        let tenants = self.tenants.get(&name).cloned();
        Identity { name, admin, tenants }
    }
}

/// The cache key: SHA-256 over user, configured hash and password, length-prefixed so no
/// two different triples give the same input.
fn basic_digest(user: &str, hash: &str, password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [user, hash, password] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn authenticator() -> Authenticator {
        let alice = bcrypt::hash("wonderland", 4).unwrap();
        let bob = bcrypt::hash("builder", 4).unwrap();
        let token = hex(&Sha256::digest(b"s3cret-token"));
        let text = format!(
            "basic_auth_users:\n  alice: '{alice}'\n  bob: '{bob}'\nbearer_tokens:\n  ci: {token}\nadmin_users: [alice, ci]\n"
        );
        Authenticator::new(&WebConfig::parse(&text, Path::new("/")).unwrap())
    }

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials::Basic { user: user.into(), password: password.into() }
    }

    #[test]
    fn users_and_tokens_are_checked_with_their_roles() {
        let auth = authenticator();
        assert_eq!(
            auth.check(&basic("alice", "wonderland")),
            Ok(Identity { name: "alice".into(), admin: true, tenants: None })
        );
        assert_eq!(
            auth.check(&basic("bob", "builder")),
            Ok(Identity { name: "bob".into(), admin: false, tenants: None })
        );
        assert_eq!(auth.check(&basic("bob", "wonderland")), Err(Denied::Invalid));
        assert_eq!(auth.check(&basic("carol", "builder")), Err(Denied::Invalid));
        assert_eq!(auth.check(&basic("alice", "")), Err(Denied::Invalid));
        let token = Credentials::Bearer("s3cret-token".into());
        assert_eq!(auth.check(&token), Ok(Identity { name: "ci".into(), admin: true, tenants: None }));
        assert_eq!(auth.check(&Credentials::Bearer("s3cret-tokeN".into())), Err(Denied::Invalid));
    }

    #[test]
    fn tenant_users_confine_a_name_to_its_tenants() {
        let token = hex(&Sha256::digest(b"team-token"));
        let text =
            format!("bearer_tokens:\n  team: {token}\n  any: {token}0\ntenant_users:\n  team: [a, b]\n");
        let config = WebConfig::parse(
            &text.replace(&format!("{token}0"), &hex(&Sha256::digest(b"x"))),
            Path::new("/"),
        );
        let auth = Authenticator::new(&config.unwrap());
        let team = auth.check(&Credentials::Bearer("team-token".into())).unwrap();
        assert!(team.may_use_tenant("a") && team.may_use_tenant("b") && !team.may_use_tenant("c"));
        let any = auth.check(&Credentials::Bearer("x".into())).unwrap();
        assert!(any.tenants.is_none() && any.may_use_tenant("c"));
        let err = WebConfig::parse("tenant_users:\n  ghost: [a]\n", Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("ghost"), "{err}");
    }

    #[test]
    fn a_verified_password_is_remembered_and_a_wrong_one_is_not() {
        let auth = authenticator();
        assert_eq!(auth.check_fast(&basic("bob", "builder")), None, "nothing remembered yet");
        auth.check(&basic("bob", "builder")).unwrap();
        assert_eq!(
            auth.check_fast(&basic("bob", "builder")),
            Some(Ok(Identity { name: "bob".into(), admin: false, tenants: None }))
        );
        assert_eq!(auth.check(&basic("bob", "Builder")), Err(Denied::Invalid));
        assert_eq!(
            auth.check_fast(&basic("bob", "Builder")),
            None,
            "a failure is never remembered as success"
        );
    }

    #[test]
    fn headers_are_read_and_bad_ones_named() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        assert_eq!(parse_authorization(&format!("Basic {encoded}")), Ok(basic("alice", "pa:ss")));
        assert_eq!(parse_authorization("bearer abc"), Ok(Credentials::Bearer("abc".into())));
        assert_eq!(
            parse_authorization("Basic !!!"),
            Err(Denied::Malformed("Basic credentials are not base64"))
        );
        assert_eq!(
            parse_authorization("Digest x"),
            Err(Denied::Malformed("unsupported scheme (Basic or Bearer)"))
        );
        assert_eq!(parse_authorization("Bearer"), Err(Denied::Malformed("no scheme")));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("alice");
        assert_eq!(
            parse_authorization(&format!("Basic {no_colon}")),
            Err(Denied::Malformed("Basic credentials have no ':'"))
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let shown = format!("{:?} {:?}", basic("alice", "wonderland"), Credentials::Bearer("s3cret".into()));
        assert!(!shown.contains("wonderland") && !shown.contains("s3cret"), "{shown}");
    }

    proptest! {
        // Any header value is read without panicking; a Basic header round-trips.
        #[test]
        fn any_header_is_read_without_panic(value in ".{0,64}") {
            let _ = parse_authorization(&value);
        }

        #[test]
        fn basic_headers_round_trip(user in "[^:]{0,16}", password in ".{0,16}") {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            prop_assert_eq!(parse_authorization(&format!("Basic {encoded}")), Ok(basic(&user, &password)));
        }

        #[test]
        fn sha256_hex_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            prop_assert_eq!(parse_sha256_hex(&hex(&bytes)), Some(bytes));
            prop_assert_eq!(parse_sha256_hex(&hex(&bytes).to_uppercase()), Some(bytes));
        }
    }
}
