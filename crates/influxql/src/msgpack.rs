//! The answers of `/query` in MessagePack, which InfluxDB 1.x sends when the request
//! accepts `application/x-msgpack` (as the official Python client asks). The shape is the
//! JSON one — the same keys in the same order, empty parts left out — but numbers keep
//! their type (a float `2` stays a float) and, without `epoch`, times are MessagePack
//! extension 5: seconds (8 bytes) and nanoseconds (4 bytes), big-endian.

use crate::result::{Series, StatementResult, Value};
use crate::time::Epoch;

/// The extension type InfluxDB gives times.
const TIME_EXT: u8 = 5;

/// `{"results":[…]}` in MessagePack.
pub fn write_results(results: &[StatementResult], epoch: Epoch) -> Vec<u8> {
    let mut out = Vec::new();
    map_header(&mut out, 1);
    string(&mut out, "results");
    array_header(&mut out, results.len());
    for r in results {
        result(&mut out, r, epoch);
    }
    out
}

fn result(out: &mut Vec<u8>, r: &StatementResult, epoch: Epoch) {
    let keys = 1
        + usize::from(!r.series.is_empty())
        + usize::from(!r.messages.is_empty())
        + usize::from(r.partial)
        + usize::from(r.error.is_some());
    map_header(out, keys);
    string(out, "statement_id");
    integer(out, r.statement_id as i64);
    if !r.series.is_empty() {
        string(out, "series");
        array_header(out, r.series.len());
        for s in &r.series {
            series(out, s, epoch);
        }
    }
    if !r.messages.is_empty() {
        string(out, "messages");
        array_header(out, r.messages.len());
        for (level, text) in &r.messages {
            map_header(out, 2);
            string(out, "level");
            string(out, level);
            string(out, "text");
            string(out, text);
        }
    }
    if r.partial {
        string(out, "partial");
        out.push(0xc3);
    }
    if let Some(e) = &r.error {
        string(out, "error");
        string(out, e);
    }
}

fn series(out: &mut Vec<u8>, s: &Series, epoch: Epoch) {
    let keys = 1
        + usize::from(!s.name.is_empty())
        + usize::from(!s.tags.is_empty())
        + usize::from(!s.values.is_empty())
        + usize::from(s.partial);
    map_header(out, keys);
    if !s.name.is_empty() {
        string(out, "name");
        string(out, &s.name);
    }
    if !s.tags.is_empty() {
        string(out, "tags");
        map_header(out, s.tags.len());
        for (k, v) in &s.tags {
            string(out, k);
            string(out, v);
        }
    }
    string(out, "columns");
    array_header(out, s.columns.len());
    for c in &s.columns {
        string(out, c);
    }
    if !s.values.is_empty() {
        string(out, "values");
        array_header(out, s.values.len());
        for row in &s.values {
            array_header(out, row.len());
            for v in row {
                value(out, v, epoch);
            }
        }
    }
    if s.partial {
        string(out, "partial");
        out.push(0xc3);
    }
}

fn value(out: &mut Vec<u8>, v: &Value, epoch: Epoch) {
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Integer(i) => integer(out, *i),
        Value::Str(s) => string(out, s),
        Value::Strings(list) => {
            array_header(out, list.len());
            list.iter().for_each(|s| string(out, s));
        }
        Value::Time(ns) | Value::ZonedTime(ns, _) => match epoch {
            Epoch::Unit(per) => integer(out, ns / per),
            Epoch::Rfc3339 => {
                out.extend_from_slice(&[0xc7, 12, TIME_EXT]);
                out.extend_from_slice(&ns.div_euclid(1_000_000_000).to_be_bytes());
                out.extend_from_slice(&(ns.rem_euclid(1_000_000_000) as u32).to_be_bytes());
            }
        },
    }
}

fn integer(out: &mut Vec<u8>, i: i64) {
    match i {
        0..=127 => out.push(i as u8),
        -32..=-1 => out.push(i as i8 as u8),
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    match n {
        0..=31 => out.push(0xa0 | n as u8),
        32..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s.as_bytes());
}

fn array_header(out: &mut Vec<u8>, n: usize) {
    collection_header(out, n, 0x90, 0xdc, 0xdd);
}

fn map_header(out: &mut Vec<u8>, n: usize) {
    collection_header(out, n, 0x80, 0xde, 0xdf);
}

fn collection_header(out: &mut Vec<u8>, n: usize, fix: u8, sixteen: u8, thirty_two: u8) {
    match n {
        0..=15 => out.push(fix | n as u8),
        16..=0xffff => {
            out.push(sixteen);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(thirty_two);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What influxd 1.6 sent for `SELECT v FROM cpu GROUP BY host` (one point, no epoch),
    /// captured from the real server.
    #[test]
    fn a_select_is_written_as_influxd_writes_it() {
        let r = StatementResult {
            statement_id: 0,
            series: vec![Series {
                name: "cpu".into(),
                tags: [("host".to_string(), "a".to_string())].into(),
                columns: vec!["time".into(), "v".into()],
                values: vec![vec![Value::Time(1_700_000_000_000_000_000), Value::Float(1.5)]],
                partial: false,
            }],
            ..StatementResult::default()
        };
        let mut expected = vec![0x81, 0xa7];
        expected.extend_from_slice(b"results");
        expected.extend_from_slice(&[0x91, 0x82, 0xac]);
        expected.extend_from_slice(b"statement_id");
        expected.extend_from_slice(&[0x00, 0xa6]);
        expected.extend_from_slice(b"series");
        expected.extend_from_slice(&[0x91, 0x84, 0xa4]);
        expected.extend_from_slice(b"name");
        expected.extend_from_slice(&[0xa3]);
        expected.extend_from_slice(b"cpu");
        expected.extend_from_slice(&[0xa4]);
        expected.extend_from_slice(b"tags");
        expected.extend_from_slice(&[0x81, 0xa4]);
        expected.extend_from_slice(b"host");
        expected.extend_from_slice(&[0xa1, b'a', 0xa7]);
        expected.extend_from_slice(b"columns");
        expected.extend_from_slice(&[0x92, 0xa4]);
        expected.extend_from_slice(b"time");
        expected.extend_from_slice(&[0xa1, b'v', 0xa6]);
        expected.extend_from_slice(b"values");
        expected.extend_from_slice(&[
            0x91, 0x92, 0xc7, 0x0c, 0x05, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 0,
        ]);
        expected.extend_from_slice(&[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(write_results(&[r], Epoch::Rfc3339), expected);
    }

    #[test]
    fn integers_take_the_smallest_form_and_long_strings_a_length() {
        let mut out = Vec::new();
        for i in [0, 127, -1, -32, 128, -33, i64::MIN] {
            integer(&mut out, i);
        }
        assert_eq!(&out[..4], &[0x00, 0x7f, 0xff, 0xe0]);
        assert_eq!(out[4], 0xd3);
        assert_eq!(out.len(), 4 + 3 * 9);
        let mut s = Vec::new();
        string(&mut s, &"x".repeat(300));
        assert_eq!(&s[..3], &[0xda, 0x01, 0x2c]);
        assert_eq!(s.len(), 303);
    }
}
