//! Parsing PromQL: the `promql-parser` crate (ARCHITECTURE.md, decision 5), behind one
//! function so that the rest of the engine sees our error type — with the parser's type
//! errors reworded as Prometheus words them (`expected type range vector in call to
//! function "rate", got instant vector`).

pub use promql_parser::parser::Expr;

/// A query that does not parse; the message is the parser's, in Prometheus' terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a PromQL expression.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    promql_parser::parser::parse(query).map_err(|e| ParseError(prometheus_wording(&e)))
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
        assert_eq!(
            parse("sum(up[5m])").unwrap_err().0,
            "expected type instant vector in aggregation expression, got range vector"
        );
    }
}
