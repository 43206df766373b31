//! Wall-clock time as the core's `Timestamp`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_core::Timestamp;

/// Now, in milliseconds since the epoch. The node itself never lets its time go backwards
/// (a clock step back is absorbed), so a wall clock is enough here.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    Timestamp::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Sleeps until `t` (wall clock), or returns at once if it has passed.
pub async fn sleep_until(t: Timestamp) {
    let wait = t.saturating_duration_since(now());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}
