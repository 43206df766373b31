//! Cryptographic building blocks. Every random value comes from the caller's RNG.

pub mod aead;
pub mod hierarchy;
pub mod jwe;
pub mod jws;
pub mod kdf;
pub mod sign;
