//! Parsing PromQL: Strata's own parser (`strata-promql-syntax`, written from Prometheus 3's
//! grammar) behind one function, so the rest of the engine sees our error type. Its
//! messages are Prometheus' own, with the position (`1:6: parse error: …`).

pub use strata_promql_syntax::ast::Expr;
pub use strata_promql_syntax::parser::{MAX_NESTING, MAX_OPERATORS};

/// A query that does not parse; the message is Prometheus' words, with the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a PromQL expression.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    strata_promql_syntax::parse(query).map_err(|e| ParseError(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_too_long_for_a_duration_is_an_error_not_a_panic() {
        let query = "absent_over_time(http_requests_tot0lma20[0000000000000000000000100000000000000000744073709551615])";
        assert!(parse(query).is_err());
        assert!(parse("rate(x[100000000000000000000000000s])").is_err());
    }

    #[test]
    fn queries_parse_and_errors_say_so_with_the_position() {
        assert!(matches!(parse("sum by (job) (rate(http_requests_total[5m]))"), Ok(Expr::Aggregate(_))));
        assert!(matches!(parse("up offset 5m @ 100"), Ok(Expr::VectorSelector(_))));
        assert!(parse("sum(").is_err());
        assert_eq!(
            parse("rate(up)").unwrap_err().0,
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(parse_metric_selector(r#"up{job="a"}"#).unwrap()[0].len(), 2);
        assert!(parse_metric_selector(r#"{job=~".*"}"#).is_err());
        assert!(parse_metric_selector("rate(up[5m])").is_err());
        assert_eq!(
            parse("sum(up[5m])").unwrap_err().0,
            "1:5: parse error: expected type instant vector in aggregation expression, got range vector"
        );
    }

    /// On the stack the server gives query threads (16 MiB), as the parser recurses once
    /// per level.
    #[test]
    fn queries_too_deep_for_the_stack_are_refused() {
        std::thread::Builder::new().stack_size(16 << 20).spawn(too_deep).unwrap().join().unwrap();
    }

    fn too_deep() {
        let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(MAX_NESTING)).is_ok());
        let err = parse(&nested(100_000)).unwrap_err().0;
        assert!(err.contains("too deep; at most"), "{err}");
        let chain = |n: usize, op: &str| vec!["up"; n + 1].join(op);
        assert!(parse(&chain(MAX_OPERATORS, " + ")).is_ok());
        assert!(parse(&chain(MAX_OPERATORS + 1, " + ")).unwrap_err().0.contains("operators"));
        assert!(parse(&chain(MAX_OPERATORS + 1, " or ")).unwrap_err().0.contains("operators"));
        // Strings and matchers do not count (a regex nests within the regex engine's limit).
        let long_regex = format!("up{{job=~\"{}\"}}", "(a|".repeat(100) + &")".repeat(100));
        assert!(parse(&long_regex).is_ok());
        assert!(parse(&format!("label_replace(up, \"a\", \"{}\", \"b\", \"\")", "+(".repeat(5_000))).is_ok());
    }
}
