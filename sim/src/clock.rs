//! Simulated time: one global clock, and each node's skewed view of it.
//!
//! The event queue runs on global time in **microseconds since the Unix epoch** (so that
//! same-zone latencies of a fraction of a millisecond exist), while the core sees
//! [`Timestamp`]s in milliseconds. A node's clock is the global time plus a constant skew
//! (drawn per node at setup, changed by [`Fault::ClockSkew`](crate::Fault::ClockSkew)); it
//! never goes backwards, even when the skew is lowered: it then stands still until global
//! time catches up, as an NTP-slewed clock would.

use std::time::Duration;

use cairn_core::Timestamp;

/// Global simulated time in microseconds since the Unix epoch.
pub type Micros = u64;

/// The millisecond timestamp of a global time.
pub fn timestamp(us: Micros) -> Timestamp {
    Timestamp::from_millis(us / 1000)
}

/// The global time at the start of a millisecond timestamp.
pub fn micros_of(t: Timestamp) -> Micros {
    t.as_millis().saturating_mul(1000)
}

/// How far node clocks may be off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Each node's skew is drawn uniformly in `±max_skew` (whole milliseconds).
    pub max_skew: Duration,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            max_skew: Duration::from_millis(20),
        }
    }
}

/// One node's clock: global time plus a skew, monotonic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeClock {
    skew_ms: i64,
    /// The latest time this clock showed.
    last: Timestamp,
}

impl NodeClock {
    pub fn new(skew_ms: i64) -> Self {
        NodeClock {
            skew_ms,
            last: Timestamp::EPOCH,
        }
    }

    pub fn skew_ms(&self) -> i64 {
        self.skew_ms
    }

    /// A new skew (from now on; the clock still never goes back).
    pub fn set_skew(&mut self, skew_ms: i64) {
        self.skew_ms = skew_ms;
    }

    /// What the node's clock would show at global time `us`, without reading it.
    pub fn peek(&self, us: Micros) -> Timestamp {
        let ms = (us / 1000).saturating_add_signed(self.skew_ms);
        self.last.max(Timestamp::from_millis(ms))
    }

    /// Reads the clock at global time `us` (what the node is given as `now`).
    pub fn now(&mut self, us: Micros) -> Timestamp {
        self.last = self.peek(us);
        self.last
    }

    /// The earliest global time at which this clock shows at least `local` (assuming the
    /// skew does not change meanwhile).
    pub fn global_at(&self, local: Timestamp) -> Micros {
        let ms = local.as_millis().saturating_add_signed(-self.skew_ms);
        ms.saturating_mul(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewed_and_monotonic() {
        let mut c = NodeClock::new(-5);
        assert_eq!(c.now(1_000_999), Timestamp::from_millis(995));
        assert_eq!(c.global_at(Timestamp::from_millis(1000)), 1_005_000);
        assert_eq!(c.peek(1_005_000), Timestamp::from_millis(1000));
        c.set_skew(10);
        assert_eq!(c.now(1_001_000), Timestamp::from_millis(1011));
        // Lowering the skew makes the clock wait, never go back.
        c.set_skew(-100);
        assert_eq!(c.now(1_002_000), Timestamp::from_millis(1011));
        assert_eq!(c.now(1_200_000), Timestamp::from_millis(1100));
        assert_eq!(
            timestamp(micros_of(Timestamp::from_millis(42))),
            Timestamp::from_millis(42)
        );
    }
}
