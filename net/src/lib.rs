//! Cairn's production driver of the core: TCP transport between nodes, disk storage, the
//! node runtime, and the OKMS REST API over mTLS.

pub mod api;
pub mod os_rng;
pub mod storage;
pub mod transport;
pub mod tls;
