//! Elections: pre-vote, vote, and becoming leader.

use std::collections::BTreeSet;

use super::{Node, RoleState, Voting};
use crate::replication::config::NodeId;
use crate::replication::log::{Index, Term};
use crate::replication::message::Message;

impl Node {
    /// Starts a pre-vote round: asks the voters whether they would elect this node, without
    /// raising anyone's term.
    pub(super) fn start_pre_vote(&mut self) {
        self.leader = None;
        self.reset_election_timer();
        let mut granted = BTreeSet::new();
        granted.insert(self.id);
        self.role = RoleState::PreCandidate { granted };
        let msg = Message::PreVote {
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
        };
        let term = self.hard.term + 1;
        for voter in self.other_voters() {
            let mut packet = self.packet(msg.clone());
            packet.term = term;
            self.outputs
                .push_back(crate::replication::io::Output::Send { to: voter, packet });
        }
        self.check_election_won();
    }

    fn start_election(&mut self) {
        self.hard.term += 1;
        self.hard.vote = Some(self.id);
        self.persist.hard_state_changed();
        self.leader = None;
        self.reset_election_timer();
        self.role = RoleState::Candidate {
            granted: BTreeSet::new(),
        };
        let msg = Message::Vote {
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
        };
        for voter in self.other_voters() {
            // Nobody may hear of this candidacy before the vote for itself is on disk.
            self.send_when_durable(voter, msg.clone());
        }
    }

    pub(super) fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: Term,
        last_index: Index,
        last_term: Term,
    ) {
        // Deny while a leader is known to be alive: a node that was merely cut off must not
        // unseat it. Deny to candidates whose log lacks what this node has.
        let leader_alive = self.is_leader()
            || self
                .leader_seen
                .is_some_and(|t| self.now.saturating_duration_since(t) < self.timing.election_min);
        let granted = term > self.hard.term
            && !leader_alive
            && self.voting == Voting::Normal
            && self.is_voter()
            && self.log.is_up_to_date(last_index, last_term);
        let mut packet = self.packet(Message::PreVoteReply { granted });
        if granted {
            packet.term = term;
        }
        self.outputs
            .push_back(crate::replication::io::Output::Send { to: from, packet });
    }

    pub(super) fn on_pre_vote_reply(&mut self, from: NodeId, term: Term, granted: bool) {
        if let RoleState::PreCandidate { granted: votes } = &mut self.role
            && granted
            && term == self.hard.term + 1
        {
            votes.insert(from);
            self.check_election_won();
        }
    }

    pub(super) fn on_vote(&mut self, from: NodeId, term: Term, last_index: Index, last_term: Term) {
        let leader_alive = self.is_leader()
            || self
                .leader_seen
                .is_some_and(|t| self.now.saturating_duration_since(t) < self.timing.election_min);
        let granted = term == self.hard.term
            && !leader_alive
            && self.voting == Voting::Normal
            && self.is_voter()
            && self.hard.vote.is_none_or(|v| v == from)
            && self.log.is_up_to_date(last_index, last_term);
        if granted {
            if self.hard.vote != Some(from) {
                self.hard.vote = Some(from);
                self.persist.hard_state_changed();
            }
            self.reset_election_timer();
        }
        // A granted vote is only sent once it is on disk: a crash must not let this node
        // vote twice in one term.
        self.send_when_durable(from, Message::VoteReply { granted });
    }

    pub(super) fn on_vote_reply(&mut self, from: NodeId, term: Term, granted: bool) {
        if let RoleState::Candidate { granted: votes } = &mut self.role
            && granted
            && term == self.hard.term
        {
            votes.insert(from);
            self.check_election_won();
        }
    }

    /// Moves on when a round has a quorum: pre-candidate to candidate, candidate to leader.
    /// A candidate's own vote counts once it is durable.
    pub(super) fn check_election_won(&mut self) {
        let quorum = self.config.quorum();
        match &self.role {
            RoleState::PreCandidate { granted } if granted.len() >= quorum => {
                self.start_election();
                // A single voter wins at once (once its vote is durable).
                self.check_election_won();
            }
            RoleState::Candidate { granted } => {
                let own_vote_durable = self.persist.persisted_hard_state_term() >= self.hard.term;
                let votes = granted.len() + usize::from(own_vote_durable);
                if votes >= quorum {
                    let voters: BTreeSet<NodeId> = granted.clone();
                    self.become_leader(&voters);
                }
            }
            _ => {}
        }
    }

    pub(super) fn other_voters(&self) -> Vec<NodeId> {
        self.config
            .voter_ids()
            .filter(|id| *id != self.id)
            .collect()
    }
}
