//! `info()`'s second argument is a label selector that, unlike any other, may consist only
//! of matchers that match the empty value — `info(x, {data=~".*"})` keeps the series that
//! have no info series, `info(x, {__name__!="target_info"})` picks every other info metric.
//! promql-parser refuses such a selector as it would anywhere else ("vector selector must
//! contain at least one non-empty matcher"), so [`rewrite`] puts a matcher that matches only
//! a non-empty value, `__strata_info_selector__="1"`, in front of that argument's matchers;
//! the evaluator never hands it to storage (it drops every reserved `__strata_` matcher).

use std::borrow::Cow;

use crate::query_tokens::{apply_edits, lex, Kind, Token};

/// The reserved label of the matcher that lets the parser read the selector.
pub(crate) const INFO_SELECTOR_LABEL: &str = "__strata_info_selector__";

/// `query` with the marker matcher in the selector of every `info(v, {…})`; the text as it
/// was when it has none.
pub(crate) fn rewrite(query: &str) -> Cow<'_, str> {
    let tokens = lex(query);
    let mut inserts = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let is_info = token.kind == Kind::Word && query[token.start..token.end].eq_ignore_ascii_case("info");
        if is_info && tokens.get(k + 1).is_some_and(|t| t.kind == Kind::Open) {
            if let Some(braces) = second_argument_braces(query, &tokens[k + 2..]) {
                inserts.push(braces.start + 1);
            }
        }
    }
    let edits = inserts.into_iter().map(|at| {
        let empty = query[at..].trim_start().starts_with('}');
        (at, at, format!("{INFO_SELECTOR_LABEL}=\"1\"{}", if empty { "" } else { ", " }))
    });
    apply_edits(query, edits.collect())
}

/// The `{…}` of a call's second argument, when that argument is a selector (a name and
/// braces, or braces alone) ending the call; `tokens` start after the call's `(`.
fn second_argument_braces<'t>(query: &str, tokens: &'t [Token]) -> Option<&'t Token> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth == 0 => return None,
            Kind::Close => depth -= 1,
            Kind::Other if depth == 0 && &query[t.start..t.end] == "," => {
                let rest = &tokens[i + 1..];
                let skip = usize::from(rest.first().is_some_and(|t| t.kind == Kind::Word));
                let braces = rest.get(skip).filter(|t| t.kind == Kind::Braces)?;
                return rest.get(skip + 1).is_some_and(|t| t.kind == Kind::Close).then_some(braces);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_selectors_get_the_marker_matcher() {
        let m = format!("{INFO_SELECTOR_LABEL}=\"1\"");
        assert_eq!(rewrite(r#"info(x, {data=~".*"})"#), format!(r#"info(x, {{{m}, data=~".*"}})"#));
        assert_eq!(
            rewrite(r#"sum(info(rate(x[5m]), build_info{a!=""}))"#),
            format!(r#"sum(info(rate(x[5m]), build_info{{{m}, a!=""}}))"#)
        );
        assert_eq!(rewrite("info(x, {})"), format!("info(x, {{{m}}})"));
        for untouched in ["info(x)", "info(x, y)", "foo(x, {a=\"b\"})", "info(x, {a=\"b\"} or y)"] {
            assert_eq!(rewrite(untouched), untouched);
        }
        // The parser reads the result; the mark is one the evaluator keeps from storage.
        assert!(crate::parse(&rewrite(r#"info(x, {data=~".*"})"#)).is_ok());
        assert!(INFO_SELECTOR_LABEL.starts_with(crate::parse::RESERVED_LABEL_PREFIX));
        assert!(crate::extended_selectors::MODIFIER_LABEL.starts_with(crate::parse::RESERVED_LABEL_PREFIX));
    }
}
