//! Service keys: what they are, what they may do, and their lifecycle.

pub mod jwk;
pub mod material;
pub mod operation;
pub mod spec;
pub mod state;
