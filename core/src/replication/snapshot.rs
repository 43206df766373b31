//! Snapshots: the applied key-store state at a log position, which replaces the log before it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::replication::config::ClusterConfig;
use crate::replication::log::{Index, Term};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry the snapshot covers, and its term.
    pub index: Index,
    pub term: Term,
    pub config: ClusterConfig,
    /// `State::encode()` of the key store: sealed material only, never plaintext (G6).
    /// Shared, because a leader sends the same bytes to every follower that needs them.
    /// (De)serialized as bytes, not as a sequence of `u8`: the same postcard encoding (a
    /// length, then the bytes), read with one copy instead of a call per byte (a million
    /// keys are 132 MB).
    #[serde(with = "shared_bytes")]
    pub data: Arc<Vec<u8>>,
}

/// `Arc<Vec<u8>>` through `serde_bytes`.
mod shared_bytes {
    use std::sync::Arc;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &Arc<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        serde_bytes::serialize(data.as_slice(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Vec<u8>>, D::Error> {
        serde_bytes::deserialize::<Vec<u8>, D>(d).map(Arc::new)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Snapshot {{ index: {}, term: {}, {} bytes }}",
            self.index,
            self.term,
            self.data.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hierarchy::Sealed;
    use crate::replication::config::tests::region;

    /// What `Snapshot` was before its data became bytes: disks, backups and peers hold
    /// that encoding, which must read back the same.
    #[derive(Serialize)]
    struct AsSequence {
        index: Index,
        term: Term,
        config: ClusterConfig,
        data: Vec<u8>,
    }

    #[test]
    fn bytes_encode_exactly_as_the_sequence_of_u8_did() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let snapshot = Snapshot {
            index: 7,
            term: 2,
            config: region(1, 1),
            data: Arc::new(data.clone()),
        };
        let before = AsSequence {
            index: 7,
            term: 2,
            config: region(1, 1),
            data: data.clone(),
        };
        let old = postcard::to_stdvec(&before).unwrap();
        assert_eq!(postcard::to_stdvec(&snapshot).unwrap(), old);
        assert_eq!(postcard::from_bytes::<Snapshot>(&old).unwrap(), snapshot);

        let sealed = Sealed::from_bytes(data.clone());
        let old = postcard::to_stdvec(&data).unwrap();
        assert_eq!(postcard::to_stdvec(&sealed).unwrap(), old);
        assert_eq!(postcard::from_bytes::<Sealed>(&old).unwrap(), sealed);
        // JSON (orphan reports) is unchanged too: an array of numbers.
        let json = serde_json::to_string(&data).unwrap();
        assert_eq!(serde_json::to_string(&sealed).unwrap(), json);
        assert_eq!(serde_json::from_str::<Sealed>(&json).unwrap(), sealed);
    }
}
