//! Recursive descent over the tokens, with precedence climbing for binary operators, written
//! from Prometheus 3's grammar (`generated_parser.y`): operators bind as listed on
//! [`BinaryOp::precedence`], `^` to the right; a sign binds like `*` (so `-a^b` is `-(a^b)`),
//! a sign on a number literal is folded into it; `[…]`, `offset`, `@` and
//! `anchored`/`smoothed` bind tighter than any operator. Type rules are checked after the
//! tree is built ([`crate::check`]).

use crate::ast::*;
use crate::error::ParseError;
use crate::keywords::is_aggregator;
use crate::lexer::{duration_ms, Kind, Token};

/// Deepest nesting of parentheses, calls, braces and brackets a query may have: the parser,
/// the checks and any evaluator recurse once per level.
pub const MAX_NESTING: usize = 256;
/// Most binary operators a query may have (each one a level of the tree).
pub const MAX_OPERATORS: usize = 2_048;

/// Precedence a sign binds with: that of `*`.
const UNARY_PRECEDENCE: u8 = 5;

pub(crate) struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    operators: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str, tokens: Vec<Token>) -> Parser<'a> {
        Parser { input, tokens, pos: 0, depth: 0, operators: 0 }
    }

    /// The whole input as one expression.
    pub(crate) fn parse_query(&mut self) -> Result<Expr, ParseError> {
        if self.peek().kind == Kind::Eof {
            return Err(self.error_at(self.peek(), "no expression found in input".into()));
        }
        let expr = self.expr(0)?;
        let next = self.peek();
        if next.kind != Kind::Eof {
            return Err(self.unexpected(next, None, None));
        }
        Ok(expr)
    }

    // --- tokens -------------------------------------------------------------------------

    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if t.kind != Kind::Eof {
            self.pos += 1;
        }
        t
    }

    fn expect(&mut self, kind: Kind, context: &str, expected: &str) -> Result<Token, ParseError> {
        if self.peek().kind == kind {
            return Ok(self.advance());
        }
        Err(self.unexpected(self.peek(), Some(context), Some(expected)))
    }

    fn error_at(&self, token: &Token, message: String) -> ParseError {
        ParseError::at(self.input, token.start, token.end, message)
    }

    fn error_span(&self, span: Span, message: String) -> ParseError {
        ParseError::at(self.input, span.start, span.end, message)
    }

    /// Prometheus' "unexpected X in CONTEXT, expected Y".
    fn unexpected(&self, token: &Token, context: Option<&str>, expected: Option<&str>) -> ParseError {
        let mut message = match token.kind {
            Kind::Eof => "unexpected end of input".to_string(),
            Kind::RightParen if context.is_none() => "unexpected right parenthesis ')'".to_string(),
            _ => format!("unexpected {}", token.describe()),
        };
        if let Some(context) = context {
            message.push_str(&format!(" in {context}"));
        }
        if let Some(expected) = expected {
            message.push_str(&format!(", expected {expected}"));
        }
        self.error_at(token, message)
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_at(
                self.peek(),
                format!("the query nests parentheses, calls or brackets too deep; at most {MAX_NESTING} levels are allowed"),
            ));
        }
        Ok(())
    }

    fn unnest(&mut self) {
        self.depth -= 1;
    }

    // --- expressions --------------------------------------------------------------------

    fn expr(&mut self, min_precedence: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some(op) = binary_op(self.peek()) {
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            let op_token = self.advance();
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err(self.error_at(
                    &op_token,
                    format!("the query has too many operators; at most {MAX_OPERATORS} are allowed"),
                ));
            }
            let (return_bool, matching) = self.binary_modifiers()?;
            let next = if op == BinaryOp::Pow { precedence } else { precedence + 1 };
            let rhs = self.expr(next)?;
            let span = lhs.span().to(rhs.span());
            let matching = self.matching_for(op, &lhs, &rhs, matching, span)?;
            lhs = Expr::Binary(BinaryExpr {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                return_bool,
                matching,
                span,
            });
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let kind = self.peek().kind;
        if kind != Kind::Add && kind != Kind::Sub {
            return self.postfix();
        }
        let sign = self.advance();
        self.nest()?;
        let operand = self.expr(UNARY_PRECEDENCE + 1)?;
        self.unnest();
        let span = Span { start: sign.start, end: operand.span().end };
        let negative = kind == Kind::Sub;
        Ok(match operand {
            Expr::Number(n) => {
                Expr::Number(NumberLiteral { value: if negative { -n.value } else { n.value }, span })
            }
            other => Expr::Unary(UnaryExpr { negative, expr: Box::new(other), span }),
        })
    }

    /// A primary expression and what binds to it: `[…]`, `offset`, `@`, `anchored`/`smoothed`.
    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.primary()?;
        loop {
            let token = self.peek().clone();
            expr = match token.kind {
                Kind::LeftBracket => self.range_or_subquery(expr)?,
                Kind::At => {
                    self.advance();
                    let at = self.at_modifier()?;
                    self.set_at(expr, at, &token)?
                }
                Kind::Word if token.is_word("offset") => {
                    self.advance();
                    let offset = self.offset_operand()?;
                    self.set_offset(expr, offset, &token)?
                }
                Kind::Word if token.is_word("anchored") || token.is_word("smoothed") => {
                    self.advance();
                    let modifier = if token.is_word("anchored") {
                        RangeModifier::Anchored
                    } else {
                        RangeModifier::Smoothed
                    };
                    self.set_range_modifier(expr, modifier, &token)?
                }
                _ => return Ok(expr),
            };
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let token = self.peek().clone();
        let span = Span { start: token.start, end: token.end };
        match token.kind {
            Kind::Number => {
                self.advance();
                let value = parse_number(&token.text).ok_or_else(|| {
                    self.error_at(&token, format!("bad number or duration syntax: {:?}", token.text))
                })?;
                Ok(Expr::Number(NumberLiteral { value, span }))
            }
            Kind::Duration => {
                self.advance();
                let ms = duration_ms(&token.text).ok_or_else(|| {
                    self.error_at(&token, format!("duration out of range: {:?}", token.text))
                })?;
                Ok(Expr::Number(NumberLiteral { value: ms as f64 / 1000.0, span }))
            }
            Kind::String => {
                self.advance();
                Ok(Expr::String(StringLiteral { value: token.text, span }))
            }
            Kind::LeftParen => {
                self.advance();
                self.nest()?;
                let inner = self.expr(0)?;
                self.unnest();
                let close = self.expect(Kind::RightParen, "paren expression", "\")\"").map_err(|e| {
                    if self.peek().kind == Kind::Eof {
                        self.error_at(&token, "unclosed left parenthesis".into())
                    } else {
                        e
                    }
                })?;
                Ok(Expr::Paren(ParenExpr {
                    expr: Box::new(inner),
                    span: Span { start: token.start, end: close.end },
                }))
            }
            Kind::LeftBrace => self.selector(None, token.start),
            Kind::Word => self.word_expr(token),
            _ => Err(self.unexpected(&token, None, None)),
        }
    }

    /// What a word starts: a number (`Inf`, `NaN`), an aggregation, a call or a selector.
    fn word_expr(&mut self, token: Token) -> Result<Expr, ParseError> {
        let next = self.peek_at(1).kind;
        let lower = token.text.to_ascii_lowercase();
        if lower == "inf" || lower == "nan" {
            self.advance();
            let value = if lower == "inf" { f64::INFINITY } else { f64::NAN };
            return Ok(Expr::Number(NumberLiteral {
                value,
                span: Span { start: token.start, end: token.end },
            }));
        }
        let modifier_follows = self.peek_at(1).is_word("by") || self.peek_at(1).is_word("without");
        if is_aggregator(&token.text) && (next == Kind::LeftParen || modifier_follows) {
            return self.aggregation();
        }
        if next == Kind::LeftParen {
            return self.call();
        }
        self.advance();
        self.selector(Some(token.text.clone()), token.start)
    }

    // --- binary operator modifiers ------------------------------------------------------

    /// `bool`, `on(…)`/`ignoring(…)`, `group_left(…)`/`group_right(…)` and `fill…(…)`.
    fn binary_modifiers(&mut self) -> Result<(bool, Option<VectorMatching>), ParseError> {
        let return_bool = self.peek().is_word("bool");
        if return_bool {
            self.advance();
        }
        let mut matching = VectorMatching {
            card: Cardinality::OneToOne,
            on: false,
            labels: Vec::new(),
            labels_given: false,
            include: Vec::new(),
            fill_left: None,
            fill_right: None,
        };
        if self.peek().is_word("on") || self.peek().is_word("ignoring") {
            matching.on = self.advance().is_word("on");
            matching.labels = self.grouping_labels()?;
            matching.labels_given = true;
            if self.peek().is_word("group_left") || self.peek().is_word("group_right") {
                let left = self.advance().is_word("group_left");
                matching.card = if left { Cardinality::ManyToOne } else { Cardinality::OneToMany };
                if self.peek().kind == Kind::LeftParen {
                    matching.include = self.grouping_labels()?;
                }
            }
        }
        while let Some(which) =
            ["fill", "fill_left", "fill_right"].into_iter().find(|w| self.peek().is_word(w))
        {
            if self.peek_at(1).kind != Kind::LeftParen {
                break;
            }
            self.advance();
            self.advance();
            let value = self.signed_number("fill modifier")?;
            self.expect(Kind::RightParen, "fill modifier", "\")\"")?;
            match which {
                "fill" => (matching.fill_left, matching.fill_right) = (Some(value), Some(value)),
                "fill_left" => matching.fill_left = Some(value),
                _ => matching.fill_right = Some(value),
            }
        }
        Ok((return_bool, Some(matching)))
    }

    /// What a pair's matching becomes once the operand types are known, as in Prometheus:
    /// none unless both sides are instant vectors (an `on`/`ignoring` list between other
    /// types is an error), many-to-many for set operators.
    fn matching_for(
        &self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        matching: Option<VectorMatching>,
        span: Span,
    ) -> Result<Option<VectorMatching>, ParseError> {
        let vectors =
            lhs.value_type() == ValueType::InstantVector && rhs.value_type() == ValueType::InstantVector;
        let Some(mut m) = matching else { return Ok(None) };
        if !vectors {
            if !m.labels.is_empty() {
                return Err(
                    self.error_span(span, "vector matching only allowed between instant vectors".into())
                );
            }
            return Ok(None);
        }
        if op.is_set_operator() && m.card == Cardinality::OneToOne {
            m.card = Cardinality::ManyToMany;
        }
        Ok(Some(m))
    }

    /// `(a, b, "c.d")` after `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    fn grouping_labels(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(Kind::LeftParen, "grouping opts", "\"(\"")?;
        let mut labels = Vec::new();
        loop {
            let token = self.peek().clone();
            match token.kind {
                Kind::RightParen => {
                    self.advance();
                    return Ok(labels);
                }
                Kind::Word | Kind::String => {
                    self.advance();
                    if token.kind == Kind::Word && !is_label_name(&token.text) {
                        return Err(self.unexpected(&token, Some("grouping opts"), Some("label")));
                    }
                    labels.push(token.text);
                    match self.peek().kind {
                        Kind::Comma => {
                            self.advance();
                        }
                        Kind::RightParen => {}
                        _ => {
                            return Err(self.unexpected(
                                self.peek(),
                                Some("grouping opts"),
                                Some("\",\" or \")\""),
                            ))
                        }
                    }
                }
                _ => return Err(self.unexpected(&token, Some("grouping opts"), Some("label"))),
            }
        }
    }

    fn signed_number(&mut self, context: &str) -> Result<f64, ParseError> {
        let mut sign = 1.0;
        while matches!(self.peek().kind, Kind::Add | Kind::Sub) {
            if self.advance().kind == Kind::Sub {
                sign = -sign;
            }
        }
        let token = self.advance();
        let value = match token.kind {
            Kind::Number => parse_number(&token.text),
            Kind::Word if token.text.eq_ignore_ascii_case("inf") => Some(f64::INFINITY),
            Kind::Word if token.text.eq_ignore_ascii_case("nan") => Some(f64::NAN),
            Kind::Duration => duration_ms(&token.text).map(|ms| ms as f64 / 1000.0),
            _ => None,
        };
        value.map(|v| sign * v).ok_or_else(|| self.unexpected(&token, Some(context), Some("number")))
    }

    // --- aggregations and calls ---------------------------------------------------------

    fn aggregation(&mut self) -> Result<Expr, ParseError> {
        let op_token = self.advance();
        let op = op_token.text.to_ascii_lowercase();
        let mut grouping = None;
        if self.peek().is_word("by") || self.peek().is_word("without") {
            let without = self.advance().is_word("without");
            grouping = Some((without, self.grouping_labels()?));
        }
        if self.peek().kind != Kind::LeftParen {
            return Err(self.unexpected(self.peek(), Some("aggregation"), Some("\"(\"")));
        }
        let (mut args, close) = self.call_args("aggregation")?;
        let mut end = close.end;
        if grouping.is_none() && (self.peek().is_word("by") || self.peek().is_word("without")) {
            let without = self.advance().is_word("without");
            grouping = Some((without, self.grouping_labels()?));
            end = self.tokens[self.pos - 1].end;
        }
        let span = Span { start: op_token.start, end };
        let with_param = matches!(
            op.as_str(),
            "topk" | "bottomk" | "quantile" | "count_values" | "limitk" | "limit_ratio"
        );
        if args.is_empty() {
            return Err(self.error_span(span, "no arguments for aggregate expression provided".into()));
        }
        let wanted = if with_param { 2 } else { 1 };
        if args.len() != wanted {
            return Err(self.error_span(
                span,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {wanted}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = args.pop().expect("counted above");
        let param = args.pop().map(Box::new);
        let (without, grouping) = grouping.unwrap_or((false, Vec::new()));
        Ok(Expr::Aggregate(AggregateExpr { op, expr: Box::new(expr), param, grouping, without, span }))
    }

    fn call(&mut self) -> Result<Expr, ParseError> {
        let name = self.advance();
        if crate::functions::function(&name.text).is_none() {
            return Err(self.error_at(&name, format!("unknown function with name {:?}", name.text)));
        }
        let (args, close) = self.call_args("function call")?;
        Ok(Expr::Call(Call { func: name.text, args, span: Span { start: name.start, end: close.end } }))
    }

    /// `(arg, arg, …)`: the arguments and the closing parenthesis.
    fn call_args(&mut self, context: &str) -> Result<(Vec<Expr>, Token), ParseError> {
        let open = self.expect(Kind::LeftParen, context, "\"(\"")?;
        self.nest()?;
        let mut args = Vec::new();
        if self.peek().kind == Kind::RightParen {
            self.unnest();
            return Ok((args, self.advance()));
        }
        loop {
            args.push(self.expr(0)?);
            match self.peek().kind {
                Kind::Comma => {
                    let comma = self.advance();
                    if self.peek().kind == Kind::RightParen {
                        return Err(
                            self.error_at(&comma, "trailing commas not allowed in function call args".into())
                        );
                    }
                }
                Kind::RightParen => {
                    self.unnest();
                    return Ok((args, self.advance()));
                }
                Kind::Eof => return Err(self.error_at(&open, "unclosed left parenthesis".into())),
                _ => return Err(self.unexpected(self.peek(), Some(context), Some("\",\" or \")\""))),
            }
        }
    }

    // --- selectors ----------------------------------------------------------------------

    /// A vector selector: an optional name (already read) and optional `{…}`.
    fn selector(&mut self, name: Option<String>, start: usize) -> Result<Expr, ParseError> {
        let mut matchers = Vec::new();
        let mut end = self.tokens[self.pos.saturating_sub(1)].end;
        let mut name = name;
        if self.peek().kind == Kind::LeftBrace {
            self.advance();
            self.nest()?;
            loop {
                let token = self.peek().clone();
                match token.kind {
                    Kind::RightBrace => {
                        end = self.advance().end;
                        break;
                    }
                    Kind::Word | Kind::String => {
                        self.advance();
                        let is_op =
                            matches!(self.peek().kind, Kind::Eq | Kind::Neq | Kind::EqRegex | Kind::NeqRegex);
                        if token.kind == Kind::String && !is_op {
                            // `{"metric.name", …}`: a quoted metric name.
                            if name.is_some() {
                                return Err(self.error_at(
                                    &token,
                                    format!(
                                        "metric name must not be set twice: {:?} or {:?}",
                                        name.unwrap_or_default(),
                                        token.text
                                    ),
                                ));
                            }
                            name = Some(token.text.clone());
                        } else {
                            if token.kind == Kind::Word && !is_label_name(&token.text) {
                                return Err(self.unexpected(&token, Some("label matching"), Some("label")));
                            }
                            matchers.push(self.matcher(token.text)?);
                        }
                        match self.peek().kind {
                            Kind::Comma => {
                                self.advance();
                            }
                            Kind::RightBrace => {}
                            _ => {
                                return Err(self.unexpected(
                                    self.peek(),
                                    Some("label matching"),
                                    Some("\",\" or \"}\""),
                                ))
                            }
                        }
                    }
                    _ => {
                        return Err(self.unexpected(
                            &token,
                            Some("label matching"),
                            Some("identifier or \"}\""),
                        ))
                    }
                }
            }
            self.unnest();
        }
        Ok(Expr::VectorSelector(VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            modifier: None,
            span: Span { start, end },
        }))
    }

    fn matcher(&mut self, name: String) -> Result<LabelMatcher, ParseError> {
        let op_token = self.advance();
        let op = match op_token.kind {
            Kind::Eq => MatchOp::Equal,
            Kind::Neq => MatchOp::NotEqual,
            Kind::EqRegex => MatchOp::Regex,
            Kind::NeqRegex => MatchOp::NotRegex,
            _ => {
                return Err(self.unexpected(
                    &op_token,
                    Some("label matching"),
                    Some("label matching operator"),
                ))
            }
        };
        let value = self.advance();
        if value.kind != Kind::String {
            return Err(self.unexpected(&value, Some("label matching"), Some("string")));
        }
        Ok(LabelMatcher { name, op, value: value.text })
    }

    fn range_or_subquery(&mut self, expr: Expr) -> Result<Expr, ParseError> {
        let open = self.advance();
        self.nest()?;
        if self.peek().kind == Kind::RightBracket || self.peek().kind == Kind::Colon {
            return Err(self.unexpected(self.peek(), Some("subquery selector"), Some("duration")));
        }
        let range = self.duration_expr(0)?;
        let result = match self.peek().kind {
            Kind::RightBracket => {
                let close = self.advance();
                let span = Span { start: expr.span().start, end: close.end };
                match expr {
                    Expr::VectorSelector(vs) if vs.offset.is_some() => Err(self.error_span(
                        Span { start: open.start, end: close.end },
                        "no offset modifiers allowed before range".into(),
                    )),
                    Expr::VectorSelector(vs) if vs.at.is_some() => Err(self.error_span(
                        Span { start: open.start, end: close.end },
                        "no @ modifiers allowed before range".into(),
                    )),
                    Expr::VectorSelector(vs) => {
                        Ok(Expr::MatrixSelector(MatrixSelector { selector: vs, range, span }))
                    }
                    _ => Err(self.error_span(
                        Span { start: open.start, end: close.end },
                        "ranges only allowed for vector selectors".into(),
                    )),
                }
            }
            Kind::Colon => {
                self.advance();
                let step =
                    if self.peek().kind == Kind::RightBracket { None } else { Some(self.duration_expr(0)?) };
                let close = self.expect(Kind::RightBracket, "subquery selector", "\"]\"")?;
                if !matches!(expr.value_type(), ValueType::InstantVector) {
                    let got = expr.value_type().documented();
                    return Err(self.error_span(
                        expr.span(),
                        format!("subquery is only allowed on instant vector, got {got} instead"),
                    ));
                }
                let span = Span { start: expr.span().start, end: close.end };
                Ok(Expr::Subquery(SubqueryExpr {
                    expr: Box::new(expr),
                    range,
                    step,
                    offset: None,
                    at: None,
                    span,
                }))
            }
            _ => Err(self.unexpected(self.peek(), Some("subquery or range"), Some("\":\" or \"]\""))),
        };
        self.unnest();
        result
    }

    // --- modifiers ----------------------------------------------------------------------

    fn at_modifier(&mut self) -> Result<AtModifier, ParseError> {
        let token = self.peek().clone();
        if (token.is_word("start") || token.is_word("end")) && self.peek_at(1).kind == Kind::LeftParen {
            self.advance();
            self.advance();
            self.expect(Kind::RightParen, "@", "\")\"")?;
            return Ok(if token.is_word("start") { AtModifier::Start } else { AtModifier::End });
        }
        let seconds =
            self.signed_number("@").map_err(|_| self.unexpected(&token, Some("@"), Some("timestamp")))?;
        if !seconds.is_finite() || seconds.abs() * 1000.0 >= i64::MAX as f64 {
            return Err(self.error_at(&token, format!("timestamp out of bounds for @ modifier: {seconds}")));
        }
        Ok(AtModifier::Timestamp((seconds * 1000.0).round() as i64))
    }

    /// After `offset`: a sign and a literal, or (duration expressions) a parenthesised
    /// expression or a call.
    fn offset_operand(&mut self) -> Result<DurationExpr, ParseError> {
        let token = self.peek().clone();
        let ok = matches!(
            token.kind,
            Kind::Number | Kind::Duration | Kind::LeftParen | Kind::Sub | Kind::Add | Kind::Word
        );
        if !ok {
            return Err(self.unexpected(&token, Some("offset"), Some("number or duration")));
        }
        // One operand only: `x offset -2 ^ 2` is `(x offset -2) ^ 2`.
        let mut negative = false;
        while matches!(self.peek().kind, Kind::Add | Kind::Sub) {
            negative ^= self.advance().kind == Kind::Sub;
        }
        let operand = self.duration_primary()?;
        Ok(if negative { DurationExpr::Negate(Box::new(operand)) } else { operand })
    }

    fn set_offset(&self, expr: Expr, offset: DurationExpr, token: &Token) -> Result<Expr, ParseError> {
        self.set_modifier(expr, token, "offset", "offset may not be set multiple times", |slots| {
            fill(slots.offset, offset)
        })
    }

    fn set_at(&self, expr: Expr, at: AtModifier, token: &Token) -> Result<Expr, ParseError> {
        self.set_modifier(expr, token, "@", "@ <timestamp> may not be set multiple times", |slots| {
            fill(slots.at, at)
        })
    }

    /// Sets `offset` or `@` on the selector or subquery `expr` (`set` fills the slot and says
    /// whether it was empty); anything else is an error, as a slot set twice is.
    fn set_modifier(
        &self,
        mut expr: Expr,
        token: &Token,
        name: &str,
        twice: &str,
        set: impl FnOnce(ModifierSlots<'_>) -> bool,
    ) -> Result<Expr, ParseError> {
        let end = self.tokens[self.pos - 1].end;
        let (slots, span) = match &mut expr {
            Expr::VectorSelector(vs) => (ModifierSlots { offset: &mut vs.offset, at: &mut vs.at }, &mut vs.span),
            Expr::MatrixSelector(ms) => {
                (ModifierSlots { offset: &mut ms.selector.offset, at: &mut ms.selector.at }, &mut ms.span)
            }
            Expr::Subquery(sq) => (ModifierSlots { offset: &mut sq.offset, at: &mut sq.at }, &mut sq.span),
            other => {
                return Err(self.error_span(
                    other.span(),
                    format!(
                        "{name} modifier must be preceded by an instant vector selector or range vector selector or a subquery"
                    ),
                ))
            }
        };
        span.end = end;
        if !set(slots) {
            return Err(self.error_at(token, twice.into()));
        }
        Ok(expr)
    }

    fn set_range_modifier(
        &self,
        expr: Expr,
        modifier: RangeModifier,
        token: &Token,
    ) -> Result<Expr, ParseError> {
        let word = if modifier == RangeModifier::Anchored { "anchored" } else { "smoothed" };
        Ok(match expr {
            Expr::VectorSelector(mut vs) if vs.modifier.is_none() => {
                vs.modifier = Some(modifier);
                vs.span.end = token.end;
                Expr::VectorSelector(vs)
            }
            Expr::MatrixSelector(mut ms) if ms.selector.modifier.is_none() => {
                ms.selector.modifier = Some(modifier);
                ms.span.end = token.end;
                Expr::MatrixSelector(ms)
            }
            Expr::Subquery(_) => {
                return Err(self.error_at(token, format!("{word} modifier is not supported for subqueries")))
            }
            _ => {
                return Err(
                    self.error_at(token, format!("{word} modifier must follow a vector or range selector"))
                )
            }
        })
    }

    // --- durations ----------------------------------------------------------------------

    fn duration_expr(&mut self, min_precedence: u8) -> Result<DurationExpr, ParseError> {
        let mut lhs = self.duration_unary()?;
        loop {
            let (op, precedence) = match self.peek().kind {
                Kind::Add => (DurationOp::Add, 1),
                Kind::Sub => (DurationOp::Sub, 1),
                Kind::Mul => (DurationOp::Mul, 2),
                Kind::Div => (DurationOp::Div, 2),
                Kind::Mod => (DurationOp::Mod, 2),
                Kind::Pow => (DurationOp::Pow, 4),
                _ => break,
            };
            if precedence < min_precedence {
                break;
            }
            self.advance();
            let next = if op == DurationOp::Pow { precedence } else { precedence + 1 };
            let rhs = self.duration_expr(next)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    /// A duration operand with its signs: a sign binds looser than `^` (`-2^2` is −4).
    fn duration_unary(&mut self) -> Result<DurationExpr, ParseError> {
        match self.peek().kind {
            Kind::Sub => {
                self.advance();
                let operand = self.duration_expr(3)?;
                Ok(DurationExpr::Negate(Box::new(operand)))
            }
            Kind::Add => {
                self.advance();
                self.duration_expr(3)
            }
            _ => self.duration_primary(),
        }
    }

    fn duration_primary(&mut self) -> Result<DurationExpr, ParseError> {
        let token = self.advance();
        match token.kind {
            Kind::Duration => duration_ms(&token.text)
                .map(DurationExpr::Millis)
                .ok_or_else(|| self.error_at(&token, format!("duration out of range: {:?}", token.text))),
            Kind::Number => match parse_number(&token.text) {
                Some(seconds) if (seconds * 1000.0).abs() < i64::MAX as f64 => {
                    Ok(DurationExpr::Seconds(seconds))
                }
                Some(_) => Err(self.error_at(&token, format!("duration out of range: {:?}", token.text))),
                None => {
                    Err(self.error_at(&token, format!("bad number or duration syntax: {:?}", token.text)))
                }
            },
            Kind::LeftParen => {
                self.nest()?;
                let inner = self.duration_expr(0)?;
                self.unnest();
                self.expect(Kind::RightParen, "duration expression", "\")\"")?;
                Ok(DurationExpr::Paren(Box::new(inner)))
            }
            Kind::Word if self.peek().kind == Kind::LeftParen => {
                let name = token.text.to_ascii_lowercase();
                self.advance();
                let result = match name.as_str() {
                    "step" => DurationExpr::Step,
                    "range" => DurationExpr::Range,
                    "min_of" | "max_of" => {
                        let a = self.duration_expr(0)?;
                        self.expect(Kind::Comma, "duration expression", "\",\"")?;
                        let b = self.duration_expr(0)?;
                        let (a, b) = (Box::new(a), Box::new(b));
                        if name == "min_of" {
                            DurationExpr::MinOf(a, b)
                        } else {
                            DurationExpr::MaxOf(a, b)
                        }
                    }
                    _ => return Err(self.unexpected(&token, Some("duration expression"), Some("duration"))),
                };
                self.expect(Kind::RightParen, "duration expression", "\")\"")?;
                Ok(result)
            }
            _ => Err(self.unexpected(&token, Some("duration expression"), Some("number or duration"))),
        }
    }
}

/// Puts `value` in an empty `slot`; `false` if it held one already.
fn fill<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(value);
    true
}

/// The `offset` and `@` of a selector or subquery, to be set.
struct ModifierSlots<'a> {
    offset: &'a mut Option<DurationExpr>,
    at: &'a mut Option<AtModifier>,
}

/// The binary operator a token is, if it is one.
fn binary_op(token: &Token) -> Option<BinaryOp> {
    Some(match token.kind {
        Kind::Add => BinaryOp::Add,
        Kind::Sub => BinaryOp::Sub,
        Kind::Mul => BinaryOp::Mul,
        Kind::Div => BinaryOp::Div,
        Kind::Mod => BinaryOp::Mod,
        Kind::Pow => BinaryOp::Pow,
        Kind::EqlC => BinaryOp::Eql,
        Kind::Neq => BinaryOp::Neq,
        Kind::Lss => BinaryOp::Lss,
        Kind::Lte => BinaryOp::Lte,
        Kind::Gtr => BinaryOp::Gtr,
        Kind::Gte => BinaryOp::Gte,
        Kind::TrimUpper => BinaryOp::TrimUpper,
        Kind::TrimLower => BinaryOp::TrimLower,
        Kind::Word if token.is_word("and") => BinaryOp::And,
        Kind::Word if token.is_word("or") => BinaryOp::Or,
        Kind::Word if token.is_word("unless") => BinaryOp::Unless,
        Kind::Word if token.is_word("atan2") => BinaryOp::Atan2,
        _ => return None,
    })
}

/// Whether a word may name a label (no `:`, which only metric names may hold).
fn is_label_name(word: &str) -> bool {
    !word.contains(':')
}

/// A number as Prometheus reads one: Go's `ParseInt` with base 0 first (hexadecimal, octal
/// with a leading 0), then `ParseFloat`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if text.len() > 1 && text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = i64::from_str_radix(&text[1..], 8) {
            return Some(v as f64);
        }
    }
    text.parse::<f64>().ok()
}
