//! The simulation's one source of randomness.
//!
//! Every choice of a run (latencies, losses, fsync times, client decisions, crash tears) is
//! drawn from a single [`SimRng`] seeded by the run's seed, in the order events are
//! processed; RNGs handed to the core (a node's election jitter, a host's key generation and
//! nonces) are seeded from it at the moment they are created. So one `u64` replays a run.
//!
//! Draws are integer arithmetic except [`SimRng::chance`], whose comparison of exactly
//! representable doubles gives the same answer on every IEEE 754 platform.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// A seeded ChaCha20 stream with the draws the simulator needs.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha20Rng);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        SimRng(ChaCha20Rng::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        self.0.fill_bytes(bytes);
    }

    /// Uniform in `0..n` (`0` when `n == 0`), by multiply-and-shift (no modulo bias worth
    /// the name for the small ranges used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when `hi <= lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A duration uniform in `lo..=hi`, at microsecond resolution, in microseconds.
    pub fn micros_between(&mut self, (lo, hi): (Duration, Duration)) -> u64 {
        self.range(micros(lo), micros(hi))
    }

    /// `true` with probability `p` (clamped to `0..=1`).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        // 53 random bits as an exact double in [0, 1).
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len() as u64) as usize)
    }

    /// An index chosen with probability proportional to its weight; `None` if all are 0.
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return Some(i);
            }
            x -= w;
        }
        None
    }

    /// The underlying generator, for core APIs that take a `CryptoRng` (ids drawn by the
    /// workload).
    pub fn crypto(&mut self) -> &mut ChaCha20Rng {
        &mut self.0
    }

    /// A fresh ChaCha20 generator seeded from this stream (for the core's RNGs).
    pub fn fork(&mut self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        self.fill(&mut seed);
        ChaCha20Rng::from_seed(seed)
    }
}

/// Whole microseconds of `d`, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_bounds_hold() {
        let (mut a, mut b) = (SimRng::new(7), SimRng::new(7));
        for _ in 0..1000 {
            let x = a.range(3, 9);
            assert_eq!(x, b.range(3, 9));
            assert!((3..=9).contains(&x));
            assert!(a.below(5) < 5);
            b.below(5);
        }
        assert_ne!(SimRng::new(7).next_u64(), SimRng::new(8).next_u64());
        assert_eq!(a.range(4, 4), 4);
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn chance_and_weights_follow_their_parameters() {
        let mut r = SimRng::new(1);
        assert!(!r.chance(0.0) && r.chance(1.0));
        let hits = (0..10_000).filter(|_| r.chance(0.25)).count();
        assert!((2200..2800).contains(&hits), "{hits}");
        let mut counts = [0u32; 3];
        for _ in 0..6000 {
            counts[r.weighted(&[1, 0, 2]).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > counts[0] * 3 / 2, "{counts:?}");
        assert_eq!(r.weighted(&[0, 0]), None);
    }
}
