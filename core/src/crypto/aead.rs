//! AES-GCM-SIV (RFC 8452) for every key size a service key can have.
//!
//! RFC 8452 defines AES-128 and AES-256. A 192-bit key uses the same construction with
//! AES-192 as the block cipher (a 128-bit authentication key and a 192-bit encryption key
//! derived from three counter blocks): the `aes-gcm-siv` crate is generic over the block
//! cipher and this is what it computes. No other implementation is known to interoperate for
//! 192-bit keys, which is acceptable here because Cairn is the only party that decrypts.
//!
//! GCM-SIV is chosen for its nonce-misuse resistance: nonces come from the driver's RNG, and
//! a repeated nonce (a broken RNG, a cloned VM) would leak only message equality, not the
//! authentication key as it would with GCM.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{AesGcmSiv, Nonce, Tag};

/// Nonce length of AES-GCM-SIV.
pub const NONCE_LEN: usize = 12;
/// Tag length of AES-GCM-SIV.
pub const TAG_LEN: usize = 16;

/// A fresh nonce from the caller's RNG.
pub fn random_nonce<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    nonce
}

/// A keyed AES-GCM-SIV instance; the key schedule is computed once, when the key is unsealed.
#[derive(Clone)]
pub enum Aead {
    A128(AesGcmSiv<Aes128>),
    A192(AesGcmSiv<Aes192>),
    A256(AesGcmSiv<Aes256>),
}

/// Authentication failed (or the input was too short to hold a tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unauthentic;

impl Aead {
    /// Keys the cipher; `None` for a length that is not 16, 24 or 32 bytes.
    pub fn new(key: &[u8]) -> Option<Aead> {
        Some(match key.len() {
            16 => Aead::A128(AesGcmSiv::new_from_slice(key).ok()?),
            24 => Aead::A192(AesGcmSiv::new_from_slice(key).ok()?),
            32 => Aead::A256(AesGcmSiv::new_from_slice(key).ok()?),
            _ => return None,
        })
    }

    pub fn key_bits(&self) -> u16 {
        match self {
            Aead::A128(_) => 128,
            Aead::A192(_) => 192,
            Aead::A256(_) => 256,
        }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let nonce = Nonce::from(*nonce);
        let tag = match self {
            Aead::A128(c) => c.encrypt_inout_detached(&nonce, aad, buf.into()),
            Aead::A192(c) => c.encrypt_inout_detached(&nonce, aad, buf.into()),
            Aead::A256(c) => c.encrypt_inout_detached(&nonce, aad, buf.into()),
        };
        // Only fails beyond 2^36 bytes; our inputs are bounded far below that.
        tag.expect("AES-GCM-SIV input within limits").into()
    }

    /// Decrypts `buf` in place after checking `tag`; on failure `buf` is left zeroed, so no
    /// unauthenticated plaintext can escape.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic> {
        let nonce = Nonce::from(*nonce);
        let tag = Tag::from(*tag);
        let r = match self {
            Aead::A128(c) => c.decrypt_inout_detached(&nonce, aad, buf.into(), &tag),
            Aead::A192(c) => c.decrypt_inout_detached(&nonce, aad, buf.into(), &tag),
            Aead::A256(c) => c.decrypt_inout_detached(&nonce, aad, buf.into(), &tag),
        };
        r.map_err(|_| {
            buf.fill(0);
            Unauthentic
        })
    }

    /// `nonce ‖ ciphertext ‖ tag`: the compact form used for wrapped material.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(nonce);
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(nonce, aad, &mut out[NONCE_LEN..]);
        out.extend_from_slice(&tag);
        out
    }

    /// Opens the form [`Aead::seal`] produces.
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, Unauthentic> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Unauthentic);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| Unauthentic)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Unauthentic)?;
        let mut buf = zeroize::Zeroizing::new(body.to_vec());
        self.open_in_place(nonce, aad, &mut buf, tag)?;
        Ok(buf)
    }
}

impl std::fmt::Debug for Aead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aead(AES-{}-GCM-SIV, key redacted)", self.key_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 8452, Appendix C: a selection of C.1 (AES-128), C.2 (AES-256) and C.3 (counter
    /// wrap) cases. Columns: key, nonce, aad, plaintext, ciphertext ‖ tag ("Result").
    const VECTORS: &[(&str, &str, &str, &str, &str)] = &[
        // C.1 #1
        (
            "01000000000000000000000000000000",
            "030000000000000000000000",
            "",
            "",
            "dc20e2d83f25705bb49e439eca56de25",
        ),
        // C.1 #2
        (
            "01000000000000000000000000000000",
            "030000000000000000000000",
            "",
            "0100000000000000",
            "b5d839330ac7b786578782fff6013b815b287c22493a364c",
        ),
        // C.1 #4
        (
            "01000000000000000000000000000000",
            "030000000000000000000000",
            "",
            "01000000000000000000000000000000",
            "743f7c8077ab25f8624e2e948579cf77303aaf90f6fe21199c6068577437a0c4",
        ),
        // C.1 #14
        (
            "01000000000000000000000000000000",
            "030000000000000000000000",
            "010000000000000000000000",
            "02000000",
            "a8fe3e8707eb1f84fb28f8cb73de8e99e2f48a14",
        ),
        // C.1 #15
        (
            "01000000000000000000000000000000",
            "030000000000000000000000",
            "010000000000000000000000000000000200",
            "0300000000000000000000000000000004000000",
            "6bb0fecf5ded9b77f902c7d5da236a4391dd029724afc9805e976f451e6d87f6fe106514",
        ),
        // C.1 #21
        (
            "b3fed1473c528b8426a582995929a149",
            "9e9ad8780c8d63d0ab4149c0",
            "c9882e5386fd9f92ec489c8fde2be2cf97e74e93",
            "9f572c614b4745914474e7c7",
            "f54673c5ddf710c745641c8bc1dc2f871fb7561da1286e655e24b7b0",
        ),
        // C.2 #1
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "030000000000000000000000",
            "",
            "",
            "07f5f4169bbf55a8400cd47ea6fd400f",
        ),
        // C.2 #2
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "030000000000000000000000",
            "",
            "0100000000000000",
            "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28",
        ),
        // C.2 #15
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "030000000000000000000000",
            "010000000000000000000000000000000200",
            "0300000000000000000000000000000004000000",
            "43dd0163cdb48f9fe3212bf61b201976067f342bb879ad976d8242acc188ab59cabfe307",
        ),
        // C.2 #24
        (
            "3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23",
            "688089e55540db1872504e1c",
            "734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541",
            "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
            "626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594",
        ),
        // C.3 #1: the counter wraps modulo 2^32
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "000000000000000000000000000000004db923dc793ee6497c76dcc03a98e108",
            "f3f80f2cf0cb2dd9c5984fcda908456cc537703b5ba70324a6793a7bf218d3eaffffffff000000000000000000000000",
        ),
    ];

    #[test]
    fn rfc8452_vectors() {
        for (key, nonce, aad, pt, expected) in VECTORS {
            let aead = Aead::new(&h(key)).unwrap();
            let nonce: [u8; NONCE_LEN] = h(nonce).try_into().unwrap();
            let sealed = aead.seal(&nonce, &h(aad), &h(pt));
            assert_eq!(
                hex::encode(&sealed[NONCE_LEN..]),
                *expected,
                "key {key} pt {pt}"
            );
            let opened = aead.open(&h(aad), &sealed).unwrap();
            assert_eq!(hex::encode(&*opened), *pt);
        }
    }

    #[test]
    fn aes192_round_trips_and_authenticates() {
        let aead = Aead::new(&[7u8; 24]).unwrap();
        assert_eq!(aead.key_bits(), 192);
        let sealed = aead.seal(&[1; NONCE_LEN], b"aad", b"hello");
        assert_eq!(&*aead.open(b"aad", &sealed).unwrap(), b"hello");
        assert_eq!(aead.open(b"other", &sealed), Err(Unauthentic));
        let mut bad = sealed.clone();
        bad[NONCE_LEN] ^= 1;
        assert_eq!(aead.open(b"aad", &bad), Err(Unauthentic));
        assert_eq!(aead.open(b"aad", &sealed[..20]), Err(Unauthentic));
    }

    #[test]
    fn rejects_other_key_lengths() {
        assert!(Aead::new(&[0; 15]).is_none());
        assert!(Aead::new(&[0; 33]).is_none());
    }
}
