//! The key store: replicated state, commands, and the queries a node answers from it.

pub mod command;
pub mod domain;
pub mod keyring;
pub mod keystore;
pub mod listing;
pub mod prepare;
pub mod query;
pub mod record;
pub mod state;
pub mod validate;

pub use command::{Applied, Command, NewKey, Outcome};
pub use keystore::KeyStore;
pub use prepare::PreparedMaterial;
pub use query::{DataKey, SigningKey, VerifyingKey};
pub use record::{KeyRecord, Origin, StoredMaterial};
pub use state::State;

#[cfg(test)]
mod tests;
