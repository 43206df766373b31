//! The node's disk writer: one thread that performs the node's `Persist`, `PersistSnapshot`
//! and `Compact` outputs in order, with group commit.
//!
//! It takes every write queued since its last fsync, performs them all, then fsyncs the log
//! and the hard-state file once and reports the highest `seq` — so under load many batches
//! share one fsync, and a `Persisted { seq }` always means everything up to `seq` is on disk.
//! Only the newest hard state of a group is written, to the slot that does not hold the
//! newest durable one: a crash tearing it leaves the durable one whole.

use std::fs::File;
use std::io::{self, Write as _};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cairn_core::replication::storage::{
    decode_log, encode_batch, encode_entries, encode_hard_state, encode_snapshot, hard_state_slot,
};
use cairn_core::replication::{HardState, Index, PersistBatch, Snapshot};

use super::files::{self, DataDir};

/// A write the node asked for.
#[derive(Debug)]
pub enum DiskWrite {
    Batch(PersistBatch),
    Snapshot { seq: u64, snapshot: Snapshot },
    Compact { upto: Index },
}

/// What the writer reports back.
#[derive(Debug)]
pub enum Done {
    /// Every write up to `seq` is durable; `fsync` is how long the fsync took.
    Persisted { seq: u64, fsync: Duration },
    /// The disk failed: the node must stop (a node that cannot persist must not claim to).
    Failed(String),
}

pub struct Writer {
    tx: mpsc::Sender<DiskWrite>,
}

impl Writer {
    /// Starts the writer thread. `counter` and `newest_slot` describe the newest hard state
    /// found at start, so that writes keep going to the other slot across restarts.
    pub fn spawn(
        dir: DataDir,
        counter: u64,
        newest_slot: Option<usize>,
        done: impl Fn(Done) + Send + 'static,
    ) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<DiskWrite>();
        let mut log = dir.open_log()?;
        let mut state = dir.open_hard_state()?;
        thread::Builder::new()
            .name("cairn-disk".into())
            .spawn(move || {
                let mut slots = Slots {
                    counter,
                    newest: newest_slot,
                };
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    group.extend(rx.try_iter());
                    match perform(&dir, &mut log, &mut state, &mut slots, group) {
                        Ok(Some((seq, fsync))) => done(Done::Persisted { seq, fsync }),
                        Ok(None) => {}
                        Err(e) => {
                            done(Done::Failed(e.to_string()));
                            return;
                        }
                    }
                }
            })?;
        Ok(Writer { tx })
    }

    pub fn write(&self, w: DiskWrite) {
        // The thread only stops after reporting a failure, which stops the node.
        let _ = self.tx.send(w);
    }
}

/// The hard-state slots: where the newest durable one is, and the counter to continue from.
struct Slots {
    counter: u64,
    newest: Option<usize>,
}

impl Slots {
    fn write(&mut self, state: &mut File, hard: &HardState) -> io::Result<usize> {
        self.counter += 1;
        let slot = hard_state_slot(self.newest);
        files::write_slot(state, slot, &encode_hard_state(hard, self.counter))?;
        Ok(slot)
    }
}

fn sync(
    log: &File,
    state: &File,
    slots: &mut Slots,
    written: &mut Option<usize>,
) -> io::Result<()> {
    log.sync_data()?;
    state.sync_data()?;
    if let Some(s) = written.take() {
        slots.newest = Some(s);
    }
    Ok(())
}

fn perform(
    dir: &DataDir,
    log: &mut File,
    state: &mut File,
    slots: &mut Slots,
    group: Vec<DiskWrite>,
) -> io::Result<Option<(u64, Duration)>> {
    let mut last_seq = None;
    let mut hard: Option<HardState> = None;
    let mut written = None;
    for w in group {
        match w {
            DiskWrite::Batch(batch) => {
                log.write_all(&encode_batch(&batch))?;
                if batch.hard_state.is_some() {
                    hard = batch.hard_state;
                }
                last_seq = Some(batch.seq);
            }
            DiskWrite::Snapshot { seq, snapshot } => {
                // Earlier batches first: `seq` order is the order of durability.
                if let Some(h) = hard.take() {
                    written = Some(slots.write(state, &h)?);
                }
                sync(log, state, slots, &mut written)?;
                dir.replace(files::SNAPSHOT, &encode_snapshot(&snapshot))?;
                last_seq = Some(seq);
            }
            DiskWrite::Compact { upto } => {
                if let Some(h) = hard.take() {
                    written = Some(slots.write(state, &h)?);
                }
                sync(log, state, slots, &mut written)?;
                let bytes = std::fs::read(dir.path(files::LOG))?;
                let (entries, _) = decode_log(&bytes, upto, 0);
                dir.replace(files::LOG, &encode_entries(&entries))?;
                *log = dir.open_log()?;
            }
        }
    }
    if let Some(h) = hard {
        written = Some(slots.write(state, &h)?);
    }
    let started = Instant::now();
    sync(log, state, slots, &mut written)?;
    Ok(last_seq.map(|seq| (seq, started.elapsed())))
}
