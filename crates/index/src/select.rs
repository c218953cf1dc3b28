//! Turning label matchers into the set of series they select, with Prometheus' semantics.
//!
//! A matcher that does *not* match the empty string selects a set P of series: those with
//! the label and a matching value — the union of the postings of the matching values. A
//! matcher that *does* match the empty string also selects every series without the label,
//! so it is easier to say which series it rejects: N, those whose value does not match.
//! (`a!="x"` rejects `a="x"`; `a=""` rejects every series that has `a`; `a!~"x.*"` rejects
//! the values starting with `x`.)
//!
//! The answer is `(P₁ ∩ P₂ ∩ …) − N₁ − N₂ − …`, starting from all series when there is no P
//! (so `{a!="x"}` alone works). Plan:
//! 1. sets that are one postings list (`=`, and `!=` on the negative side) are taken as they
//!    are, without copying; regex sets use the shortcuts of `regex_plan`;
//! 2. P sets are intersected smallest first, stopping as soon as the result is empty;
//! 3. N sets are subtracted, stopping once nothing is left.

use std::borrow::Cow;

use roaring::RoaringBitmap;

use crate::postings::Postings;
use strata_model::{MatchOp, Matcher};

use crate::label_table::{LabelName, LabelTable};
use crate::regex_plan::{plan, RegexPlan};

/// Which side of the answer a matcher's set goes to.
enum Side<'a> {
    Positive(Cow<'a, RoaringBitmap>),
    Negative(Cow<'a, RoaringBitmap>),
}

/// Evaluates `matchers` over `table`; `all` holds every live series.
pub(crate) fn select(table: &LabelTable, all: &RoaringBitmap, matchers: &[Matcher]) -> RoaringBitmap {
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for m in matchers {
        match side(table, m) {
            Side::Positive(set) if set.is_empty() => return RoaringBitmap::new(),
            Side::Positive(set) => positive.push(set),
            Side::Negative(set) => negative.push(set),
        }
    }
    positive.sort_by_key(|s| s.len());
    let mut result = match positive.split_first() {
        None => all.clone(),
        Some((smallest, rest)) => {
            let mut acc = smallest.clone().into_owned();
            for set in rest {
                acc &= set.as_ref();
                if acc.is_empty() {
                    return acc;
                }
            }
            acc
        }
    };
    for set in &negative {
        result -= set.as_ref();
        if result.is_empty() {
            break;
        }
    }
    result
}

fn side<'a>(table: &'a LabelTable, m: &Matcher) -> Side<'a> {
    let label = table.by_name(m.name());
    let empty = || Cow::Owned(RoaringBitmap::new());
    if !m.matches_empty() {
        let Some(label) = label else { return Side::Positive(empty()) };
        return Side::Positive(match m.op() {
            MatchOp::Equal => label.value_id(m.value()).map_or_else(empty, |id| label.postings(id).bitmap()),
            _ => union_where(label, m, true),
        });
    }
    // Matches the empty string: only series that have the label can be rejected.
    let Some(label) = label else { return Side::Negative(empty()) };
    Side::Negative(match m.op() {
        MatchOp::NotEqual => label.value_id(m.value()).map_or_else(empty, |id| label.postings(id).bitmap()),
        _ => union_where(label, m, false),
    })
}

/// The union of the postings of the values of `label` for which `m.matches` is `want`.
fn union_where<'a>(label: &'a LabelName, m: &Matcher, want: bool) -> Cow<'a, RoaringBitmap> {
    let regex = matches!(m.op(), MatchOp::RegexMatch | MatchOp::RegexNoMatch);
    // The shortcuts give the values the *regex* matches; for `!~` matching is the opposite.
    let regex_wants = want == (m.op() == MatchOp::RegexMatch);
    let sets: Vec<&Postings> = match (regex, regex.then(|| plan(m.value()))) {
        (true, Some(RegexPlan::Literals(values))) if regex_wants => {
            values.iter().filter_map(|v| label.value_id(v)).map(|id| label.postings(id)).collect()
        }
        (true, Some(RegexPlan::Prefix(prefix))) => label
            .live_values()
            .filter(|(value, _)| value.starts_with(prefix.as_str()) == regex_wants)
            .map(|(_, p)| p)
            .collect(),
        _ => label.live_values().filter(|(value, _)| m.matches(value) == want).map(|(_, p)| p).collect(),
    };
    // One multi-way union, not a chain of pairwise ones into a growing accumulator.
    Cow::Owned(crate::postings::union(sets))
}
