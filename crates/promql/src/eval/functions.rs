//! Function calls: argument evaluation, the type rules the parser leaves to us, and the
//! functions over instant vectors and scalars. Range-vector functions are in
//! `range_functions`, `histogram_quantile` in `histogram`.

use regex::Regex;
use strata_model::{Labels, MatchOp, METRIC_NAME_LABEL};
use strata_promql_syntax::ast::{Call, Expr};

use super::selector::convert_matcher;
use super::steps::{self, OutputBuilder};
use super::{extended_range, range_functions, Evaluator, StepSeries, Val};
use crate::engine::QueryError;
use crate::go_float::{format_g, go_max, go_min};
use crate::go_quote::{go_quote, is_raw_byte};

impl Evaluator<'_> {
    pub(crate) fn call(&self, call: &Call) -> Result<Val, QueryError> {
        let name = call.func.as_str();
        let experimental = strata_promql_syntax::functions::function(name).is_some_and(|f| f.experimental);
        if experimental && !self.ctx.options().experimental_functions {
            return Err(QueryError::BadData(format!("function \"{name}\" is not enabled")));
        }
        let args: Vec<&Expr> = call.args.iter().collect();
        extended_range::check_allowed(name, &args)?;
        if let Some(func) = range_functions::lookup(name) {
            return self.call_range_function(name, &args, func);
        }
        let n = self.step_count();
        match name {
            "time" => Ok(Val::Scalar(self.step_times().map(|t| t as f64 / 1000.0).collect())),
            "start" | "end" | "step" | "range" => Ok(Val::Scalar(vec![self.query_bound(name); n])),
            "min_of" | "max_of" => {
                let (a, b) = (self.eval_scalar(args[0])?, self.eval_scalar(args[1])?);
                let f = if name == "min_of" { go_min } else { go_max };
                Ok(Val::Scalar(a.into_iter().zip(b).map(|(a, b)| f(a, b)).collect()))
            }
            "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            "vector" => {
                let values = self.eval_scalar(args[0])?;
                let points = self.step_times().zip(values).collect();
                Ok(Val::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    points,
                    drop_name: false,
                    histograms: Vec::new(),
                }]))
            }
            "scalar" => self.scalar_of(args[0]),
            "timestamp" => self.timestamp(args[0]),
            "start_timestamp" => self.start_timestamp(args[0]),
            "absent" => self.absent(args[0]),
            "absent_over_time" => self.absent_over_time(args[0]),
            "label_replace" => self.label_replace(&args),
            "label_join" => self.label_join(&args),
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => self.sort(name, &args),
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                let input = self.eval_vector(args[0])?;
                Ok(Val::Vector(self.histogram_property(name, input)))
            }
            "histogram_quantile" => self.histogram_quantile(args[0], args[1]),
            "histogram_quantiles" => self.histogram_quantiles(&args),
            "info" => self.info(&args),
            "histogram_fraction" => self.histogram_fraction(args[0], args[1], args[2]),
            "clamp" | "clamp_min" | "clamp_max" | "round" => self.clamp_or_round(name, &args),
            "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
            | "month" | "year" => self.date_function(name, args.first().copied()),
            _ => match elementwise(name) {
                Some(f) => self.map_values(args[0], |v, _| f(v)),
                None => Err(QueryError::BadData(format!("function \"{name}\" is not supported"))),
            },
        }
    }

    fn call_range_function(
        &self,
        name: &str,
        args: &[&Expr],
        func: range_functions::RangeFunction,
    ) -> Result<Val, QueryError> {
        let range_index = if name == "quantile_over_time" { 1 } else { 0 };
        let mut scalars = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if i != range_index {
                scalars.push(self.eval_scalar(arg)?);
            }
        }
        match name {
            "quantile_over_time" => self.check_quantile_param(&scalars[0]),
            "double_exponential_smoothing" => check_smoothing_factors(&scalars)?,
            _ => {}
        }
        if let Expr::MatrixSelector(ms) = unwrap_parens(args[range_index]) {
            let out = self.range_function_of_selector(name, ms, func, &scalars)?;
            return self.distinct_range_result(out);
        }
        let input = match self.eval(args[range_index])? {
            Val::Range(r) => r,
            other => {
                return Err(QueryError::BadData(format!(
                    "expected type range vector in call to function \"{name}\", got {}",
                    other.type_name()
                )))
            }
        };
        if matches!(name, "rate" | "increase") {
            self.note_non_counter(input.series.iter().map(|s| &s.labels));
        }
        let out = self.apply_range_function(name, input, func, &scalars)?;
        self.distinct_range_result(out)
    }

    /// A range function's result may not hold two series with the same labels, at any
    /// steps: Prometheus checks its whole matrix, not step by step as it does for instant
    /// functions, whose equal series are merged when their steps differ. (With delayed name
    /// removal the names are still there, and the check is made on the final result.)
    fn distinct_range_result(&self, out: Vec<StepSeries>) -> Result<Val, QueryError> {
        if !self.ctx.options().delayed_name_removal && steps::has_same_labels(&out) {
            return Err(super::same_labelset());
        }
        Ok(Val::Vector(out))
    }

    /// `start()`, `end()`, `step()`, `range()`: the query's own bounds in seconds, the same
    /// at every step and inside subqueries; an instant query has no step and no range.
    fn query_bound(&self, name: &str) -> f64 {
        let range = self.ctx.range();
        let ms = match name {
            "start" => range.start,
            "end" => range.end,
            _ if self.ctx.is_instant() => 0,
            "step" => range.step,
            _ => range.end - range.start,
        };
        ms as f64 / 1000.0
    }

    /// Warns of each φ outside [0, 1] (NaN included) that a step uses, as Prometheus'
    /// quantile functions do at every step (equal warnings are one).
    pub(crate) fn check_quantile_param(&self, values: &[f64]) {
        for &q in values.iter().filter(|q| !(0.0..=1.0).contains(*q)) {
            self.ctx.warn(invalid_quantile(q));
        }
    }

    /// Applies `f(value, step index)` to every point; the metric name is dropped.
    fn map_values(&self, arg: &Expr, f: impl Fn(f64, usize) -> f64) -> Result<Val, QueryError> {
        let mut series = self.eval_vector(arg)?;
        for s in &mut series {
            for p in &mut s.points {
                p.1 = f(p.1, self.step_index(p.0));
            }
            // Math on a native histogram has no meaning: its points are left out.
            s.histograms.clear();
            self.drop_name(s);
        }
        series.retain(|s| !s.points.is_empty());
        Ok(Val::Vector(series))
    }

    fn scalar_of(&self, arg: &Expr) -> Result<Val, QueryError> {
        let series = self.eval_vector(arg)?;
        let mut values = vec![f64::NAN; self.step_count()];
        let mut counts = vec![0usize; self.step_count()];
        for s in &series {
            for &(t, v) in &s.points {
                let i = self.step_index(t);
                counts[i] += 1;
                values[i] = v;
            }
        }
        for (v, c) in values.iter_mut().zip(counts) {
            if c != 1 {
                *v = f64::NAN;
            }
        }
        Ok(Val::Scalar(values))
    }

    /// `timestamp(v)`: of a selector, the selected samples' own timestamps; of anything else,
    /// the evaluation time.
    fn timestamp(&self, arg: &Expr) -> Result<Val, QueryError> {
        let mut series = match unwrap_parens(arg) {
            Expr::VectorSelector(vs) => self.vector_selector(vs, true)?,
            other => {
                let mut series = self.eval_vector(other)?;
                for s in &mut series {
                    s.points.iter_mut().for_each(|p| p.1 = p.0 as f64 / 1000.0);
                }
                series
            }
        };
        for s in &mut series {
            self.drop_name(s);
        }
        Ok(Val::Vector(series))
    }

    /// The start time of each step's sample, in seconds, for a selector; an expression has
    /// lost its samples' start times, so it gives nothing (as in Prometheus).
    fn start_timestamp(&self, arg: &Expr) -> Result<Val, QueryError> {
        let Expr::VectorSelector(vs) = unwrap_parens(arg) else { return Ok(Val::Vector(Vec::new())) };
        let mut series = self.start_time_selector(vs)?;
        for s in &mut series {
            self.drop_name(s);
        }
        Ok(Val::Vector(series))
    }

    fn absent(&self, arg: &Expr) -> Result<Val, QueryError> {
        let series = self.eval_vector(arg)?;
        self.absent_result(arg, &series)
    }

    fn absent_over_time(&self, arg: &Expr) -> Result<Val, QueryError> {
        let input = match self.eval(arg)? {
            Val::Range(r) => r,
            other => return Err(type_error("absent_over_time", "range vector", &other)),
        };
        // Which windows hold a sample: present_over_time's answer.
        let present_over_time = range_functions::RangeFunction {
            f: |_, _| Some(1.0),
            keeps_name: true,
            counter_resets: false,
            warns_start_time_overlap: false,
        };
        let present = self.apply_range_function("present_over_time", input, present_over_time, &[])?;
        self.absent_result(arg, &present)
    }

    /// One series, valued 1 at the steps where nothing was present, labelled by the
    /// selector's equality matchers (a label matched twice is left out).
    fn absent_result(&self, arg: &Expr, input: &[StepSeries]) -> Result<Val, QueryError> {
        let mut present = vec![false; self.step_count()];
        for s in input {
            // A histogram sample is present as much as a float is.
            for t in s.points.iter().map(|p| p.0).chain(s.histograms.iter().map(|h| h.0)) {
                present[self.step_index(t)] = true;
            }
        }
        let points: Vec<(i64, f64)> =
            self.step_times().zip(present).filter(|(_, p)| !p).map(|(t, _)| (t, 1.0)).collect();
        if points.is_empty() {
            return Ok(Val::Vector(Vec::new()));
        }
        Ok(Val::Vector(vec![StepSeries {
            labels: absent_labels(arg)?,
            points,
            drop_name: false,
            histograms: Vec::new(),
        }]))
    }

    fn label_replace(&self, args: &[&Expr]) -> Result<Val, QueryError> {
        let dst = string_arg(args[1])?;
        let replacement = string_arg(args[2])?;
        let src = string_arg(args[3])?;
        let pattern = string_arg(args[4])?;
        let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
            QueryError::Execution(format!("invalid regular expression in label_replace(): {e}"))
        })?;
        if !valid_label_name(&dst) {
            return Err(QueryError::Execution(format!(
                "invalid destination label name in label_replace(): {}",
                go_quote(&dst)
            )));
        }
        let input = self.eval_vector(args[0])?;
        self.relabel(input, &dst, |labels| {
            let value = labels.get(&src).unwrap_or("");
            let caps = regex.captures(value)?;
            let mut out = String::new();
            caps.expand(&replacement, &mut out);
            Some(out)
        })
    }

    fn label_join(&self, args: &[&Expr]) -> Result<Val, QueryError> {
        let dst = string_arg(args[1])?;
        let separator = string_arg(args[2])?;
        let sources: Vec<String> = args[3..].iter().map(|a| string_arg(a)).collect::<Result<_, _>>()?;
        if !valid_label_name(&dst) {
            return Err(QueryError::Execution(format!(
                "invalid destination label name in label_join(): {}",
                go_quote(&dst)
            )));
        }
        let input = self.eval_vector(args[0])?;
        self.relabel(input, &dst, |labels| {
            Some(sources.iter().map(|s| labels.get(s).unwrap_or("")).collect::<Vec<_>>().join(&separator))
        })
    }

    /// Sets `dst` to what `value_for` gives (none: unchanged; empty: removed), merging
    /// series that end up with the same labels.
    fn relabel(
        &self,
        input: Vec<StepSeries>,
        dst: &str,
        value_for: impl Fn(&Labels) -> Option<String>,
    ) -> Result<Val, QueryError> {
        let mut out = OutputBuilder::default();
        for s in input {
            let mut labels = s.labels.clone();
            let mut drop_name = s.drop_name;
            if let Some(value) = value_for(&s.labels) {
                labels.set(dst, &value);
                if dst == METRIC_NAME_LABEL {
                    drop_name = false;
                }
            }
            let i = out.series_for(&labels, drop_name);
            for (t, v) in s.points {
                out.push(i, t, v)?;
            }
        }
        Ok(Val::Vector(out.finish()?))
    }

    /// Sorting matters only for an instant query's single step; a range query's result is
    /// ordered by labels whatever the query says.
    fn sort(&self, name: &str, args: &[&Expr]) -> Result<Val, QueryError> {
        let mut series = self.eval_vector(args[0])?;
        if self.step_count() != 1 {
            if self.ctx.range().start != self.ctx.range().end {
                self.ctx.warn(
                    "PromQL warning: sort is ineffective for range queries since results are always ordered by labels"
                        .into(),
                );
            }
            return Ok(Val::Vector(series));
        }
        let value = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.1);
        if matches!(name, "sort" | "sort_desc") {
            // A histogram has no value to sort by: Prometheus leaves its samples out.
            series.retain(|s| !s.points.is_empty());
            series.iter_mut().for_each(|s| s.histograms.clear());
        }
        match name {
            "sort" => series.sort_by(|a, b| nan_last(value(a), value(b), false)),
            "sort_desc" => series.sort_by(|a, b| nan_last(value(a), value(b), true)),
            _ => {
                let keys: Vec<String> = args[1..].iter().map(|a| string_arg(a)).collect::<Result<_, _>>()?;
                let by_keys = |a: &StepSeries, b: &StepSeries| {
                    keys.iter()
                        .map(|k| natural_cmp(a.labels.get(k).unwrap_or(""), b.labels.get(k).unwrap_or("")))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                };
                series.sort_by(|a, b| by_keys(a, b).then_with(|| a.labels.cmp(&b.labels)));
                if name == "sort_by_label_desc" {
                    series.reverse();
                }
            }
        }
        Ok(Val::Vector(series))
    }

    fn clamp_or_round(&self, name: &str, args: &[&Expr]) -> Result<Val, QueryError> {
        let params: Vec<Vec<f64>> =
            args[1..].iter().map(|a| self.eval_scalar(a)).collect::<Result<_, _>>()?;
        let val = match name {
            "clamp" => self.map_values(args[0], |v, i| go_max(params[0][i], go_min(params[1][i], v)))?,
            "clamp_min" => self.map_values(args[0], |v, i| go_max(params[0][i], v))?,
            "clamp_max" => self.map_values(args[0], |v, i| go_min(params[0][i], v))?,
            _ => self.map_values(args[0], |v, i| {
                let inverse = 1.0 / params.first().map_or(1.0, |p| p[i]);
                (v * inverse + 0.5).floor() / inverse
            })?,
        };
        if name != "clamp" {
            return Ok(val);
        }
        // clamp with max < min gives nothing at that step. Only that: a NaN bound compares
        // false either way, so it clamps every value to NaN (as Prometheus 3 does).
        let Val::Vector(mut series) = val else { unreachable!("map_values gives a vector") };
        for s in &mut series {
            s.points.retain(|p| {
                let i = self.step_index(p.0);
                params[1][i].partial_cmp(&params[0][i]) != Some(std::cmp::Ordering::Less)
            });
        }
        series.retain(|s| !s.points.is_empty());
        Ok(Val::Vector(series))
    }

    fn date_function(&self, name: &str, arg: Option<&Expr>) -> Result<Val, QueryError> {
        let f = |v: f64| date_part(name, v);
        match arg {
            Some(arg) => self.map_values(arg, |v, _| f(v)),
            None => {
                let points = self.step_times().map(|t| (t, f(t as f64 / 1000.0))).collect();
                Ok(Val::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    points,
                    drop_name: false,
                    histograms: Vec::new(),
                }]))
            }
        }
    }
}

/// Prometheus' warning for a φ outside [0, 1].
pub(crate) fn invalid_quantile(q: f64) -> String {
    format!("PromQL warning: quantile value should be between 0 and 1, got {}", format_g(q))
}

fn check_smoothing_factors(scalars: &[Vec<f64>]) -> Result<(), QueryError> {
    for (what, values) in [("smoothing", &scalars[0]), ("trend", &scalars[1])] {
        if let Some(v) = values.iter().find(|v| !(**v > 0.0 && **v < 1.0)) {
            return Err(QueryError::Execution(format!(
                "invalid {what} factor. Expected: 0 < sf < 1, got: {v:.6}"
            )));
        }
    }
    Ok(())
}

fn type_error(function: &str, expected: &str, got: &Val) -> QueryError {
    QueryError::BadData(format!(
        "expected type {expected} in call to function \"{function}\", got {}",
        got.type_name()
    ))
}

pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// A label name Prometheus 3 accepts: any non-empty UTF-8 (a string literal's bytes that were
/// not UTF-8 make it invalid, as in Go).
pub(crate) fn valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(is_raw_byte)
}

pub(crate) fn string_arg(e: &Expr) -> Result<String, QueryError> {
    match unwrap_parens(e) {
        Expr::String(s) => Ok(s.value.clone()),
        _ => Err(QueryError::BadData("expected a string literal argument".into())),
    }
}

/// The labels `absent` gives: the selector's equality matchers, except the metric name and
/// any label matched more than once or by another operator.
fn absent_labels(arg: &Expr) -> Result<Labels, QueryError> {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.selector,
        _ => return Ok(Labels::empty()),
    };
    let mut labels = Labels::empty();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME_LABEL {
            continue;
        }
        let first = !seen.contains(&m.name.as_str());
        seen.push(&m.name);
        if first && convert_matcher(m)?.op() == MatchOp::Equal {
            labels.set(&m.name, &m.value);
        } else {
            labels.remove(&m.name);
        }
    }
    Ok(labels)
}

/// Functions applied to each value alone.
fn elementwise(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        _ => return None,
    })
}

/// Go's `math.Max`: +Inf wins, then NaN.
/// Natural order, as Prometheus sorts label values in `sort_by_label`: runs of digits
/// compare as numbers (`cpu="2"` before `cpu="10"`, `1.2.3` before `1.11.3`), everything
/// else byte by byte; equal numbers with more leading zeros come later.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (ni, nj) = (digits_end(a, i), digits_end(b, j));
            let (x, y) = (trim_zeros(&a[i..ni]), trim_zeros(&b[j..nj]));
            let by_value = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
            let by_zeros = (ni - i).cmp(&(nj - j));
            match by_value.then(by_zeros) {
                Ordering::Equal => (i, j) = (ni, nj),
                other => return other,
            }
        } else {
            match a[i].cmp(&b[j]) {
                Ordering::Equal => (i, j) = (i + 1, j + 1),
                other => return other,
            }
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn digits_end(s: &[u8], from: usize) -> usize {
    from + s[from..].iter().take_while(|c| c.is_ascii_digit()).count()
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// Ascending or descending by value, NaN last either way.
pub(crate) fn nan_last(a: f64, b: f64, descending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if descending => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A calendar field of the UTC time `seconds` after the epoch.
fn date_part(name: &str, seconds: f64) -> f64 {
    if !seconds.is_finite() {
        return f64::NAN;
    }
    let secs = seconds.trunc() as i64;
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = strata_model::calendar::civil_from_days(days);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (match name {
        "day_of_month" => day,
        "day_of_week" => (days + 4).rem_euclid(7),
        "day_of_year" => month_days[..(month - 1) as usize].iter().sum::<i64>() + day,
        "days_in_month" => month_days[(month - 1) as usize],
        "hour" => of_day / 3600,
        "minute" => of_day % 3600 / 60,
        "month" => month,
        _ => year,
    }) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields_of_known_dates() {
        // 2023-12-19T16:00:00Z, a Tuesday.
        let t = 1_703_001_600.0;
        assert_eq!(date_part("year", t), 2023.0);
        assert_eq!(date_part("month", t), 12.0);
        assert_eq!(date_part("day_of_month", t), 19.0);
        assert_eq!(date_part("day_of_week", t), 2.0);
        assert_eq!(date_part("day_of_year", t), 353.0);
        assert_eq!(date_part("hour", t), 16.0);
        assert_eq!(date_part("days_in_month", 951_782_400.0), 29.0, "2000-02-29 is in a leap February");
        assert_eq!(date_part("year", -1.0), 1969.0);
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        use std::cmp::Ordering::*;
        let mut values = vec!["10", "2", "1", "100", "21", "0", "11"];
        values.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(values, ["0", "1", "2", "10", "11", "21", "100"]);
        let mut releases = vec!["1.111.3", "1.2.3", "1.11.3"];
        releases.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(releases, ["1.2.3", "1.11.3", "1.111.3"]);
        assert_eq!(natural_cmp("4m5", "4m600"), Less);
        assert_eq!(natural_cmp("a", "a1"), Less);
        assert_eq!(natural_cmp("b", "a9"), Greater);
        assert_eq!(natural_cmp("x01", "x1"), Greater, "more leading zeros later");
        assert_eq!(natural_cmp("x01", "x01"), Equal);
        // A number longer than any integer type still compares.
        assert_eq!(natural_cmp("99999999999999999999999", "100000000000000000000000"), Less);
    }
}
