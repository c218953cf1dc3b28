//! Label matchers with Prometheus' semantics.
//!
//! - `=`, `!=`, `=~`, `!~` compare the value of one label; a series without the label is
//!   treated as having the value `""`, so `l=""` selects series *without* `l` and `l!=""`
//!   selects series that have it.
//! - Regexes are fully anchored (`=~"a.*"` must match the whole value) and `.` matches a
//!   newline too, as in Prometheus (`^(?s:<re>)$`).

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use crate::{Labels, ModelError, Result};

/// The four matching operators of PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// One label matcher, e.g. `host=~"web-.*"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    op: MatchOp,
    name: String,
    value: String,
    /// Compiled, anchored form of `value`; present exactly for the regex operators. Shared
    /// with every matcher of the same pattern (`regex_cache`).
    regex: Option<Arc<Regex>>,
}

impl Matcher {
    /// Builds a matcher; a regex that does not compile is an error naming it.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                let anchored = format!("^(?s:{value})$");
                let re = crate::regex_cache::compiled(&anchored).map_err(|e| ModelError::InvalidRegex {
                    name: name.clone(),
                    pattern: value.clone(),
                    reason: one_line_reason(&e),
                })?;
                Some(re)
            }
        };
        Ok(Matcher { op, name, value, regex })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher { op: MatchOp::Equal, name: name.into(), value: value.into(), regex: None }
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The label name this matcher tests.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value or pattern as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value matches (pass `""` for an absent label).
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::RegexMatch, Some(re)) => re.is_match(value),
            (MatchOp::RegexNoMatch, Some(re)) => !re.is_match(value),
            (MatchOp::RegexMatch | MatchOp::RegexNoMatch, None) => {
                unreachable!("regex matchers are only built by Matcher::new, which compiles them")
            }
        }
    }

    /// Whether a series matches: its value of [`Matcher::name`], or `""` if absent.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// Whether this matcher also selects series that lack the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

/// The regex crate's message spans lines and quotes our anchored wrapper; keep its
/// `error: …` line, which says what is wrong with the user's pattern.
fn one_line_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    let reason = text.lines().find_map(|l| l.trim().strip_prefix("error: "));
    reason.map_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "), str::to_string)
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.name == other.name && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    #[test]
    fn empty_value_means_absent() {
        let with = Labels::from_pairs([("a", "1")]).unwrap();
        let without = Labels::from_pairs([("b", "1")]).unwrap();
        let absent = m(MatchOp::Equal, "a", "");
        assert!(!absent.matches_labels(&with));
        assert!(absent.matches_labels(&without));
        let present = m(MatchOp::NotEqual, "a", "");
        assert!(present.matches_labels(&with));
        assert!(!present.matches_labels(&without));
        assert!(m(MatchOp::RegexMatch, "a", "1|").matches_labels(&without));
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let re = m(MatchOp::RegexMatch, "h", "web-[0-9]");
        assert!(re.matches("web-1"));
        assert!(!re.matches("xweb-1"));
        assert!(!re.matches("web-12"));
        let alt = m(MatchOp::RegexMatch, "h", "a|b");
        assert!(alt.matches("a") && alt.matches("b") && !alt.matches("ab"));
        assert!(m(MatchOp::RegexNoMatch, "h", "web.*").matches("db"));
        assert!(m(MatchOp::RegexMatch, "h", "a.b").matches("a\nb"), "dot matches newline");
        // Anchors inside the value are harmless: they are already implied.
        assert!(m(MatchOp::RegexMatch, "h", "^web$").matches("web"));
    }

    #[test]
    fn bad_regex_is_a_clear_error() {
        let err = Matcher::new(MatchOp::RegexMatch, "job", "(unclosed").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("(unclosed") && text.contains("job"), "{text}");
        assert!(text.contains("unclosed group") && !text.contains('\n'), "{text}");
    }

    #[test]
    fn display_is_promql() {
        assert_eq!(m(MatchOp::RegexNoMatch, "a", "x\"y").to_string(), r#"a!~"x\"y""#);
    }
}
