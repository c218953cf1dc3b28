//! The syntax tree: every construct of Prometheus 3's PromQL in one tree — trim operators,
//! duration expressions, `anchored`/`smoothed`, `fill` modifiers, `start()`/`end()` at
//! modifiers — with no construct carried in reserved labels. Each node keeps its byte span
//! for error positions.

/// Bytes `[start, end)` of the query a node was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end }
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(NumberLiteral),
    String(StringLiteral),
    Paren(ParenExpr),
    Unary(UnaryExpr),
    Binary(BinaryExpr),
    Aggregate(AggregateExpr),
    Call(Call),
    VectorSelector(VectorSelector),
    MatrixSelector(MatrixSelector),
    Subquery(SubqueryExpr),
}

/// What an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    InstantVector,
    RangeVector,
    String,
}

impl ValueType {
    /// The name Prometheus' error messages use.
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::InstantVector => "instant vector",
            ValueType::RangeVector => "range vector",
            ValueType::String => "string",
        }
    }
}

impl Expr {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(n) => n.span,
            Expr::String(s) => s.span,
            Expr::Paren(p) => p.span,
            Expr::Unary(u) => u.span,
            Expr::Binary(b) => b.span,
            Expr::Aggregate(a) => a.span,
            Expr::Call(c) => c.span,
            Expr::VectorSelector(v) => v.span,
            Expr::MatrixSelector(m) => m.span,
            Expr::Subquery(s) => s.span,
        }
    }

    /// What the expression evaluates to.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::Paren(p) => p.expr.value_type(),
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Binary(b) => match (b.lhs.value_type(), b.rhs.value_type()) {
                (ValueType::Scalar, ValueType::Scalar) => ValueType::Scalar,
                _ => ValueType::InstantVector,
            },
            Expr::Aggregate(_) | Expr::VectorSelector(_) => ValueType::InstantVector,
            Expr::Call(c) => {
                crate::functions::function(&c.func).map_or(ValueType::InstantVector, |f| f.returns)
            }
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::RangeVector,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    pub value: f64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParenExpr {
    pub expr: Box<Expr>,
    pub span: Span,
}

/// `-x` or `+x` (a sign on a number literal is folded into the literal).
#[derive(Debug, Clone, PartialEq)]
pub struct UnaryExpr {
    pub negative: bool,
    pub expr: Box<Expr>,
    pub span: Span,
}

/// Binary operators, by precedence from loosest: `or`; `and` `unless`; comparisons; `+`
/// `-`; `*` `/` `%` `atan2` and the trim operators; `^` (the only right-associative one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Unless,
    Eql,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Atan2,
    TrimUpper,
    TrimLower,
    Pow,
}

impl BinaryOp {
    /// How tightly the operator binds (higher binds tighter).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Lss | BinaryOp::Lte | BinaryOp::Gtr | BinaryOp::Gte => {
                3
            }
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Mod
            | BinaryOp::Atan2
            | BinaryOp::TrimUpper
            | BinaryOp::TrimLower => 5,
            BinaryOp::Pow => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Lss | BinaryOp::Lte | BinaryOp::Gtr | BinaryOp::Gte
        )
    }

    pub fn is_set_operator(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }

    /// How the operator is written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Unless => "unless",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Lss => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gtr => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::TrimUpper => "</",
            BinaryOp::TrimLower => ">/",
            BinaryOp::Pow => "^",
        }
    }
}

/// How the two sides of a vector/vector operation pair up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// `on`/`ignoring`, `group_left`/`group_right` and `fill` of a binary operation between two
/// instant vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// `on(…)` (true) or `ignoring(…)` (false, also when neither is written).
    pub on: bool,
    /// The labels of `on`/`ignoring`.
    pub labels: Vec<String>,
    /// Whether `on`/`ignoring` was written (`on()` matches everything, no clause nothing).
    pub labels_given: bool,
    /// The labels `group_left`/`group_right` copy from the "one" side.
    pub include: Vec<String>,
    /// The experimental `fill` modifiers: what stands in for a missing left or right side.
    pub fill_left: Option<f64>,
    pub fill_right: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    /// The `bool` modifier of a comparison.
    pub return_bool: bool,
    /// Set when both sides are instant vectors.
    pub matching: Option<VectorMatching>,
    pub span: Span,
}

/// `sum by (job) (x)`, `topk(3, x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateExpr {
    /// The operator, lower case.
    pub op: String,
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `bottomk`, `quantile`, `count_values`, `limitk`, `limit_ratio`.
    pub param: Option<Box<Expr>>,
    /// `by` (false) or `without` (true) labels.
    pub grouping: Vec<String>,
    pub without: bool,
    pub span: Span,
}

/// A function call; `func` is the name as written (functions are case-sensitive).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: String,
    pub args: Vec<Expr>,
    pub span: Span,
}

/// A label matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// The `@` modifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtModifier {
    /// `@ <unix seconds>`, in milliseconds.
    Timestamp(i64),
    /// `@ start()`.
    Start,
    /// `@ end()`.
    End,
}

/// How a range selector reads the samples at its window's edges (Prometheus' experimental
/// extended range selectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeModifier {
    Anchored,
    Smoothed,
}

impl RangeModifier {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RangeModifier::Anchored => "anchored",
            RangeModifier::Smoothed => "smoothed",
        }
    }
}

/// A duration where one is written: a literal, or (Prometheus' experimental duration
/// expressions) arithmetic over literals, `step()` and `range()`, worked out per query.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// Milliseconds.
    Millis(i64),
    /// The query's step (0 for an instant query).
    Step,
    /// The query's range, `end − start` (0 for an instant query).
    Range,
    /// A number of seconds written bare inside an expression (`60*30`).
    Seconds(f64),
    Negate(Box<DurationExpr>),
    Binary(DurationOp, Box<DurationExpr>, Box<DurationExpr>),
    MinOf(Box<DurationExpr>, Box<DurationExpr>),
    MaxOf(Box<DurationExpr>, Box<DurationExpr>),
    Paren(Box<DurationExpr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// `name{matchers} offset … @ … anchored`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces, if any.
    pub name: Option<String>,
    /// The matchers in braces (a name written before them is not among them).
    pub matchers: Vec<LabelMatcher>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    pub modifier: Option<RangeModifier>,
    pub span: Span,
}

/// `selector[range]`: the selector's offset and `@` are written after the brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    pub range: DurationExpr,
    pub span: Span,
}

/// `expr[range:step] offset … @ …`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubqueryExpr {
    pub expr: Box<Expr>,
    pub range: DurationExpr,
    pub step: Option<DurationExpr>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    pub span: Span,
}

/// A duration expression worked out for a query with this step and range (ms; both 0 for
/// an instant query), in milliseconds: arithmetic is in seconds, as Prometheus does it, and
/// the result is rounded to the millisecond. `None` if it is not a finite number.
pub fn resolve_duration(d: &DurationExpr, step_ms: i64, range_ms: i64) -> Option<i64> {
    let seconds = duration_seconds(d, step_ms, range_ms);
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms.abs() < i64::MAX as f64).then_some(ms as i64)
}

fn duration_seconds(d: &DurationExpr, step_ms: i64, range_ms: i64) -> f64 {
    let s = |d: &DurationExpr| duration_seconds(d, step_ms, range_ms);
    match d {
        DurationExpr::Millis(ms) => *ms as f64 / 1000.0,
        DurationExpr::Seconds(v) => *v,
        DurationExpr::Step => step_ms as f64 / 1000.0,
        DurationExpr::Range => range_ms as f64 / 1000.0,
        DurationExpr::Negate(inner) => -s(inner),
        DurationExpr::Paren(inner) => s(inner),
        DurationExpr::MinOf(a, b) => s(a).min(s(b)),
        DurationExpr::MaxOf(a, b) => s(a).max(s(b)),
        DurationExpr::Binary(op, a, b) => {
            let (a, b) = (s(a), s(b));
            match op {
                DurationOp::Add => a + b,
                DurationOp::Sub => a - b,
                DurationOp::Mul => a * b,
                DurationOp::Div => a / b,
                DurationOp::Mod => a % b,
                DurationOp::Pow => a.powf(b),
            }
        }
    }
}

impl Expr {
    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
            Expr::Paren(p) => p.expr.walk(f),
            Expr::Unary(u) => u.expr.walk(f),
            Expr::Binary(b) => {
                b.lhs.walk(f);
                b.rhs.walk(f);
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    p.walk(f);
                }
                a.expr.walk(f);
            }
            Expr::Call(c) => c.args.iter().for_each(|a| a.walk(f)),
            Expr::Subquery(s) => s.expr.walk(f),
        }
    }

    /// Calls `f` on every duration of the tree: ranges, subquery steps, offsets.
    pub fn durations_mut(&mut self, f: &mut dyn FnMut(&mut DurationExpr)) {
        match self {
            Expr::Number(_) | Expr::String(_) => {}
            Expr::VectorSelector(vs) => vs.offset.iter_mut().for_each(f),
            Expr::MatrixSelector(ms) => {
                f(&mut ms.range);
                ms.selector.offset.iter_mut().for_each(f);
            }
            Expr::Paren(p) => p.expr.durations_mut(f),
            Expr::Unary(u) => u.expr.durations_mut(f),
            Expr::Binary(b) => {
                b.lhs.durations_mut(f);
                b.rhs.durations_mut(f);
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &mut a.param {
                    p.durations_mut(f);
                }
                a.expr.durations_mut(f);
            }
            Expr::Call(c) => c.args.iter_mut().for_each(|a| a.durations_mut(f)),
            Expr::Subquery(s) => {
                s.expr.durations_mut(f);
                f(&mut s.range);
                s.step.iter_mut().for_each(&mut *f);
                s.offset.iter_mut().for_each(f);
            }
        }
    }
}

impl DurationExpr {
    /// Whether this is more than a literal (Prometheus' experimental duration expressions:
    /// arithmetic, `step()`, `range()`, `min_of`, `max_of`).
    pub fn is_expression(&self) -> bool {
        match self {
            DurationExpr::Millis(_) | DurationExpr::Seconds(_) => false,
            DurationExpr::Negate(inner) => inner.is_expression(),
            _ => true,
        }
    }

    /// The duration in milliseconds once worked out ([`resolve_duration`] for a query
    /// without step or range if it is still an expression).
    pub fn millis(&self) -> i64 {
        match self {
            DurationExpr::Millis(ms) => *ms,
            other => resolve_duration(other, 0, 0).unwrap_or(0),
        }
    }
}
