//! Following: accepting the leader's entries and snapshots, and taking snapshots.

use std::sync::Arc;

use super::{Node, RoleState, Voting};
use crate::replication::config::NodeId;
use crate::replication::io::Output;
use crate::replication::log::{Entry, Index, Term};
use crate::replication::message::{AppendResult, Message};
use crate::replication::snapshot::Snapshot;

impl Node {
    pub(super) fn on_append(
        &mut self,
        from: NodeId,
        term: Term,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) {
        if term < self.hard.term {
            // A deposed leader: the reply's term tells it to step down.
            self.reply_append(from, AppendResult::Rejected { hint: 0 });
            return;
        }
        if self.diverged.is_some() {
            return;
        }
        self.accept_leader(from, leader_commit);

        if prev_index > self.log.last_index() {
            let hint = self.log.last_index() + 1;
            self.reply_append(from, AppendResult::Rejected { hint });
            return;
        }
        // Entries at or below the snapshot are committed, hence identical: skip them.
        let skip = self.log.base_index().saturating_sub(prev_index);
        let (prev_index, prev_term, entries) = if skip > 0 {
            let skip = usize::try_from(skip)
                .unwrap_or(usize::MAX)
                .min(entries.len());
            let rest = entries[skip..].to_vec();
            let prev = self.log.base_index().min(prev_index + skip as u64);
            (prev, self.log.term_at(prev).unwrap_or(prev_term), rest)
        } else {
            (prev_index, prev_term, entries)
        };
        if self.log.term_at(prev_index) != Some(prev_term) {
            let hint = self.conflict_hint(prev_index);
            self.reply_append(from, AppendResult::Rejected { hint });
            return;
        }
        let last_new = prev_index + entries.len() as u64;
        self.merge_entries(entries);
        self.leader_match = self.leader_match.max(last_new);
        let commit = leader_commit.min(last_new);
        if commit > self.commit {
            self.commit = commit;
        }
        // Apply before answering: the reply tells the leader what this node serves, which is
        // what lets it acknowledge writes (a voter of every zone must have applied them).
        self.apply_committed();
        self.reply_append(from, AppendResult::Matched { last: last_new });
    }

    /// Appends entries that follow the log, replacing any conflicting (uncommitted) suffix.
    pub(super) fn merge_entries(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            match self.log.term_at(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    // Raft's safety rests on this: a committed entry is never replaced. A
                    // leader whose log contradicts this node's committed entries can only come
                    // from a cluster that lost more disks than it can survive (every voter's);
                    // this node then keeps what it has and stops following, for an operator
                    // to recover from it, rather than overwrite committed writes.
                    if entry.index <= self.commit {
                        self.diverged = Some(entry.index);
                        return;
                    }
                    self.log.truncate_from(entry.index);
                    self.persist.truncate(entry.index);
                }
                None => {}
            }
            if entry.index != self.log.last_index() + 1 {
                break;
            }
            self.log.push(entry.clone());
            self.persist.append(entry);
        }
    }

    /// Where to retry after a mismatch at `index`: the first entry of the conflicting term
    /// (so a whole stale term is skipped in one round trip), never at or below the commit
    /// index, which always matches.
    fn conflict_hint(&self, index: Index) -> Index {
        let Some(term) = self.log.term_at(index) else {
            return self.log.last_index() + 1;
        };
        let mut first = index;
        while first > self.log.base_index() + 1 && self.log.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first.max(self.commit + 1)
    }

    /// A valid message from the leader of the current term.
    fn accept_leader(&mut self, from: NodeId, leader_commit: Index) {
        if !matches!(self.role, RoleState::Follower) || self.leader != Some(from) {
            self.become_follower(self.hard.term, Some(from));
        }
        self.leader_seen = Some(self.now);
        self.reset_election_timer();
        if let Voting::AbstainUntil(None) = self.voting {
            self.voting = Voting::AbstainUntil(Some(leader_commit));
        }
    }

    fn reply_append(&mut self, to: NodeId, result: AppendResult) {
        let msg = Message::AppendReply {
            incarnation: self.incarnation,
            result,
            persisted: if self.timing.bugs.ack_before_fsync() {
                self.leader_match
            } else {
                self.persist.persisted().min(self.leader_match)
            },
            applied: self.served(),
        };
        self.send(to, msg);
    }

    /// Tells the leader what became durable.
    pub(super) fn report_persisted(&mut self) {
        if let Some(leader) = self.leader
            && leader != self.id
        {
            let last = self.leader_match;
            self.reply_append(leader, AppendResult::Matched { last });
        }
    }

    pub(super) fn on_install_snapshot(&mut self, from: NodeId, term: Term, snapshot: Snapshot) {
        if term < self.hard.term {
            self.reply_append(from, AppendResult::Rejected { hint: 0 });
            return;
        }
        self.accept_leader(from, snapshot.index);
        if snapshot.index <= self.commit {
            // Nothing new in it; say how far this node already is.
            let msg = Message::SnapshotReply {
                index: self.commit,
                incarnation: self.incarnation,
            };
            self.send(from, msg);
            return;
        }
        if !self.install(&snapshot) {
            // A snapshot that does not decode is refused; the leader will resend it.
            return;
        }
        self.leader_match = snapshot.index;
        let reply = Message::SnapshotReply {
            index: snapshot.index,
            incarnation: self.incarnation,
        };
        self.send_when_durable(from, reply);
    }

    /// Replaces this node's state and log by `snapshot` (committed state: applied entries are
    /// never beyond the commit index). Everything after it is deleted from disk first, then the
    /// snapshot written, so that a crash in between leaves an older but consistent state.
    pub(super) fn install(&mut self, snapshot: &Snapshot) -> bool {
        if self.store.restore(&snapshot.data).is_err() {
            return false;
        }
        self.log.reset(snapshot.index, snapshot.term);
        self.persist.truncate(snapshot.index + 1);
        self.persist.reset_to(snapshot.index);
        self.commit = snapshot.index;
        self.applied = snapshot.index;
        self.write_snapshot(snapshot.clone());
        true
    }

    /// Takes a snapshot when enough has been applied since the last one.
    pub(super) fn maybe_snapshot(&mut self) {
        let since = self.applied - self.log.base_index();
        let taken = self.snapshot.as_ref().map_or(0, |s| s.index);
        if since < self.timing.snapshot_every || self.applied <= taken {
            return;
        }
        let term = self
            .log
            .term_at(self.applied)
            .expect("applied entries are in the log");
        let snapshot = Snapshot {
            index: self.applied,
            term,
            config: self.config.clone(),
            data: Arc::new(self.store.state().encode()),
        };
        self.write_snapshot(snapshot);
    }

    fn write_snapshot(&mut self, snapshot: Snapshot) {
        if let Some(batch) = self.persist.take_batch(&self.hard) {
            self.outputs.push_back(Output::Persist(batch));
        }
        let seq = self.persist.snapshot(snapshot.clone());
        self.snapshot = Some(snapshot.clone());
        self.outputs
            .push_back(Output::PersistSnapshot { seq, snapshot });
    }

    /// A snapshot is on disk: the log before it can go.
    pub(super) fn on_snapshot_durable(&mut self, snapshot: Snapshot) {
        if snapshot.index > self.log.base_index() {
            self.log.compact(snapshot.index, snapshot.term);
        }
        self.outputs.push_back(Output::Compact {
            upto: snapshot.index,
        });
    }
}
