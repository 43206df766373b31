//! Time as a plain value.
//!
//! The core never reads a clock: the driver passes `now` in, and every command carries the
//! time the leader stamped on it, so that all replicas write the same dates.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
///
/// Integer milliseconds keep time exact and totally ordered; there is no floating point
/// anywhere near it, so the same inputs always give the same outputs.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    pub const fn from_millis(millis: u64) -> Self {
        Timestamp(millis)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of representable time.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// `self - d`, saturating at the epoch.
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// RFC 3339 in UTC with whole seconds (`2026-11-28T15:08:11Z`), as OKMS shows dates.
    pub fn to_rfc3339(self) -> String {
        let secs = i64::try_from(self.0 / 1000).unwrap_or(i64::MAX);
        match time::OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| secs.to_string()),
            // Beyond year 9999: not a date a key can carry; keep it readable rather than fail.
            Err(_) => secs.to_string(),
        }
    }

    /// Parses an RFC 3339 date (any offset) back into a timestamp.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        u64::try_from(ms).ok().map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_seconds() {
        assert_eq!(Timestamp::EPOCH.to_rfc3339(), "1970-01-01T00:00:00Z");
        // 2026-11-28T15:08:11.999Z: sub-second part is dropped, not rounded.
        let t = Timestamp::from_millis(1_795_878_491_999);
        assert_eq!(t.to_rfc3339(), "2026-11-28T15:08:11Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-28T15:08:11Z"),
            Some(Timestamp::from_millis(1_795_878_491_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-28T16:08:11+01:00"),
            Some(Timestamp::from_millis(1_795_878_491_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_millis(5);
        assert_eq!(t.saturating_sub(Duration::from_secs(1)), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_millis(u64::MAX).saturating_add(Duration::from_secs(1)),
            Timestamp::from_millis(u64::MAX)
        );
        assert_eq!(
            Timestamp::from_millis(1500).saturating_duration_since(Timestamp::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(
            t.saturating_duration_since(Timestamp::from_millis(9)),
            Duration::ZERO
        );
    }
}
