//! How long a region takes to come back, and how big its backups are, for a state of
//! 1,000,000 keys: the figures behind the recovery-time promises (DESIGN §6) that the unit
//! tests, with a few hundred keys, cannot give.
//!
//! * **From backups**: a real `BackupScheduler` cuts one full backup of the state, then a
//!   day of 5-minute incrementals (287, each with 100 key creations: the 288th cut is the
//!   next day's full), into two in-memory backup regions; `backup::restore` then rebuilds the
//!   latest state (fetch, SHA-256 against the manifest, authentication, snapshot decode,
//!   incrementals applied, re-encode), and the state as of just after the full.
//! * **From the replica**: `backup::from_replica` over a snapshot of the state plus a log
//!   tail of 10,000 key creations (a full `snapshot_every`), in memory and from the bytes a
//!   replica's disk holds (`storage::recover` of the snapshot file, the log file and the
//!   hard-state slots).
//! * **Sizes**: the state snapshot, the full backup and the incrementals, per key or entry.
//!
//! Each recovery is timed three times and its median reported. Setup (creating the keys,
//! the backup day) is timed and printed but is not part of any figure. Peak memory is the
//! process's VmHWM once the recoveries are measured (setup's data included), before the
//! state is loaded into a `KeyStore`. Every random draw comes from a fixed seed.
//!
//! Run with `cargo bench -p cairn-core --bench recovery`. `CAIRN_BENCH_KEYS` changes the key
//! count (default 1,000,000; 10,000 for a quick check); `CAIRN_BENCH_EC_PERCENT` adds a
//! second scenario where that share of the keys are EC P-256 (default 10; 0 skips it).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::api::CreateImportServiceKeyRequest;
use cairn_core::backup::object::{self, Content, Kind};
use cairn_core::backup::{
    BackupConfig, BackupKey, BackupOutput, BackupScheduler, BackupSource, MANIFEST_NAME, Manifest,
    ManifestEntry, Restored, from_replica, restore,
};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::key::spec::{Curve, KeyType};
use cairn_core::replication::storage::{
    decode_log, decode_snapshot, encode_entries, encode_hard_state, encode_snapshot, recover,
};
use cairn_core::replication::{
    ClusterConfig, Entry, HardState, Index, NodeId, NodeInfo, Payload, Recovered, Role, Snapshot,
};
use cairn_core::store::{Applied, Command, KeyStore, State};
use cairn_core::{DomainId, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Tenants the keys are spread over (round robin).
const DOMAINS: usize = 100;
/// Key creations per 5-minute incremental.
const PER_INCREMENTAL: usize = 100;
/// Entries in the replica's log tail (the default `Timing::snapshot_every`).
const TAIL: usize = 10_000;
const MINUTE: Duration = Duration::from_secs(60);

fn main() {
    let keys: usize = std::env::var("CAIRN_BENCH_KEYS")
        .ok()
        .map(|v| {
            v.replace('_', "")
                .parse()
                .expect("CAIRN_BENCH_KEYS: a number")
        })
        .unwrap_or(1_000_000);
    let ec_percent: usize = std::env::var("CAIRN_BENCH_EC_PERCENT")
        .ok()
        .map(|v| v.parse().expect("CAIRN_BENCH_EC_PERCENT: a number"))
        .unwrap_or(10);
    let mut rows = vec![scenario(keys, 0)];
    if ec_percent > 0 {
        rows.push(scenario(keys, ec_percent));
    }
    println!();
    println!(
        "keys       mix      snap B/key  full B/key  incr B/entry  restore s  full-only s  \
         replica s  replica disk s  VmHWM MiB"
    );
    for r in &rows {
        println!(
            "{:<10} {:<8} {:>10.1} {:>11.1} {:>13.1} {:>10.3} {:>12.3} {:>10.3} {:>15.3} {:>10}",
            r.keys,
            r.mix,
            r.snapshot_per_key,
            r.full_per_key,
            r.incremental_per_entry,
            r.restore,
            r.restore_full_only,
            r.replica,
            r.replica_disk,
            r.peak_mib.map_or("?".into(), |m| m.to_string()),
        );
    }
}

/// The figures of one scenario.
struct Row {
    keys: usize,
    mix: String,
    snapshot_per_key: f64,
    full_per_key: f64,
    incremental_per_entry: f64,
    restore: f64,
    restore_full_only: f64,
    replica: f64,
    replica_disk: f64,
    peak_mib: Option<u64>,
}

fn scenario(keys: usize, ec_percent: usize) -> Row {
    let mix = if ec_percent == 0 {
        "oct".to_string()
    } else {
        format!("{ec_percent}% EC")
    };
    println!("== {keys} keys, {mix} ==");
    // Peak memory of this scenario alone (Linux ≥ 4.0: "5" resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");

    // --- Setup: the keys, then a full backup and a day of incrementals. ---
    let started = Instant::now();
    let t0 = Timestamp::from_millis(1_700_000_000_000);
    let mut src = Source::new(ec_percent);
    for _ in 0..keys {
        src.add_key(t0);
    }
    let built = started.elapsed();
    let config = BackupConfig::default();
    let regions = config.regions.clone();
    let key = BackupKey::from_root(&root());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut scheduler = BackupScheduler::new(config, BackupKey::from_root(&root()), 1, None);
    let mut driver = Driver::default();
    driver.settle(&mut scheduler, &src, &mut rng, t0);
    // From here on the log is kept: the incrementals are cut from it.
    src.keep = true;
    let snapshot_bytes = src.snapshot_len.get();
    let mut now = t0;
    // Cuts every 5 minutes; the one a day after the full is the next full: stop before it.
    for _ in 1..24 * 12 {
        let next = now.saturating_add(5 * MINUTE);
        for i in 0..PER_INCREMENTAL {
            let at = now.saturating_add(5 * MINUTE * (i as u32 + 1) / PER_INCREMENTAL as u32);
            src.add_key(at);
        }
        now = next;
        driver.settle(&mut scheduler, &src, &mut rng, now);
    }
    let setup = started.elapsed();
    println!(
        "setup: {keys} keys in {:.1} s, then the backup day: {:.1} s in all",
        built.as_secs_f64(),
        setup.as_secs_f64()
    );

    // --- What the regions hold. ---
    let manifest = driver.manifest(&key, &regions);
    let (mut full, mut full_count) = (0usize, 0usize);
    let (mut incr, mut incr_entries, mut incr_count) = (0usize, 0u64, 0usize);
    for e in &manifest.entries {
        match e.header.kind {
            Kind::Full => {
                full += e.size as usize;
                full_count += 1;
            }
            Kind::Incremental => {
                incr += e.size as usize;
                incr_entries += (e.header.last + 1).saturating_sub(e.header.first);
                incr_count += 1;
            }
        }
    }
    assert_eq!(full_count, 1, "one full backup");
    assert_eq!(incr_count, 24 * 12 - 1, "a day of incrementals");
    let full_time = t0;

    let mem_setup = memory();

    // --- Restore from backups: the latest, then as of just after the full. ---
    let fetch = driver.fetch();
    let expected = src.state.encode();
    let t_restore = measure(
        || restore(&key, &manifest, &fetch, None).expect("restore"),
        |restored| {
            assert_eq!(restored.index, src.state.applied_index());
            assert!(
                restored.snapshot.data.as_slice() == expected.as_slice(),
                "restore rebuilt the source's state"
            );
        },
    );
    let t_full_only = measure(
        || restore(&key, &manifest, &fetch, Some(full_time)).expect("restore"),
        |restored| {
            assert_eq!(
                restored.objects.len(),
                2,
                "the full, and a look at the next"
            )
        },
    );
    let breakdown = restore_breakdown(&key, &manifest, &fetch);
    let mem_restore = memory();

    // --- Recovery from the replica: a snapshot of the state, then a log tail. ---
    let replica_snapshot = Snapshot {
        index: src.state.applied_index(),
        term: 1,
        config: cluster(),
        data: Arc::new(expected),
    };
    let tail_from = src.entries.len();
    for i in 0..TAIL {
        src.add_key(now.saturating_add(Duration::from_millis(i as u64 * 30)));
    }
    let tail: Vec<Entry> = src.entries[tail_from..].to_vec();
    let last = tail.last().expect("a tail").index;
    let hard = HardState {
        term: 1,
        vote: Some(NodeId(0)),
        no_vote: false,
        commit: last,
    };
    let recovered = Recovered {
        hard_state: Some(hard),
        snapshot: Some(replica_snapshot.clone()),
        entries: tail.clone(),
        log_damaged: false,
    };
    let expected = src.state.encode();
    let check = |rebuilt: &Restored| {
        assert_eq!(rebuilt.index, last);
        assert!(rebuilt.snapshot.data.as_slice() == expected.as_slice());
    };
    let t_replica = measure(
        || from_replica(&recovered, &cluster()).expect("from_replica"),
        check,
    );
    drop(recovered);
    // The replica's files: what a node reads when it starts.
    let snapshot_file = encode_snapshot(&replica_snapshot);
    let log_file = encode_entries(&tail);
    let (slot_a, slot_b) = (encode_hard_state(&hard, 1), encode_hard_state(&hard, 2));
    let t_replica_disk = measure(
        || {
            let (recovered, report) = recover(&log_file, Some(&snapshot_file), (&slot_a, &slot_b));
            assert!(!recovered.log_damaged && report.torn_tail_bytes == 0);
            assert_eq!(recovered.entries.len(), TAIL);
            from_replica(&recovered, &cluster()).expect("from_replica")
        },
        check,
    );
    // The parts of reading the files.
    let t_read = measure(
        || recover(&log_file, Some(&snapshot_file), (&slot_a, &slot_b)),
        |_| {},
    );
    let t_snapshot_file = measure(
        || decode_snapshot(&snapshot_file).expect("snapshot"),
        |_| {},
    );
    let log_scaling: Vec<String> = [TAIL / 4, TAIL / 2, TAIL]
        .into_iter()
        .map(|n| {
            let log = encode_entries(&tail[..n]);
            let t = measure(
                || decode_log(&log, replica_snapshot.index, 1),
                |(entries, _)| {
                    assert_eq!(entries.len(), n);
                },
            );
            format!("{n} entries {:.3} s", t.median)
        })
        .collect();
    drop(tail);
    let mem_replica = memory();
    // What a node then does with the state: load it into its key store (every key unsealed).
    let rebuilt = from_replica(
        &recover(&log_file, Some(&snapshot_file), (&slot_a, &slot_b)).0,
        &cluster(),
    )
    .expect("from_replica");
    let log_file_len = log_file.len();
    drop((snapshot_file, log_file, replica_snapshot, expected));
    let started = Instant::now();
    let store = KeyStore::from_snapshot(root(), &rebuilt.snapshot.data).expect("loads");
    let t_load = started.elapsed();
    drop(store);
    let mem_load = memory();

    let k = keys as f64;
    println!(
        "sizes: state snapshot {snapshot_bytes} B ({:.1} B/key); full backup {full} B \
         ({:.1} B/key); {incr_count} incrementals {incr} B for {incr_entries} entries \
         ({:.1} B/entry); replica log file {:.1} B/entry",
        snapshot_bytes as f64 / k,
        full as f64 / k,
        incr as f64 / incr_entries as f64,
        log_file_len as f64 / TAIL as f64,
    );
    println!(
        "restore from backups (full + {incr_count} incrementals): {t_restore}; from the full \
         only: {t_full_only}"
    );
    println!("  the same steps one by one: {breakdown}");
    println!(
        "replica ({TAIL} entries after the snapshot): from_replica {t_replica}; from its \
         files {t_replica_disk}, of which storage::recover {t_read} (snapshot file \
         {t_snapshot_file})"
    );
    println!(
        "  storage::decode_log of the log file: {}",
        log_scaling.join(", ")
    );
    println!(
        "  then loading the state into a KeyStore (unsealing every key): {:.3} s",
        t_load.as_secs_f64()
    );
    println!(
        "memory (VmHWM / VmRSS MiB): after setup {mem_setup}, after the restores \
         {mem_restore}, after the replica {mem_replica}, after the KeyStore load {mem_load}"
    );
    Row {
        keys,
        mix,
        snapshot_per_key: snapshot_bytes as f64 / k,
        full_per_key: full as f64 / k,
        incremental_per_entry: incr as f64 / incr_entries as f64,
        restore: t_restore.median,
        restore_full_only: t_full_only.median,
        replica: t_replica.median,
        replica_disk: t_replica_disk.median,
        peak_mib: mem_replica.peak,
    }
}

/// Runs of each measurement (the median is reported).
const RUNS: usize = 3;

/// Seconds of each run, and their median.
struct Times {
    median: f64,
    runs: Vec<f64>,
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs: Vec<String> = self.runs.iter().map(|r| format!("{r:.3}")).collect();
        write!(f, "{:.3} s (runs {})", self.median, runs.join(", "))
    }
}

/// Times `f` [`RUNS`] times (each result dropped before the next run), checking the first
/// result.
fn measure<T>(mut f: impl FnMut() -> T, check: impl Fn(&T)) -> Times {
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        let result = black_box(f());
        runs.push(started.elapsed().as_secs_f64());
        if i == 0 {
            check(&result);
        }
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    Times {
        median: sorted[RUNS / 2],
        runs,
    }
}

fn root() -> RootKey {
    RootKey::from_bytes(&[7; 32])
}

/// The cluster the snapshots name (its content does not matter here).
fn cluster() -> ClusterConfig {
    let node = |id: u16, name: &str, zone: &str, role| NodeInfo {
        id: NodeId(id),
        name: name.into(),
        region: if zone == "r" { "remote" } else { "eu" }.into(),
        zone: zone.into(),
        role,
    };
    ClusterConfig {
        generation: 1,
        primary_region: "eu".into(),
        nodes: vec![
            node(0, "a1", "a", Role::Voter),
            node(1, "b1", "b", Role::Voter),
            node(2, "r1", "r", Role::Learner),
        ],
    }
}

/// A committed log growing over time and the state it produces. Only the entries after
/// the first full backup are kept (the ones before are in it, as after a compaction).
struct Source {
    /// Prepares commands: it holds the domains (and their KEKs), not the keys, so that
    /// 1,000,000 keys are not held unsealed in a keyring as well.
    prep: KeyStore,
    state: State,
    domains: Vec<DomainId>,
    /// Entries after `base`, kept once the first full backup is cut.
    base: Index,
    entries: Vec<Entry>,
    keep: bool,
    rng: ChaCha20Rng,
    ec_percent: usize,
    created: usize,
    /// Size of the last snapshot handed to the schedule.
    snapshot_len: Cell<usize>,
}

impl Source {
    fn new(ec_percent: usize) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut prep = KeyStore::new(root());
        let mut state = State::new();
        let mut domains = Vec::new();
        for i in 1..=DOMAINS as u64 {
            let id = DomainId::random(&mut rng);
            let cmd = prep.prepare_domain(id, &mut rng).expect("domain");
            prep.apply(i, Timestamp::EPOCH, &cmd).expect("domain");
            state.apply(i, Timestamp::EPOCH, &cmd).expect("domain");
            domains.push(id);
        }
        Source {
            prep,
            state,
            domains,
            base: DOMAINS as u64,
            entries: Vec::new(),
            keep: false,
            rng,
            ec_percent,
            created: 0,
            snapshot_len: Cell::new(0),
        }
    }

    fn add_key(&mut self, time: Timestamp) {
        let n = self.created;
        self.created += 1;
        // Spread evenly: every `100 / ec_percent`-th key or so is EC.
        let ec = self.ec_percent > 0 && (n * self.ec_percent) % 100 < self.ec_percent;
        let req = CreateImportServiceKeyRequest {
            name: format!("key-{n}"),
            kind: Some(if ec { KeyType::Ec } else { KeyType::Oct }),
            size: (!ec).then_some(256),
            curve: ec.then_some(Curve::P256),
            ..Default::default()
        };
        let domain = self.domains[n % self.domains.len()];
        let command = self
            .prep
            .prepare_key(domain, &req, &mut self.rng)
            .expect("prepared");
        let index = self.state.applied_index() + 1;
        let outcome = self.state.apply(index, time, &command);
        assert!(matches!(outcome, Ok(Applied::KeyCreated { .. })));
        if self.keep {
            self.entries.push(entry(index, time, command));
        } else {
            self.base = index;
        }
    }
}

fn entry(index: Index, time: Timestamp, command: Command) -> Entry {
    Entry {
        index,
        term: 1,
        time,
        payload: Payload::Command {
            origin: NodeId(0),
            request: index,
            command,
        },
    }
}

impl BackupSource for Source {
    fn committed(&self) -> Index {
        self.state.applied_index()
    }

    fn committed_entries(&self, from: Index, to: Index) -> Option<Vec<Entry>> {
        if from <= self.base {
            return None;
        }
        let start = (from - self.base - 1) as usize;
        let end = (to - self.base) as usize;
        self.entries.get(start..end).map(<[Entry]>::to_vec)
    }

    fn snapshot(&self) -> Snapshot {
        let data = self.state.encode();
        self.snapshot_len.set(data.len());
        Snapshot {
            index: self.committed(),
            term: 1,
            config: cluster(),
            data: Arc::new(data),
        }
    }
}

/// Two in-memory backup regions and an outbox, executing the schedule's outputs (every
/// upload succeeds at once). Objects are shared between the outbox and the regions.
#[derive(Default)]
struct Driver {
    outbox: BTreeMap<String, Arc<Vec<u8>>>,
    regions: BTreeMap<String, BTreeMap<String, Arc<Vec<u8>>>>,
}

impl Driver {
    /// Runs the schedule until nothing is due at `now`; the first call cuts the full backup,
    /// every later one (5 minutes apart) an incremental.
    fn settle(
        &mut self,
        s: &mut BackupScheduler,
        src: &Source,
        rng: &mut ChaCha20Rng,
        now: Timestamp,
    ) {
        for _ in 0..100 {
            if s.poll_timeout().is_some_and(|t| t > now) {
                return;
            }
            s.handle_timeout(now, src, rng);
            self.run(s, now);
        }
        panic!("the schedule keeps asking to run at {now:?}");
    }

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
                    let bytes = Arc::clone(&self.outbox[&outbox]);
                    self.regions
                        .entry(region.clone())
                        .or_default()
                        .insert(object, bytes);
                    s.uploaded(now, &region, &outbox, true);
                }
                BackupOutput::Delete { region, name } => {
                    if let Some(r) = self.regions.get_mut(&region) {
                        r.remove(&name);
                    }
                    s.deleted(now, &region, &name, true);
                }
                BackupOutput::Discard { name } => {
                    self.outbox.remove(&name);
                }
                BackupOutput::Save(_) => {}
            }
        }
    }

    /// The union of the regions' manifests, as a restore reads them.
    fn manifest(&self, key: &BackupKey, regions: &[String]) -> Manifest {
        let mut union = Manifest::default();
        for region in regions {
            let bytes = &self.regions[region][MANIFEST_NAME];
            for e in Manifest::open(key, bytes).expect("manifest").entries {
                if union.get(&e.name).is_none() {
                    union.entries.push(e);
                }
            }
        }
        union
    }

    /// Every region's copy of an object (a copy of its bytes, as a download gives).
    fn fetch(&self) -> impl Fn(&ManifestEntry) -> Vec<Vec<u8>> + '_ {
        |e| {
            self.regions
                .values()
                .filter_map(|r| r.get(&e.name).map(|b| b.to_vec()))
                .collect()
        }
    }
}

/// The steps of a restore of the latest state, timed one by one with the public pieces it
/// is made of (the same work as `restore`, give or take its bookkeeping).
fn restore_breakdown(
    key: &BackupKey,
    manifest: &Manifest,
    fetch: &impl Fn(&ManifestEntry) -> Vec<Vec<u8>>,
) -> String {
    let mut entries: Vec<&ManifestEntry> = manifest.entries.iter().collect();
    entries.sort_by_key(|e| (e.header.generation, e.header.seq));
    let (mut t_fetch, mut t_sha, mut t_open_full, mut t_open_incr, mut t_apply) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut state = None;
    let mut t_decode = Duration::ZERO;
    for e in entries {
        let t = Instant::now();
        let copies = fetch(e);
        t_fetch += t.elapsed();
        let t = Instant::now();
        let bytes = copies.iter().find(|c| e.matches(c)).expect("matches");
        t_sha += t.elapsed();
        let t = Instant::now();
        let (_, content) = object::open(key, bytes).expect("opens");
        match content {
            Content::Snapshot(s) => {
                t_open_full += t.elapsed();
                let t = Instant::now();
                state = Some(State::decode(&s.data).expect("decodes"));
                t_decode += t.elapsed();
            }
            Content::Entries(batch) => {
                t_open_incr += t.elapsed();
                let state = state.as_mut().expect("a full first");
                let t = Instant::now();
                for entry in &batch {
                    if let Payload::Command { command, .. } = &entry.payload {
                        let _ = state.apply(entry.index, entry.time, command);
                    }
                }
                t_apply += t.elapsed();
            }
        }
    }
    let state = state.expect("a full");
    let t = Instant::now();
    let encoded = state.encode();
    let t_encode = t.elapsed();
    drop(black_box(encoded));
    let t = Instant::now();
    drop(state);
    let t_drop = t.elapsed();
    format!(
        "fetch (copy both regions' bytes) {:.3} s, SHA-256 {:.3} s, open full (AEAD + \
         postcard) {:.3} s, State::decode {:.3} s, open incrementals {:.3} s, apply \
         incrementals {:.3} s, State::encode {:.3} s, dropping the State {:.3} s",
        t_fetch.as_secs_f64(),
        t_sha.as_secs_f64(),
        t_open_full.as_secs_f64(),
        t_decode.as_secs_f64(),
        t_open_incr.as_secs_f64(),
        t_apply.as_secs_f64(),
        t_encode.as_secs_f64(),
        t_drop.as_secs_f64(),
    )
}

/// Peak (VmHWM) and current (VmRSS) resident memory, in MiB, if the platform says.
#[derive(Clone, Copy)]
struct Memory {
    peak: Option<u64>,
    now: Option<u64>,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<u64>| v.map_or("?".to_string(), |m| m.to_string());
        write!(f, "{} / {}", show(self.peak), show(self.now))
    }
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024)
    };
    Memory {
        peak: field("VmHWM:"),
        now: field("VmRSS:"),
    }
}
