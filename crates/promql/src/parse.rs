//! Parsing PromQL: the `promql-parser` crate (ARCHITECTURE.md, decision 5), behind one
//! function so that the rest of the engine sees our error type — with the parser's type
//! errors reworded as Prometheus words them (`expected type range vector in call to
//! function "rate", got instant vector`).

pub use promql_parser::parser::Expr;

/// A query that does not parse; the message is the parser's, in Prometheus' terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Labels named so are the engine's: the rewrites made to the query text before parsing
/// (the `anchored`/`smoothed` modifiers, `info()`'s selector) leave their marks in matchers on
/// such labels, and the evaluator never hands those matchers to storage.
pub(crate) const RESERVED_LABEL_PREFIX: &str = "__strata_";

/// Refuses a query that writes a reserved label itself (outside string literals): the
/// engine's marks must come from its own rewrites, or `{__strata_range_modifier__="smoothed"}`
/// would turn a feature on that the server has off.
pub(crate) fn refuse_reserved_labels(query: &str) -> Result<(), ParseError> {
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            _ if bytes[i..].starts_with(RESERVED_LABEL_PREFIX.as_bytes()) => {
                let name_len = bytes[i..].iter().take_while(|&&b| is_word(b)).count();
                return Err(ParseError(format!(
                    "label {:?} at character {}: label names starting with {RESERVED_LABEL_PREFIX} are reserved for the engine",
                    &query[i..i + name_len],
                    query[..i].chars().count() + 1
                )));
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Deepest nesting of `(`, `[` and `{` a query may have.
pub const MAX_NESTING: usize = 256;
/// Most operators a query may have (each one a level of the expression tree).
pub const MAX_OPERATORS: usize = 2_048;

/// Parses a PromQL expression.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    check_depth(query)?;
    let text = crate::byte_escapes::rewrite(query);
    // The parser (promql-parser) panics on some inputs its grammar accepts — a range of
    // 10^27 seconds overflows its `Duration::from_secs_f64` (found by fuzz/promql_eval) — so
    // a panic in it is taken as the parse error it should have been.
    match std::panic::catch_unwind(|| promql_parser::parser::parse(&text)) {
        Ok(parsed) => parsed.map_err(|e| ParseError(prometheus_wording(&e))),
        Err(panic) => Err(ParseError(format!("the query could not be parsed: {}", panic_message(&panic)))),
    }
}

/// The text a panic carried.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the parser failed".to_string())
}

/// Refuses a query whose expression tree would be too deep to parse, evaluate or drop on a
/// thread's stack: every one of those recurses once per level, and a hostile
/// `((((…1…))))` or `1+1+…+1` of 100,000 levels overflowed the server's stack and killed it.
/// Nesting is counted outside strings; operators are `+ - * / % ^`, comparisons and
/// `and`/`or`/`unless`, counted outside strings and `{…}` (a generous bound: a selector's
/// matchers and a duration's digits are not levels).
fn check_depth(query: &str) -> Result<(), ParseError> {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut operators, mut in_braces) = (0usize, 0usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                in_braces += usize::from(c == b'{');
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                in_braces = in_braces.saturating_sub(usize::from(c == b'}'));
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'=' | b'!' if in_braces == 0 => {
                operators += 1
            }
            b'a' | b'o' | b'u' if in_braces == 0 && (i == 0 || !is_word(bytes[i - 1])) => {
                let word = bytes[i..].iter().take_while(|&&b| is_word(b)).count();
                if matches!(&query[i..i + word], "and" | "or" | "unless") {
                    operators += 1;
                }
                i += word.max(1) - 1;
            }
            _ => {}
        }
        i += 1;
    }
    if deepest > MAX_NESTING {
        return Err(ParseError(format!(
            "query nests parentheses, brackets or braces {deepest} deep; at most {MAX_NESTING} are allowed"
        )));
    }
    if operators > MAX_OPERATORS {
        return Err(ParseError(format!(
            "query has {operators} operators; at most {MAX_OPERATORS} are allowed"
        )));
    }
    Ok(())
}

/// The index just past the string literal that opens at `start` (its quote: `"`, `'` or a
/// raw `` ` ``, in which `\` escapes nothing), or the end of the text if it is unclosed.
pub(crate) fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The next `target` after `from`, outside strings.
pub(crate) fn find_outside_strings(bytes: &[u8], from: usize, target: u8) -> Option<usize> {
    let mut i = from + 1;
    while i < bytes.len() {
        match bytes[i] {
            c if c == target => return Some(i),
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            _ => i += 1,
        }
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Parses a series selector as the HTTP API's `match[]` takes it (`up{job="a"}`,
/// `{__name__=~"x.*"}`; Prometheus' `ParseMetricSelector`): one list of matchers per `or`
/// alternative. As Prometheus, a selector whose matchers all match the empty label value is
/// refused (it would select every series).
pub fn parse_metric_selector(text: &str) -> Result<Vec<Vec<strata_model::Matcher>>, ParseError> {
    let Expr::VectorSelector(vs) = parse(text)? else {
        return Err(ParseError(format!("{text:?} is not a series selector")));
    };
    let sets = crate::eval::matcher_sets(&vs).map_err(|e| ParseError(e.to_string()))?;
    if sets.iter().any(|set| set.iter().all(|m| m.matches(""))) {
        return Err(ParseError("match[] must contain at least one non-empty matcher".into()));
    }
    Ok(sets)
}

/// The parser writes `expected type matrix in call to function 'rate', got vector`;
/// Prometheus writes type names as users know them and function names in double quotes.
fn prometheus_wording(message: &str) -> String {
    let Some(rest) = message.strip_prefix("expected type ") else { return message.to_string() };
    let Some((expected, rest)) = rest.split_once(" in ") else { return message.to_string() };
    let Some((context, got)) = rest.rsplit_once(", got ") else { return message.to_string() };
    let context = match context.strip_prefix("call to function '").and_then(|f| f.strip_suffix('\'')) {
        Some(function) => format!("call to function \"{function}\""),
        None => context.to_string(),
    };
    format!("expected type {} in {context}, got {}", type_name(expected), type_name(got))
}

fn type_name(parser_name: &str) -> &str {
    match parser_name {
        "matrix" => "range vector",
        "vector" => "instant vector",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz/promql_eval: the parser overflowed a Duration and panicked.
    #[test]
    fn a_range_too_long_for_a_duration_is_an_error_not_a_panic() {
        let query = "absent_over_time(http_requests_tot0lma20[0000000000000000000000100000000000000000744073709551615])";
        let e = parse(query).unwrap_err();
        assert!(e.0.contains("could not be parsed"), "{}", e.0);
        assert!(parse("rate(x[100000000000000000000000000s])").is_err());
    }

    #[test]
    fn queries_parse_and_errors_say_so() {
        assert!(matches!(parse("sum by (job) (rate(http_requests_total[5m]))"), Ok(Expr::Aggregate(_))));
        assert!(matches!(parse("up offset 5m @ 100"), Ok(Expr::VectorSelector(_))));
        assert!(parse("sum(").is_err());
        assert_eq!(
            parse("rate(up)").unwrap_err().0,
            "expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(parse_metric_selector(r#"up{job="a"}"#).unwrap()[0].len(), 2);
        assert!(parse_metric_selector(r#"{job=~".*"}"#).is_err());
        assert!(parse_metric_selector("rate(up[5m])").is_err());
        assert!(refuse_reserved_labels(r#"x{__strata_range_modifier__="smoothed"}"#).is_err());
        assert!(refuse_reserved_labels(r#"x{job="__strata_x"}"#).is_ok());
        assert!(refuse_reserved_labels("ÿ{a=\"é\"} + ü").is_ok(), "any text, byte by byte");
        assert_eq!(
            parse("sum(up[5m])").unwrap_err().0,
            "expected type instant vector in aggregation expression, got range vector"
        );
    }

    #[test]
    fn queries_too_deep_for_the_stack_are_refused() {
        let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(MAX_NESTING)).is_ok());
        let err = parse(&nested(100_000)).unwrap_err().0;
        assert!(err.contains("100000 deep"), "{err}");
        let chain = |n: usize, op: &str| vec!["up"; n + 1].join(op);
        assert!(parse(&chain(MAX_OPERATORS, " + ")).is_ok());
        assert!(parse(&chain(MAX_OPERATORS + 1, " + ")).unwrap_err().0.contains("operators"));
        assert!(parse(&chain(MAX_OPERATORS + 1, " or ")).unwrap_err().0.contains("operators"));
        // Strings and matchers do not count.
        let long_regex = format!("up{{job=~\"{}\"}}", "(a|".repeat(1_000) + &")".repeat(1_000));
        assert!(check_depth(&long_regex).is_ok());
        assert!(parse(&format!("label_replace(up, \"a\", \"{}\", \"b\", \"\")", "+(".repeat(5_000))).is_ok());
    }
}
