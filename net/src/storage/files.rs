//! A node's data directory: the log, the two hard-state slots, the snapshot.
//!
//! Writes that must be atomic (the snapshot, a compacted log) go to a temporary file that is
//! fsynced, renamed over the old one, and made durable by an fsync of the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cairn_core::replication::storage::HARD_STATE_SLOT;

pub const LOG: &str = "raft.log";
pub const HARD_STATE: &str = "raft.state";
pub const SNAPSHOT: &str = "raft.snapshot";

/// Paths of a node's files.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

/// Everything read back at start.
#[derive(Debug, Default)]
pub struct Contents {
    pub log: Vec<u8>,
    pub slot_a: Vec<u8>,
    pub slot_b: Vec<u8>,
    pub snapshot: Option<Vec<u8>>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(DataDir { root })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn read(&self) -> io::Result<Contents> {
        let log = read_or_empty(&self.path(LOG))?;
        let state = read_or_empty(&self.path(HARD_STATE))?;
        let (a, b) = if state.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let a = state.get(..HARD_STATE_SLOT).unwrap_or(&state).to_vec();
            let b = state.get(HARD_STATE_SLOT..).unwrap_or_default().to_vec();
            (a, b)
        };
        let snapshot = match fs::read(self.path(SNAPSHOT)) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(Contents {
            log,
            slot_a: a,
            slot_b: b,
            snapshot,
        })
    }

    pub fn open_log(&self) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(LOG))
    }

    pub fn open_hard_state(&self) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.path(HARD_STATE))?;
        Ok(f)
    }

    /// Replaces `name` atomically with `bytes`.
    pub fn replace(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.path(&format!("{name}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.path(name))?;
        self.sync_dir()
    }

    pub fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.root)?.sync_all()
    }
}

/// Writes slot `slot` (0 or 1) of the hard-state file.
pub fn write_slot(file: &mut File, slot: usize, bytes: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start((slot * HARD_STATE_SLOT) as u64))?;
    file.write_all(bytes)
}

fn read_or_empty(path: &Path) -> io::Result<Vec<u8>> {
    match File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            Ok(bytes)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
