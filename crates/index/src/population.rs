//! A synthetic series population shaped like real infrastructure, for `strata index bench`
//! and the index benchmarks.
//!
//! 15 label names and about 45,000 distinct values at 1,000,000 series, skewed as real
//! label sets are: a few regions and environments with uneven shares, metric names and
//! services following Zipf's law, thousands of hosts and tens of thousands of pods, and
//! HTTP labels (`method`, `status`, `path`) on only the 30% of series that are HTTP metrics.
//! Deterministic for a seed.

use strata_codec::synthetic::SplitMix;
use strata_model::Labels;

/// One label's values and the cumulative distribution to draw them from.
#[derive(Debug)]
struct Dimension {
    name: &'static str,
    values: Vec<String>,
    /// Cumulative weights, last = 1.
    cdf: Vec<f64>,
}

impl Dimension {
    fn zipf(name: &'static str, prefix: &str, n: usize, exponent: f64) -> Self {
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / (k as f64).powf(exponent)).collect();
        Self::weighted(name, (0..n).map(|i| format!("{prefix}{i}")).collect(), &weights)
    }

    fn uniform(name: &'static str, prefix: &str, n: usize) -> Self {
        Self::zipf(name, prefix, n, 0.0)
    }

    fn weighted(name: &'static str, values: Vec<String>, weights: &[f64]) -> Self {
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cdf = weights.iter().map(|w| {
            acc += w / total;
            acc
        });
        Dimension { name, values, cdf: cdf.collect() }
    }

    fn draw(&self, rng: &mut SplitMix) -> &str {
        let u = rng.unit();
        let i = self.cdf.partition_point(|&c| c < u).min(self.values.len() - 1);
        &self.values[i]
    }
}

/// Generates label sets; see the module docs.
#[derive(Debug)]
pub struct Population {
    rng: SplitMix,
    always: Vec<Dimension>,
    http: Vec<Dimension>,
}

impl Population {
    /// A population drawn with `seed`.
    pub fn new(seed: u64) -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let always = vec![
            Dimension::zipf("__name__", "metric_", 600, 1.0),
            Dimension::zipf("region", "region-", 6, 1.0),
            Dimension::uniform("az", "az-", 18),
            Dimension::weighted("env", strings(&["prod", "staging", "dev"]), &[0.6, 0.25, 0.15]),
            Dimension::zipf("cluster", "cluster-", 30, 0.8),
            Dimension::zipf("namespace", "ns-", 150, 1.0),
            Dimension::zipf("service", "service-", 400, 1.2),
            Dimension::zipf("job", "job-", 100, 1.0),
            Dimension::uniform("host", "host-", 8_000),
            Dimension::uniform("pod", "pod-", 35_000),
            Dimension::zipf("container", "container-", 60, 1.0),
            Dimension::zipf("version", "v1.", 40, 1.5),
        ];
        let http = vec![
            Dimension::weighted(
                "method",
                strings(&["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
                &[0.6, 0.2, 0.1, 0.05, 0.03, 0.02],
            ),
            Dimension::weighted(
                "status",
                strings(&["200", "201", "204", "301", "304", "400", "401", "404", "500", "503"]),
                &[0.7, 0.05, 0.03, 0.02, 0.05, 0.04, 0.03, 0.05, 0.02, 0.01],
            ),
            Dimension::zipf("path", "/api/v1/endpoint-", 300, 1.0),
        ];
        Population { rng: SplitMix(seed), always, http }
    }

    /// The next label set (duplicates are possible but rare).
    pub fn next_labels(&mut self) -> Labels {
        let rng = &mut self.rng;
        let mut pairs: Vec<(&str, &str)> = self.always.iter().map(|d| (d.name, d.draw(rng))).collect();
        if rng.unit() < 0.3 {
            pairs.extend(self.http.iter().map(|d| (d.name, d.draw(rng))));
        }
        // Every name and value here is valid, so construction cannot fail.
        Labels::from_pairs(pairs).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_determinism() {
        let mut a = Population::new(3);
        let mut b = Population::new(3);
        let sets: Vec<Labels> = (0..2000).map(|_| a.next_labels()).collect();
        assert!(sets.iter().zip((0..2000).map(|_| b.next_labels())).all(|(x, y)| *x == y));
        assert!(sets.iter().all(|l| l.len() == 12 || l.len() == 15));
        let http = sets.iter().filter(|l| l.get("method").is_some()).count();
        assert!((450..750).contains(&http), "about 30% HTTP series, saw {http}");
        let prod = sets.iter().filter(|l| l.get("env") == Some("prod")).count();
        assert!((1050..1350).contains(&prod), "about 60% prod, saw {prod}");
    }
}
