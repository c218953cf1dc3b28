//! Counting a set of series from the postings, for cardinality explorers and reports,
//! without reading a single series: a series carries each label name at most once, so the
//! series with name `n` are Σ over its values of |postings(n=v) ∩ selection|, and a value
//! is present when that intersection is not empty. Memory is what the answer holds — one
//! entry per label name, and the `top` largest pairs and values kept in bounded heaps —
//! charged against a byte budget as it grows, so a request for "every pair" on ten million
//! series is refused by name instead of growing the process.
//!
//! The index's read lock is held for the whole count (series creation waits). Measured with
//! `scripts/bench-cardinality-report.py --series 10000000`: ~0.6 s for every series (about
//! 60 ns per pair), ~6 s with a selection (each single-series postings is intersected).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use roaring::RoaringBitmap;

use crate::label_table::LabelTable;

/// What to count.
#[derive(Debug, Clone, Default)]
pub struct CensusRequest {
    /// The series counted; `None`: every live series.
    pub selection: Option<RoaringBitmap>,
    /// How many of the largest values of each focus name to keep.
    pub top: usize,
    /// How many of the largest `name=value` pairs to keep.
    pub top_pairs: usize,
    /// Label names whose values are ranked (`__name__` ranks metrics).
    pub focus: Vec<String>,
    /// Bytes the answer may hold; past it the count stops with [`CensusError`].
    pub budget: usize,
}

/// A label name over the counted series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCount {
    pub name: String,
    /// Series carrying it.
    pub series: u64,
    /// Its distinct values.
    pub values: u64,
    /// Σ value length × series (Prometheus' `memoryInBytesByLabelName`).
    pub value_bytes: u64,
}

/// The count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    pub total_series: u64,
    /// Distinct `name=value` pairs on the counted series.
    pub total_pairs: u64,
    /// Every label name present, by name.
    pub names: Vec<NameCount>,
    /// The `top` pairs with most series: (name, value, series), most first, ties by pair.
    pub top_pairs: Vec<(String, String, u64)>,
    /// For each focus name (in the request's order), its `top` values with most series.
    pub top_values: Vec<(String, Vec<(String, u64)>)>,
    /// Bytes the count held at its largest (what the budget was charged).
    pub charged_bytes: usize,
}

/// The budget ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusError {
    pub budget: usize,
    /// Pairs counted when it ran out.
    pub pairs_counted: u64,
}

impl std::fmt::Display for CensusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the count would hold more than its memory budget of {} bytes (after {} label pairs); ask for fewer top entries or select fewer series",
            self.budget, self.pairs_counted
        )
    }
}

impl std::error::Error for CensusError {}

/// A heap entry: ordered so that the heap's top is the entry to drop first (fewest series,
/// then the greatest pair, so that ties keep the alphabetically first).
#[derive(PartialEq, Eq)]
struct Ranked<'a> {
    series: u64,
    name: &'a str,
    value: &'a str,
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        Reverse(self.series)
            .cmp(&Reverse(other.series))
            .then_with(|| (self.name, self.value).cmp(&(other.name, other.value)))
    }
}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Bytes an entry kept for the answer is charged: not only its place in a heap but what it
/// costs on its way out as JSON (owned strings, serde values, the text, the response) —
/// about 700 bytes of RSS per pair measured at 200,000 pairs
/// (`scripts/bench-cardinality-report.py`), rounded up.
const ENTRY_BYTES: usize = 1024;

/// The `top` largest entries seen.
struct TopHeap<'a> {
    top: usize,
    heap: BinaryHeap<Ranked<'a>>,
}

impl<'a> TopHeap<'a> {
    fn new(top: usize) -> Self {
        TopHeap { top, heap: BinaryHeap::new() }
    }

    /// Offers an entry; returns how many entries were added (0 or 1).
    fn offer(&mut self, entry: Ranked<'a>) -> usize {
        if self.top == 0 {
            return 0;
        }
        if self.heap.len() < self.top {
            self.heap.push(entry);
            return 1;
        }
        if self.heap.peek().is_some_and(|worst| entry < *worst) {
            self.heap.pop();
            self.heap.push(entry);
        }
        0
    }

    /// Largest first.
    fn into_sorted(self) -> Vec<Ranked<'a>> {
        self.heap.into_sorted_vec()
    }
}

/// The memory a count holds, against its budget.
struct Charge {
    budget: usize,
    used: usize,
    peak: usize,
}

impl Charge {
    fn add(&mut self, bytes: usize, pairs_counted: u64) -> Result<(), CensusError> {
        self.used += bytes;
        self.peak = self.peak.max(self.used);
        if self.used > self.budget {
            return Err(CensusError { budget: self.budget, pairs_counted });
        }
        Ok(())
    }
}

/// Counts the series `request` selects among `all` (see the module docs).
pub(crate) fn count(
    table: &LabelTable,
    all: &RoaringBitmap,
    request: &CensusRequest,
) -> Result<Census, CensusError> {
    // A selection of every live series (one metric's, when there is one metric) counts as
    // none: each pair's count is then its postings' length, with no intersection.
    let selection = request.selection.as_ref().map(|s| s & all).filter(|s| s.len() != all.len());
    let mut charge = Charge { budget: request.budget, used: 0, peak: 0 };
    charge.add(selection.as_ref().map_or(0, RoaringBitmap::serialized_size), 0)?;
    let mut pairs = TopHeap::new(request.top_pairs);
    let mut focus: Vec<TopHeap> = request.focus.iter().map(|_| TopHeap::new(request.top)).collect();
    let mut names = Vec::new();
    let mut total_pairs = 0u64;
    let mut counted = 0u64;
    for label in table.iter() {
        let name: &str = &label.name;
        let mut here = NameCount { name: String::new(), series: 0, values: 0, value_bytes: 0 };
        let focus_slot = request.focus.iter().position(|f| f == name);
        for (value, postings) in label.live_values() {
            counted += 1;
            let series = match &selection {
                Some(s) => postings.intersection_len(s),
                None => postings.len(),
            };
            if series == 0 {
                continue;
            }
            here.series += series;
            here.values += 1;
            here.value_bytes += value.len() as u64 * series;
            let added = pairs.offer(Ranked { series, name, value })
                + focus_slot.map_or(0, |slot| focus[slot].offer(Ranked { series, name, value }));
            charge.add(added * ENTRY_BYTES, counted)?;
        }
        if here.values > 0 {
            total_pairs += here.values;
            charge.add(ENTRY_BYTES + name.len(), counted)?;
            here.name = name.to_string();
            names.push(here);
        }
    }
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let total_series = selection.as_ref().map_or(all.len(), RoaringBitmap::len);
    let owned = |r: &Ranked| (r.name.to_string(), r.value.to_string(), r.series);
    let top_pairs: Vec<_> = pairs.into_sorted().iter().map(owned).collect();
    let top_values = request
        .focus
        .iter()
        .zip(focus)
        .map(|(name, heap)| {
            (name.clone(), heap.into_sorted().into_iter().map(|r| (r.value.to_string(), r.series)).collect())
        })
        .collect();
    Ok(Census { total_series, total_pairs, names, top_pairs, top_values, charged_bytes: charge.peak })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use strata_model::{Labels, Matcher};

    use super::*;
    use crate::SeriesIndex;

    /// Exact counts the slow way, by reading every series: the oracle of the tests.
    fn count_by_reading(series: &[Labels]) -> (HashMap<(String, String), u64>, u64) {
        let mut pairs: HashMap<(String, String), u64> = HashMap::new();
        for labels in series {
            for l in labels.iter() {
                *pairs.entry((l.name.clone(), l.value.clone())).or_default() += 1;
            }
        }
        (pairs, series.len() as u64)
    }

    fn series_strategy() -> impl Strategy<Value = Vec<Labels>> {
        proptest::collection::vec((0u8..4, 0u8..6, proptest::option::of(0u16..50)), 1..200).prop_map(|rows| {
            rows.into_iter()
                .map(|(m, job, id)| {
                    let mut pairs =
                        vec![("__name__".to_string(), format!("m{m}")), ("job".into(), format!("j{job}"))];
                    if let Some(id) = id {
                        pairs.push(("id".into(), id.to_string()));
                    }
                    Labels::from_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str()))).unwrap()
                })
                .collect()
        })
    }

    proptest! {
        /// Against reading every selected series: totals, per-name figures and the top
        /// pairs and metrics (ties broken by name) agree exactly.
        #[test]
        fn census_agrees_with_reading_the_series(all in series_strategy(), pick in 0u8..6, top in 1usize..8) {
            let index = SeriesIndex::new();
            for labels in &all {
                index.get_or_create(labels).unwrap();
            }
            let matchers = [Matcher::new(strata_model::MatchOp::NotEqual, "job", format!("j{pick}")).unwrap()];
            let selected: Vec<Labels> = {
                let mut seen = std::collections::BTreeSet::new();
                all.iter().filter(|l| l.get("job") != Some(&format!("j{pick}")) && seen.insert((*l).clone())).cloned().collect()
            };
            let request = CensusRequest {
                selection: Some(index.select(&matchers)),
                top,
                top_pairs: top,
                focus: vec!["__name__".into()],
                budget: usize::MAX,
            };
            let census = index.census(&request).unwrap();
            let (pairs, total) = count_by_reading(&selected);
            prop_assert_eq!(census.total_series, total);
            prop_assert_eq!(census.total_pairs, pairs.len() as u64);
            let mut expected: Vec<(String, String, u64)> = pairs.iter().map(|((n, v), c)| (n.clone(), v.clone(), *c)).collect();
            expected.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
            let metrics: Vec<(String, u64)> = expected.iter().filter(|p| p.0 == "__name__").map(|p| (p.1.clone(), p.2)).take(top).collect();
            expected.truncate(top);
            prop_assert_eq!(&census.top_pairs, &expected);
            prop_assert_eq!(&census.top_values[0].1, &metrics);
            for n in &census.names {
                let series: u64 = pairs.iter().filter(|((name, _), _)| *name == n.name).map(|(_, c)| c).sum();
                let values = pairs.keys().filter(|(name, _)| *name == n.name).count() as u64;
                prop_assert_eq!((n.series, n.values), (series, values), "{}", n.name);
            }
        }
    }

    #[test]
    fn a_count_past_its_budget_is_refused_by_name() {
        let index = SeriesIndex::new();
        for i in 0..1000 {
            index
                .get_or_create(&Labels::from_pairs([("__name__", "m"), ("id", &i.to_string())]).unwrap())
                .unwrap();
        }
        let request =
            CensusRequest { selection: None, top: 0, top_pairs: usize::MAX, focus: vec![], budget: 65_536 };
        let err = index.census(&request).unwrap_err();
        assert!(err.to_string().contains("memory budget of 65536 bytes"), "{err}");
        let small = CensusRequest { top_pairs: 10, ..request };
        let census = index.census(&small).unwrap();
        assert_eq!(census.total_pairs, 1001);
        assert!(census.charged_bytes <= 65_536, "{}", census.charged_bytes);
    }
}
