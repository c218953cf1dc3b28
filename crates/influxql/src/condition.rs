//! WHERE clauses: the time range is taken out (it bounds what is read), simple tag terms
//! become storage matchers (they choose the series), and the whole rest is evaluated per
//! row, where a name is a field's value at that time or the series' tag.

use regex::Regex;
use strata_model::{MatchOp, Matcher};

use crate::ast::{BinaryOp, Expr, RefType};
use crate::result::Value;

/// A closed range of ns; open ends are `i64::MIN` / `i64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub min: i64,
    pub max: i64,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange { min: i64::MIN, max: i64::MAX };

    pub fn has_min(&self) -> bool {
        self.min != i64::MIN
    }

    pub fn has_max(&self) -> bool {
        self.max != i64::MAX
    }

    /// The engine's millisecond range that holds every point of this one.
    pub fn to_ms(self) -> (i64, i64) {
        strata_storage::ms_covering(self.min, self.max)
    }

    pub fn contains(&self, t: i64) -> bool {
        self.min <= t && t <= self.max
    }
}

/// Whether `expr` mentions `time`.
pub fn mentions_time(expr: &Expr) -> bool {
    match expr {
        Expr::Ref { name, .. } => name.eq_ignore_ascii_case("time"),
        Expr::Binary { lhs, rhs, .. } => mentions_time(lhs) || mentions_time(rhs),
        Expr::Paren(e) => mentions_time(e),
        Expr::Call { args, .. } => args.iter().any(mentions_time),
        _ => false,
    }
}

/// Splits a condition into its time range and the rest. Time terms must be joined to the
/// rest by AND (as InfluxDB requires).
pub fn split_time(expr: Option<&Expr>, now: i64) -> Result<(TimeRange, Option<Expr>), String> {
    let mut range = TimeRange::ALL;
    let rest = match expr {
        Some(e) => take_time(e, now, &mut range)?,
        None => None,
    };
    Ok((range, rest))
}

fn take_time(expr: &Expr, now: i64, range: &mut TimeRange) -> Result<Option<Expr>, String> {
    match expr {
        Expr::Paren(inner) if mentions_time(inner) => take_time(inner, now, range),
        Expr::Binary { op: BinaryOp::And, lhs, rhs } => {
            let l = take_time(lhs, now, range)?;
            let r = take_time(rhs, now, range)?;
            Ok(match (l, r) {
                (Some(l), Some(r)) => {
                    Some(Expr::Binary { op: BinaryOp::And, lhs: Box::new(l), rhs: Box::new(r) })
                }
                (one, None) | (None, one) => one,
            })
        }
        Expr::Binary { op, lhs, rhs } if is_time_ref(lhs) || is_time_ref(rhs) => {
            let (op, other) = if is_time_ref(lhs) { (*op, rhs) } else { (flip(*op), lhs) };
            let t = time_value(other, now).ok_or_else(|| {
                "invalid operation: time and *influxql.StringLiteral are not compatible".to_string()
            })?;
            match op {
                BinaryOp::Gt => range.min = range.min.max(t.saturating_add(1)),
                BinaryOp::Gte => range.min = range.min.max(t),
                BinaryOp::Lt => range.max = range.max.min(t.saturating_sub(1)),
                BinaryOp::Lte => range.max = range.max.min(t),
                BinaryOp::Eq => {
                    range.min = range.min.max(t);
                    range.max = range.max.min(t);
                }
                _ => return Err("invalid time comparison operator: ".to_string() + op_text(op)),
            }
            Ok(None)
        }
        other if mentions_time(other) => Err("invalid time condition".into()),
        other => Ok(Some(other.clone())),
    }
}

fn is_time_ref(e: &Expr) -> bool {
    matches!(e, Expr::Ref { name, .. } if name.eq_ignore_ascii_case("time"))
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        other => other,
    }
}

fn op_text(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Neq => "!=",
        BinaryOp::RegexMatch => "=~",
        BinaryOp::RegexNoMatch => "!~",
        _ => "?",
    }
}

/// A time expression in ns: a literal (RFC 3339 string, integer ns, duration), `now()`, and
/// sums and differences of those.
pub fn time_value(expr: &Expr, now: i64) -> Option<i64> {
    match expr {
        Expr::Str(s) => crate::time::parse_time(s),
        Expr::Integer(i) => Some(*i),
        Expr::Number(f) => Some(*f as i64),
        Expr::Duration(d) => Some(*d),
        Expr::Time(t) => Some(*t),
        Expr::Call { name, args } if name == "now" && args.is_empty() => Some(now),
        Expr::Paren(e) => time_value(e, now),
        Expr::Binary { op: BinaryOp::Add, lhs, rhs } => {
            time_value(lhs, now)?.checked_add(time_value(rhs, now)?)
        }
        Expr::Binary { op: BinaryOp::Sub, lhs, rhs } => {
            time_value(lhs, now)?.checked_sub(time_value(rhs, now)?)
        }
        _ => None,
    }
}

/// The tag terms of a condition's top-level AND that storage can apply: `tag = 'v'`,
/// `!=`, `=~ /re/`, `!~`. `is_field` says which names are fields (those stay per row).
pub fn tag_matchers(expr: Option<&Expr>, is_field: &dyn Fn(&str) -> bool) -> Vec<Matcher> {
    let mut out = Vec::new();
    if let Some(e) = expr {
        collect_matchers(e, is_field, &mut out);
    }
    out
}

fn collect_matchers(expr: &Expr, is_field: &dyn Fn(&str) -> bool, out: &mut Vec<Matcher>) {
    match expr {
        Expr::Binary { op: BinaryOp::And, lhs, rhs } => {
            collect_matchers(lhs, is_field, out);
            collect_matchers(rhs, is_field, out);
        }
        Expr::Paren(inner) => {
            if let Expr::Binary { op: BinaryOp::And, .. } = &**inner {
                collect_matchers(inner, is_field, out);
            }
        }
        Expr::Binary { op, lhs, rhs } => {
            let Expr::Ref { name, kind } = &**lhs else { return };
            if *kind == RefType::Field
                || (*kind == RefType::Any && is_field(name))
                || crate::namespace::is_reserved(name)
            {
                return;
            }
            let matcher = match (op, &**rhs) {
                (BinaryOp::Eq, Expr::Str(v)) => Matcher::new(MatchOp::Equal, name.clone(), v.clone()),
                (BinaryOp::Neq, Expr::Str(v)) => Matcher::new(MatchOp::NotEqual, name.clone(), v.clone()),
                (BinaryOp::RegexMatch, Expr::Regex(r)) => {
                    Matcher::new(MatchOp::RegexMatch, name.clone(), unanchored(r))
                }
                (BinaryOp::RegexNoMatch, Expr::Regex(r)) => {
                    Matcher::new(MatchOp::RegexNoMatch, name.clone(), unanchored(r))
                }
                _ => return,
            };
            if let Ok(m) = matcher {
                out.push(m);
            }
        }
        _ => {}
    }
}

/// The whole condition as storage matchers, when it is only tag terms joined by AND.
pub fn only_tag_matchers(expr: &Expr) -> Option<Vec<Matcher>> {
    match expr {
        Expr::Paren(inner) => only_tag_matchers(inner),
        Expr::Binary { op: BinaryOp::And, lhs, rhs } => {
            let mut l = only_tag_matchers(lhs)?;
            l.extend(only_tag_matchers(rhs)?);
            Some(l)
        }
        Expr::Binary { .. } => {
            let mut out = Vec::new();
            collect_matchers(expr, &|_| false, &mut out);
            (out.len() == 1).then_some(out)
        }
        _ => None,
    }
}

/// InfluxQL's regexes search; storage matchers are anchored: wrap so they search too.
pub fn unanchored(pattern: &str) -> String {
    format!(".*(?:{pattern}).*")
}

/// What a row offers a condition or a select expression.
pub trait Row {
    /// A field's value at the row's time (`Null` when absent) or a tag's value (`Str("")`
    /// when the series has no such tag), `Null` for neither.
    fn lookup(&self, name: &str, kind: RefType) -> Value;
}

/// Evaluates an expression over a row. Comparisons with null are false; arithmetic with
/// null is null.
pub fn eval(expr: &Expr, row: &dyn Row) -> Value {
    match expr {
        Expr::Ref { name, kind } => row.lookup(name, *kind),
        Expr::Paren(e) => eval(e, row),
        Expr::Integer(i) => Value::Float(*i as f64),
        Expr::Number(n) => Value::Float(*n),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Duration(d) => Value::Integer(*d),
        Expr::Binary { op: BinaryOp::And, lhs, rhs } => {
            Value::Bool(truthy(&eval(lhs, row)) && truthy(&eval(rhs, row)))
        }
        Expr::Binary { op: BinaryOp::Or, lhs, rhs } => {
            Value::Bool(truthy(&eval(lhs, row)) || truthy(&eval(rhs, row)))
        }
        Expr::Binary { op: op @ (BinaryOp::RegexMatch | BinaryOp::RegexNoMatch), lhs, rhs } => {
            let Expr::Regex(pattern) = &**rhs else { return Value::Bool(false) };
            let text = match eval(lhs, row) {
                Value::Str(s) => s,
                _ => return Value::Bool(false),
            };
            let matched = with_regex(pattern, |re| re.is_match(&text));
            Value::Bool(matched.is_some_and(|m| m == (*op == BinaryOp::RegexMatch)))
        }
        Expr::Binary { op, lhs, rhs } => binary(*op, &eval(lhs, row), &eval(rhs, row)),
        _ => Value::Null,
    }
}

/// Runs `f` with the compiled `pattern` (`None` if it does not compile), from the
/// process-wide cache: conditions are evaluated per row.
fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> Option<T> {
    strata_model::compiled_regex(pattern).ok().map(|re| f(&re))
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// A binary operator over two values.
pub fn binary(op: BinaryOp, l: &Value, r: &Value) -> Value {
    use BinaryOp::*;
    if let (Value::Str(a), Value::Str(b)) = (l, r) {
        return match op {
            Eq => Value::Bool(a == b),
            Neq => Value::Bool(a != b),
            Lt => Value::Bool(a < b),
            Lte => Value::Bool(a <= b),
            Gt => Value::Bool(a > b),
            Gte => Value::Bool(a >= b),
            Add => Value::Str(format!("{a}{b}")),
            _ => Value::Null,
        };
    }
    if let (Value::Bool(a), Value::Bool(b)) = (l, r) {
        return match op {
            Eq => Value::Bool(a == b),
            Neq => Value::Bool(a != b),
            BitAnd => Value::Bool(a & b),
            BitOr => Value::Bool(a | b),
            BitXor => Value::Bool(a ^ b),
            _ => Value::Null,
        };
    }
    let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
        return match op {
            Eq | Neq | Lt | Lte | Gt | Gte => Value::Bool(false),
            _ => Value::Null,
        };
    };
    match op {
        Eq => Value::Bool(a == b),
        Neq => Value::Bool(a != b),
        Lt => Value::Bool(a < b),
        Lte => Value::Bool(a <= b),
        Gt => Value::Bool(a > b),
        Gte => Value::Bool(a >= b),
        Add => Value::Float(a + b),
        Sub => Value::Float(a - b),
        Mul => Value::Float(a * b),
        Div => Value::Float(if b == 0.0 { 0.0 } else { a / b }),
        Mod => Value::Float(if b == 0.0 { 0.0 } else { a % b }),
        BitAnd => Value::Float(((a as i64) & (b as i64)) as f64),
        BitOr => Value::Float(((a as i64) | (b as i64)) as f64),
        BitXor => Value::Float(((a as i64) ^ (b as i64)) as f64),
        And | Or | RegexMatch | RegexNoMatch => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Statement;
    use crate::parser::{parse_query, Params};

    fn condition(text: &str) -> Expr {
        let q = parse_query(&format!("SELECT v FROM m WHERE {text}"), &Params::new()).unwrap();
        let Statement::Select(s) = &q[0] else { panic!() };
        s.condition.clone().unwrap()
    }

    #[test]
    fn time_is_taken_out() {
        let now = 1_000_000_000_000;
        let (range, rest) =
            split_time(Some(&condition("time >= '2000-01-01' AND host = 'a' AND time < now() - 1s")), now)
                .unwrap();
        assert_eq!(range, TimeRange { min: 946_684_800_000_000_000, max: now - 1_000_000_001 });
        assert!(matches!(rest, Some(Expr::Binary { op: BinaryOp::Eq, .. })));
        assert!(split_time(Some(&condition("time > 1 OR host = 'a'")), now).is_err());
    }

    #[test]
    fn ms_range_covers_ns_range() {
        assert_eq!(TimeRange { min: 1_500_000, max: 2_500_000 }.to_ms(), (2, 2));
        assert_eq!(TimeRange { min: 1_000_000, max: 3_000_000 }.to_ms(), (1, 3));
    }

    struct Tags;
    impl Row for Tags {
        fn lookup(&self, name: &str, _: RefType) -> Value {
            match name {
                "host" => Value::Str("server01".into()),
                "v" => Value::Float(2.0),
                _ => Value::Str(String::new()),
            }
        }
    }

    #[test]
    fn rows_evaluate() {
        assert_eq!(eval(&condition("host = 'server01' AND v > 1"), &Tags), Value::Bool(true));
        assert_eq!(eval(&condition("host =~ /^server0[2]$/ OR region != 'x'"), &Tags), Value::Bool(true));
        assert_eq!(eval(&condition("(v + 1) * 2 = 6"), &Tags), Value::Bool(true));
        let m = tag_matchers(Some(&condition("host = 'a' AND v > 1 AND region =~ /us/")), &|n| n == "v");
        assert_eq!(m.len(), 2);
    }
}
