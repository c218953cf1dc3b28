//! What a query returns: Prometheus' four value types, with timestamps in milliseconds.

use std::fmt;

use strata_model::{format_float, Labels};

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation time (ms).
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One series of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Points in time order (ms, value).
    pub points: Vec<(i64, f64)>,
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
                    writeln!(f, "{} {}", s.labels, format_float(s.v))?;
                }
                Ok(())
            }
            Value::Matrix(series) => {
                for s in series {
                    let points: Vec<String> =
                        s.points.iter().map(|(t, v)| format!("{} @{}", format_float(*v), t)).collect();
                    writeln!(f, "{} => {}", s.labels, points.join(", "))?;
                }
                Ok(())
            }
        }
    }
}
