//! How long data is kept: a global retention by time, a size limit, and per-selector rules.
//!
//! **When a sample expires.** Retention counts back from the *reference time*: the newest
//! time the engine holds data for (its newest head sample, or the end of its newest block —
//! a block records the range it was cut for, up to a block range past its last sample), but
//! never later than the wall clock. For a live server that is
//! now; for a data set loaded from the past (a backfill, the seed's 2023 example) it is the
//! newest data, as Prometheus' own retention counts from its newest block — so loading old
//! data never deletes it on arrival, and one sample stamped in the future cannot expire
//! everything else. A sample at `t` of a series kept `k` ms has expired when
//! `t < reference − k`.
//!
//! **Which retention a series gets.** The longest of the rules whose selector matches it; the
//! global retention when none does; forever when neither is set. So a rule may shorten
//! (`debug_.*` for 2 days) or lengthen (`job="node"` for 90 days) what the global retention
//! gives, and a series two rules match keeps the longer.
//!
//! **How it is applied** (the engine's `enforce_retention`): a shard whose every block has
//! expired for every series is deleted whole — that is, its blocks end before the reference
//! minus the longest retention anyone gets; the size limit then deletes the oldest shards
//! while the blocks and WAL take more; inside the remaining blocks, the series that expired
//! sooner get tombstones, and their blocks are rewritten without them. Queries apply each
//! series' *rule* to what they read, so a sample a rule expired is never returned, before or
//! after any of that; the global retention acts as Prometheus' does, by deleting — within a
//! maintenance round (a minute) of expiring — so data loaded from long ago stays queryable
//! until then, as it would in Prometheus.

use strata_model::{Labels, Matcher};

/// One per-selector rule: series the selector selects are kept `keep` ms.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionRule {
    /// The selector as the user wrote it (for reports).
    pub selector: String,
    /// Its matchers: a series is selected when every matcher of one of the sets matches (a
    /// selector with `or` has several sets).
    pub matchers: Vec<Vec<Matcher>>,
    /// How long matching series are kept, ms.
    pub keep: i64,
}

impl RetentionRule {
    /// Whether the rule selects `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().any(|set| set.iter().all(|m| m.matches_labels(labels)))
    }
}

/// What is kept; see the module docs. The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionPolicy {
    /// Global retention, ms (`None`: forever).
    pub time: Option<i64>,
    /// The most bytes the blocks and WAL may take (`None`: no limit).
    pub size: Option<u64>,
    /// Per-selector rules.
    pub rules: Vec<RetentionRule>,
}

impl RetentionPolicy {
    /// Whether anything is ever deleted.
    pub fn is_unlimited(&self) -> bool {
        self.time.is_none() && self.size.is_none() && self.rules.is_empty()
    }

    /// The rule that gives `labels` its retention — the longest matching one (the first of
    /// equals) — and its index; `None` when no rule matches.
    pub fn rule_for(&self, labels: &Labels) -> Option<(usize, &RetentionRule)> {
        let mut best: Option<(usize, &RetentionRule)> = None;
        for (i, rule) in self.rules.iter().enumerate().filter(|(_, r)| r.matches(labels)) {
            if best.is_none_or(|(_, b)| rule.keep > b.keep) {
                best = Some((i, rule));
            }
        }
        best
    }

    /// How long `labels` is kept, ms (`None`: forever): the longest matching rule, else the
    /// global retention.
    pub fn keep_for(&self, labels: &Labels) -> Option<i64> {
        self.rule_for(labels).map(|(_, r)| r.keep).or(self.time)
    }

    /// The longest any series is kept (`None`: some series are kept forever).
    pub fn longest(&self) -> Option<i64> {
        let global = self.time?;
        Some(self.rules.iter().map(|r| r.keep).fold(global, i64::max))
    }

    /// The shortest any series is kept (`None`: nothing expires by time).
    pub fn shortest(&self) -> Option<i64> {
        self.rules.iter().map(|r| r.keep).chain(self.time).min()
    }

    /// The first time of `labels` still kept at reference time `reference` (`i64::MIN`:
    /// everything).
    pub fn kept_from(&self, labels: &Labels, reference: i64) -> i64 {
        self.keep_for(labels).map_or(i64::MIN, |keep| reference.saturating_sub(keep))
    }

    /// What queries hide of `labels` at once: the samples before `reference` minus its
    /// longest matching rule's retention (`i64::MIN` when no rule matches). The global
    /// retention, as Prometheus', is left to deleting shards and blocks (see the module
    /// docs).
    pub fn hidden_before(&self, labels: &Labels, reference: i64) -> i64 {
        self.rule_for(labels).map_or(i64::MIN, |(_, r)| reference.saturating_sub(r.keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 86_400_000;

    fn rule(matchers: Vec<Matcher>, keep: i64) -> RetentionRule {
        RetentionRule { selector: String::new(), matchers: vec![matchers], keep }
    }

    fn policy() -> RetentionPolicy {
        let debug = Matcher::new(strata_model::MatchOp::RegexMatch, "__name__", "debug_.*").unwrap();
        RetentionPolicy {
            time: Some(15 * D),
            size: None,
            rules: vec![rule(vec![debug], 2 * D), rule(vec![Matcher::equal("job", "node")], 90 * D)],
        }
    }

    fn labels(name: &str, job: &str) -> Labels {
        Labels::from_pairs([("__name__", name), ("job", job)]).unwrap()
    }

    #[test]
    fn the_longest_matching_rule_wins_and_the_global_retention_takes_the_rest() {
        let p = policy();
        assert_eq!(p.keep_for(&labels("debug_x", "api")), Some(2 * D));
        assert_eq!(p.keep_for(&labels("debug_x", "node")), Some(90 * D), "two rules: the longer");
        assert_eq!(p.keep_for(&labels("up", "node")), Some(90 * D));
        assert_eq!(p.keep_for(&labels("up", "api")), Some(15 * D));
        assert_eq!((p.longest(), p.shortest()), (Some(90 * D), Some(2 * D)));
        assert_eq!(p.kept_from(&labels("up", "api"), 100 * D), 85 * D);
    }

    #[test]
    fn without_a_global_retention_unmatched_series_are_kept_forever() {
        let p = RetentionPolicy { time: None, ..policy() };
        assert_eq!(p.keep_for(&labels("up", "api")), None);
        assert_eq!(p.longest(), None);
        assert_eq!(p.kept_from(&labels("up", "api"), 100 * D), i64::MIN);
        assert!(RetentionPolicy::default().is_unlimited());
    }
}
