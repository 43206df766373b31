//! Identifiers of the things the core stores.
//!
//! Each kind of id is its own type so that a key id can never be passed where a domain id is
//! expected. New ids are drawn from the driver's RNG (UUID v4 layout), never from the OS.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a UUID in its hyphenated form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID in hyphenated form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct InvalidId;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id drawn from `rng`.
            pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                $name(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Always the lowercase hyphenated form, as OKMS prints ids.
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            /// Accepts only the hyphenated form: ids travel in URLs and URNs, where one
            /// spelling per id keeps lookups and IAM patterns unambiguous.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 36 {
                    return Err(InvalidId);
                }
                Uuid::try_parse(s).map($name).map_err(|_| InvalidId)
            }
        }
    };
}

uuid_id!(
    /// A domain (the OKMS `okmsId`): a tenant with its keys, credentials and policies.
    DomainId
);
uuid_id!(
    /// A service key, unique within its domain.
    KeyId
);
uuid_id!(
    /// A credential (client certificate or bearer token) of a domain.
    CredentialId
);
uuid_id!(
    /// An IAM policy of a domain.
    PolicyId
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn random_ids_are_v4_and_deterministic_per_seed() {
        let a = KeyId::random(&mut ChaCha20Rng::seed_from_u64(7));
        let b = KeyId::random(&mut ChaCha20Rng::seed_from_u64(7));
        let c = KeyId::random(&mut ChaCha20Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.as_uuid().get_version_num(), 4);
    }

    #[test]
    fn parses_only_the_hyphenated_form() {
        let s = "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11";
        let id: DomainId = s.parse().unwrap();
        assert_eq!(id.to_string(), s);
        assert!(
            "6f1c7c645b8e4d2e9b565e2b8d9c0a11"
                .parse::<DomainId>()
                .is_err()
        );
        assert!(
            "{6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11}"
                .parse::<DomainId>()
                .is_err()
        );
        assert!("not-a-uuid".parse::<DomainId>().is_err());
        assert!("".parse::<DomainId>().is_err());
    }
}
