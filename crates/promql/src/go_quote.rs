//! Strings as Prometheus (Go) quotes them in messages. A string literal may hold bytes that
//! are not UTF-8 (`"\xff"`): the parser (`strata_promql_syntax::lexer::bytes_as_text`)
//! keeps each as a stand-in character from the top of Unicode's private-use plane,
//! `U+10FF80 + (b − 0x80)`; such a name is refused as a label name, and quoted back as
//! `\xNN` here.

/// Whether `c` stands for a byte of a string literal that was not UTF-8.
pub(crate) fn is_raw_byte(c: char) -> bool {
    strata_promql_syntax::lexer::raw_byte(c).is_some()
}

/// `s` quoted as Go's `%q` quotes it (Prometheus' error messages).
pub fn go_quote(s: &str) -> String {
    strata_promql_syntax::printer::quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_bytes_and_controls_are_quoted_as_go_does() {
        let text = strata_promql_syntax::lexer::bytes_as_text(&[b'a', 0xff, b'"', b'\n']);
        assert!(text.chars().any(is_raw_byte));
        assert_eq!(go_quote(&text), r#""a\xff\"\n""#);
        let parsed = strata_promql_syntax::parse(r#"label_replace(x, "\xc3\xbf", "", "a", "")"#).unwrap();
        let strata_promql_syntax::Expr::Call(call) = parsed else { panic!() };
        let strata_promql_syntax::Expr::String(s) = &call.args[1] else { panic!() };
        assert_eq!(s.value, "ÿ", "byte escapes that spell UTF-8 are its character");
    }
}
