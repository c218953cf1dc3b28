//! Binary operators: arithmetic, comparisons (filtering, or 0/1 with `bool`) and the set
//! operators, between scalars and vectors. Vector/vector matching follows Prometheus: series
//! are matched on their labels without the metric name (or only the `on` labels, or all but
//! the `ignoring` ones); one-to-one unless `group_left`/`group_right` names the "many" side,
//! whose labels the result keeps (plus the listed labels of the "one" side).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use strata_promql_syntax::ast::BinaryExpr;

use super::label_modifier::{self, LabelModifier, VectorMatchCardinality};
use strata_model::histogram::FloatHistogram;
use strata_model::{Labels, SeriesHash, METRIC_NAME_LABEL};

use super::steps::{by_step, merge_same_labels, OutputBuilder};
use super::{Evaluator, StepSeries, Val};
use crate::engine::QueryError;
use crate::native_histogram::arith::{custom_bounds_differ, divide, scale};
use crate::native_histogram::trim::{trim, Keep};

/// How a binary operation is written, beside its operands.
pub(crate) struct Op<'e> {
    symbol: String,
    comparison: bool,
    return_bool: bool,
    card: VectorMatchCardinality,
    matching: Option<&'e LabelModifier>,
    fill: Fill,
}

/// The experimental `fill`, `fill_left` and `fill_right` modifiers: values that stand in for
/// a missing partner so that an unmatched series still gives a result. Prometheus swaps the
/// operands for `group_right` but not the fill values, so in terms of the "many" and "one"
/// sides `fill_right` always fills a missing "one" side and `fill_left` a missing "many"
/// side (the conformance files pin this down).
#[derive(Clone, Copy, Default)]
struct Fill {
    missing_one: Option<f64>,
    missing_many: Option<f64>,
}

impl Op<'_> {
    /// Whether the result loses the metric name (arithmetic, and comparisons with `bool`; the
    /// trim operators keep it, as filters do).
    fn drops_name(&self) -> bool {
        (!self.comparison || self.return_bool) && trim_side(&self.symbol).is_none()
    }
}

impl Evaluator<'_> {
    pub(crate) fn binary(&self, bin: &BinaryExpr) -> Result<Val, QueryError> {
        let matching = label_modifier::matching(bin.matching.as_ref());
        let op = Op {
            symbol: bin.op.as_str().to_string(),
            comparison: bin.op.is_comparison(),
            return_bool: bin.return_bool,
            card: label_modifier::cardinality(bin.matching.as_ref()),
            matching: matching.as_ref(),
            fill: bin
                .matching
                .as_ref()
                .map_or(Fill::default(), |m| Fill { missing_one: m.fill_right, missing_many: m.fill_left }),
        };
        if (op.fill.missing_one.is_some() || op.fill.missing_many.is_some())
            && !self.ctx.options().experimental_functions
        {
            return Err(QueryError::BadData(
                "fill modifiers are experimental and not enabled (promql-experimental-functions)".into(),
            ));
        }
        let lhs = self.eval(&bin.lhs)?;
        let rhs = self.eval(&bin.rhs)?;
        match (lhs, rhs) {
            (Val::Scalar(a), Val::Scalar(b)) => {
                let values = a
                    .into_iter()
                    .zip(b)
                    .map(|(l, r)| {
                        let (v, keep) = apply(&op.symbol, l, r);
                        if op.comparison {
                            if keep {
                                1.0
                            } else {
                                0.0
                            }
                        } else {
                            v
                        }
                    })
                    .collect();
                Ok(Val::Scalar(values))
            }
            (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(self.vector_scalar(&op, v, &s, false))),
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(self.vector_scalar(&op, v, &s, true))),
            (Val::Vector(l), Val::Vector(r)) => match op.symbol.as_str() {
                "and" | "or" | "unless" => self.set_operation(&op, l, r).map(Val::Vector),
                _ => self.vector_vector(&op, l, r).map(Val::Vector),
            },
            (l, r) => Err(QueryError::BadData(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }

    fn vector_scalar(
        &self,
        op: &Op<'_>,
        mut series: Vec<StepSeries>,
        scalar: &[f64],
        swap: bool,
    ) -> Vec<StepSeries> {
        for s in &mut series {
            s.points.retain_mut(|p| {
                let sv = scalar[self.step_index(p.0)];
                let (l, r) = if swap { (sv, p.1) } else { (p.1, sv) };
                let (mut v, keep) = apply(&op.symbol, l, r);
                if op.comparison {
                    v = p.1; // a comparison keeps the vector's value, whichever side it is on
                }
                if op.return_bool {
                    p.1 = if keep { 1.0 } else { 0.0 };
                    return true;
                }
                p.1 = v;
                keep
            });
            // Of a histogram only `h * s`, `s * h` and `h / s` have a meaning (the counts and
            // the sum scaled); other operators leave its points out.
            let histograms = std::mem::take(&mut s.histograms);
            let allowed =
                !op.return_bool && !op.comparison && (op.symbol == "*" || (op.symbol == "/" && !swap));
            let trims = trim_side(&op.symbol).filter(|_| !swap);
            if allowed {
                s.histograms = histograms
                    .into_iter()
                    .map(|(t, h)| {
                        let sv = scalar[self.step_index(t)];
                        let result = if op.symbol == "*" { scale(&h, sv) } else { divide(&h, sv) };
                        (t, Arc::new(result))
                    })
                    .collect();
            } else if let Some(keep) = trims {
                s.histograms = histograms
                    .into_iter()
                    .map(|(t, h)| (t, Arc::new(trim(&h, scalar[self.step_index(t)], keep))))
                    .collect();
            } else if !histograms.is_empty() {
                let (l, r) = if swap { ("float", "histogram") } else { ("histogram", "float") };
                self.ctx.info(format!(
                    "PromQL info: incompatible sample types encountered for binary operator {:?}: {l} {} {r}",
                    op.symbol, op.symbol
                ));
            }
            if op.drops_name() {
                self.drop_name(s);
            }
        }
        series.retain(|s| !s.points.is_empty() || !s.histograms.is_empty());
        series
    }

    fn vector_vector(
        &self,
        op: &Op<'_>,
        lhs: Vec<StepSeries>,
        rhs: Vec<StepSeries>,
    ) -> Result<Vec<StepSeries>, QueryError> {
        if lhs.iter().chain(&rhs).all(|s| s.histograms.is_empty()) {
            return self.float_vector_vector(op, lhs, rhs);
        }
        let histograms = self.histogram_vector_vector(op, &lhs, &rhs)?;
        let mut floats = self.float_vector_vector(op, lhs, rhs)?;
        floats.extend(histograms);
        merge_same_labels(floats)
    }

    /// `lhs op rhs` for pairs where a histogram takes part: `h + h`, `h − h`, `h * f`,
    /// `f * h`, `h / f` (across schemas and zero buckets); any other operator, or a
    /// histogram with a comparison, gives nothing for the pair (with Prometheus' info).
    fn histogram_vector_vector(
        &self,
        op: &Op<'_>,
        lhs: &[StepSeries],
        rhs: &[StepSeries],
    ) -> Result<Vec<StepSeries>, QueryError> {
        let swapped = matches!(op.card, VectorMatchCardinality::OneToMany(_));
        let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
        let one_at = at_times(one, op.matching);
        let mut out = OutputBuilder::default();
        for m in many {
            let sig = signature(&m.labels, op.matching);
            let own: Vec<(i64, Operand)> = m
                .points
                .iter()
                .map(|&(t, v)| (t, Operand::Float(v)))
                .chain(m.histograms.iter().map(|(t, h)| (*t, Operand::Histogram(Arc::clone(h)))))
                .collect();
            for (t, mv) in own {
                let Some((o, ov)) = one_at.get(&(sig, t)) else { continue };
                if matches!((&mv, ov), (Operand::Float(_), Operand::Float(_))) {
                    continue; // the float pass has it
                }
                let (l, r) = if swapped { (ov.clone(), mv) } else { (mv, ov.clone()) };
                if let (Operand::Histogram(a), Operand::Histogram(b), "+" | "-") =
                    (&l, &r, op.symbol.as_str())
                {
                    if custom_bounds_differ(a, b) {
                        let during = if op.symbol == "+" { "addition" } else { "subtraction" };
                        self.ctx.info(format!(
                            "PromQL info: mismatched custom buckets were reconciled during {during}"
                        ));
                    }
                }
                if let Some(equal) = bool_histogram_equality(op, &l, &r) {
                    let (labels, drop_name) = self.result_labels(op, m, Some(&one[*o]));
                    let id = out.series_for(&labels, drop_name);
                    out.push(id, t, f64::from(u8::from(equal)))?;
                    continue;
                }
                match histogram_op(op, &l, &r) {
                    Some(Ok(Some(h))) => {
                        let (labels, drop_name) = self.result_labels(op, m, Some(&one[*o]));
                        let id = out.series_for(&labels, drop_name);
                        out.push_histogram(id, t, Arc::new(h))?;
                    }
                    Some(Ok(None)) => {} // a comparison that does not hold
                    Some(Err(message)) => self.ctx.warn(message),
                    None => self.ctx.info(format!(
                        "PromQL info: incompatible sample types encountered for binary operator {:?}: {} {} {}",
                        op.symbol,
                        l.kind(),
                        op.symbol,
                        r.kind()
                    )),
                }
            }
        }
        out.finish()
    }

    fn float_vector_vector(
        &self,
        op: &Op<'_>,
        lhs: Vec<StepSeries>,
        rhs: Vec<StepSeries>,
    ) -> Result<Vec<StepSeries>, QueryError> {
        let swapped = matches!(op.card, VectorMatchCardinality::OneToMany(_));
        let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
        let many_sigs: Vec<SeriesHash> = many.iter().map(|s| signature(&s.labels, op.matching)).collect();
        let one_sigs: Vec<SeriesHash> = one.iter().map(|s| signature(&s.labels, op.matching)).collect();
        let many_steps = by_step(self, &many);
        let one_steps = by_step(self, &one);
        let mut out = OutputBuilder::default();
        let mut result_ids: HashMap<(usize, usize), usize> = HashMap::new();
        for (step, (many_at, one_at)) in many_steps.into_iter().zip(one_steps).enumerate() {
            // A step with one side empty gives results only where the other side is filled.
            let fills_one = op.fill.missing_one.is_some() && !many_at.is_empty();
            let fills_many = op.fill.missing_many.is_some() && !one_at.is_empty();
            if (many_at.is_empty() || one_at.is_empty()) && !fills_one && !fills_many {
                continue;
            }
            let t = self.start + step as i64 * self.step;
            let mut one_by_sig: HashMap<SeriesHash, (usize, f64)> = HashMap::with_capacity(one_at.len());
            for &(i, v) in &one_at {
                if let Some(&(other, _)) = one_by_sig.get(&one_sigs[i]) {
                    return Err(duplicate_error(op, &one[other].labels, &one[i].labels, !swapped));
                }
                one_by_sig.insert(one_sigs[i], (i, v));
            }
            let mut matched: HashMap<SeriesHash, HashSet<usize>> = HashMap::new();
            let mut many_by_sig: HashMap<SeriesHash, usize> = HashMap::new();
            for &(m, mv) in &many_at {
                let (o, ov) = match one_by_sig.get(&many_sigs[m]) {
                    Some(&pair) => pair,
                    None => match op.fill.missing_one {
                        Some(fill) => (FILLED, fill),
                        None => continue,
                    },
                };
                // One-to-one matching needs unique matches on the left too, whether or not a
                // comparison filters the pair out.
                if matches!(op.card, VectorMatchCardinality::OneToOne) && o != FILLED {
                    if let Some(&first) = many_by_sig.get(&many_sigs[m]) {
                        return Err(duplicate_error(op, &many[first].labels, &many[m].labels, false));
                    }
                    many_by_sig.insert(many_sigs[m], m);
                }
                matched.entry(many_sigs[m]).or_default();
                let (l, r) = if swapped { (ov, mv) } else { (mv, ov) };
                let Some(v) = result_value(op, l, r) else { continue };
                let id = *result_ids.entry((m, o)).or_insert_with(|| {
                    let (labels, drop_name) = self.result_labels(op, &many[m], one.get(o));
                    out.series_for(&labels, drop_name)
                });
                if !matched.entry(many_sigs[m]).or_default().insert(id) {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches".into(),
                    ));
                }
                out.push(id, t, v)?;
            }
            if let Some(fill) = op.fill.missing_many {
                for &(o, ov) in one_at.iter().filter(|(o, _)| !matched.contains_key(&one_sigs[*o])) {
                    let (l, r) = if swapped { (ov, fill) } else { (fill, ov) };
                    let Some(v) = result_value(op, l, r) else { continue };
                    let id = *result_ids.entry((FILLED, o)).or_insert_with(|| {
                        // No "many" series to take labels from: the match group's labels.
                        out.series_for(&matching_labels(&one[o].labels, op.matching), false)
                    });
                    out.push(id, t, v)?;
                }
            }
        }
        out.finish()
    }

    /// The labels of a matched pair's result: the "many" side's, less the metric name for
    /// arithmetic; for one-to-one matching only the `on` labels (or all but the `ignoring`
    /// ones); plus the `group_left`/`group_right` labels taken from the "one" side.
    fn result_labels(&self, op: &Op<'_>, many: &StepSeries, one: Option<&StepSeries>) -> (Labels, bool) {
        let mut labels = many.labels.clone();
        let mut drop_name = many.drop_name;
        if op.drops_name() {
            if self.ctx.options().delayed_name_removal {
                drop_name = true;
            } else {
                super::remove_name(&mut labels);
            }
        }
        match (&op.card, op.matching) {
            (VectorMatchCardinality::OneToOne, Some(LabelModifier::Include(on))) => {
                labels.retain(|l| on.labels.contains(&l.name))
            }
            (VectorMatchCardinality::OneToOne, Some(LabelModifier::Exclude(ignoring))) => {
                labels.retain(|l| !ignoring.labels.contains(&l.name))
            }
            _ => {}
        }
        if let Some(include) = op.card.labels() {
            for name in &include.labels {
                // A filled "one" side has no labels to join: the label is dropped.
                labels.set(name, one.and_then(|o| o.labels.get(name)).unwrap_or(""));
            }
        }
        (labels, drop_name)
    }

    fn set_operation(
        &self,
        op: &Op<'_>,
        lhs: Vec<StepSeries>,
        rhs: Vec<StepSeries>,
    ) -> Result<Vec<StepSeries>, QueryError> {
        let lhs_sigs: Vec<SeriesHash> = lhs.iter().map(|s| signature(&s.labels, op.matching)).collect();
        let rhs_sigs: Vec<SeriesHash> = rhs.iter().map(|s| signature(&s.labels, op.matching)).collect();
        let mut out = OutputBuilder::default();
        let lhs_ids: Vec<usize> = lhs.iter().map(|s| out.series_for(&s.labels, s.drop_name)).collect();
        let rhs_ids: Vec<usize> = if op.symbol == "or" {
            rhs.iter().map(|s| out.series_for(&s.labels, s.drop_name)).collect()
        } else {
            Vec::new()
        };
        // Floats and histograms alike: a set operation looks at which series have a sample.
        let (l_steps, r_steps) = (self.operands_by_step(&lhs), self.operands_by_step(&rhs));
        let push = |out: &mut OutputBuilder, id: usize, t: i64, v: &Operand| match v {
            Operand::Float(f) => out.push(id, t, *f),
            Operand::Histogram(h) => out.push_histogram(id, t, Arc::clone(h)),
        };
        for (step, (l_at, r_at)) in l_steps.into_iter().zip(r_steps).enumerate() {
            let t = self.start + step as i64 * self.step;
            match op.symbol.as_str() {
                "or" => {
                    let left: HashSet<SeriesHash> = l_at.iter().map(|(i, _)| lhs_sigs[*i]).collect();
                    for (i, v) in &l_at {
                        push(&mut out, lhs_ids[*i], t, v)?;
                    }
                    for (i, v) in r_at.iter().filter(|(i, _)| !left.contains(&rhs_sigs[*i])) {
                        push(&mut out, rhs_ids[*i], t, v)?;
                    }
                }
                symbol => {
                    let right: HashSet<SeriesHash> = r_at.iter().map(|(i, _)| rhs_sigs[*i]).collect();
                    let want = symbol == "and";
                    for (i, v) in l_at.iter().filter(|(i, _)| right.contains(&lhs_sigs[*i]) == want) {
                        push(&mut out, lhs_ids[*i], t, v)?;
                    }
                }
            }
        }
        out.finish()
    }

    /// For each step, the `(series index, float or histogram)` pairs that have a sample.
    fn operands_by_step(&self, series: &[StepSeries]) -> Vec<Vec<(usize, Operand)>> {
        let mut steps: Vec<Vec<(usize, Operand)>> = vec![Vec::new(); self.step_count()];
        for (i, s) in series.iter().enumerate() {
            for &(t, v) in &s.points {
                steps[self.step_index(t)].push((i, Operand::Float(v)));
            }
            for (t, h) in &s.histograms {
                steps[self.step_index(*t)].push((i, Operand::Histogram(Arc::clone(h))));
            }
        }
        steps
    }
}

/// One side of a pair at one step.
#[derive(Clone)]
enum Operand {
    Float(f64),
    Histogram(Arc<FloatHistogram>),
}

impl Operand {
    fn kind(&self) -> &'static str {
        match self {
            Operand::Float(_) => "float",
            Operand::Histogram(_) => "histogram",
        }
    }
}

/// Each series' values by (match signature, time): the series' index and its value.
fn at_times(
    series: &[StepSeries],
    matching: Option<&LabelModifier>,
) -> HashMap<(SeriesHash, i64), (usize, Operand)> {
    let mut out = HashMap::new();
    for (i, s) in series.iter().enumerate() {
        let sig = signature(&s.labels, matching);
        for &(t, v) in &s.points {
            out.insert((sig, t), (i, Operand::Float(v)));
        }
        for (t, h) in &s.histograms {
            out.insert((sig, *t), (i, Operand::Histogram(Arc::clone(h))));
        }
    }
    out
}

/// `h == bool h` and `h != bool h`: whether the comparison holds (1 or 0 in the result);
/// `None` for any other operator or operands.
fn bool_histogram_equality(op: &Op<'_>, l: &Operand, r: &Operand) -> Option<bool> {
    use crate::native_histogram::arith::equal_values;
    let (Operand::Histogram(a), Operand::Histogram(b)) = (l, r) else { return None };
    if !(op.comparison && op.return_bool && matches!(op.symbol.as_str(), "==" | "!=")) {
        return None;
    }
    Some(equal_values(a, b) == (op.symbol == "=="))
}

/// `l op r` where a histogram takes part: `Some(Ok(Some(h)))` the result,
/// `Some(Ok(None))` a comparison (`==`, `!=` between histograms) that does not hold, `None`
/// when the operator has no meaning for these operands, `Some(Err(warning))` when the
/// histograms cannot be combined.
fn histogram_op(op: &Op<'_>, l: &Operand, r: &Operand) -> Option<Result<Option<FloatHistogram>, String>> {
    use crate::native_histogram::arith::{add, divide, equal_values, subtract, ArithError};
    if op.comparison {
        let (Operand::Histogram(a), Operand::Histogram(b)) = (l, r) else { return None };
        if op.return_bool || !matches!(op.symbol.as_str(), "==" | "!=") {
            return None;
        }
        let equal = equal_values(a, b);
        // A filtering comparison keeps the left operand's value.
        return Some(Ok((equal == (op.symbol == "==")).then(|| (**a).clone())));
    }
    if op.return_bool {
        return None;
    }
    let combined = match (op.symbol.as_str(), l, r) {
        ("+", Operand::Histogram(a), Operand::Histogram(b)) => add(a, b),
        ("-", Operand::Histogram(a), Operand::Histogram(b)) => subtract(a, b),
        ("*", Operand::Histogram(h), Operand::Float(f)) | ("*", Operand::Float(f), Operand::Histogram(h)) => {
            Ok(scale(h, *f))
        }
        ("/", Operand::Histogram(h), Operand::Float(f)) => Ok(divide(h, *f)),
        (symbol, Operand::Histogram(h), Operand::Float(f)) if trim_side(symbol).is_some() => {
            Ok(trim(h, *f, trim_side(symbol).expect("checked")))
        }
        _ => return None,
    };
    Some(combined.map(Some).map_err(|e| match e {
        ArithError::MixedSchemas => format!(
            "PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for binary operator {:?}",
            op.symbol
        ),
    }))
}

/// Which side of the cutoff a trim operator keeps (`</` below, `>/` above).
fn trim_side(symbol: &str) -> Option<Keep> {
    match symbol {
        "</" => Some(Keep::Below),
        ">/" => Some(Keep::Above),
        _ => None,
    }
}

/// Stands for the missing partner of a filled pair in a result's identity.
const FILLED: usize = usize::MAX;

/// What a matched (or filled) pair gives: the value, 0/1 for `bool` comparisons, or nothing
/// when a filtering comparison does not hold.
fn result_value(op: &Op<'_>, l: f64, r: f64) -> Option<f64> {
    let (v, keep) = apply(&op.symbol, l, r);
    if op.return_bool {
        Some(if keep { 1.0 } else { 0.0 })
    } else {
        keep.then_some(v)
    }
}

/// The value of `l op r` and, for comparisons, whether it holds (arithmetic always "holds").
fn apply(op: &str, l: f64, r: f64) -> (f64, bool) {
    match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// What two series must share to match: the hash of their matching labels (computed once
/// per series, not per step).
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> SeriesHash {
    matching_labels(labels, matching).stable_hash()
}

/// The labels a series is matched on: the `on` labels, or all but the `ignoring` ones and the
/// metric name.
fn matching_labels(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    let mut out = labels.clone();
    match matching {
        Some(LabelModifier::Include(on)) => out.retain(|l| on.labels.contains(&l.name)),
        Some(LabelModifier::Exclude(ignoring)) => {
            out.retain(|l| l.name != METRIC_NAME_LABEL && !ignoring.labels.contains(&l.name))
        }
        None => out.retain(|l| l.name != METRIC_NAME_LABEL),
    }
    out
}

fn duplicate_error(op: &Op<'_>, a: &Labels, b: &Labels, right: bool) -> QueryError {
    QueryError::Execution(format!(
        "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
        go_labels(&matching_labels(a, op.matching)),
        if right { "right" } else { "left" },
        go_labels(a),
        go_labels(b),
    ))
}

/// Labels as Prometheus prints them in messages: `{a="1", b="2"}`, the name as a label.
pub(crate) fn go_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|l| format!("{}={:?}", l.name, l.value)).collect();
    format!("{{{}}}", pairs.join(", "))
}
