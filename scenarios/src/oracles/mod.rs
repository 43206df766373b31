//! The oracles: each checks one promise of DESIGN §2 on a finished (or running) simulation.
//! Every oracle is proved by a bug planted on purpose (`tests/planted.rs`).

pub mod g1;
pub mod g3;
pub mod g4;
pub mod g5;
pub mod g6;
pub mod g8;
pub mod g9;
pub mod keys;
pub mod liveness;
pub mod rpo;

pub use g3::Outage;
pub use g6::G6;
