//! The backend's randomness as a `CryptoRng`, for the core's queries that draw (nonces,
//! data keys, random bytes, request and error ids).
//!
//! Drawing through the backend rather than the OS directly lets a simulated node make every
//! draw from its seeded generator, so a simulated run stays reproducible.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

use super::backend::Backend;

pub struct BackendRng<'a, B>(pub &'a B);

impl<B: Backend> TryRng for BackendRng<'_, B> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        self.0.fill_random(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        self.0.fill_random(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_random(dst);
        Ok(())
    }
}

impl<B: Backend> TryCryptoRng for BackendRng<'_, B> {}

/// A fresh random (v4) UUID from the backend, for request and error ids.
pub fn uuid<B: Backend>(backend: &B) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    backend.fill_random(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
