//! Recording and alerting rules (ARCHITECTURE.md decision 12): Prometheus' rule files, Go
//! templates in labels and annotations, the alert state machine, group evaluation, and
//! promtool's rule unit tests.

pub mod duration;
pub mod template;
