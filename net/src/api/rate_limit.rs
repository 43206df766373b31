//! Per-caller token buckets.
//!
//! Time comes from tokio's clock, so a test (or a simulated network) that pauses or advances
//! it controls refills.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use cairn_core::CredentialId;
use tokio::time::Instant;

use super::config::RateLimit;

/// Whose bucket a request draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    Credential(CredentialId),
    /// A request that did not authenticate, by client address.
    Address(IpAddr),
    /// A request that did not authenticate and has no known address (not served by the
    /// acceptor, e.g. a test driving the router).
    Unknown,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets are forgotten once full again, when the table grows past this size, so that a
/// flood of distinct callers cannot grow it without bound.
const PRUNE_AT: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<Caller, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `caller`'s bucket: `Err(wait)` when it is empty, with the time
    /// until the next token.
    pub fn check(&self, caller: Caller) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let rate = f64::from(limit.per_second.max(1));
        let burst = f64::from(limit.burst.max(1));
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(caller).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_empties_and_refills() {
        let limiter = RateLimiter::new(Some(RateLimit {
            per_second: 2,
            burst: 3,
        }));
        let a = Caller::Unknown;
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        let other = Caller::Address(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(limiter.check(other), Ok(()), "buckets are per caller");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.check(a), Ok(()));
        assert!(limiter.check(a).is_err());
    }

    #[test]
    fn no_limit() {
        let limiter = RateLimiter::new(None);
        for _ in 0..10_000 {
            assert_eq!(limiter.check(Caller::Unknown), Ok(()));
        }
    }
}
