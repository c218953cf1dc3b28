//! Splitting template text into literal text and actions, and an action into tokens, as Go's
//! `text/template/parse` lexer does: `{{- ` and ` -}}` trim the whitespace beside them,
//! `{{/* … */}}` is a comment, `}}` inside a quoted string does not end an action.

use super::ast::Pos;

/// A piece of template text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    Text(String),
    /// An action's tokens (a comment gives none and is dropped).
    Action {
        tokens: Vec<Token>,
        text: String,
        at: Pos,
    },
}

/// A token inside an action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Whether it follows the previous token with no space between (`$x.y`, `(…).y`).
    pub glued: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A function name or keyword.
    Identifier(String),
    /// `.name`.
    Field(String),
    /// `.` alone.
    Dot,
    /// `$name`, or `$` (name empty).
    Variable(String),
    String(String),
    Number(String),
    Bool(bool),
    Nil,
    LeftParen,
    RightParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// Splits `text` into segments.
pub(crate) fn segments(text: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            push_text(&mut out, rest, trim_next_text, false);
            break;
        };
        let after_open = &rest[open + 2..];
        let trim_left = after_open.starts_with("- ")
            || after_open.starts_with("-\t")
            || after_open.starts_with("-\n")
            || after_open.starts_with("-\r");
        push_text(&mut out, &rest[..open], trim_next_text, trim_left);
        line += rest[..open].matches('\n').count();
        let body_start = if trim_left { 2 } else { 0 };
        let body = &after_open[body_start..];
        let (inner, trim_right, consumed) = action_body(body, line)?;
        let at = Pos { line, column: text.len() - rest.len() + open + 1 };
        let trimmed = inner.trim();
        if !(trimmed.starts_with("/*") && trimmed.ends_with("*/")) {
            let tokens = tokens(inner).map_err(|e| format!("{line}: {e}"))?;
            out.push(Segment::Action { tokens, text: trimmed.to_string(), at });
        }
        line += body[..consumed].matches('\n').count();
        trim_next_text = trim_right;
        rest = &body[consumed..];
    }
    Ok(out)
}

fn push_text(out: &mut Vec<Segment>, text: &str, trim_start: bool, trim_end: bool) {
    let mut text = text;
    if trim_start {
        text = text.trim_start();
    }
    if trim_end {
        text = text.trim_end();
    }
    if !text.is_empty() {
        out.push(Segment::Text(text.to_string()));
    }
}

/// The inside of an action up to its `}}`, whether it ends with ` -}}`, and the bytes used.
fn action_body(body: &str, line: usize) -> Result<(&str, bool, usize), String> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let trimmed_start = body.trim_start();
    if trimmed_start.starts_with("/*") {
        let start = body.len() - trimmed_start.len();
        let Some(end) = trimmed_start.find("*/") else { return Err(format!("{line}: unclosed comment")) };
        i = start + end + 2;
    }
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' | b'\'' => {
                i = skip_quoted(body, i).ok_or_else(|| format!("{line}: unterminated quoted string"))?
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                let inner = &body[..i];
                let trim_right = inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-");
                let inner = if trim_right { &inner[..inner.len() - 1] } else { inner };
                return Ok((inner, trim_right, i + 2));
            }
            _ => i += 1,
        }
    }
    Err(format!("{line}: unclosed action"))
}

/// Index just past the quoted literal that starts at `start`.
fn skip_quoted(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b'\n' if quote != b'`' => return None,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut glued = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            glued = false;
            continue;
        }
        let start = i;
        let kind = match c {
            b'(' | b')' | b'|' | b',' | b'=' => {
                i += 1;
                match c {
                    b'(' => TokenKind::LeftParen,
                    b')' => TokenKind::RightParen,
                    b'|' => TokenKind::Pipe,
                    b',' => TokenKind::Comma,
                    _ => TokenKind::Assign,
                }
            }
            b':' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                TokenKind::Declare
            }
            b'"' | b'`' => {
                let end = skip_quoted(text, i).ok_or("unterminated quoted string")?;
                let literal = unquote(&text[i..end])?;
                i = end;
                TokenKind::String(literal)
            }
            b'\'' => {
                let end = skip_quoted(text, i).ok_or("unterminated character constant")?;
                let literal = unquote(&format!("\"{}\"", &text[i + 1..end - 1]))?;
                let mut chars = literal.chars();
                let (Some(ch), None) = (chars.next(), chars.next()) else {
                    return Err(format!("bad character constant {}", &text[i..end]));
                };
                i = end;
                TokenKind::Number((ch as u32).to_string())
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                let name_len = identifier_len(&text[i..]);
                if name_len == 0 {
                    TokenKind::Dot
                } else {
                    i += name_len;
                    TokenKind::Field(text[start + 1..i].to_string())
                }
            }
            b'$' => {
                i += 1;
                i += identifier_len(&text[i..]);
                TokenKind::Variable(text[start + 1..i].to_string())
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b".+-_".contains(&bytes[i])) {
                    // A sign belongs to the number only after an exponent letter.
                    if (bytes[i] == b'+' || bytes[i] == b'-')
                        && !matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P')
                    {
                        break;
                    }
                    i += 1;
                }
                TokenKind::Number(text[start..i].to_string())
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                i += identifier_len(&text[i..]).max(1);
                match &text[start..i] {
                    "true" => TokenKind::Bool(true),
                    "false" => TokenKind::Bool(false),
                    "nil" => TokenKind::Nil,
                    word => TokenKind::Identifier(word.to_string()),
                }
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected {ch:?} in command"));
            }
        };
        out.push(Token { kind, glued });
        glued = true;
    }
    Ok(out)
}

fn identifier_len(text: &str) -> usize {
    text.char_indices().find(|(_, c)| !(c.is_alphanumeric() || *c == '_')).map_or(text.len(), |(i, _)| i)
}

/// A Go string literal's value: `"…"` with Go's escapes, or a raw `` `…` ``.
pub(crate) fn unquote(literal: &str) -> Result<String, String> {
    if let Some(raw) = literal.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        return Ok(raw.replace('\r', ""));
    }
    let Some(body) = literal.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return Err(format!("bad quoted string {literal}"));
    };
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next().ok_or_else(|| format!("bad quoted string {literal}"))?;
        match escaped {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' | '"' | '\'' => out.push(escaped),
            'x' | 'u' | 'U' => {
                let width = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(width).collect();
                let code =
                    u32::from_str_radix(&hex, 16).map_err(|_| format!("bad quoted string {literal}"))?;
                out.push(char::from_u32(code).ok_or_else(|| format!("bad quoted string {literal}"))?);
            }
            _ => return Err(format!("bad quoted string {literal}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_comments() {
        let s = segments("a  {{- 1 -}}  b {{/* c }} */}} d").unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0], Segment::Text("a".into()));
        assert_eq!(s[2], Segment::Text("b ".into()));
        assert_eq!(s[3], Segment::Text(" d".into()));
    }

    #[test]
    fn braces_inside_strings_do_not_end_an_action() {
        let s = segments(r#"{{ "}}" }}x"#).unwrap();
        let Segment::Action { tokens, .. } = &s[0] else { panic!() };
        assert_eq!(tokens[0].kind, TokenKind::String("}}".into()));
        assert_eq!(s[1], Segment::Text("x".into()));
    }

    #[test]
    fn fields_glue_to_variables() {
        let Segment::Action { tokens, .. } = &segments("{{ $labels.job .Value -1.5e3 }}").unwrap()[0] else {
            panic!()
        };
        let kinds: Vec<_> = tokens.iter().map(|t| (t.kind.clone(), t.glued)).collect();
        assert_eq!(
            kinds,
            [
                (TokenKind::Variable("labels".into()), false),
                (TokenKind::Field("job".into()), true),
                (TokenKind::Field("Value".into()), false),
                (TokenKind::Number("-1.5e3".into()), false),
            ]
        );
    }
}
