//! The backup schedule (DESIGN §6): decided here, executed by the driver.
//!
//! Every `interval` (5 minutes) the node that takes backups (the remote replica) cuts an
//! object: an incremental with the committed entries since the previous one, or, once per
//! `full_every` (a day) or whenever those entries were already compacted away, a full
//! snapshot. Each object goes to **every** backup region independently: a region that is down
//! delays only its own copies (retried with backoff) and never the next backup. Each region's
//! manifest is rewritten after its objects change. Objects are deleted from every region once
//! older than `retention` (30 days), and not before — except that a full backup is kept as
//! long as the incrementals that follow it are (at most `full_every` longer): without it they
//! could not be restored, and the promise is 30 days of restorable history.
//!
//! The driver keeps each new object in a local outbox until it is stored everywhere, and saves
//! the schedule's state after every change, so that after a restart the schedule resumes where
//! it was: pending uploads are retried and the next cut comes at its time. A driver that lost
//! the saved state with its disk (a replaced replica) starts from what the regions hold
//! ([`ScheduleState::adopt`]), so that the objects already there keep their names, stay listed
//! and expire on time; a recovery that starts a new generation keeps the old generation's
//! objects the same way, under a new sequence.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::backup::agenda::{self, Agenda, ObjectKey, key_of};
use crate::backup::manifest::{self, MANIFEST_NAME, Manifest, ManifestBody, ManifestEntry};
use crate::backup::object::{self, BackupKey, Content, Kind};
use crate::crypto::aead::random_nonce;
use crate::replication::bugs::PlantedBugs;
use crate::replication::log::{Entry, Index};
use crate::replication::snapshot::Snapshot;
use crate::time::Timestamp;

/// Where backups come from: the node's committed log and applied state.
pub trait BackupSource {
    /// The highest index known committed.
    fn committed(&self) -> Index;
    /// The committed entries `from..=to`, if all are still in the log.
    fn committed_entries(&self, from: Index, to: Index) -> Option<Vec<Entry>>;
    /// A snapshot of the applied state (at or below the committed index).
    fn snapshot(&self) -> Snapshot;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    pub interval: Duration,
    pub full_every: Duration,
    pub retention: Duration,
    /// The backup regions, each an object store the driver can write.
    pub regions: Vec<String>,
    /// First retry delay of a failed upload or deletion; doubles up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            interval: Duration::from_secs(5 * 60),
            full_every: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            regions: vec!["backup-x".into(), "backup-y".into()],
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(120),
        }
    }
}

/// What one region has of one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Copy {
    /// Not stored yet; try again at `retry_at`.
    Pending {
        attempts: u32,
        retry_at: Timestamp,
    },
    Uploading {
        attempts: u32,
    },
    Stored,
    /// Expired; delete again at `retry_at`.
    Deleting {
        attempts: u32,
        retry_at: Timestamp,
    },
    DeleteInFlight {
        attempts: u32,
    },
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectState {
    /// Shared: the state is saved after every change, and cloning it must stay cheap.
    pub entry: Arc<ManifestEntry>,
    /// One per configured region, in the same order.
    pub copies: Vec<Copy>,
    #[serde(skip)]
    pub(crate) encoded: EncodedEntry,
}

impl ObjectState {
    /// The entry as a manifest encodes it (computed once).
    pub(crate) fn encoded(&self) -> &[u8] {
        self.encoded.0.get_or_init(|| {
            postcard::to_stdvec(&*self.entry)
                .expect("serializes")
                .into()
        })
    }
}

/// An entry's manifest encoding, kept once computed: a manifest is rewritten after every
/// backup and lists a month of them. Not part of the saved state, and never compared.
#[derive(Clone, Default)]
pub struct EncodedEntry(std::sync::OnceLock<Arc<[u8]>>);

impl PartialEq for EncodedEntry {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for EncodedEntry {}

impl std::fmt::Debug for EncodedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncodedEntry")
    }
}

/// The schedule's durable state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    pub generation: u64,
    pub next_seq: u64,
    /// When the next backup is due (`None`: at once).
    pub next_cut: Option<Timestamp>,
    pub last_full: Option<Timestamp>,
    /// Every committed entry up to here is in some backup.
    pub backed_up_to: Index,
    /// Each shared: saving the state after every change copies pointers, and only the
    /// objects that change are copied on write.
    pub objects: Vec<Arc<ObjectState>>,
}

impl ScheduleState {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serializes")
    }

    pub fn decode(bytes: &[u8]) -> Option<ScheduleState> {
        postcard::from_bytes(bytes).ok()
    }

    /// The state of a schedule of `generation` that starts without one of its own (its
    /// node's disk was lost): it takes over what the backup regions hold. `regions` is, in
    /// the configured order, what each region holds ([`inventory`](crate::backup::inventory)),
    /// or `None` for a region that could not be read.
    ///
    /// An object a readable region holds is `Stored` there; one it lacks stays missing there
    /// (its outbox copy went with the lost disk); in an unreadable region it is assumed
    /// stored, so that it is deleted at expiry (deleting a missing object is harmless). The
    /// sequence of `generation` continues after the highest taken over, so no name is reused;
    /// the next backup is cut at once.
    pub fn adopt(generation: u64, regions: &[Option<Vec<ManifestEntry>>]) -> ScheduleState {
        let mut objects: std::collections::BTreeMap<(u64, u64), ObjectState> =
            std::collections::BTreeMap::new();
        for (r, held) in regions.iter().enumerate() {
            for entry in held.iter().flatten() {
                let o = objects
                    .entry((entry.header.generation, entry.header.seq))
                    .or_insert_with(|| ObjectState {
                        encoded: EncodedEntry::default(),
                        entry: Arc::new(entry.clone()),
                        copies: regions
                            .iter()
                            .map(|h| match h {
                                Some(_) => Copy::Deleted,
                                None => Copy::Stored,
                            })
                            .collect(),
                    });
                o.copies[r] = Copy::Stored;
            }
        }
        let mut state = ScheduleState {
            generation,
            ..ScheduleState::default()
        };
        for o in objects.values() {
            let h = &o.entry.header;
            if h.generation != generation {
                continue;
            }
            state.next_seq = state.next_seq.max(h.seq + 1);
            state.backed_up_to = state.backed_up_to.max(h.last);
            if h.kind == Kind::Full {
                state.last_full = state.last_full.max(Some(h.created));
            }
        }
        state.objects = objects.into_values().map(Arc::new).collect();
        state
    }
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupOutput {
    /// Keep these bytes in the local outbox under `name` until [`BackupOutput::Discard`].
    Keep { name: String, bytes: Arc<Vec<u8>> },
    /// Upload the outbox copy `outbox` to `region` as the object `object` (replacing any
    /// object of that name), then call [`BackupScheduler::uploaded`] with `outbox`.
    Upload {
        region: String,
        outbox: String,
        object: String,
    },
    /// Delete `name` from `region`, then call [`BackupScheduler::deleted`].
    Delete { region: String, name: String },
    /// The outbox copy of `name` is no longer needed.
    Discard { name: String },
    /// Save this state; give it back to [`BackupScheduler::new`] after a restart.
    Save(ScheduleState),
}

/// The outbox name of a region's manifest.
pub fn manifest_outbox_name(region: &str) -> String {
    format!("{MANIFEST_NAME}@{region}")
}

pub struct BackupScheduler {
    config: BackupConfig,
    key: BackupKey,
    state: ScheduleState,
    /// Per region: a manifest upload is in flight / the manifest changed since.
    manifest_busy: Vec<bool>,
    manifest_dirty: Vec<bool>,
    /// Per region: failed manifest uploads in a row, and when to try again (backoff, as for
    /// objects: a region that is down is not hammered).
    manifest_attempts: Vec<u32>,
    manifest_retry_at: Vec<Timestamp>,
    outputs: VecDeque<BackupOutput>,
    save_needed: bool,
    bugs: PlantedBugs,
    /// What [`Self::poll_timeout`] answers, kept current by every change.
    next_timeout: Option<Timestamp>,
    /// The objects that need looking at (derived from `state`).
    agenda: Agenda,
    /// Per region: the body of its manifest, the objects stored there (derived from `state`).
    bodies: Vec<ManifestBody<ObjectKey>>,
}

impl BackupScheduler {
    /// A schedule for cluster `generation`, resuming from `saved` if there is one. A saved
    /// state of an older generation (a recovery started a new one) gives its objects only:
    /// they stay listed and expire on time, and the new generation starts a new sequence
    /// with a full backup.
    pub fn new(
        config: BackupConfig,
        key: BackupKey,
        generation: u64,
        saved: Option<ScheduleState>,
    ) -> Self {
        let mut state = match saved {
            Some(s) if s.generation == generation => s,
            Some(s) if s.generation < generation => ScheduleState {
                generation,
                objects: s.objects,
                ..ScheduleState::default()
            },
            _ => ScheduleState {
                generation,
                ..ScheduleState::default()
            },
        };
        let regions = config.regions.len();
        // The agenda finds objects by binary search.
        state.objects.sort_by_key(|o| key_of(o));
        for object in &mut state.objects {
            let object = Arc::make_mut(object);
            object.copies.resize(
                regions,
                Copy::Pending {
                    attempts: 0,
                    retry_at: Timestamp::EPOCH,
                },
            );
            for copy in &mut object.copies {
                // Whatever was in flight when the node stopped is retried.
                *copy = match *copy {
                    Copy::Uploading { attempts } => Copy::Pending {
                        attempts,
                        retry_at: Timestamp::EPOCH,
                    },
                    Copy::DeleteInFlight { attempts } => Copy::Deleting {
                        attempts,
                        retry_at: Timestamp::EPOCH,
                    },
                    other => other,
                };
            }
        }
        let mut scheduler = BackupScheduler {
            config,
            key,
            state,
            manifest_busy: vec![false; regions],
            // After a restart, rewrite every manifest once: the last write may not have landed.
            manifest_dirty: vec![true; regions],
            manifest_attempts: vec![0; regions],
            manifest_retry_at: vec![Timestamp::EPOCH; regions],
            outputs: VecDeque::new(),
            save_needed: false,
            bugs: PlantedBugs::default(),
            next_timeout: None,
            agenda: Agenda::default(),
            bodies: Vec::new(),
        };
        scheduler.rebuild_derived();
        scheduler.next_timeout = scheduler.compute_timeout();
        scheduler
    }

    /// Switches on bugs planted on purpose (simulator tests of the checkers only).
    pub fn set_planted_bugs(&mut self, bugs: PlantedBugs) {
        self.bugs = bugs;
        // Expiries depend on the retention, which one of the bugs shortens.
        self.rebuild_derived();
        self.next_timeout = self.compute_timeout();
    }

    /// Builds the agenda and the manifest bodies from the state.
    fn rebuild_derived(&mut self) {
        let mut agenda = Agenda::default();
        let mut bodies = vec![ManifestBody::default(); self.config.regions.len()];
        for (pos, o) in self.state.objects.iter().enumerate() {
            agenda.note(o, self.expiry_at(pos));
            for (r, c) in o.copies.iter().enumerate() {
                if *c == Copy::Stored {
                    bodies[r].insert(key_of(o), o.encoded());
                }
            }
        }
        self.agenda = agenda;
        self.bodies = bodies;
    }

    /// Where the object `key` is in the (sorted) list.
    fn position(&self, key: ObjectKey) -> Option<usize> {
        self.state
            .objects
            .binary_search_by_key(&key, |o| key_of(o))
            .ok()
    }

    /// Puts the object at `pos` on the agenda after its copies changed.
    fn note(&mut self, pos: usize) {
        let o = &self.state.objects[pos];
        let floor = self.expiry_floor(o);
        self.agenda.note(o, floor);
    }

    /// Takes the object at `pos` off the list (every copy is deleted or was never stored).
    fn remove_object(&mut self, pos: usize) -> Arc<ObjectState> {
        let o = self.state.objects.remove(pos);
        debug_assert!(o.copies.iter().all(|c| *c == Copy::Deleted));
        self.agenda.forget(key_of(&o));
        o
    }

    pub fn state(&self) -> &ScheduleState {
        &self.state
    }

    pub fn config(&self) -> &BackupConfig {
        &self.config
    }

    /// The manifest of `region` as it should be: the objects stored there.
    pub fn manifest(&self, region: usize) -> Manifest {
        Manifest {
            entries: self
                .state
                .objects
                .iter()
                .filter(|o| o.copies.get(region) == Some(&Copy::Stored))
                .map(|o| o.entry.as_ref().clone())
                .collect(),
        }
    }

    /// When [`BackupScheduler::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_timeout
    }

    /// [`Self::poll_timeout`], computed after every change from the agenda: the next cut, the
    /// retries of unsettled copies, the first expiry (a lower bound), the manifest retries.
    fn compute_timeout(&self) -> Option<Timestamp> {
        let mut next = self.state.next_cut.unwrap_or(Timestamp::EPOCH);
        for key in self.agenda.unsettled() {
            let Some(pos) = self.position(key) else {
                continue;
            };
            for c in &self.state.objects[pos].copies {
                if let Copy::Pending { retry_at, .. } | Copy::Deleting { retry_at, .. } = c {
                    next = next.min(*retry_at);
                }
            }
        }
        if let Some(t) = self.agenda.first_expiry() {
            next = next.min(t);
        }
        if let Some(t) = self.manifest_wakeup() {
            next = next.min(t);
        }
        debug_assert!(
            self.exact_timeout().is_none_or(|exact| next <= exact),
            "the agenda would wake the schedule later than its work is due"
        );
        Some(next)
    }

    /// The earliest manifest upload waiting for its retry.
    fn manifest_wakeup(&self) -> Option<Timestamp> {
        (0..self.config.regions.len())
            .filter(|r| self.manifest_dirty[*r] && !self.manifest_busy[*r])
            .map(|r| self.manifest_retry_at[r])
            .min()
    }

    /// The timeout computed by walking every object: what the agenda must never be later
    /// than (checked in debug builds).
    fn exact_timeout(&self) -> Option<Timestamp> {
        let mut next = self.state.next_cut.unwrap_or(Timestamp::EPOCH);
        for (pos, o) in self.state.objects.iter().enumerate() {
            for c in &o.copies {
                if let Copy::Pending { retry_at, .. } | Copy::Deleting { retry_at, .. } = c {
                    next = next.min(*retry_at);
                }
            }
            // Only copies that expiry changes call for a wakeup: one already being deleted
            // must not make the timer fire at a past instant in a loop.
            if o.copies.iter().any(agenda::expiring) {
                next = next.min(self.expiry_at(pos));
            }
        }
        if let Some(t) = self.manifest_wakeup() {
            next = next.min(t);
        }
        Some(next)
    }

    pub fn handle_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        source: &impl BackupSource,
        rng: &mut R,
    ) {
        if self.state.next_cut.is_none_or(|t| t <= now) {
            self.cut(now, source, rng);
        }
        self.expire(now);
        self.start_transfers(now);
        self.refresh_manifests(now, rng);
        self.next_timeout = self.compute_timeout();
        debug_assert!(
            (0..self.config.regions.len()).all(|r| {
                let m = self.manifest(r);
                self.bodies[r].len() == m.entries.len()
                    && self.bodies[r].bytes()
                        == m.entries
                            .iter()
                            .flat_map(|e| postcard::to_stdvec(e).expect("serializes"))
                            .collect::<Vec<u8>>()
            }),
            "a manifest body differs from the objects stored in its region"
        );
    }

    /// The driver's answer to an `Upload`.
    pub fn uploaded(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        if name == manifest_outbox_name(region) {
            // Only that region's manifest retry can come due earlier: no need to walk
            // every object (a timeout that is now early only wakes the driver once).
            self.on_uploaded(now, region, name, ok);
            if let Some(r) = self.region_index(region)
                && self.manifest_dirty[r]
                && !self.manifest_busy[r]
            {
                let retry = self.manifest_retry_at[r];
                self.next_timeout = Some(self.next_timeout.map_or(retry, |t| t.min(retry)));
            }
            return;
        }
        self.on_uploaded(now, region, name, ok);
        self.bring_timeout_forward(region, name, true);
    }

    /// The driver's answer to a `Delete`.
    pub fn deleted(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        self.on_deleted(now, region, name, ok);
        self.bring_timeout_forward(region, name, false);
    }

    /// After an answer about one copy: the timeout can only come earlier through that copy
    /// (a retry, or the object now held there expiring), so there is no need to walk every
    /// object. The expiry taken is a lower bound (a full backup may be kept longer): a
    /// timeout that turns out early only wakes the driver once, and `handle_timeout` then
    /// computes it exactly.
    fn bring_timeout_forward(&mut self, region: &str, name: &str, newest: bool) {
        let Some(r) = self.region_index(region) else {
            return;
        };
        // Uploads concern the newest objects, deletions the oldest.
        let found = if newest {
            self.state
                .objects
                .iter()
                .rev()
                .find(|o| o.entry.name == name)
        } else {
            self.state.objects.iter().find(|o| o.entry.name == name)
        };
        let Some(o) = found else {
            return;
        };
        let mut candidates = Vec::new();
        match o.copies[r] {
            Copy::Pending { retry_at, .. } | Copy::Deleting { retry_at, .. } => {
                candidates.push(retry_at);
            }
            Copy::Stored => candidates.push(self.expiry_floor(o)),
            _ => {}
        }
        if self.manifest_dirty[r] && !self.manifest_busy[r] {
            candidates.push(self.manifest_retry_at[r]);
        }
        for t in candidates {
            self.next_timeout = Some(self.next_timeout.map_or(t, |n| n.min(t)));
        }
    }

    fn on_uploaded(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        let Some(r) = self.region_index(region) else {
            return;
        };
        if name == manifest_outbox_name(region) {
            self.manifest_busy[r] = false;
            if ok {
                self.manifest_attempts[r] = 0;
            } else {
                self.manifest_dirty[r] = true;
                self.manifest_attempts[r] += 1;
                self.manifest_retry_at[r] = now.saturating_add(backoff(
                    self.config.retry_min,
                    self.config.retry_max,
                    self.manifest_attempts[r],
                ));
            }
            return;
        }
        let (retry_min, retry_max) = (self.config.retry_min, self.config.retry_max);
        // Uploads concern the newest objects: look from the end.
        let Some(pos) = self
            .state
            .objects
            .iter()
            .rposition(|o| o.entry.name == name)
        else {
            return;
        };
        let Copy::Uploading { attempts } = self.state.objects[pos].copies[r] else {
            return;
        };
        let o = Arc::make_mut(&mut self.state.objects[pos]);
        if ok {
            o.copies[r] = Copy::Stored;
            self.bodies[r].insert(key_of(o), o.encoded());
            self.manifest_dirty[r] = true;
            if o.copies.iter().all(|c| *c == Copy::Stored) {
                self.outputs.push_back(BackupOutput::Discard {
                    name: name.to_string(),
                });
            }
        } else {
            let attempts = attempts + 1;
            o.copies[r] = Copy::Pending {
                attempts,
                retry_at: now.saturating_add(backoff(retry_min, retry_max, attempts)),
            };
        }
        self.note(pos);
        self.save_needed = true;
    }

    fn on_deleted(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        let Some(r) = self.region_index(region) else {
            return;
        };
        let (retry_min, retry_max) = (self.config.retry_min, self.config.retry_max);
        // Deletions concern the oldest objects: look from the start.
        let Some(pos) = self.state.objects.iter().position(|o| o.entry.name == name) else {
            return;
        };
        let Copy::DeleteInFlight { attempts } = self.state.objects[pos].copies[r] else {
            return;
        };
        let o = Arc::make_mut(&mut self.state.objects[pos]);
        o.copies[r] = if ok {
            Copy::Deleted
        } else {
            let attempts = attempts + 1;
            Copy::Deleting {
                attempts,
                retry_at: now.saturating_add(backoff(retry_min, retry_max, attempts)),
            }
        };
        self.manifest_dirty[r] = true;
        if o.copies.iter().all(|c| *c == Copy::Deleted) {
            self.remove_object(pos);
        } else {
            self.note(pos);
        }
        self.save_needed = true;
    }

    pub fn poll_output(&mut self) -> Option<BackupOutput> {
        if self.outputs.is_empty() && self.save_needed {
            self.save_needed = false;
            return Some(BackupOutput::Save(self.state.clone()));
        }
        self.outputs.pop_front()
    }

    fn region_index(&self, region: &str) -> Option<usize> {
        self.config.regions.iter().position(|r| r == region)
    }

    fn cut<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        source: &impl BackupSource,
        rng: &mut R,
    ) {
        let committed = source.committed();
        let full_due = self
            .state
            .last_full
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.full_every);
        let from = self.state.backed_up_to + 1;
        let incremental = if full_due {
            None
        } else if committed < from {
            Some(Vec::new())
        } else {
            source.committed_entries(from, committed)
        };
        let seq = self.state.next_seq;
        let (header, content) = match incremental {
            Some(mut entries) => {
                let last = entries.last().map_or(self.state.backed_up_to, |e| e.index);
                let mut first = from;
                if self.bugs.backup_skips_entry() && !entries.is_empty() {
                    entries.remove(0);
                    first += 1;
                }
                let h = object::header(
                    self.state.generation,
                    seq,
                    Kind::Incremental,
                    first,
                    last,
                    now,
                );
                (h, Content::Entries(entries))
            }
            None => {
                let snapshot = source.snapshot();
                let h = object::header(
                    self.state.generation,
                    seq,
                    Kind::Full,
                    1,
                    snapshot.index,
                    now,
                );
                self.state.last_full = Some(now);
                (h, Content::Snapshot(snapshot))
            }
        };
        let bytes = object::seal(&self.key, &header, &content, random_nonce(rng));
        let name = header.name();
        self.state.backed_up_to = header.last.max(self.state.backed_up_to);
        self.state.next_seq += 1;
        // Keep the 5-minute rhythm; after a long stop, start it again from now.
        let due = self
            .state
            .next_cut
            .unwrap_or(now)
            .saturating_add(self.config.interval);
        self.state.next_cut = Some(if due <= now {
            now.saturating_add(self.config.interval)
        } else {
            due
        });
        self.state.objects.push(Arc::new(ObjectState {
            encoded: EncodedEntry::default(),
            entry: Arc::new(ManifestEntry::describe(name.clone(), header, &bytes)),
            copies: vec![
                Copy::Pending {
                    attempts: 0,
                    retry_at: now
                };
                self.config.regions.len()
            ],
        }));
        self.note(self.state.objects.len() - 1);
        self.outputs.push_back(BackupOutput::Keep {
            name,
            bytes: Arc::new(bytes),
        });
        self.save_needed = true;
    }

    /// The retention period (a day short with the planted bug).
    fn retention(&self) -> Duration {
        if self.bugs.retention_short_by_a_day() {
            self.config.retention - self.config.retention / 30
        } else {
            self.config.retention
        }
    }

    /// The first millisecond at which something made at `t` is older than the retention.
    fn older_than_retention(&self, t: Timestamp) -> Timestamp {
        t.saturating_add(self.retention() + Duration::from_millis(1))
    }

    /// The earliest an object can expire: when it is older than the retention period.
    fn expiry_floor(&self, o: &ObjectState) -> Timestamp {
        self.older_than_retention(o.entry.header.created)
    }

    /// When the object at `pos` expires: once older than the retention period; a full backup
    /// not before the incrementals that follow it (in its generation, up to the next full),
    /// since they cannot be restored without it.
    fn expiry_at(&self, pos: usize) -> Timestamp {
        let h = &self.state.objects[pos].entry.header;
        let mut end = h.created;
        if h.kind == Kind::Full {
            for later in &self.state.objects[pos + 1..] {
                let l = &later.entry.header;
                if l.generation != h.generation || l.kind != Kind::Incremental {
                    break;
                }
                end = end.max(l.created);
            }
        }
        self.older_than_retention(end)
    }

    /// Schedules the deletion of every copy that expired (see [`Self::expiry_at`]), taking
    /// the objects due from the agenda.
    fn expire(&mut self, now: Timestamp) {
        while let Some(key) = self.agenda.pop_due(now) {
            let Some(pos) = self.position(key) else {
                continue;
            };
            if !self.state.objects[pos].copies.iter().any(agenda::expiring) {
                continue;
            }
            let expires = self.expiry_at(pos);
            if expires > now {
                self.agenda.defer(key, expires);
                continue;
            }
            let o = Arc::make_mut(&mut self.state.objects[pos]);
            for (r, c) in o.copies.iter_mut().enumerate() {
                let next = match *c {
                    Copy::Stored => {
                        self.bodies[r].remove(key);
                        Copy::Deleting {
                            attempts: 0,
                            retry_at: now,
                        }
                    }
                    // Never stored there: nothing to delete.
                    Copy::Pending { .. } => Copy::Deleted,
                    other => other,
                };
                if next != *c {
                    *c = next;
                    self.save_needed = true;
                }
            }
            if o.copies.iter().all(|c| *c == Copy::Deleted) {
                let o = self.remove_object(pos);
                self.outputs.push_back(BackupOutput::Discard {
                    name: o.entry.name.clone(),
                });
            } else {
                self.note(pos);
            }
        }
    }

    fn start_transfers(&mut self, now: Timestamp) {
        let due: Vec<usize> = self
            .agenda
            .unsettled()
            .filter_map(|k| self.position(k))
            .collect();
        for pos in due {
            let o = &mut self.state.objects[pos];
            let due = o.copies.iter().any(|c| {
                matches!(c, Copy::Pending { retry_at, .. } | Copy::Deleting { retry_at, .. } if *retry_at <= now)
            });
            if !due {
                continue;
            }
            let o = Arc::make_mut(o);
            for (r, c) in o.copies.iter_mut().enumerate() {
                match *c {
                    Copy::Pending { retry_at, attempts } if retry_at <= now => {
                        *c = Copy::Uploading { attempts };
                        let name = o.entry.name.clone();
                        self.outputs.push_back(BackupOutput::Upload {
                            region: self.config.regions[r].clone(),
                            outbox: name.clone(),
                            object: name,
                        });
                    }
                    Copy::Deleting { retry_at, attempts } if retry_at <= now => {
                        *c = Copy::DeleteInFlight { attempts };
                        self.outputs.push_back(BackupOutput::Delete {
                            region: self.config.regions[r].clone(),
                            name: o.entry.name.clone(),
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    /// Uploads the manifest of every region whose objects changed (one upload in flight per
    /// region; changes during it are picked up by the next).
    fn refresh_manifests<R: CryptoRng + ?Sized>(&mut self, now: Timestamp, rng: &mut R) {
        for r in 0..self.config.regions.len() {
            if !self.manifest_dirty[r] || self.manifest_busy[r] || self.manifest_retry_at[r] > now {
                continue;
            }
            self.manifest_dirty[r] = false;
            self.manifest_busy[r] = true;
            let region = self.config.regions[r].clone();
            let bytes = manifest::seal_body(
                &self.key,
                random_nonce(rng),
                self.bodies[r].len(),
                self.bodies[r].bytes(),
            );
            let name = manifest_outbox_name(&region);
            self.outputs.push_back(BackupOutput::Keep {
                name: name.clone(),
                bytes: Arc::new(bytes),
            });
            self.outputs.push_back(BackupOutput::Upload {
                region,
                outbox: name,
                object: MANIFEST_NAME.to_string(),
            });
        }
    }
}

fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    min.saturating_mul(1u32 << attempts.min(16).saturating_sub(1))
        .min(max)
}
