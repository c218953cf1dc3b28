//! `SELECT … INTO [db.][rp.]measurement …`: the query's rows written back as points.
//!
//! Each row becomes one point per non-null column at the row's time: the target
//! measurement (`:MEASUREMENT` keeps the source's name), the column as its field, the result
//! series' tags (those of GROUP BY) as tags, in the target's database and retention policy.
//! The points go through the same naming and catalog registration as line protocol, so a
//! field that would collide with another pair on one metric is refused the same way. The
//! answer is InfluxDB's: a series `result` with the number of points written.

use strata_model::{Labels, METRIC_NAME_LABEL};

use crate::ast::Source;
use crate::namespace::{self, Store};
use crate::result::{Series, Value};

use super::Request;

/// The name that means "the source's measurement".
pub(crate) const SOURCE_MEASUREMENT: &str = ":MEASUREMENT";

/// Writes `series` into `target`; the result series.
pub(super) fn write(
    store: &Store<'_>,
    target: &Source,
    series: &[Series],
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let Source::Measurement { database, policy, name } = target else {
        return Err("SELECT INTO needs a measurement as its target".into());
    };
    let database = database.as_deref().or(request.database).ok_or("database name required")?;
    let target = namespace::write_target(store.catalog, database, policy.as_deref())?;
    let mut points: Vec<(Labels, i64, f64)> = Vec::new();
    // InfluxDB counts points as rows (one point carries every field of its row).
    let mut rows = 0;
    for s in series {
        let measurement = if name == SOURCE_MEASUREMENT { s.name.as_str() } else { name.as_str() };
        for row in &s.values {
            let Some(Value::Time(t) | Value::ZonedTime(t, _)) = row.first() else { continue };
            rows += usize::from(row.iter().skip(1).any(|v| v.as_f64().is_some()));
            for (column, value) in s.columns.iter().zip(row).skip(1) {
                let Some(v) = value.as_f64() else { continue };
                let mut labels = point_labels(measurement, column, s)?;
                let field_type = match value {
                    Value::Integer(_) => "integer",
                    Value::Bool(_) => "boolean",
                    _ => "float",
                };
                namespace::label_new_series(store.catalog, &target, measurement, &mut labels, field_type)?;
                points.push((labels, *t, v));
            }
        }
    }
    let result = store.engine.append_ns(&points).map_err(|e| e.to_string())?;
    if let Some(first) = result.rejected.first() {
        return Err(format!(
            "SELECT INTO: {} of {} points refused, the first as {}",
            result.rejected.len(),
            points.len(),
            first.reason
        ));
    }
    Ok(vec![Series {
        name: "result".into(),
        columns: vec!["time".into(), "written".into()],
        values: vec![vec![Value::Time(0), Value::Integer(rows as i64)]],
        ..Series::default()
    }])
}

/// A point's labels: the metric line protocol would name for (measurement, field), and
/// the series' tags.
fn point_labels(measurement: &str, field: &str, series: &Series) -> Result<Labels, String> {
    let metric = if field == "value" { measurement.to_string() } else { format!("{measurement}_{field}") };
    let pairs = std::iter::once((METRIC_NAME_LABEL.to_string(), metric))
        .chain(series.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    Labels::from_pairs(pairs).map_err(|e| format!("SELECT INTO {measurement}.{field}: {e}"))
}
