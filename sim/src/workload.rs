//! The clients and what they believe about the keys.
//!
//! N clients each keep one operation outstanding: they think, pick an operation and a live
//! node at random, send it, and wait for the answer or their timeout. The first operations
//! create the workload's domains; then clients create keys (mostly oct 256, some oct 128/192,
//! occasionally EC P-256), import oct keys from JWKs of known bytes, encrypt and decrypt with
//! keys whose creation was acknowledged, and now and then deactivate, activate or delete one.
//!
//! The model ([`KeyModel`]) is what the clients know from acknowledged answers: it chooses
//! sensible operations and gives oracles their expectations — every acknowledged key with
//! its spec, its known lifecycle state (`None` once an indeterminate transition makes it
//! uncertain), and a sample ciphertext that must keep decrypting. A key is never the target
//! of a transition while any other operation on it is outstanding, so each client's
//! expectation is unambiguous.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cairn_core::ids::{DomainId, KeyId};
use cairn_core::key::spec::{Curve, KeySpec};
use cairn_core::key::state::{KeyState, RevocationReason, Transition};
use cairn_core::replication::Index;
use cairn_core::store::Applied;

use crate::history::{Op, OpId, OpKind, OpResult};
use crate::rng::SimRng;

/// Which nodes clients send their requests to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Any live node, the remote replica included.
    AnyNode,
    /// Live nodes of the primary region.
    PrimaryRegion,
}

/// Relative weights of the operations clients choose (domain creation comes first, by
/// itself). An operation with no suitable key falls back to creating an oct key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpMix {
    pub create_oct: u32,
    pub create_ec: u32,
    pub import: u32,
    pub encrypt: u32,
    pub decrypt: u32,
    pub deactivate: u32,
    pub activate: u32,
    pub delete: u32,
}

impl OpMix {
    /// About one third writes, two thirds crypto.
    pub const DEFAULT: OpMix = OpMix {
        create_oct: 20,
        create_ec: 1,
        import: 5,
        encrypt: 35,
        decrypt: 30,
        deactivate: 3,
        activate: 2,
        delete: 2,
    };
    /// Creates only (oct keys): the most replication per operation.
    pub const WRITES: OpMix = OpMix {
        create_oct: 1,
        create_ec: 0,
        import: 0,
        encrypt: 0,
        decrypt: 0,
        deactivate: 0,
        activate: 0,
        delete: 0,
    };

    fn weights(&self) -> [u32; 8] {
        [
            self.create_oct,
            self.create_ec,
            self.import,
            self.encrypt,
            self.decrypt,
            self.deactivate,
            self.activate,
            self.delete,
        ]
    }
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix::DEFAULT
    }
}

/// The clients' behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Number of clients (0: no workload).
    pub clients: usize,
    /// Time between an answer and the client's next request.
    pub think: (Duration, Duration),
    /// One-way latency between a client and a node.
    pub latency: (Duration, Duration),
    /// Time a node takes to process a query before running it.
    pub processing: (Duration, Duration),
    /// A client gives up on a request after this long.
    pub timeout: Duration,
    pub mix: OpMix,
    /// Domains created at the start.
    pub domains: usize,
    /// Plaintext sizes for encrypt, in bytes.
    pub plaintext: (usize, usize),
    pub targets: Targets,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            clients: 4,
            think: (Duration::from_millis(20), Duration::from_millis(200)),
            latency: (Duration::from_micros(200), Duration::from_millis(1)),
            processing: (Duration::from_micros(50), Duration::from_micros(300)),
            timeout: Duration::from_secs(5),
            mix: OpMix::DEFAULT,
            domains: 1,
            plaintext: (16, 64),
            targets: Targets::AnyNode,
        }
    }
}

/// What the clients know about a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainModel {
    pub id: DomainId,
    /// Its creation was acknowledged (or found to exist).
    pub known: bool,
    creating: bool,
}

/// A ciphertext made by an acknowledged encrypt, which must keep decrypting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub plaintext: Vec<u8>,
    pub context: Option<String>,
    pub ciphertext: String,
    /// The encrypt that made it.
    pub op: OpId,
}

/// An acknowledged key, as the clients know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyModel {
    pub domain: DomainId,
    pub id: KeyId,
    pub spec: KeySpec,
    /// The create or import that was acknowledged, and the log index it committed at.
    pub created_by: OpId,
    pub index: Index,
    /// The key bytes, for an imported key.
    pub imported: Option<Vec<u8>>,
    /// The state after the last acknowledged transition; `None` when a transition's outcome
    /// is unknown.
    pub state: Option<KeyState>,
    pub sample: Option<Sample>,
    /// Outstanding crypto operations on it, and whether a transition is outstanding.
    readers: u32,
    writer: bool,
}

impl KeyModel {
    fn idle(&self) -> bool {
        self.readers == 0 && !self.writer
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Client {
    pub(crate) outstanding: Option<OpId>,
    /// A wake-up is scheduled.
    pub(crate) scheduled: bool,
}

/// The clients and their model of the store.
#[derive(Clone, Debug)]
pub struct Workload {
    config: WorkloadConfig,
    pub(crate) clients: Vec<Client>,
    domains: Vec<DomainModel>,
    keys: Vec<KeyModel>,
    by_id: BTreeMap<KeyId, usize>,
    sampled: Vec<usize>,
    deactivated: BTreeSet<usize>,
    secrets: Vec<Vec<u8>>,
    stopped: bool,
}

/// Attempts at finding a suitable key at random before falling back.
const PROBES: usize = 8;

impl Workload {
    pub(crate) fn new(config: WorkloadConfig, rng: &mut SimRng) -> Self {
        let domains = (0..config.domains)
            .map(|_| DomainModel {
                id: DomainId::random(rng.crypto()),
                known: false,
                creating: false,
            })
            .collect();
        Workload {
            clients: vec![Client::default(); config.clients],
            config,
            domains,
            keys: Vec::new(),
            by_id: BTreeMap::new(),
            sampled: Vec::new(),
            deactivated: BTreeSet::new(),
            secrets: Vec::new(),
            stopped: false,
        }
    }

    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    pub fn domains(&self) -> &[DomainModel] {
        &self.domains
    }

    /// Every key whose creation was acknowledged, in acknowledgement order.
    pub fn keys(&self) -> &[KeyModel] {
        &self.keys
    }

    pub fn key(&self, id: KeyId) -> Option<&KeyModel> {
        self.by_id.get(&id).map(|i| &self.keys[*i])
    }

    /// The key bytes of every import a client has sent (acknowledged or not), in order: the
    /// probes of G6, which must never appear in plaintext on a wire or a disk.
    pub fn secrets(&self) -> &[Vec<u8>] {
        &self.secrets
    }

    /// Whether clients have stopped issuing new operations.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    pub(crate) fn set_stopped(&mut self, stopped: bool) {
        self.stopped = stopped;
    }

    /// Chooses a client's next operation, and marks what it uses as busy. `None`: nothing
    /// to do yet (a domain is being created).
    pub(crate) fn next_op(&mut self, rng: &mut SimRng) -> Option<OpKind> {
        if let Some(d) = self.domains.iter_mut().find(|d| !d.known && !d.creating) {
            d.creating = true;
            return Some(OpKind::CreateDomain { domain: d.id });
        }
        let known: Vec<DomainId> = self
            .domains
            .iter()
            .filter(|d| d.known)
            .map(|d| d.id)
            .collect();
        let domain = *rng.pick(&known)?;
        let choice = rng.weighted(&self.config.mix.weights()).unwrap_or(0);
        let op = match choice {
            1 => Some(self.create_ec(domain, rng)),
            2 => Some(self.import(domain, rng)),
            3 => self.encrypt(rng),
            4 => self.decrypt(rng),
            5 => self.transition(rng, Transition::Deactivate(RevocationReason::Superseded)),
            6 => self.transition(rng, Transition::Activate),
            7 => self.transition(rng, Transition::Destroy),
            _ => None,
        };
        Some(op.unwrap_or_else(|| self.create_oct(domain, rng)))
    }

    fn oct_bits(rng: &mut SimRng) -> u16 {
        match rng.below(20) {
            0..14 => 256,
            14..17 => 128,
            _ => 192,
        }
    }

    fn create_oct(&mut self, domain: DomainId, rng: &mut SimRng) -> OpKind {
        OpKind::CreateKey {
            domain,
            key: KeyId::random(rng.crypto()),
            spec: KeySpec::Oct {
                bits: Self::oct_bits(rng),
            },
        }
    }

    fn create_ec(&mut self, domain: DomainId, rng: &mut SimRng) -> OpKind {
        OpKind::CreateKey {
            domain,
            key: KeyId::random(rng.crypto()),
            spec: KeySpec::Ec { curve: Curve::P256 },
        }
    }

    fn import(&mut self, domain: DomainId, rng: &mut SimRng) -> OpKind {
        let bits = Self::oct_bits(rng);
        let mut material = vec![0u8; usize::from(bits / 8)];
        rng.fill(&mut material);
        self.secrets.push(material.clone());
        OpKind::ImportKey {
            domain,
            key: KeyId::random(rng.crypto()),
            spec: KeySpec::Oct { bits },
            material,
        }
    }

    /// A random key among `pool` (or all keys) satisfying `ok`, by a few probes.
    fn find(
        &self,
        rng: &mut SimRng,
        pool: Option<&[usize]>,
        ok: impl Fn(&KeyModel) -> bool,
    ) -> Option<usize> {
        let len = pool.map_or(self.keys.len(), <[usize]>::len);
        (0..PROBES).find_map(|_| {
            if len == 0 {
                return None;
            }
            let i = rng.below(len as u64) as usize;
            let k = pool.map_or(i, |p| p[i]);
            ok(&self.keys[k]).then_some(k)
        })
    }

    fn encrypt(&mut self, rng: &mut SimRng) -> Option<OpKind> {
        let k = self.find(rng, None, |k| {
            !k.writer && k.state == Some(KeyState::Active) && matches!(k.spec, KeySpec::Oct { .. })
        })?;
        let (lo, hi) = self.config.plaintext;
        let mut plaintext = vec![0u8; rng.range(lo.max(1) as u64, hi as u64) as usize];
        rng.fill(&mut plaintext);
        let context = rng.chance(0.5).then(|| format!("ctx-{}", rng.below(1000)));
        let key = &mut self.keys[k];
        key.readers += 1;
        Some(OpKind::Encrypt {
            domain: key.domain,
            key: key.id,
            plaintext,
            context,
        })
    }

    fn decrypt(&mut self, rng: &mut SimRng) -> Option<OpKind> {
        let sampled = std::mem::take(&mut self.sampled);
        let found = self.find(rng, Some(&sampled), |k| {
            !k.writer && matches!(k.state, Some(KeyState::Active | KeyState::Deactivated))
        });
        self.sampled = sampled;
        let key = &mut self.keys[found?];
        let sample = key.sample.clone().expect("sampled keys have a sample");
        key.readers += 1;
        Some(OpKind::Decrypt {
            domain: key.domain,
            key: key.id,
            ciphertext: sample.ciphertext,
            context: sample.context,
            plaintext: sample.plaintext,
        })
    }

    fn transition(&mut self, rng: &mut SimRng, transition: Transition) -> Option<OpKind> {
        let k = match transition {
            Transition::Deactivate(_) => {
                self.find(rng, None, |k| k.idle() && k.state == Some(KeyState::Active))?
            }
            Transition::Activate | Transition::Destroy => {
                let pool: Vec<usize> = self.deactivated.iter().copied().collect();
                self.find(rng, Some(&pool), KeyModel::idle)?
            }
        };
        let key = &mut self.keys[k];
        key.writer = true;
        Some(OpKind::Transition {
            domain: key.domain,
            key: key.id,
            transition,
        })
    }

    /// Learns from a completed operation, and releases what it held.
    pub(crate) fn observe(&mut self, op: &Op) {
        let Some(result) = &op.result else {
            return;
        };
        match &op.kind {
            OpKind::CreateDomain { domain } => {
                let exists = matches!(
                    result,
                    OpResult::Written {
                        outcome: Ok(Applied::DomainCreated(_))
                            | Err(cairn_core::Error::DomainExists(_)),
                        ..
                    } | OpResult::Rejected(cairn_core::Error::DomainExists(_))
                );
                if let Some(d) = self.domains.iter_mut().find(|d| d.id == *domain) {
                    d.creating = false;
                    d.known |= exists;
                }
            }
            OpKind::CreateKey {
                domain, key, spec, ..
            }
            | OpKind::ImportKey {
                domain, key, spec, ..
            } => {
                if let OpResult::Written {
                    index,
                    outcome: Ok(Applied::KeyCreated { .. }),
                } = result
                {
                    let imported = match &op.kind {
                        OpKind::ImportKey { material, .. } => Some(material.clone()),
                        _ => None,
                    };
                    self.by_id.insert(*key, self.keys.len());
                    self.keys.push(KeyModel {
                        domain: *domain,
                        id: *key,
                        spec: *spec,
                        created_by: op.id,
                        index: *index,
                        imported,
                        state: Some(KeyState::Active),
                        sample: None,
                        readers: 0,
                        writer: false,
                    });
                }
            }
            OpKind::Encrypt {
                key,
                plaintext,
                context,
                ..
            } => {
                let Some(&k) = self.by_id.get(key) else {
                    return;
                };
                let model = &mut self.keys[k];
                model.readers = model.readers.saturating_sub(1);
                if let OpResult::Encrypted { ciphertext } = result
                    && model.sample.is_none()
                {
                    model.sample = Some(Sample {
                        plaintext: plaintext.clone(),
                        context: context.clone(),
                        ciphertext: ciphertext.clone(),
                        op: op.id,
                    });
                    self.sampled.push(k);
                }
            }
            OpKind::Decrypt { key, .. } => {
                if let Some(&k) = self.by_id.get(key) {
                    let model = &mut self.keys[k];
                    model.readers = model.readers.saturating_sub(1);
                }
            }
            OpKind::Transition {
                key, transition, ..
            } => {
                let Some(&k) = self.by_id.get(key) else {
                    return;
                };
                let model = &mut self.keys[k];
                model.writer = false;
                match result {
                    OpResult::Written { outcome: Ok(_), .. } => {
                        model.state = Some(match transition {
                            Transition::Activate => KeyState::Active,
                            Transition::Deactivate(RevocationReason::KeyCompromise) => {
                                KeyState::Compromised
                            }
                            Transition::Deactivate(_) => KeyState::Deactivated,
                            Transition::Destroy => KeyState::Destroyed,
                        });
                    }
                    OpResult::Written {
                        outcome: Err(_), ..
                    }
                    | OpResult::Rejected(_) => {}
                    _ => model.state = None,
                }
                if model.state == Some(KeyState::Deactivated) {
                    self.deactivated.insert(k);
                } else {
                    self.deactivated.remove(&k);
                }
            }
        }
    }
}
