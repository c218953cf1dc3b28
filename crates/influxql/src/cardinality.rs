//! `SHOW … [EXACT] CARDINALITY`: how many of what the matching SHOW lists.
//!
//! Strata's index answers exactly, so EXACT and estimated give the same numbers; only the
//! shape differs, as in InfluxDB 1.6: tag keys, tag values and field keys are counted per
//! measurement (`count`), series per measurement when EXACT, otherwise one total
//! (`cardinality estimation`), measurements as one total.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{Cardinality, ShowFilter};
use crate::execute;
use crate::namespace::{self, Store};
use crate::result::{Series, Value};
use crate::select::Request;

pub(crate) fn show(
    store: &Store<'_>,
    of: &Cardinality,
    exact: bool,
    filter: &ShowFilter,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let unpaged = ShowFilter { limit: None, offset: 0, ..filter.clone() };
    let listed = match of {
        Cardinality::TagKeys => execute::show_tag_keys(store, &unpaged, request)?,
        Cardinality::TagValues(keys) => {
            execute::show_tag_values(store, &unpaged, keys, execute::SHOW_TAG_VALUES_CARDINALITY, request)?
        }
        Cardinality::FieldKeys => execute::show_field_keys(store, &unpaged, request)?,
        Cardinality::Series => return series(store, &unpaged, exact, request),
        Cardinality::Measurements => {
            let n =
                execute::show_measurements(store, &unpaged, request)?.first().map_or(0, |s| s.values.len());
            return Ok(vec![total(n, exact)]);
        }
    };
    Ok(listed.into_iter().map(|s| count(s.name, s.values.len())).collect())
}

fn series(
    store: &Store<'_>,
    filter: &ShowFilter,
    exact: bool,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let labels = execute::matching_series(store, filter, execute::SHOW_SERIES, request)?;
    let mut per_measurement: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for l in &labels {
        let m = execute::measurement_of(store, l);
        let key = namespace::series_key(&m, &namespace::tags_of(l));
        per_measurement.entry(m).or_default().insert(key);
    }
    if !exact {
        return Ok(vec![total(per_measurement.values().map(BTreeSet::len).sum(), false)]);
    }
    Ok(per_measurement.into_iter().map(|(m, keys)| count(m, keys.len())).collect())
}

fn count(name: String, n: usize) -> Series {
    Series {
        name,
        columns: vec!["count".into()],
        values: vec![vec![Value::Integer(n as i64)]],
        ..Series::default()
    }
}

fn total(n: usize, exact: bool) -> Series {
    let column = if exact { "count" } else { "cardinality estimation" };
    Series { columns: vec![column.into()], values: vec![vec![Value::Integer(n as i64)]], ..Series::default() }
}
