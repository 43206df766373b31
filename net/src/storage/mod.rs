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

pub use files::DataDir;
pub use writer::{DiskWrite, Done, Writer};

/// Reads a node's files back: what the node starts from, what recovery found, and the
/// hard-state counter to continue from.
pub fn load(dir: &DataDir) -> io::Result<(Recovered, RecoveryReport, u64)> {
    let c = dir.read()?;
    let (recovered, report) = recover(&c.log, c.snapshot.as_deref(), (&c.slot_a, &c.slot_b));
    let counter = decode_hard_state(&c.slot_a, &c.slot_b).map_or(0, |(_, n)| n);
    Ok((recovered, report, counter))
}
