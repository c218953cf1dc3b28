//! Parsing PromQL: the `promql-parser` crate (ARCHITECTURE.md, decision 5), behind one
//! function so that the rest of the engine sees our error type.

pub use promql_parser::parser::Expr;

/// A query that does not parse; the message is the parser's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error: {0}")]
pub struct ParseError(pub String);

/// Parses a PromQL expression.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    promql_parser::parser::parse(query).map_err(ParseError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_errors_say_so() {
        assert!(matches!(parse("sum by (job) (rate(http_requests_total[5m]))"), Ok(Expr::Aggregate(_))));
        assert!(matches!(parse("up offset 5m @ 100"), Ok(Expr::VectorSelector(_))));
        let err = parse("sum(").unwrap_err();
        assert!(err.to_string().starts_with("parse error: "), "{err}");
    }
}
