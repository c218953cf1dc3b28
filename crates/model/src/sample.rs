//! One observation of a series: a millisecond timestamp and a float value.

/// Milliseconds since the Unix epoch (ARCHITECTURE.md, decision 1).
pub type Timestamp = i64;

/// The bit pattern Prometheus writes as a staleness marker: a NaN that no arithmetic
/// produces (the ordinary NaN is `0x7ff8000000000001`). Codecs store it as-is.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is the staleness marker (compared by bits: every NaN is unequal to itself).
pub fn is_stale_marker(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A value as Prometheus writes it in its API and console: `NaN`, `+Inf`, `-Inf`, else
/// the shortest decimal that reads back to the same float, never in exponent form (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`, which Rust's `Display` matches).
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

/// One sample of a float series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Timestamp in milliseconds since the Unix epoch.
    pub t: Timestamp,
    /// The value; any `f64` bit pattern, NaN payloads included, is kept exactly.
    pub v: f64,
}

impl Sample {
    /// A sample at `t` with value `v`.
    pub fn new(t: Timestamp, v: f64) -> Self {
        Sample { t, v }
    }

    /// Equality of timestamp and value *bits*: unlike `==`, NaN equals the same NaN and
    /// `-0.0` differs from `0.0`. This is what a lossless codec must preserve.
    pub fn bit_eq(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_like_prometheus() {
        assert_eq!(format_float(0.75), "0.75");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(1e-7), "0.0000001");
        assert_eq!(format_float(1e21), "1000000000000000000000");
    }

    #[test]
    fn bit_eq_distinguishes_what_eq_cannot() {
        let nan = Sample::new(1, f64::NAN);
        assert!(nan.bit_eq(&nan));
        assert_ne!(nan, nan);
        assert!(!Sample::new(1, 0.0).bit_eq(&Sample::new(1, -0.0)));
        assert!(is_stale_marker(f64::from_bits(STALE_NAN_BITS)));
        assert!(!is_stale_marker(f64::NAN));
    }
}
