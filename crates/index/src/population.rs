//! A synthetic series population shaped like real infrastructure, for `strata index bench`
//! and the index benchmarks.
//!
//! 15 label names and about 45,000 distinct values at 1,000,000 series, skewed as real
//! label sets are: a few regions and environments with uneven shares, metric names and
//! services following Zipf's law, thousands of hosts and tens of thousands of pods, and
//! HTTP labels (`method`, `status`, `path`) on only the 30% of series that are HTTP metrics.
//! Deterministic for a seed.
//!
//! Series come target by target, as scrapes deliver them: a target (its region, env,
//! cluster, namespace, service, job, host, pod, container, version) is drawn, then 10–40 of
//! its series, each with a metric name and, for HTTP metrics, request labels.

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
        &self.values[self.draw_index(rng)]
    }

    fn draw_index(&self, rng: &mut SplitMix) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.values.len() - 1)
    }
}

/// Generates label sets; see the module docs.
#[derive(Debug)]
pub struct Population {
    rng: SplitMix,
    metric: Dimension,
    target: Vec<Dimension>,
    http: Vec<Dimension>,
    /// The current target's labels and how many more series it yields.
    current: Vec<(&'static str, String)>,
    remaining: u32,
    /// Metric names the current target already used (for plain, non-HTTP series).
    used: Vec<usize>,
    /// Targets drawn so far; each gets its own pod, as pods belong to one target.
    targets: u64,
}

impl Population {
    /// A population drawn with `seed`.
    pub fn new(seed: u64) -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let target = vec![
            Dimension::zipf("region", "region-", 6, 1.0),
            Dimension::uniform("az", "az-", 18),
            Dimension::weighted("env", strings(&["prod", "staging", "dev"]), &[0.6, 0.25, 0.15]),
            Dimension::zipf("cluster", "cluster-", 30, 0.8),
            Dimension::zipf("namespace", "ns-", 150, 1.0),
            Dimension::zipf("service", "service-", 400, 1.2),
            Dimension::zipf("job", "job-", 100, 1.0),
            Dimension::uniform("host", "host-", 8_000),
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
        let metric = Dimension::zipf("__name__", "metric_", 600, 1.0);
        Population {
            rng: SplitMix(seed),
            metric,
            target,
            http,
            current: Vec::new(),
            remaining: 0,
            used: Vec::new(),
            targets: 0,
        }
    }

    /// The next label set (a target may repeat a metric: duplicates happen, rarely).
    pub fn next_labels(&mut self) -> Labels {
        let rng = &mut self.rng;
        if self.remaining == 0 {
            self.current = self.target.iter().map(|d| (d.name, d.draw(rng).to_string())).collect();
            self.current.push(("pod", format!("pod-{}", self.targets)));
            self.targets += 1;
            self.remaining = 10 + (rng.next_u64() % 31) as u32;
            self.used.clear();
        }
        self.remaining -= 1;
        let mut pairs: Vec<(&str, &str)> = self.current.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let http = rng.unit() < 0.3;
        // A plain series repeating a metric of its target would be a duplicate: redraw
        // (a few times; the skew makes some repeats unavoidable, and those are skipped).
        let mut metric = self.metric.draw_index(rng);
        for _ in 0..8 {
            if http || !self.used.contains(&metric) {
                break;
            }
            metric = self.metric.draw_index(rng);
        }
        self.used.push(metric);
        pairs.push(("__name__", &self.metric.values[metric]));
        if http {
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
        let pods: std::collections::HashSet<_> = sets.iter().filter_map(|l| l.get("pod")).collect();
        assert!((30..=200).contains(&pods.len()), "series come in targets of 10-40, saw {} pods", pods.len());
        assert!(sets.iter().zip((0..2000).map(|_| b.next_labels())).all(|(x, y)| *x == y));
        assert!(sets.iter().all(|l| l.len() == 12 || l.len() == 15));
        let http = sets.iter().filter(|l| l.get("method").is_some()).count();
        assert!((450..750).contains(&http), "about 30% HTTP series, saw {http}");
        let prod = sets.iter().filter(|l| l.get("env") == Some("prod")).count();
        assert!((800..1600).contains(&prod), "about 60% prod (drawn per target), saw {prod}");
    }
}
