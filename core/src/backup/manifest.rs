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

impl Manifest {
    pub fn seal(&self, key: &BackupKey, nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let body = postcard::to_stdvec(self).expect("serializes");
        out.extend_from_slice(&key.aead().seal(&nonce, MAGIC, &body));
        out
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
