//! The node's inputs and outputs (DESIGN §4): the driver pushes inputs in, pulls outputs
//! out, and does the I/O they ask for.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::replication::config::NodeId;
use crate::replication::log::{Entry, Index, Term};
use crate::replication::message::Packet;
use crate::replication::snapshot::Snapshot;
use crate::store::{Command, Outcome};

/// What must survive a crash besides the log: Raft's term and vote, and a lower bound of
/// the commit index (which lets a restarted node apply its log without waiting for a
/// leader).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: Term,
    pub vote: Option<NodeId>,
    /// The node once lost its term and vote (both slots unreadable): it may have voted in a
    /// term it no longer remembers, so it never votes again. Kept durable so that a later
    /// restart does not forget it.
    pub no_vote: bool,
    pub commit: Index,
}

/// What the driver feeds in.
#[derive(Clone, Debug)]
pub enum Input {
    /// A peer spoke.
    Message { from: NodeId, packet: Packet },
    /// A client write, already prepared into a command (validation and random draws done).
    /// `request` is the driver's id for it, unique on this node.
    Propose { request: u64, command: Command },
    /// Every `Persist`/`PersistSnapshot` output up to `seq` is on disk (fsynced).
    Persisted { seq: u64 },
    /// A query found nothing: make sure this node is not merely behind before it says so.
    /// Answered by [`Output::BarrierDone`].
    Barrier { id: u64 },
}

/// What the node asks the driver to do.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send `packet` to `to`. Best effort: the network may lose it.
    Send { to: NodeId, packet: Packet },
    /// Write this batch durably, in order after every earlier one, then feed back
    /// `Input::Persisted { seq }`.
    Persist(PersistBatch),
    /// Write this snapshot durably (replacing any older one), then feed back
    /// `Input::Persisted { seq }`.
    PersistSnapshot { seq: u64, snapshot: Snapshot },
    /// A durable snapshot now covers the log up to `upto`: those records may be deleted.
    Compact { upto: Index },
    /// The answer to `Input::Propose { request }`. `Ok` once the write is committed and
    /// applied in every zone and on this node, with what applying it did (a refusal such as
    /// "key exists" is an `Ok` outcome: it is final and the same everywhere); `Err` when it
    /// could not be committed (unavailable: it may or may not take effect later).
    Reply {
        request: u64,
        result: Result<(Index, Outcome), Error>,
    },
    /// The answer to `Input::Barrier { id }`: this node has now applied at least what its
    /// reachable peers had, so a query that still finds nothing may say so.
    BarrierDone { id: u64 },
}

/// Durable changes, in the order they must reach the disk.
#[derive(Clone, Debug, Default)]
pub struct PersistBatch {
    pub seq: u64,
    pub hard_state: Option<HardState>,
    /// Delete every entry from this index on before appending (a conflict resolved by the
    /// leader). Never at or below the commit index.
    pub truncate_from: Option<Index>,
    pub entries: Vec<Entry>,
}

/// What a node finds on its disk when it starts.
#[derive(Clone, Debug, Default)]
pub struct Recovered {
    /// `None` when it could not be read back intact: the node then never votes again
    /// (it may have voted in a term it no longer remembers) until an operator repairs it.
    pub hard_state: Option<HardState>,
    pub snapshot: Option<Snapshot>,
    /// The entries after the snapshot, contiguous.
    pub entries: Vec<Entry>,
    /// Entries were lost (a corrupted record in the middle of the log, not a torn tail): the
    /// node may have acknowledged entries it no longer has, so it abstains from elections
    /// until the leader has brought it back up to the commit index.
    pub log_damaged: bool,
}
