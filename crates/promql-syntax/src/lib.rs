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

pub use ast::Expr;
pub use error::ParseError;

/// Parses a PromQL expression and checks its types.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = lexer::lex(input)?;
    let expr = parser::Parser::new(input, tokens).parse_query()?;
    check::check(&expr, input)?;
    Ok(expr)
}
