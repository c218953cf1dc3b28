//! Compiled matcher regexes, shared by every matcher built from the same pattern.
//!
//! Compiling a regex costs more than answering a small query: `job=~"prom.*|victoria.*"`
//! took 0.1 ms to compile, most of a three-series dashboard query. Dashboards send the same
//! patterns again and again, so matchers take their regex from here (Prometheus keeps a
//! cache of compiled matchers for the same reason). A regex is shared behind an `Arc`, so
//! the lazily built automaton states the regex engine caches while matching are shared
//! too.
//!
//! The cache is bounded by two generations: lookups hit either; new entries go to the
//! current one, and when it is full it becomes the previous one (the old previous one is
//! dropped). A pattern in use keeps being copied into the current generation, so what is
//! dropped is what was not used for a whole generation — a cheap stand-in for LRU.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex::Regex;

/// Patterns per generation; at most twice this many regexes are held.
const GENERATION: usize = 1024;

#[derive(Default)]
struct Generations {
    current: HashMap<String, Arc<Regex>>,
    previous: HashMap<String, Arc<Regex>>,
}

impl Generations {
    fn get(&mut self, pattern: &str) -> Option<Arc<Regex>> {
        if let Some(re) = self.current.get(pattern) {
            return Some(re.clone());
        }
        let re = self.previous.remove(pattern)?;
        self.insert(pattern, re.clone());
        Some(re)
    }

    fn insert(&mut self, pattern: &str, re: Arc<Regex>) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(pattern.to_string(), re);
    }
}

static CACHE: LazyLock<Mutex<Generations>> = LazyLock::new(Mutex::default);

/// The compiled form of `pattern`, from the cache or compiled now (outside the lock, so
/// that one slow pattern does not hold up other queries).
pub fn compiled(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    // The cache only holds compiled regexes: a panic elsewhere cannot leave it half-updated.
    let cache = || CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(re) = cache().get(pattern) {
        return Ok(re);
    }
    let re = Arc::new(Regex::new(pattern)?);
    cache().insert(pattern, re.clone());
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_pattern_is_compiled_once() {
        let a = compiled("^(?s:cache-test-[0-9]+)$").unwrap();
        let b = compiled("^(?s:cache-test-[0-9]+)$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_match("cache-test-42"));
        assert!(compiled("^(?s:cache-test-(unclosed)$").is_err(), "errors are not cached as regexes");
    }

    #[test]
    fn generations_bound_the_cache_and_keep_what_is_used() {
        let mut g = Generations::default();
        let re = |p: &str| Arc::new(Regex::new(p).unwrap());
        g.insert("kept", re("kept"));
        for i in 0..GENERATION {
            g.insert(&format!("p{i}"), re("x"));
        }
        assert!(g.previous.contains_key("kept"), "rolled into the previous generation");
        assert!(g.get("kept").is_some(), "found there and brought back");
        for i in 0..2 * GENERATION {
            g.insert(&format!("q{i}"), re("x"));
        }
        assert!(g.current.len() + g.previous.len() <= 2 * GENERATION);
        assert!(g.get("p0").is_none(), "unused for two generations: dropped");
    }
}
