//! Per-address and per-key rate limits.

use crate::config::HttpConfig;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Token buckets per client address and per API key.
pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_key: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn quota(rate: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimits {
    /// Limits from the `[http]` settings.
    pub fn new(config: &HttpConfig) -> RateLimits {
        RateLimits {
            per_ip: DefaultKeyedRateLimiter::keyed(quota(config.rate_per_ip, config.burst_per_ip)),
            per_key: DefaultKeyedRateLimiter::keyed(quota(
                config.rate_per_key,
                config.burst_per_key,
            )),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(seconds to wait)` when `ip` is over its rate.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), u64> {
        self.per_ip
            .check_key(&ip)
            .map_err(|n| wait_secs(n.wait_time_from(self.clock.now())))
    }

    /// `Err(seconds to wait)` when key `id` is over its rate.
    pub fn check_key(&self, id: &str) -> Result<(), u64> {
        self.per_key
            .check_key(&id.to_string())
            .map_err(|n| wait_secs(n.wait_time_from(self.clock.now())))
    }

    /// Forgets idle buckets (call now and then, so memory stays bounded).
    pub fn shrink(&self) {
        self.per_ip.retain_recent();
        self.per_key.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_key.shrink_to_fit();
    }
}

fn wait_secs(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_quota_is_told_to_wait() {
        let config = HttpConfig {
            rate_per_ip: 1,
            burst_per_ip: 3,
            ..HttpConfig::default()
        };
        let limits = RateLimits::new(&config);
        let ip: IpAddr = [127, 0, 0, 9].into();
        for _ in 0..3 {
            assert!(limits.check_ip(ip).is_ok());
        }
        assert_eq!(limits.check_ip(ip), Err(1));
        assert!(limits.check_ip([127, 0, 0, 10].into()).is_ok());
    }
}
