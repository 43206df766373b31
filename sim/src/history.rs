//! The history of a run: every operation a client invoked, where, when, and what came back.
//!
//! This is what the oracles judge. A result is *definite* when the client knows whether the
//! operation took effect ([`OpResult::is_definite`]); `Unavailable`, `Timeout` and
//! `NodeDown` on a write are *indeterminate*: it may or may not take effect, now or later.
//! For every acknowledged write the history also keeps an [`Ack`]: at the instant the node
//! answered, which voters held the entry on their *synced* disk (promise G1).

use std::time::Duration;

use cairn_core::Timestamp;
use cairn_core::error::Error;
use cairn_core::ids::{DomainId, KeyId};
use cairn_core::key::spec::KeySpec;
use cairn_core::key::state::Transition;
use cairn_core::replication::{Index, NodeId, Term};
use cairn_core::store::Outcome;

use crate::clock::{Micros, timestamp};

/// An operation's position in the history.
pub type OpId = usize;

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpKind {
    CreateDomain {
        domain: DomainId,
    },
    /// Generate a key (its id is chosen by the client, so that an indeterminate create can
    /// be looked for later).
    CreateKey {
        domain: DomainId,
        key: KeyId,
        spec: KeySpec,
    },
    /// Import an oct key from a JWK whose bytes the workload knows (a G6 probe: they must
    /// never appear in plaintext on a wire or a disk).
    ImportKey {
        domain: DomainId,
        key: KeyId,
        spec: KeySpec,
        material: Vec<u8>,
    },
    Encrypt {
        domain: DomainId,
        key: KeyId,
        plaintext: Vec<u8>,
        context: Option<String>,
    },
    /// Decrypt a sample ciphertext of the key; the result says whether it gave `plaintext`.
    Decrypt {
        domain: DomainId,
        key: KeyId,
        ciphertext: String,
        context: Option<String>,
        plaintext: Vec<u8>,
    },
    Transition {
        domain: DomainId,
        key: KeyId,
        transition: Transition,
    },
}

impl OpKind {
    /// Whether this is a write (a replicated command) rather than a query.
    pub fn is_write(&self) -> bool {
        !matches!(self, OpKind::Encrypt { .. } | OpKind::Decrypt { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            OpKind::CreateDomain { .. } => "create_domain",
            OpKind::CreateKey { .. } => "create_key",
            OpKind::ImportKey { .. } => "import_key",
            OpKind::Encrypt { .. } => "encrypt",
            OpKind::Decrypt { .. } => "decrypt",
            OpKind::Transition { transition, .. } => transition.name(),
        }
    }

    pub fn domain(&self) -> DomainId {
        match self {
            OpKind::CreateDomain { domain }
            | OpKind::CreateKey { domain, .. }
            | OpKind::ImportKey { domain, .. }
            | OpKind::Encrypt { domain, .. }
            | OpKind::Decrypt { domain, .. }
            | OpKind::Transition { domain, .. } => *domain,
        }
    }

    /// The key it is about, if any.
    pub fn key(&self) -> Option<KeyId> {
        match self {
            OpKind::CreateDomain { .. } => None,
            OpKind::CreateKey { key, .. }
            | OpKind::ImportKey { key, .. }
            | OpKind::Encrypt { key, .. }
            | OpKind::Decrypt { key, .. }
            | OpKind::Transition { key, .. } => Some(*key),
        }
    }
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// The write was committed at `index` and applied; `outcome` is what applying it did (a
    /// refusal such as "key exists" is final and the same on every replica). Acknowledged.
    Written {
        index: Index,
        outcome: Outcome,
    },
    Encrypted {
        ciphertext: String,
    },
    /// The ciphertext decrypted; `matches` says whether to the expected plaintext.
    Decrypted {
        matches: bool,
    },
    /// A definite refusal with no effect: validation at preparation, or a query's error.
    Rejected(Error),
    /// The write was not committed (no leader, a zone unavailable, not in time): it may or
    /// may not take effect.
    Unavailable(Error),
    /// The client gave up waiting: indeterminate.
    Timeout,
    /// The node went down with the request outstanding (or was down when it arrived):
    /// indeterminate.
    NodeDown,
}

impl OpResult {
    /// Whether the client knows if the operation took effect.
    pub fn is_definite(&self) -> bool {
        matches!(
            self,
            OpResult::Written { .. }
                | OpResult::Encrypted { .. }
                | OpResult::Decrypted { .. }
                | OpResult::Rejected(_)
        )
    }

    /// An acknowledged write whose command applied without refusal, or a successful query
    /// (a decrypt that gave the expected plaintext).
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            OpResult::Written { outcome: Ok(_), .. }
                | OpResult::Encrypted { .. }
                | OpResult::Decrypted { matches: true }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            OpResult::Written { outcome: Ok(_), .. } => "written",
            OpResult::Written {
                outcome: Err(_), ..
            } => "written_refused",
            OpResult::Encrypted { .. } => "encrypted",
            OpResult::Decrypted { matches: true } => "decrypted",
            OpResult::Decrypted { matches: false } => "decrypted_wrong",
            OpResult::Rejected(_) => "rejected",
            OpResult::Unavailable(_) => "unavailable",
            OpResult::Timeout => "timeout",
            OpResult::NodeDown => "node_down",
        }
    }
}

/// Durability of an acknowledged write at the instant of its acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// When the node answered (global µs).
    pub at_us: Micros,
    pub index: Index,
    /// The entry's term, from the answering node's log (`None` if already compacted there).
    pub term: Option<Term>,
    /// The voters whose synced disk held the entry then.
    pub durable_on: Vec<NodeId>,
    /// Voters whose disk was lost (a host lost or replaced) between the invocation and the
    /// ack: the entry may have been durable there when it committed.
    pub disks_lost: Vec<NodeId>,
    /// Voters whose log holds a corrupted record not yet found by a restart: what follows
    /// the damage (even if written later) would not be read back, though the node, unaware,
    /// counts it as durable.
    pub disks_damaged: Vec<NodeId>,
}

impl Ack {
    /// `durable_on` with the voters excused by a disk fault (`disks_lost`,
    /// `disks_damaged`): a G1 check that a commit quorum held the entry, *unless a disk was
    /// lost or corrupted*, tests this set.
    pub fn durable_or_disk_fault(&self) -> std::collections::BTreeSet<NodeId> {
        self.durable_on
            .iter()
            .chain(&self.disks_lost)
            .chain(&self.disks_damaged)
            .copied()
            .collect()
    }
}

/// One operation of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub id: OpId,
    pub client: usize,
    /// The node the client sent it to.
    pub node: NodeId,
    pub kind: OpKind,
    /// When the client sent it (global µs).
    pub invoked_us: Micros,
    /// When the answer reached the client (or it gave up).
    pub completed_us: Option<Micros>,
    pub result: Option<OpResult>,
    /// The node found nothing at first and ran a barrier before the final attempt.
    pub barrier: bool,
    pub ack: Option<Ack>,
    /// An answer is on its way to the client.
    pub(crate) answered: bool,
}

impl Op {
    pub fn invoked(&self) -> Timestamp {
        timestamp(self.invoked_us)
    }

    pub fn completed(&self) -> Option<Timestamp> {
        self.completed_us.map(timestamp)
    }

    /// From invocation to completion.
    pub fn latency(&self) -> Option<Duration> {
        self.completed_us
            .map(|c| Duration::from_micros(c.saturating_sub(self.invoked_us)))
    }

    pub fn is_complete(&self) -> bool {
        self.result.is_some()
    }
}

/// Every operation of a run, in invocation order (an [`OpId`] indexes it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    ops: Vec<Op>,
}

impl History {
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn get(&self, id: OpId) -> &Op {
        &self.ops[id]
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Acknowledged writes: committed, applied, and answered (`Written`), including those
    /// whose command applied as a refusal (`outcome: Err`, e.g. "key exists"), which are
    /// committed entries all the same. Each has its [`Ack`].
    pub fn acknowledged_writes(&self) -> impl Iterator<Item = &Op> {
        self.ops
            .iter()
            .filter(|o| matches!(o.result, Some(OpResult::Written { .. })))
    }

    /// How many completed operations ended with each result name, e.g. for reports.
    pub fn summary(&self) -> std::collections::BTreeMap<(&'static str, &'static str), usize> {
        let mut m = std::collections::BTreeMap::new();
        for op in &self.ops {
            let r = op.result.as_ref().map_or("outstanding", OpResult::name);
            *m.entry((op.kind.name(), r)).or_insert(0) += 1;
        }
        m
    }

    pub(crate) fn invoke(&mut self, client: usize, node: NodeId, kind: OpKind, at: Micros) -> OpId {
        let id = self.ops.len();
        self.ops.push(Op {
            id,
            client,
            node,
            kind,
            invoked_us: at,
            completed_us: None,
            result: None,
            barrier: false,
            ack: None,
            answered: false,
        });
        id
    }

    pub(crate) fn get_mut(&mut self, id: OpId) -> &mut Op {
        &mut self.ops[id]
    }
}
