//! Duration arithmetic, Prometheus' experimental `promql-duration-expr`: range and subquery
//! durations and offsets written as expressions — `rate(x[5m+30s])`, `x[1h/2:step()]`,
//! `x offset (2 * 30s)`, `x offset min_of(step(), 1s)` — where `step()` and `range()` are the
//! query's own step and range (0 in an instant query).
//!
//! `promql-parser` 0.11 reads only literals in those places, so [`resolve`] works the
//! expressions out in the query text first and writes each as a millisecond literal, which
//! the parser then reads. It knows the text only as far as it must: strings (in all three
//! quotes) and `{…}` matchers are skipped; inside `[…]` each side of a `:` is an
//! expression; after the keyword `offset` one operand is — an optional sign and a literal, a
//! parenthesised expression or a call, so `x offset 2 ^ 2` stays `(x offset 2) ^ 2` as in
//! Prometheus. Anything it cannot work out is left as written, for the parser to report.
//!
//! Arithmetic: numbers are seconds, durations (`1m30s`) are converted to seconds; `+ - * /
//! %` and `^` with PromQL's precedence (`^` binds tighter than a sign and associates to the
//! right); `step()`, `range()`, `min_of(a, b)`, `max_of(a, b)`; names in any case.

use std::borrow::Cow;

use crate::go_float::{go_max, go_min};
use crate::parse::{find_outside_strings, skip_string};

/// The query's own step and range, what `step()` and `range()` give (ms; 0 for an instant
/// query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryBounds {
    /// The step of a range query.
    pub step_ms: i64,
    /// `end − start` of a range query.
    pub range_ms: i64,
}

/// `query` with every duration expression replaced by its value; the text as it was when
/// it has none.
pub fn resolve(query: &str, bounds: QueryBounds) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b'{' => i = find_outside_strings(bytes, i, b'}').map_or(bytes.len(), |end| end + 1),
            b'#' => i = find_outside_strings(bytes, i, b'\n').unwrap_or(bytes.len()),
            b'[' => {
                let Some(end) = find_outside_strings(bytes, i, b']') else { break };
                let inside = &query[i + 1..end];
                if let Some(resolved) = resolve_brackets(inside, bounds) {
                    out.push_str(&query[copied..=i]);
                    out.push_str(&resolved);
                    copied = end;
                }
                i = end + 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let word_end =
                    i + bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
                let preceded_by_name_char =
                    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b':');
                if !preceded_by_name_char && query[i..word_end].eq_ignore_ascii_case("offset") {
                    if let Some((start, end, value)) = offset_operand(query, word_end, bounds) {
                        // A zero offset is no offset (the parser refuses `offset 0ms`).
                        if literal(value) == "0ms" {
                            out.push_str(query[copied..i].trim_end());
                        } else {
                            out.push_str(&query[copied..start]);
                            out.push_str(&literal(value));
                        }
                        copied = end;
                        i = end;
                        continue;
                    }
                }
                i = word_end;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(query);
    }
    out.push_str(&query[copied..]);
    Cow::Owned(out)
}

/// The inside of `[…]` with each expression resolved, or `None` when it holds none.
fn resolve_brackets(inside: &str, bounds: QueryBounds) -> Option<String> {
    let parts: Vec<&str> = split_top_level_colon(inside);
    let mut changed = false;
    let resolved: Vec<String> = parts
        .iter()
        .map(|part| {
            let text = part.trim();
            if text.is_empty() || is_literal(text) {
                return part.to_string();
            }
            match evaluate(text, bounds) {
                Some(seconds) => {
                    changed = true;
                    literal(seconds)
                }
                None => part.to_string(),
            }
        })
        .collect();
    changed.then(|| resolved.join(":"))
}

/// The operand of `offset` that starts after `from`: its span and value, when it is an
/// expression (a plain literal is left to the parser).
fn offset_operand(query: &str, from: usize, bounds: QueryBounds) -> Option<(usize, usize, f64)> {
    let bytes = query.as_bytes();
    let start = from + bytes[from..].iter().take_while(|c| c.is_ascii_whitespace()).count();
    let mut i = start;
    while i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+' || bytes[i].is_ascii_whitespace()) {
        i += 1;
    }
    let operand_start = i;
    if i < bytes.len() && bytes[i] == b'(' {
        i = matching_paren(bytes, i)? + 1;
    } else {
        i +=
            bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'.').count();
        if i < bytes.len() && bytes[i] == b'(' {
            i = matching_paren(bytes, i)? + 1;
        }
    }
    if i == operand_start || is_literal(query[start..i].trim_start_matches(['-', '+', ' '])) {
        return None;
    }
    Some((start, i, evaluate(&query[start..i], bounds)?))
}

/// A plain duration or number the parser reads itself.
fn is_literal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.') && {
        let first = text.as_bytes()[0];
        first.is_ascii_digit() || first == b'.'
    }
}

/// Seconds as a millisecond literal (`-4000ms`).
fn literal(seconds: f64) -> String {
    format!("{}ms", (seconds * 1000.0).round() as i64)
}

fn matching_paren(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, &c) in bytes.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level_colon(text: &str) -> Vec<&str> {
    let mut depth = 0i32;
    let mut parts = Vec::new();
    let mut last = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&text[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[last..]);
    parts
}

/// The value in seconds of a duration expression, `None` if it is not one.
fn evaluate(text: &str, bounds: QueryBounds) -> Option<f64> {
    let tokens = tokenize(text)?;
    // The parser below recurses once per parenthesis or sign: a bound on the tokens bounds
    // its depth, so a hostile `[((((…` cannot exhaust the stack.
    if tokens.len() > MAX_TOKENS {
        return None;
    }
    let mut p = Parser { tokens, pos: 0, bounds };
    let v = p.sum()?;
    (p.pos == p.tokens.len() && v.is_finite()).then_some(v)
}

/// The longest duration expression worked out (longer ones are left to the parser).
const MAX_TOKENS: usize = 512;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == b'.' {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'.').count();
            tokens.push(Token::Number(number_or_duration(&text[i..end])?));
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
            tokens.push(Token::Name(text[i..end].to_ascii_lowercase()));
            i = end;
        } else if b"+-*/%^(),".contains(&c) {
            tokens.push(Token::Op(c as char));
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

/// `90`, `1.5` (seconds) or `1m30s`, `500ms` (a duration) in seconds.
fn number_or_duration(text: &str) -> Option<f64> {
    if let Ok(v) = text.parse::<f64>() {
        return Some(v);
    }
    let mut seconds = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        seconds += n * unit;
        rest = &rest[unit_len..];
    }
    Some(seconds)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    bounds: QueryBounds,
}

impl Parser {
    fn peek_op(&self) -> Option<char> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(c)) => Some(*c),
            _ => None,
        }
    }

    fn eat(&mut self, op: char) -> Option<()> {
        (self.peek_op() == Some(op)).then(|| self.pos += 1)
    }

    /// `a + b`, `a - b`.
    fn sum(&mut self) -> Option<f64> {
        let mut v = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek_op() {
            self.pos += 1;
            let rhs = self.product()?;
            v = if op == '+' { v + rhs } else { v - rhs };
        }
        Some(v)
    }

    /// `a * b`, `a / b`, `a % b`.
    fn product(&mut self) -> Option<f64> {
        let mut v = self.signed()?;
        while let Some(op @ ('*' | '/' | '%')) = self.peek_op() {
            self.pos += 1;
            let rhs = self.signed()?;
            v = match op {
                '*' => v * rhs,
                '/' => v / rhs,
                _ => v % rhs,
            };
        }
        Some(v)
    }

    /// `-a`, `+a`: looser than `^`, so `-2 ^ 2` is −4.
    fn signed(&mut self) -> Option<f64> {
        match self.peek_op() {
            Some('-') => {
                self.pos += 1;
                Some(-self.signed()?)
            }
            Some('+') => {
                self.pos += 1;
                self.signed()
            }
            _ => self.power(),
        }
    }

    /// `a ^ b`, right-associative; its exponent may carry a sign.
    fn power(&mut self) -> Option<f64> {
        let base = self.atom()?;
        if self.eat('^').is_some() {
            return Some(base.powf(self.signed()?));
        }
        Some(base)
    }

    fn atom(&mut self) -> Option<f64> {
        let token = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match token {
            Token::Number(v) => Some(v),
            Token::Op('(') => {
                let v = self.sum()?;
                self.eat(')')?;
                Some(v)
            }
            Token::Name(name) => {
                self.eat('(')?;
                let mut args = Vec::new();
                if self.eat(')').is_none() {
                    loop {
                        args.push(self.sum()?);
                        if self.eat(')').is_some() {
                            break;
                        }
                        self.eat(',')?;
                    }
                }
                match (name.as_str(), args.as_slice()) {
                    ("step", []) => Some(self.bounds.step_ms as f64 / 1000.0),
                    ("range", []) => Some(self.bounds.range_ms as f64 / 1000.0),
                    ("min_of", [a, b]) => Some(go_min(*a, *b)),
                    ("max_of", [a, b]) => Some(go_max(*a, *b)),
                    _ => None,
                }
            }
            Token::Op(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An arithmetic tree over durations, written out in full parentheses, and its value.
    fn arb_expression() -> impl Strategy<Value = (String, f64)> {
        let leaf = prop_oneof![
            (1u32..100).prop_map(|n| (n.to_string(), f64::from(n))),
            (1u32..100).prop_map(|n| (format!("{n}ms"), f64::from(n) / 1000.0)),
            (1u32..60, 0u32..60).prop_map(|(m, s)| (format!("{m}m{s}s"), f64::from(m * 60 + s))),
            Just(("step()".to_string(), 5.0)),
            Just(("RANGE()".to_string(), 10.0)),
        ];
        leaf.prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), prop::sample::select(vec!['+', '-', '*']), inner.clone()).prop_map(
                    |((a, x), op, (b, y))| {
                        let v = match op {
                            '+' => x + y,
                            '-' => x - y,
                            _ => x * y,
                        };
                        (format!("({a} {op} {b})"), v)
                    }
                ),
                inner.clone().prop_map(|(a, x)| (format!("-({a})"), -x)),
                (inner.clone(), inner).prop_map(|((a, x), (b, y))| (format!("min_of({a}, {b})"), x.min(y))),
            ]
        })
    }

    proptest! {
        #[test]
        fn expressions_evaluate_as_their_trees((text, want) in arb_expression()) {
            let got = evaluate(&text, QueryBounds { step_ms: 5_000, range_ms: 10_000 }).unwrap();
            prop_assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{} = {} not {}", text, got, want);
        }
    }

    const RANGE_QUERY: QueryBounds = QueryBounds { step_ms: 5_000, range_ms: 10_000 };

    fn r(q: &str) -> String {
        resolve(q, RANGE_QUERY).into_owned()
    }

    #[test]
    fn range_and_subquery_expressions_become_literals() {
        assert_eq!(r("changes(x[26m+4m])"), "changes(x[1800000ms])");
        assert_eq!(r("changes(x[24m+((1.5*2m)+2m)])"), "changes(x[1740000ms])");
        assert_eq!(r("changes(x[30m1s-30m1s % 1m])"), "changes(x[1800000ms])");
        assert_eq!(
            r("sum_over_time(m[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms])"),
            "sum_over_time(m[30000ms:10000ms])"
        );
        assert_eq!(r("count_over_time(m[1+(STep()-5)*2])"), "count_over_time(m[1000ms])");
        assert_eq!(r("count_over_time(m[max_of(min_of(step()+1,1h),1ms)])"), "count_over_time(m[6000ms])");
        assert_eq!(r("count_over_time(m[range()])"), "count_over_time(m[10000ms])");
    }

    #[test]
    fn offsets_take_one_operand() {
        assert_eq!(r("m offset (100 + 2)"), "m offset 102000ms");
        assert_eq!(r("m offset 100 + 2"), "m offset 100 + 2", "a literal is the parser's");
        assert_eq!(r("m offset (-2 ^ 2)"), "m offset -4000ms");
        assert_eq!(r("m offset -step()*2"), "m offset -5000ms*2");
        assert_eq!(r("m offset -(min_of(step(), 1s))+8000"), "m offset -1000ms+8000");
        assert_eq!(r("m offset max_of(3s,min_of(step(), 1s))+8000"), "m offset 3000ms+8000");
        assert_eq!(r("m offset STEP()"), "m offset 5000ms");
        assert_eq!(resolve("m offset range()", QueryBounds::default()), "m", "no offset at all");
    }

    #[test]
    fn what_is_not_a_duration_expression_is_left_alone() {
        for q in [
            "rate(x[5m])",
            "x[5m:]",
            "x[30:10]",
            r#"x{path="[1+1]", offset="(1+1)"}"#,
            r#"label_replace(x, "a", "[2*3]", "b", "offset (1)")"#,
            "sum by (offset) (x)",
            "x[nonsense()]",
        ] {
            assert_eq!(r(q), q);
        }
        assert!(matches!(resolve("rate(x[5m])", RANGE_QUERY), Cow::Borrowed(_)));
        let deep = format!("x[{}1m{}]", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(r(&deep), deep, "too deep to work out: left to the parser, no stack overflow");
        let unclosed = "x offset (1 + [ \"(\"";
        assert_eq!(r(unclosed), unclosed);
    }
}
