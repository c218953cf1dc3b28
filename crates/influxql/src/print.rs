//! Statements back to text, as InfluxDB's `String()` methods write them — what SHOW
//! CONTINUOUS QUERIES shows — or exactly (`Numbers::Exact`), for text Strata parses again.
//!
//! InfluxDB's form is lossy in one place: a float literal is written with three decimals
//! (`1.2345` as `1.235`), so a query kept only in that form would change its meaning. The
//! exact form writes the shortest text that parses back to the same float; everything else
//! is the same in both. Identifiers are quoted only when they must be (a keyword, or a
//! character other than ASCII letters, digits and `_`, or a leading digit).

use std::fmt::Write;

use crate::ast::{BinaryOp, Dimension, Expr, Field, Fill, RefType, Select, Source};
use crate::lexer;

/// How float literals are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// Three decimals, as InfluxDB writes them.
    Influx,
    /// The shortest text that reads back as the same float.
    Exact,
}

/// `SELECT …` as InfluxDB writes it.
pub fn select(s: &Select, numbers: Numbers) -> String {
    let mut out = String::new();
    write_select(&mut out, s, numbers);
    out
}

/// An identifier, quoted where InfluxQL needs it.
pub fn quote_ident(ident: &str) -> String {
    if needs_quotes(ident) {
        let escaped = ident.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        format!("\"{escaped}\"")
    } else {
        ident.to_string()
    }
}

fn needs_quotes(ident: &str) -> bool {
    let keyword =
        lexer::is_keyword(ident) || ident.eq_ignore_ascii_case("true") || ident.eq_ignore_ascii_case("false");
    let mut chars = ident.chars();
    // ASCII only, as InfluxQL's lexer reads a bare identifier (fuzzing found `inΝytes`, with
    // a Greek capital nu, printed bare and read back as the keyword `IN`).
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    keyword || !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string literal: single quotes, with `\`, `'` and newlines escaped.
fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n"))
}

/// A duration in InfluxQL's units: the largest of w, d, h, m, s, ms, u that divides it.
pub fn format_duration(ns: i64) -> String {
    const UNITS: [(i64, &str); 7] = [
        (604_800_000_000_000, "w"),
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "u"),
    ];
    if ns == 0 {
        return "0s".into();
    }
    match UNITS.iter().find(|(unit, _)| ns % unit == 0) {
        Some((unit, name)) => format!("{}{name}", ns / unit),
        None => format!("{ns}ns"),
    }
}

fn write_select(out: &mut String, s: &Select, numbers: Numbers) {
    out.push_str("SELECT ");
    write_list(out, &s.fields, |out, f| write_field(out, f, numbers));
    if let Some(into) = &s.into {
        out.push_str(" INTO ");
        write_source(out, into, numbers);
    }
    if !s.sources.is_empty() {
        out.push_str(" FROM ");
        write_list(out, &s.sources, |out, src| write_source(out, src, numbers));
    }
    if let Some(condition) = &s.condition {
        out.push_str(" WHERE ");
        write_expr(out, condition, numbers);
    }
    if !s.dimensions.is_empty() {
        out.push_str(" GROUP BY ");
        write_list(out, &s.dimensions, write_dimension);
    }
    match s.fill {
        Fill::Null => {}
        Fill::None => out.push_str(" fill(none)"),
        Fill::Previous => out.push_str(" fill(previous)"),
        Fill::Linear => out.push_str(" fill(linear)"),
        // Exactly as a literal is written: Go's form puts a large number in exponent
        // notation, which InfluxQL does not read (found by fuzzing the round trip).
        Fill::Number(n) => {
            out.push_str(" fill(");
            match numbers {
                Numbers::Influx => out.push_str(&crate::result::json_float(n)),
                Numbers::Exact => write_exact_number(out, n),
            }
            out.push(')');
        }
    }
    if s.descending {
        out.push_str(" ORDER BY time DESC");
    }
    let counts = [
        (" LIMIT", s.limit),
        (" OFFSET", Some(s.offset)),
        (" SLIMIT", s.slimit),
        (" SOFFSET", Some(s.soffset)),
    ];
    for (word, n) in counts {
        if let Some(n) = n.filter(|&n| n > 0) {
            let _ = write!(out, "{word} {n}");
        }
    }
    if let Some(zone) = &s.timezone {
        let _ = write!(out, " tz({})", quote_string(zone));
    }
}

fn write_list<T>(out: &mut String, items: &[T], mut write: impl FnMut(&mut String, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write(out, item);
    }
}

fn write_field(out: &mut String, f: &Field, numbers: Numbers) {
    write_expr(out, &f.expr, numbers);
    if let Some(alias) = &f.alias {
        out.push_str(" AS ");
        out.push_str(&quote_ident(alias));
    }
}

fn write_source(out: &mut String, source: &Source, numbers: Numbers) {
    let qualified = |out: &mut String, database: &Option<String>, policy: &Option<String>| {
        if let Some(db) = database {
            out.push_str(&quote_ident(db));
            out.push('.');
        }
        if let Some(rp) = policy {
            out.push_str(&quote_ident(rp));
        }
        if database.is_some() || policy.is_some() {
            out.push('.');
        }
    };
    match source {
        Source::Measurement { database, policy, name } => {
            qualified(out, database, policy);
            // INTO's back-reference is written as it is.
            if name == crate::select::into::SOURCE_MEASUREMENT {
                out.push_str(name);
            } else {
                out.push_str(&quote_ident(name));
            }
        }
        Source::Regex { database, policy, pattern } => {
            qualified(out, database, policy);
            write_regex(out, pattern);
        }
        Source::Subquery(inner) => {
            out.push('(');
            write_select(out, inner, numbers);
            out.push(')');
        }
    }
}

fn write_regex(out: &mut String, pattern: &str) {
    let _ = write!(out, "/{}/", pattern.replace('/', "\\/"));
}

fn write_dimension(out: &mut String, d: &Dimension) {
    match d {
        Dimension::Time { interval, offset } => {
            let _ = write!(out, "time({}", format_duration(*interval));
            match *offset {
                0 => {}
                i64::MIN => out.push_str(", now()"), // the parser's mark for `now()`
                offset => {
                    let _ = write!(out, ", {}", format_duration(offset));
                }
            }
            out.push(')');
        }
        Dimension::Tag(tag) => out.push_str(&quote_ident(tag)),
        Dimension::Regex(pattern) => write_regex(out, pattern),
        Dimension::Wildcard => out.push('*'),
    }
}

/// Whether `lhs * rhs` is how the parser keeps `-rhs` (a negated operand that is not a
/// number: `-1 * rhs`, which `-1 * rhs` written out also parses to).
fn is_negation(lhs: &Expr, rhs: &Expr) -> bool {
    matches!(lhs, Expr::Integer(-1)) && !matches!(rhs, Expr::Integer(_) | Expr::Number(_) | Expr::Duration(_))
}

fn write_expr(out: &mut String, e: &Expr, numbers: Numbers) {
    match e {
        Expr::Ref { name, kind } => {
            out.push_str(&quote_ident(name));
            write_ref_type(out, *kind);
        }
        Expr::Call { name, args } => {
            out.push_str(name);
            out.push('(');
            write_list(out, args, |out, a| write_expr(out, a, numbers));
            out.push(')');
        }
        Expr::Binary { op: BinaryOp::Mul, lhs, rhs }
            if numbers == Numbers::Exact && is_negation(lhs, rhs) =>
        {
            // `-x` back as `-x`: InfluxDB's `-1 * x` reads back left to right, so `a / -x`
            // would come back as `(a / -1) * x` (found by fuzzing the round trip).
            let mut operand = String::new();
            write_expr(&mut operand, rhs, numbers);
            out.push_str(if operand.starts_with('-') { "- " } else { "-" });
            out.push_str(&operand);
        }
        Expr::Binary { op, lhs, rhs } => {
            write_expr(out, lhs, numbers);
            let _ = write!(out, " {} ", op.text());
            write_expr(out, rhs, numbers);
        }
        Expr::Paren(inner) => {
            out.push('(');
            write_expr(out, inner, numbers);
            out.push(')');
        }
        Expr::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Expr::Number(x) => match numbers {
            Numbers::Influx => {
                let _ = write!(out, "{x:.3}");
            }
            Numbers::Exact => write_exact_number(out, *x),
        },
        Expr::Str(s) => out.push_str(&quote_string(s)),
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Duration(ns) => out.push_str(&format_duration(*ns)),
        Expr::Regex(pattern) => write_regex(out, pattern),
        Expr::Wildcard => out.push('*'),
        Expr::Time(ns) => out.push_str(&quote_string(&crate::time::format_rfc3339(*ns))),
    }
}

/// A float that reads back as itself: every digit it needs, no exponent (InfluxQL has
/// none), and a decimal point so it stays a float.
fn write_exact_number(out: &mut String, x: f64) {
    let text = format!("{x}");
    out.push_str(&text);
    if !text.contains('.') {
        out.push_str(".0");
    }
}

fn write_ref_type(out: &mut String, kind: RefType) {
    match kind {
        RefType::Any => {}
        RefType::Field => out.push_str("::field"),
        RefType::Tag => out.push_str("::tag"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Statement;
    use crate::parser::parse_query;

    fn parsed(q: &str) -> Select {
        match parse_query(q, &Default::default()).unwrap_or_else(|e| panic!("{q}: {e}")).remove(0) {
            Statement::Select(s) => *s,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    #[test]
    fn selects_print_as_influxdb_writes_them() {
        let cases = [
            ("select count(value) into rp1.:MEASUREMENT from db0.rp0./[cg]pu/ group by time(5s), *", "SELECT count(value) INTO rp1.:MEASUREMENT FROM db0.rp0./[cg]pu/ GROUP BY time(5s), *"),
            ("SELECT mean(\"usage idle\") AS \"from\" FROM cpu WHERE host = 'a\\'b' AND value > 1.5 GROUP BY time(1h, 15m), host fill(none) ORDER BY time DESC LIMIT 3 SLIMIT 2 tz('Europe/Paris')",
             "SELECT mean(\"usage idle\") AS \"from\" FROM cpu WHERE host = 'a\\'b' AND value > 1.500 GROUP BY time(1h, 15m), host fill(none) ORDER BY time DESC LIMIT 3 SLIMIT 2 tz('Europe/Paris')"),
            ("SELECT max(v) FROM (SELECT mean(v) AS v FROM m GROUP BY time(90s)) WHERE time > now() - 10m", "SELECT max(v) FROM (SELECT mean(v) AS v FROM m GROUP BY time(90s)) WHERE time > now() - 10m"),
            ("SELECT v::field, t::tag FROM m WHERE t =~ /a\\/b/ fill(-1)", "SELECT v::field, t::tag FROM m WHERE t =~ /a\\/b/ fill(-1)"),
            ("SELECT last(v) FROM m GROUP BY time(1w),/h.*/", "SELECT last(v) FROM m GROUP BY time(1w), /h.*/"),
        ];
        for (input, expected) in cases {
            assert_eq!(select(&parsed(input), Numbers::Influx), expected, "{input}");
        }
    }

    #[test]
    fn the_exact_form_parses_back_to_the_same_statement() {
        let queries = [
            "SELECT v * 1.2345 + -0.000001 FROM m WHERE v < 1000.5 OR v > 123456789012345678901234567890",
            "SELECT count(DISTINCT v) FROM \"my m\" WHERE \"tag key\" != '' GROUP BY time(5s, -1s), \"k\"",
            "SELECT * FROM a, b./c/, db.rp.\"x.y\" WHERE time >= '2020-01-01T00:00:00Z' AND true",
            "SELECT percentile(v, 99.9) AS p, derivative(mean(v), 1s) FROM m GROUP BY time(10s) fill(linear) OFFSET 2 SOFFSET 1",
            "SELECT sum(v) INTO other FROM m GROUP BY time(1m, now())",
            // Negated operands (fuzzing found `- -x` and `a / -x` reading back reassociated).
            "SELECT DISTINCT - -ulat(*) FROM m",
            "SELECT a / -b, a - -(b + 1), -1 * c, -mean(v) FROM m GROUP BY time(1m)",
            "SELECT min(v) FROM m GROUP BY time(2s) fill(6666666666666666666666666666666666666666660)",
            "SELECT min(v) FROM m GROUP BY time(2s) fill(-0.000000000000000000000000000001)",
            "SELECT \"c\", \"in\u{39d}ytes\", \"\u{e9}t\u{e9}\" FROM cpu",
        ];
        for q in queries {
            let first = parsed(q);
            let text = select(&first, Numbers::Exact);
            assert_eq!(parsed(&text), first, "{q}\n  printed {text}");
        }
    }

    #[test]
    fn durations_take_the_largest_unit_that_divides_them() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1500ns"),
            (2_000, "2u"),
            (90_000_000_000, "90s"),
            (3_600_000_000_000, "1h"),
            (604_800_000_000_000, "1w"),
            (-5_000_000_000, "-5s"),
        ];
        for (ns, text) in cases {
            assert_eq!(format_duration(ns), text);
        }
    }
}
