//! Backups and recovery (DESIGN §6): the 5-minute schedule, encrypted objects in two backup
//! regions with manifests and 30-day retention, restores from backups or from the remote
//! replica, and the report of writes orphaned by a recovery. Decisions are sans-IO; drivers
//! move the bytes.

mod agenda;
pub mod inventory;
pub mod manifest;
pub mod object;
pub mod recovery;
pub mod restore;
pub mod schedule;
#[cfg(test)]
mod tests;

pub use inventory::inventory;
pub use manifest::{MANIFEST_NAME, Manifest, ManifestEntry};
pub use object::BackupKey;
pub use recovery::{Orphan, from_replica, orphans};
pub use restore::{RestoreError, Restored, restore, restore_with_bugs};
pub use schedule::{BackupConfig, BackupOutput, BackupScheduler, BackupSource, ScheduleState};
