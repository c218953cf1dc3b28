//! The query text as tokens, for the rewrites made before parsing (`extended_selectors`,
//! `info_selector`): words, numbers, strings, `{…}` and `[…]` whole, parentheses, `@`,
//! signs, and single characters for the rest. Only as fine as finding a selector's edges
//! needs; the parser proper still reads the result.

use std::borrow::Cow;

use crate::parse::{find_outside_strings, skip_string};

/// A change to the query text: the bytes `[start, end)` replaced by the string.
pub(crate) type Edit = (usize, usize, String);

/// `query` with `edits` (in order, not overlapping) made; the text as it was with none.
pub(crate) fn apply_edits(query: &str, edits: Vec<Edit>) -> Cow<'_, str> {
    if edits.is_empty() {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len() + edits.iter().map(|e| e.2.len()).sum::<usize>());
    let mut copied = 0;
    for (start, end, text) in edits {
        out.push_str(&query[copied..start]);
        out.push_str(&text);
        copied = end;
    }
    out.push_str(&query[copied..]);
    Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Number,
    Str,
    /// `{…}`, matchers and all.
    Braces,
    /// `[…]`, a range or a subquery's range and step.
    Brackets,
    Open,
    Close,
    At,
    Sign,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The query's tokens, as far as finding modifiers needs them (strings and comments whole).
pub(crate) fn lex(query: &str) -> Vec<Token> {
    let bytes = query.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'#' => {
                i += bytes[i..].iter().take_while(|&&b| b != b'\n').count();
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i = skip_string(bytes, i);
                Kind::Str
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                i = find_outside_strings(bytes, i, close).map_or(bytes.len(), |end| end + 1);
                if c == b'{' {
                    Kind::Braces
                } else {
                    Kind::Brackets
                }
            }
            b'(' | b')' | b'@' | b'+' | b'-' => {
                i += 1;
                match c {
                    b'(' => Kind::Open,
                    b')' => Kind::Close,
                    b'@' => Kind::At,
                    _ => Kind::Sign,
                }
            }
            c if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                i += 1;
                while i < bytes.len() {
                    let exponent_sign =
                        matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E');
                    if !(bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || bytes[i] == b'_'
                        || exponent_sign)
                    {
                        break;
                    }
                    i += 1;
                }
                Kind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                i += bytes[i..]
                    .iter()
                    .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
                    .count();
                Kind::Word
            }
            _ => {
                // A whole character, so that every token is a slice of the text.
                i += query[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Other
            }
        };
        tokens.push(Token { kind, start, end: i });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every token is a slice of the text, in order, whatever the text.
        #[test]
        fn tokens_are_slices_of_any_text(text in "\\PC{0,40}") {
            let mut last_end = 0;
            for t in lex(&text) {
                prop_assert!(t.start >= last_end && t.end > t.start && t.end <= text.len());
                prop_assert!(text.get(t.start..t.end).is_some(), "{:?} cut at {}..{}", text, t.start, t.end);
                last_end = t.end;
            }
        }
    }
}
