//! Extended range selectors, Prometheus' experimental `promql-extended-range-selectors`
//! (PROM-52): `anchored` and `smoothed` written after a selector and its `offset`/`@` —
//! `increase(x[5m] anchored)`, `rate(x[5m] smoothed)`, `x smoothed`, `x @ 100 smoothed`.
//!
//! promql-parser 0.11 lexes both words but its grammar has no place for them, so [`rewrite`]
//! takes each out of the query text and marks the selector it follows with a matcher on a
//! reserved label, `__strata_range_modifier__="anchored"`: the mark travels inside the
//! parser's own `VectorSelector` and survives anything that re-prints or rewrites the tree.
//! The evaluator reads it back with [`modifier_of`] and never hands it to storage.
//!
//! Where the word is a modifier: after what ends a selector (a name, `{…}`, `[…]`, an offset
//! or `@` operand). After `(` or `,` it is left alone — a label named `anchored` in `by (…)`.
//! A modifier after anything that is not a selector is an error, with Prometheus' words
//! ("anchored modifier is not supported for subqueries").

use std::borrow::Cow;

use promql_parser::parser::VectorSelector;

use crate::parse::ParseError;
use crate::query_tokens::{apply_edits, lex, Edit, Kind, Token};

/// The reserved label that carries a selector's modifier from the text to the evaluator.
pub(crate) const MODIFIER_LABEL: &str = "__strata_range_modifier__";

/// How a selector reads the samples at its window's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeModifier {
    /// The last sample at or before the window's start (within the lookback delta) stands at
    /// the start, the last in the window at its end; no extrapolation.
    Anchored,
    /// The values at the window's start and end are interpolated between the samples either
    /// side of them (within the lookback delta).
    Smoothed,
}

impl RangeModifier {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RangeModifier::Anchored => "anchored",
            RangeModifier::Smoothed => "smoothed",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        if word.eq_ignore_ascii_case("anchored") {
            Some(RangeModifier::Anchored)
        } else if word.eq_ignore_ascii_case("smoothed") {
            Some(RangeModifier::Smoothed)
        } else {
            None
        }
    }
}

/// The modifier a selector was written with, if any.
pub(crate) fn modifier_of(vs: &VectorSelector) -> Option<RangeModifier> {
    let mark = vs.matchers.matchers.iter().find(|m| m.name == MODIFIER_LABEL)?;
    RangeModifier::from_keyword(&mark.value)
}

/// `query` with every `anchored`/`smoothed` modifier moved into its selector as a
/// [`MODIFIER_LABEL`] matcher; the text as it was when it has none. With `enabled` false a
/// modifier is an error naming the feature.
pub(crate) fn rewrite(query: &str, enabled: bool) -> Result<Cow<'_, str>, ParseError> {
    let tokens = lex(query);
    let mut edits: Vec<Edit> = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let Some(modifier) = (token.kind == Kind::Word)
            .then(|| RangeModifier::from_keyword(&query[token.start..token.end]))
            .flatten()
        else {
            continue;
        };
        if in_label_list(query, &tokens[..k]) {
            // A label named `anchored`: the parser reads the keyword there only quoted.
            edits.push((token.start, token.end, format!("\"{}\"", &query[token.start..token.end])));
            continue;
        }
        if k == 0 || !ends_operand(&tokens[k - 1], query) {
            continue;
        }
        if !enabled {
            return Err(ParseError(format!(
                "{} modifier is experimental and not enabled (--enable-feature=promql-extended-range-selectors)",
                modifier.keyword()
            )));
        }
        edits.push(mark_selector(query, &tokens[..k], modifier)?);
        edits.push((token.start, token.end, String::new()));
    }
    edits.sort_by_key(|e| e.0);
    Ok(apply_edits(query, edits))
}

/// The edit that marks the selector ending at the last of `before` with `modifier`: the
/// selector's `offset`/`@`/`[range]` are stepped over backwards, then its `{…}` or name.
fn mark_selector(query: &str, before: &[Token], modifier: RangeModifier) -> Result<Edit, ParseError> {
    let word = |t: &Token| &query[t.start..t.end];
    let mark = format!("{MODIFIER_LABEL}=\"{}\"", modifier.keyword());
    let mut j = before.len();
    loop {
        if j >= 2 && before[j - 1].kind == Kind::Number {
            let mut p = j - 1;
            if before[p - 1].kind == Kind::Sign {
                p -= 1;
            }
            if p >= 1
                && (before[p - 1].kind == Kind::At
                    || (before[p - 1].kind == Kind::Word
                        && word(&before[p - 1]).eq_ignore_ascii_case("offset")))
            {
                j = p - 1;
                continue;
            }
        }
        if j >= 4
            && before[j - 1].kind == Kind::Close
            && before[j - 2].kind == Kind::Open
            && matches!(word(&before[j - 3]).to_ascii_lowercase().as_str(), "start" | "end")
            && before[j - 4].kind == Kind::At
        {
            j -= 4;
            continue;
        }
        if j >= 1 && before[j - 1].kind == Kind::Brackets {
            if word(&before[j - 1]).contains(':') {
                return Err(ParseError(format!(
                    "{} modifier is not supported for subqueries",
                    modifier.keyword()
                )));
            }
            j -= 1;
        }
        break;
    }
    match before[..j].last() {
        Some(t) if t.kind == Kind::Braces => {
            let inside = &query[t.start + 1..t.end - 1];
            let text = if inside.trim().is_empty() { mark } else { format!("{mark}, ") };
            Ok((t.start + 1, t.start + 1, text))
        }
        Some(t) if t.kind == Kind::Word && !is_keyword(word(t)) => Ok((t.end, t.end, format!("{{{mark}}}"))),
        _ => Err(ParseError(format!("{} modifier not implemented", modifier.keyword()))),
    }
}

/// Whether the word after `before` is a label in the list of a `by`, `without`, `on`,
/// `ignoring`, `group_left` or `group_right`.
fn in_label_list(query: &str, before: &[Token]) -> bool {
    let mut j = before.len();
    while j > 0 {
        let t = &before[j - 1];
        let text = &query[t.start..t.end];
        match t.kind {
            Kind::Word | Kind::Str => j -= 1,
            Kind::Other if text == "," => j -= 1,
            Kind::Open => {
                return j >= 2 && {
                    let w = &before[j - 2];
                    w.kind == Kind::Word
                        && ["by", "without", "on", "ignoring", "group_left", "group_right"]
                            .iter()
                            .any(|k| query[w.start..w.end].eq_ignore_ascii_case(k))
                };
            }
            _ => return false,
        }
    }
    false
}

/// Whether a word after `token` would be a postfix modifier: `token` ends an operand.
fn ends_operand(token: &Token, query: &str) -> bool {
    match token.kind {
        Kind::Braces | Kind::Brackets | Kind::Number | Kind::Close => true,
        Kind::Word => !is_keyword(&query[token.start..token.end]),
        _ => false,
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 12] = [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "atan2",
    ];
    KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(query: &str) -> String {
        rewrite(query, true).unwrap().into_owned()
    }

    fn mark(m: &str) -> String {
        format!("{MODIFIER_LABEL}=\"{m}\"")
    }

    #[test]
    fn modifiers_move_into_their_selectors() {
        let a = mark("anchored");
        let s = mark("smoothed");
        assert_eq!(rewritten("increase(metric[1m] anchored)"), format!("increase(metric{{{a}}}[1m] )"));
        assert_eq!(rewritten(r#"rate(m{job="x"}[5m] smoothed)"#), format!(r#"rate(m{{{s}, job="x"}}[5m] )"#));
        assert_eq!(rewritten("{__name__=\"m\"} smoothed"), format!("{{{s}, __name__=\"m\"}} "));
        assert_eq!(rewritten("m{} anchored"), format!("m{{{a}}} "));
        assert_eq!(rewritten("metric @ 100 smoothed + 0"), format!("metric{{{s}}} @ 100  + 0"));
        assert_eq!(rewritten("metric offset -100 smoothed"), format!("metric{{{s}}} offset -100 "));
        assert_eq!(
            rewritten("m[5m] @ start() offset 1m ANCHORED"),
            format!("m{{{a}}}[5m] @ start() offset 1m ")
        );
        assert_eq!(
            rewritten("predict_linear(foo[3m] smoothed, 4)"),
            format!("predict_linear(foo{{{s}}}[3m] , 4)")
        );
        assert_eq!(rewritten("a:b:c[1m] anchored"), format!("a:b:c{{{a}}}[1m] "));
    }

    #[test]
    fn the_words_as_grouping_labels_are_quoted_for_the_parser() {
        assert_eq!(rewritten("sum by (job, anchored) (x)"), r#"sum by (job, "anchored") (x)"#);
        assert_eq!(
            rewritten("x * on (smoothed) group_left (anchored) y"),
            r#"x * on ("smoothed") group_left ("anchored") y"#
        );
        assert!(crate::parse(&rewritten("sum without (smoothed) (x)")).is_ok());
        // Disabled or not, a label is a label.
        assert_eq!(rewrite("sum by (anchored) (x)", false).unwrap(), r#"sum by ("anchored") (x)"#);
    }

    #[test]
    fn the_words_elsewhere_are_left_alone() {
        for query in [
            "label_replace(x, \"smoothed\", \"$1\", \"a\", \"(.*)\")",
            "x{smoothed=\"anchored\"}",
            "rate(x[5m])",
            "max(smoothed, x) # anchored",
        ] {
            assert_eq!(rewrite(query, true).unwrap(), query);
            assert_eq!(rewrite(query, false).unwrap(), query);
        }
    }

    #[test]
    fn misplaced_or_disabled_modifiers_are_errors() {
        assert_eq!(
            rewrite("x[5m:1m] anchored", true).unwrap_err().0,
            "anchored modifier is not supported for subqueries"
        );
        assert_eq!(rewrite("rate(x[5m]) smoothed", true).unwrap_err().0, "smoothed modifier not implemented");
        assert!(rewrite("x[5m] anchored", false).unwrap_err().0.contains("promql-extended-range-selectors"));
    }

    #[test]
    fn the_mark_is_read_back_from_the_parsed_selector() {
        let expr = crate::parse(&rewritten("x[5m] smoothed")).unwrap();
        let promql_parser::parser::Expr::MatrixSelector(ms) = expr else { panic!("{expr:?}") };
        assert_eq!(modifier_of(&ms.vs), Some(RangeModifier::Smoothed));
        let plain = crate::parse("x[5m]").unwrap();
        let promql_parser::parser::Expr::MatrixSelector(ms) = plain else { panic!() };
        assert_eq!(modifier_of(&ms.vs), None);
    }
}
