//! A replication node: Raft with pre-vote and check-quorum, a zone-aware commit rule, leader
//! forwarding, snapshots, and read-your-writes across zones — as a sans-IO state machine.
//!
//! The driver calls [`Node::handle_input`] and [`Node::handle_timeout`], then drains
//! [`Node::poll_output`] and sleeps until [`Node::poll_timeout`]. Work is batched at that
//! boundary: all entries appended since the last drain go to disk as one `Persist` output and
//! to each follower as one append message, so a driver that feeds many inputs before polling
//! gets group commit for free.
//!
//! Durability claims wait for the disk: a node reports entries as persisted, or grants a
//! vote, only after the matching `Persisted` input (messages that depend on a write are held
//! until it is durable).
//!
//! A write is acknowledged once it is committed (on disk on a majority of voters and on a
//! voter of every primary zone) *and* applied on a voter of every zone. The second half is
//! what makes read-your-writes hold across zones when the acknowledging zone dies right after
//! the acknowledgement: some voter of every other zone already serves the key, and a node
//! that does not yet (a lagging learner, a restarted voter) learns it through a barrier
//! before it ever answers "not found".

mod barrier;
mod client;
mod election;
mod follower;
mod leader;
mod observe;
mod persist;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand_core::CryptoRng;

use crate::crypto::hierarchy::RootKey;
use crate::error::Error;
use crate::replication::config::{ClusterConfig, NodeId};
use crate::replication::io::{HardState, Input, Output, Recovered};
use crate::replication::log::{Index, Log, Payload, Term};
use crate::replication::message::{Message, Packet};
use crate::replication::snapshot::Snapshot;
use crate::replication::timing::Timing;
use crate::store::{KeyStore, Outcome};
use crate::time::Timestamp;

pub use leader::Progress;
pub use observe::Lag;

/// The RNG a node draws from (election jitter). `Sync` so that a driver may share the node
/// behind a lock between its event loop and request handlers.
pub type NodeRng = Box<dyn CryptoRng + Send + Sync>;

/// Where the node stands in elections.
#[derive(Debug)]
enum RoleState {
    Follower,
    PreCandidate { granted: BTreeSet<NodeId> },
    Candidate { granted: BTreeSet<NodeId> },
    Leader(leader::LeaderState),
}

/// Whether this node may take part in elections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Voting {
    Normal,
    /// Its log lost entries: abstain until caught up to the commit index the first leader
    /// reports (`None` until a leader has been heard).
    AbstainUntil(Option<Index>),
    /// It lost its term and vote: never vote again without an operator.
    Never,
}

/// A client write waiting for its answer.
#[derive(Debug)]
struct Proposal {
    deadline: Timestamp,
    /// The leader said the entry at this index is committed and applied in every zone.
    acked: Option<Index>,
    /// What applying it did here, once this node applied it.
    outcome: Option<(Index, Outcome)>,
}

/// A node's summary, for status pages, metrics and the simulator's oracles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub id: NodeId,
    pub term: Term,
    pub role: &'static str,
    pub leader: Option<NodeId>,
    pub commit: Index,
    pub applied: Index,
    pub persisted: Index,
    pub last_index: Index,
    pub fenced: bool,
    /// See [`Node::status`]: set when this node refused a leader that contradicts its
    /// committed log.
    pub diverged: Option<Index>,
    /// This voter lost its term and vote (both hard-state slots unreadable) and will not vote
    /// again until an operator replaces it: elections that need it cannot succeed.
    pub lost_vote: bool,
}

pub struct Node {
    id: NodeId,
    config: ClusterConfig,
    timing: Timing,
    rng: NodeRng,
    store: KeyStore,
    log: Log,
    hard: HardState,
    role: RoleState,
    leader: Option<NodeId>,
    commit: Index,
    applied: Index,
    now: Timestamp,
    election_deadline: Timestamp,
    /// When a leader was last heard (for pre-vote: a node that hears a live leader does not
    /// help anyone unseat it).
    leader_seen: Option<Timestamp>,
    /// The follower's log matches the current leader's up to here.
    leader_match: Index,
    /// When this node started (see `AppendReply::incarnation`).
    incarnation: u64,
    voting: Voting,
    /// A newer generation exists: this node's region was replaced by a recovery.
    fenced: bool,
    /// A leader contradicted this node's committed entries (at this index): it stopped
    /// following. Never happens unless every voter lost its disk.
    diverged: Option<Index>,
    persist: persist::Persistence,
    outputs: VecDeque<Output>,
    /// The latest snapshot (durable, or being made durable).
    snapshot: Option<Snapshot>,
    proposals: BTreeMap<u64, Proposal>,
    /// Proposals whose state changed since they were last checked for completion.
    touched: Vec<u64>,
    barriers: BTreeMap<u64, barrier::Barrier>,
}

impl Node {
    /// A node starting from what it found on disk.
    ///
    /// # Panics
    /// If `config` is invalid or does not contain `id`, or the recovered log is not
    /// contiguous: starting anyway could fork the replicas.
    pub fn new(
        id: NodeId,
        config: ClusterConfig,
        timing: Timing,
        root: RootKey,
        recovered: Recovered,
        now: Timestamp,
        rng: NodeRng,
    ) -> Node {
        config.validate().expect("valid cluster configuration");
        assert!(
            config.node(id).is_some(),
            "{id} is not in the configuration"
        );
        let voter = config.is_voter(id);
        let voting = match (&recovered.hard_state, recovered.log_damaged) {
            // Learners never vote: nothing to abstain from.
            _ if !voter => Voting::Normal,
            (None, _) => Voting::Never,
            (Some(h), _) if h.no_vote => Voting::Never,
            (Some(_), true) => Voting::AbstainUntil(None),
            (Some(_), false) => Voting::Normal,
        };
        let lost_hard_state = recovered.hard_state.is_none();
        let mut hard = recovered.hard_state.unwrap_or_default();
        hard.no_vote |= lost_hard_state;
        let (store, log) = match &recovered.snapshot {
            Some(s) => (
                KeyStore::from_snapshot(root, &s.data)
                    .expect("a snapshot that passed its checksum decodes"),
                Log::new(s.index, s.term, recovered.entries),
            ),
            None => (KeyStore::new(root), Log::new(0, 0, recovered.entries)),
        };
        let mut store = store;
        store.set_planted_bugs(timing.bugs);
        let stale_hard_state = log.last_term() > hard.term;
        if stale_hard_state {
            // Every write carries the hard state, so the log can only be ahead of it if the
            // newest slot was lost: the node may have voted in that term, so it behaves as if
            // it had (for itself, which helps no one) rather than risk a second vote.
            hard.term = log.last_term();
            hard.vote = Some(id);
        }
        let base = log.base_index();
        let last = log.last_index();
        let mut node = Node {
            id,
            config,
            timing,
            rng,
            store,
            log,
            hard,
            role: RoleState::Follower,
            leader: None,
            commit: base,
            applied: base,
            now,
            election_deadline: now,
            leader_seen: None,
            leader_match: 0,
            incarnation: now.as_millis(),
            voting,
            fenced: false,
            diverged: None,
            persist: persist::Persistence::new(last, hard.term),
            outputs: VecDeque::new(),
            snapshot: recovered.snapshot,
            proposals: BTreeMap::new(),
            touched: Vec::new(),
            barriers: BTreeMap::new(),
        };
        node.reset_election_timer();
        if lost_hard_state || stale_hard_state {
            // Make the forfeit durable with the next write.
            node.persist.hard_state_changed();
        }
        // What the disk says was committed can be applied at once: a restarted node serves
        // its keys before any leader is elected.
        node.commit = hard.commit.clamp(base, last);
        node.persist.set_recovered_commit(node.commit);
        node.apply_committed();
        node
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The applied key store, for queries (reads and crypto operations).
    pub fn store(&self) -> &KeyStore {
        &self.store
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, RoleState::Leader(_))
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    pub fn status(&self) -> Status {
        Status {
            id: self.id,
            term: self.hard.term,
            role: match self.role {
                RoleState::Follower => "follower",
                RoleState::PreCandidate { .. } => "pre-candidate",
                RoleState::Candidate { .. } => "candidate",
                RoleState::Leader(_) => "leader",
            },
            leader: self.leader,
            commit: self.commit,
            applied: self.applied,
            persisted: self.persist.persisted(),
            last_index: self.log.last_index(),
            fenced: self.fenced,
            diverged: self.diverged,
            lost_vote: self.voting == Voting::Never,
        }
    }

    /// The leader's view of every other node's replication (empty on non-leaders).
    pub fn progress(&self) -> BTreeMap<NodeId, Progress> {
        match &self.role {
            RoleState::Leader(l) => l.progress.clone(),
            _ => BTreeMap::new(),
        }
    }

    fn progress_of(&self, id: NodeId) -> Option<&Progress> {
        match &self.role {
            RoleState::Leader(l) => l.progress.get(&id),
            _ => None,
        }
    }

    /// The log entry at `index`, if still in memory.
    pub fn entry(&self, index: Index) -> Option<&crate::replication::log::Entry> {
        self.log.get(index)
    }

    pub fn handle_input(&mut self, now: Timestamp, input: Input) {
        self.now = self.now.max(now);
        match input {
            Input::Message { from, packet } => self.on_packet(from, packet),
            Input::Propose { request, command } => self.propose(request, command),
            Input::Persisted { seq } => self.on_persisted(seq),
            Input::Barrier { id } => self.start_barrier(id),
        }
        self.after_step();
    }

    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        if let RoleState::Leader(_) = self.role {
            self.leader_tick();
        } else {
            self.follower_tick();
            if self.now >= self.election_deadline && self.may_campaign() {
                self.start_pre_vote();
            }
        }
        self.expire_proposals();
        self.expire_barriers();
        self.after_step();
    }

    /// The next output, if any. Pending disk writes and appends are batched here, after the
    /// inputs: one `Persist` and one append per follower for everything since the last
    /// drain.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.outputs.is_empty() {
            self.flush();
        }
        self.outputs.pop_front()
    }

    /// When [`Node::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let mut next = match &self.role {
            RoleState::Leader(l) => l.next_tick(&self.timing),
            _ if self.may_campaign()
                || (self.is_voter() && self.voting == Voting::AbstainUntil(None)) =>
            {
                self.election_deadline
            }
            _ => Timestamp::from_millis(u64::MAX),
        };
        if self.leader.is_some() && !self.is_leader() {
            // Followers watch their leader's silence: first to fail the writes they forwarded,
            // then to forget it (see `follower_tick`). Each point is scheduled once it lies
            // ahead, so a silent leader never makes the timer fire in a loop.
            let seen = self.leader_seen.unwrap_or(self.now);
            let silent = seen.saturating_add(self.timing.zone_timeout);
            let forget = seen.saturating_add(self.timing.election_min);
            next = next.min(if silent > self.now { silent } else { forget });
        }
        for p in self.proposals.values() {
            next = next.min(p.deadline);
        }
        for b in self.barriers.values() {
            next = next.min(b.deadline);
        }
        (next.as_millis() != u64::MAX).then_some(next)
    }

    fn flush(&mut self) {
        if let RoleState::Leader(_) = self.role {
            self.replicate(false);
        }
        if let Some(batch) = self.persist.take_batch(&self.hard) {
            self.outputs.push_back(Output::Persist(batch));
        }
    }

    fn after_step(&mut self) {
        self.apply_committed();
        self.maybe_snapshot();
        self.settle_barriers();
    }

    fn on_packet(&mut self, from: NodeId, packet: Packet) {
        if packet.generation != self.config.generation {
            if packet.generation > self.config.generation {
                // A recovery rebuilt the region under a newer generation: this node belongs
                // to the old one. It stops taking writes and campaigning, for good.
                self.fenced = true;
                self.become_follower(self.hard.term, None);
            } else if !matches!(packet.msg, Message::Superseded) {
                // A node of a region this one replaced (cut off, and back): tell it, so that
                // it fences itself instead of going on taking writes nobody will keep. A
                // packet of a newer generation is never answered: no ping-pong.
                self.send(from, Message::Superseded);
            }
            return;
        }
        if self.config.node(from).is_none() {
            return;
        }
        let is_pre_vote = matches!(
            packet.msg,
            Message::PreVote { .. } | Message::PreVoteReply { granted: true }
        );
        if packet.term > self.hard.term && !is_pre_vote {
            let leader = matches!(
                packet.msg,
                Message::Append { .. } | Message::InstallSnapshot { .. }
            )
            .then_some(from);
            self.become_follower(packet.term, leader);
        }
        let term = packet.term;
        match packet.msg {
            Message::PreVote {
                last_index,
                last_term,
            } => self.on_pre_vote(from, term, last_index, last_term),
            Message::PreVoteReply { granted } => self.on_pre_vote_reply(from, term, granted),
            Message::Vote {
                last_index,
                last_term,
            } => self.on_vote(from, term, last_index, last_term),
            Message::VoteReply { granted } => self.on_vote_reply(from, term, granted),
            Message::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } => self.on_append(from, term, prev_index, prev_term, entries, commit),
            Message::AppendReply {
                result,
                persisted,
                applied,
                incarnation,
            } => self.on_append_reply(from, term, result, persisted, applied, incarnation),
            Message::InstallSnapshot { snapshot } => self.on_install_snapshot(from, term, snapshot),
            Message::SnapshotReply { index, incarnation } => {
                self.on_snapshot_reply(from, term, index, incarnation)
            }
            Message::Forward { request, command } => self.on_forward(from, request, command),
            Message::ForwardReply { request, result } => self.on_forward_reply(request, result),
            Message::Probe { nonce } => self.on_probe(from, nonce),
            Message::ProbeReply {
                nonce,
                commit,
                applied,
            } => self.on_probe_reply(from, nonce, commit, applied),
            Message::Fetch { from: index } => self.on_fetch(from, index),
            Message::Committed { entries, commit } => self.on_committed(from, entries, commit),
            Message::CommittedSnapshot { snapshot } => self.on_committed_snapshot(from, snapshot),
            // Only ever sent across generations, handled above.
            Message::Superseded => {}
        }
    }

    /// Sends a message now.
    fn send(&mut self, to: NodeId, msg: Message) {
        let packet = self.packet(msg);
        self.outputs.push_back(Output::Send { to, packet });
    }

    /// Sends a message once everything written so far is durable.
    fn send_when_durable(&mut self, to: NodeId, msg: Message) {
        let packet = self.packet(msg);
        if let Some(packet) = self.persist.hold(to, packet) {
            self.outputs.push_back(Output::Send { to, packet });
        }
    }

    fn packet(&self, msg: Message) -> Packet {
        Packet {
            generation: self.config.generation,
            term: self.hard.term,
            msg,
        }
    }

    fn on_persisted(&mut self, seq: u64) {
        let outcome = self.persist.on_persisted(seq, &self.log);
        for (to, packet) in outcome.released {
            self.outputs.push_back(Output::Send { to, packet });
        }
        if let Some(snapshot) = outcome.snapshot_durable {
            self.on_snapshot_durable(snapshot);
        }
        if outcome.advanced {
            match self.role {
                RoleState::Leader(_) => self.leader_progress_changed(),
                _ => self.report_persisted(),
            }
        }
        // A candidate's own vote counts once it is durable (it matters for a single voter).
        self.check_election_won();
    }

    /// What this node serves and will still serve after a crash: applied, and durably known
    /// committed. This is what it reports to the leader, whose acknowledgements count on it.
    fn served(&self) -> Index {
        self.applied.min(self.persist.persisted_commit())
    }

    fn is_voter(&self) -> bool {
        self.config.is_voter(self.id)
    }

    fn may_campaign(&self) -> bool {
        self.is_voter() && self.voting == Voting::Normal && !self.fenced
    }

    fn reset_election_timer(&mut self) {
        let min = u64::try_from(self.timing.election_min.as_millis()).unwrap_or(u64::MAX);
        let jitter = self.rng.next_u64() % min.max(1);
        self.election_deadline = Timestamp::from_millis(
            self.now
                .as_millis()
                .saturating_add(min)
                .saturating_add(jitter),
        );
    }

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let was_leader = matches!(self.role, RoleState::Leader(_));
        if term > self.hard.term {
            self.hard.term = term;
            self.hard.vote = None;
            self.persist.hard_state_changed();
        }
        self.role = RoleState::Follower;
        if leader != self.leader {
            self.leader_match = 0;
        }
        self.leader = leader;
        if was_leader {
            self.fail_own_proposals("this node lost the leadership before the write committed");
        }
        self.reset_election_timer();
    }

    /// Applies every committed entry this node has.
    fn apply_committed(&mut self) {
        let upto = if self.timing.bugs.apply_before_commit() {
            self.log.last_index()
        } else {
            self.commit.min(self.log.last_index())
        };
        while self.applied < upto {
            let index = self.applied + 1;
            let entry = self
                .log
                .get(index)
                .expect("entries after the snapshot are in the log");
            if let Payload::Command {
                origin,
                request,
                command,
            } = &entry.payload
            {
                let outcome = self.store.apply(index, entry.time, command);
                if *origin == self.id
                    && let Some(p) = self.proposals.get_mut(request)
                {
                    p.outcome = Some((index, outcome));
                    self.touched.push(*request);
                }
            }
            self.applied = index;
            if self.hard.commit < self.commit {
                // Recorded durably before this node says it serves the entries (see
                // `Node::served`): a restart must not forget what it already served.
                self.hard.commit = self.commit;
                self.persist.hard_state_changed();
            }
        }
        self.complete_proposals();
        if let Voting::AbstainUntil(Some(target)) = self.voting
            && self.applied >= target
        {
            self.voting = Voting::Normal;
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// The error every refused or abandoned write carries.
fn unavailable(reason: impl Into<String>) -> Error {
    Error::Unavailable(reason.into())
}
