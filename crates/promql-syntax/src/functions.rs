//! PromQL's functions: argument types, how many arguments, what they return, and which are
//! Prometheus' experimental ones (behind `--enable-feature=promql-experimental-functions`).

use crate::ast::ValueType;

/// One function's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    /// The argument types; the last repeats for the extra arguments [`Variadic`] allows.
    pub args: &'static [ValueType],
    pub variadic: Variadic,
    pub returns: ValueType,
    pub experimental: bool,
}

/// How many arguments past the fixed ones a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variadic {
    /// Exactly `args.len()`.
    Exact,
    /// The last argument is optional and may repeat: `args.len() - 1` to `args.len() - 1 + n`.
    UpTo(usize),
    /// `args.len() - 1` or more.
    Unlimited,
}

const V: ValueType = ValueType::InstantVector;
const M: ValueType = ValueType::RangeVector;
const S: ValueType = ValueType::Scalar;
const T: ValueType = ValueType::String;
use Variadic::{Exact, Unlimited, UpTo};

const fn f(
    name: &'static str,
    args: &'static [ValueType],
    variadic: Variadic,
    returns: ValueType,
    experimental: bool,
) -> Function {
    Function { name, args, variadic, returns, experimental }
}

/// Every function, by name.
pub const FUNCTIONS: &[Function] = &[
    f("abs", &[V], Exact, V, false),
    f("absent", &[V], Exact, V, false),
    f("absent_over_time", &[M], Exact, V, false),
    f("acos", &[V], Exact, V, false),
    f("acosh", &[V], Exact, V, false),
    f("asin", &[V], Exact, V, false),
    f("asinh", &[V], Exact, V, false),
    f("atan", &[V], Exact, V, false),
    f("atanh", &[V], Exact, V, false),
    f("avg_over_time", &[M], Exact, V, false),
    f("ceil", &[V], Exact, V, false),
    f("changes", &[M], Exact, V, false),
    f("clamp", &[V, S, S], Exact, V, false),
    f("clamp_max", &[V, S], Exact, V, false),
    f("clamp_min", &[V, S], Exact, V, false),
    f("cos", &[V], Exact, V, false),
    f("cosh", &[V], Exact, V, false),
    f("count_over_time", &[M], Exact, V, false),
    f("day_of_month", &[V], UpTo(1), V, false),
    f("day_of_week", &[V], UpTo(1), V, false),
    f("day_of_year", &[V], UpTo(1), V, false),
    f("days_in_month", &[V], UpTo(1), V, false),
    f("deg", &[V], Exact, V, false),
    f("delta", &[M], Exact, V, false),
    f("deriv", &[M], Exact, V, false),
    f("double_exponential_smoothing", &[M, S, S], Exact, V, true),
    f("end", &[], Exact, S, true),
    f("exp", &[V], Exact, V, false),
    f("first_over_time", &[M], Exact, V, false),
    f("floor", &[V], Exact, V, false),
    f("histogram_avg", &[V], Exact, V, false),
    f("histogram_count", &[V], Exact, V, false),
    f("histogram_fraction", &[S, S, V], Exact, V, false),
    f("histogram_quantile", &[S, V], Exact, V, false),
    f("histogram_quantiles", &[V, T, S, S], UpTo(9), V, true),
    f("histogram_stddev", &[V], Exact, V, false),
    f("histogram_stdvar", &[V], Exact, V, false),
    f("histogram_sum", &[V], Exact, V, false),
    f("hour", &[V], UpTo(1), V, false),
    f("idelta", &[M], Exact, V, false),
    f("increase", &[M], Exact, V, false),
    f("info", &[V, V], UpTo(1), V, true),
    f("integral", &[M, S], UpTo(1), V, true),
    f("irate", &[M], Exact, V, false),
    f("label_join", &[V, T, T, T], Unlimited, V, false),
    f("label_replace", &[V, T, T, T, T], Exact, V, false),
    f("last_over_time", &[M], Exact, V, false),
    f("ln", &[V], Exact, V, false),
    f("log10", &[V], Exact, V, false),
    f("log2", &[V], Exact, V, false),
    f("mad_over_time", &[M], Exact, V, true),
    f("max_of", &[S, S], Exact, S, true),
    f("max_over_time", &[M], Exact, V, false),
    f("min_of", &[S, S], Exact, S, true),
    f("min_over_time", &[M], Exact, V, false),
    f("minute", &[V], UpTo(1), V, false),
    f("month", &[V], UpTo(1), V, false),
    f("pi", &[], Exact, S, false),
    f("predict_linear", &[M, S], Exact, V, false),
    f("present_over_time", &[M], Exact, V, false),
    f("quantile_over_time", &[S, M], Exact, V, false),
    f("rad", &[V], Exact, V, false),
    f("range", &[], Exact, S, true),
    f("rate", &[M], Exact, V, false),
    f("resets", &[M], Exact, V, false),
    f("round", &[V, S], UpTo(1), V, false),
    f("scalar", &[V], Exact, S, false),
    f("sgn", &[V], Exact, V, false),
    f("sin", &[V], Exact, V, false),
    f("sinh", &[V], Exact, V, false),
    f("sort", &[V], Exact, V, false),
    f("sort_by_label", &[V, T], Unlimited, V, true),
    f("sort_by_label_desc", &[V, T], Unlimited, V, true),
    f("sort_desc", &[V], Exact, V, false),
    f("sqrt", &[V], Exact, V, false),
    f("start", &[], Exact, S, true),
    f("start_timestamp", &[V], Exact, V, true),
    f("stddev_over_time", &[M], Exact, V, false),
    f("stdvar_over_time", &[M], Exact, V, false),
    f("step", &[], Exact, S, true),
    f("sum_over_time", &[M], Exact, V, false),
    f("tan", &[V], Exact, V, false),
    f("tanh", &[V], Exact, V, false),
    f("time", &[], Exact, S, false),
    f("timestamp", &[V], Exact, V, false),
    f("ts_of_first_over_time", &[M], Exact, V, true),
    f("ts_of_last_over_time", &[M], Exact, V, true),
    f("ts_of_max_over_time", &[M], Exact, V, true),
    f("ts_of_min_over_time", &[M], Exact, V, true),
    f("vector", &[S], Exact, V, false),
    f("year", &[V], UpTo(1), V, false),
];

/// The function called `name` (case-sensitive, as in Prometheus).
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_is_sorted_for_the_search() {
        assert!(super::FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(super::function("rate").unwrap().args, [super::M]);
        assert!(super::function("Rate").is_none());
    }
}
