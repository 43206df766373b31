//! The bytes a driver writes for a node, and how they are read back after a crash.
//!
//! Pure encoding and decoding, shared by the simulator's disks and the real files of `net`:
//!
//! * the **log**: an append-only sequence of framed records (entries, and truncations when a
//!   conflict with the leader removed a suffix). A frame is
//!   `0xCA ‖ length (u32 LE) ‖ CRC-32 of the payload (u32 LE) ‖ payload (postcard)`;
//! * the **hard state**: two fixed-size slots written alternately, each with a counter and a
//!   CRC, so that a torn or corrupted write of one slot leaves the other;
//! * the **snapshot**: one framed record, written to a temporary name and renamed.
//!
//! Reading back distinguishes a *torn tail* (the last write was cut short by a crash: its
//! frame is incomplete or fails its CRC and nothing valid follows) — silently dropped, since
//! it was never confirmed — from *damage* (a bad frame with valid frames after it): the node
//! then knows it lost entries it may have acknowledged, and says so.

use serde::{Deserialize, Serialize};

use crate::replication::io::{HardState, PersistBatch, Recovered};
use crate::replication::log::{Entry, Index};
use crate::replication::snapshot::Snapshot;

const MAGIC: u8 = 0xCA;
const HEADER: usize = 9;

/// Size of one hard-state slot: header + counter + the largest hard state.
pub const HARD_STATE_SLOT: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
enum LogRecord {
    Entry(Entry),
    Truncate { from: Index },
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .expect("record under 4 GiB")
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What reading one frame found.
enum Frame<'a> {
    Valid(&'a [u8], usize),
    /// Incomplete or failing its checksum; `usize` is where the next frame would start if
    /// the length can be believed.
    Bad(Option<usize>),
    End,
}

fn read_frame(bytes: &[u8], at: usize) -> Frame<'_> {
    if at >= bytes.len() {
        return Frame::End;
    }
    if bytes.len() - at < HEADER || bytes[at] != MAGIC {
        return Frame::Bad(None);
    }
    let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[at + 5..at + 9].try_into().expect("4 bytes"));
    let end = at + HEADER + len;
    if end > bytes.len() {
        return Frame::Bad(None);
    }
    let payload = &bytes[at + HEADER..end];
    if crc32fast::hash(payload) != crc {
        return Frame::Bad(Some(end));
    }
    Frame::Valid(payload, end)
}

/// The log bytes of a batch: its truncation (if any), then its entries.
pub fn encode_batch(batch: &PersistBatch) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(from) = batch.truncate_from {
        let payload = postcard::to_stdvec(&LogRecord::Truncate { from }).expect("serializes");
        frame(&payload, &mut out);
    }
    for entry in &batch.entries {
        // Cloning keeps the record type private; entries are small next to the I/O.
        let payload = postcard::to_stdvec(&LogRecord::Entry(entry.clone())).expect("serializes");
        frame(&payload, &mut out);
    }
    out
}

/// A fresh log holding `entries` (used to rewrite the log after a compaction).
pub fn encode_entries(entries: &[Entry]) -> Vec<u8> {
    encode_batch(&PersistBatch {
        entries: entries.to_vec(),
        ..PersistBatch::default()
    })
}

/// Which slot to write a hard state to: never the one holding the newest *synced* hard state
/// (`None` before any), so that every write pending in one fsync window goes to the other
/// slot and a crash that tears one of them cannot damage what was already durable. Slots
/// therefore alternate per fsync, not per write.
pub fn hard_state_slot(newest_synced: Option<usize>) -> usize {
    newest_synced.map_or(0, |s| 1 - s)
}

/// One hard-state slot, written where [`hard_state_slot`] says; [`decode_hard_state`] takes
/// the valid slot with the higher counter.
pub fn encode_hard_state(hard: &HardState, counter: u64) -> [u8; HARD_STATE_SLOT] {
    let payload = postcard::to_stdvec(&(counter, hard)).expect("serializes");
    let mut framed = Vec::with_capacity(HARD_STATE_SLOT);
    frame(&payload, &mut framed);
    assert!(framed.len() <= HARD_STATE_SLOT, "hard state fits its slot");
    let mut slot = [0u8; HARD_STATE_SLOT];
    slot[..framed.len()].copy_from_slice(&framed);
    slot
}

/// The newest intact hard state of the two slots, with its counter; `None` if neither is
/// intact (the node then never votes again: it may have forgotten a vote).
pub fn decode_hard_state(slot_a: &[u8], slot_b: &[u8]) -> Option<(HardState, u64)> {
    [slot_a, slot_b]
        .iter()
        .filter_map(|slot| match read_frame(slot, 0) {
            Frame::Valid(payload, _) => postcard::from_bytes::<(u64, HardState)>(payload).ok(),
            _ => None,
        })
        .max_by_key(|(counter, _)| *counter)
        .map(|(c, h)| (h, c))
}

pub fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    frame(
        &postcard::to_stdvec(snapshot).expect("serializes"),
        &mut out,
    );
    out
}

/// A snapshot that is intact, or `None`.
pub fn decode_snapshot(bytes: &[u8]) -> Option<Snapshot> {
    match read_frame(bytes, 0) {
        Frame::Valid(payload, _) => postcard::from_bytes(payload).ok(),
        _ => None,
    }
}

/// What recovery found, beyond the state handed to the node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of an unconfirmed last write, cut short by the crash and dropped.
    pub torn_tail_bytes: usize,
    /// Where in the log a damaged record was found (entries from there on are lost).
    pub damaged_at: Option<usize>,
    /// The snapshot file existed but failed its check.
    pub snapshot_damaged: bool,
    /// How many bytes at the start of the log read back whole: a driver must cut the file
    /// there before appending again, or the next start would find its new records behind a
    /// bad one.
    pub valid_len: usize,
    /// Hard-state slots that were written but fail their check (one bad slot is survivable,
    /// but it is damage all the same).
    pub bad_hard_slots: u8,
}

/// Rebuilds what a node needs to start from its three files. Missing files are empty
/// slices / `None`.
pub fn recover(
    log: &[u8],
    snapshot: Option<&[u8]>,
    hard_slots: (&[u8], &[u8]),
) -> (Recovered, RecoveryReport) {
    let mut report = RecoveryReport::default();
    let hard_state = match (hard_slots.0.is_empty(), hard_slots.1.is_empty()) {
        // A node that never wrote a hard state never voted.
        (true, true) => Some(HardState::default()),
        _ => decode_hard_state(hard_slots.0, hard_slots.1).map(|(h, _)| h),
    };
    let snapshot = match snapshot {
        Some(bytes) if !bytes.is_empty() => {
            let s = decode_snapshot(bytes);
            report.snapshot_damaged = s.is_none();
            s
        }
        _ => None,
    };
    let (base_index, base_term) = snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
    let (entries, log_report) = decode_log(log, base_index, base_term);
    report.torn_tail_bytes = log_report.torn_tail_bytes;
    report.damaged_at = log_report.damaged_at;
    report.valid_len = log_report.valid_len;
    report.bad_hard_slots = [hard_slots.0, hard_slots.1]
        .iter()
        .filter(|s| !s.is_empty() && !matches!(read_frame(s, 0), Frame::Valid(..)))
        .count() as u8;
    let recovered = Recovered {
        hard_state,
        log_damaged: report.damaged_at.is_some() || report.snapshot_damaged,
        snapshot,
        entries,
    };
    (recovered, report)
}

/// The entries of a log file that follow (`base_index`, `base_term`): records replayed in
/// order (truncations included), keeping the contiguous run after the base. Drivers also use
/// it to rewrite a log after a compaction.
pub fn decode_log(log: &[u8], base_index: Index, base_term: u64) -> (Vec<Entry>, RecoveryReport) {
    let mut report = RecoveryReport::default();

    let mut entries: Vec<Entry> = Vec::new();
    let mut at = 0;
    loop {
        match read_frame(log, at) {
            Frame::End => break,
            Frame::Valid(payload, next) => {
                match postcard::from_bytes::<LogRecord>(payload) {
                    // `entries` is sorted by index: cutting a suffix is a truncation, not a
                    // walk over every entry (which made replaying a long log quadratic).
                    Ok(LogRecord::Truncate { from }) => {
                        entries.truncate(entries.partition_point(|e| e.index < from));
                    }
                    Ok(LogRecord::Entry(e)) => {
                        // Keep only a contiguous run after the snapshot with terms that never
                        // go back; an entry at an index already held replaces the suffix (it
                        // follows a truncation that a compaction may have dropped).
                        entries.truncate(entries.partition_point(|x| x.index < e.index));
                        let follows = entries
                            .last()
                            .map_or(e.index == base_index + 1 || e.index <= base_index, |l| {
                                l.index + 1 == e.index
                            });
                        let term_ok = entries
                            .last()
                            .map_or(e.term >= base_term, |l| e.term >= l.term);
                        if e.index > base_index && follows && term_ok {
                            entries.push(e);
                        }
                    }
                    Err(_) => {
                        report.damaged_at = Some(at);
                        break;
                    }
                }
                at = next;
            }
            Frame::Bad(next) => {
                // A bad frame followed by a valid one is damage, not a torn write. When the
                // header itself is damaged its length cannot be believed: look for any valid
                // frame further on (its CRC makes a false find negligible).
                let more_follows = next
                    .is_some_and(|n| matches!(read_frame(log, n), Frame::Valid(..)))
                    || (at + 1..log.len())
                        .filter(|p| log[*p] == MAGIC)
                        .any(|p| matches!(read_frame(log, p), Frame::Valid(..)));
                if more_follows {
                    report.damaged_at = Some(at);
                } else {
                    report.torn_tail_bytes = log.len() - at;
                }
                break;
            }
        }
    }
    // Entries at or below the snapshot are covered by it.
    entries.retain(|e| e.index > base_index);
    if entries.first().is_some_and(|e| e.index != base_index + 1) {
        entries.clear();
    }
    report.valid_len = at;
    (entries, report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::replication::config::{NodeId, tests::region};
    use crate::replication::log::Payload;
    use crate::time::Timestamp;

    fn e(index: Index, term: u64) -> Entry {
        Entry {
            index,
            term,
            time: Timestamp::from_millis(index),
            payload: Payload::Noop,
        }
    }

    fn batch(entries: Vec<Entry>, truncate_from: Option<Index>) -> Vec<u8> {
        encode_batch(&PersistBatch {
            seq: 0,
            hard_state: None,
            truncate_from,
            entries,
        })
    }

    #[test]
    fn round_trip_with_truncation() {
        let mut log = batch((1..=5).map(|i| e(i, 1)).collect(), None);
        log.extend(batch(vec![e(4, 2), e(5, 2)], Some(4)));
        let (r, report) = recover(&log, None, (&[], &[]));
        assert_eq!(
            report,
            RecoveryReport {
                valid_len: log.len(),
                ..RecoveryReport::default()
            }
        );
        assert_eq!(
            r.entries
                .iter()
                .map(|x| (x.index, x.term))
                .collect::<Vec<_>>(),
            [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
        );
        assert!(!r.log_damaged);
        assert_eq!(r.hard_state, Some(HardState::default()));
    }

    #[test]
    fn a_torn_tail_is_dropped_silently_at_every_cut() {
        let first = batch((1..=3).map(|i| e(i, 1)).collect(), None);
        let second = batch(vec![e(4, 1)], None);
        for cut in 1..second.len() {
            let mut log = first.clone();
            log.extend_from_slice(&second[..cut]);
            let (r, report) = recover(&log, None, (&[], &[]));
            assert_eq!(r.entries.len(), 3, "cut {cut}");
            assert!(!r.log_damaged, "cut {cut}");
            assert_eq!(report.torn_tail_bytes, cut);
        }
    }

    #[test]
    fn a_corrupted_record_in_the_middle_is_damage() {
        let mut log = batch((1..=5).map(|i| e(i, 1)).collect(), None);
        let second_record = HEADER
            + postcard::to_stdvec(&LogRecord::Entry(e(1, 1)))
                .unwrap()
                .len();
        log[second_record + HEADER + 1] ^= 0xff;
        let (r, report) = recover(&log, None, (&[], &[]));
        assert!(r.log_damaged);
        assert_eq!(report.damaged_at, Some(second_record));
        assert_eq!(r.entries.len(), 1, "entries before the damage are kept");
    }

    #[test]
    fn a_corrupted_header_in_the_middle_is_damage_not_a_torn_tail() {
        let log = batch((1..=5).map(|i| e(i, 1)).collect(), None);
        let second = HEADER
            + postcard::to_stdvec(&LogRecord::Entry(e(1, 1)))
                .unwrap()
                .len();
        for offset in 0..HEADER {
            let mut bad = log.clone();
            bad[second + offset] ^= 0x40;
            let (r, report) = recover(&bad, None, (&[], &[]));
            assert!(r.log_damaged, "header byte {offset}");
            assert_eq!(report.damaged_at, Some(second));
            assert_eq!(report.valid_len, second);
            assert_eq!(report.torn_tail_bytes, 0);
        }
    }

    #[test]
    fn hard_state_survives_one_bad_slot_and_not_two() {
        let old = HardState {
            term: 3,
            vote: Some(NodeId(1)),
            commit: 7,
            no_vote: false,
        };
        let new = HardState {
            term: 4,
            vote: Some(NodeId(2)),
            commit: 9,
            no_vote: false,
        };
        let (a, b) = (encode_hard_state(&old, 1), encode_hard_state(&new, 2));
        assert_eq!(decode_hard_state(&a, &b), Some((new, 2)));
        let mut torn = b;
        torn[HEADER + 1] ^= 1;
        assert_eq!(decode_hard_state(&a, &torn), Some((old, 1)));
        let mut bad_a = a;
        bad_a[HEADER + 1] ^= 1;
        assert_eq!(decode_hard_state(&bad_a, &torn), None);
        let (r, _) = recover(&[], None, (&bad_a, &torn));
        assert_eq!(r.hard_state, None, "a node that lost its vote must know it");
    }

    #[test]
    fn snapshot_covers_the_log_before_it() {
        let snapshot = Snapshot {
            index: 3,
            term: 1,
            config: region(1, 0),
            data: Arc::new(crate::store::State::new().encode()),
        };
        let bytes = encode_snapshot(&snapshot);
        assert_eq!(decode_snapshot(&bytes), Some(snapshot.clone()));
        let log = batch((1..=5).map(|i| e(i, 1)).collect(), None);
        let (r, _) = recover(&log, Some(&bytes), (&[], &[]));
        assert_eq!(
            r.entries.iter().map(|x| x.index).collect::<Vec<_>>(),
            [4, 5]
        );
        let mut bad = bytes.clone();
        bad[12] ^= 1;
        let (r, report) = recover(&log, Some(&bad), (&[], &[]));
        assert!(report.snapshot_damaged && r.snapshot.is_none() && r.log_damaged);
    }
}
