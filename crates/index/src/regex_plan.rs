//! Shortcuts for regex matchers, so that the common patterns need no regex run per value.
//!
//! Prometheus regexes are fully anchored (`^(?s:…)$`), so:
//! - a pattern that is only literal text and `|` (`GET|POST|PUT`) matches exactly those
//!   strings: look each up instead of scanning the values;
//! - literal text followed by `.*` (`api-.*`) matches exactly the values with that prefix
//!   (`.` matches newlines too, under `(?s)`): compare prefixes, no regex;
//! - `.+` matches every value a label holds (stored values are never empty): the same as
//!   the empty prefix;
//! - anything else runs the compiled regex on each value of the label.
//!
//! A backslash before ASCII punctuation (`\.`) is a literal character.

/// How the values matching a regex are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RegexPlan {
    /// Exactly these values.
    Literals(Vec<String>),
    /// Exactly the values starting with this.
    Prefix(String),
    /// Run the regex on every value.
    Scan,
}

/// Plans the pattern as the user wrote it (without the implied anchors).
pub(crate) fn plan(pattern: &str) -> RegexPlan {
    if pattern == ".+" {
        return RegexPlan::Prefix(String::new());
    }
    if let Some(prefix) = pattern.strip_suffix(".*") {
        if let Some(literal) = literal(prefix) {
            return RegexPlan::Prefix(literal);
        }
    }
    let alternatives: Option<Vec<String>> = split_alternatives(pattern).map(literal).collect();
    match alternatives {
        Some(literals) => RegexPlan::Literals(literals),
        None => RegexPlan::Scan,
    }
}

/// Splits on `|` that is not escaped.
fn split_alternatives(pattern: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in pattern.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '|' => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&pattern[start..]);
    parts.into_iter()
}

/// The text `s` stands for if it holds no regex syntax; `None` otherwise.
fn literal(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => out.push(e),
                _ => return None, // \d, \w, \n … are classes or escapes with meaning
            },
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' | '|' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let lits = |v: &[&str]| RegexPlan::Literals(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(plan("GET|POST"), lits(&["GET", "POST"]));
        assert_eq!(plan("a|"), lits(&["a", ""]));
        assert_eq!(plan("10\\.0\\.0\\.1"), lits(&["10.0.0.1"]));
        assert_eq!(plan("a\\|b"), lits(&["a|b"]));
        assert_eq!(plan("api-.*"), RegexPlan::Prefix("api-".into()));
        assert_eq!(plan(".*"), RegexPlan::Prefix(String::new()));
        assert_eq!(plan(".+"), RegexPlan::Prefix(String::new()));
        assert_eq!(plan("a.b"), RegexPlan::Scan);
        assert_eq!(plan("a.*b"), RegexPlan::Scan);
        assert_eq!(plan("(a|b)"), RegexPlan::Scan);
        assert_eq!(plan("a+"), RegexPlan::Scan);
        assert_eq!(plan("\\d"), RegexPlan::Scan);
        assert_eq!(plan("(?i)get"), RegexPlan::Scan);
    }
}
