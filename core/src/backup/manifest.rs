//! The manifest of a backup region: every object it holds, with its digest.
//!
//! Recovery trusts the manifest to find objects and to check them (size, SHA-256), so the
//! manifest is itself encrypted and authenticated with the backup key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backup::object::{BackupKey, Header};
use crate::crypto::aead::NONCE_LEN;

const MAGIC: &[u8; 8] = b"CAIRNMF1";

/// The name of the manifest object in every backup region.
pub const MANIFEST_NAME: &str = "MANIFEST";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub header: Header,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl ManifestEntry {
    pub fn describe(name: String, header: Header, bytes: &[u8]) -> Self {
        ManifestEntry {
            name,
            header,
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
        }
    }

    /// Whether `bytes` are the object this entry describes.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() as u64 == self.size && <[u8; 32]>::from(Sha256::digest(bytes)) == self.sha256
    }
}

/// The objects of one backup region, in sequence order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub entries: Vec<ManifestEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not a Cairn backup manifest")]
    NotAManifest,
    #[error("backup manifest failed authentication (altered, or made with another root key)")]
    Unauthentic,
}

/// The manifest of `entries`, sealed: the same bytes as [`Manifest::seal`] of a manifest
/// holding them, without copying them into one (a month of backups is thousands of
/// entries, and a manifest is rewritten after every backup).
pub fn seal_entries<'a>(
    key: &BackupKey,
    nonce: [u8; NONCE_LEN],
    entries: impl Iterator<Item = &'a ManifestEntry>,
) -> Vec<u8> {
    /// Serializes exactly as `Manifest` (a struct of one sequence).
    #[derive(Serialize)]
    struct ByRef<'a> {
        entries: Vec<&'a ManifestEntry>,
    }
    let entries = ByRef {
        entries: entries.collect(),
    };
    let head = MAGIC.len() + NONCE_LEN;
    let mut out = Vec::with_capacity(head + entries.entries.len() * 160 + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    let mut out = postcard::to_extend(&entries, out).expect("serializes");
    let tag = key.aead().seal_in_place(&nonce, MAGIC, &mut out[head..]);
    out.extend_from_slice(&tag);
    out
}

/// The manifest of `count` entries given by their postcard encodings, sealed: the same bytes
/// as [`Manifest::seal`] (a sequence is its length as a varint, then its items). The
/// schedule keeps each entry's encoding, so a rewrite costs a copy and the encryption.
pub(crate) fn seal_encoded<'a>(
    key: &BackupKey,
    nonce: [u8; NONCE_LEN],
    count: usize,
    entries: impl Iterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let head = MAGIC.len() + NONCE_LEN;
    let mut out = Vec::with_capacity(head + count * 160 + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    let mut n = count as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    for e in entries {
        out.extend_from_slice(e);
    }
    let tag = key.aead().seal_in_place(&nonce, MAGIC, &mut out[head..]);
    out.extend_from_slice(&tag);
    out
}

impl Manifest {
    pub fn seal(&self, key: &BackupKey, nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        seal_entries(key, nonce, self.entries.iter())
    }

    pub fn open(key: &BackupKey, bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ManifestError::NotAManifest);
        }
        let body = key
            .aead()
            .open(MAGIC, &bytes[MAGIC.len()..])
            .map_err(|_| ManifestError::Unauthentic)?;
        postcard::from_bytes(&body).map_err(|_| ManifestError::NotAManifest)
    }

    pub fn get(&self, name: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}
