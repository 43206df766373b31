//! What is on the node's disk, what is on its way there, and what waits for it.

use std::collections::VecDeque;

use crate::replication::config::NodeId;
use crate::replication::io::{HardState, PersistBatch};
use crate::replication::log::{Entry, Index, Log, Term};
use crate::replication::message::Packet;
use crate::replication::snapshot::Snapshot;

/// Tracks the node's writes from "decided" to "durable".
///
/// Writes are numbered (`seq`) in the order the driver must perform them; `Persisted { seq }`
/// confirms every write up to `seq`. Messages whose truth depends on a write (a granted vote,
/// a candidate's vote request) are held until it is confirmed.
#[derive(Debug)]
pub(super) struct Persistence {
    /// The seq the next write will take.
    next_seq: u64,
    durable_seq: u64,
    /// Highest index durable on this node *and* still part of its log.
    persisted: Index,
    /// Highest index handed to the driver.
    emitted: Index,
    unflushed: Vec<Entry>,
    truncate_from: Option<Index>,
    hard_dirty: bool,
    /// Written but not confirmed: (seq, last index of the batch after truncations, term of
    /// the hard state it carries).
    inflight: VecDeque<(u64, Index, Term, Index)>,
    /// The term of the latest durable hard state.
    durable_term: Term,
    /// The commit index of the latest durable hard state (or snapshot).
    durable_commit: Index,
    /// Snapshots written but not confirmed.
    snapshots: VecDeque<(u64, Snapshot)>,
    /// Messages waiting for a write: (seq needed, destination, packet).
    held: Vec<(u64, NodeId, Packet)>,
}

/// What a `Persisted` input changed.
#[derive(Debug, Default)]
pub(super) struct Confirmed {
    pub released: Vec<(NodeId, Packet)>,
    pub snapshot_durable: Option<Snapshot>,
    /// The persisted index, or the durable commit index, moved forward.
    pub advanced: bool,
}

impl Persistence {
    /// Everything recovered from disk up to `last` is durable by definition.
    pub fn new(last: Index, term: Term) -> Self {
        Persistence {
            durable_term: term,
            durable_commit: 0,
            next_seq: 1,
            durable_seq: 0,
            persisted: last,
            emitted: last,
            unflushed: Vec::new(),
            truncate_from: None,
            hard_dirty: false,
            inflight: VecDeque::new(),
            snapshots: VecDeque::new(),
            held: Vec::new(),
        }
    }

    pub fn persisted(&self) -> Index {
        self.persisted
    }

    /// The commit index this node knows durably: after a crash it still knows everything up
    /// to here is committed, and applies it at once.
    pub fn persisted_commit(&self) -> Index {
        self.durable_commit
    }

    /// Everything recovered from disk (a restart) counts as durable knowledge.
    pub fn set_recovered_commit(&mut self, commit: Index) {
        self.durable_commit = commit;
    }

    /// The term of the latest hard state known to be on disk.
    pub fn persisted_hard_state_term(&self) -> Term {
        self.durable_term
    }

    pub fn append(&mut self, entry: Entry) {
        self.unflushed.push(entry);
    }

    pub fn hard_state_changed(&mut self) {
        self.hard_dirty = true;
    }

    /// Entries from `from` on are gone from the log: forget them on the way to disk, delete
    /// them from disk, and stop counting them as persisted.
    pub fn truncate(&mut self, from: Index) {
        self.unflushed.retain(|e| e.index < from);
        if from <= self.emitted {
            self.truncate_from = Some(self.truncate_from.map_or(from, |t| t.min(from)));
            self.emitted = from - 1;
        }
        self.persisted = self.persisted.min(from - 1);
        for (_, last, _, _) in &mut self.inflight {
            *last = (*last).min(from - 1);
        }
    }

    /// Nothing is waiting to be written or confirmed.
    fn idle(&self) -> bool {
        !self.dirty() && self.inflight.is_empty() && self.snapshots.is_empty()
    }

    fn dirty(&self) -> bool {
        self.hard_dirty || !self.unflushed.is_empty() || self.truncate_from.is_some()
    }

    /// Holds `packet` until everything decided so far is durable; returns it if that is
    /// already the case.
    pub fn hold(&mut self, to: NodeId, packet: Packet) -> Option<Packet> {
        if self.idle() {
            return Some(packet);
        }
        let needed = if self.dirty() {
            self.next_seq
        } else {
            self.next_seq - 1
        };
        self.held.push((needed, to, packet));
        None
    }

    /// The next write, if anything changed since the last one.
    pub fn take_batch(&mut self, hard: &HardState) -> Option<PersistBatch> {
        if !self.dirty() {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entries = std::mem::take(&mut self.unflushed);
        if let Some(last) = entries.last() {
            self.emitted = last.index;
        }
        self.inflight
            .push_back((seq, self.emitted, hard.term, hard.commit));
        self.hard_dirty = false;
        Some(PersistBatch {
            seq,
            hard_state: Some(*hard),
            truncate_from: self.truncate_from.take(),
            entries,
        })
    }

    /// Reserves the seq of a snapshot write. The caller flushes any pending batch first, so
    /// that writes reach the disk in seq order.
    pub fn snapshot(&mut self, snapshot: Snapshot) -> u64 {
        debug_assert!(!self.dirty(), "flush before writing a snapshot");
        let seq = self.next_seq;
        self.next_seq += 1;
        self.snapshots.push_back((seq, snapshot));
        seq
    }

    /// After a snapshot replaced the whole log: what is durable is the snapshot itself.
    pub fn reset_to(&mut self, index: Index) {
        self.unflushed.clear();
        self.persisted = self.persisted.min(index);
        self.emitted = self.emitted.min(index);
        for (_, last, _, _) in &mut self.inflight {
            *last = (*last).min(index);
        }
    }

    pub fn on_persisted(&mut self, seq: u64, log: &Log) -> Confirmed {
        let mut confirmed = Confirmed::default();
        if seq <= self.durable_seq {
            return confirmed;
        }
        self.durable_seq = seq;
        let before = (self.persisted, self.durable_commit);
        while let Some(&(s, last, term, commit)) = self.inflight.front() {
            if s > seq {
                break;
            }
            self.inflight.pop_front();
            self.persisted = self.persisted.max(last);
            self.durable_term = self.durable_term.max(term);
            self.durable_commit = self.durable_commit.max(commit);
        }
        while let Some((s, _)) = self.snapshots.front() {
            if *s > seq {
                break;
            }
            let (_, snapshot) = self.snapshots.pop_front().expect("front exists");
            self.persisted = self.persisted.max(snapshot.index);
            self.durable_commit = self.durable_commit.max(snapshot.index);
            confirmed.snapshot_durable = Some(snapshot);
        }
        // The persisted index never runs ahead of the log it describes.
        self.persisted = self.persisted.min(log.last_index());
        confirmed.advanced = (self.persisted, self.durable_commit) > before;
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .held
            .drain(..)
            .partition(|(needed, _, _)| *needed <= seq);
        self.held = waiting;
        confirmed.released = ready.into_iter().map(|(_, to, p)| (to, p)).collect();
        confirmed
    }
}
