//! Byte escapes in string literals, read as Prometheus (Go) reads them. In Go, `"\xc3\xbf"`
//! and `"\303\277"` are bytes — together the UTF-8 of `ÿ` — and `"\xff"` alone is a byte
//! that is not UTF-8 at all, which makes `label_replace(x, "\xff", …)` fail on an invalid
//! label name. promql-parser reads each escape as a code point instead (`"\xc3\xbf"` as
//! `Ã¿`, `"\xff"` as a valid `ÿ`). [`rewrite`] decodes each run of byte escapes as UTF-8 and
//! writes it back as `\U` code-point escapes the parser reads the same way Go does; a run
//! that is not UTF-8 is an error naming the literal (Rust strings, like Strata's label
//! names and values, are UTF-8 throughout). Raw `` ` `` strings have no escapes.

use std::borrow::Cow;

use crate::parse::{skip_string, ParseError};
use crate::query_tokens::{apply_edits, Edit};

/// `query` with the byte escapes of its `"…"` and `'…'` literals made code-point escapes;
/// the text as it was when none needs it.
pub(crate) fn rewrite(query: &str) -> Result<Cow<'_, str>, ParseError> {
    let bytes = query.as_bytes();
    let mut edits: Vec<Edit> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let end = skip_string(bytes, i);
                edits.extend(literal_edits(query, i, end)?);
                i = end;
            }
            b'`' => i = skip_string(bytes, i),
            _ => i += 1,
        }
    }
    Ok(apply_edits(query, edits))
}

/// The edits of the literal spanning `[start, end)` (its quotes included).
fn literal_edits(query: &str, start: usize, end: usize) -> Result<Vec<Edit>, ParseError> {
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
                    edits.extend(run_edit(query, start, end, from, i, run_bytes)?);
                }
                // Step over any other escape whole, so `\\x41` stays a backslash and `x41`.
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
        }
    }
    if let Some((from, run_bytes)) = run {
        edits.extend(run_edit(query, start, end, from, i, run_bytes)?);
    }
    Ok(edits)
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
/// reads those as Go does), else the run's UTF-8 as `\U` escapes.
fn run_edit(
    query: &str,
    start: usize,
    end: usize,
    from: usize,
    to: usize,
    run: Vec<u8>,
) -> Result<Option<Edit>, ParseError> {
    if run.is_ascii() {
        return Ok(None);
    }
    let text = String::from_utf8(run).map_err(|_| {
        ParseError(format!(
            "string literal {} is not valid UTF-8 (Strata's strings are UTF-8)",
            &query[start..end]
        ))
    })?;
    Ok(Some((from, to, text.chars().map(|c| format!("\\U{:08X}", u32::from(c))).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_escapes_are_utf8_bytes_as_in_go() {
        assert_eq!(rewrite(r#"x{a="\xc3\xbf"}"#).unwrap(), r#"x{a="\U000000FF"}"#);
        assert_eq!(rewrite(r#"x{a='\303\277b'}"#).unwrap(), r#"x{a='\U000000FFb'}"#);
        for untouched in [r#"x{a="\x41\n"}"#, r#"x{a="\\xff"}"#, "x{a=`\\xff`}", r#"x{a="ÿ"}"#] {
            assert_eq!(rewrite(untouched).unwrap(), untouched);
        }
        let err = rewrite(r#"label_replace(m, "\xff", "", "src", "(.*)")"#).unwrap_err();
        assert_eq!(err.0, r#"string literal "\xff" is not valid UTF-8 (Strata's strings are UTF-8)"#);
        // The parser reads the rewritten escapes as the characters Go reads.
        let expr = crate::parse(r#"label_replace(m, "d\xc3\xbf", "", "src", "(.*)")"#).unwrap();
        assert!(expr.to_string().contains("dÿ"), "{expr}");
    }
}
