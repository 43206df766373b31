//! Cryptographic building blocks. Every random value comes from the caller's RNG.

pub mod aead;
pub mod sign;
