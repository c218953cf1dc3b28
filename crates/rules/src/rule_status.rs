//! What the API reports of every rule: health, last error, last evaluation and its duration.

/// A rule's health (`/api/v1/rules`' `health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// The outcome of a rule's last evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    pub health: Health,
    pub last_error: Option<String>,
    /// When it last ran (ms since the epoch).
    pub last_evaluation_ms: Option<i64>,
    /// How long it took, seconds.
    pub evaluation_seconds: f64,
}

impl RuleStatus {
    /// Records an evaluation at `ts` that took `seconds`.
    pub fn record(&mut self, ts: i64, seconds: f64, outcome: &Result<(), String>) {
        self.last_evaluation_ms = Some(ts);
        self.evaluation_seconds = seconds;
        match outcome {
            Ok(()) => {
                self.health = Health::Ok;
                self.last_error = None;
            }
            Err(e) => {
                self.health = Health::Err;
                self.last_error = Some(e.clone());
            }
        }
    }
}
