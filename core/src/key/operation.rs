//! What a key may be used for: the OKMS `operations` (JWK `key_ops`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::key::spec::KeyType;

/// One cryptographic usage of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operation {
    Sign,
    Verify,
    Encrypt,
    Decrypt,
    WrapKey,
    UnwrapKey,
}

impl Operation {
    /// All usages, in the order the API lists them.
    pub const ALL: [Operation; 6] = [
        Operation::Sign,
        Operation::Verify,
        Operation::Encrypt,
        Operation::Decrypt,
        Operation::WrapKey,
        Operation::UnwrapKey,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Sign => "sign",
            Operation::Verify => "verify",
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::WrapKey => "wrapKey",
            Operation::UnwrapKey => "unwrapKey",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of usages. Serialized as the API's list, always in [`Operation::ALL`] order, so the
/// same set has one representation (the state hash depends on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operations(u8);

impl Operations {
    pub const EMPTY: Operations = Operations(0);

    pub fn contains(self, op: Operation) -> bool {
        self.0 & op.bit() != 0
    }

    #[must_use]
    pub fn with(self, op: Operation) -> Self {
        Operations(self.0 | op.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn is_subset(self, of: Operations) -> bool {
        self.0 & !of.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .into_iter()
            .filter(move |op| self.contains(*op))
    }

    /// Everything a key of this type can do: all of it with private (or secret) material,
    /// only verification with a public key alone.
    ///
    /// `wrapKey` and `unwrapKey` belong to `oct` keys, which wrap data keys. OKMS lists them
    /// for RSA too, but Cairn performs no RSA encryption (no endpoint does RSA-OAEP), so
    /// accepting them there would promise a usage no call can make.
    pub fn supported(kind: KeyType, has_private: bool) -> Operations {
        use Operation::*;
        let ops: &[Operation] = match (kind, has_private) {
            (KeyType::Oct, _) => &[Encrypt, Decrypt, WrapKey, UnwrapKey],
            (KeyType::Rsa | KeyType::Ec, true) => &[Sign, Verify],
            (KeyType::Rsa | KeyType::Ec, false) => &[Verify],
        };
        ops.iter().copied().collect()
    }

    /// The usages for a new key: the requested ones, checked against what the key can do,
    /// or all it can do when the request names none.
    pub fn for_new_key(
        kind: KeyType,
        has_private: bool,
        requested: Option<&[Operation]>,
    ) -> Result<Operations, Error> {
        let supported = Operations::supported(kind, has_private);
        let Some(requested) = requested else {
            return Ok(supported);
        };
        if requested.is_empty() {
            return Err(Error::invalid(
                "operations",
                "a key needs at least one operation".into(),
            ));
        }
        let set: Operations = requested.iter().copied().collect();
        if !set.is_subset(supported) {
            let extra: Vec<&str> = set
                .iter()
                .filter(|op| !supported.contains(*op))
                .map(Operation::as_str)
                .collect();
            let allowed: Vec<&str> = supported.iter().map(Operation::as_str).collect();
            let what = if has_private { "" } else { "public-only " };
            return Err(Error::invalid(
                "operations",
                format!(
                    "{} not allowed for {what}{kind} keys; allowed: {}",
                    extra.join(", "),
                    allowed.join(", ")
                ),
            ));
        }
        Ok(set)
    }
}

impl FromIterator<Operation> for Operations {
    fn from_iter<I: IntoIterator<Item = Operation>>(iter: I) -> Self {
        iter.into_iter().fold(Operations::EMPTY, Operations::with)
    }
}

/// A list of names in JSON; one byte of flags in binary formats (the log and snapshots),
/// where a key's usages are stored millions of times.
impl Serialize for Operations {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_seq(self.iter().collect::<Vec<_>>())
        } else {
            s.serialize_u8(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Operations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let ops = Vec::<Operation>::deserialize(d)?;
            return Ok(ops.into_iter().collect());
        }
        let bits = u8::deserialize(d)?;
        let all: Operations = Operation::ALL.into_iter().collect();
        if bits & !all.0 != 0 {
            return Err(serde::de::Error::custom("unknown operation flags"));
        }
        Ok(Operations(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    #[test]
    fn defaults_are_everything_the_type_can_do() {
        let oct = Operations::for_new_key(KeyType::Oct, true, None).unwrap();
        assert_eq!(
            oct.iter().collect::<Vec<_>>(),
            [Encrypt, Decrypt, WrapKey, UnwrapKey]
        );
        let ec_pub = Operations::for_new_key(KeyType::Ec, false, None).unwrap();
        assert_eq!(ec_pub.iter().collect::<Vec<_>>(), [Verify]);
    }

    #[test]
    fn requested_operations_are_checked_against_the_type() {
        let ok = Operations::for_new_key(KeyType::Rsa, true, Some(&[Verify, Sign, Sign])).unwrap();
        assert_eq!(ok.iter().collect::<Vec<_>>(), [Sign, Verify]);
        for (kind, private, ops) in [
            (KeyType::Oct, true, &[Sign][..]),
            (KeyType::Ec, true, &[Encrypt][..]),
            (KeyType::Rsa, false, &[Sign][..]),
            (KeyType::Rsa, true, &[WrapKey][..]),
            (KeyType::Oct, true, &[][..]),
        ] {
            let err = Operations::for_new_key(kind, private, Some(ops)).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        }
    }

    #[test]
    fn serializes_as_an_ordered_list() {
        let set: Operations = [UnwrapKey, Encrypt].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["encrypt","unwrapKey"]"#
        );
        let back: Operations = serde_json::from_str(r#"["unwrapKey","encrypt"]"#).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<Operations>(r#"["fly"]"#).is_err());
        let bytes = postcard::to_stdvec(&set).unwrap();
        assert_eq!(bytes.len(), 1);
        assert_eq!(postcard::from_bytes::<Operations>(&bytes).unwrap(), set);
        assert!(postcard::from_bytes::<Operations>(&[0x80]).is_err());
    }
}
