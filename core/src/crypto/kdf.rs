//! Subkeys of the root key: HKDF-SHA256 (RFC 5869), one subkey per purpose.
//!
//! The root key itself encrypts nothing. Deriving a key per purpose keeps the uses apart:
//! a backup key leaked with a backup store does not open domain KEKs, and new purposes can be
//! added without touching existing ciphertexts.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Fixed HKDF salt: a domain separator for Cairn's root keys.
const SALT: &[u8] = b"cairn/v1/root-key";

/// What a subkey is for; the label is the HKDF `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Seals domain KEKs.
    DomainKeys,
    /// Encrypts and authenticates backups.
    Backups,
}

impl Purpose {
    const fn label(self) -> &'static [u8] {
        match self {
            Purpose::DomainKeys => b"cairn/v1/seal-domain-keys",
            Purpose::Backups => b"cairn/v1/backups",
        }
    }
}

/// The 256-bit subkey of `root` for `purpose`.
pub fn derive(root: &[u8; 32], purpose: Purpose) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(SALT), root)
        .expand(purpose.label(), okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 4231 §4: HMAC-SHA-256 test cases 1–7 (case 5 truncated to 128 bits).
    #[test]
    fn rfc4231_hmac_sha256() {
        let long_key = vec![0xaa; 131];
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (vec![0x0b; 20], b"Hi There".to_vec(),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50],
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (h("0102030405060708090a0b0c0d0e0f10111213141516171819"), vec![0xcd; 50],
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (vec![0x0c; 20], b"Test With Truncation".to_vec(),
             "a3b6167473100ee06e0c796c2955552b"),
            (long_key.clone(), b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (long_key,
             b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (key, data, expected) in cases {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(&data);
            let tag = mac.finalize().into_bytes();
            assert_eq!(hex::encode(&tag[..expected.len() / 2]), expected);
        }
    }

    /// RFC 5869 Appendix A, test cases 1–3 (HKDF-SHA-256).
    #[test]
    fn rfc5869_hkdf_sha256() {
        let cases = [
            (
                vec![0x0b; 22],
                h("000102030405060708090a0b0c"),
                h("f0f1f2f3f4f5f6f7f8f9"),
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            ),
            (
                (0u8..0x50).collect(),
                (0x60u8..0xb0).collect(),
                (0xb0u8..=0xff).collect(),
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                vec![0x0b; 22],
                vec![],
                vec![],
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            ),
        ];
        for (ikm, salt, info, okm) in cases {
            let mut out = vec![0u8; okm.len() / 2];
            Hkdf::<Sha256>::new(Some(&salt), &ikm)
                .expand(&info, &mut out)
                .unwrap();
            assert_eq!(hex::encode(out), okm);
        }
    }

    #[test]
    fn purposes_get_distinct_keys() {
        let root = [3u8; 32];
        let a = derive(&root, Purpose::DomainKeys);
        let b = derive(&root, Purpose::Backups);
        assert_ne!(*a, *b);
        assert_ne!(*a, root);
        assert_eq!(*a, *derive(&root, Purpose::DomainKeys));
    }
}
