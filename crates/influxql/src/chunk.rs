//! Chunked answers (`chunked=true`, `chunk_size=n`), cut as InfluxDB 1.6 cuts them.
//!
//! Each chunk is a result of its own, a JSON document per line. SELECT and most SHOWs go
//! through InfluxDB's emitter: a new chunk at every series and every `chunk_size` rows,
//! the series marked `partial` where it was cut and the result `partial` while the same
//! statement goes on in the next chunk. SHOW TAG KEYS and SHOW TAG VALUES send one chunk
//! per measurement, never marked.
//!
//! An answer that is not chunked is still cut inside InfluxDB, at [`DEFAULT_CHUNK_SIZE`]
//! rows, and the pieces joined again before it is written; the joined series keeps its
//! first piece's mark, so a series of more than 10,000 rows says `partial` ([`unchunked`]).

use crate::ast::Statement;
use crate::result::{Series, StatementResult};

/// InfluxDB's default `chunk_size`.
pub const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// The chunks of the results of `statements`, in order.
pub fn chunks(
    statements: &[Statement],
    results: Vec<StatementResult>,
    chunk_size: usize,
) -> Vec<StatementResult> {
    let chunk_size = if chunk_size == 0 { DEFAULT_CHUNK_SIZE } else { chunk_size };
    let mut out = Vec::new();
    for (statement, result) in statements.iter().zip(results) {
        if result.error.is_some() || result.series.is_empty() {
            out.push(result);
            continue;
        }
        let per_series = emitted_per_series(statement);
        let StatementResult { statement_id, series, mut messages, .. } = result;
        let pieces: Vec<Series> =
            if per_series { series } else { series.into_iter().flat_map(|s| cut(s, chunk_size)).collect() };
        let last = pieces.len() - 1;
        for (i, series) in pieces.into_iter().enumerate() {
            out.push(StatementResult {
                statement_id,
                series: vec![series],
                // The statement's messages ride with its first chunk.
                messages: std::mem::take(&mut messages),
                partial: !per_series && i < last,
                error: None,
            });
        }
    }
    out
}

/// The results of `statements` answered whole: each series the emitter would have cut
/// (more than [`DEFAULT_CHUNK_SIZE`] rows) marked partial, as InfluxDB's join leaves it.
pub fn unchunked(statements: &[Statement], mut results: Vec<StatementResult>) -> Vec<StatementResult> {
    for (statement, result) in statements.iter().zip(&mut results) {
        if !emitted_per_series(statement) {
            for series in &mut result.series {
                series.partial |= series.values.len() > DEFAULT_CHUNK_SIZE;
            }
        }
    }
    results
}

/// Whether a statement's answer comes one chunk per series, never cut (SHOW TAG KEYS and
/// SHOW TAG VALUES), rather than through the emitter.
fn emitted_per_series(statement: &Statement) -> bool {
    matches!(statement, Statement::ShowTagKeys(_) | Statement::ShowTagValues { .. })
}

/// A series in pieces of at most `size` rows, all but the last marked partial.
fn cut(series: Series, size: usize) -> Vec<Series> {
    if series.values.len() <= size {
        return vec![series];
    }
    let Series { name, tags, columns, values, .. } = series;
    let count = values.len().div_ceil(size);
    let mut rows = values.into_iter();
    (0..count)
        .map(|i| Series {
            name: name.clone(),
            tags: tags.clone(),
            columns: columns.clone(),
            values: rows.by_ref().take(size).collect(),
            partial: i + 1 < count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::ShowFilter;
    use crate::result::Value;

    fn series(name: &str, rows: usize) -> Series {
        Series {
            name: name.into(),
            columns: vec!["time".into(), "v".into()],
            values: (0..rows).map(|i| vec![Value::Time(i as i64), Value::Float(i as f64)]).collect(),
            ..Series::default()
        }
    }

    fn result(id: usize, series: Vec<Series>) -> StatementResult {
        StatementResult { statement_id: id, series, ..StatementResult::default() }
    }

    #[test]
    fn selects_are_cut_at_series_and_at_the_chunk_size() {
        let select =
            crate::parser::parse_query("SELECT v FROM cpu GROUP BY host", &Default::default()).unwrap();
        let out = chunks(&select, vec![result(0, vec![series("a", 1), series("b", 3)])], 2);
        let shape: Vec<(usize, bool, bool)> =
            out.iter().map(|r| (r.series[0].values.len(), r.series[0].partial, r.partial)).collect();
        assert_eq!(shape, vec![(1, false, true), (2, true, true), (1, false, false)]);
        let text: Vec<String> = out
            .iter()
            .map(|r| crate::result::write_results(std::slice::from_ref(r), crate::time::Epoch::Unit(1)))
            .collect();
        assert_eq!(
            text[1],
            r#"{"results":[{"statement_id":0,"series":[{"name":"b","columns":["time","v"],"values":[[0,0],[1,1]],"partial":true}],"partial":true}]}"#
        );
    }

    #[test]
    fn a_whole_answer_marks_the_series_the_emitter_would_cut() {
        let select =
            crate::parser::parse_query("SELECT v FROM cpu GROUP BY host", &Default::default()).unwrap();
        let whole = vec![series("a", DEFAULT_CHUNK_SIZE), series("b", DEFAULT_CHUNK_SIZE + 1)];
        let out = unchunked(&select, vec![result(0, whole)]);
        let marks: Vec<bool> = out[0].series.iter().map(|s| s.partial).collect();
        assert_eq!(marks, vec![false, true]);
        assert!(!out[0].partial);
        let show = vec![Statement::ShowTagKeys(ShowFilter::default())];
        let out = unchunked(&show, vec![result(0, vec![series("cpu", DEFAULT_CHUNK_SIZE + 1)])]);
        assert!(!out[0].series[0].partial);
    }

    #[test]
    fn tag_keys_come_one_measurement_a_chunk_unmarked() {
        let show = vec![Statement::ShowTagKeys(ShowFilter::default())];
        let out = chunks(&show, vec![result(0, vec![series("cpu", 3), series("mem", 1)])], 2);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|r| !r.partial && !r.series[0].partial && r.series.len() == 1));
        assert_eq!(out[0].series[0].values.len(), 3);
    }

    #[test]
    fn errors_and_empty_results_pass_through() {
        let select =
            crate::parser::parse_query("SELECT v FROM a; SELECT v FROM b", &Default::default()).unwrap();
        let out = chunks(&select, vec![StatementResult::error(0, "boom"), result(1, vec![])], 1);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].error.as_deref(), Some("boom"));
        assert_eq!(out[1].statement_id, 1);
    }
}
