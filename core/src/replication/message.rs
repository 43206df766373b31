//! What nodes say to each other.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::replication::log::{Entry, Index, Term};
use crate::replication::snapshot::Snapshot;
use crate::store::Command;

/// A message with the header every message carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    /// The cluster generation of the sender: nodes of another generation are fenced (a
    /// region rebuilt by a recovery must never mix with the one it replaced).
    pub generation: u64,
    /// The sender's term (for a pre-vote: the term it would campaign in).
    pub term: Term,
    pub msg: Message,
}

impl Packet {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("packets always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Option<Packet> {
        postcard::from_bytes(bytes).ok()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// "Would you vote for me?", asked without changing anyone's term, so that a node that
    /// was cut off cannot disrupt a healthy leader when it comes back.
    PreVote {
        last_index: Index,
        last_term: Term,
    },
    PreVoteReply {
        granted: bool,
    },
    Vote {
        last_index: Index,
        last_term: Term,
    },
    VoteReply {
        granted: bool,
    },
    /// Entries (possibly none: a heartbeat) following (`prev_index`, `prev_term`), and the
    /// leader's commit index.
    Append {
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    },
    AppendReply {
        /// Whether the entries matched the follower's log, and how far it now matches.
        result: AppendResult,
        /// Everything up to here is on the follower's disk (and matches the leader's log):
        /// only ever reported after the follower's `Persisted` input says so.
        persisted: Index,
        /// Everything up to here is applied on the follower (so served by it).
        applied: Index,
        /// When the follower started (ms): a newer incarnation may have lost what an older
        /// one had on disk (a damaged log, a replaced host), so the leader forgets what it
        /// knew of the older one; replies of an older incarnation are stale.
        incarnation: u64,
    },
    /// The leader's latest snapshot, for a follower behind the start of its log.
    InstallSnapshot {
        snapshot: Snapshot,
    },
    /// The follower has the snapshot on disk.
    SnapshotReply {
        index: Index,
        incarnation: u64,
    },
    /// A write received by a non-leader, passed to the leader.
    Forward {
        request: u64,
        command: Command,
    },
    /// The leader's answer to a forwarded write: the index it committed at (once it is
    /// committed and applied in every zone), or why it will not be.
    ForwardReply {
        request: u64,
        result: Result<Index, Error>,
    },
    /// "How far are you?" — asked by a node that must not answer "not found" before
    /// checking that it is not simply behind (read-your-writes).
    Probe {
        nonce: u64,
    },
    ProbeReply {
        nonce: u64,
        commit: Index,
        applied: Index,
    },
    /// "Send me committed entries from `from` on": catch-up from any peer, for when the
    /// leader is gone (a zone is lost) but a peer knows more.
    Fetch {
        from: Index,
    },
    /// Committed entries (all at or below `commit`), in answer to a fetch.
    Committed {
        entries: Vec<Entry>,
        commit: Index,
    },
    /// The answer to a fetch of entries the peer compacted away: its latest snapshot.
    CommittedSnapshot {
        snapshot: Snapshot,
    },
    /// "Your region was replaced": the answer of a node of a newer generation to a packet
    /// of an older one. The packet's generation says it all; the receiver fences itself.
    Superseded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendResult {
    /// The follower's log matches the leader's up to `last`.
    Matched { last: Index },
    /// The entry before the batch did not match; retry from `hint`.
    Rejected { hint: Index },
}

impl Message {
    /// A short name for traces and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::PreVote { .. } => "pre_vote",
            Message::PreVoteReply { .. } => "pre_vote_reply",
            Message::Vote { .. } => "vote",
            Message::VoteReply { .. } => "vote_reply",
            Message::Append { .. } => "append",
            Message::AppendReply { .. } => "append_reply",
            Message::InstallSnapshot { .. } => "install_snapshot",
            Message::SnapshotReply { .. } => "snapshot_reply",
            Message::Forward { .. } => "forward",
            Message::ForwardReply { .. } => "forward_reply",
            Message::Probe { .. } => "probe",
            Message::ProbeReply { .. } => "probe_reply",
            Message::Fetch { .. } => "fetch",
            Message::Committed { .. } => "committed",
            Message::CommittedSnapshot { .. } => "committed_snapshot",
            Message::Superseded => "superseded",
        }
    }
}
