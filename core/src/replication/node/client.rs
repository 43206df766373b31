//! Client writes: proposing, forwarding to the leader, and answering.

use super::{Node, Proposal, RoleState, unavailable};
use crate::error::Error;
use crate::replication::config::NodeId;
use crate::replication::io::Output;
use crate::replication::log::{Index, Payload};
use crate::replication::message::Message;
use crate::store::Command;

impl Node {
    /// A client write arrived here: append it if leader, forward it if a leader is known,
    /// refuse it at once otherwise — a write never hangs on a cluster that cannot commit.
    pub(super) fn propose(&mut self, request: u64, command: Command) {
        if self.proposals.contains_key(&request) {
            self.reply(
                request,
                Err(Error::Internal(format!("request id {request} reused"))),
            );
            return;
        }
        let deadline = self.now.saturating_add(self.timing.write_timeout);
        if self.is_leader() {
            if let Err(e) = self.writable() {
                self.reply(request, Err(e));
                return;
            }
            self.proposals.insert(
                request,
                Proposal {
                    deadline,
                    acked: None,
                    outcome: None,
                },
            );
            let origin = self.id;
            self.append(Payload::Command {
                origin,
                request,
                command,
            });
            // A single voter commits on its own disk alone.
            self.leader_progress_changed();
            return;
        }
        if self.fenced {
            self.reply(
                request,
                Err(unavailable(
                    "this region was replaced by a recovery: writes are refused",
                )),
            );
            return;
        }
        let leader_silent = self
            .leader_seen
            .is_none_or(|t| self.now.saturating_duration_since(t) >= self.timing.zone_timeout);
        match self.leader {
            Some(_) if leader_silent => self.reply(
                request,
                Err(unavailable(
                    "the leader is unreachable: writes are unavailable",
                )),
            ),
            Some(leader) => {
                self.proposals.insert(
                    request,
                    Proposal {
                        deadline,
                        acked: None,
                        outcome: None,
                    },
                );
                self.send(leader, Message::Forward { request, command });
            }
            None => self.reply(
                request,
                Err(unavailable("no leader: writes are unavailable")),
            ),
        }
    }

    pub(super) fn on_forward(&mut self, from: NodeId, request: u64, command: Command) {
        let refusal = if self.is_leader() {
            self.writable().err()
        } else {
            Some(unavailable(
                "the node it was forwarded to is no longer the leader",
            ))
        };
        if let Some(error) = refusal {
            self.send(
                from,
                Message::ForwardReply {
                    request,
                    result: Err(error),
                },
            );
            return;
        }
        self.append(Payload::Command {
            origin: from,
            request,
            command,
        });
    }

    pub(super) fn on_forward_reply(&mut self, request: u64, result: Result<Index, Error>) {
        match result {
            Ok(index) => {
                if let Some(p) = self.proposals.get_mut(&request) {
                    p.acked = Some(index);
                    self.touched.push(request);
                }
                self.complete_proposals();
            }
            Err(e) => {
                if self.proposals.remove(&request).is_some() {
                    self.reply(request, Err(e));
                }
            }
        }
    }

    /// Answers every write that is acknowledged by the leader and applied here: the answer
    /// is built from this node's state, so the client can read its write from this node.
    /// Only proposals that changed since the last call are looked at (`touched`), so a
    /// leader with thousands of writes in flight does not rescan them all on every message.
    pub(super) fn complete_proposals(&mut self) {
        for request in std::mem::take(&mut self.touched) {
            let done = self.proposals.get(&request).is_some_and(
                |p| matches!((p.acked, &p.outcome), (Some(a), Some((i, _))) if a == *i),
            );
            if done {
                let p = self.proposals.remove(&request).expect("checked above");
                let (index, outcome) = p.outcome.expect("checked above");
                self.reply(request, Ok((index, outcome)));
            }
        }
    }

    pub(super) fn expire_proposals(&mut self) {
        let now = self.now;
        let expired: Vec<u64> = self
            .proposals
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(r, _)| *r)
            .collect();
        for request in expired {
            self.proposals.remove(&request);
            self.reply(
                request,
                Err(unavailable(
                    "the write was not committed in time; it may still take effect",
                )),
            );
        }
    }

    /// A follower whose leader fell silent fails the writes it forwarded at once (they may
    /// still take effect), forgets that leader after an election timeout (learners never
    /// elect one, so they must not keep a dead one forever), and, if it abstains from
    /// elections after losing part of its log, repairs itself from its peers.
    pub(super) fn follower_tick(&mut self) {
        let silence = self
            .leader_seen
            .map(|t| self.now.saturating_duration_since(t));
        if self.leader.is_some_and(|l| l != self.id) {
            if silence.is_none_or(|s| s >= self.timing.zone_timeout) {
                let waiting: Vec<u64> = self
                    .proposals
                    .iter()
                    .filter(|(_, p)| p.acked.is_none())
                    .map(|(r, _)| *r)
                    .collect();
                for request in waiting {
                    self.proposals.remove(&request);
                    self.reply(
                        request,
                        Err(unavailable(
                            "the leader became unreachable; the write may still take effect",
                        )),
                    );
                }
            }
            if silence.is_none_or(|s| s >= self.timing.election_min) {
                self.leader = None;
            }
        }
        if self.voting == super::Voting::AbstainUntil(None)
            && self.now >= self.election_deadline
            && self.is_voter()
        {
            self.reset_election_timer();
            self.start_repair();
        }
    }

    /// The leadership is lost: the leader's own clients get their answer now rather than at
    /// their deadline. (The writes may still commit under the next leader.)
    pub(super) fn fail_own_proposals(&mut self, reason: &str) {
        if !matches!(self.role, RoleState::Follower) {
            return;
        }
        let pending: Vec<u64> = self
            .proposals
            .iter()
            .filter(|(_, p)| p.acked.is_none())
            .map(|(r, _)| *r)
            .collect();
        for request in pending {
            self.proposals.remove(&request);
            self.reply(request, Err(unavailable(reason)));
        }
    }

    fn reply(&mut self, request: u64, result: Result<(Index, crate::store::Outcome), Error>) {
        self.outputs.push_back(Output::Reply { request, result });
    }
}
