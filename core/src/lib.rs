//! Cairn's core: pure, deterministic state machines.
//!
//! Nothing in this crate reads a clock, draws from the OS, touches a file or a socket, or
//! spawns a thread: time and randomness are inputs, and the same inputs always produce the
//! same outputs (DESIGN §4). Its dependency tree does not even contain `getrandom`.

pub mod api;
pub mod b64;
pub mod backup;
pub mod crypto;
pub mod error;
pub mod iam;
pub mod ids;
pub mod key;
pub mod replication;
pub mod store;
pub mod time;

pub use error::{Error, ErrorBody, ErrorCode};
pub use ids::{CredentialId, DomainId, KeyId, PolicyId};
pub use time::Timestamp;

/// The RNG every random draw of the core comes from: the OS CSPRNG in production, a seeded
/// ChaCha in simulation.
pub use rand_core::CryptoRng;
