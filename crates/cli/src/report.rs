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
