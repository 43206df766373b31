//! The node's disk writer: one thread that performs the node's `Persist`, `PersistSnapshot`
//! and `Compact` outputs in order, with group commit.
//!
//! It takes every write queued since its last fsync, performs them all, then fsyncs the log
//! and the hard-state file once and reports the highest `seq` — so under load many batches
//! share one fsync, and a `Persisted { seq }` always means everything up to `seq` is on disk.

use std::fs::File;
use std::io::{self, Write as _};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cairn_core::replication::storage::{
    decode_log, encode_batch, encode_entries, encode_hard_state, encode_snapshot,
};
use cairn_core::replication::{Index, PersistBatch, Snapshot};

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
    /// Starts the writer thread. `counter` is the hard-state counter found at start
    /// (`decode_hard_state`), so slots keep alternating across restarts.
    pub fn spawn(
        dir: DataDir,
        counter: u64,
        done: impl Fn(Done) + Send + 'static,
    ) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<DiskWrite>();
        let mut log = dir.open_log()?;
        let mut state = dir.open_hard_state()?;
        thread::Builder::new()
            .name("cairn-disk".into())
            .spawn(move || {
                let mut counter = counter;
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    group.extend(rx.try_iter());
                    match perform(&dir, &mut log, &mut state, &mut counter, group) {
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

fn perform(
    dir: &DataDir,
    log: &mut File,
    state: &mut File,
    counter: &mut u64,
    group: Vec<DiskWrite>,
) -> io::Result<Option<(u64, Duration)>> {
    let mut last_seq = None;
    for w in group {
        match w {
            DiskWrite::Batch(batch) => {
                log.write_all(&encode_batch(&batch))?;
                if let Some(hard) = &batch.hard_state {
                    *counter += 1;
                    files::write_slot(state, *counter, &encode_hard_state(hard, *counter))?;
                }
                last_seq = Some(batch.seq);
            }
            DiskWrite::Snapshot { seq, snapshot } => {
                // Earlier batches first: `seq` order is the order of durability.
                log.sync_data()?;
                state.sync_data()?;
                dir.replace(files::SNAPSHOT, &encode_snapshot(&snapshot))?;
                last_seq = Some(seq);
            }
            DiskWrite::Compact { upto } => {
                log.sync_data()?;
                let bytes = std::fs::read(dir.path(files::LOG))?;
                let (entries, _) = decode_log(&bytes, upto, 0);
                dir.replace(files::LOG, &encode_entries(&entries))?;
                *log = dir.open_log()?;
            }
        }
    }
    let started = Instant::now();
    log.sync_data()?;
    state.sync_data()?;
    Ok(last_seq.map(|seq| (seq, started.elapsed())))
}
