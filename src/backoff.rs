//! Retry timing shared by the pollers and the deliverer.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;

/// Exponential backoff from 1 minute, doubling per consecutive failure, capped (sources).
pub(crate) fn backoff(failures: u32, cap: Duration) -> Duration {
    backoff_from(Duration::from_secs(60), failures, cap)
}

/// Exponential backoff from `min`, doubling per consecutive failure, capped.
pub(crate) fn backoff_from(min: Duration, failures: u32, cap: Duration) -> Duration {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_factor(2.0)
        .with_max_delay(cap)
        .without_max_times()
        .build()
        .nth(failures.saturating_sub(1) as usize)
        .unwrap_or(cap)
        .min(cap)
}

/// ±10 % so that sources configured alike do not poll in lock-step.
pub(crate) fn jitter(d: Duration) -> Duration {
    if d.is_zero() {
        return d;
    }
    let factor = rand::rng().random_range(0.9..1.1);
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let cap = Duration::from_secs(6 * 3600);
        assert_eq!(backoff(1, cap), Duration::from_secs(60));
        assert_eq!(backoff(2, cap), Duration::from_secs(120));
        assert_eq!(backoff(5, cap), Duration::from_secs(960));
        assert_eq!(backoff(40, cap), cap);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(100));
            assert!(
                j >= Duration::from_secs(90) && j <= Duration::from_secs(110),
                "{j:?}"
            );
        }
    }
}
