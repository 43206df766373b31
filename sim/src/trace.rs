//! The trace hash: a SHA-256 over every processed event (its time, kind, the node or client
//! it concerns, and the bytes of every delivered message). Two runs with the same hash did
//! the same thing in the same order; a replay that differs says where determinism broke
//! only in aggregate, so tests compare hashes and histories.

use sha2::{Digest, Sha256};

use crate::clock::Micros;

#[derive(Clone, Debug, Default)]
pub(crate) struct Trace {
    hasher: Sha256,
}

impl Trace {
    pub(crate) fn event(&mut self, at: Micros, kind: u8, a: u64, b: u64) {
        let mut header = [0u8; 25];
        header[..8].copy_from_slice(&at.to_le_bytes());
        header[8] = kind;
        header[9..17].copy_from_slice(&a.to_le_bytes());
        header[17..].copy_from_slice(&b.to_le_bytes());
        self.hasher.update(header);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }

    pub(crate) fn hash(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
}
