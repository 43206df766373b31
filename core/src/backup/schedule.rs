//! The backup schedule (DESIGN §6): decided here, executed by the driver.
//!
//! Every `interval` (5 minutes) the node that takes backups (the remote replica) cuts an
//! object: an incremental with the committed entries since the previous one, or, once per
//! `full_every` (a day) or whenever those entries were already compacted away, a full
//! snapshot. Each object goes to **every** backup region independently: a region that is down
//! delays only its own copies (retried with backoff) and never the next backup. Each region's
//! manifest is rewritten after its objects change. Objects are deleted from every region once
//! older than `retention` (30 days), and not before.
//!
//! The driver keeps each new object in a local outbox until it is stored everywhere, and saves
//! the schedule's state after every change, so that after a restart the schedule resumes where
//! it was: pending uploads are retried and the next cut comes at its time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::backup::manifest::{MANIFEST_NAME, Manifest, ManifestEntry};
use crate::backup::object::{self, BackupKey, Content, Kind};
use crate::crypto::aead::random_nonce;
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
    pub entry: ManifestEntry,
    /// One per configured region, in the same order.
    pub copies: Vec<Copy>,
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
    pub objects: Vec<ObjectState>,
}

impl ScheduleState {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serializes")
    }

    pub fn decode(bytes: &[u8]) -> Option<ScheduleState> {
        postcard::from_bytes(bytes).ok()
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
    outputs: VecDeque<BackupOutput>,
    save_needed: bool,
}

impl BackupScheduler {
    /// A schedule for cluster `generation`, resuming from `saved` if there is one (of the same
    /// generation: a recovery starts a new sequence).
    pub fn new(
        config: BackupConfig,
        key: BackupKey,
        generation: u64,
        saved: Option<ScheduleState>,
    ) -> Self {
        let mut state = saved
            .filter(|s| s.generation == generation)
            .unwrap_or(ScheduleState {
                generation,
                ..ScheduleState::default()
            });
        let regions = config.regions.len();
        for object in &mut state.objects {
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
        BackupScheduler {
            config,
            key,
            state,
            manifest_busy: vec![false; regions],
            // After a restart, rewrite every manifest once: the last write may not have landed.
            manifest_dirty: vec![true; regions],
            outputs: VecDeque::new(),
            save_needed: false,
        }
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
                .map(|o| o.entry.clone())
                .collect(),
        }
    }

    /// When [`BackupScheduler::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let mut next = self.state.next_cut.unwrap_or(Timestamp::EPOCH);
        for o in &self.state.objects {
            for c in &o.copies {
                if let Copy::Pending { retry_at, .. } | Copy::Deleting { retry_at, .. } = c {
                    next = next.min(*retry_at);
                }
            }
            next = next.min(o.entry.header.created.saturating_add(self.config.retention));
        }
        let manifest_waiting = self
            .manifest_dirty
            .iter()
            .zip(&self.manifest_busy)
            .any(|(dirty, busy)| *dirty && !*busy);
        if manifest_waiting {
            next = Timestamp::EPOCH;
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
        self.refresh_manifests(rng);
    }

    /// The driver's answer to an `Upload`.
    pub fn uploaded(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        let Some(r) = self.region_index(region) else {
            return;
        };
        if name == manifest_outbox_name(region) {
            self.manifest_busy[r] = false;
            if !ok {
                self.manifest_dirty[r] = true;
            }
            return;
        }
        let (retry_min, retry_max) = (self.config.retry_min, self.config.retry_max);
        let Some(o) = self.state.objects.iter_mut().find(|o| o.entry.name == name) else {
            return;
        };
        let Copy::Uploading { attempts } = o.copies[r] else {
            return;
        };
        if ok {
            o.copies[r] = Copy::Stored;
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
        self.save_needed = true;
    }

    /// The driver's answer to a `Delete`.
    pub fn deleted(&mut self, now: Timestamp, region: &str, name: &str, ok: bool) {
        let Some(r) = self.region_index(region) else {
            return;
        };
        let (retry_min, retry_max) = (self.config.retry_min, self.config.retry_max);
        let Some(o) = self.state.objects.iter_mut().find(|o| o.entry.name == name) else {
            return;
        };
        let Copy::DeleteInFlight { attempts } = o.copies[r] else {
            return;
        };
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
        self.state
            .objects
            .retain(|o| !o.copies.iter().all(|c| *c == Copy::Deleted));
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
            Some(entries) => {
                let last = entries.last().map_or(self.state.backed_up_to, |e| e.index);
                let h = object::header(
                    self.state.generation,
                    seq,
                    Kind::Incremental,
                    from,
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
        self.state.objects.push(ObjectState {
            entry: ManifestEntry::describe(name.clone(), header, &bytes),
            copies: vec![
                Copy::Pending {
                    attempts: 0,
                    retry_at: now
                };
                self.config.regions.len()
            ],
        });
        self.outputs.push_back(BackupOutput::Keep {
            name,
            bytes: Arc::new(bytes),
        });
        self.save_needed = true;
    }

    /// Schedules the deletion of every copy older than the retention period.
    fn expire(&mut self, now: Timestamp) {
        let horizon = now.saturating_sub(self.config.retention);
        for o in &mut self.state.objects {
            if o.entry.header.created >= horizon {
                continue;
            }
            for c in &mut o.copies {
                *c = match *c {
                    Copy::Stored => Copy::Deleting {
                        attempts: 0,
                        retry_at: now,
                    },
                    // Never stored there: nothing to delete.
                    Copy::Pending { .. } => Copy::Deleted,
                    other => other,
                };
            }
            self.save_needed = true;
        }
        let before = self.state.objects.len();
        let expired_unstored: Vec<String> = self
            .state
            .objects
            .iter()
            .filter(|o| o.copies.iter().all(|c| *c == Copy::Deleted))
            .map(|o| o.entry.name.clone())
            .collect();
        self.state
            .objects
            .retain(|o| !o.copies.iter().all(|c| *c == Copy::Deleted));
        for name in expired_unstored {
            self.outputs.push_back(BackupOutput::Discard { name });
        }
        if self.state.objects.len() != before {
            self.save_needed = true;
        }
    }

    fn start_transfers(&mut self, now: Timestamp) {
        for o in &mut self.state.objects {
            for (r, c) in o.copies.iter_mut().enumerate() {
                let region = self.config.regions[r].clone();
                match *c {
                    Copy::Pending { retry_at, attempts } if retry_at <= now => {
                        *c = Copy::Uploading { attempts };
                        let name = o.entry.name.clone();
                        self.outputs.push_back(BackupOutput::Upload {
                            region,
                            outbox: name.clone(),
                            object: name,
                        });
                    }
                    Copy::Deleting { retry_at, attempts } if retry_at <= now => {
                        *c = Copy::DeleteInFlight { attempts };
                        self.outputs.push_back(BackupOutput::Delete {
                            region,
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
    fn refresh_manifests<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        for r in 0..self.config.regions.len() {
            if !self.manifest_dirty[r] || self.manifest_busy[r] {
                continue;
            }
            self.manifest_dirty[r] = false;
            self.manifest_busy[r] = true;
            let region = self.config.regions[r].clone();
            let bytes = self.manifest(r).seal(&self.key, random_nonce(rng));
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
