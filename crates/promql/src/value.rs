//! What a query returns: Prometheus' four value types, with timestamps in milliseconds.

use std::fmt;
use std::sync::Arc;

use strata_model::histogram::FloatHistogram;
use strata_model::{format_float, Labels};

use crate::native_histogram::format_histogram;

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation time (ms).
    pub t: i64,
    /// The value (meaningless when `h` is set).
    pub v: f64,
    /// A native histogram, when the sample is one.
    pub h: Option<Arc<FloatHistogram>>,
}

/// One series of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Points in time order (ms, value).
    pub points: Vec<(i64, f64)>,
    /// Native-histogram points in time order (a time has a float or a histogram).
    pub histograms: Vec<(i64, Arc<FloatHistogram>)>,
}

/// A query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number at time `t`.
    Scalar { t: i64, v: f64 },
    /// A string at time `t`.
    String { t: i64, s: String },
    /// An instant vector (the result of an instant query).
    Vector(Vec<Sample>),
    /// A range vector, or a range query's result (sorted by labels).
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// The type's name as Prometheus writes it in `resultType` and in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

impl fmt::Display for Value {
    /// The REPL's form: one row per series, `labels value` or `labels value @ t` lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar { v, .. } => writeln!(f, "{}", format_float(*v)),
            Value::String { s, .. } => writeln!(f, "{s:?}"),
            Value::Vector(samples) => {
                for s in samples {
                    match &s.h {
                        Some(h) => writeln!(f, "{} {}", s.labels, format_histogram(h))?,
                        None => writeln!(f, "{} {}", s.labels, format_float(s.v))?,
                    }
                }
                Ok(())
            }
            Value::Matrix(series) => {
                for s in series {
                    let mut points: Vec<(i64, String)> =
                        s.points.iter().map(|(t, v)| (*t, format!("{} @{}", format_float(*v), t))).collect();
                    points.extend(
                        s.histograms.iter().map(|(t, h)| (*t, format!("{} @{}", format_histogram(h), t))),
                    );
                    points.sort_by_key(|p| p.0);
                    let points: Vec<String> = points.into_iter().map(|p| p.1).collect();
                    writeln!(f, "{} => {}", s.labels, points.join(", "))?;
                }
                Ok(())
            }
        }
    }
}
