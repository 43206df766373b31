//! Replication: the log, elections, the zone-aware commit rule, and snapshots, as a sans-IO
//! state machine (DESIGN §5). See [`node`] for the protocol and [`storage`] for the bytes a
//! driver writes.

pub mod bugs;
pub mod config;
pub mod io;
pub mod log;
pub mod message;
pub mod node;
pub mod snapshot;
pub mod storage;
pub mod timing;

pub use bugs::PlantedBugs;
pub use config::{ClusterConfig, NodeId, NodeInfo, Role};
pub use io::{HardState, Input, Output, PersistBatch, Recovered};
pub use log::{Entry, Index, Payload, Term};
pub use message::{Message, Packet};
pub use node::{Lag, Node, NodeRng, Status};
pub use snapshot::Snapshot;
pub use timing::Timing;
