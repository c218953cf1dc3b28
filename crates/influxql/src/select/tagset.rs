//! Tag sets: the engine's series of one measurement turned into InfluxDB's rows. A tag set
//! is one combination of tag values; its rows are the times at which any needed field has a
//! point, with every needed field's value at that time (null where it has none). Rows are
//! kept flat — a time column and a row-major value block — so that building them costs no
//! allocation per row.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::ast::{Dimension, Expr};
use crate::condition::{self, TimeRange};
use crate::namespace::{self, Store};
use crate::result::{Series, Value};

use super::{Request, RowView};

/// A series' tags, sorted by name.
pub(super) type Tags = Vec<(String, String)>;

/// One series' points of the needed field at this index.
type FieldPoints = (usize, Vec<(i64, f64)>);

/// One tag set's rows.
pub(super) struct TagSet {
    pub(super) tags: Tags,
    /// Row times (ns), ascending.
    pub(super) times: Vec<i64>,
    /// `width` values per row: the needed fields, in their order.
    values: Vec<Option<f64>>,
    width: usize,
    /// Rows from a subquery are points even where every value is null.
    pub(super) null_rows_are_points: bool,
}

impl TagSet {
    /// The needed fields' values at row `i`.
    pub(super) fn row(&self, i: usize) -> &[Option<f64>] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// A subquery's result series as a tag set: its tags, its rows in `range` for which
    /// `cond` holds, the `needed` columns' numbers (a column it lacks, or a string, is null).
    pub(super) fn from_series(
        series: Series,
        needed: &[String],
        range: TimeRange,
        cond: Option<&Expr>,
    ) -> TagSet {
        let columns: Vec<Option<usize>> = needed
            .iter()
            .map(|f| series.columns.iter().skip(1).position(|c| c == f).map(|i| i + 1))
            .collect();
        let mut set = TagSet {
            tags: series.tags.into_iter().collect(),
            times: Vec::new(),
            values: Vec::new(),
            width: needed.len(),
            null_rows_are_points: true,
        };
        for row in &series.values {
            let Some(Value::Time(t) | Value::ZonedTime(t, _)) = row.first() else { continue };
            if range.contains(*t) {
                set.times.push(*t);
                set.values.extend(columns.iter().map(|c| c.and_then(|i| row.get(i)).and_then(Value::as_f64)));
            }
        }
        match cond {
            Some(c) => filtered(set, c, needed),
            None => set,
        }
    }

    /// One field's points, in time order.
    pub(super) fn field_points(&self, index: usize) -> Vec<(i64, f64)> {
        (0..self.times.len()).filter_map(|i| self.row(i)[index].map(|v| (self.times[i], v))).collect()
    }
}

/// Series → tag sets with rows merged across fields; points outside the range, staleness
/// markers and rows failing the condition are dropped. Where two series give the same field
/// of a tag set at one time, the later series wins.
pub(super) fn tagsets(
    store: &Store<'_>,
    series: Vec<strata_storage::Series>,
    needed: &[String],
    range: TimeRange,
    rest: Option<&Expr>,
    limits: Request<'_>,
) -> Result<Vec<TagSet>, String> {
    let mut read = 0usize;
    // Per tag set: each of its series' field index and points in the range, in the order
    // the engine gave the series.
    let mut by_tags: BTreeMap<Tags, Vec<FieldPoints>> = BTreeMap::new();
    let mut samples = Vec::new();
    let tick_ns = store.tick_ns();
    for s in series {
        let Some(metric) = s.labels().metric_name() else { continue };
        let field = store.catalog.pair(metric).map_or_else(|| "value".to_string(), |p| p.field);
        let Some(index) = needed.iter().position(|f| *f == field) else { continue };
        if limits.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err("query timeout: the SELECT ran past the server's --query-timeout".into());
        }
        samples.clear();
        s.collect_samples_into(&mut samples).map_err(|e| e.to_string())?;
        read += samples.len();
        if limits.max_points > 0 && read > limits.max_points {
            return Err(format!(
                "the SELECT reads more than {} points (the server's --query-max-samples): narrow its time range or its series",
                limits.max_points
            ));
        }
        let points: Vec<(i64, f64)> = samples
            .iter()
            .map(|&(tick, v)| (tick.saturating_mul(tick_ns), v))
            .filter(|&(t, v)| range.contains(t) && !strata_model::is_stale_marker(v))
            .collect();
        by_tags.entry(namespace::tags_of(s.labels())).or_default().push((index, points));
    }
    let width = needed.len();
    let mut out = Vec::with_capacity(by_tags.len());
    for (tags, members) in by_tags {
        let mut set = match <[_; 1]>::try_from(members) {
            // One series (the usual case): its points, sorted and each time once, are the rows.
            Ok([(index, points)]) => TagSet::of_one_field(tags, index, width, &points),
            Err(members) => TagSet::merged(tags, width, members),
        };
        if let Some(cond) = rest {
            set = filtered(set, cond, needed);
        }
        out.push(set);
    }
    Ok(out)
}

impl TagSet {
    /// The rows of one series' points (sorted, each time once) of field `index`.
    fn of_one_field(tags: Tags, index: usize, width: usize, points: &[(i64, f64)]) -> TagSet {
        // Written once, row by row (no zeroed block first: this is most of a small query).
        let mut values = Vec::with_capacity(points.len() * width);
        for &(_, v) in points {
            values.extend((0..width).map(|slot| (slot == index).then_some(v)));
        }
        TagSet {
            tags,
            times: points.iter().map(|p| p.0).collect(),
            values,
            width,
            null_rows_are_points: false,
        }
    }

    /// The rows of several series' points: by time, and where two give the same field at
    /// one time, the later series wins.
    fn merged(tags: Tags, width: usize, members: Vec<FieldPoints>) -> TagSet {
        let mut points: Vec<(i64, usize, f64)> = members
            .into_iter()
            .flat_map(|(index, points)| points.into_iter().map(move |(t, v)| (t, index, v)))
            .collect();
        // Stable: among equal (time, field) the later series stays last and wins.
        if !points.is_sorted_by_key(|p| p.0) {
            points.sort_by_key(|p| p.0);
        }
        let mut set = TagSet {
            tags,
            times: Vec::with_capacity(points.len()),
            values: Vec::with_capacity(points.len() * width),
            width,
            null_rows_are_points: false,
        };
        for (t, index, v) in points {
            if set.times.last() != Some(&t) {
                set.times.push(t);
                set.values.extend(std::iter::repeat_n(None, width));
            }
            let row = set.times.len() - 1;
            set.values[row * width + index] = Some(v);
        }
        set
    }
}

/// The rows for which `cond` holds.
fn filtered(set: TagSet, cond: &Expr, needed: &[String]) -> TagSet {
    let mut kept = TagSet {
        tags: Vec::new(),
        times: Vec::new(),
        values: Vec::new(),
        width: set.width,
        null_rows_are_points: set.null_rows_are_points,
    };
    for i in 0..set.times.len() {
        let view = RowView { tags: &set.tags, fields: needed, values: set.row(i), missing_tag_empty: true };
        if condition::eval(cond, &view) == Value::Bool(true) {
            kept.times.push(set.times[i]);
            kept.values.extend_from_slice(set.row(i));
        }
    }
    kept.tags = set.tags;
    kept
}

/// Tag sets grouped by the GROUP BY tags' values (missing tags are `""`).
pub(super) fn group(tagsets: Vec<TagSet>, dims: &[Dimension]) -> BTreeMap<Tags, Vec<TagSet>> {
    let mut groups: BTreeMap<Tags, Vec<TagSet>> = BTreeMap::new();
    let mut names: BTreeSet<String> =
        dims.iter().filter_map(|d| if let Dimension::Tag(t) = d { Some(t.clone()) } else { None }).collect();
    let regexes: Vec<Regex> = dims
        .iter()
        .filter_map(|d| if let Dimension::Regex(r) = d { Regex::new(r).ok() } else { None })
        .collect();
    let all = dims.iter().any(|d| matches!(d, Dimension::Wildcard));
    if all || !regexes.is_empty() {
        for ts in &tagsets {
            for (k, _) in &ts.tags {
                if all || regexes.iter().any(|r| r.is_match(k)) {
                    names.insert(k.clone());
                }
            }
        }
    }
    for ts in tagsets {
        let key: Tags = names
            .iter()
            .map(|n| {
                (n.clone(), ts.tags.iter().find(|(k, _)| k == n).map_or(String::new(), |(_, v)| v.clone()))
            })
            .collect();
        groups.entry(key).or_default().push(ts);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_merge_fields_at_equal_times_flat() {
        let mut set = TagSet {
            tags: Vec::new(),
            times: vec![1, 2],
            values: vec![Some(1.0), None, None, Some(2.0)],
            width: 2,
            null_rows_are_points: false,
        };
        assert_eq!(set.row(1), &[None, Some(2.0)]);
        assert_eq!(set.field_points(0), vec![(1, 1.0)]);
        set.times.push(3);
        set.values.extend([Some(3.0), Some(4.0)]);
        assert_eq!(set.field_points(1), vec![(2, 2.0), (3, 4.0)]);
    }
}
