//! Recording and alerting rules (ARCHITECTURE.md decision 12): Prometheus' rule files, Go
//! templates in labels and annotations, the alert state machine, group evaluation, and
//! promtool's rule unit tests.
//!
//! - `file`: rule files read and checked as `promtool check rules` does.
//! - `template`: Go's text/template with Prometheus' functions and Go's number printing.
//! - `alert`, `alerting_rule`, `recording_rule`, `group`: evaluation with Prometheus'
//!   semantics; `storage` is what they read and write; `context` what they share.

pub mod alert;
pub mod alerting_rule;
pub mod console;
pub mod context;
pub mod duration;
pub mod file;
pub mod group;
pub mod manager;
mod metrics;
pub mod notifier;
pub mod recording_rule;
pub mod restore;
pub mod rule_status;
pub mod storage;
pub mod template;
pub mod unit_test;
pub mod webhook;

pub use alert::{Alert, AlertState};
pub use context::{EvalContext, LocalQuerier, RuleQuerier};
pub use file::{load_file, parse_text, GroupSpec, ParseOptions, RuleFile, RuleFileError, RuleKind, RuleSpec};
pub use group::{Group, Rule, RuleError};
pub use manager::{ManagerOptions, RuleManager};
pub use storage::{MemoryStorage, RuleStorage, SampleSink};
