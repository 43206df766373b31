//! TLS for the REST API: the rustls server configuration (mutual TLS against a client CA
//! bundle) and the acceptor loop that serves the router over it.
//!
//! Client certificates are optional at the TLS level, so that bearer tokens work over the
//! same listener; the API then requires one proof or the other on every request
//! ([`crate::api`]). A certificate that is presented must chain to the configured CA bundle,
//! be within its validity period and allow client authentication, or the handshake fails.

mod acceptor;
mod config;

pub use acceptor::{HANDSHAKE_TIMEOUT, serve};
pub use config::{TlsError, TlsSettings, server_config};
