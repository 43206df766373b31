//! A cluster of real `cairn server` processes on loopback, and an HTTPS client for it.
//!
//! The binary is built by the test itself (`cargo build -p cairn`, a no-op when it is up to
//! date), so that these tests always drive the code of the checkout rather than whatever
//! binary an earlier build left in `target/`.

pub mod client;
pub mod cluster;
pub mod keepalive;

pub use client::{Client, Response};
pub use cluster::Cluster;
