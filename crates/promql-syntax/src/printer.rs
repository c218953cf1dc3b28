//! The tree printed back as PromQL, in the layout Prometheus' printer uses
//! (`sum by (job) (rate(x[5m]))`, `a + on (x) group_left (y) b`, `x offset 5m @ 10.000`):
//! what parses again to the same tree. Durations print as Prometheus writes them (`1h30m`),
//! strings quoted with Go's escapes.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => f.write_str(&number(n.value)),
            Expr::String(s) => f.write_str(&quote(&s.value)),
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => write!(f, "{}{}", if u.negative { "-" } else { "+" }, u.expr),
            Expr::Binary(b) => binary(f, b),
            Expr::Aggregate(a) => aggregate(f, a),
            Expr::Call(c) => {
                write!(f, "{}(", c.func)?;
                for (i, arg) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_char(')')
            }
            Expr::VectorSelector(vs) => {
                selector(f, vs)?;
                modifiers(f, vs.offset.as_ref(), vs.at.as_ref())?;
                range_modifier(f, vs.modifier)
            }
            Expr::MatrixSelector(ms) => {
                selector(f, &ms.selector)?;
                write!(f, "[{}]", duration(&ms.range))?;
                modifiers(f, ms.selector.offset.as_ref(), ms.selector.at.as_ref())?;
                range_modifier(f, ms.selector.modifier)
            }
            Expr::Subquery(sq) => {
                write!(f, "{}[{}:", sq.expr, duration(&sq.range))?;
                if let Some(step) = &sq.step {
                    f.write_str(&duration(step))?;
                }
                f.write_char(']')?;
                modifiers(f, sq.offset.as_ref(), sq.at.as_ref())
            }
        }
    }
}

fn binary(f: &mut Formatter<'_>, b: &BinaryExpr) -> fmt::Result {
    write!(f, "{} {}", b.lhs, b.op.as_str())?;
    if b.return_bool {
        f.write_str(" bool")?;
    }
    if let Some(m) = &b.matching {
        if m.labels_given {
            write!(f, " {} ({})", if m.on { "on" } else { "ignoring" }, labels(&m.labels))?;
        }
        match m.card {
            Cardinality::ManyToOne => write!(f, " group_left ({})", labels(&m.include))?,
            Cardinality::OneToMany => write!(f, " group_right ({})", labels(&m.include))?,
            _ => {}
        }
        match (m.fill_left, m.fill_right) {
            (Some(l), Some(r)) if l.to_bits() == r.to_bits() => write!(f, " fill ({})", number(l))?,
            (l, r) => {
                if let Some(l) = l {
                    write!(f, " fill_left ({})", number(l))?;
                }
                if let Some(r) = r {
                    write!(f, " fill_right ({})", number(r))?;
                }
            }
        }
    }
    write!(f, " {}", b.rhs)
}

fn aggregate(f: &mut Formatter<'_>, a: &AggregateExpr) -> fmt::Result {
    f.write_str(&a.op)?;
    if a.without {
        write!(f, " without ({})", labels(&a.grouping))?;
    } else if !a.grouping.is_empty() {
        write!(f, " by ({})", labels(&a.grouping))?;
    }
    f.write_str(if a.without || !a.grouping.is_empty() { " (" } else { "(" })?;
    if let Some(p) = &a.param {
        write!(f, "{p}, ")?;
    }
    write!(f, "{})", a.expr)
}

fn selector(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let plain_name = vs.name.as_deref().filter(|n| is_metric_name(n));
    if let Some(name) = plain_name {
        f.write_str(name)?;
    }
    let mut items: Vec<String> = Vec::new();
    if let Some(name) = vs.name.as_deref().filter(|_| plain_name.is_none()) {
        items.push(quote(name));
    }
    for m in &vs.matchers {
        let name = if is_label_name(&m.name) { m.name.clone() } else { quote(&m.name) };
        items.push(format!("{name}{}{}", m.op.as_str(), quote(&m.value)));
    }
    if !items.is_empty() || plain_name.is_none() {
        write!(f, "{{{}}}", items.join(", "))?;
    }
    Ok(())
}

fn modifiers(f: &mut Formatter<'_>, offset: Option<&DurationExpr>, at: Option<&AtModifier>) -> fmt::Result {
    if let Some(offset) = offset {
        write!(f, " offset {}", offset_operand(offset))?;
    }
    match at {
        None => Ok(()),
        Some(AtModifier::Start) => f.write_str(" @ start()"),
        Some(AtModifier::End) => f.write_str(" @ end()"),
        Some(AtModifier::Timestamp(ms)) => {
            let sign = if *ms < 0 { "-" } else { "" };
            write!(f, " @ {sign}{}.{:03}", ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000)
        }
    }
}

fn range_modifier(f: &mut Formatter<'_>, modifier: Option<RangeModifier>) -> fmt::Result {
    match modifier {
        Some(m) => write!(f, " {}", m.keyword()),
        None => Ok(()),
    }
}

fn labels(labels: &[String]) -> String {
    let quoted: Vec<String> =
        labels.iter().map(|l| if is_label_name(l) { l.clone() } else { quote(l) }).collect();
    quoted.join(", ")
}

/// A duration as written in brackets: a literal as Prometheus prints one (`1h30m`, `-5m`),
/// an expression as written.
pub fn duration(d: &DurationExpr) -> String {
    duration_expression(d, 0)
}

/// A duration after `offset`, which takes one operand: an expression other than a call or
/// a parenthesised one is put in parentheses.
fn offset_operand(d: &DurationExpr) -> String {
    match d {
        DurationExpr::Binary(..) => format!("({})", duration_expression(d, 0)),
        DurationExpr::Negate(inner) if matches!(**inner, DurationExpr::Binary(..)) => {
            format!("-({})", duration_expression(inner, 0))
        }
        other => duration_expression(other, 0),
    }
}

fn duration_precedence(op: DurationOp) -> u8 {
    match op {
        DurationOp::Add | DurationOp::Sub => 1,
        DurationOp::Mul | DurationOp::Div | DurationOp::Mod => 2,
        DurationOp::Pow => 4,
    }
}

/// `d` as text, in parentheses if it binds looser than `outer` (the precedence its place
/// needs).
fn duration_expression(d: &DurationExpr, outer: u8) -> String {
    match d {
        DurationExpr::Millis(ms) => millis(*ms),
        DurationExpr::Seconds(s) => number(*s),
        DurationExpr::Step => "step()".into(),
        DurationExpr::Range => "range()".into(),
        DurationExpr::Negate(inner) => {
            let text = format!("-{}", duration_expression(inner, 3));
            if outer > 3 {
                format!("({text})")
            } else {
                text
            }
        }
        DurationExpr::Paren(inner) => format!("({})", duration_expression(inner, 0)),
        DurationExpr::MinOf(a, b) => {
            format!("min_of({}, {})", duration_expression(a, 0), duration_expression(b, 0))
        }
        DurationExpr::MaxOf(a, b) => {
            format!("max_of({}, {})", duration_expression(a, 0), duration_expression(b, 0))
        }
        DurationExpr::Binary(op, a, b) => {
            let p = duration_precedence(*op);
            let symbol = match op {
                DurationOp::Add => "+",
                DurationOp::Sub => "-",
                DurationOp::Mul => "*",
                DurationOp::Div => "/",
                DurationOp::Mod => "%",
                DurationOp::Pow => "^",
            };
            // Left-associative but for `^`: the side that would regroup gets parentheses.
            let (left_min, right_min) = if *op == DurationOp::Pow { (p + 1, p) } else { (p, p + 1) };
            let text = format!(
                "{} {symbol} {}",
                duration_expression(a, left_min),
                duration_expression(b, right_min)
            );
            if p < outer {
                format!("({text})")
            } else {
                text
            }
        }
    }
}

/// Milliseconds as Prometheus prints a duration: the largest units first (`1d2h`, `1m30s`,
/// `500ms`), `0s` for zero.
fn millis(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    let units: [(&str, u64); 7] = [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    for (unit, size) in units {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// A number as Go's `%v` prints a float: shortest round trip, exponent past 1e21.
fn number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let plain = format!("{v}");
    if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-4) {
        format!("{v:e}")
    } else {
        plain
    }
}

/// A string quoted as Go's `%q` quotes it (Prometheus prints strings and messages so):
/// `"` and `\\` escaped, control characters and stand-ins for non-UTF-8 bytes as `\\xNN`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if let Some(byte) = crate::lexer::raw_byte(c) {
            let _ = write!(out, "\\x{byte:02x}");
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !crate::keywords::is_keyword(name)
        && !name.eq_ignore_ascii_case("inf")
        && !name.eq_ignore_ascii_case("nan")
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
