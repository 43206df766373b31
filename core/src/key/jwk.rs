//! JSON Web Keys (filled in by the asymmetric-crypto work).
