//! A node's disk: the three files of core's [`storage`] format, with fsync, crashes, torn
//! writes and corruption.
//!
//! * the **log**: append-only frames ([`storage::encode_batch`]); a compaction rewrites it
//!   atomically (temporary file and rename) keeping the entries after the snapshot;
//! * the **hard state**: two 64-byte slots written alternately ([`storage::encode_hard_state`]);
//! * the **snapshot**: one framed record, replaced atomically.
//!
//! Every write is *pending* until an fsync that started after it completes. The simulator
//! starts an fsync whenever the disk has pending writes and none is running, so writes issued
//! while one runs are grouped into the next (group commit); when it completes, the node is
//! told `Persisted { seq }` for the highest write it covered. A crash loses every pending
//! write, except that the write in progress may be torn: a prefix of the pending log bytes
//! (cut inside a frame) and a prefix of the last pending hard-state slot reach the disk.
//!
//! On restart `Disk::recover` reads the files back with [`storage::recover`] and repairs
//! the log as a real driver must: a torn tail is cut off, and so is everything from a damaged
//! record on (otherwise new appends would sit behind the damage and be lost at the next
//! restart).
//!
//! A node that takes backups also keeps, on the same disk, its backup outbox (each object
//! until it is stored in every backup region) and its backup schedule's saved state
//! ([`BackupFiles`]). Those are written whole and synced before the driver goes on (a
//! temporary file, an fsync and a rename, as the real driver does), so they are modelled as
//! durable at once: a crash keeps them, a lost or replaced host loses them.
//!
//! For the G1 oracle the disk keeps a small index of the `(index, term)` of every entry in its
//! synced log (updated as fsyncs complete, rebuilt from the bytes after a crash or
//! corruption), so "is this entry durable on that node" is a lookup, not a decode.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use cairn_core::backup::ScheduleState;
use cairn_core::replication::storage::{self, HARD_STATE_SLOT, RecoveryReport};
use cairn_core::replication::{Index, PersistBatch, Recovered, Snapshot, Term};

use crate::rng::SimRng;

/// fsync latency and crash behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskConfig {
    /// The usual fsync latency.
    pub fsync: (Duration, Duration),
    /// Probability that an fsync takes a spike latency instead.
    pub fsync_spike: f64,
    pub fsync_spike_delay: (Duration, Duration),
    /// Probability that a crash tears the write in progress (see [`Fault::Crash`]).
    ///
    /// [`Fault::Crash`]: crate::Fault::Crash
    pub torn_on_crash: f64,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            fsync: (Duration::from_micros(500), Duration::from_millis(3)),
            fsync_spike: 0.01,
            fsync_spike_delay: (Duration::from_millis(20), Duration::from_millis(150)),
            torn_on_crash: 0.5,
        }
    }
}

impl DiskConfig {
    /// Draws the latency of one fsync, in microseconds.
    pub fn fsync_latency(&self, rng: &mut SimRng) -> u64 {
        if rng.chance(self.fsync_spike) {
            rng.micros_between(self.fsync_spike_delay)
        } else {
            rng.micros_between(self.fsync)
        }
    }
}

/// Which file a write goes to (for scanners).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFile {
    Log,
    HardState,
    Snapshot,
    /// An object written to the backup outbox, to be uploaded to every backup region (the
    /// same bytes are uploaded: scanning them here scans every backup object once).
    BackupOutbox,
}

/// The backup taker's files: durable as soon as written (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct BackupFiles {
    /// Objects waiting to be stored in every backup region, by outbox name.
    pub outbox: BTreeMap<String, Arc<Vec<u8>>>,
    /// The schedule's state as last saved (kept as the value: encoding it on every save
    /// would only cost time; the encoding is core's and tested there).
    pub saved: Option<ScheduleState>,
}

/// One of the two hard-state slots, by age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HardSlot {
    /// The slot with the highest valid counter: what a restart would read.
    Newest,
    /// The other one.
    Older,
}

#[derive(Debug)]
enum Write {
    Append {
        bytes: Vec<u8>,
        truncate_from: Option<Index>,
        entries: Vec<(Index, Term)>,
    },
    HardState {
        slot: usize,
        counter: u64,
        bytes: [u8; HARD_STATE_SLOT],
    },
    Snapshot {
        bytes: Vec<u8>,
        index: Index,
        term: Term,
    },
    /// Rewrite the log without the entries up to `upto` (atomic).
    Compact { upto: Index },
}

/// The writes of one node output, and the seq to confirm once they are durable.
#[derive(Debug)]
struct Pending {
    writes: Vec<Write>,
    seq: Option<u64>,
}

/// What a crash did to the disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashDamage {
    /// Pending outputs (batches, snapshots, compactions) that never reached the disk.
    pub lost_writes: usize,
    /// Bytes of pending log appends that reached the disk (ending inside a frame).
    pub torn_log_bytes: usize,
    /// The last pending hard-state slot was partly written.
    pub torn_hard_state: bool,
}

/// What a restart found, beyond what the node is given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskRecovery {
    pub report: RecoveryReport,
    /// Hard-state slots that were written but fail their check.
    pub bad_hard_slots: u8,
    /// Log bytes cut off by the repair (torn tail, or everything from a damaged record).
    pub log_bytes_cut: usize,
    /// The hard state read back is older than the newest one that was synced: `(synced
    /// counter, counter read)`. A corrupted newest slot does this; so does a crash that tears
    /// the second of two slot writes pending in one fsync window (the slots alternate, so it
    /// lands on the slot holding the newest synced state).
    pub hard_state_rollback: Option<(u64, u64)>,
}

/// Counters of one disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub compactions: u64,
}

/// `(index, term)` of the entries in the synced files that a restart would read back.
#[derive(Clone, Debug, Default)]
struct SyncedIndex {
    first: Index,
    terms: VecDeque<Term>,
    snapshot: Option<(Index, Term)>,
    /// The log has a damaged record: what is appended after it cannot be read back (until
    /// a restart cuts the log there).
    damaged: bool,
}

impl SyncedIndex {
    fn end(&self) -> Index {
        self.first + self.terms.len() as u64
    }

    fn truncate(&mut self, from: Index) {
        if from <= self.first {
            self.terms.clear();
        } else if from < self.end() {
            self.terms.truncate((from - self.first) as usize);
        }
    }

    fn push(&mut self, index: Index, term: Term) {
        if self.damaged {
            return;
        }
        if index < self.end() {
            // An entry at an index already held replaces the suffix (as recovery reads it).
            self.truncate(index);
        }
        if self.terms.is_empty() || index != self.end() {
            self.terms.clear();
            self.first = index;
        }
        self.terms.push_back(term);
    }

    fn compact(&mut self, upto: Index) {
        while self.first <= upto && !self.terms.is_empty() {
            self.terms.pop_front();
            self.first += 1;
        }
    }

    fn rebuild(&mut self, recovered: &Recovered, damaged: bool) {
        self.damaged = damaged;
        self.snapshot = recovered.snapshot.as_ref().map(|s| (s.index, s.term));
        self.terms = recovered.entries.iter().map(|e| e.term).collect();
        self.first = recovered
            .entries
            .first()
            .map_or(self.snapshot.map_or(1, |(i, _)| i + 1), |e| e.index);
    }

    fn holds(&self, index: Index, term: Option<Term>) -> bool {
        if let Some((si, st)) = self.snapshot
            && (index < si || (index == si && term.is_none_or(|t| t == st)))
        {
            return true;
        }
        index >= self.first
            && index < self.end()
            && term.is_none_or(|t| self.terms[(index - self.first) as usize] == t)
    }

    fn last(&self) -> Index {
        if self.terms.is_empty() {
            self.snapshot.map_or(0, |(i, _)| i)
        } else {
            self.end() - 1
        }
    }
}

/// One node's disk.
#[derive(Debug, Default)]
pub struct Disk {
    log: Vec<u8>,
    /// Empty until first written.
    hard: [Vec<u8>; 2],
    snapshot: Option<Vec<u8>>,
    /// Counter of the last hard state written.
    counter: u64,
    /// Counter of the newest hard state synced.
    synced_counter: u64,
    /// The slot holding it (`None` before any).
    synced_slot: Option<usize>,
    pending: VecDeque<Pending>,
    /// How many pending outputs the running fsync covers (0: none running).
    in_flight: usize,
    index: SyncedIndex,
    stats: DiskStats,
    pub(crate) backup: BackupFiles,
}

impl Disk {
    pub fn new() -> Disk {
        Disk::default()
    }

    // ---- inspection (oracles) ----

    /// The log bytes that survive a crash.
    pub fn synced_log(&self) -> &[u8] {
        &self.log
    }

    /// The two hard-state slots as on disk (empty if never written).
    pub fn hard_state_slots(&self) -> [&[u8]; 2] {
        [&self.hard[0], &self.hard[1]]
    }

    /// The durable snapshot file.
    pub fn synced_snapshot(&self) -> Option<&[u8]> {
        self.snapshot.as_deref()
    }

    /// Every byte waiting for an fsync, with its file (for scans of what was written).
    pub fn pending_bytes(&self) -> impl Iterator<Item = (DiskFile, &[u8])> {
        self.pending
            .iter()
            .flat_map(|p| p.writes.iter())
            .filter_map(|w| match w {
                Write::Append { bytes, .. } => Some((DiskFile::Log, bytes.as_slice())),
                Write::HardState { bytes, .. } => Some((DiskFile::HardState, bytes.as_slice())),
                Write::Snapshot { bytes, .. } => Some((DiskFile::Snapshot, bytes.as_slice())),
                Write::Compact { .. } => None,
            })
    }

    /// Outputs written but not yet durable.
    pub fn pending_writes(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of log appends not yet durable.
    pub fn pending_log_bytes(&self) -> usize {
        self.pending_bytes()
            .filter(|(f, _)| *f == DiskFile::Log)
            .map(|(_, b)| b.len())
            .sum()
    }

    pub fn fsync_running(&self) -> bool {
        self.in_flight > 0
    }

    /// Whether the entry `(index, term)` survives a crash of this node right now: it is in
    /// the synced log, or covered by the synced snapshot. `term: None` asks about the index
    /// alone. A snapshot covers only committed entries, so for those it answers for the
    /// committed entry at `index`. Corruption shows once injected: entries from the damaged
    /// record on — and any appended after it — are not held, as a restart would not read
    /// them back.
    pub fn holds(&self, index: Index, term: Option<Term>) -> bool {
        self.index.holds(index, term)
    }

    /// A corrupted record sits in the synced log and no restart has found it yet.
    pub fn has_unfound_damage(&self) -> bool {
        self.index.damaged
    }

    /// The last index the synced files hold.
    pub fn synced_last_index(&self) -> Index {
        self.index.last()
    }

    /// What a restart would read now (decodes the files; for oracles, not per event).
    pub fn read_back(&self) -> (Recovered, RecoveryReport) {
        storage::recover(
            &self.log,
            self.snapshot.as_deref(),
            (&self.hard[0], &self.hard[1]),
        )
    }

    pub fn stats(&self) -> &DiskStats {
        &self.stats
    }

    /// The backup outbox and saved schedule (empty unless the node takes backups).
    pub fn backup_files(&self) -> &BackupFiles {
        &self.backup
    }

    // ---- writes (driven by the node's outputs) ----

    fn issue(&mut self, writes: Vec<Write>, seq: Option<u64>) {
        for w in &writes {
            let len = match w {
                Write::Append { bytes, .. } | Write::Snapshot { bytes, .. } => bytes.len(),
                Write::HardState { .. } => HARD_STATE_SLOT,
                Write::Compact { .. } => 0,
            };
            self.stats.writes += 1;
            self.stats.bytes_written += len as u64;
        }
        self.pending.push_back(Pending { writes, seq });
    }

    /// `Output::Persist`: the batch's log records, then its hard state in the next slot.
    pub(crate) fn persist(&mut self, batch: &PersistBatch, scan: &mut dyn FnMut(DiskFile, &[u8])) {
        let mut writes = Vec::with_capacity(2);
        if batch.truncate_from.is_some() || !batch.entries.is_empty() {
            let bytes = storage::encode_batch(batch);
            scan(DiskFile::Log, &bytes);
            writes.push(Write::Append {
                bytes,
                truncate_from: batch.truncate_from,
                entries: batch.entries.iter().map(|e| (e.index, e.term)).collect(),
            });
        }
        if let Some(hard) = &batch.hard_state {
            self.counter += 1;
            let bytes = storage::encode_hard_state(hard, self.counter);
            scan(DiskFile::HardState, &bytes);
            writes.push(Write::HardState {
                // Never the slot holding the newest synced hard state: a crash that tears a
                // pending write must leave that one intact.
                slot: storage::hard_state_slot(self.synced_slot),
                counter: self.counter,
                bytes,
            });
        }
        self.issue(writes, Some(batch.seq));
    }

    /// `Output::PersistSnapshot`: the snapshot file, replaced atomically.
    pub(crate) fn persist_snapshot(
        &mut self,
        seq: u64,
        snapshot: &Snapshot,
        scan: &mut dyn FnMut(DiskFile, &[u8]),
    ) {
        let bytes = storage::encode_snapshot(snapshot);
        scan(DiskFile::Snapshot, &bytes);
        let write = Write::Snapshot {
            bytes,
            index: snapshot.index,
            term: snapshot.term,
        };
        self.issue(vec![write], Some(seq));
    }

    /// `Output::Compact`: rewrite the log without the entries up to `upto`, in order with the
    /// writes before it.
    pub(crate) fn compact(&mut self, upto: Index) {
        self.issue(vec![Write::Compact { upto }], None);
    }

    /// Starts an fsync covering every pending write, unless one is running or there is
    /// nothing to sync. Returns whether one started (the caller schedules its completion).
    pub(crate) fn start_fsync(&mut self) -> bool {
        if self.in_flight > 0 || self.pending.is_empty() {
            return false;
        }
        self.in_flight = self.pending.len();
        true
    }

    /// The running fsync completed: its writes are durable. Returns the highest seq it
    /// covered, to feed back as `Persisted`.
    pub(crate) fn complete_fsync(&mut self) -> Option<u64> {
        let covered = std::mem::take(&mut self.in_flight);
        let mut seq = None;
        for _ in 0..covered {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            for w in p.writes {
                self.apply(w);
            }
            seq = seq.max(p.seq);
        }
        self.stats.fsyncs += 1;
        seq
    }

    fn apply(&mut self, write: Write) {
        match write {
            Write::Append {
                bytes,
                truncate_from,
                entries,
            } => {
                self.log.extend_from_slice(&bytes);
                if let Some(from) = truncate_from {
                    self.index.truncate(from);
                }
                for (index, term) in entries {
                    self.index.push(index, term);
                }
            }
            Write::HardState {
                slot,
                counter,
                bytes,
            } => {
                self.hard[slot] = bytes.to_vec();
                if counter > self.synced_counter {
                    self.synced_counter = counter;
                    self.synced_slot = Some(slot);
                }
            }
            Write::Snapshot { bytes, index, term } => {
                self.snapshot = Some(bytes);
                self.index.snapshot = Some((index, term));
            }
            Write::Compact { upto } => self.rewrite_log(upto),
        }
    }

    fn rewrite_log(&mut self, upto: Index) {
        // The synced snapshot is the base of the log (its bytes need not be decoded).
        let (base_index, base_term) = self.index.snapshot.unwrap_or((0, 0));
        let (entries, report) = storage::decode_log(&self.log, base_index, base_term);
        let keep: Vec<_> = entries.into_iter().filter(|e| e.index > upto).collect();
        // Bytes that could not be read (a damaged record and what follows) are kept as they
        // are, so that the damage is still found at the next restart.
        let valid_end = report
            .damaged_at
            .unwrap_or(self.log.len() - report.torn_tail_bytes);
        let mut log = storage::encode_entries(&keep);
        log.extend_from_slice(&self.log[valid_end..]);
        self.log = log;
        self.index.compact(upto);
        self.stats.compactions += 1;
    }

    // ---- faults ----

    /// The node crashed: pending writes are lost, and with `tear` the write in progress is
    /// torn (a prefix of the pending log bytes ending inside a frame, and a prefix of the
    /// last pending hard-state slot, reach the disk).
    pub(crate) fn crash(&mut self, tear: bool, rng: &mut SimRng) -> CrashDamage {
        let mut damage = CrashDamage {
            lost_writes: self.pending.len(),
            ..CrashDamage::default()
        };
        if tear {
            // Appends before any pending compaction went to the current file.
            let mut appended = Vec::new();
            let mut last_slot = None;
            let mut compacting = false;
            for w in self.pending.iter().flat_map(|p| p.writes.iter()) {
                match w {
                    Write::Append { bytes, .. } if !compacting => appended.extend_from_slice(bytes),
                    Write::Compact { .. } => compacting = true,
                    Write::HardState { slot, bytes, .. } => last_slot = Some((*slot, bytes)),
                    _ => {}
                }
            }
            let appended_frames = frames(&appended);
            if let Some(&(start, len)) = rng.pick(&appended_frames)
                && len > 1
            {
                let cut = start + 1 + rng.below(len as u64 - 1) as usize;
                self.log.extend_from_slice(&appended[..cut]);
                damage.torn_log_bytes = cut;
            }
            if let Some((slot, bytes)) = last_slot {
                // Cut inside the frame, so that the slot is really torn.
                let framed = frames(bytes).first().map_or(HARD_STATE_SLOT, |f| f.1);
                let cut = 1 + rng.below(framed as u64 - 1) as usize;
                let target = &mut self.hard[slot];
                target.resize(HARD_STATE_SLOT, 0);
                target[..cut].copy_from_slice(&bytes[..cut]);
                damage.torn_hard_state = true;
            }
        }
        self.pending.clear();
        self.in_flight = 0;
        if damage.torn_log_bytes > 0 {
            let (recovered, report) = self.read_back();
            self.index.rebuild(&recovered, report.damaged_at.is_some());
        }
        damage
    }

    /// Reads the files back for a restart and repairs the log (see the module docs).
    pub(crate) fn recover(&mut self) -> (Recovered, DiskRecovery) {
        let (recovered, report) = self.read_back();
        let bad_hard_slots = self
            .hard
            .iter()
            .filter(|s| !s.is_empty() && storage::decode_hard_state(s, &[]).is_none())
            .count() as u8;
        let keep = match report.damaged_at {
            Some(at) => at,
            None => self.log.len() - report.torn_tail_bytes,
        };
        let log_bytes_cut = self.log.len() - keep;
        self.log.truncate(keep);
        self.counter =
            storage::decode_hard_state(&self.hard[0], &self.hard[1]).map_or(0, |(_, c)| c);
        self.synced_slot = (0..2).find(|i| {
            storage::decode_hard_state(&self.hard[*i], &[]).is_some_and(|(_, c)| c == self.counter)
        });
        let hard_state_rollback =
            (self.counter < self.synced_counter).then_some((self.synced_counter, self.counter));
        self.synced_counter = self.counter;
        self.pending.clear();
        self.in_flight = 0;
        // The log was cut at any damage: what remains reads back whole.
        self.index.rebuild(&recovered, false);
        let recovery = DiskRecovery {
            report,
            bad_hard_slots,
            log_bytes_cut,
            hard_state_rollback,
        };
        (recovered, recovery)
    }

    /// Flips one bit in the CRC or payload of a synced log record that is not the last one
    /// (a bad last record is indistinguishable from a torn write, by design). Returns the
    /// byte offset, or `None` if the log has fewer than two records.
    pub(crate) fn corrupt_log(&mut self, rng: &mut SimRng) -> Option<usize> {
        let frames = frames(&self.log);
        if frames.len() < 2 {
            return None;
        }
        let (start, len) = frames[rng.below(frames.len() as u64 - 1) as usize];
        let at = start + 5 + rng.below(len as u64 - 5) as usize;
        self.log[at] ^= 1 << rng.below(8);
        let (recovered, report) = self.read_back();
        self.index.rebuild(&recovered, report.damaged_at.is_some());
        Some(at)
    }

    /// Flips one bit in the CRC or payload of a hard-state slot. Returns the slot number,
    /// or `None` if that slot was never written.
    pub(crate) fn corrupt_hard_state(
        &mut self,
        which: HardSlot,
        rng: &mut SimRng,
    ) -> Option<usize> {
        let counter = |s: &[u8]| storage::decode_hard_state(s, &[]).map(|(_, c)| c);
        let (c0, c1) = (counter(&self.hard[0]), counter(&self.hard[1]));
        let newest = if c1 > c0 { 1 } else { 0 };
        let slot = match which {
            HardSlot::Newest => newest,
            HardSlot::Older => 1 - newest,
        };
        let (_, len) = frames(&self.hard[slot]).first().copied()?;
        let at = 5 + rng.below(len as u64 - 5) as usize;
        self.hard[slot][at] ^= 1 << rng.below(8);
        Some(slot)
    }

    /// The disk is gone (a lost host): every file, synced or not.
    pub(crate) fn wipe(&mut self) {
        *self = Disk::default();
    }
}

/// `(start, length)` of the well-formed frames at the start of `bytes` (the framing of
/// core's storage format: `0xCA ‖ len u32 LE ‖ crc u32 LE ‖ payload`), stopping at the first
/// that is not.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 9 && bytes[at] == 0xCA {
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
        let end = at + 9 + len;
        if end > bytes.len() {
            break;
        }
        out.push((at, end - at));
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use cairn_core::Timestamp;
    use cairn_core::replication::{Entry, HardState, NodeId, Payload};

    use super::*;

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            time: Timestamp::from_millis(index),
            payload: Payload::Noop,
        }
    }

    fn batch(seq: u64, entries: Vec<Entry>, term: Term) -> PersistBatch {
        PersistBatch {
            seq,
            hard_state: Some(HardState {
                term,
                vote: Some(NodeId(0)),
                // Not 0: a torn slot whose missing bytes happen to be zeros would be whole.
                commit: 5,
                no_vote: false,
            }),
            truncate_from: None,
            entries,
        }
    }

    fn no_scan() -> impl FnMut(DiskFile, &[u8]) {
        |_, _| {}
    }

    fn indexes(r: &Recovered) -> Vec<(Index, Term)> {
        r.entries.iter().map(|e| (e.index, e.term)).collect()
    }

    #[test]
    fn writes_are_durable_only_after_the_fsync_that_covers_them() {
        let mut d = Disk::new();
        d.persist(&batch(1, vec![entry(1, 1), entry(2, 1)], 1), &mut no_scan());
        assert!(d.start_fsync());
        d.persist(&batch(2, vec![entry(3, 1)], 1), &mut no_scan());
        assert!(!d.start_fsync(), "one fsync at a time");
        assert!(!d.holds(1, Some(1)));
        assert_eq!(d.complete_fsync(), Some(1));
        assert!(d.holds(2, Some(1)) && !d.holds(3, Some(1)) && !d.holds(2, Some(2)));
        assert!(d.start_fsync());
        assert_eq!(d.complete_fsync(), Some(2));
        assert_eq!(d.synced_last_index(), 3);
        let (r, report) = d.read_back();
        assert_eq!(indexes(&r), [(1, 1), (2, 1), (3, 1)]);
        assert_eq!((report.torn_tail_bytes, report.damaged_at), (0, None));
        assert_eq!(r.hard_state.map(|h| h.term), Some(1));
    }

    #[test]
    fn a_crash_loses_pending_writes_and_a_torn_tail_is_cut_on_restart() {
        let mut rng = SimRng::new(5);
        for round in 0..20 {
            let mut d = Disk::new();
            d.persist(&batch(1, vec![entry(1, 1)], 1), &mut no_scan());
            d.start_fsync();
            d.complete_fsync();
            let synced = d.synced_log().len();
            d.persist(&batch(2, vec![entry(2, 2), entry(3, 2)], 2), &mut no_scan());
            let damage = d.crash(true, &mut rng);
            assert_eq!(damage.lost_writes, 1);
            assert!(damage.torn_log_bytes > 0 && damage.torn_hard_state);
            let (r, rec) = d.recover();
            assert!(!r.log_damaged, "round {round}");
            assert!(rec.report.torn_tail_bytes > 0, "round {round}: {rec:?}");
            // Entry 2 may have reached the disk whole; the torn frame is gone.
            assert!(indexes(&r).starts_with(&[(1, 1)]));
            assert_eq!(
                d.synced_log().len(),
                synced + damage.torn_log_bytes - rec.log_bytes_cut
            );
            // A torn slot falls back to the older one.
            assert_eq!(r.hard_state.map(|h| h.term), Some(1));
            assert_eq!(rec.bad_hard_slots, 1);
            // Later appends are read back after the repaired log.
            let next = r.entries.last().unwrap().index + 1;
            d.persist(&batch(3, vec![entry(next, 3)], 3), &mut no_scan());
            d.start_fsync();
            d.complete_fsync();
            let (r, rec) = d.recover();
            assert_eq!(r.entries.last().map(|e| (e.index, e.term)), Some((next, 3)));
            assert_eq!(
                (rec.report.torn_tail_bytes, rec.report.damaged_at),
                (0, None)
            );
        }
    }

    #[test]
    fn corruption_is_detected_and_the_log_cut_at_the_damage() {
        let mut rng = SimRng::new(2);
        let mut d = Disk::new();
        d.persist(
            &batch(1, (1..=6).map(|i| entry(i, 1)).collect(), 1),
            &mut no_scan(),
        );
        d.start_fsync();
        d.complete_fsync();
        let at = d.corrupt_log(&mut rng).unwrap();
        assert!(
            !d.holds(6, Some(1)),
            "the last record is never the one corrupted"
        );
        d.persist(&batch(2, vec![entry(7, 1)], 1), &mut no_scan());
        d.start_fsync();
        d.complete_fsync();
        assert!(
            !d.holds(7, Some(1)),
            "appended behind the damage: lost at restart"
        );
        let (r, rec) = d.recover();
        assert!(r.log_damaged);
        assert!(rec.report.damaged_at.is_some_and(|d| d <= at));
        assert_eq!(d.synced_log().len(), rec.report.damaged_at.unwrap());
        assert!(r.entries.len() < 6);
        assert_eq!(d.synced_last_index(), r.entries.len() as u64);
        // A corrupted newest hard-state slot falls back to the older one: the state of the
        // fsync before (the two writes of this fsync window shared one slot).
        d.persist(&batch(2, vec![], 2), &mut no_scan());
        d.persist(&batch(3, vec![], 3), &mut no_scan());
        d.start_fsync();
        d.complete_fsync();
        d.corrupt_hard_state(HardSlot::Newest, &mut rng).unwrap();
        let (r, rec) = d.recover();
        assert_eq!(rec.bad_hard_slots, 1);
        assert_eq!(rec.hard_state_rollback, Some((4, 2)));
        assert_eq!(r.hard_state.map(|h| h.term), Some(1));
    }

    /// Slots alternate per fsync, not per write: every write pending in one fsync window goes
    /// to the slot that does not hold the newest synced hard state, so a crash that tears the
    /// second of two pending writes cannot roll back what was synced.
    #[test]
    fn tearing_the_second_of_two_pending_slot_writes_keeps_the_synced_hard_state() {
        let mut rng = SimRng::new(1);
        let mut d = Disk::new();
        d.persist(&batch(1, vec![], 1), &mut no_scan()); // counter 1, slot 0
        d.persist(&batch(2, vec![], 2), &mut no_scan()); // counter 2, slot 0 too
        d.start_fsync();
        d.complete_fsync();
        d.persist(&batch(3, vec![], 3), &mut no_scan()); // counter 3, slot 1: lost
        d.persist(&batch(4, vec![], 4), &mut no_scan()); // counter 4, slot 1: torn
        let damage = d.crash(true, &mut rng);
        assert!(damage.torn_hard_state);
        let (r, rec) = d.recover();
        assert_eq!(r.hard_state.map(|h| h.term), Some(2), "term 2 was synced");
        assert_eq!(rec.hard_state_rollback, None);
    }

    #[test]
    fn compaction_keeps_the_entries_after_the_snapshot() {
        use std::sync::Arc;
        let config = crate::Topology::SMALL.cluster();
        let mut d = Disk::new();
        d.persist(
            &batch(1, (1..=5).map(|i| entry(i, 1)).collect(), 1),
            &mut no_scan(),
        );
        let snapshot = Snapshot {
            index: 3,
            term: 1,
            config,
            data: Arc::new(cairn_core::store::State::new().encode()),
        };
        d.persist_snapshot(2, &snapshot, &mut no_scan());
        d.start_fsync();
        assert_eq!(d.complete_fsync(), Some(2));
        let before = d.synced_log().len();
        d.compact(3);
        d.persist(&batch(3, vec![entry(6, 1)], 1), &mut no_scan());
        d.start_fsync();
        d.complete_fsync();
        assert!(d.synced_log().len() < before);
        let (r, report) = d.read_back();
        assert_eq!((report.torn_tail_bytes, report.damaged_at), (0, None));
        assert_eq!(indexes(&r), [(4, 1), (5, 1), (6, 1)]);
        assert!(d.holds(2, Some(1)) && d.holds(6, Some(1)) && !d.holds(7, None));
        assert_eq!(r.snapshot.map(|s| s.index), Some(3));
    }

    /// Core bug probe (reported): a record whose *header* (magic or length) is corrupted in
    /// the middle of the log is read as a torn tail, so every later record is dropped
    /// silently and `log_damaged` stays false.
    #[test]
    fn a_corrupted_header_in_the_middle_is_damage() {
        let mut d = Disk::new();
        d.persist(
            &batch(1, (1..=6).map(|i| entry(i, 1)).collect(), 1),
            &mut no_scan(),
        );
        d.start_fsync();
        d.complete_fsync();
        let (second, _) = frames(&d.log)[1];
        d.log[second + 1] ^= 0x40; // the length field of record 2
        let (r, report) = d.read_back();
        assert!(
            r.log_damaged,
            "{report:?}, {} entries kept",
            r.entries.len()
        );
    }
}
