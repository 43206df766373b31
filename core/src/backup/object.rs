//! Backup objects: what is uploaded to the backup regions.
//!
//! `CAIRNBK1 ‖ header length (u32 LE) ‖ header (postcard) ‖ nonce ‖ ciphertext ‖ tag`.
//! The content (log entries, or a state snapshot) is encrypted and authenticated with the
//! backup key, a subkey of the root key; the header is authenticated too (it is the associated
//! data), so a renamed, truncated, swapped or altered object fails to open. The content holds
//! only sealed key material in the first place: a backup is encrypted twice over (G6).

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::aead::{Aead, NONCE_LEN};
use crate::crypto::hierarchy::RootKey;
use crate::crypto::kdf::Purpose;
use crate::replication::log::{Entry, Index};
use crate::replication::snapshot::Snapshot;
use crate::time::Timestamp;

const MAGIC: &[u8; 8] = b"CAIRNBK1";
const FORMAT: u32 = 1;

/// The key that encrypts backups (derived from the root key: a leaked backup store alone
/// opens nothing).
pub struct BackupKey(Aead);

impl BackupKey {
    pub fn from_root(root: &RootKey) -> Self {
        BackupKey(Aead::new(root.subkey(Purpose::Backups).as_ref()).expect("32-byte key"))
    }

    pub(crate) fn aead(&self) -> &Aead {
        &self.0
    }
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupKey(redacted)")
    }
}

/// Incremental (the entries since the previous backup) or full (a snapshot of the state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Incremental,
    Full,
}

/// What an object is, in clear (but authenticated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// The cluster generation that produced it.
    pub generation: u64,
    /// Position in the backup sequence of its generation.
    pub seq: u64,
    pub kind: Kind,
    /// Log range covered: for a full backup, `first` is 1 and `last` the snapshot index; for
    /// an incremental, the entries `first..=last` (empty when `last < first`).
    pub first: Index,
    pub last: Index,
    pub created: Timestamp,
}

impl Header {
    /// The object's name in a backup region: sorted by generation and sequence.
    pub fn name(&self) -> String {
        let kind = match self.kind {
            Kind::Incremental => "inc",
            Kind::Full => "full",
        };
        format!(
            "gen{:06}/{:010}-{kind}-{}-{}.cbk",
            self.generation, self.seq, self.first, self.last
        )
    }
}

/// The decrypted content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    Entries(Vec<Entry>),
    Snapshot(Snapshot),
}

/// Why an object could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("not a Cairn backup object")]
    NotABackup,
    #[error("backup object failed authentication (altered, or made with another root key)")]
    Unauthentic,
    #[error("backup object format {0} is not supported")]
    Format(u32),
    #[error("backup object content does not match its header: {0}")]
    Inconsistent(String),
}

/// Encrypts `content` under `key` into an object described by `header`.
pub fn seal(
    key: &BackupKey,
    header: &Header,
    content: &Content,
    nonce: [u8; NONCE_LEN],
) -> Vec<u8> {
    let header_bytes = postcard::to_stdvec(header).expect("serializes");
    let plain = Zeroizing::new(postcard::to_stdvec(content).expect("serializes"));
    let mut out = Vec::with_capacity(12 + header_bytes.len() + plain.len() + 28);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(
        &u32::try_from(header_bytes.len())
            .expect("small")
            .to_le_bytes(),
    );
    out.extend_from_slice(&header_bytes);
    let aad = out.clone();
    out.extend_from_slice(&key.aead().seal(&nonce, &aad, &plain));
    out
}

/// Reads only the clear header (to list objects); nothing in it is trusted before [`open`].
pub fn peek_header(bytes: &[u8]) -> Result<Header, ObjectError> {
    Ok(split(bytes)?.1)
}

fn split(bytes: &[u8]) -> Result<(usize, Header), ObjectError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(ObjectError::NotABackup);
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let end = 12usize
        .checked_add(len)
        .filter(|e| *e <= bytes.len())
        .ok_or(ObjectError::NotABackup)?;
    let header: Header =
        postcard::from_bytes(&bytes[12..end]).map_err(|_| ObjectError::NotABackup)?;
    Ok((end, header))
}

/// Authenticates and decrypts an object, and checks that its content is what its header
/// says.
pub fn open(key: &BackupKey, bytes: &[u8]) -> Result<(Header, Content), ObjectError> {
    let (end, header) = split(bytes)?;
    let plain = key
        .aead()
        .open(&bytes[..end], &bytes[end..])
        .map_err(|_| ObjectError::Unauthentic)?;
    if header.format != FORMAT {
        return Err(ObjectError::Format(header.format));
    }
    let content: Content =
        postcard::from_bytes(&plain).map_err(|e| ObjectError::Inconsistent(e.to_string()))?;
    match (&header.kind, &content) {
        (Kind::Incremental, Content::Entries(entries)) => {
            let indexes: Vec<Index> = entries.iter().map(|e| e.index).collect();
            let expected: Vec<Index> = (header.first..=header.last).collect();
            if indexes != expected {
                return Err(ObjectError::Inconsistent(format!(
                    "entries {:?}..{:?} for range {}..={}",
                    indexes.first(),
                    indexes.last(),
                    header.first,
                    header.last
                )));
            }
        }
        (Kind::Full, Content::Snapshot(s)) if s.index == header.last => {}
        _ => return Err(ObjectError::Inconsistent("kind and content differ".into())),
    }
    Ok((header, content))
}

/// A header for the current format.
pub fn header(
    generation: u64,
    seq: u64,
    kind: Kind,
    first: Index,
    last: Index,
    created: Timestamp,
) -> Header {
    Header {
        format: FORMAT,
        generation,
        seq,
        kind,
        first,
        last,
        created,
    }
}
