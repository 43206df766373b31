//! Backups in the simulator (DESIGN §6): the remote replica runs core's
//! [`BackupScheduler`] next to its node, and the simulator carries out what it decides
//! against the object stores of the two backup regions ([`ObjectStore`]).
//!
//! * The node that takes backups is the first learner outside the primary region (`r1`).
//!   Its schedule is built when the node starts: from the state saved on its disk
//!   ([`BackupFiles`](crate::disk::BackupFiles)), or, when the disk was lost (a replaced
//!   replica), from what the backup regions hold ([`ScheduleState::adopt`]).
//! * `Keep`/`Discard` write the local outbox and `Save` the schedule state, durable at once
//!   (see [`disk`](crate::disk)); every outbox write is shown to the scanner
//!   ([`DiskFile::BackupOutbox`]), so G6 covers every backup object and manifest.
//! * `Upload`/`Delete` become requests to a store that take simulated time (a latency drawn
//!   from [`BackupSimConfig`] or a fault's, plus the size at the store's bandwidth) and fail
//!   when the store is down at their start or end. A host that crashes abandons its requests.
//! * Recovery reads the stores back: [`Sim::restore_from_backups`] (the union of the
//!   regions' manifests, every copy of each object offered, latest or `--at`), and
//!   [`Sim::restore_from_replica`] (the replica's disk).
//!
//! Backups are off unless [`SimConfig::backups`](crate::SimConfig::backups) is set: their
//! draws come from a stream of their own, so switching them on leaves the rest of a run's
//! randomness as it was.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::Timestamp;
use cairn_core::backup::{
    BackupConfig, BackupKey, BackupOutput, BackupScheduler, MANIFEST_NAME, Manifest, ManifestEntry,
    RestoreError, Restored, ScheduleState, from_replica, inventory, restore_with_bugs,
};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::NodeId;

use crate::clock::Micros;
use crate::disk::DiskFile;
use crate::event::Event;
use crate::objectstore::{ObjectStore, StoreDamage, StoreOpKind, StoreOutcome};
use crate::rng::micros;
use crate::scan::{Scanned, Source};
use crate::sim::Sim;

/// How backups run in a simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSimConfig {
    /// The schedule (interval, daily full, retention, regions, retries): core's.
    pub schedule: BackupConfig,
    /// Latency of an upload before its bytes flow.
    pub upload_latency: (Duration, Duration),
    /// Bytes per second of an upload.
    pub bandwidth: u64,
    pub delete_latency: (Duration, Duration),
}

impl Default for BackupSimConfig {
    fn default() -> Self {
        BackupSimConfig {
            schedule: BackupConfig::default(),
            upload_latency: (Duration::from_millis(40), Duration::from_millis(400)),
            bandwidth: 20_000_000,
            delete_latency: (Duration::from_millis(20), Duration::from_millis(200)),
        }
    }
}

/// A store request in flight.
#[derive(Debug)]
pub(crate) struct StoreRequest {
    pub(crate) store: usize,
    pub(crate) node: NodeId,
    pub(crate) incarnation: u32,
    pub(crate) kind: StoreOpKind,
    pub(crate) object: String,
    /// The outbox name (what the schedule is told about an upload).
    pub(crate) outbox: String,
    pub(crate) bytes: Option<Arc<Vec<u8>>>,
    pub(crate) started_us: Micros,
    pub(crate) up_at_start: bool,
}

/// Faults of the backup regions (see [`Fault`](crate::Fault)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreFault {
    /// The region's object store stops answering (`down: true`) or comes back.
    Outage { down: bool },
    /// Uploads take this long before their bytes flow (`None`: back to the configured).
    UploadLatency(Option<(Duration, Duration)>),
    /// A bit of a stored object flips (`None`: a backup object drawn at random among those
    /// every other region holds intact, never the manifest).
    Corrupt(Option<String>),
    /// A stored object disappears (`None`: drawn as for `Corrupt`).
    Remove(Option<String>),
}

impl Sim {
    /// The backup regions' stores, in the configured order (empty if backups are off).
    pub fn stores(&self) -> &[ObjectStore] {
        &self.stores
    }

    pub fn store(&self, region: &str) -> Option<&ObjectStore> {
        self.stores.iter().find(|s| s.name == region)
    }

    /// The key backups are sealed with (derived from the cluster's root key).
    pub fn backup_key(&self) -> BackupKey {
        BackupKey::from_root(&RootKey::from_bytes(&self.config.root_key))
    }

    /// The node that takes backups, if backups are on.
    pub fn backup_taker(&self) -> Option<NodeId> {
        self.config.backups.as_ref()?;
        self.hosts
            .iter()
            .find(|h| self.takes_backups(&h.info))
            .map(|h| h.info.id)
    }

    /// The schedule of the node that takes backups, while it runs.
    pub fn backup_schedule(&self) -> Option<&BackupScheduler> {
        let id = self.backup_taker()?;
        self.host(id).backup.as_ref()
    }

    pub(crate) fn takes_backups(&self, info: &cairn_core::replication::NodeInfo) -> bool {
        self.config.backups.is_some()
            && info.region != self.cluster.primary_region
            && self
                .cluster
                .nodes
                .iter()
                .find(|n| n.region != self.cluster.primary_region)
                .is_some_and(|n| n.id == info.id)
    }

    /// The union of the manifests of the stores that are up (each entry once, in sequence
    /// order) — what an operator's `cairn recover --from-backup` reads.
    pub fn backup_manifest(&self) -> Manifest {
        let key = self.backup_key();
        Manifest::union(
            self.stores
                .iter()
                .filter(|s| s.up)
                .filter_map(|s| s.objects.get(MANIFEST_NAME))
                .filter_map(|o| Manifest::open(&key, &o.bytes).ok()),
        )
    }

    /// Rebuilds the state from the backups (latest, or as of `at`), verifying every object,
    /// as a recovery would. Copies are offered from every store that is up, in the
    /// configured order. The planted bugs of the run's timing apply.
    pub fn restore_from_backups(&self, at: Option<Timestamp>) -> Result<Restored, RestoreError> {
        let key = self.backup_key();
        let manifest = self.backup_manifest();
        let fetch = |e: &ManifestEntry| -> Vec<Vec<u8>> {
            self.stores
                .iter()
                .filter(|s| s.up)
                .filter_map(|s| s.objects.get(&e.name))
                .map(|o| o.bytes.as_ref().clone())
                .collect()
        };
        restore_with_bugs(&key, &manifest, fetch, at, self.config.timing.bugs)
    }

    /// Rebuilds the state from what node `id` (the remote replica) has on disk.
    pub fn restore_from_replica(&self, id: NodeId) -> Result<Restored, RestoreError> {
        let (recovered, _) = self.host(id).disk.read_back();
        from_replica(&recovered, &self.cluster)
    }

    // ---- driving the schedule ----

    /// Builds the schedule of host `i` as its node starts (no-op unless it takes backups).
    pub(crate) fn start_backups(&mut self, i: usize) {
        if !self.takes_backups(&self.hosts[i].info) {
            return;
        }
        let Some(config) = self.config.backups.clone() else {
            return;
        };
        let key = self.backup_key();
        let saved = match self.hosts[i].disk.backup.saved.clone() {
            Some(s) => s,
            None => {
                let held: Vec<Option<Vec<ManifestEntry>>> = self
                    .stores
                    .iter()
                    .map(|s| {
                        s.up.then(|| {
                            let names = s.names();
                            inventory(&key, &names, |n| {
                                s.objects.get(n).map(|o| o.bytes.as_ref().clone())
                            })
                        })
                    })
                    .collect();
                ScheduleState::adopt(self.cluster.generation, &held)
            }
        };
        let mut sched =
            BackupScheduler::new(config.schedule, key, self.cluster.generation, Some(saved));
        sched.set_planted_bugs(self.config.timing.bugs);
        let host = &mut self.hosts[i];
        host.backup = Some(sched);
        host.backup_timer = None;
        host.backup_timer_generation += 1;
        self.drain_backup(i);
    }

    pub(crate) fn on_backup_wakeup(&mut self, i: usize, generation: u64) {
        let now = self.now;
        let host = &mut self.hosts[i];
        if host.backup_timer_generation != generation {
            return;
        }
        host.backup_timer = None;
        let local = host.clock.now(now);
        let (Some(sched), Some(node)) = (host.backup.as_mut(), host.node.as_ref()) else {
            return;
        };
        if sched.poll_timeout().is_some_and(|t| t <= local) {
            sched.handle_timeout(local, node, self.backup_rng.crypto());
        }
        self.drain_backup(i);
    }

    /// Carries out every output of host `i`'s schedule, then arms its wakeup.
    pub(crate) fn drain_backup(&mut self, i: usize) {
        while let Some(out) = self.hosts[i].backup.as_mut().and_then(|b| b.poll_output()) {
            match out {
                BackupOutput::Keep { name, bytes } => {
                    if let Some(scan) = self.scanner.as_mut() {
                        scan(&Scanned {
                            at_us: self.now,
                            source: Source::Disk {
                                node: self.hosts[i].info.id,
                                file: DiskFile::BackupOutbox,
                            },
                            bytes: &bytes,
                            secrets: self.workload.secrets(),
                        });
                    }
                    self.hosts[i].disk.backup.outbox.insert(name, bytes);
                }
                BackupOutput::Upload {
                    region,
                    outbox,
                    object,
                } => {
                    let bytes = self.hosts[i].disk.backup.outbox.get(&outbox).cloned();
                    self.start_store_request(
                        i,
                        &region,
                        StoreOpKind::Upload,
                        object,
                        outbox,
                        bytes,
                    );
                }
                BackupOutput::Delete { region, name } => {
                    self.start_store_request(
                        i,
                        &region,
                        StoreOpKind::Delete,
                        name.clone(),
                        name,
                        None,
                    );
                }
                BackupOutput::Discard { name } => {
                    self.hosts[i].disk.backup.outbox.remove(&name);
                }
                BackupOutput::Save(state) => self.hosts[i].disk.backup.saved = Some(state),
            }
        }
        self.arm_backup_timer(i);
    }

    fn arm_backup_timer(&mut self, i: usize) {
        let now = self.now;
        let host = &mut self.hosts[i];
        let Some(deadline) = host.backup.as_ref().and_then(|b| b.poll_timeout()) else {
            return;
        };
        let want = host.clock.global_at(deadline).max(now);
        if host.backup_timer.is_some_and(|t| t <= want) {
            return;
        }
        host.backup_timer_generation += 1;
        host.backup_timer = Some(want);
        let event = Event::BackupWakeup {
            node: host.info.id,
            generation: host.backup_timer_generation,
        };
        self.queue.push(want, event);
    }

    fn start_store_request(
        &mut self,
        i: usize,
        region: &str,
        kind: StoreOpKind,
        object: String,
        outbox: String,
        bytes: Option<Arc<Vec<u8>>>,
    ) {
        let Some(store) = self.stores.iter().position(|s| s.name == region) else {
            return;
        };
        let config = self
            .config
            .backups
            .clone()
            .expect("a schedule runs only with backups on");
        // An outbox copy lost with its disk cannot be uploaded: the request fails.
        let missing = kind == StoreOpKind::Upload && bytes.is_none();
        let delay = match kind {
            StoreOpKind::Upload => {
                let range = self.stores[store]
                    .upload_latency
                    .unwrap_or(config.upload_latency);
                let size = bytes.as_ref().map_or(0, |b| b.len() as u64);
                self.backup_rng.micros_between(range) + size * 1_000_000 / config.bandwidth.max(1)
            }
            StoreOpKind::Delete => self.backup_rng.micros_between(config.delete_latency),
        };
        let request = StoreRequest {
            store,
            node: self.hosts[i].info.id,
            incarnation: self.hosts[i].incarnation,
            kind,
            object,
            outbox,
            bytes,
            started_us: self.now,
            up_at_start: self.stores[store].up && !missing,
        };
        self.queue
            .push(self.now + delay, Event::StoreDone(Box::new(request)));
    }

    pub(crate) fn on_store_done(&mut self, request: StoreRequest) {
        let i = usize::from(request.node.0);
        let host_alive =
            self.hosts[i].incarnation == request.incarnation && self.hosts[i].backup.is_some();
        let ok = request.up_at_start && self.stores[request.store].up;
        let outcome = match (host_alive, ok) {
            (false, _) => StoreOutcome::Abandoned,
            (true, true) => StoreOutcome::Done,
            (true, false) => StoreOutcome::Failed,
        };
        let now = self.now;
        let region = self.stores[request.store].name.clone();
        self.stores[request.store].complete(
            request.kind,
            request.object,
            request.bytes,
            request.started_us,
            now,
            outcome,
        );
        if !host_alive {
            return;
        }
        let local = self.local_now(i);
        if let Some(sched) = self.hosts[i].backup.as_mut() {
            match request.kind {
                StoreOpKind::Upload => sched.uploaded(local, &region, &request.outbox, ok),
                StoreOpKind::Delete => sched.deleted(local, &region, &request.outbox, ok),
            }
        }
        self.drain_backup(i);
    }

    /// Applies a fault to the store of `region`. Returns whether it changed anything.
    pub(crate) fn apply_store_fault(&mut self, region: &str, fault: &StoreFault) -> bool {
        let now = self.now;
        let Some(s) = self.stores.iter().position(|s| s.name == region) else {
            return false;
        };
        match fault {
            StoreFault::Outage { down } => self.stores[s].set_up(!down, now),
            StoreFault::UploadLatency(latency) => {
                self.stores[s].upload_latency = *latency;
                true
            }
            StoreFault::Corrupt(name) | StoreFault::Remove(name) => {
                let corrupt = matches!(fault, StoreFault::Corrupt(_));
                let name = match name {
                    Some(n) => n.clone(),
                    None => {
                        // Damage that leaves a good copy elsewhere: losing every copy of an
                        // object is beyond what any backup scheme survives.
                        let names: Vec<String> = self.stores[s]
                            .objects
                            .keys()
                            .filter(|n| *n != MANIFEST_NAME)
                            .filter(|n| {
                                self.stores.iter().enumerate().all(|(o, other)| {
                                    o == s || other.objects.get(*n).is_some_and(|x| !x.damaged)
                                })
                            })
                            .cloned()
                            .collect();
                        match self.backup_rng.pick(&names) {
                            Some(n) => n.clone(),
                            None => return false,
                        }
                    }
                };
                let store = &mut self.stores[s];
                if corrupt {
                    let Some(o) = store.objects.get_mut(&name) else {
                        return false;
                    };
                    let mut bytes = o.bytes.as_ref().clone();
                    if bytes.is_empty() {
                        return false;
                    }
                    let at = self.backup_rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 1 << self.backup_rng.below(8);
                    o.bytes = Arc::new(bytes);
                    o.damaged = true;
                } else if store.objects.remove(&name).is_none() {
                    return false;
                }
                store.damage.push(StoreDamage {
                    at_us: now,
                    object: name,
                    corrupted: corrupt,
                });
                true
            }
        }
    }
}

/// The configured retention, interval… of a run, if backups are on.
pub fn schedule_config(sim: &Sim) -> Option<&BackupConfig> {
    sim.config.backups.as_ref().map(|b| &b.schedule)
}

/// `d` in microseconds (re-exported for oracles that compare store times).
pub fn us(d: Duration) -> Micros {
    micros(d)
}
