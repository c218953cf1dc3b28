//! Monitoring-like synthetic series, for `strata gen` and the codec benchmarks (so the
//! figures a benchmark reports describe the same data the tool writes).
//!
//! Patterns (each deterministic for a given seed):
//! - `gauge`: a memory-in-use gauge like `process_resident_memory_bytes`: whole bytes, in
//!   4 KiB pages, following a daily cycle plus a random walk, unchanged at about a third of
//!   scrapes. Most gauges exporters expose are integer-valued like this (bytes, counts);
//! - `decimal`: a utilisation percentage with two decimals (like `node_load1` or a CPU
//!   percentage). Such values are not exact in binary, so every mantissa bit of the XOR
//!   is noise: the worst case for Gorilla, kept to show it;
//! - `counter`: a request counter: integer increments around a rate that follows the daily
//!   cycle, with a rare reset to zero (a process restart);
//! - `constant`: always 1, like `up`.

/// Shape of a synthetic series' values; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Whole bytes in 4 KiB pages, unchanged at about a third of scrapes.
    Gauge,
    /// A percentage with two decimals.
    Decimal,
    /// An integer counter with rare resets.
    Counter,
    /// Always 1.
    Constant,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SeriesSpec {
    /// Shape of the values.
    pub pattern: Pattern,
    /// Number of points.
    pub points: u64,
    /// Timestamp of the first point (ms).
    pub start: i64,
    /// Nominal time between points (ms).
    pub interval: i64,
    /// Largest random offset added to each timestamp (ms), like scrape jitter.
    pub jitter: u32,
    /// Seed of the random generator.
    pub seed: u64,
}

impl SeriesSpec {
    /// `points` points of `pattern` every 10 s from 2023-12-19T16:00:00Z, no jitter, seed 1.
    pub fn new(pattern: Pattern, points: u64) -> Self {
        SeriesSpec { pattern, points, start: 1_703_001_600_000, interval: 10_000, jitter: 0, seed: 1 }
    }
}

/// SplitMix64: tiny, fast, and the same sequence everywhere for a seed.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Generates the series `spec` describes.
pub fn generate(spec: &SeriesSpec) -> Vec<(i64, f64)> {
    let SeriesSpec { pattern, points: n, start, interval, jitter, seed } = *spec;
    const DAY_MS: f64 = 86_400_000.0;
    let mut rng = SplitMix(seed);
    let (mut walk, mut counter, mut held) = (0.0f64, 0.0f64, 0.0f64);
    (0..n)
        .map(|i| {
            let nominal = start.saturating_add((i as i64).saturating_mul(interval));
            let t = nominal.saturating_add((rng.next_u64() % (u64::from(jitter) + 1)) as i64);
            let daily = (nominal as f64 / DAY_MS * std::f64::consts::TAU).sin();
            let v = match pattern {
                Pattern::Gauge => {
                    if i > 0 && rng.unit() < 0.35 {
                        return (t, held);
                    }
                    walk = (walk + (rng.unit() - 0.5) * 400.0).clamp(-4000.0, 4000.0);
                    held = (12_000.0 + 3_000.0 * daily + walk).round().max(1.0) * 4096.0;
                    held
                }
                Pattern::Decimal => {
                    walk = (walk + (rng.unit() - 0.5) * 2.0).clamp(-20.0, 20.0);
                    let level = (45.0 + 25.0 * daily + walk).clamp(0.0, 100.0);
                    (level * 100.0).round() / 100.0
                }
                Pattern::Counter => {
                    if rng.next_u64().is_multiple_of(50_000) {
                        counter = 0.0;
                    }
                    let rate = 20.0 + 15.0 * daily; // per second
                    counter += (rate * interval as f64 / 1000.0 * (0.5 + rng.unit())).round();
                    counter
                }
                Pattern::Constant => 1.0,
            };
            (t, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(
        pattern: Pattern,
        points: u64,
        start: i64,
        interval: i64,
        jitter: u32,
        seed: u64,
    ) -> Vec<(i64, f64)> {
        super::generate(&SeriesSpec { pattern, points, start, interval, jitter, seed })
    }

    #[test]
    fn patterns_have_their_shape() {
        let g = generate(Pattern::Gauge, 10_000, 0, 10_000, 0, 7);
        assert!(g.iter().all(|&(_, v)| v > 0.0 && v % 4096.0 == 0.0));
        let repeats = g.windows(2).filter(|w| w[0].1 == w[1].1).count();
        assert!((2_000..5_000).contains(&repeats), "about a third unchanged, saw {repeats}");
        let d = generate(Pattern::Decimal, 10_000, 0, 10_000, 0, 7);
        assert!(d.iter().all(|&(_, v)| (0.0..=100.0).contains(&v) && (v * 100.0).round() / 100.0 == v));
        assert!(g.windows(2).all(|w| w[1].0 - w[0].0 == 10_000));
        let c = generate(Pattern::Counter, 10_000, 0, 10_000, 0, 7);
        let drops = c.windows(2).filter(|w| w[1].1 < w[0].1).count();
        assert!(drops <= 2, "counters only drop on a rare reset, saw {drops}");
        assert!(generate(Pattern::Constant, 100, 0, 1, 0, 7).iter().all(|&(_, v)| v == 1.0));
        let j = generate(Pattern::Constant, 1000, 0, 10_000, 25, 7);
        assert!(j.iter().enumerate().all(|(i, &(t, _))| (t - i as i64 * 10_000) <= 25));
        assert_eq!(generate(Pattern::Gauge, 50, 0, 1, 0, 3), generate(Pattern::Gauge, 50, 0, 1, 0, 3));
    }
}
