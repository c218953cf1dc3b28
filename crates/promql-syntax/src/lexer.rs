//! The query text as tokens, as Prometheus' lexer (`promql/parser/lex.go`) cuts it.
//!
//! Words are one kind ([`Kind::Word`]) whatever they spell: whether `on`, `sum` or `offset`
//! is a keyword depends on where it stands (a label may be called `on`, a metric `sum`), so
//! the parser decides, case-insensitively as Prometheus does. A number glued to a unit
//! (`5m`, `1h30m`) is a [`Kind::Duration`]; `Inf` and `NaN` are words the parser reads as
//! numbers. Every token keeps its byte span for error positions.

use crate::error::ParseError;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword: letters, digits, `_`, and `:` (metric names).
    Word,
    /// A number: decimal, hexadecimal or with an exponent.
    Number,
    /// A duration: digits with units, `1h30m`.
    Duration,
    /// A quoted string, its value unescaped in [`Token::text`].
    String,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Colon,
    At,
    /// `=` (a label matcher).
    Eq,
    /// `=~`.
    EqRegex,
    /// `!~`.
    NeqRegex,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `==`.
    EqlC,
    /// `!=`.
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    /// `</`: keeps a histogram's observations below a bound.
    TrimUpper,
    /// `>/`: keeps a histogram's observations above a bound.
    TrimLower,
    /// The end of the input.
    Eof,
}

/// One token: its kind, its text (a string's value, unescaped) and its byte span.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether this is the word `keyword`, in any case.
    pub fn is_word(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    /// How an error message names the token, as Prometheus does (`"offset"`, `number "5"`).
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "end of input".into(),
            Kind::Word if crate::keywords::is_keyword(&self.text) => {
                format!("{:?}", self.text.to_lowercase())
            }
            Kind::Word => format!("identifier {:?}", self.text),
            Kind::Number => format!("number {:?}", self.text),
            Kind::Duration => format!("duration {:?}", self.text),
            Kind::String => format!("string {:?}", self.text),
            _ => format!("{:?}", self.text),
        }
    }
}

/// Cuts `input` into tokens, ending with [`Kind::Eof`].
pub fn lex(input: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    // Inside `[…]` a `:` separates a subquery's range from its step; elsewhere it is part of
    // a metric name (`job:rate5m`).
    let mut brackets = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let (kind, end, text) =
            if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                let (kind, end) = number_or_duration(input, i)?;
                (kind, end, input[start..end].to_string())
            } else if c == b':' && brackets > 0 {
                (Kind::Colon, i + 1, ":".to_string())
            } else if is_word_start(c) {
                let end = if brackets > 0 { name_end(bytes, i) } else { word_end(bytes, i) };
                (Kind::Word, end, input[start..end].to_string())
            } else if matches!(c, b'"' | b'\'' | b'`') {
                let (value, end) = string(input, i)?;
                (Kind::String, end, value)
            } else {
                let (kind, len) = symbol(bytes, i).ok_or_else(|| {
                    let ch = input[i..].chars().next().unwrap_or('?');
                    ParseError::at(input, i, i + ch.len_utf8(), format!("unexpected character: {ch:?}"))
                })?;
                (kind, i + len, input[start..i + len].to_string())
            };
        match kind {
            Kind::LeftBracket => brackets += 1,
            Kind::RightBracket => brackets = brackets.saturating_sub(1),
            _ => {}
        }
        tokens.push(Token { kind, text, start, end });
        i = end;
    }
    tokens.push(Token { kind: Kind::Eof, text: String::new(), start: bytes.len(), end: bytes.len() });
    Ok(tokens)
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn word_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':') {
        i += 1;
    }
    i
}

/// The end of a word that may not hold `:` (inside brackets).
fn name_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    i
}

/// Operators and punctuation, longest first.
fn symbol(bytes: &[u8], i: usize) -> Option<(Kind, usize)> {
    let next = bytes.get(i + 1).copied();
    Some(match (bytes[i], next) {
        (b'=', Some(b'=')) => (Kind::EqlC, 2),
        (b'=', Some(b'~')) => (Kind::EqRegex, 2),
        (b'=', _) => (Kind::Eq, 1),
        (b'!', Some(b'=')) => (Kind::Neq, 2),
        (b'!', Some(b'~')) => (Kind::NeqRegex, 2),
        (b'<', Some(b'=')) => (Kind::Lte, 2),
        (b'<', Some(b'/')) => (Kind::TrimUpper, 2),
        (b'<', _) => (Kind::Lss, 1),
        (b'>', Some(b'=')) => (Kind::Gte, 2),
        (b'>', Some(b'/')) => (Kind::TrimLower, 2),
        (b'>', _) => (Kind::Gtr, 1),
        (b'(', _) => (Kind::LeftParen, 1),
        (b')', _) => (Kind::RightParen, 1),
        (b'{', _) => (Kind::LeftBrace, 1),
        (b'}', _) => (Kind::RightBrace, 1),
        (b'[', _) => (Kind::LeftBracket, 1),
        (b']', _) => (Kind::RightBracket, 1),
        (b',', _) => (Kind::Comma, 1),
        (b'@', _) => (Kind::At, 1),
        (b'+', _) => (Kind::Add, 1),
        (b'-', _) => (Kind::Sub, 1),
        (b'*', _) => (Kind::Mul, 1),
        (b'/', _) => (Kind::Div, 1),
        (b'%', _) => (Kind::Mod, 1),
        (b'^', _) => (Kind::Pow, 1),
        _ => return None,
    })
}

/// Duration units, longest first so `ms` is not read as `m`.
pub(crate) const UNITS: [(&str, i64); 7] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
    ("y", 31_536_000_000),
];

/// A number (`1`, `1.5`, `.5`, `1e3`, `0x1f`) or a duration (`5m`, `1h30m`, `10s53ms`)
/// starting at `i`; a number glued to letters that are no unit is an error.
fn number_or_duration(input: &str, i: usize) -> Result<(Kind, usize), ParseError> {
    let bytes = input.as_bytes();
    let mut j = i;
    if bytes[j] == b'0' && matches!(bytes.get(j + 1), Some(b'x' | b'X')) {
        j += 2;
        while j < bytes.len() && bytes[j].is_ascii_hexdigit() {
            j += 1;
        }
        return finish_number(input, i, j);
    }
    while j < bytes.len() && bytes[j].is_ascii_digit() {
        j += 1;
    }
    let integer_end = j;
    if integer_end > i && unit_at(bytes, j).is_some() {
        // A duration: (digits unit)+.
        while let Some(len) = unit_at(bytes, j) {
            j += len;
            let digits = bytes[j..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 || unit_at(bytes, j + digits).is_none() {
                break;
            }
            j += digits;
        }
        if j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            let end = word_end(bytes, j);
            return Err(bad_number(input, i, end));
        }
        return Ok((Kind::Duration, j));
    }
    if bytes.get(j) == Some(&b'.') {
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
    }
    if matches!(bytes.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(bytes.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if bytes.get(k).is_some_and(u8::is_ascii_digit) {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    finish_number(input, i, j)
}

fn finish_number(input: &str, start: usize, end: usize) -> Result<(Kind, usize), ParseError> {
    let bytes = input.as_bytes();
    if end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b'.') {
        let mut stop = end;
        while stop < bytes.len()
            && (bytes[stop].is_ascii_alphanumeric() || bytes[stop] == b'_' || bytes[stop] == b'.')
        {
            stop += 1;
        }
        return Err(bad_number(input, start, stop));
    }
    Ok((Kind::Number, end))
}

fn bad_number(input: &str, start: usize, end: usize) -> ParseError {
    ParseError::at(input, start, end, format!("bad number or duration syntax: {:?}", &input[start..end]))
}

/// The length of the duration unit at `j`, if one is there.
fn unit_at(bytes: &[u8], j: usize) -> Option<usize> {
    UNITS.iter().find(|(u, _)| bytes[j..].starts_with(u.as_bytes())).map(|(u, _)| u.len())
}

/// A quoted string at `i`: its unescaped value and where it ends. Double and single quotes
/// take Go's escapes; backquotes take none.
fn string(input: &str, i: usize) -> Result<(String, usize), ParseError> {
    let bytes = input.as_bytes();
    let quote = bytes[i];
    let mut out = String::new();
    let mut j = i + 1;
    loop {
        let Some(c) = input[j..].chars().next() else {
            return Err(ParseError::at(input, i, input.len(), "unterminated quoted string".to_string()));
        };
        if c as u32 == u32::from(quote) {
            return Ok((out, j + 1));
        }
        if c == '\n' && quote != b'`' {
            return Err(ParseError::at(input, i, j, "unterminated quoted string".to_string()));
        }
        if c == '\\' && quote != b'`' {
            let (value, len) = escape(input, j, quote)?;
            out.push_str(&value);
            j += len;
            continue;
        }
        out.push(c);
        j += c.len_utf8();
    }
}

/// The escape at `j` (a backslash): its value and its length in bytes. Byte escapes
/// (`\x41`, `\101`) may spell UTF-8 across several of them; they are joined as bytes.
fn escape(input: &str, j: usize, quote: u8) -> Result<(String, usize), ParseError> {
    let bytes = input.as_bytes();
    let bad = |end: usize| ParseError::at(input, j, end, "unknown escape sequence".to_string());
    let Some(&e) = bytes.get(j + 1) else { return Err(bad(j + 1)) };
    let simple = match e {
        b'a' => Some('\u{7}'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\u{b}'),
        b'\\' => Some('\\'),
        _ if e == quote => Some(e as char),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c.to_string(), 2));
    }
    match e {
        b'x' | b'0'..=b'7' => {
            // A run of byte escapes, read as UTF-8 together.
            let mut raw = Vec::new();
            let mut k = j;
            while bytes.get(k) == Some(&b'\\') {
                let (byte, len) = match bytes.get(k + 1) {
                    Some(b'x') => (hex(input, k + 2, 2).ok_or_else(|| bad(k + 4))? as u8, 4),
                    Some(b'0'..=b'7') => {
                        let digits = input.get(k + 1..k + 4).ok_or_else(|| bad(input.len()))?;
                        let value = u32::from_str_radix(digits, 8).map_err(|_| bad(k + 4))?;
                        (u8::try_from(value).map_err(|_| bad(k + 4))?, 4)
                    }
                    _ => break,
                };
                raw.push(byte);
                k += len;
            }
            Ok((bytes_as_text(&raw), k - j))
        }
        b'u' | b'U' => {
            let digits = if e == b'u' { 4 } else { 8 };
            let value = hex(input, j + 2, digits).ok_or_else(|| bad(j + 2 + digits))?;
            let c = char::from_u32(value).ok_or_else(|| bad(j + 2 + digits))?;
            Ok((c.to_string(), 2 + digits))
        }
        _ => Err(bad(j + 2)),
    }
}

/// Where the stand-ins for bytes that are not UTF-8 begin (see [`bytes_as_text`]).
const RAW_BYTE_BASE: u32 = 0x10_FF80;

/// The byte a stand-in character of [`bytes_as_text`] stands for, if `c` is one.
pub fn raw_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    (RAW_BYTE_BASE..=RAW_BYTE_BASE + 0x7F).contains(&code).then(|| (code - RAW_BYTE_BASE + 0x80) as u8)
}

/// Escaped bytes as text: valid UTF-8 as its characters, and each byte that is not (Go
/// strings may hold any byte, Rust strings cannot) as a stand-in from the top of Unicode's
/// private-use plane, `U+10FF80 + (b − 0x80)`, which no stored label holds and label-name
/// validation refuses, as Prometheus refuses the byte.
pub fn bytes_as_text(raw: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len());
                for &b in &after[..bad] {
                    out.push(
                        char::from_u32(RAW_BYTE_BASE + u32::from(b.saturating_sub(0x80)))
                            .unwrap_or('\u{FFFD}'),
                    );
                }
                rest = &after[bad..];
            }
        }
    }
    out
}

fn hex(input: &str, at: usize, digits: usize) -> Option<u32> {
    input.get(at..at + digits).and_then(|h| u32::from_str_radix(h, 16).ok())
}

/// A duration's text (`1h30m`) in milliseconds; `None` if it overflows.
pub(crate) fn duration_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (mut total, mut i) = (0i64, 0);
    while i < bytes.len() {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let value: i64 = text[i..i + digits].parse().ok()?;
        i += digits;
        let len = unit_at(bytes, i)?;
        let scale = UNITS.iter().find(|(u, _)| *u == &text[i..i + len])?.1;
        total = total.checked_add(value.checked_mul(scale)?)?;
        i += len;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<(Kind, String)> {
        lex(input).unwrap().into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn operators_take_their_longest_spelling() {
        let got: Vec<Kind> =
            kinds("a </ 1 >/ 2 <= >= == != =~ !~ < > = ^").into_iter().map(|t| t.0).collect();
        use Kind::*;
        assert_eq!(
            got,
            [
                Word, TrimUpper, Number, TrimLower, Number, Lte, Gte, EqlC, Neq, EqRegex, NeqRegex, Lss, Gtr,
                Eq, Pow, Eof
            ]
        );
    }

    #[test]
    fn numbers_durations_and_words() {
        assert_eq!(kinds("1h30m")[0], (Kind::Duration, "1h30m".into()));
        assert_eq!(kinds("10s53ms")[0], (Kind::Duration, "10s53ms".into()));
        assert_eq!(kinds("1.5e3")[0], (Kind::Number, "1.5e3".into()));
        assert_eq!(kinds(".5")[0], (Kind::Number, ".5".into()));
        assert_eq!(kinds("0x1F")[0], (Kind::Number, "0x1F".into()));
        assert_eq!(kinds("job:rate5m")[0], (Kind::Word, "job:rate5m".into()));
        assert_eq!(duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(duration_ms("10s53ms"), Some(10_053));
        let err = lex("rate(x[5mm])").unwrap_err();
        assert!(err.to_string().contains("bad number or duration syntax: \"5mm\""), "{err}");
    }

    #[test]
    fn strings_take_go_escapes_and_backquotes_none() {
        assert_eq!(kinds(r#""a\"b\n""#)[0].1, "a\"b\n");
        assert_eq!(kinds(r"'\x41\u00e9\303\251'")[0].1, "Aéé");
        assert_eq!(kinds(r"`\n`")[0].1, "\\n");
        assert!(lex("\"open").unwrap_err().to_string().contains("unterminated quoted string"));
        assert!(lex(r#""\q""#).unwrap_err().to_string().contains("unknown escape sequence"));
    }

    #[test]
    fn comments_end_at_the_line_end() {
        assert_eq!(kinds("a # b\n+ c").len(), 4);
    }
}
