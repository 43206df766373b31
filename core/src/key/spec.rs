//! What a key is: its type and size or curve.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The OKMS key types (`type` in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "oct")]
    Oct,
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC")]
    Ec,
}

impl KeyType {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyType::Oct => "oct",
            KeyType::Rsa => "RSA",
            KeyType::Ec => "EC",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The NIST curves OKMS offers for `EC` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Curve {
    #[serde(rename = "P-256")]
    P256,
    #[serde(rename = "P-384")]
    P384,
    #[serde(rename = "P-521")]
    P521,
}

impl Curve {
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    pub const fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Length in bytes of a scalar or of one coordinate (JWK `d`, `x`, `y`).
    pub const fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key's type with its size or curve: only the combinations OKMS offers exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeySpec {
    /// AES key of 128, 192 or 256 bits.
    Oct { bits: u16 },
    /// RSA key with a 2048, 3072 or 4096-bit modulus.
    Rsa { bits: u16 },
    /// Elliptic-curve key on a NIST curve.
    Ec { curve: Curve },
}

impl KeySpec {
    pub const OCT_SIZES: [u16; 3] = [128, 192, 256];
    pub const RSA_SIZES: [u16; 3] = [2048, 3072, 4096];

    /// Builds a spec from the API's `type`, `size` and `curve`, rejecting every combination
    /// OKMS does not offer with a message that names the allowed values.
    pub fn new(kind: KeyType, size: Option<u32>, curve: Option<Curve>) -> Result<Self, Error> {
        match kind {
            KeyType::Oct | KeyType::Rsa => {
                if curve.is_some() {
                    return Err(Error::invalid(
                        "curve",
                        format!("{kind} keys have no curve"),
                    ));
                }
                let allowed: &[u16] = if kind == KeyType::Oct {
                    &Self::OCT_SIZES
                } else {
                    &Self::RSA_SIZES
                };
                let size = size.ok_or_else(|| {
                    Error::invalid(
                        "size",
                        format!("{kind} keys need a size, one of {allowed:?}"),
                    )
                })?;
                let bits = u16::try_from(size)
                    .ok()
                    .filter(|b| allowed.contains(b))
                    .ok_or_else(|| {
                        Error::invalid(
                            "size",
                            format!("{size} is not a {kind} key size; use one of {allowed:?}"),
                        )
                    })?;
                Ok(if kind == KeyType::Oct {
                    KeySpec::Oct { bits }
                } else {
                    KeySpec::Rsa { bits }
                })
            }
            KeyType::Ec => {
                if size.is_some() {
                    return Err(Error::invalid(
                        "size",
                        "EC keys take a curve, not a size".to_string(),
                    ));
                }
                let curve = curve.ok_or_else(|| {
                    Error::invalid(
                        "curve",
                        "EC keys need a curve: P-256, P-384 or P-521".into(),
                    )
                })?;
                Ok(KeySpec::Ec { curve })
            }
        }
    }

    pub const fn key_type(self) -> KeyType {
        match self {
            KeySpec::Oct { .. } => KeyType::Oct,
            KeySpec::Rsa { .. } => KeyType::Rsa,
            KeySpec::Ec { .. } => KeyType::Ec,
        }
    }

    /// The API's `size`: present for oct and RSA keys only.
    pub const fn size(self) -> Option<u16> {
        match self {
            KeySpec::Oct { bits } | KeySpec::Rsa { bits } => Some(bits),
            KeySpec::Ec { .. } => None,
        }
    }

    /// The API's `curve`: present for EC keys only.
    pub const fn curve(self) -> Option<Curve> {
        match self {
            KeySpec::Ec { curve } => Some(curve),
            _ => None,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::Oct { bits } => write!(f, "oct {bits}"),
            KeySpec::Rsa { bits } => write!(f, "RSA {bits}"),
            KeySpec::Ec { curve } => write!(f, "EC {curve}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_combinations_exist() {
        assert_eq!(
            KeySpec::new(KeyType::Oct, Some(192), None),
            Ok(KeySpec::Oct { bits: 192 })
        );
        assert_eq!(
            KeySpec::new(KeyType::Rsa, Some(3072), None),
            Ok(KeySpec::Rsa { bits: 3072 })
        );
        assert_eq!(
            KeySpec::new(KeyType::Ec, None, Some(Curve::P521)),
            Ok(KeySpec::Ec { curve: Curve::P521 })
        );
        for bad in [
            KeySpec::new(KeyType::Oct, Some(2048), None),
            KeySpec::new(KeyType::Oct, None, None),
            KeySpec::new(KeyType::Oct, Some(256), Some(Curve::P256)),
            KeySpec::new(KeyType::Rsa, Some(1024), None),
            KeySpec::new(KeyType::Rsa, Some(u32::MAX), None),
            KeySpec::new(KeyType::Ec, Some(256), Some(Curve::P256)),
            KeySpec::new(KeyType::Ec, None, None),
        ] {
            assert!(matches!(bad, Err(Error::InvalidArgument { .. })), "{bad:?}");
        }
    }

    #[test]
    fn api_names() {
        assert_eq!(serde_json::to_string(&KeyType::Rsa).unwrap(), "\"RSA\"");
        assert_eq!(serde_json::to_string(&Curve::P384).unwrap(), "\"P-384\"");
        assert_eq!(
            serde_json::from_str::<KeyType>("\"oct\"").unwrap(),
            KeyType::Oct
        );
        assert!(serde_json::from_str::<KeyType>("\"OCT\"").is_err());
    }
}
