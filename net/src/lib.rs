//! Cairn's production driver of the core: TCP transport between nodes, disk storage, the
//! node runtime, and the OKMS REST API over mTLS.

pub mod api;
pub mod os_rng;
pub mod runtime;
pub mod storage;
pub mod tls;
pub mod transport;
