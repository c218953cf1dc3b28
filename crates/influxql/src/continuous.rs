//! Continuous queries: CREATE / DROP / SHOW, and the scheduler that runs them, as InfluxDB
//! 1.x's continuous-query service does.
//!
//! **Create.** The SELECT must have INTO and, if it aggregates, GROUP BY time (the parser
//! checks both). Its sources and its target are filled in with the query's database and
//! that database's default retention policy (the request's `rp`, if given), as InfluxDB
//! normalizes them, then it is stored in the catalog in InfluxDB's text (for SHOW) and
//! exactly (for running).
//!
//! **Schedule** ([`window`]). A query is looked at every second. With interval `i` (its
//! GROUP BY time), `every` (RESAMPLE EVERY, else `i`) and `for` (RESAMPLE FOR, else `i`,
//! or `every` when that is longer), it runs when `every` has passed since its last run, over
//! `[start, end)`: `start` the interval boundary `for` before the run was due, `end` the
//! last interval boundary at or before now less `every − i`. The first look after a start
//! only notes the time (a run then covers nothing unless now is on a boundary), so a query
//! covers each completed interval once while the server runs, and what passed while it was
//! down is not caught up (as in InfluxDB; RESAMPLE FOR widens each run to cover gaps).
//! Times are truncated as Go's `Time.Truncate`, to multiples since year 1, not the Unix
//! epoch: for intervals that do not divide 719,162 days (a week does not) InfluxDB's runs
//! and GROUP BY windows are not aligned, and Strata's runs are InfluxDB's.
//!
//! **Run.** The stored SELECT is parsed, `time >= start AND time < end` is added to its
//! condition, and it runs as a `SELECT … INTO` on its database at that moment.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ast::{BinaryOp, ContinuousQuery, Dimension, Expr, Select, Source};
use crate::catalog::StoredQuery;
use crate::namespace::Store;
use crate::print::{self, quote_ident, Numbers};
use crate::result::{Series, Value};
use crate::select::Request;

/// Nanoseconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch.
const GO_ZERO_TIME_NS: i128 = -62_135_596_800 * 1_000_000_000;

/// CREATE CONTINUOUS QUERY.
pub fn create(store: &Store<'_>, cq: &ContinuousQuery, rp: Option<&str>) -> Result<Vec<Series>, String> {
    let Some(db) = store.catalog.database(&cq.database) else {
        return Err(format!("database not found: {}", cq.database));
    };
    let policy = rp.filter(|p| !p.is_empty()).unwrap_or(&db.default_policy).to_string();
    let mut select = cq.select.clone();
    normalize(&mut select, &cq.database, &policy);
    let stored = StoredQuery {
        name: cq.name.clone(),
        query: create_text(cq, &select),
        select: print::select(&select, Numbers::Exact),
        every: cq.every,
        for_: cq.for_,
    };
    store
        .catalog
        .create_continuous_query(&cq.database, stored)
        .map_err(|e| e.to_string())?
        .map(|()| Vec::new())
}

/// DROP CONTINUOUS QUERY.
pub fn drop(store: &Store<'_>, database: &str, name: &str) -> Result<Vec<Series>, String> {
    store.catalog.drop_continuous_query(database, name).map_err(|e| e.to_string())?.map(|()| Vec::new())
}

/// SHOW CONTINUOUS QUERIES: a series per database (even one without queries).
pub fn show(store: &Store<'_>) -> Vec<Series> {
    store
        .catalog
        .continuous_queries()
        .into_iter()
        .map(|(database, queries)| Series {
            name: database,
            columns: vec!["name".into(), "query".into()],
            values: queries.into_iter().map(|q| vec![Value::Str(q.name), Value::Str(q.query)]).collect(),
            ..Series::default()
        })
        .collect()
}

/// `CREATE CONTINUOUS QUERY … END` as InfluxDB writes it.
fn create_text(cq: &ContinuousQuery, select: &Select) -> String {
    let mut text =
        format!("CREATE CONTINUOUS QUERY {} ON {} ", quote_ident(&cq.name), quote_ident(&cq.database));
    if cq.every > 0 || cq.for_ > 0 {
        text.push_str("RESAMPLE ");
        if cq.every > 0 {
            text.push_str(&format!("EVERY {} ", print::format_duration(cq.every)));
        }
        if cq.for_ > 0 {
            text.push_str(&format!("FOR {} ", print::format_duration(cq.for_)));
        }
    }
    text.push_str(&format!("BEGIN {} END", print::select(select, Numbers::Influx)));
    text
}

/// Fills in every measurement's database and retention policy (sources, subqueries' and
/// the target).
fn normalize(select: &mut Select, database: &str, policy: &str) {
    let fill = |source: &mut Source| {
        if let Source::Measurement { database: d, policy: p, .. }
        | Source::Regex { database: d, policy: p, .. } = source
        {
            d.get_or_insert_with(|| database.to_string());
            p.get_or_insert_with(|| policy.to_string());
        }
    };
    if let Some(into) = &mut select.into {
        fill(into);
    }
    for source in &mut select.sources {
        match source {
            Source::Subquery(inner) => normalize(inner, database, policy),
            other => fill(other),
        }
    }
}

/// Go's `Time.Truncate`: `t` rounded down to a multiple of `d` since year 1.
fn truncate(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let since_zero = i128::from(t) - GO_ZERO_TIME_NS;
    let rounded = since_zero - since_zero.rem_euclid(i128::from(d)) + GO_ZERO_TIME_NS;
    rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// When a query with GROUP BY interval `interval` (and `offset`) runs: given its last run
/// (`None`: not since the start) and now, the range to run over, if any, and the new last
/// run (`None`: not due, nothing changes). See the module docs.
pub fn window(
    (interval, offset): (i64, i64),
    (every, for_): (i64, i64),
    last_run: Option<i64>,
    now: i64,
) -> (Option<(i64, i64)>, Option<i64>) {
    let every = if every > 0 { every } else { interval };
    let for_ = if for_ > 0 {
        for_
    } else if interval < every {
        every
    } else {
        interval
    };
    let next_run = match last_run {
        Some(last) if last.saturating_add(every) <= now => last.saturating_add(every),
        Some(_) => return (None, None),
        None => now,
    };
    let ran = truncate(now.saturating_sub(offset), every).saturating_add(offset);
    let start = truncate(next_run + interval - for_ - offset - 1, interval).saturating_add(offset);
    let end = truncate(now + interval - every - offset, interval).saturating_add(offset);
    ((end > start).then_some((start, end)), Some(ran))
}

/// One run of a continuous query.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub database: String,
    pub name: String,
    pub start: i64,
    pub end: i64,
    /// Points written, or why the run failed.
    pub outcome: Result<i64, String>,
}

/// A query the scheduler knows: its statement parsed once (the stored text it came from,
/// to notice a query dropped and made again with other text) and its last run.
#[derive(Debug)]
struct Known {
    text: String,
    select: Option<Box<Select>>,
    last_run: Option<i64>,
}

/// The continuous queries' parsed statements and last runs, by (database, name), since the
/// server started.
#[derive(Debug, Default)]
pub struct Scheduler {
    known: Mutex<HashMap<(String, String), Known>>,
}

impl Scheduler {
    /// Runs every query due at `now` (ns); what ran.
    pub fn run_due(&self, store: &Store<'_>, now: i64) -> Vec<Ran> {
        let mut ran = Vec::new();
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut live = std::collections::HashSet::new();
        for (database, queries) in store.catalog.continuous_queries() {
            for q in queries {
                let key = (database.clone(), q.name.clone());
                live.insert(key.clone());
                let entry = known.entry(key).or_insert_with(|| Known {
                    text: String::new(),
                    select: None,
                    last_run: None,
                });
                if entry.text != q.select {
                    *entry = Known { select: parsed_select(&q.select), text: q.select, last_run: None };
                }
                // Written by `create`, so it parses and has GROUP BY time; never run garbage.
                let Some(select) = &entry.select else { continue };
                let Some((interval, offset)) = group_by_time(select) else { continue };
                let (range, last) = window((interval, offset), (q.every, q.for_), entry.last_run, now);
                if last.is_some() {
                    entry.last_run = last;
                }
                if let Some((start, end)) = range {
                    let outcome = run_once(store, &database, select, (start, end), now);
                    ran.push(Ran { database: database.clone(), name: q.name.clone(), start, end, outcome });
                }
            }
        }
        known.retain(|k, _| live.contains(k)); // dropped queries start afresh if made again
        ran
    }
}

/// The one SELECT of `text`, if it is that.
fn parsed_select(text: &str) -> Option<Box<Select>> {
    match crate::parser::parse_query(text, &Default::default()).ok()?.as_mut_slice() {
        [crate::ast::Statement::Select(s)] => Some(std::mem::take(s)),
        _ => None,
    }
}

/// The GROUP BY time interval and offset (an offset of `now()` counts as none).
fn group_by_time(select: &Select) -> Option<(i64, i64)> {
    select.dimensions.iter().find_map(|d| match d {
        Dimension::Time { interval, offset } => {
            Some((*interval, if *offset == i64::MIN { 0 } else { *offset }))
        }
        _ => None,
    })
}

/// Runs `select` over `[start, end)`; the points written.
fn run_once(
    store: &Store<'_>,
    database: &str,
    select: &Select,
    (start, end): (i64, i64),
    now: i64,
) -> Result<i64, String> {
    let time = |op, t| Expr::Binary {
        op,
        lhs: Box::new(Expr::Ref { name: "time".into(), kind: crate::ast::RefType::Any }),
        rhs: Box::new(Expr::Integer(t)),
    };
    let range = Expr::Binary {
        op: BinaryOp::And,
        lhs: Box::new(time(BinaryOp::Gte, start)),
        rhs: Box::new(time(BinaryOp::Lt, end)),
    };
    let mut select = select.clone();
    select.condition = Some(match select.condition.take() {
        None => range,
        Some(c) => {
            Expr::Binary { op: BinaryOp::And, lhs: Box::new(Expr::Paren(Box::new(c))), rhs: Box::new(range) }
        }
    });
    let written = crate::select::select(store, &select, Request::new(Some(database), None, now))?;
    Ok(written
        .first()
        .and_then(|s| s.values.first())
        .and_then(|row| row.get(1))
        .and_then(|v| match v {
            Value::Integer(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn truncation_is_gos_since_year_one() {
        assert_eq!(truncate(17 * S, 5 * S), 15 * S);
        assert_eq!(truncate(-3 * S, 5 * S), -5 * S);
        // A week: year 1 began on a Monday, the epoch on a Thursday.
        let week = 7 * 86_400 * S;
        assert_eq!(truncate(0, week), -3 * 86_400 * S);
    }

    #[test]
    fn a_query_covers_each_completed_interval_once() {
        let i = 5 * S;
        // First look at 12 s: only notes the time.
        let (range, last) = window((i, 0), (0, 0), None, 12 * S);
        assert_eq!((range, last), (None, Some(10 * S)));
        // Not due before 15 s.
        assert_eq!(window((i, 0), (0, 0), last, 14 * S), (None, None));
        // At 15.2 s: [10 s, 15 s).
        let (range, last) = window((i, 0), (0, 0), Some(10 * S), 15 * S + S / 5);
        assert_eq!(range, Some((10 * S, 15 * S)));
        assert_eq!(last, Some(15 * S));
        // Checks at every second after that cover each interval exactly once.
        let mut last = last;
        let mut covered = vec![(10 * S, 15 * S)];
        for now in (16..60).map(|s| s * S) {
            let (range, next) = window((i, 0), (0, 0), last, now);
            if next.is_some() {
                last = next;
            }
            covered.extend(range);
        }
        let expected: Vec<(i64, i64)> = (2..11).map(|k| (k * i, (k + 1) * i)).collect();
        assert_eq!(covered, expected);
    }

    #[test]
    fn resample_widens_and_spaces_the_runs() {
        let (i, h) = (60 * S, 3600 * S);
        // RESAMPLE EVERY 10m FOR 1h over 1m windows: every 10 minutes, an hour back from
        // `now + interval − every` (InfluxDB's end, which lags by `every − interval`).
        let (range, last) = window((i, 0), (10 * i, h), Some(0), 10 * i);
        assert_eq!(range, Some((10 * i - h, i)));
        assert_eq!(last, Some(10 * i));
        assert_eq!(window((i, 0), (10 * i, h), last, 19 * i), (None, None));
        // RESAMPLE EVERY 30m over 1h windows: the hour in progress, every half hour.
        let (range, _) = window((h, 0), (30 * i, 0), Some(7 * h), 7 * h + 30 * i);
        assert_eq!(range, Some((7 * h, 8 * h)));
        let (range, _) = window((h, 0), (30 * i, 0), Some(7 * h + 30 * i), 8 * h);
        assert_eq!(range, Some((7 * h, 8 * h)));
        // RESAMPLE FOR 3m alone: every minute, the last three minutes.
        let (range, _) = window((i, 0), (0, 3 * i), Some(4 * i), 5 * i);
        assert_eq!(range, Some((2 * i, 5 * i)));
    }
}
