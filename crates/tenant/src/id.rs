//! Tenant ids as Mimir and Cortex accept them: 1 to 150 characters, each an ASCII letter or
//! digit or one of `! - _ . * ' ( )`, and neither `.` nor `..` (an id may name a directory).
//! Ids are compared as they are written (case matters).

use std::fmt;

/// The longest id, in bytes.
pub const MAX_LEN: usize = 150;

/// A valid tenant id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

/// A tenant id that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("tenant id is empty")]
    Empty,
    #[error("tenant id is {0} bytes long; at most {MAX_LEN} are allowed")]
    TooLong(usize),
    #[error(
        "tenant id {id:?}: character {ch:?} at {at} is not allowed (letters, digits and ! - _ . * ' ( ) are)"
    )]
    BadChar { id: String, ch: char, at: usize },
    #[error("tenant id {0:?} is not allowed")]
    Reserved(String),
}

impl TenantId {
    /// Checks `text` as a tenant id.
    pub fn parse(text: &str) -> Result<TenantId, TenantError> {
        if text.is_empty() {
            return Err(TenantError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(TenantError::TooLong(text.len()));
        }
        if let Some((at, ch)) = text.char_indices().find(|&(_, c)| !allowed(c)) {
            return Err(TenantError::BadChar { id: text.to_string(), ch, at });
        }
        if text == "." || text == ".." {
            return Err(TenantError::Reserved(text.to_string()));
        }
        Ok(TenantId(text.to_string()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')')
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TenantId {
    type Err = TenantError;

    fn from_str(s: &str) -> Result<TenantId, TenantError> {
        TenantId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_mimir_ids_and_names_what_is_wrong() {
        for ok in ["0", "acme", "team-a_prod.eu", "x*(y)!'z", &"a".repeat(150)] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TenantId::parse(""), Err(TenantError::Empty));
        assert_eq!(TenantId::parse(&"a".repeat(151)), Err(TenantError::TooLong(151)));
        assert!(matches!(TenantId::parse(".."), Err(TenantError::Reserved(_))));
        let err = TenantId::parse("a/b").unwrap_err();
        assert!(err.to_string().contains("'/' at 1"), "{err}");
        assert!(TenantId::parse("a|b").is_err(), "no multi-tenant queries");
        assert!(TenantId::parse("é").is_err());
    }

    proptest! {
        /// An id is accepted exactly when every character is allowed and it is a sensible
        /// length (the oracle is the rule written out).
        #[test]
        fn accepts_exactly_the_allowed_ids(text in "[a-zA-Z0-9!_.*'()/|é -]{0,160}") {
            let set = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'()";
            let expected = !text.is_empty()
                && text.len() <= MAX_LEN
                && text.chars().all(|c| set.contains(c))
                && text != "."
                && text != "..";
            prop_assert_eq!(TenantId::parse(&text).is_ok(), expected);
        }
    }
}
