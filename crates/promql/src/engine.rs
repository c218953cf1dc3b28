//! The query engine's front door: options, instant and range queries, errors, and what a
//! query returns beside its value (warnings and infos, as Prometheus' annotations).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::eval::{evaluate, QueryContext};
use crate::{parse, Expr, QueryBounds, Queryable, Value};
use strata_promql_syntax::ast::{resolve_duration, DurationExpr};

/// Engine settings; the defaults are those of a Prometheus server.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5 m).
    pub lookback_delta_ms: i64,
    /// Most samples a query may load from storage (Prometheus' `--query.max-samples`).
    pub max_samples: usize,
    /// Longest a query may run.
    pub timeout: Duration,
    /// Step of a subquery written without one (Prometheus: the global evaluation interval).
    pub default_subquery_step_ms: i64,
    /// Keep `__name__` on intermediate results and drop it only from the final result
    /// (Prometheus' `promql-delayed-name-removal` feature).
    pub delayed_name_removal: bool,
    /// Allow functions Prometheus marks experimental (`promql-experimental-functions`).
    pub experimental_functions: bool,
    /// Read duration arithmetic in ranges and offsets (`promql-duration-expr`).
    pub duration_expressions: bool,
    /// Read the `anchored` and `smoothed` selector modifiers
    /// (`promql-extended-range-selectors`).
    pub extended_range_selectors: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60 * 1000,
            delayed_name_removal: false,
            experimental_functions: false,
            duration_expressions: false,
            extended_range_selectors: false,
        }
    }
}

impl EngineOptions {
    /// The settings Prometheus' conformance scripts assume
    /// (../shared/specs/promql-conformance-notes.md, section 4).
    pub fn conformance() -> Self {
        EngineOptions {
            delayed_name_removal: true,
            experimental_functions: true,
            duration_expressions: true,
            extended_range_selectors: true,
            ..Self::default()
        }
    }
}

impl EngineOptions {
    /// Turns on a feature by its Prometheus `--enable-feature` name; false for a name it does
    /// not know. `promql-binop-fill-modifiers` is part of the experimental set here.
    pub fn enable_feature(&mut self, name: &str) -> bool {
        match name {
            "promql-experimental-functions" | "promql-binop-fill-modifiers" => {
                self.experimental_functions = true
            }
            "promql-delayed-name-removal" => self.delayed_name_removal = true,
            "promql-duration-expr" => self.duration_expressions = true,
            "promql-extended-range-selectors" => self.extended_range_selectors = true,
            _ => return false,
        }
        true
    }
}

/// Why a query failed. The messages are Prometheus' where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query does not parse or is not valid (Prometheus' `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (Prometheus' `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was cancelled.
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// The query would load more samples than allowed.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// Storage failed while reading.
    #[error("storage error: {0}")]
    Storage(String),
}

impl QueryError {
    /// Prometheus' `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::BadData(_) => "bad_data",
            QueryError::Execution(_) | QueryError::TooManySamples(_) => "execution",
            QueryError::Timeout(_) => "timeout",
            QueryError::Canceled(_) => "canceled",
            QueryError::Storage(_) => "internal",
        }
    }
}

/// A query's value with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warnings (`PromQL warning: …`): the result may be wrong.
    pub warnings: Vec<String>,
    /// Infos (`PromQL info: …`): the result may be surprising.
    pub infos: Vec<String>,
    /// Samples read from storage (a rollup window read counts as one).
    pub samples_loaded: usize,
    /// Where range functions read their steps from, when rollup tiers answered some
    /// (empty when everything came from raw samples).
    pub route: Vec<RoutedSegment>,
}

/// A run of steps of one range function and the source that answered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedSegment {
    /// The function (`avg_over_time`).
    pub function: String,
    /// The tier's resolution (ms), or `None` for raw samples.
    pub resolution: Option<i64>,
    /// Whether the answer equals the raw one (within the documented precision).
    pub exact: bool,
    /// First and last step (ms).
    pub start: i64,
    pub end: i64,
    pub steps: usize,
    /// Samples (raw) or windows (tier) read.
    pub points: usize,
}

/// When a range query is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First step (ms).
    pub start: i64,
    /// Last step (ms, inclusive when on the grid).
    pub end: i64,
    /// Step (ms, > 0).
    pub step: i64,
}

impl Range {
    /// Its step and length, as `step()` and `range()` give them.
    pub fn bounds(&self) -> QueryBounds {
        QueryBounds { step_ms: self.step, range_ms: self.end - self.start }
    }
}

/// The PromQL engine: stateless apart from its options.
#[derive(Debug, Clone, Default)]
pub struct QueryEngine {
    options: EngineOptions,
}

impl QueryEngine {
    /// An engine with these options.
    pub fn new(options: EngineOptions) -> Self {
        QueryEngine { options }
    }

    /// Its options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Parses `query` for a query with these bounds (what `step()` and `range()` give in
    /// duration arithmetic, when the options allow it; [`QueryBounds::default`] for an
    /// instant query).
    pub fn parse(&self, query: &str, bounds: QueryBounds) -> Result<Expr, QueryError> {
        let mut expr = parse(query).map_err(|e| QueryError::BadData(e.0))?;
        self.refuse_disabled_modifiers(&expr)?;
        // Duration expressions are worked out once, for this query's step and range (or
        // refused when the feature is off), in one pass over the tree's durations.
        let enabled = self.options.duration_expressions;
        let mut bad = None;
        expr.durations_mut(&mut |d| {
            if bad.is_some() || !d.is_expression() {
                return;
            }
            if !enabled {
                bad = Some(
                    "duration expressions are experimental and not enabled (--enable-feature=promql-duration-expr)"
                        .to_string(),
                );
                return;
            }
            match resolve_duration(d, bounds.step_ms, bounds.range_ms) {
                Some(ms) => *d = DurationExpr::Millis(ms),
                None => bad = Some("a duration expression does not give a finite duration".to_string()),
            }
        });
        match bad {
            Some(message) => Err(QueryError::BadData(message)),
            None => Ok(expr),
        }
    }

    /// Refuses the `anchored`/`smoothed` modifiers when this engine has Prometheus' feature
    /// flag for them off (experimental functions and `fill` modifiers are refused where they
    /// are evaluated, duration expressions by [`QueryEngine::parse`]).
    fn refuse_disabled_modifiers(&self, expr: &Expr) -> Result<(), QueryError> {
        if self.options.extended_range_selectors {
            return Ok(());
        }
        let mut refusal = None;
        expr.walk(&mut |node| {
            let selector = match node {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.selector),
                _ => None,
            };
            if let Some(modifier) = selector.and_then(|vs| vs.modifier) {
                refusal.get_or_insert(format!(
                    "{} modifier is experimental and not enabled (--enable-feature=promql-extended-range-selectors)",
                    modifier.keyword()
                ));
            }
        });
        match refusal {
            Some(message) => Err(QueryError::BadData(message)),
            None => Ok(()),
        }
    }

    /// Evaluates `query` at time `t` (ms).
    pub fn instant(&self, store: &dyn Queryable, query: &str, t: i64) -> Result<QueryResult, QueryError> {
        let expr = self.parse(query, QueryBounds::default())?;
        self.instant_expr(store, &expr, t, None)
    }

    /// Evaluates `query` at every step of `range`.
    pub fn range(&self, store: &dyn Queryable, query: &str, range: Range) -> Result<QueryResult, QueryError> {
        let expr = self.parse(query, range.bounds())?;
        self.range_expr(store, &expr, range, None)
    }

    /// Evaluates a parsed expression at one time; `cancel` set to true stops it.
    pub fn instant_expr(
        &self,
        store: &dyn Queryable,
        expr: &Expr,
        t: i64,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<QueryResult, QueryError> {
        self.run(store, expr, Range { start: t, end: t, step: 1 }, true, cancel)
    }

    /// Evaluates a parsed expression over a range; `cancel` set to true stops it.
    pub fn range_expr(
        &self,
        store: &dyn Queryable,
        expr: &Expr,
        range: Range,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<QueryResult, QueryError> {
        if range.step <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .into(),
            ));
        }
        if range.end < range.start {
            return Err(QueryError::BadData("end timestamp must not be before start time".into()));
        }
        self.run(store, expr, range, false, cancel)
    }

    fn run(
        &self,
        store: &dyn Queryable,
        expr: &Expr,
        range: Range,
        instant: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<QueryResult, QueryError> {
        let ctx =
            QueryContext::new(&self.options, range, instant, Instant::now() + self.options.timeout, cancel);
        let value = evaluate(store, &ctx, expr, instant)?;
        let (warnings, infos) = ctx.take_annotations();
        Ok(QueryResult {
            value,
            warnings,
            infos,
            samples_loaded: ctx.samples_loaded(),
            route: ctx.take_route(),
        })
    }
}
