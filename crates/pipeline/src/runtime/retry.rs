//! Exponential backoff with jitter.

use std::time::Duration;

use crate::config::RetryConfig;

/// The wait before retry `attempt` (1-based): `initial · 2^(attempt-1)`,
/// capped at the maximum, then scaled by a jitter in [0.5, 1.0) so that
/// many pipelines failing together do not retry together.
pub fn backoff(config: &RetryConfig, attempt: u32, jitter_seed: u64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let base = config
        .initial_backoff_ms
        .saturating_mul(1 << exponent)
        .min(config.max_backoff_ms);
    let jitter = 0.5 + (mix(jitter_seed ^ u64::from(attempt)) % 1000) as f64 / 2000.0;
    Duration::from_millis((base as f64 * jitter) as u64)
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_with_jitter() {
        let config = RetryConfig {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
        };
        for seed in 0..50 {
            let first = backoff(&config, 1, seed).as_millis();
            let third = backoff(&config, 3, seed).as_millis();
            let tenth = backoff(&config, 10, seed).as_millis();
            assert!((50..100).contains(&first), "{first}");
            assert!((200..400).contains(&third), "{third}");
            assert!((500..1000).contains(&tenth), "{tenth}");
        }
    }
}
