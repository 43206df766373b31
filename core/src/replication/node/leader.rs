//! Leading: replication to followers, the commit rule, acknowledgements, zone health.

use std::collections::{BTreeMap, BTreeSet};

use super::{Node, RoleState, unavailable};
use crate::replication::config::NodeId;
use crate::replication::io::Output;
use crate::replication::log::{Entry, Index, Payload, Term};
use crate::replication::message::{AppendResult, Message};
use crate::replication::timing::Timing;
use crate::time::Timestamp;

/// What the leader knows of one other node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The next entry to send.
    pub next: Index,
    /// On the node's disk and matching the leader's log.
    pub matched: Index,
    /// Applied (served) by the node.
    pub applied: Index,
    /// When the node last answered; `None` if never during this leadership.
    pub last_heard: Option<Timestamp>,
    /// When the leader last sent it a snapshot (resent after an election timeout).
    pub snapshot_sent: Option<Timestamp>,
    /// The node's incarnation the figures above belong to.
    pub incarnation: u64,
}

impl Progress {
    /// Takes note of the incarnation a reply comes from: a newer one starts from scratch (it
    /// may have lost what the older one had on disk, and the leader must send it again);
    /// a reply of an older one is stale and ignored (`false`).
    fn observe_incarnation(&mut self, incarnation: u64) -> bool {
        if incarnation < self.incarnation {
            return false;
        }
        if incarnation > self.incarnation {
            self.incarnation = incarnation;
            self.matched = 0;
            self.applied = 0;
        }
        true
    }
}

#[derive(Debug)]
pub(super) struct LeaderState {
    pub progress: BTreeMap<NodeId, Progress>,
    /// Entries up to here are acknowledged (committed, and applied in every zone).
    pub acked: Index,
    pub last_heartbeat: Timestamp,
    /// The last time check-quorum passed.
    pub quorum_checked: Timestamp,
    /// Something changed that followers must hear about without waiting for a heartbeat.
    pub dirty: bool,
    /// Writes up to here were already refused (so a zone outage refuses each write once).
    pub refused: Index,
    /// Who is waiting for each unacknowledged write: (origin node, request). Kept apart from
    /// the log, which a snapshot may compact before the write is acknowledged.
    pub waiting: BTreeMap<Index, (NodeId, u64)>,
}

impl LeaderState {
    pub fn next_tick(&self, timing: &Timing) -> Timestamp {
        self.last_heartbeat.saturating_add(timing.heartbeat)
    }
}

impl Node {
    pub(super) fn become_leader(&mut self, voters: &BTreeSet<NodeId>) {
        let next = self.log.last_index() + 1;
        let progress = self
            .config
            .nodes
            .iter()
            .filter(|n| n.id != self.id)
            .map(|n| {
                let heard = voters.contains(&n.id).then_some(self.now);
                (
                    n.id,
                    Progress {
                        next,
                        matched: 0,
                        applied: 0,
                        last_heard: heard,
                        snapshot_sent: None,
                        incarnation: 0,
                    },
                )
            })
            .collect();
        // Writes of earlier terms still in the log get their answer from this leader.
        let waiting = (self.commit + 1..=self.log.last_index())
            .filter_map(|i| match self.log.get(i).map(|e| &e.payload) {
                Some(Payload::Command {
                    origin, request, ..
                }) => Some((i, (*origin, *request))),
                _ => None,
            })
            .collect();
        self.role = RoleState::Leader(LeaderState {
            waiting,
            progress,
            acked: self.commit,
            last_heartbeat: self.now,
            quorum_checked: self.now,
            dirty: true,
            refused: self.log.last_index(),
        });
        self.leader = Some(self.id);
        self.leader_seen = Some(self.now);
        // A no-op of its own term: committing it commits everything before it.
        self.append(Payload::Noop);
    }

    /// Appends an entry of the current term to the leader's log.
    pub(super) fn append(&mut self, payload: Payload) -> Index {
        let entry = Entry {
            index: self.log.last_index() + 1,
            term: self.hard.term,
            time: self.now,
            payload,
        };
        let index = entry.index;
        if let (
            RoleState::Leader(l),
            Payload::Command {
                origin, request, ..
            },
        ) = (&mut self.role, &entry.payload)
        {
            l.waiting.insert(index, (*origin, *request));
        }
        self.log.push(entry.clone());
        self.persist.append(entry);
        if let RoleState::Leader(l) = &mut self.role {
            l.dirty = true;
        }
        index
    }

    /// Sends every follower what it lacks (and a heartbeat to those that lack nothing, when
    /// `heartbeat` is set or the commit index moved).
    pub(super) fn replicate(&mut self, heartbeat: bool) {
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        let force = heartbeat || l.dirty;
        l.dirty = false;
        let ids: Vec<NodeId> = l.progress.keys().copied().collect();
        for id in ids {
            self.replicate_to(id, force);
        }
    }

    fn replicate_to(&mut self, id: NodeId, force: bool) {
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        let p = l.progress.get_mut(&id).expect("progress for every peer");
        if p.next <= self.log.base_index() {
            // What it lacks was compacted: only a snapshot can bring it up.
            let recently = p
                .snapshot_sent
                .is_some_and(|t| self.now.saturating_duration_since(t) < self.timing.election_min);
            if let (Some(snapshot), false) = (&self.snapshot, recently) {
                p.snapshot_sent = Some(self.now);
                let msg = Message::InstallSnapshot {
                    snapshot: snapshot.clone(),
                };
                self.send(id, msg);
            }
            return;
        }
        let window = (p.matched + self.timing.max_inflight).saturating_sub(p.next - 1);
        let count = (self.log.last_index() + 1 - p.next).min(window);
        let count = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(self.timing.max_batch);
        if count == 0 && !force {
            return;
        }
        let prev_index = p.next - 1;
        let prev_term = self
            .log
            .term_at(prev_index)
            .expect("prev_index is at or after the snapshot base");
        let entries = self.log.slice(p.next, count).to_vec();
        p.next += entries.len() as u64;
        let msg = Message::Append {
            prev_index,
            prev_term,
            entries,
            commit: self.commit,
        };
        self.send(id, msg);
    }

    pub(super) fn on_append_reply(
        &mut self,
        from: NodeId,
        term: Term,
        result: AppendResult,
        persisted: Index,
        applied: Index,
        incarnation: u64,
    ) {
        let now = self.now;
        let base = self.log.base_index();
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        if term != self.hard.term {
            return;
        }
        let Some(p) = l.progress.get_mut(&from) else {
            return;
        };
        if !p.observe_incarnation(incarnation) {
            return;
        }
        p.last_heard = Some(now);
        p.applied = p.applied.max(applied);
        p.matched = p.matched.max(persisted);
        match result {
            AppendResult::Matched { last } => p.next = p.next.max(last + 1),
            AppendResult::Rejected { hint } => {
                // Back off to where the follower's log can match (never below what it has
                // confirmed, never past what the leader has).
                p.next = hint.clamp(p.matched + 1, self.log.last_index() + 1);
                if p.next <= base {
                    p.snapshot_sent = None;
                }
            }
        }
        self.leader_progress_changed();
        self.replicate_to(from, false);
    }

    pub(super) fn on_snapshot_reply(
        &mut self,
        from: NodeId,
        term: Term,
        index: Index,
        incarnation: u64,
    ) {
        let now = self.now;
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        if term != self.hard.term {
            return;
        }
        if let Some(p) = l.progress.get_mut(&from)
            && p.observe_incarnation(incarnation)
        {
            p.last_heard = Some(now);
            p.matched = p.matched.max(index);
            p.applied = p.applied.max(index);
            p.next = p.next.max(index + 1);
            p.snapshot_sent = None;
        }
        self.leader_progress_changed();
        self.replicate_to(from, false);
    }

    /// Recomputes the commit index and the acknowledged index after any progress.
    pub(super) fn leader_progress_changed(&mut self) {
        self.advance_commit();
        self.apply_committed();
        self.advance_acks();
    }

    /// The commit rule: the highest entry of the current term that is on disk on a majority
    /// of voters and on a voter of every primary zone.
    fn advance_commit(&mut self) {
        let RoleState::Leader(l) = &self.role else {
            return;
        };
        let own = self.persist.persisted();
        let matched = |id: NodeId| {
            if id == self.id {
                own
            } else {
                l.progress.get(&id).map_or(0, |p| p.matched)
            }
        };
        let mut candidates: Vec<Index> = self.config.voter_ids().map(matched).collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        candidates.dedup();
        for n in candidates {
            if n <= self.commit {
                break;
            }
            if self.log.term_at(n) != Some(self.hard.term) {
                // Raft: only entries of the current term commit by counting.
                continue;
            }
            let holders: BTreeSet<NodeId> = self
                .config
                .voter_ids()
                .filter(|id| matched(*id) >= n)
                .collect();
            let own_zone = self.config.node(self.id).map(|n| n.zone.clone());
            let committed = if self.timing.bugs.commit_in_one_zone() {
                self.config
                    .voters()
                    .filter(|n| Some(&n.zone) == own_zone.as_ref())
                    .all(|n| holders.contains(&n.id))
            } else {
                self.config.is_commit_quorum(&holders)
            };
            if committed {
                self.commit = n;
                if let RoleState::Leader(l) = &mut self.role {
                    l.dirty = true;
                }
                break;
            }
        }
    }

    /// Acknowledges writes that are committed and applied on a voter of every zone, and
    /// tells their origins.
    fn advance_acks(&mut self) {
        let RoleState::Leader(l) = &self.role else {
            return;
        };
        let served = self.served();
        let applied = |id: NodeId| {
            if id == self.id {
                served
            } else {
                l.progress.get(&id).map_or(0, |p| p.applied)
            }
        };
        let mut candidates: Vec<Index> = self
            .config
            .voter_ids()
            .map(applied)
            .filter(|i| *i <= self.commit)
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let mut ack = l.acked;
        for n in candidates {
            if n <= l.acked {
                break;
            }
            let holders: BTreeSet<NodeId> = self
                .config
                .voter_ids()
                .filter(|id| applied(*id) >= n)
                .collect();
            if self.timing.bugs.ack_before_remote_apply() || self.config.covers_every_zone(&holders)
            {
                ack = n;
                break;
            }
        }
        if ack <= l.acked {
            return;
        }
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        l.acked = ack;
        let rest = l.waiting.split_off(&(ack + 1));
        let done = std::mem::replace(&mut l.waiting, rest);
        for (index, (origin, request)) in done {
            if origin == self.id {
                if let Some(p) = self.proposals.get_mut(&request) {
                    p.acked = Some(index);
                    self.touched.push(request);
                }
            } else {
                self.send(
                    origin,
                    Message::ForwardReply {
                        request,
                        result: Ok(index),
                    },
                );
            }
        }
        self.complete_proposals();
    }

    /// Heartbeats, check-quorum, and the fast refusal of writes when a zone is gone.
    pub(super) fn leader_tick(&mut self) {
        let now = self.now;
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        if now >= l.last_heartbeat.saturating_add(self.timing.heartbeat) {
            l.last_heartbeat = now;
            self.replicate(true);
        }
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        if now.saturating_duration_since(l.quorum_checked) >= self.timing.election_min {
            let window = self.timing.election_min;
            let heard = self
                .config
                .voter_ids()
                .filter(|id| {
                    *id == self.id
                        || l.progress
                            .get(id)
                            .and_then(|p| p.last_heard)
                            .is_some_and(|t| now.saturating_duration_since(t) < window)
                })
                .count();
            if heard < self.config.quorum() {
                // Check-quorum: a leader that cannot reach a majority steps down, so that
                // writes fail fast instead of waiting on a leader that cannot commit.
                let term = self.hard.term;
                self.become_follower(term, None);
                return;
            }
            l.quorum_checked = now;
        }
        if let Err(e) = self.writable() {
            self.refuse_pending(&e);
        }
    }

    /// Whether the leader can commit right now: every primary zone heard from recently.
    pub(super) fn writable(&self) -> Result<(), crate::error::Error> {
        if self.fenced {
            return Err(unavailable(
                "this region was replaced by a recovery (newer generation): writes are refused",
            ));
        }
        let RoleState::Leader(l) = &self.role else {
            return Err(unavailable("no leader: writes are unavailable"));
        };
        let own_zone = self.config.node(self.id).map(|n| n.zone.as_str());
        for zone in self.config.primary_zones() {
            if Some(zone) == own_zone {
                continue;
            }
            let alive = self.config.voters().filter(|n| n.zone == zone).any(|n| {
                l.progress
                    .get(&n.id)
                    .and_then(|p| p.last_heard)
                    .is_some_and(|t| {
                        self.now.saturating_duration_since(t) < self.timing.zone_timeout
                    })
            });
            if !alive {
                return Err(unavailable(format!("zone {zone} unavailable")));
            }
        }
        Ok(())
    }

    /// Fails every write that waits on this leader and is not acknowledged yet: its own
    /// clients now, and forwarded ones through their origins.
    fn refuse_pending(&mut self, error: &crate::error::Error) {
        let RoleState::Leader(l) = &mut self.role else {
            return;
        };
        // Each waiting write is refused once; it stays listed in case it commits after all.
        let from = l.acked.max(l.refused) + 1;
        l.refused = self.log.last_index();
        let origins: Vec<(NodeId, u64)> = l.waiting.range(from..).map(|(_, w)| *w).collect();
        for (origin, request) in origins {
            if origin == self.id {
                if self.proposals.remove(&request).is_some() {
                    self.outputs.push_back(Output::Reply {
                        request,
                        result: Err(error.clone()),
                    });
                }
            } else {
                self.send(
                    origin,
                    Message::ForwardReply {
                        request,
                        result: Err(error.clone()),
                    },
                );
            }
        }
    }
}
