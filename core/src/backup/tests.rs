//! The backup schedule driven against two in-memory backup regions, and restores from them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::api::CreateImportServiceKeyRequest;
use crate::backup::object::Kind;
use crate::crypto::hierarchy::RootKey;
use crate::ids::DomainId;
use crate::key::spec::KeyType;
use crate::replication::config::tests::region;
use crate::replication::log::{Entry, Index, Payload};
use crate::replication::snapshot::Snapshot;
use crate::store::{KeyStore, State};
use crate::time::Timestamp;

const MIN: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A committed log growing over time, with the state it produces.
struct Source {
    entries: Vec<Entry>,
    store: KeyStore,
    /// Entries below this were compacted away (to force full backups).
    compacted_before: Index,
    rng: ChaCha20Rng,
    domain: DomainId,
}

impl Source {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let store = KeyStore::new(RootKey::from_bytes(&[2; 32]));
        let domain = DomainId::random(&mut rng);
        let mut s = Source {
            entries: Vec::new(),
            store,
            compacted_before: 0,
            rng,
            domain,
        };
        let cmd = s.store.prepare_domain(domain, &mut s.rng).unwrap();
        s.push(cmd, Timestamp::from_millis(1));
        s
    }

    fn push(&mut self, command: crate::store::Command, time: Timestamp) {
        let index = self.entries.len() as u64 + 1;
        let _ = self.store.apply(index, time, &command);
        self.entries.push(Entry {
            index,
            term: 1,
            time,
            payload: Payload::Command {
                origin: crate::replication::NodeId(0),
                request: index,
                command,
            },
        });
    }

    fn add_key(&mut self, time: Timestamp) {
        let req = CreateImportServiceKeyRequest {
            name: "k".into(),
            kind: Some(KeyType::Oct),
            size: Some(128),
            ..Default::default()
        };
        let cmd = self
            .store
            .prepare_key(self.domain, &req, &mut self.rng)
            .unwrap();
        self.push(cmd, time);
    }
}

impl BackupSource for Source {
    fn committed(&self) -> Index {
        self.entries.len() as u64
    }

    fn committed_entries(&self, from: Index, to: Index) -> Option<Vec<Entry>> {
        if from < self.compacted_before {
            return None;
        }
        Some(self.entries[(from - 1) as usize..to as usize].to_vec())
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            index: self.committed(),
            term: 1,
            config: region(1, 1),
            data: Arc::new(self.store.state().encode()),
        }
    }
}

/// Two backup regions and an outbox, executing the scheduler's outputs.
#[derive(Default)]
struct Driver {
    outbox: BTreeMap<String, Arc<Vec<u8>>>,
    regions: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    down: Vec<String>,
    saved: Option<ScheduleState>,
    /// (region, name, time) of every object stored, for the 5-minute check.
    stored_at: Vec<(String, String, Timestamp)>,
    deleted: Vec<(String, String, Timestamp)>,
}

impl Driver {
    fn run(&mut self, s: &mut BackupScheduler, now: Timestamp) {
        while let Some(out) = s.poll_output() {
            match out {
                BackupOutput::Keep { name, bytes } => {
                    self.outbox.insert(name, bytes);
                }
                BackupOutput::Upload {
                    region,
                    outbox,
                    object,
                } => {
                    let ok = !self.down.contains(&region);
                    if ok {
                        let bytes = self.outbox[&outbox].to_vec();
                        self.regions
                            .entry(region.clone())
                            .or_default()
                            .insert(object.clone(), bytes);
                        self.stored_at.push((region.clone(), object, now));
                    }
                    s.uploaded(now, &region, &outbox, ok);
                }
                BackupOutput::Delete { region, name } => {
                    let ok = !self.down.contains(&region);
                    if ok {
                        self.regions.get_mut(&region).unwrap().remove(&name);
                        self.deleted.push((region.clone(), name.clone(), now));
                    }
                    s.deleted(now, &region, &name, ok);
                }
                BackupOutput::Discard { name } => {
                    self.outbox.remove(&name);
                }
                BackupOutput::Save(state) => self.saved = Some(state),
            }
        }
    }

    fn manifest(&self, key: &BackupKey) -> Manifest {
        let mut union = Manifest::default();
        for objects in self.regions.values() {
            if let Some(bytes) = objects.get(MANIFEST_NAME) {
                for e in Manifest::open(key, bytes).unwrap().entries {
                    if union.get(&e.name).is_none() {
                        union.entries.push(e);
                    }
                }
            }
        }
        union
    }

    fn fetch(&self) -> impl Fn(&ManifestEntry) -> Vec<Vec<u8>> + '_ {
        |e| {
            self.regions
                .values()
                .filter_map(|r| r.get(&e.name).cloned())
                .collect()
        }
    }
}

fn key() -> BackupKey {
    BackupKey::from_root(&RootKey::from_bytes(&[2; 32]))
}

/// Runs the schedule from `from` to `to`, adding a key every `write_every`.
fn advance(
    s: &mut BackupScheduler,
    d: &mut Driver,
    src: &mut Source,
    from: Timestamp,
    to: Timestamp,
    write_every: Duration,
    rng: &mut ChaCha20Rng,
) -> Timestamp {
    let mut now = from;
    let mut next_write = from;
    while now < to {
        let wake = s.poll_timeout().unwrap_or(to).max(now);
        now = wake.min(next_write).min(to).max(now);
        if now >= next_write {
            src.add_key(now);
            next_write = now.saturating_add(write_every);
        }
        s.handle_timeout(now, src, rng);
        d.run(s, now);
        if s.poll_timeout().is_some_and(|t| t <= now) && now == to {
            break;
        }
        if s.poll_timeout().is_none_or(|t| t <= now) {
            now = now.saturating_add(Duration::from_secs(1));
        }
    }
    now
}

#[test]
fn a_backup_every_five_minutes_in_both_regions_and_a_full_one_daily() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(DAY + 30 * MIN),
        Duration::from_secs(37),
        &mut rng,
    );
    for region in ["backup-x", "backup-y"] {
        let times: Vec<Timestamp> = d
            .stored_at
            .iter()
            .filter(|(r, n, _)| r == region && n != MANIFEST_NAME)
            .map(|(_, _, t)| *t)
            .collect();
        assert!(
            times.len() >= 24 * 12,
            "{region}: {} backups in a day",
            times.len()
        );
        for w in times.windows(2) {
            assert!(
                w[1].saturating_duration_since(w[0]) <= 5 * MIN,
                "{region}: gap of {:?}",
                w[1].saturating_duration_since(w[0])
            );
        }
    }
    let fulls = s
        .state()
        .objects
        .iter()
        .filter(|o| o.entry.header.kind == Kind::Full)
        .count();
    assert_eq!(fulls, 2, "one full at the start and one a day later");
    // Restoring the latest gives exactly the source's state at what was backed up.
    let key = key();
    let restored = restore(&key, &d.manifest(&key), d.fetch(), None).unwrap();
    let mut expected = State::new();
    for e in &src.entries[..restored.index as usize] {
        super::restore::apply(&mut expected, e);
    }
    assert_eq!(
        restored.snapshot.data.as_slice(),
        expected.encode().as_slice()
    );
    assert!(
        src.committed() - restored.index <= 10,
        "at most one interval of writes behind"
    );
}

#[test]
fn an_outage_of_one_region_does_not_stop_the_other_and_is_caught_up() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(20 * MIN),
        MIN,
        &mut rng,
    );
    d.down.push("backup-y".into());
    let t2 = advance(
        &mut s,
        &mut d,
        &mut src,
        t1,
        t1.saturating_add(60 * MIN),
        MIN,
        &mut rng,
    );
    let during: Vec<&(String, String, Timestamp)> = d
        .stored_at
        .iter()
        .filter(|(r, n, t)| *t > t1 && *t <= t2 && n != MANIFEST_NAME && r == "backup-x")
        .collect();
    assert!(
        during.len() >= 11,
        "region x kept taking backups: {}",
        during.len()
    );
    assert!(
        !d.stored_at
            .iter()
            .any(|(r, _, t)| r == "backup-y" && *t > t1 && *t <= t2)
    );
    d.down.clear();
    advance(
        &mut s,
        &mut d,
        &mut src,
        t2,
        t2.saturating_add(10 * MIN),
        MIN,
        &mut rng,
    );
    let x: Vec<&String> = d.regions["backup-x"].keys().collect();
    let y: Vec<&String> = d.regions["backup-y"].keys().collect();
    assert_eq!(x, y, "region y caught up on every object");
    assert!(
        d.outbox.keys().all(|n| n.starts_with(MANIFEST_NAME)),
        "outbox emptied: {:?}",
        d.outbox.keys().collect::<Vec<_>>()
    );
}

#[test]
fn retention_deletes_at_thirty_days_and_not_before() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut src = Source::new();
    let config = BackupConfig {
        interval: 60 * MIN,
        ..BackupConfig::default()
    };
    let retention = config.retention;
    let mut s = BackupScheduler::new(config, key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let end = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(32 * DAY),
        6 * 60 * MIN,
        &mut rng,
    );
    assert!(!d.deleted.is_empty());
    let created: BTreeMap<&str, Timestamp> = d
        .stored_at
        .iter()
        .map(|(_, n, t)| (n.as_str(), *t))
        .collect();
    // A full backup stays as long as the incrementals that need it: up to a day more.
    let allowed = |name: &str| {
        if name.contains("-full-") {
            retention + DAY + 60 * MIN
        } else {
            retention + 60 * MIN
        }
    };
    for (_, name, at) in &d.deleted {
        let age = at.saturating_duration_since(created[name.as_str()]);
        assert!(age >= retention, "{name} deleted at age {age:?}");
        assert!(age <= allowed(name), "{name} kept too long: {age:?}");
    }
    for objects in d.regions.values() {
        for name in objects.keys().filter(|n| *n != MANIFEST_NAME) {
            let age = end.saturating_duration_since(created[name.as_str()]);
            assert!(age <= allowed(name), "{name} kept too long: {age:?}");
        }
    }
    // Thirty days of history can be restored: the state of 30 days ago has its full.
    let key = key();
    let month_ago = end.saturating_sub(retention);
    let restored = restore(&key, &d.manifest(&key), d.fetch(), Some(month_ago)).unwrap();
    assert!(restored.time <= month_ago);
    assert!(month_ago.saturating_duration_since(restored.time) <= 60 * MIN);
}

/// A deletion that takes time (or a region that is down when it is due) must not make the
/// schedule ask to be woken at a past instant, over and over.
#[test]
fn expired_objects_being_deleted_do_not_keep_the_timer_in_the_past() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let mut src = Source::new();
    let config = BackupConfig {
        interval: 60 * MIN,
        retention: 3 * 60 * MIN,
        full_every: 60 * MIN,
        ..BackupConfig::default()
    };
    let mut s = BackupScheduler::new(config, key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(4 * 60 * MIN),
        60 * MIN,
        &mut rng,
    );
    d.down.push("backup-y".into());
    // Step through the next hours with y down: every wakeup lies ahead of now.
    let mut now = t1;
    for _ in 0..50 {
        // Work that is due now settles in a few rounds (a manifest to rewrite after an
        // upload, …), then the next wakeup lies ahead.
        let mut rounds = 0;
        while s.poll_timeout().unwrap() <= now {
            s.handle_timeout(now, &src, &mut rng);
            d.run(&mut s, now);
            rounds += 1;
            assert!(rounds < 5, "woken again and again at {now}");
        }
        now = s.poll_timeout().unwrap();
    }
}

#[test]
fn a_replaced_replica_adopts_what_the_regions_hold_and_continues_the_sequence() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(31 * MIN),
        MIN,
        &mut rng,
    );
    let before: Vec<String> = d.regions["backup-x"].keys().cloned().collect();
    // An object uploaded to x just before the old replica died, not yet in x's manifest.
    let key = key();
    let extra = s.state().objects.last().unwrap().entry.clone();
    let mut listed = Manifest::open(&key, &d.regions["backup-x"][MANIFEST_NAME]).unwrap();
    listed.entries.retain(|e| e.name != extra.name);
    d.regions.get_mut("backup-x").unwrap().insert(
        MANIFEST_NAME.into(),
        listed.seal(&key, [7; crate::crypto::aead::NONCE_LEN]),
    );
    // The replica's disk is gone: the new one reads the regions (y cannot be read).
    let held = |region: &str| {
        let objects = &d.regions[region];
        let names: Vec<String> = objects.keys().cloned().collect();
        inventory(&key, &names, |n| objects.get(n).cloned())
    };
    let x = held("backup-x");
    assert!(
        x.iter().any(|e| e.name == extra.name),
        "unlisted but authentic"
    );
    let adopted = ScheduleState::adopt(1, &[Some(x), None]);
    assert_eq!(adopted.next_seq, s.state().next_seq);
    assert_eq!(adopted.backed_up_to, s.state().backed_up_to);
    let mut s = BackupScheduler::new(BackupConfig::default(), self::key(), 1, Some(adopted));
    advance(
        &mut s,
        &mut d,
        &mut src,
        t1,
        t1.saturating_add(11 * MIN),
        MIN,
        &mut rng,
    );
    let after: Vec<&String> = d.regions["backup-x"].keys().collect();
    for name in &before {
        assert!(after.contains(&name), "{name} kept");
    }
    let manifest = Manifest::open(&key, &d.regions["backup-x"][MANIFEST_NAME]).unwrap();
    for name in before.iter().filter(|n| *n != MANIFEST_NAME) {
        assert!(manifest.get(name).is_some(), "{name} still listed");
    }
    let seqs: Vec<u64> = s
        .state()
        .objects
        .iter()
        .map(|o| o.entry.header.seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    restore(&key, &manifest, d.fetch(), None).unwrap();
}

#[test]
fn a_new_generation_keeps_the_old_objects_and_starts_with_a_full_backup() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(16 * MIN),
        MIN,
        &mut rng,
    );
    let old = s.state().objects.len();
    let saved = d.saved.clone().unwrap();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 2, Some(saved));
    advance(
        &mut s,
        &mut d,
        &mut src,
        t1,
        t1.saturating_add(6 * MIN),
        MIN,
        &mut rng,
    );
    let objects = &s.state().objects;
    assert_eq!(
        objects
            .iter()
            .filter(|o| o.entry.header.generation == 1)
            .count(),
        old
    );
    let first_new = objects
        .iter()
        .find(|o| o.entry.header.generation == 2)
        .unwrap();
    assert_eq!(first_new.entry.header.kind, Kind::Full);
    assert_eq!(first_new.entry.header.seq, 0);
    let key = key();
    let manifest = Manifest::open(&key, &d.regions["backup-y"][MANIFEST_NAME]).unwrap();
    assert!(manifest.entries.iter().any(|e| e.header.generation == 1));
}

#[test]
fn the_schedule_resumes_after_a_restart() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    d.down.push("backup-y".into());
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(12 * MIN),
        MIN,
        &mut rng,
    );
    let saved = d.saved.clone().expect("state saved");
    let before = saved.backed_up_to;
    // Restart: a new scheduler from the saved state; region y is back.
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, Some(saved));
    d.down.clear();
    advance(
        &mut s,
        &mut d,
        &mut src,
        t1,
        t1.saturating_add(6 * MIN),
        MIN,
        &mut rng,
    );
    assert!(s.state().backed_up_to > before);
    let x: Vec<&String> = d.regions["backup-x"].keys().collect();
    let y: Vec<&String> = d.regions["backup-y"].keys().collect();
    assert_eq!(x, y, "uploads pending at the restart were retried");
    let seqs: Vec<u64> = s
        .state()
        .objects
        .iter()
        .map(|o| o.entry.header.seq)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no sequence number reused or skipped"
    );
}

#[test]
fn restores_verify_every_object_and_refuse_gaps_and_tampering() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(60 * MIN),
        MIN,
        &mut rng,
    );
    let key = key();
    let manifest = d.manifest(&key);

    // As of a time: only entries up to then.
    let at = t0.saturating_add(30 * MIN);
    let restored = restore(&key, &manifest, d.fetch(), Some(at)).unwrap();
    assert!(restored.time <= at);
    assert!(src.entries.iter().filter(|e| e.time <= at).count() as u64 >= restored.index);

    // One altered copy: the other region's copy is used.
    let victim = manifest
        .entries
        .iter()
        .find(|e| e.header.kind == Kind::Incremental && e.header.last >= e.header.first)
        .unwrap()
        .name
        .clone();
    d.regions
        .get_mut("backup-x")
        .unwrap()
        .get_mut(&victim)
        .unwrap()[40] ^= 1;
    assert!(restore(&key, &manifest, d.fetch(), None).is_ok());
    // Both altered: refused, naming the object.
    d.regions
        .get_mut("backup-y")
        .unwrap()
        .get_mut(&victim)
        .unwrap()[40] ^= 1;
    assert_eq!(
        restore(&key, &manifest, d.fetch(), None),
        Err(RestoreError::Digest(victim.clone()))
    );
    // Gone from both: missing.
    for r in d.regions.values_mut() {
        r.remove(&victim);
    }
    assert_eq!(
        restore(&key, &manifest, d.fetch(), None),
        Err(RestoreError::Missing(victim.clone()))
    );
    // Gone from the manifest too: a gap.
    let mut holed = manifest.clone();
    holed.entries.retain(|e| e.name != victim);
    assert!(matches!(
        restore(&key, &holed, d.fetch(), None),
        Err(RestoreError::Gap { .. })
    ));
    // A manifest sealed with another root key is refused.
    let other = BackupKey::from_root(&RootKey::from_bytes(&[9; 32]));
    let bytes = d.regions["backup-y"][MANIFEST_NAME].clone();
    assert!(Manifest::open(&other, &bytes).is_err());
}

#[test]
fn incrementals_that_were_compacted_become_full_backups() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    let t1 = advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(6 * MIN),
        MIN,
        &mut rng,
    );
    src.compacted_before = src.committed() + 1;
    for _ in 0..3 {
        src.add_key(t1);
    }
    let t1_committed = src.committed();
    advance(
        &mut s,
        &mut d,
        &mut src,
        t1,
        t1.saturating_add(6 * MIN),
        MIN,
        &mut rng,
    );
    let fulls: Vec<Index> = s
        .state()
        .objects
        .iter()
        .filter(|o| o.entry.header.kind == Kind::Full)
        .map(|o| o.entry.header.last)
        .collect();
    assert_eq!(fulls.len(), 2);
    assert!(
        fulls[1] >= t1_committed,
        "the second full covers the compacted entries"
    );
    let key = key();
    let restored = restore(&key, &d.manifest(&key), d.fetch(), None).unwrap();
    assert!(restored.index >= fulls[1]);
}

#[test]
fn orphans_are_the_old_region_writes_after_the_restore_point() {
    let mut src = Source::new();
    for i in 0..5 {
        src.add_key(Timestamp::from_millis(10 + i));
    }
    let (list, divergence) = recovery::orphans(&src.entries, 3, |_| Some(1));
    assert_eq!(divergence, None);
    assert_eq!(list.iter().map(|o| o.index).collect::<Vec<_>>(), [4, 5, 6]);
    assert!(
        list.iter()
            .all(|o| o.what.starts_with("create key") && o.key.is_some())
    );
    let (_, divergence) = recovery::orphans(&src.entries, 3, |i| Some(if i == 2 { 7 } else { 1 }));
    assert_eq!(divergence, Some(2));
}

/// A manifest sealed from its entries by reference is the manifest sealed whole.
#[test]
fn manifests_sealed_by_reference_are_the_same_bytes() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut src = Source::new();
    let mut s = BackupScheduler::new(BackupConfig::default(), key(), 1, None);
    let mut d = Driver::default();
    let t0 = Timestamp::from_millis(1_000_000);
    advance(
        &mut s,
        &mut d,
        &mut src,
        t0,
        t0.saturating_add(21 * MIN),
        MIN,
        &mut rng,
    );
    let key = key();
    let manifest = s.manifest(0);
    assert!(manifest.entries.len() >= 4);
    let nonce = [3; crate::crypto::aead::NONCE_LEN];
    let whole = manifest.seal(&key, nonce);
    let by_ref = crate::backup::manifest::seal_entries(&key, nonce, manifest.entries.iter());
    assert_eq!(whole, by_ref);
    let stored: Vec<_> = s
        .state()
        .objects
        .iter()
        .filter(|o| o.copies[0] == crate::backup::schedule::Copy::Stored)
        .collect();
    let body: Vec<u8> = stored.iter().flat_map(|o| o.encoded().to_vec()).collect();
    let encoded = crate::backup::manifest::seal_body(&key, nonce, stored.len(), &body);
    assert_eq!(whole, encoded);
    assert_eq!(Manifest::open(&key, &by_ref).unwrap(), manifest);
    // And what the schedule uploaded is that manifest.
    assert_eq!(
        Manifest::open(&key, &d.regions["backup-x"][MANIFEST_NAME]).unwrap(),
        manifest
    );
}

/// A region's manifest body stays the concatenation of its members' encodings, in key
/// order, whatever order they come and go in (a retried upload lands after newer ones).
#[test]
fn manifest_bodies_follow_members_in_any_order() {
    use crate::backup::manifest::ManifestBody;
    let mut body = ManifestBody::default();
    let enc = |k: u64| vec![k as u8; 1 + (k % 3) as usize];
    let expect = |keys: &[u64]| keys.iter().flat_map(|k| enc(*k)).collect::<Vec<u8>>();
    for k in [5, 1, 9, 3, 7, 2] {
        body.insert(k, &enc(k));
    }
    body.insert(3, &enc(3));
    assert_eq!(body.len(), 6);
    assert_eq!(body.bytes(), expect(&[1, 2, 3, 5, 7, 9]));
    for k in [1, 7, 4] {
        body.remove(k);
    }
    assert_eq!(body.bytes(), expect(&[2, 3, 5, 9]));
    body.insert(8, &enc(8));
    assert_eq!(body.bytes(), expect(&[2, 3, 5, 8, 9]));
}
