//! Native histograms in PromQL: what queries compute with (`FloatHistogram`, counts as
//! floats), and the operations Prometheus defines on them — bucket boundaries and
//! iteration (`buckets`), addition, subtraction and scaling across schemas and zero
//! thresholds (`arith`), quantiles, fractions and standard deviations (`quantile`), and
//! the test scripts' `{{…}}` notation (`notation`).

pub(crate) mod arith;
mod bound_table;
pub(crate) mod buckets;
pub(crate) mod go_string;
pub(crate) mod kahan;
pub mod notation;
pub(crate) mod quantile;
pub(crate) mod trim;

pub use notation::{format_histogram, parse_histogram};

use strata_model::histogram::{FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

/// The non-empty buckets of `h` as Prometheus' API lists them, in value order:
/// `(boundaries, lower, upper, count)`, `boundaries` saying which ends are inclusive —
/// 0 upper only (positive and custom buckets), 1 lower only (negative buckets), 3 both (the
/// zero bucket).
pub fn api_buckets(h: &FloatHistogram) -> Vec<(u8, f64, f64, f64)> {
    buckets::all_buckets(h)
        .into_iter()
        .filter(|b| b.count != 0.0)
        .map(|b| {
            let rule = if b.zero {
                3
            } else if b.upper <= 0.0 && h.schema != CUSTOM_BUCKETS_SCHEMA {
                1
            } else {
                0
            };
            (rule, b.lower, b.upper, b.count)
        })
        .collect()
}
