//! Hooks that see every byte leaving a node: messages on the wire and writes to disk.
//!
//! The G6 oracle ("key material is never written or sent in plaintext") needs all of them,
//! but keeping them would cost memory proportional to the run; so by default nothing is
//! kept, a scanner callback sees each buffer once (a message when it is sent — before the
//! network decides to lose it — and a disk write when it is issued), and wire messages can
//! be captured on request for tests that want to look at them afterwards.

use std::sync::Arc;

use cairn_core::replication::NodeId;

use crate::clock::Micros;
use crate::disk::DiskFile;

/// Where scanned bytes were going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An encoded `Packet` sent from one node to another.
    Wire { from: NodeId, to: NodeId },
    /// A write issued to a node's disk (log records, a hard-state slot, a snapshot file).
    /// Compaction rewrites are not scanned: they re-encode records already scanned.
    Disk { node: NodeId, file: DiskFile },
}

/// One buffer for the scanner.
#[derive(Clone, Copy, Debug)]
pub struct Scanned<'a> {
    pub at_us: Micros,
    pub source: Source,
    pub bytes: &'a [u8],
    /// The secrets the workload has sent so far ([`Workload::secrets`]), to look for.
    ///
    /// [`Workload::secrets`]: crate::Workload::secrets
    pub secrets: &'a [Vec<u8>],
}

/// A scanner callback (`Send`, so that a simulation can run on another thread).
pub type Scanner = Box<dyn FnMut(&Scanned<'_>) + Send>;

/// A captured wire message (see [`Sim::capture_wire`](crate::Sim::capture_wire)).
#[derive(Clone, Debug)]
pub struct WireRecord {
    pub at_us: Micros,
    pub from: NodeId,
    pub to: NodeId,
    /// Shared with the message in flight: capturing costs no copy.
    pub bytes: Arc<Vec<u8>>,
}
