//! Byte escapes in string literals, read as Prometheus (Go) reads them. In Go, `"\xc3\xbf"`
//! and `"\303\277"` are bytes — together the UTF-8 of `ÿ` — and `"\xff"` alone is a byte
//! that is not UTF-8 at all, which makes `label_replace(x, "\xff", …)` fail on an invalid
//! label name. promql-parser reads each escape as a code point instead (`"\xc3\xbf"` as
//! `Ã¿`, `"\xff"` as a valid `ÿ`). [`rewrite`] decodes each run of byte escapes as UTF-8 and
//! writes it back as `\U` code-point escapes the parser reads the same way Go does.
//!
//! A byte that is not part of valid UTF-8 cannot be in a Rust string, so it becomes a
//! stand-in character from the top of Unicode's private-use plane, `U+10FF80 + (b − 0x80)`
//! ([`is_raw_byte`]): such a string matches no stored label (as Go's invalid bytes match
//! none), is refused as a label name, and is quoted back as `\xNN` ([`go_quote`]). Raw `` ` ``
//! strings have no escapes.
use std::borrow::Cow;

use crate::parse::skip_string;
use crate::query_tokens::{apply_edits, Edit};

/// `query` with the byte escapes of its `"…"` and `'…'` literals made code-point escapes;
/// the text as it was when none needs it.
pub(crate) fn rewrite(query: &str) -> Cow<'_, str> {
    let bytes = query.as_bytes();
    let mut edits: Vec<Edit> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let end = skip_string(bytes, i);
                edits.extend(literal_edits(query, i, end));
                i = end;
            }
            b'`' => i = skip_string(bytes, i),
            _ => i += 1,
        }
    }
    apply_edits(query, edits)
}

/// The edits of the literal spanning `[start, end)` (its quotes included).
fn literal_edits(query: &str, start: usize, end: usize) -> Vec<Edit> {
    let bytes = query.as_bytes();
    let mut edits = Vec::new();
    let mut run: Option<(usize, Vec<u8>)> = None;
    let mut i = start + 1;
    while i + 1 < end {
        let byte = (bytes[i] == b'\\').then(|| byte_escape(&bytes[i + 1..end])).flatten();
        match byte {
            Some((value, len)) => {
                run.get_or_insert_with(|| (i, Vec::new())).1.push(value);
                i += 1 + len;
                continue;
            }
            None => {
                if let Some((from, run_bytes)) = run.take() {
                    edits.extend(run_edit(from, i, run_bytes));
                }
                // Step over any other escape whole, so `\\x41` stays a backslash and `x41`.
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
        }
    }
    if let Some((from, run_bytes)) = run {
        edits.extend(run_edit(from, i, run_bytes));
    }
    edits
}

/// A `\xHH` or `\NNN` escape at the start of `after` (the text after the backslash): its
/// byte and length.
fn byte_escape(after: &[u8]) -> Option<(u8, usize)> {
    let (digits, radix) = match after.first()? {
        b'x' => (after.get(1..3)?, 16),
        b'0'..=b'7' => (after.get(..3)?, 8),
        _ => return None,
    };
    if !digits.iter().all(|&d| char::from(d).is_digit(radix)) {
        return None;
    }
    let value = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
    Some((u8::try_from(value).ok()?, 3))
}

/// The edit for a run of byte escapes at `[from, to)`: none when all are ASCII (the parser
/// reads those as Go does), else the run's UTF-8 as `\U` escapes, each byte that is not
/// UTF-8 as its stand-in.
fn run_edit(from: usize, to: usize, run: Vec<u8>) -> Option<Edit> {
    if run.is_ascii() {
        return None;
    }
    let mut text = String::new();
    for chunk in run.utf8_chunks() {
        let stand_ins = chunk.invalid().iter().map(|&b| raw_byte(b));
        for c in chunk.valid().chars().chain(stand_ins) {
            text.push_str(&format!("\\U{:08X}", u32::from(c)));
        }
    }
    Some((from, to, text))
}

/// First of the stand-ins for bytes 0x80–0xFF that are not UTF-8.
const RAW_BYTE_BASE: u32 = 0x10_FF80;

fn raw_byte(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b - 0x80)).expect("within the private-use plane")
}

/// Whether `c` stands for a byte of a string literal that was not UTF-8.
pub(crate) fn is_raw_byte(c: char) -> bool {
    (RAW_BYTE_BASE..=RAW_BYTE_BASE + 0x7F).contains(&u32::from(c))
}

/// `s` quoted as Go's `%q` quotes it (Prometheus' error messages): `"` and `\` escaped,
/// control characters and stand-in bytes as `\xNN`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_raw_byte(c) => out.push_str(&format!("\\x{:02x}", u32::from(c) - RAW_BYTE_BASE + 0x80)),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_escapes_are_utf8_bytes_as_in_go() {
        assert_eq!(rewrite(r#"x{a="\xc3\xbf"}"#), r#"x{a="\U000000FF"}"#);
        assert_eq!(rewrite(r#"x{a='\303\277b'}"#), r#"x{a='\U000000FFb'}"#);
        for untouched in [r#"x{a="\x41\n"}"#, r#"x{a="\\xff"}"#, "x{a=`\\xff`}", r#"x{a="ÿ"}"#] {
            assert_eq!(rewrite(untouched), untouched);
        }
        // The parser reads the rewritten escapes as the characters Go reads.
        let expr = crate::parse(r#"label_replace(m, "d\xc3\xbf", "", "src", "(.*)")"#).unwrap();
        assert!(expr.to_string().contains("dÿ"), "{expr}");
    }

    #[test]
    fn bytes_that_are_not_utf8_keep_their_identity() {
        let expr = crate::parse(r#"count_values("a\xc5z\xc3\xbf", m)"#).unwrap();
        let promql_parser::parser::Expr::Aggregate(agg) = expr else { panic!() };
        let Some(promql_parser::parser::Expr::StringLiteral(label)) = agg.param.as_deref() else { panic!() };
        assert_eq!(label.val.chars().filter(|&c| is_raw_byte(c)).count(), 1);
        assert_eq!(go_quote(&label.val), r#""a\xc5zÿ""#);
        assert_eq!(go_quote("q\"\\\n"), r#""q\"\\\n""#);
    }
}
