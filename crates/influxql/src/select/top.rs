//! `top(field[, tag…], n)` and `bottom(…)`, as InfluxDB 1.6 answers them.
//!
//! Per window, the candidates are every point, or with tag arguments the best point of each
//! combination of those tags' values; the `n` best candidates (larger first for `top`,
//! smaller for `bottom`, earlier first among equals) are listed by time, best first among
//! equal times. Each row carries the tag arguments' values (see [`super::selector`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::ast::Expr;

use super::window::Windows;
use super::Group;

/// A point of a group: time, value, index of its member series.
type Point = (i64, f64, usize);

/// The call's parts: the field, the tag arguments, `n`.
pub(super) struct TopCall<'a> {
    pub(super) name: &'a str,
    pub(super) field: &'a str,
    pub(super) tags: Vec<&'a str>,
    pub(super) n: usize,
}

impl<'a> TopCall<'a> {
    pub(super) fn parse(name: &'a str, args: &'a [Expr]) -> Result<TopCall<'a>, String> {
        let Some(Expr::Ref { name: field, .. }) = args.first() else {
            return Err(format!("expected first argument to be a field in {name}(), found {}", args.len()));
        };
        let n = match args.last() {
            Some(Expr::Integer(n)) if args.len() >= 2 && *n > 0 => *n as usize,
            Some(Expr::Integer(n)) if args.len() >= 2 => {
                return Err(format!("limit ({n}) in {name} function must be at least 1"));
            }
            _ => return Err(format!("expected integer as last argument in {name}()")),
        };
        let mut tags = Vec::new();
        for a in &args[1..args.len() - 1] {
            match a {
                Expr::Ref { name: tag, .. } => tags.push(tag.as_str()),
                _ => return Err(format!("only fields or tags are allowed in {name}()")),
            }
        }
        Ok(TopCall { name, field, tags, n })
    }

    /// Whether `a` ranks before `b`.
    fn rank(&self, a: &Point, b: &Point) -> Ordering {
        let by_value = if self.name == "top" { b.1.total_cmp(&a.1) } else { a.1.total_cmp(&b.1) };
        by_value.then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2))
    }
}

/// The chosen points of every window, in output order.
pub(super) fn chosen(call: &TopCall<'_>, group: &Group<'_>, windows: &Windows) -> Vec<Point> {
    let points = group.points(call.field);
    (0..windows.starts.len()).flat_map(|i| best(call, windows.slice(&points, |p| p.0, i), group)).collect()
}

/// The chosen points of one window, in output order.
fn best(call: &TopCall<'_>, window: &[Point], group: &Group<'_>) -> Vec<Point> {
    let mut candidates: Vec<Point> = if call.tags.is_empty() {
        window.to_vec()
    } else {
        let mut per_key: BTreeMap<Vec<&str>, Point> = BTreeMap::new();
        for p in window {
            let key: Vec<&str> = call.tags.iter().map(|t| group.tag(p.2, t).unwrap_or("")).collect();
            let entry = per_key.entry(key).or_insert(*p);
            if call.rank(p, entry) == Ordering::Less {
                *entry = *p;
            }
        }
        per_key.into_values().collect()
    };
    candidates.sort_by(|a, b| call.rank(a, b));
    candidates.truncate(call.n);
    let mut ranked: Vec<(usize, Point)> = candidates.into_iter().enumerate().collect();
    ranked.sort_by_key(|(rank, p)| (p.0, *rank));
    ranked.into_iter().map(|(_, p)| p).collect()
}
