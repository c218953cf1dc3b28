//! The type rules Prometheus checks once the tree is read (`checkAST` in its parser): what
//! each function, aggregation and operator accepts, and the selector rules. The first broken
//! rule, depth first and left to right as Prometheus walks, is the error.

use crate::ast::*;
use crate::error::ParseError;
use crate::functions::{function, Variadic};

/// Checks `expr` (read from `input`, for positions).
pub(crate) fn check(expr: &Expr, input: &str) -> Result<(), ParseError> {
    Checker { input }.expr(expr)
}

struct Checker<'a> {
    input: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Span, message: String) -> ParseError {
        ParseError::at(self.input, span.start, span.end, message)
    }

    fn expect_type(&self, expr: &Expr, want: ValueType, context: &str) -> Result<(), ParseError> {
        self.expr(expr)?;
        let got = expr.value_type();
        if got != want {
            return Err(self.error(
                expr.span(),
                format!("expected type {} in {context}, got {}", want.documented(), got.documented()),
            ));
        }
        Ok(())
    }

    fn expr(&self, expr: &Expr) -> Result<(), ParseError> {
        match expr {
            Expr::Number(_) | Expr::String(_) => Ok(()),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Unary(u) => {
                self.expr(&u.expr)?;
                match u.expr.value_type() {
                    ValueType::Scalar | ValueType::InstantVector => Ok(()),
                    other => Err(self.error(
                        u.span,
                        format!(
                            "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                            other.documented()
                        ),
                    )),
                }
            }
            Expr::Binary(b) => self.binary(b),
            Expr::Aggregate(a) => self.aggregate(a),
            Expr::Call(c) => self.call(c),
            Expr::VectorSelector(vs) => self.selector(vs, false),
            Expr::MatrixSelector(ms) => self.selector(&ms.selector, false),
            Expr::Subquery(sq) => self.expr(&sq.expr),
        }
    }

    fn binary(&self, b: &BinaryExpr) -> Result<(), ParseError> {
        self.expr(&b.lhs)?;
        self.expr(&b.rhs)?;
        let (lt, rt) = (b.lhs.value_type(), b.rhs.value_type());
        let op_span = Span { start: b.lhs.span().end, end: b.rhs.span().start };
        if b.return_bool && !b.op.is_comparison() {
            return Err(self.error(op_span, "bool modifier can only be used on comparison operators".into()));
        }
        if b.op.is_comparison() && !b.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
            return Err(self.error(op_span, "comparisons between scalars must use BOOL modifier".into()));
        }
        if let Some(m) = &b.matching {
            if m.on {
                if let Some(l) = m.labels.iter().find(|l| m.include.contains(l)) {
                    return Err(self.error(
                        op_span,
                        format!("label {l:?} must not occur in ON and GROUP clause at once"),
                    ));
                }
            }
        }
        for (t, side) in [(lt, &b.lhs), (rt, &b.rhs)] {
            if t != ValueType::Scalar && t != ValueType::InstantVector {
                return Err(self.error(
                    side.span(),
                    "binary expression must contain only scalar and instant vector types".into(),
                ));
            }
        }
        if let Some(m) = &b.matching {
            if b.op.is_set_operator() && matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany) {
                return Err(
                    self.error(b.span, format!("no grouping allowed for {:?} operation", b.op.as_str()))
                );
            }
        }
        if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set_operator() {
            return Err(self.error(
                b.span,
                format!("set operator {:?} not allowed in binary scalar expression", b.op.as_str()),
            ));
        }
        Ok(())
    }

    fn aggregate(&self, a: &AggregateExpr) -> Result<(), ParseError> {
        self.expect_type(&a.expr, ValueType::InstantVector, "aggregation expression")?;
        if let Some(param) = &a.param {
            let want = if a.op == "count_values" { ValueType::String } else { ValueType::Scalar };
            self.expect_type(param, want, "aggregation parameter")?;
        }
        Ok(())
    }

    fn call(&self, c: &Call) -> Result<(), ParseError> {
        let f = function(&c.func).expect("the parser refuses unknown functions");
        let (fixed, got) = (f.args.len(), c.args.len());
        match f.variadic {
            Variadic::Exact if got != fixed => {
                return Err(self.error(
                    c.span,
                    format!("expected {fixed} argument(s) in call to {:?}, got {got}", f.name),
                ))
            }
            Variadic::UpTo(_) | Variadic::Unlimited if got < fixed - 1 => {
                return Err(self.error(
                    c.span,
                    format!("expected at least {} argument(s) in call to {:?}, got {got}", fixed - 1, f.name),
                ))
            }
            Variadic::UpTo(extra) if got > fixed - 1 + extra => {
                return Err(self.error(
                    c.span,
                    format!(
                        "expected at most {} argument(s) in call to {:?}, got {got}",
                        fixed - 1 + extra,
                        f.name
                    ),
                ))
            }
            _ => {}
        }
        let context = format!("call to function {:?}", f.name);
        for (i, arg) in c.args.iter().enumerate() {
            let want = f.args[i.min(fixed.saturating_sub(1))];
            if f.name == "info" && i == 1 {
                // The data-label selector: any label selector, even one that matches everything.
                let Expr::VectorSelector(vs) = arg else {
                    return Err(self.error(
                        arg.span(),
                        "expected label selectors as the second argument to \"info\" function".into(),
                    ));
                };
                self.selector(vs, true)?;
                continue;
            }
            self.expect_type(arg, want, &context)?;
        }
        Ok(())
    }

    fn selector(&self, vs: &VectorSelector, may_match_everything: bool) -> Result<(), ParseError> {
        // Each matcher's answer for the empty value, its regex compiled once.
        let mut matches_empty = Vec::with_capacity(vs.matchers.len());
        for m in &vs.matchers {
            let empty = match m.op {
                MatchOp::Equal => m.value.is_empty(),
                MatchOp::NotEqual => !m.value.is_empty(),
                MatchOp::Regex | MatchOp::NotRegex => {
                    let re = anchored(&m.value).map_err(|e| {
                        let reason = e.to_string().lines().last().unwrap_or("").trim().to_string();
                        self.error(vs.span, format!("error parsing regexp: {reason}"))
                    })?;
                    re.is_match("") == (m.op == MatchOp::Regex)
                }
            };
            matches_empty.push(empty);
        }
        if let Some(name) = &vs.name {
            if let Some(m) = vs.matchers.iter().find(|m| m.name == "__name__") {
                return Err(self.error(
                    vs.span,
                    format!("metric name must not be set twice: {name:?} or {:?}", m.value),
                ));
            }
            return Ok(());
        }
        // A selector of only matchers that match the empty value would select every series.
        if !may_match_everything && matches_empty.iter().all(|&empty| empty) {
            return Err(
                self.error(vs.span, "vector selector must contain at least one non-empty matcher".into())
            );
        }
        Ok(())
    }
}

/// A matcher's regex as Prometheus applies it: anchored at both ends.
fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?s:{pattern})$"))
}
