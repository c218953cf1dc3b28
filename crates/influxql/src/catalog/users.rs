//! Users and their privileges, kept in the catalog as InfluxDB 1.x keeps them in its meta
//! store: a name, a bcrypt hash of the password (never the password), whether the user is
//! an admin, and READ / WRITE / ALL per database.
//!
//! As in InfluxDB with `auth-enabled = false` (its default), users are managed but not yet
//! required: the server checks credentials once authentication is switched on (the
//! security issue); [`Catalog::authenticate`] is what it will call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError};

/// The bcrypt cost InfluxDB uses (Go's `bcrypt.DefaultCost`).
const BCRYPT_COST: u32 = 10;

/// What a user may do on one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Privilege {
    Read,
    Write,
    All,
}

impl Privilege {
    fn bits(self) -> u8 {
        match self {
            Privilege::Read => 1,
            Privilege::Write => 2,
            Privilege::All => 3,
        }
    }

    fn from_bits(bits: u8) -> Option<Privilege> {
        match bits & 3 {
            1 => Some(Privilege::Read),
            2 => Some(Privilege::Write),
            3 => Some(Privilege::All),
            _ => None,
        }
    }

    /// As SHOW GRANTS prints it.
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    /// bcrypt of the password.
    pub hash: String,
    pub admin: bool,
    /// database → privilege.
    pub privileges: BTreeMap<String, Privilege>,
}

fn hash(password: &str) -> Result<String, String> {
    bcrypt::hash(password, BCRYPT_COST).map_err(|e| format!("hashing the password: {e}"))
}

impl Catalog {
    /// The users, in creation order.
    pub fn users(&self) -> Vec<User> {
        self.read().state.users.clone()
    }

    /// Creates a user; creating it again with the same password and admin flag is no
    /// change, anything else an error.
    pub fn create_user(
        &self,
        name: &str,
        password: &str,
        admin: bool,
    ) -> Result<Result<(), String>, CatalogError> {
        let mut guard = self.write();
        if let Some(u) = guard.state.users.iter().find(|u| u.name == name) {
            let same = u.admin == admin && bcrypt::verify(password, &u.hash).unwrap_or(false);
            return Ok(if same { Ok(()) } else { Err("user already exists".into()) });
        }
        let hash = match hash(password) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        guard.state.users.push(User { name: name.to_string(), hash, admin, privileges: BTreeMap::new() });
        self.save(&guard.state)?;
        Ok(Ok(()))
    }

    pub fn drop_user(&self, name: &str) -> Result<Result<(), String>, CatalogError> {
        self.change_user(name, |users, i| {
            users.remove(i);
            Ok(())
        })
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<Result<(), String>, CatalogError> {
        let hash = match hash(password) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        self.change_user(name, |users, i| {
            users[i].hash = hash;
            Ok(())
        })
    }

    /// GRANT ALL PRIVILEGES TO user (true) / REVOKE ALL PRIVILEGES FROM user (false).
    pub fn set_admin(&self, name: &str, admin: bool) -> Result<Result<(), String>, CatalogError> {
        self.change_user(name, |users, i| {
            users[i].admin = admin;
            Ok(())
        })
    }

    /// `GRANT p ON db TO user`: the user's privilege on `db` becomes `p`.
    pub fn grant(
        &self,
        name: &str,
        database: &str,
        p: Privilege,
    ) -> Result<Result<(), String>, CatalogError> {
        self.set_privilege(name, database, Some(p))
    }

    /// `REVOKE p ON db FROM user`: `p`'s bits are taken away (InfluxDB's READ = 1, WRITE =
    /// 2, ALL = 3), so revoking READ from ALL leaves WRITE.
    pub fn revoke(
        &self,
        name: &str,
        database: &str,
        p: Privilege,
    ) -> Result<Result<(), String>, CatalogError> {
        let current = self
            .read()
            .state
            .users
            .iter()
            .find(|u| u.name == name)
            .and_then(|u| u.privileges.get(database).copied());
        let left = current.map_or(0, Privilege::bits) & !p.bits();
        self.set_privilege(name, database, Privilege::from_bits(left))
    }

    /// GRANT (Some) or REVOKE (None) a privilege on a database that exists.
    pub fn set_privilege(
        &self,
        name: &str,
        database: &str,
        privilege: Option<Privilege>,
    ) -> Result<Result<(), String>, CatalogError> {
        if !self.has_database(database) {
            return Ok(Err(format!("database not found: {database}")));
        }
        self.change_user(name, |users, i| {
            match privilege {
                Some(p) => users[i].privileges.insert(database.to_string(), p),
                None => users[i].privileges.remove(database),
            };
            Ok(())
        })
    }

    /// Whether `password` is `name`'s.
    pub fn authenticate(&self, name: &str, password: &str) -> bool {
        let users = self.read();
        users.state.users.iter().any(|u| u.name == name && bcrypt::verify(password, &u.hash).unwrap_or(false))
    }

    fn change_user(
        &self,
        name: &str,
        change: impl FnOnce(&mut Vec<User>, usize) -> Result<(), String>,
    ) -> Result<Result<(), String>, CatalogError> {
        let mut guard = self.write();
        let Some(i) = guard.state.users.iter().position(|u| u.name == name) else {
            return Ok(Err("user not found".into()));
        };
        if let Err(e) = change(&mut guard.state.users, i) {
            return Ok(Err(e));
        }
        self.save(&guard.state)?;
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_kept_hashed_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        catalog.create_user("jdoe", "1337", false).unwrap().unwrap();
        assert_eq!(catalog.create_user("jdoe", "other", false).unwrap().unwrap_err(), "user already exists");
        catalog.create_user("jdoe", "1337", false).unwrap().unwrap();
        let on_disk = std::fs::read_to_string(dir.path().join("catalog.json")).unwrap();
        assert!(!on_disk.contains("1337"), "the password itself is never stored");
        catalog.set_admin("jdoe", true).unwrap().unwrap();
        assert_eq!(
            catalog.set_privilege("jdoe", "nodb", Some(Privilege::Read)).unwrap().unwrap_err(),
            "database not found: nodb"
        );
        catalog.ensure_database("db0").unwrap();
        catalog.grant("jdoe", "db0", Privilege::All).unwrap().unwrap();
        catalog.revoke("jdoe", "db0", Privilege::Read).unwrap().unwrap();
        let reopened = Catalog::open(dir.path()).unwrap();
        let users = reopened.users();
        assert_eq!((users[0].name.as_str(), users[0].admin), ("jdoe", true));
        assert_eq!(users[0].privileges.get("db0"), Some(&Privilege::Write));
        assert!(reopened.authenticate("jdoe", "1337"));
        assert!(!reopened.authenticate("jdoe", "1338"));
        reopened.set_password("jdoe", "new").unwrap().unwrap();
        assert!(reopened.authenticate("jdoe", "new"));
        reopened.drop_user("jdoe").unwrap().unwrap();
        assert_eq!(reopened.drop_user("jdoe").unwrap().unwrap_err(), "user not found");
    }
}
