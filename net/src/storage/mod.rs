//! Durable storage of a node on real files: the data directory and its writer thread.
//!
//! The byte formats (framed log records with CRCs, two hard-state slots, snapshots) and the
//! recovery rules (a torn tail is dropped; damage in the middle is reported and the node
//! abstains from elections until its peers repaired it) are core's `replication::storage`,
//! shared with the simulator's disks.

pub mod files;
pub mod writer;

use std::io;

use cairn_core::replication::Recovered;
use cairn_core::replication::storage::{RecoveryReport, decode_hard_state, recover};

/// What a node's files hold, read back at start.
pub struct Loaded {
    pub recovered: Recovered,
    pub report: RecoveryReport,
    /// The counter and slot of the newest intact hard state, to continue from.
    pub counter: u64,
    pub newest_slot: Option<usize>,
}

pub use files::DataDir;
pub use writer::{DiskWrite, Done, Writer};

/// Reads a node's files back, and cuts the log after its last whole record: a torn tail (an
/// unconfirmed write cut short by a crash) or everything from a damaged record on. Appending
/// after either would hide the new records behind a bad one at the next start.
pub fn load(dir: &DataDir) -> io::Result<Loaded> {
    let c = dir.read()?;
    let (recovered, report) = recover(&c.log, c.snapshot.as_deref(), (&c.slot_a, &c.slot_b));
    let counter = decode_hard_state(&c.slot_a, &c.slot_b).map_or(0, |(_, n)| n);
    let newest_slot = [&c.slot_a, &c.slot_b]
        .iter()
        .position(|s| decode_hard_state(s, &[]).is_some_and(|(_, n)| n == counter) && counter > 0);
    if report.valid_len < c.log.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path(files::LOG))?;
        file.set_len(report.valid_len as u64)?;
        file.sync_all()?;
    }
    Ok(Loaded {
        recovered,
        report,
        counter,
        newest_slot,
    })
}
