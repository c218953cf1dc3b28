//! The series count N days ahead from the growth history: least squares on the hourly
//! points, both as a line (y = a + b·t) and as exponential growth (ln y = a + b·t); the
//! model with the smaller squared error over the points (measured in series, so the two
//! compare) is chosen and named. The interval is the 95% prediction interval of that fit
//! (for the exponential one, computed on ln y and mapped back).

use serde::Serialize;

use crate::tracker::GrowthPoint;

const HOUR_MS: i64 = 3_600_000;

/// A forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// `linear` or `exponential`.
    pub method: &'static str,
    pub days: u32,
    /// The time forecast for (ms).
    pub at: i64,
    pub series: f64,
    /// The 95% prediction interval.
    pub low: f64,
    pub high: f64,
    /// Growth per day now, in series.
    pub per_day: f64,
    /// Hourly points fitted.
    pub points: usize,
    /// Squared error of the chosen fit per point (series²).
    pub mean_squared_error: f64,
}

struct Fit {
    a: f64,
    b: f64,
    se: f64,
    mean_x: f64,
    sxx: f64,
    n: f64,
}

fn least_squares(xs: &[f64], ys: &[f64]) -> Option<Fit> {
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let b = sxy / sxx;
    let a = mean_y - b * mean_x;
    let rss: f64 = xs.iter().zip(ys).map(|(x, y)| (y - (a + b * x)).powi(2)).sum();
    let se = if n > 2.0 { (rss / (n - 2.0)).sqrt() } else { 0.0 };
    Some(Fit { a, b, se, mean_x, sxx, n })
}

impl Fit {
    fn at(&self, x: f64) -> f64 {
        self.a + self.b * x
    }

    /// Half-width of the 95% prediction interval at `x`.
    fn half_width(&self, x: f64) -> f64 {
        1.96 * self.se * (1.0 + 1.0 / self.n + (x - self.mean_x).powi(2) / self.sxx).sqrt()
    }
}

/// The forecast `days` ahead of the last point; none with fewer than three points.
pub fn forecast(history: &[GrowthPoint], days: u32) -> Option<Forecast> {
    if history.len() < 3 {
        return None;
    }
    let t0 = history[0].hour;
    let xs: Vec<f64> = history.iter().map(|p| (p.hour - t0) as f64 / HOUR_MS as f64).collect();
    let ys: Vec<f64> = history.iter().map(|p| p.series as f64).collect();
    let last = history[history.len() - 1].hour;
    let at = last + i64::from(days) * 24 * HOUR_MS;
    let x0 = (at - t0) as f64 / HOUR_MS as f64;
    let x_now = (last - t0) as f64 / HOUR_MS as f64;
    let linear = least_squares(&xs, &ys)?;
    let linear_mse =
        xs.iter().zip(&ys).map(|(x, y)| (y - linear.at(*x)).powi(2)).sum::<f64>() / xs.len() as f64;
    let exponential = if ys.iter().all(|y| *y > 0.0) {
        let logs: Vec<f64> = ys.iter().map(|y| y.ln()).collect();
        least_squares(&xs, &logs).map(|fit| {
            let mse = xs.iter().zip(&ys).map(|(x, y)| (y - fit.at(*x).exp()).powi(2)).sum::<f64>()
                / xs.len() as f64;
            (fit, mse)
        })
    } else {
        None
    };
    let forecast = match exponential {
        Some((fit, mse)) if mse < linear_mse && fit.b > 0.0 => {
            let h = fit.half_width(x0);
            Forecast {
                method: "exponential",
                days,
                at,
                series: fit.at(x0).exp(),
                low: (fit.at(x0) - h).exp(),
                high: (fit.at(x0) + h).exp(),
                per_day: fit.at(x_now).exp() * ((fit.b * 24.0).exp() - 1.0),
                points: history.len(),
                mean_squared_error: mse,
            }
        }
        _ => {
            let h = linear.half_width(x0);
            Forecast {
                method: "linear",
                days,
                at,
                series: linear.at(x0).max(0.0),
                low: (linear.at(x0) - h).max(0.0),
                high: linear.at(x0) + h,
                per_day: linear.b * 24.0,
                points: history.len(),
                mean_squared_error: linear_mse,
            }
        }
    };
    Some(forecast)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(f: impl Fn(f64) -> f64, hours: i64) -> Vec<GrowthPoint> {
        (0..hours)
            .map(|h| GrowthPoint { hour: h * HOUR_MS, series: f(h as f64).round() as u64, created: 0 })
            .collect()
    }

    #[test]
    fn a_steady_line_is_forecast_as_a_line() {
        // 1,000 series + 10 an hour, with a little noise.
        let h = history(|x| 1_000.0 + 10.0 * x + if x as i64 % 2 == 0 { 3.0 } else { -3.0 }, 72);
        let f = forecast(&h, 30).unwrap();
        assert_eq!(f.method, "linear");
        let truth = 1_000.0 + 10.0 * (71.0 + 30.0 * 24.0);
        assert!((f.series - truth).abs() / truth < 0.01, "{f:?}");
        assert!(f.low < truth && truth < f.high, "{f:?}");
        assert!((f.per_day - 240.0).abs() < 5.0);
    }

    #[test]
    fn compound_growth_is_forecast_as_exponential() {
        let h = history(|x| 1_000.0 * (1.01f64).powf(x), 96);
        let f = forecast(&h, 7).unwrap();
        assert_eq!(f.method, "exponential");
        let truth = 1_000.0 * 1.01f64.powf(95.0 + 7.0 * 24.0);
        assert!((f.series - truth).abs() / truth < 0.02, "{f:?}");
    }

    #[test]
    fn too_few_points_give_none() {
        assert!(forecast(&history(|x| x, 2), 30).is_none());
    }
}
