//! Plaintext key material (filled in by the asymmetric-crypto work).
