//! The backup regions: one object store each (DESIGN §1: "backup region X and backup region
//! Y").
//!
//! A store holds named objects and answers two requests, *put* (replacing any object of the
//! name, atomically: a put that fails or is interrupted leaves no trace) and *delete*. Each
//! request takes simulated time — an upload a latency plus its size at the store's bandwidth
//! — and fails when the store is down at its start or at its end (an outage also fails what
//! was in flight). Faults can take a store down and up, slow its uploads, and corrupt or
//! delete a stored object behind the backup taker's back.
//!
//! Everything a store did is kept for the oracles: its objects now, every request with its
//! times and outcome ([`StoreOp`]), its outages, and the damage faults did ([`StoreDamage`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::backup::object::{Header, peek_header};

use crate::clock::Micros;

/// An object as stored.
#[derive(Clone, Debug)]
pub struct StoredObject {
    /// Shared with the outbox copy it was uploaded from: storing costs no copy.
    pub bytes: Arc<Vec<u8>>,
    /// When it was (last) written.
    pub stored_us: Micros,
    /// A fault altered it since.
    pub damaged: bool,
}

/// What a request asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOpKind {
    Upload,
    Delete,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    Done,
    /// The store was down (at the start or the end of the request).
    Failed,
    /// The host that made it went down first: the request was interrupted, nothing changed
    /// and no one heard the answer.
    Abandoned,
}

/// One request to a store, as it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOp {
    pub kind: StoreOpKind,
    pub object: String,
    /// Bytes uploaded (0 for a delete).
    pub bytes: usize,
    /// The clear header of a backup object (not of the manifest, nor of a delete).
    pub header: Option<Header>,
    pub started_us: Micros,
    pub done_us: Micros,
    pub outcome: StoreOutcome,
}

impl StoreOp {
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.done_us.saturating_sub(self.started_us))
    }
}

/// What a fault did to a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreDamage {
    pub at_us: Micros,
    pub object: String,
    /// `true`: a bit flipped; `false`: the object was deleted.
    pub corrupted: bool,
}

/// One backup region's object store.
#[derive(Clone, Debug)]
pub struct ObjectStore {
    pub(crate) name: String,
    pub(crate) objects: BTreeMap<String, StoredObject>,
    pub(crate) up: bool,
    pub(crate) outages: Vec<(Micros, Option<Micros>)>,
    /// Upload latency set by a fault (`None`: the configured one).
    pub(crate) upload_latency: Option<(Duration, Duration)>,
    pub(crate) log: Vec<StoreOp>,
    pub(crate) damage: Vec<StoreDamage>,
    pub(crate) bytes_uploaded: u64,
}

impl ObjectStore {
    pub(crate) fn new(name: String) -> Self {
        ObjectStore {
            name,
            objects: BTreeMap::new(),
            up: true,
            outages: Vec::new(),
            upload_latency: None,
            log: Vec::new(),
            damage: Vec::new(),
            bytes_uploaded: 0,
        }
    }

    /// The region's name (`backup-x`, `backup-y`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The objects stored now, by name.
    pub fn objects(&self) -> &BTreeMap<String, StoredObject> {
        &self.objects
    }

    pub fn get(&self, name: &str) -> Option<&StoredObject> {
        self.objects.get(name)
    }

    /// The names stored now, in order (what a LIST request returns).
    pub fn names(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }

    /// Every request, in order of completion.
    pub fn log(&self) -> &[StoreOp] {
        &self.log
    }

    /// The outages: `(from, to)`, `to` being `None` while still down.
    pub fn outages(&self) -> &[(Micros, Option<Micros>)] {
        &self.outages
    }

    /// What faults did to stored objects.
    pub fn damage(&self) -> &[StoreDamage] {
        &self.damage
    }

    /// Whether the store was down at some point of `[from, to]`.
    pub fn down_during(&self, from: Micros, to: Micros) -> bool {
        self.outages
            .iter()
            .any(|(a, b)| *a <= to && b.is_none_or(|b| b >= from))
    }

    /// Time the store was down within `[from, to]`.
    pub fn downtime(&self, from: Micros, to: Micros) -> Micros {
        self.outages
            .iter()
            .map(|(a, b)| {
                let (a, b) = ((*a).max(from), b.unwrap_or(Micros::MAX).min(to));
                b.saturating_sub(a)
            })
            .sum()
    }

    /// Bytes of every successful upload.
    pub fn bytes_uploaded(&self) -> u64 {
        self.bytes_uploaded
    }

    pub(crate) fn set_up(&mut self, up: bool, now: Micros) -> bool {
        if self.up == up {
            return false;
        }
        self.up = up;
        if up {
            if let Some(last) = self.outages.last_mut() {
                last.1 = Some(now);
            }
        } else {
            self.outages.push((now, None));
        }
        true
    }

    /// Records a finished request and, if it succeeded, carries it out.
    pub(crate) fn complete(
        &mut self,
        kind: StoreOpKind,
        object: String,
        bytes: Option<Arc<Vec<u8>>>,
        started_us: Micros,
        now: Micros,
        outcome: StoreOutcome,
    ) {
        let size = bytes.as_ref().map_or(0, |b| b.len());
        let header = match (kind, &bytes) {
            (StoreOpKind::Upload, Some(b)) => peek_header(b).ok(),
            _ => None,
        };
        if outcome == StoreOutcome::Done {
            match (kind, bytes) {
                (StoreOpKind::Upload, Some(bytes)) => {
                    self.bytes_uploaded += bytes.len() as u64;
                    self.objects.insert(
                        object.clone(),
                        StoredObject {
                            bytes,
                            stored_us: now,
                            damaged: false,
                        },
                    );
                }
                (StoreOpKind::Delete, _) => {
                    self.objects.remove(&object);
                }
                (StoreOpKind::Upload, None) => unreachable!("an upload carries bytes"),
            }
        }
        self.log.push(StoreOp {
            kind,
            object,
            bytes: size,
            header,
            started_us,
            done_us: now,
            outcome,
        });
    }
}
