//! Order statistics of measured durations.

use std::time::Duration;

/// The `q`-quantile (0.0..=1.0) by nearest rank; zero for no samples.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut v = samples.to_vec();
    v.sort();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn median(samples: &[Duration]) -> Duration {
    quantile(samples, 0.5)
}

/// Milliseconds with two decimals, for reports.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let s = ms(&[5, 1, 4, 2, 3]);
        assert_eq!(median(&s), Duration::from_millis(3));
        assert_eq!(quantile(&s, 0.99), Duration::from_millis(5));
        assert_eq!(quantile(&s, 0.0), Duration::from_millis(1));
        let hundred: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&hundred, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&hundred, 0.5), Duration::from_millis(50));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
