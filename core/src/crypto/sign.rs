//! Signatures (filled in by the asymmetric-crypto work).
