//! Playing a script's `load` into a store: item i of a series at `i × interval`.

use strata_model::histogram::HistogramValue;

use super::{Item, SeriesSpec};
use crate::queryable::MemoryQueryable;

/// What a load put in the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Float samples added (staleness markers included).
    pub samples: usize,
    /// Native histogram samples added.
    pub histograms: usize,
}

/// Adds `series` to `store`, item i at `i × interval` ms.
pub fn load_into(store: &mut MemoryQueryable, series: &[SeriesSpec], interval: i64) -> Loaded {
    let mut loaded = Loaded::default();
    for s in series {
        for (i, item) in s.items.iter().enumerate() {
            let t = i as i64 * interval;
            match item {
                Item::Float(v) => {
                    store.add(&s.labels, t, *v);
                    if let Some(Some(offset)) = s.start_times.get(i) {
                        store.add_start_time(&s.labels, t, t + offset);
                    }
                    loaded.samples += 1;
                }
                Item::Histogram(h) => {
                    store.add_histogram(&s.labels, t, HistogramValue::Float(h.clone()));
                    if let Some(Some(offset)) = s.start_times.get(i) {
                        store.add_start_time(&s.labels, t, t + offset);
                    }
                    loaded.histograms += 1;
                }
                Item::Empty => {}
            }
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queryable::Queryable;
    use crate::testscript::{parse_script, Command};

    #[test]
    fn items_land_at_multiples_of_the_interval() {
        let script = "load 10s\n  m{a=\"1\"} 1 _ 3 {{sum:1}} stale\n";
        let Command::Load { series, interval, .. } = &parse_script(script).unwrap()[0] else { panic!() };
        let mut store = MemoryQueryable::new();
        let loaded = load_into(&mut store, series, *interval);
        assert_eq!(loaded, Loaded { samples: 3, histograms: 1 });
        let got = store.select(&[], i64::MIN, i64::MAX).unwrap()[0].collect_samples().unwrap();
        assert_eq!(got.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 20_000, 40_000]);
        assert_eq!(got[2].1.to_bits(), strata_model::STALE_NAN_BITS);
    }

    #[test]
    fn start_time_lines_give_their_series_start_times() {
        let script = "load 1m\n  m@st _ -30s-1mx2 +1m\n  m 1 2 3 4 5\n";
        let Command::Load { series, interval, .. } = &parse_script(script).unwrap()[0] else { panic!() };
        assert_eq!(series.len(), 1);
        let mut store = MemoryQueryable::new();
        load_into(&mut store, series, *interval);
        let selected = &store.select(&[], i64::MIN, i64::MAX).unwrap()[0];
        let samples = selected.collect_samples().unwrap();
        assert_eq!(selected.start_times_of(&samples), Some(vec![0, 30_000, 30_000, 30_000, 300_000]));
        assert_eq!((selected.start_time_at(60_000), selected.start_time_at(0)), (30_000, 0));
        // Histograms keep theirs too.
        let script = "load 1m
  h@st _ -30s
  h {{count:1}} {{count:2}}
";
        let Command::Load { series, interval, .. } = &parse_script(script).unwrap()[0] else { panic!() };
        let mut store = MemoryQueryable::new();
        load_into(&mut store, series, *interval);
        assert_eq!(store.select(&[], i64::MIN, i64::MAX).unwrap()[0].start_time_at(60_000), 30_000);
        assert!(parse_script("load 1m\n  a@st -1m\n  b 1\n").is_err(), "a start-time line of another series");
    }
}
