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

/// The manifest of `count` entries whose postcard encodings, concatenated, are `body`,
/// sealed: the same bytes as [`Manifest::seal`] (a sequence is its length as a varint, then
/// its items). The schedule keeps each region's body current ([`ManifestBody`]), so a
/// rewrite costs one copy and the encryption.
pub(crate) fn seal_body(
    key: &BackupKey,
    nonce: [u8; NONCE_LEN],
    count: usize,
    body: &[u8],
) -> Vec<u8> {
    let head = MAGIC.len() + NONCE_LEN;
    let mut out = Vec::with_capacity(head + 10 + body.len() + 16);
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
    out.extend_from_slice(body);
    let tag = key.aead().seal_in_place(&nonce, MAGIC, &mut out[head..]);
    out.extend_from_slice(&tag);
    out
}

/// The encoded entries of one region's manifest, in order, kept current as objects are
/// stored and deleted: rebuilding it from a month of entries after every backup was most of
/// the cost of a long run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ManifestBody<K: Ord + Copy> {
    /// Each member's key and encoded length, in key order.
    members: std::collections::VecDeque<(K, usize)>,
    bytes: Vec<u8>,
}

impl<K: Ord + Copy> ManifestBody<K> {
    /// Where member `i` starts, summed from the nearer end (changes are at the ends: new
    /// objects at the back, expired ones at the front).
    fn offset(&self, i: usize) -> usize {
        if i <= self.members.len() / 2 {
            self.members.iter().take(i).map(|m| m.1).sum()
        } else {
            self.bytes.len() - self.members.iter().skip(i).map(|m| m.1).sum::<usize>()
        }
    }

    /// Adds the entry encoded as `encoded` under `key` (nothing if it is already there).
    pub(crate) fn insert(&mut self, key: K, encoded: &[u8]) {
        let Err(i) = self.members.binary_search_by_key(&key, |m| m.0) else {
            return;
        };
        let at = self.offset(i);
        self.bytes.splice(at..at, encoded.iter().copied());
        self.members.insert(i, (key, encoded.len()));
    }

    pub(crate) fn remove(&mut self, key: K) {
        let Ok(i) = self.members.binary_search_by_key(&key, |m| m.0) else {
            return;
        };
        let at = self.offset(i);
        self.bytes.drain(at..at + self.members[i].1);
        self.members.remove(i);
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
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

    /// What several regions' manifests list together: each object once (by generation and
    /// sequence, the first listing kept), in sequence order. A recovery reads this, so that
    /// one region's missing or stale manifest loses nothing another lists.
    pub fn union(manifests: impl IntoIterator<Item = Manifest>) -> Manifest {
        let mut by_seq = std::collections::BTreeMap::new();
        for e in manifests.into_iter().flat_map(|m| m.entries) {
            by_seq
                .entry((e.header.generation, e.header.seq))
                .or_insert(e);
        }
        Manifest {
            entries: by_seq.into_values().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}
