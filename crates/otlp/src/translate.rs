//! An OTLP export request to Prometheus series, metric by metric:
//!
//! | OTLP | series |
//! |---|---|
//! | gauge | `name` |
//! | sum, cumulative, monotonic | `name_total` (a counter) |
//! | sum, cumulative, not monotonic | `name` (a gauge) |
//! | sum, delta | `name`, each sample the interval's change, stored as sent |
//! | histogram (explicit buckets) | `name_bucket{le}` (cumulative, `+Inf` = count), `name_count`, `name_sum`; or, with `histograms_as_nhcb`, `name` as a native histogram with custom buckets |
//! | summary | `name{quantile}`, `name_count`, `name_sum` |
//! | exponential histogram | `name`, a native histogram (`exponential`) |
//!
//! Every series gets the data point's attributes; `job` and `instance` come from the
//! resource's `service.namespace`/`service.name` and `service.instance.id`; configured
//! resource attributes are promoted to labels of every series (a data point's own
//! attribute of the same name wins); the resource's other attributes go to one `target_info`
//! sample per resource and request, at the resource's newest data point. A data point
//! flagged "no recorded value" becomes a staleness marker.
//!
//! Delta temporality: a delta point is the change over its interval; turning it into a
//! running total would need the previous total of every series, kept across restarts and
//! replicas, and would still be wrong after a lost export. Strata stores what was sent
//! (as Prometheus 3's native delta ingestion does) and names delta sums without `_total`,
//! so that `rate()` is not mistaken for the right function: query them with
//! `sum_over_time(x[5m])` (or `sum_over_time(x_bucket[5m])` inside `histogram_quantile`).

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint,
};
use strata_model::histogram::HistogramValue;
use strata_model::{Labels, NameValidation, METRIC_NAME_LABEL, STALE_NAN_BITS};

use crate::attributes::{self, go_float, LabelMap};
use crate::naming::{metric_name, MetricKind, NameStrategy};

/// How OTLP becomes series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// How metric and label names are translated.
    pub names: NameStrategy,
    /// Resource attributes copied onto every series of the resource (Prometheus'
    /// `promote_resource_attributes`).
    pub promote_resource_attributes: Vec<String>,
    /// Add `otel_scope_name`, `otel_scope_version` and the scope's attributes as
    /// `otel_scope_<key>` (Prometheus' `promote_scope_metadata`).
    pub promote_scope: bool,
    /// Explicit-bucket histograms become native histograms with custom buckets (schema
    /// −53, the bounds as custom values) instead of `_bucket`/`_count`/`_sum` series
    /// (Prometheus' `convert_histograms_to_nhcb`).
    pub histograms_as_nhcb: bool,
}

impl Options {
    /// The label-name rules the translated names obey.
    fn validation(&self) -> NameValidation {
        if self.names.escapes() {
            NameValidation::Legacy
        } else {
            NameValidation::Utf8
        }
    }
}

/// A series and its samples, in the order they were sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// What a request became.
#[derive(Debug, Default)]
pub struct Translated {
    pub series: Vec<Series>,
    /// Native-histogram samples (from exponential histograms), in the order sent.
    pub histograms: Vec<(Labels, i64, HistogramValue)>,
    /// Data points in the request.
    pub points: usize,
    /// Data points that could not be translated, and the first few reasons.
    pub rejected: usize,
    pub problems: Vec<String>,
    /// Exemplars left out (Strata does not store them).
    pub exemplars_dropped: usize,
    /// Delta-temporality points stored as sent.
    pub delta_points: usize,
    /// Series by labels (foldhash: the std hasher was 6% of an OTLP write).
    series_index: HashMap<Labels, usize, foldhash::fast::RandomState>,
}

/// At most this many reasons are kept for the answer.
const PROBLEMS_KEPT: usize = 5;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

impl Translated {
    fn reject(&mut self, points: usize, reason: impl FnOnce() -> String) {
        self.rejected += points;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(reason());
        }
    }

    fn push(&mut self, labels: Labels, t: i64, v: f64) {
        let index = match self.series_index.get(&labels) {
            Some(&i) => i,
            None => {
                self.series.push(Series { labels: labels.clone(), samples: Vec::new() });
                self.series_index.insert(labels, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        self.series[index].samples.push((t, v));
    }

    /// Samples in all series.
    pub fn samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// Translates a whole request.
pub fn translate(request: &ExportMetricsServiceRequest, options: &Options) -> Translated {
    let mut out = Translated::default();
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let context = ResourceContext::new(resource, options);
        let mut newest = None;
        for scope_metrics in &resource_metrics.scope_metrics {
            let scope = ScopeContext {
                resource: &context,
                labels: scope_labels(scope_metrics.scope.as_ref(), options),
            };
            for metric in &scope_metrics.metrics {
                if let Some(t) = translate_metric(&mut out, &scope, metric) {
                    newest = newest.max(Some(t));
                }
            }
        }
        if let Some(t) = newest {
            add_target_info(&mut out, resource, &context, t);
        }
    }
    out
}

/// What a resource gives every series: `job`, `instance` and promoted attributes.
struct ResourceContext<'o> {
    options: &'o Options,
    identity: LabelMap,
    promoted: LabelMap,
}

impl<'o> ResourceContext<'o> {
    fn new(resource: &[KeyValue], options: &'o Options) -> Self {
        let text = |key| attributes::find(resource, key).map(|kv| attributes::value_text(kv.value.as_ref()));
        let mut identity = LabelMap::new();
        if let Some(name) = text(SERVICE_NAME).filter(|n| !n.is_empty()) {
            let job = match text(SERVICE_NAMESPACE).filter(|n| !n.is_empty()) {
                Some(namespace) => format!("{namespace}/{name}"),
                None => name,
            };
            identity.insert("job".to_string(), job);
        }
        if let Some(instance) = text(SERVICE_INSTANCE_ID).filter(|n| !n.is_empty()) {
            identity.insert("instance".to_string(), instance);
        }
        let promoted_attrs: Vec<KeyValue> = resource
            .iter()
            .filter(|kv| options.promote_resource_attributes.contains(&kv.key))
            .cloned()
            .collect();
        let mut promoted = LabelMap::new();
        // A promoted key that cannot be a label name is left out here; the metrics still come.
        let _ = attributes::add_all(&mut promoted, &promoted_attrs, options.names);
        ResourceContext { options, identity, promoted }
    }
}

struct ScopeContext<'r, 'o> {
    resource: &'r ResourceContext<'o>,
    labels: LabelMap,
}

impl ScopeContext<'_, '_> {
    /// A point's labels before the metric name: promoted resource attributes, scope,
    /// the point's attributes, then `job`/`instance`.
    fn point_labels(&self, attrs: &[KeyValue]) -> Result<LabelMap, String> {
        let mut labels = self.resource.promoted.clone();
        labels.extend(self.labels.clone());
        attributes::add_all(&mut labels, attrs, self.resource.options.names).map_err(|e| e.to_string())?;
        labels.extend(self.resource.identity.clone());
        Ok(labels)
    }

    fn validation(&self) -> NameValidation {
        self.resource.options.validation()
    }
}

fn scope_labels(scope: Option<&InstrumentationScope>, options: &Options) -> LabelMap {
    let mut labels = LabelMap::new();
    let Some(scope) = scope.filter(|_| options.promote_scope) else { return labels };
    let prefixed: Vec<KeyValue> = scope
        .attributes
        .iter()
        .map(|kv| KeyValue { key: format!("otel_scope_{}", kv.key), ..kv.clone() })
        .collect();
    let _ = attributes::add_all(&mut labels, &prefixed, options.names);
    for (name, value) in [("otel_scope_name", &scope.name), ("otel_scope_version", &scope.version)] {
        if !value.is_empty() {
            labels.insert(name.to_string(), value.clone());
        }
    }
    labels
}

/// Translates one metric; returns its newest timestamp, if any point was taken.
fn translate_metric(out: &mut Translated, scope: &ScopeContext<'_, '_>, metric: &Metric) -> Option<i64> {
    let Some(data) = &metric.data else {
        out.reject(0, || format!("metric {:?} has no data", metric.name));
        return None;
    };
    let points = point_count(data);
    out.points += points;
    let kind = match data {
        Data::Sum(sum) if sum.aggregation_temporality == AggregationTemporality::Cumulative as i32 => {
            if sum.is_monotonic {
                MetricKind::Counter
            } else {
                MetricKind::Gauge
            }
        }
        Data::Gauge(_) => MetricKind::Gauge,
        _ => MetricKind::Other,
    };
    if let Some(reason) = refusal(data) {
        out.reject(points, || format!("metric {:?}: {reason}", metric.name));
        return None;
    }
    let name = match metric_name(&metric.name, &metric.unit, kind, scope.resource.options.names) {
        Ok(name) => name,
        Err(e) => {
            out.reject(points, || e.0);
            return None;
        }
    };
    let mut emit = Emitter { out, scope, name: &name, newest: None };
    match data {
        Data::Gauge(g) => g.data_points.iter().for_each(|p| emit.number(p)),
        Data::Sum(s) => {
            if s.aggregation_temporality == AggregationTemporality::Delta as i32 {
                emit.out.delta_points += s.data_points.len();
            }
            s.data_points.iter().for_each(|p| emit.number(p));
        }
        Data::Histogram(h) => {
            let delta = h.aggregation_temporality == AggregationTemporality::Delta as i32;
            if delta {
                emit.out.delta_points += h.data_points.len();
            }
            if scope.resource.options.histograms_as_nhcb {
                h.data_points.iter().for_each(|p| emit.custom_buckets(p, delta));
            } else {
                h.data_points.iter().for_each(|p| emit.histogram(p));
            }
        }
        Data::Summary(s) => s.data_points.iter().for_each(|p| emit.summary(p)),
        Data::ExponentialHistogram(e) => {
            let delta = e.aggregation_temporality == AggregationTemporality::Delta as i32;
            if delta {
                emit.out.delta_points += e.data_points.len();
            }
            e.data_points.iter().for_each(|p| emit.exponential(p, delta));
        }
    }
    emit.newest
}

fn point_count(data: &Data) -> usize {
    match data {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(e) => e.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    }
}

/// Why a whole metric is refused, if it is.
fn refusal(data: &Data) -> Option<&'static str> {
    let known =
        |t: i32| t == AggregationTemporality::Cumulative as i32 || t == AggregationTemporality::Delta as i32;
    match data {
        Data::Sum(s) if !known(s.aggregation_temporality) => {
            Some("sum without a known aggregation temporality")
        }
        Data::Histogram(h) if !known(h.aggregation_temporality) => {
            Some("histogram without a known aggregation temporality")
        }
        Data::ExponentialHistogram(e) if !known(e.aggregation_temporality) => {
            Some("exponential histogram without a known aggregation temporality")
        }
        _ => None,
    }
}

/// One sample of a point: the suffix to the metric name, an extra label (`le`,
/// `quantile`), the value.
type PointSample<'a> = (&'a str, Option<(&'a str, String)>, f64);

/// Writes one metric's points as samples.
struct Emitter<'a, 's, 'r, 'o> {
    out: &'a mut Translated,
    scope: &'s ScopeContext<'r, 'o>,
    name: &'a str,
    newest: Option<i64>,
}

impl Emitter<'_, '_, '_, '_> {
    /// The labels of a point, `None` (and the point rejected) when they are invalid.
    fn labels(&mut self, attrs: &[KeyValue]) -> Option<LabelMap> {
        match self.scope.point_labels(attrs) {
            Ok(labels) => Some(labels),
            Err(e) => {
                let name = self.name;
                self.out.reject(1, || format!("metric {name:?}: {e}"));
                None
            }
        }
    }

    /// The samples of one point, all at `t`.
    fn emit(&mut self, base: LabelMap, t: i64, samples: &[PointSample<'_>]) {
        let mut built = Vec::with_capacity(samples.len());
        let mut base = Some(base);
        for (i, (suffix, extra, v)) in samples.iter().enumerate() {
            // The last sample takes the point's labels; the others copy them.
            let mut labels = if i + 1 == samples.len() {
                base.take().unwrap_or_default()
            } else {
                base.clone().unwrap_or_default()
            };
            labels.insert(METRIC_NAME_LABEL.to_string(), [self.name, suffix].concat());
            if let Some((name, value)) = extra {
                labels.insert(name.to_string(), value.clone());
            }
            match Labels::from_pairs_with(labels, self.scope.validation()) {
                Ok(labels) => built.push((labels, *v)),
                Err(e) => {
                    let name = self.name;
                    self.out.reject(1, || format!("metric {name:?}: {e}"));
                    return;
                }
            }
        }
        for (labels, v) in built {
            self.out.push(labels, t, v);
        }
        self.newest = self.newest.max(Some(t));
    }

    fn number(&mut self, point: &NumberDataPoint) {
        self.out.exemplars_dropped += point.exemplars.len();
        let v = match point.value {
            Some(NumberValue::AsDouble(v)) => v,
            Some(NumberValue::AsInt(v)) => v as f64,
            None if no_recorded_value(point.flags) => 0.0,
            None => {
                let name = self.name;
                self.out.reject(1, || format!("metric {name:?}: a data point has no value"));
                return;
            }
        };
        let Some(labels) = self.labels(&point.attributes) else { return };
        let v = value_or_stale(v, point.flags);
        self.emit(labels, time_ms(point.time_unix_nano), &[("", None, v)]);
    }

    fn histogram(&mut self, point: &HistogramDataPoint) {
        self.out.exemplars_dropped += point.exemplars.len();
        let buckets = &point.bucket_counts;
        if !buckets.is_empty() && buckets.len() != point.explicit_bounds.len() + 1 {
            let name = self.name;
            let (b, n) = (point.explicit_bounds.len(), buckets.len());
            self.out
                .reject(1, || format!("metric {name:?}: {b} bounds need {} bucket counts, not {n}", b + 1));
            return;
        }
        let Some(labels) = self.labels(&point.attributes) else { return };
        let f = |v: f64| value_or_stale(v, point.flags);
        let mut samples = Vec::with_capacity(buckets.len() + 2);
        let mut cumulative = 0u64;
        for (count, bound) in buckets.iter().zip(&point.explicit_bounds) {
            cumulative = cumulative.saturating_add(*count);
            samples.push(("_bucket", Some(("le", go_float(*bound))), f(cumulative as f64)));
        }
        samples.push(("_bucket", Some(("le", "+Inf".to_string())), f(point.count as f64)));
        samples.push(("_count", None, f(point.count as f64)));
        if let Some(sum) = point.sum {
            samples.push(("_sum", None, f(sum)));
        }
        self.emit(labels, time_ms(point.time_unix_nano), &samples);
    }

    fn custom_buckets(&mut self, point: &HistogramDataPoint, delta: bool) {
        self.out.exemplars_dropped += point.exemplars.len();
        let histogram = crate::exponential::explicit_to_native(point, delta);
        self.native(histogram, &point.attributes, point.time_unix_nano);
    }

    fn exponential(&mut self, point: &ExponentialHistogramDataPoint, delta: bool) {
        self.out.exemplars_dropped += point.exemplars.len();
        let histogram = crate::exponential::to_native(point, delta);
        self.native(histogram, &point.attributes, point.time_unix_nano);
    }

    /// Adds a native histogram sample, or the reason it has none.
    fn native(
        &mut self,
        histogram: Result<strata_model::Histogram, String>,
        attrs: &[KeyValue],
        time_nanos: u64,
    ) {
        let histogram = match histogram {
            Ok(h) => h,
            Err(e) => {
                let name = self.name;
                self.out.reject(1, || format!("metric {name:?}: {e}"));
                return;
            }
        };
        let Some(mut labels) = self.labels(attrs) else { return };
        labels.insert(METRIC_NAME_LABEL.to_string(), self.name.to_string());
        match Labels::from_pairs_with(labels, self.scope.validation()) {
            Ok(labels) => {
                let t = time_ms(time_nanos);
                self.out.histograms.push((labels, t, HistogramValue::Integer(histogram)));
                self.newest = self.newest.max(Some(t));
            }
            Err(e) => {
                let name = self.name;
                self.out.reject(1, || format!("metric {name:?}: {e}"));
            }
        }
    }

    fn summary(&mut self, point: &SummaryDataPoint) {
        let Some(labels) = self.labels(&point.attributes) else { return };
        let f = |v: f64| value_or_stale(v, point.flags);
        let mut samples: Vec<_> = point
            .quantile_values
            .iter()
            .map(|q| ("", Some(("quantile", go_float(q.quantile))), f(q.value)))
            .collect();
        samples.push(("_count", None, f(point.count as f64)));
        samples.push(("_sum", None, f(point.sum)));
        self.emit(labels, time_ms(point.time_unix_nano), &samples);
    }
}

/// `target_info{job, instance, <other resource attributes>} 1`, when there are any others.
fn add_target_info(out: &mut Translated, resource: &[KeyValue], context: &ResourceContext<'_>, t: i64) {
    let others: Vec<KeyValue> = resource
        .iter()
        .filter(|kv| ![SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID].contains(&kv.key.as_str()))
        .cloned()
        .collect();
    if others.is_empty() {
        return;
    }
    let mut labels = LabelMap::new();
    if let Err(e) = attributes::add_all(&mut labels, &others, context.options.names) {
        out.reject(0, || format!("metric \"target_info\" (the resource's attributes): {e}"));
        return;
    }
    labels.extend(context.identity.clone());
    labels.insert(METRIC_NAME_LABEL.to_string(), "target_info".to_string());
    match Labels::from_pairs_with(labels, context.options.validation()) {
        Ok(labels) => out.push(labels, t, 1.0),
        Err(e) => out.reject(0, || format!("metric \"target_info\" (the resource's attributes): {e}")),
    }
}

fn no_recorded_value(flags: u32) -> bool {
    flags & 1 == 1
}

fn value_or_stale(v: f64, flags: u32) -> f64 {
    if no_recorded_value(flags) {
        f64::from_bits(STALE_NAN_BITS)
    } else {
        v
    }
}

/// Nanoseconds since the epoch to milliseconds (saturating).
fn time_ms(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}
