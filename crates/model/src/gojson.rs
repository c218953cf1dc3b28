//! Strings as Go's `encoding/json` writes them. Prometheus' and InfluxDB's HTTP answers come
//! from that encoder, which escapes `<`, `>`, `&`, U+2028 and U+2029 besides what JSON
//! requires; writing the same bytes keeps Strata's answers byte-identical to theirs.

use std::fmt::Write;

/// Appends `s` as a JSON string literal (quotes included), escaped as Go escapes it. Runs
/// of characters that need no escape are copied whole (answers are mostly such runs).
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '<' => "\\u003c",
            '>' => "\\u003e",
            '&' => "\\u0026",
            '\u{2028}' => "\\u2028",
            '\u{2029}' => "\\u2029",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        run = i + c.len_utf8();
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escape of one character at a time: the rule `push_string` follows by runs.
    fn one_by_one(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_escape_as_single_characters_do(s in "(\\PC|[\"\\\\<>&\n\r\t\u{1}\u{1f}\u{2028}\u{2029}é])*") {
            let mut out = String::new();
            push_string(&mut out, &s);
            proptest::prop_assert_eq!(out, one_by_one(&s));
        }
    }

    #[test]
    fn escapes_as_go_does() {
        let mut out = String::new();
        push_string(&mut out, "a\"b\\<&>\n\u{1}\u{2028}é");
        assert_eq!(out, r#""a\"b\\\u003c\u0026\u003e\n\u0001\u2028é""#);
        let back: String = serde_json_free_parse(&out);
        assert_eq!(back, "a\"b\\<&>\n\u{1}\u{2028}é");
    }

    /// A tiny reader of what `push_string` writes, so the test needs no JSON crate.
    fn serde_json_free_parse(s: &str) -> String {
        let inner = &s[1..s.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    }
}
