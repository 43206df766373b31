//! Barriers: before a node answers "not found", it makes sure it is not merely behind.
//!
//! A node asks the voters how far they are, fetches the committed entries it lacks from a
//! peer that has them (the leader may be gone: a zone was lost), and answers once it has
//! applied as much as any peer that replied, or when the barrier times out.

use std::collections::BTreeSet;

use super::Node;
use crate::replication::config::NodeId;
use crate::replication::io::Output;
use crate::replication::log::{Entry, Index};
use crate::replication::message::Message;
use crate::time::Timestamp;

/// The id of the barrier an abstaining voter runs to repair itself.
const REPAIR: u64 = u64::MAX;

#[derive(Debug)]
pub(super) struct Barrier {
    pub deadline: Timestamp,
    /// A voter that lost part of its log catching up before it votes again: no client waits.
    repair: bool,
    asked: usize,
    /// The highest index a peer reported applied, and that peer.
    target: Index,
    source: Option<NodeId>,
    waiting_for: BTreeSet<NodeId>,
}

impl Node {
    pub(super) fn start_barrier(&mut self, id: u64) {
        let peers: BTreeSet<NodeId> = self.other_voters().into_iter().collect();
        if self.is_leader() && self.leader_has_committed_own_term() || peers.is_empty() {
            self.outputs.push_back(Output::BarrierDone { id });
            return;
        }
        for peer in &peers {
            self.send(*peer, Message::Probe { nonce: id });
        }
        self.barriers.insert(
            id,
            Barrier {
                repair: false,
                asked: peers.len(),
                deadline: self.now.saturating_add(self.timing.barrier_timeout),
                target: self.applied,
                source: None,
                waiting_for: peers,
            },
        );
    }

    fn leader_has_committed_own_term(&self) -> bool {
        self.log.term_at(self.commit) == Some(self.hard.term)
    }

    pub(super) fn on_probe(&mut self, from: NodeId, nonce: u64) {
        let msg = Message::ProbeReply {
            nonce,
            commit: self.commit,
            applied: self.applied,
        };
        self.send(from, msg);
    }

    pub(super) fn on_probe_reply(
        &mut self,
        from: NodeId,
        nonce: u64,
        _commit: Index,
        applied: Index,
    ) {
        let Some(b) = self.barriers.get_mut(&nonce) else {
            return;
        };
        b.waiting_for.remove(&from);
        if applied > b.target {
            b.target = applied;
            b.source = Some(from);
        }
        if applied > self.applied {
            self.send(
                from,
                Message::Fetch {
                    from: self.applied + 1,
                },
            );
        }
    }

    pub(super) fn on_fetch(&mut self, from: NodeId, index: Index) {
        if index > self.commit {
            return;
        }
        if index <= self.log.base_index() {
            // Compacted away: the snapshot carries it.
            if let Some(snapshot) = self.snapshot.clone()
                && snapshot.index >= index
            {
                self.send(from, Message::CommittedSnapshot { snapshot });
            }
            return;
        }
        let count = usize::try_from(self.commit - index + 1).unwrap_or(usize::MAX);
        let entries = self
            .log
            .slice(index, count.min(self.timing.max_batch))
            .to_vec();
        let msg = Message::Committed {
            entries,
            commit: self.commit,
        };
        self.send(from, msg);
    }

    /// Committed entries from a peer: every log that has them has them identically, so they
    /// can be taken from anyone.
    pub(super) fn on_committed(&mut self, from: NodeId, entries: Vec<Entry>, commit: Index) {
        let Some(first) = entries.first() else {
            return;
        };
        if first.index > self.log.last_index() + 1 {
            return;
        }
        let last = entries.last().map_or(0, |e| e.index);
        debug_assert!(last <= commit, "only committed entries are fetched");
        self.merge_entries(entries);
        let known = last.min(commit).min(self.log.last_index());
        if known > self.commit {
            self.commit = known;
        }
        self.apply_committed();
        self.fetch_more(from);
    }

    /// A peer's snapshot, in answer to a fetch below its log: committed state, newer than
    /// this node's.
    pub(super) fn on_committed_snapshot(
        &mut self,
        from: NodeId,
        snapshot: crate::replication::snapshot::Snapshot,
    ) {
        if snapshot.index <= self.commit || !self.install(&snapshot) {
            return;
        }
        self.fetch_more(from);
    }

    /// Fetches on from `from` while a barrier still waits for more than this node has.
    fn fetch_more(&mut self, from: NodeId) {
        let wanted = self.barriers.values().map(|b| b.target).max();
        if wanted.is_some_and(|t| t > self.applied) {
            self.send(
                from,
                Message::Fetch {
                    from: self.applied + 1,
                },
            );
        }
    }

    /// A voter whose log lost entries, with no leader in sight to repair it (the leader may
    /// be waiting for its very vote): it asks the voters how far they are and catches up from
    /// them. Once a majority answered and it applied as much as any of them, it votes again.
    pub(super) fn start_repair(&mut self) {
        if self.barriers.contains_key(&REPAIR) {
            return;
        }
        let peers: BTreeSet<NodeId> = self.other_voters().into_iter().collect();
        for peer in &peers {
            self.send(*peer, Message::Probe { nonce: REPAIR });
        }
        self.barriers.insert(
            REPAIR,
            Barrier {
                repair: true,
                asked: peers.len(),
                deadline: self.now.saturating_add(self.timing.election_min),
                target: self.applied,
                source: None,
                waiting_for: peers,
            },
        );
    }

    /// Answers barriers that are satisfied or out of time.
    pub(super) fn settle_barriers(&mut self) {
        let now = self.now;
        let applied = self.applied;
        let quorum = self.config.quorum();
        let mut repaired = false;
        let done: Vec<u64> = self
            .barriers
            .iter()
            .filter(|(_, b)| {
                if b.repair {
                    let answered = b.asked - b.waiting_for.len() + 1;
                    if answered >= quorum && applied >= b.target {
                        repaired = true;
                        return true;
                    }
                    return b.deadline <= now;
                }
                (b.waiting_for.is_empty() && applied >= b.target) || b.deadline <= now
            })
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if self.barriers.remove(&id).is_some_and(|b| !b.repair) {
                self.outputs.push_back(Output::BarrierDone { id });
            }
        }
        if repaired && matches!(self.voting, super::Voting::AbstainUntil(_)) {
            self.voting = super::Voting::Normal;
        }
    }

    pub(super) fn expire_barriers(&mut self) {
        self.settle_barriers();
    }
}
