//! Strata's PromQL parser, written from Prometheus 3's grammar (its `generated_parser.y` and
//! lexer, read as a specification): one tree ([`ast::Expr`]) that holds every construct —
//! the histogram trim operators `</` and `>/`, duration expressions (`x[5m+30s]`,
//! `offset (2*1h)`, `step()`), `anchored`/`smoothed`, `fill` modifiers, `@ start()`,
//! `info()`'s label selector, quoted UTF-8 names — and Prometheus' error messages and
//! positions (`1:8: parse error: unexpected end of input`).
//!
//! The pipeline: [`lexer`] cuts the text into tokens (words stay words; the parser decides
//! where one is a keyword), [`parser`] builds the tree by recursive descent with precedence
//! climbing, [`check`] applies the type rules Prometheus checks after parsing. Depth is
//! bounded ([`parser::MAX_NESTING`], [`parser::MAX_OPERATORS`]) so a hostile query cannot
//! overflow the stack of whoever walks the tree.

pub mod ast;
mod check;
pub mod error;
pub mod functions;
pub mod keywords;
pub mod lexer;
pub mod parser;
pub mod printer;

pub use ast::Expr;
pub use error::ParseError;

/// Parses a PromQL expression and checks its types.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = lexer::lex(input)?;
    let expr = parser::Parser::new(input, tokens).parse_query()?;
    check::check(&expr, input)?;
    Ok(expr)
}

#[cfg(test)]
mod depth_tests {
    /// The deepest queries the limits let through parse on the stack the server gives its
    /// query threads (16 MiB: the parser and the checks recurse once per level), and those
    /// past the limits are refused before the stack runs out.
    #[test]
    fn the_deepest_allowed_queries_fit_a_query_threads_stack() {
        let run = || {
            let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
            assert!(super::parse(&nested(crate::parser::MAX_NESTING)).is_ok());
            assert!(super::parse(&nested(100_000)).is_err());
            let chain = |n: usize, op: &str| vec!["up"; n + 1].join(op);
            assert!(super::parse(&chain(crate::parser::MAX_OPERATORS, " + ")).is_ok());
            assert!(super::parse(&chain(crate::parser::MAX_OPERATORS, " ^ ")).is_ok());
            assert!(super::parse(&chain(crate::parser::MAX_OPERATORS + 1, " or ")).is_err());
            let signs = format!("{}1", "-".repeat(100_000));
            assert!(super::parse(&signs).is_err(), "signs nest too");
        };
        std::thread::Builder::new().stack_size(16 << 20).spawn(run).unwrap().join().unwrap();
    }
}
