//! The operating system's CSPRNG as the RNG the core takes.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// Draws from the OS (getrandom). A failure of the OS generator is not recoverable for a
/// KMS: every key and nonce depends on it, so it aborts the process rather than continue.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRng;

impl TryRng for OsRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        getrandom::fill(dst).expect("the OS random number generator failed");
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}
