//! Bugs planted on purpose, to prove that the simulator's oracles catch them.
//!
//! A checker is trusted only once it has caught a bug planted on purpose (DESIGN §8). The
//! switches exist only with the `planted-bugs` feature, which the tests of `sim` and
//! `scenarios` enable and the `cairn` binary never does: in every build operators run, this
//! type has no fields and every switch reads `false`.

/// Which bugs are switched on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlantedBugs {
    /// A follower reports entries as persisted as soon as it receives them, before its disk
    /// confirms them (breaks G1; a crash then loses acknowledged writes).
    #[cfg(feature = "planted-bugs")]
    pub ack_before_fsync: bool,
    /// The leader commits once the entry is on disk on voters of its own zone only (breaks
    /// G1 and, after a zone loss, G3).
    #[cfg(feature = "planted-bugs")]
    pub commit_in_one_zone: bool,
    /// Followers apply entries as soon as they receive them, before they are committed
    /// (breaks G8 when a leader change replaces uncommitted entries).
    #[cfg(feature = "planted-bugs")]
    pub apply_before_commit: bool,
    /// The leader acknowledges a write once committed, without waiting for a voter of every
    /// zone to apply it (breaks read-your-writes across zones, G3).
    #[cfg(feature = "planted-bugs")]
    pub ack_before_remote_apply: bool,
    /// Preparing a key copies its plaintext material into the command, hence into the log,
    /// replication messages, snapshots and disks (breaks G6).
    #[cfg(feature = "planted-bugs")]
    pub leak_material: bool,
    /// An incremental backup leaves out the first entry of its range, yet the schedule counts
    /// it as backed up (breaks G9: the backups no longer restore; and G5).
    #[cfg(feature = "planted-bugs")]
    pub backup_skips_entry: bool,
    /// Backups are deleted a day early: after 29 of 30 days (a thirtieth of the retention
    /// period short, whatever the period) (breaks G9).
    #[cfg(feature = "planted-bugs")]
    pub retention_short_by_a_day: bool,
    /// A restore takes the first copy of each object without checking it against the
    /// manifest, and skips an object that fails authentication instead of refusing (breaks
    /// G5 and the restore checks of G9: a tampered object is accepted, silently).
    #[cfg(feature = "planted-bugs")]
    pub restore_accepts_tampered: bool,
}

impl PlantedBugs {
    pub fn ack_before_fsync(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.ack_before_fsync;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn commit_in_one_zone(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.commit_in_one_zone;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn apply_before_commit(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.apply_before_commit;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn leak_material(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.leak_material;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn ack_before_remote_apply(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.ack_before_remote_apply;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn backup_skips_entry(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.backup_skips_entry;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn retention_short_by_a_day(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.retention_short_by_a_day;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }

    pub fn restore_accepts_tampered(&self) -> bool {
        #[cfg(feature = "planted-bugs")]
        return self.restore_accepts_tampered;
        #[cfg(not(feature = "planted-bugs"))]
        false
    }
}
