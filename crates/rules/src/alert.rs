//! One alert of an alerting rule — a label set the rule's expression returned — and its
//! state machine, Prometheus' semantics (../shared/specs/alerting-notes.md, section 2.3):
//! inactive → pending → firing → resolved; `for` delays firing, `keep_firing_for` holds a
//! firing alert after its condition clears.

use std::collections::BTreeMap;

use strata_model::Labels;

/// How long a resolved alert is kept (and its resolution re-sent).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// An alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    /// The name the API and `ALERTS{alertstate}` use.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert (times in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its identity: the sample's labels without `__name__`, the rule's expanded labels and
    /// `alertname`.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    /// The value of its sample at the last evaluation that returned it.
    pub value: f64,
    pub state: AlertState,
    /// When it became pending.
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    /// Until when the last notification holds (`endsAt` while firing).
    pub valid_until: i64,
    /// The first evaluation that no longer returned it while `keep_firing_for` holds it.
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// A new pending alert.
    pub fn pending(labels: Labels, annotations: BTreeMap<String, String>, value: f64, at: i64) -> Alert {
        Alert {
            labels,
            annotations,
            value,
            state: AlertState::Pending,
            active_at: at,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            valid_until: 0,
            keep_firing_since: None,
        }
    }

    /// Steps the state for an evaluation at `ts` that did not return this alert; returns
    /// whether it is to be forgotten.
    pub fn missed(&mut self, ts: i64, keep_firing_for: i64) -> bool {
        if self.state == AlertState::Firing && keep_firing_for > 0 {
            let since = *self.keep_firing_since.get_or_insert(ts);
            if ts - since < keep_firing_for {
                return false;
            }
        }
        match self.state {
            AlertState::Pending => true,
            AlertState::Firing => {
                self.state = AlertState::Inactive;
                self.resolved_at = Some(ts);
                self.keep_firing_since = None;
                false
            }
            AlertState::Inactive => self.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS),
        }
    }

    /// Steps the state for an evaluation at `ts` that returned this alert (after `missed`
    /// or a refresh): pending long enough fires; firing with a `for` raised past its age goes
    /// back to pending.
    pub fn advance(&mut self, ts: i64, hold: i64) {
        match self.state {
            AlertState::Pending if ts - self.active_at >= hold => {
                self.state = AlertState::Firing;
                self.fired_at = Some(ts);
            }
            AlertState::Firing if ts - self.active_at < hold && self.keep_firing_since.is_none() => {
                self.state = AlertState::Pending;
                self.fired_at = None;
                self.last_sent_at = None;
            }
            _ => {}
        }
    }

    /// Whether a notification is due at `ts` (Prometheus' `needsSending`): never while
    /// pending; a resolution not yet sent; otherwise once the resend delay has strictly passed.
    pub fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        let Some(last) = self.last_sent_at else { return true };
        if self.resolved_at.is_some_and(|r| r > last) {
            return true;
        }
        last + resend_delay < ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert::pending(Labels::empty(), BTreeMap::new(), 1.0, 0)
    }

    #[test]
    fn for_delays_firing_and_a_miss_resolves() {
        let mut a = alert();
        a.advance(60_000, 120_000);
        assert_eq!(a.state, AlertState::Pending);
        a.advance(120_000, 120_000);
        assert_eq!((a.state, a.fired_at), (AlertState::Firing, Some(120_000)));
        assert!(!a.missed(180_000, 0));
        assert_eq!((a.state, a.resolved_at), (AlertState::Inactive, Some(180_000)));
        assert!(!a.missed(180_000 + RESOLVED_RETENTION_MS, 0));
        assert!(a.missed(180_001 + RESOLVED_RETENTION_MS, 0), "forgotten after the retention");
        let mut p = alert();
        assert!(p.missed(60_000, 0), "a pending alert that misses is dropped");
    }

    #[test]
    fn keep_firing_for_holds_exactly_its_duration() {
        let mut a = alert();
        a.advance(0, 0);
        assert!(!a.missed(60_000, 60_000));
        assert_eq!((a.state, a.keep_firing_since), (AlertState::Firing, Some(60_000)));
        assert!(!a.missed(120_000, 60_000));
        assert_eq!(a.state, AlertState::Inactive, "one extra evaluation with interval = keep_firing_for");
    }

    #[test]
    fn resends_only_after_the_delay_has_strictly_passed() {
        let mut a = alert();
        assert!(!a.needs_sending(0, 60_000), "pending is never sent");
        a.advance(0, 0);
        assert!(a.needs_sending(0, 60_000));
        a.last_sent_at = Some(0);
        assert!(!a.needs_sending(60_000, 60_000));
        assert!(a.needs_sending(60_001, 60_000));
        a.missed(30_000, 0);
        assert!(a.needs_sending(30_000, 60_000), "a resolution goes out at once");
    }
}
