//! InfluxQL's tokens, scanned on demand at a byte position.
//!
//! The scanner keeps no state: the parser asks for the token at a position and moves past
//! it. That is what lets a regular expression (`/cpu.*/`) be scanned only where the
//! grammar allows one — elsewhere `/` is division.
//!
//! | token | text |
//! |---|---|
//! | identifier | `[A-Za-z_][A-Za-z0-9_]*`, or double-quoted with `\"` and `\\` escapes |
//! | string | single-quoted with `\'` and `\\` escapes |
//! | integer, number | `10`, `10.5`, `.5` |
//! | duration | an integer and a unit (`ns u µ ms s m h d w`), repeatable: `1h30m` |
//! | bound parameter | `$name` or `$"name"` |
//! | regex | `/…/` with `\/` for a slash |
//! | operators | `+ - * / % & \| ^ = != <> < <= > >= =~ !~ ( ) , ; . ::` |

/// A token's kind and text.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// An unquoted identifier or keyword (keywords are recognised by the parser).
    Ident(String),
    /// A double-quoted identifier (never a keyword).
    QuotedIdent(String),
    /// A single-quoted string.
    Str(String),
    /// An integer literal, as written.
    Integer(String),
    /// A number with a fraction.
    Number(f64, String),
    /// A duration in nanoseconds, with its text.
    Duration(i64, String),
    /// `$name`.
    BoundParam(String),
    /// `/…/`, its pattern with `\/` undone.
    Regex(String),
    /// An operator or punctuation.
    Op(&'static str),
    /// The end of the text.
    Eof,
    /// Text that is no token (a quote left open, `0xdb0`).
    Illegal(String),
}

impl Token {
    /// The token as InfluxDB's errors show it (`found …`).
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(s) | Token::QuotedIdent(s) | Token::Integer(s) | Token::Illegal(s) => s.clone(),
            Token::Str(s) => s.clone(),
            Token::Number(_, s) | Token::Duration(_, s) => s.clone(),
            Token::BoundParam(s) => format!("${s}"),
            Token::Regex(s) => format!("/{s}/"),
            Token::Op(o) => (*o).to_string(),
            Token::Eof => "EOF".to_string(),
        }
    }

    /// Whether it is the unquoted keyword `word` (case-insensitive).
    pub fn is_keyword(&self, word: &str) -> bool {
        matches!(self, Token::Ident(s) if s.eq_ignore_ascii_case(word))
    }
}

/// The words InfluxQL reserves: unquoted, they are never identifiers.
pub const KEYWORDS: &[&str] = &[
    "ALL",
    "ALTER",
    "ANALYZE",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BEGIN",
    "BY",
    "CARDINALITY",
    "CREATE",
    "CONTINUOUS",
    "DATABASE",
    "DATABASES",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESTINATIONS",
    "DIAGNOSTICS",
    "DISTINCT",
    "DROP",
    "DURATION",
    "END",
    "EVERY",
    "EXACT",
    "EXPLAIN",
    "FIELD",
    "FOR",
    "FROM",
    "GRANT",
    "GRANTS",
    "GROUP",
    "GROUPS",
    "IN",
    "INF",
    "INSERT",
    "INTO",
    "KEY",
    "KEYS",
    "KILL",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "NAME",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PASSWORD",
    "POLICY",
    "POLICIES",
    "PRIVILEGES",
    "QUERIES",
    "QUERY",
    "READ",
    "REPLICATION",
    "RESAMPLE",
    "RETENTION",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SET",
    "SHARD",
    "SHARDS",
    "SLIMIT",
    "SOFFSET",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "TO",
    "USER",
    "USERS",
    "VALUES",
    "WHERE",
    "WITH",
    "WRITE",
];

/// Whether `word` is reserved.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The operators, longest first so that `<=` wins over `<`.
const OPERATORS: &[&str] = &[
    "!=", "<>", "<=", ">=", "=~", "!~", "::", "+", "-", "*", "/", "%", "&", "|", "^", "=", "<", ">", "(",
    ")", ",", ";", ".",
];

/// Skips whitespace and comments (`-- …` to the end of the line, `/* … */`) from `pos`.
pub fn skip_space(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if text[pos..].starts_with("--") {
            pos = text[pos..].find('\n').map_or(text.len(), |n| pos + n);
        } else if text[pos..].starts_with("/*") {
            pos = text[pos + 2..].find("*/").map_or(text.len(), |n| pos + 2 + n + 2);
        } else {
            return pos;
        }
    }
}

/// The token at `pos` (after whitespace): `(token, start, end)` as byte offsets.
pub fn scan(text: &str, pos: usize) -> (Token, usize, usize) {
    let start = skip_space(text, pos);
    let rest = &text[start..];
    let Some(c) = rest.chars().next() else { return (Token::Eof, start, start) };
    let (token, len) = if c.is_ascii_alphabetic() || c == '_' {
        let n = ident_len(rest);
        (Token::Ident(rest[..n].to_string()), n)
    } else if c == '"' {
        quoted(rest, '"')
            .map_or_else(|n| (Token::Illegal(rest[..n].to_string()), n), |(s, n)| (Token::QuotedIdent(s), n))
    } else if c == '\'' {
        quoted(rest, '\'')
            .map_or_else(|n| (Token::Illegal(rest[..n].to_string()), n), |(s, n)| (Token::Str(s), n))
    } else if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
        number(rest)
    } else if c == '$' {
        let after = &rest[1..];
        if after.starts_with('"') {
            match quoted(after, '"') {
                Ok((s, n)) => (Token::BoundParam(s), n + 1),
                Err(n) => (Token::Illegal(rest[..n + 1].to_string()), n + 1),
            }
        } else {
            let n = ident_len(after);
            (Token::BoundParam(after[..n].to_string()), n + 1)
        }
    } else if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
        (Token::Op(op), op.len())
    } else {
        (Token::Illegal(c.to_string()), c.len_utf8())
    };
    (token, start, start + len)
}

/// A regular expression at `pos` (after whitespace), if one starts there.
pub fn scan_regex(text: &str, pos: usize) -> Option<(Token, usize, usize)> {
    let start = skip_space(text, pos);
    let rest = text[start..].strip_prefix('/')?;
    let mut pattern = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '/')) => pattern.push('/'),
                Some((_, other)) => {
                    pattern.push('\\');
                    pattern.push(other);
                }
                None => return None,
            },
            '/' => return Some((Token::Regex(pattern), start, start + 1 + i + 1)),
            '\n' => return None,
            _ => pattern.push(c),
        }
    }
    None
}

fn ident_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len())
}

/// A quoted string or identifier: its value and length, or the length of the bad text.
fn quoted(text: &str, quote: char) -> Result<(String, usize), usize> {
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) if e == quote || e == '\\' => value.push(e),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return Err(text.len()),
            },
            c if c == quote => return Ok((value, i + 1)),
            '\n' => return Err(i),
            _ => value.push(c),
        }
    }
    Err(text.len())
}

/// Nanoseconds per duration unit.
fn unit_ns(unit: &str) -> Option<i64> {
    Some(match unit {
        "ns" => 1,
        "u" | "µ" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        "w" => 604_800_000_000_000,
        _ => return None,
    })
}

/// A number, an integer, or a duration (`1h30m`) at the start of `text`.
fn number(text: &str) -> (Token, usize) {
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut n = digits(text);
    let mut fraction = false;
    if text[n..].starts_with('.') && text[n + 1..].starts_with(|c: char| c.is_ascii_digit()) {
        fraction = true;
        n += 1 + digits(&text[n + 1..]);
    }
    let word = ident_len(&text[n..]) + text[n..].strip_prefix('µ').map_or(0, |_| 'µ'.len_utf8());
    if word == 0 {
        let literal = text[..n].to_string();
        return if fraction {
            (Token::Number(literal.parse().unwrap_or(f64::NAN), literal.clone()), n)
        } else {
            (Token::Integer(literal), n)
        };
    }
    // A letter follows: a duration, or nothing valid.
    let end = n + word;
    let whole = &text[..end];
    match (!fraction).then(|| parse_duration(whole)).flatten() {
        Some(ns) => (Token::Duration(ns, whole.to_string()), end),
        None => (Token::Illegal(whole.to_string()), end),
    }
}

/// `1h30m`, `10s`, `100ms` in nanoseconds; `None` for anything else.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let d = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if d == 0 {
            return None;
        }
        let count: i64 = rest[..d].parse().ok()?;
        rest = &rest[d..];
        let u = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let ns = unit_ns(&rest[..u])?;
        total = total.checked_add(count.checked_mul(ns)?)?;
        rest = &rest[u..];
    }
    Some(total)
}

/// `(line, char)` of a byte offset, both from 1, as InfluxDB's errors count them.
pub fn line_and_char(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let (t, _, end) = scan(text, pos);
            if t == Token::Eof {
                return out;
            }
            out.push(t);
            pos = end;
        }
    }

    #[test]
    fn scans_the_kinds() {
        assert_eq!(
            tokens(r#"SELECT "a b"::field, 'it\'s' FROM m WHERE time > now() - 1h30m AND x >= 1.5"#),
            vec![
                Token::Ident("SELECT".into()),
                Token::QuotedIdent("a b".into()),
                Token::Op("::"),
                Token::Ident("field".into()),
                Token::Op(","),
                Token::Str("it's".into()),
                Token::Ident("FROM".into()),
                Token::Ident("m".into()),
                Token::Ident("WHERE".into()),
                Token::Ident("time".into()),
                Token::Op(">"),
                Token::Ident("now".into()),
                Token::Op("("),
                Token::Op(")"),
                Token::Op("-"),
                Token::Duration(5_400_000_000_000, "1h30m".into()),
                Token::Ident("AND".into()),
                Token::Ident("x".into()),
                Token::Op(">="),
                Token::Number(1.5, "1.5".into()),
            ]
        );
        assert_eq!(tokens("0xdb0"), vec![Token::Illegal("0xdb0".into())]);
        assert_eq!(
            tokens("$host -- comment\n 10"),
            vec![Token::BoundParam("host".into()), Token::Integer("10".into())]
        );
    }

    #[test]
    fn regexes_only_where_asked() {
        let text = r"x =~ /a\/b.*/";
        let (_, _, end) = scan(text, 1);
        assert_eq!(scan_regex(text, end).map(|t| t.0), Some(Token::Regex("a/b.*".into())));
        assert_eq!(scan(text, end).0, Token::Op("/"));
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(line_and_char("CREATE DATABASE 0xdb0", 16), (1, 17));
        assert_eq!(line_and_char("a\nbµc", 5), (2, 3));
    }
}
