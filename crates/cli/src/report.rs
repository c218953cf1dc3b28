//! Printing a report as text or as one JSON object.

use serde::Serialize;

/// A report a subcommand prints: the same figures as text for people or JSON for scripts.
pub(crate) trait Report: Serialize {
    /// The human-readable form.
    fn text(&self) -> String;
}

/// Prints `report` as one JSON object (with `json`) or as its text.
pub(crate) fn print<R: Report>(report: &R, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Formats a float as Prometheus writes values: `NaN`, `+Inf`, `-Inf`, else the shortest
/// decimal that reads back to the same float.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_like_prometheus() {
        assert_eq!(format_value(0.75), "0.75");
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        // Like Go's FormatFloat(v, 'f', -1, 64), which Prometheus' API uses: no exponent.
        assert_eq!(format_value(1e21), "1000000000000000000000");
    }
}
