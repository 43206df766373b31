//! The OKMS REST data model: JSON bodies of the service-key API, shared by the HTTP server,
//! the CLI and the simulator's clients. Unknown fields are refused, as the OKMS schemas'
//! `additionalProperties: false` asks.

pub mod operations;
pub mod secret;
pub mod service_key;

pub use operations::*;
pub use secret::SecretString;
pub use service_key::*;
