//! Ciphertexts and data-key blobs: JWE compact serializations (RFC 7516).
//!
//! `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`, with
//! `alg` = `dir` (the service key itself encrypts, there is no wrapped content key) and the
//! protected header naming the key (`kid`), its version (`ver`) and the cipher (`enc`). The
//! header is authenticated: it is the associated data. The caller's `context` is bound the way
//! RFC 7516 §5.1 step 14 binds a JWE AAD: the associated data becomes
//! `ASCII(BASE64URL(header) . BASE64URL(context))`, so decrypting with another context, or
//! without it, fails.
//!
//! No `enc` value is registered for AES-GCM-SIV, so Cairn uses `A128GCMSIV`, `A192GCMSIV` and
//! `A256GCMSIV`; only Cairn reads these tokens.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;
use crate::crypto::aead::{Aead, NONCE_LEN, TAG_LEN};
use crate::error::Error;
use crate::ids::KeyId;

/// The `cty` of a data-key blob: it keeps blobs and ciphertexts apart, so a data key cannot
/// be decrypted as ordinary data (and returned base64 to a caller allowed only to decrypt),
/// nor ordinary data passed off as a data key.
const DATA_KEY_CTY: &str = "cairn.datakey";

/// What a token protects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Caller data from `encrypt`.
    Data,
    /// A data key from `datakey`, with the name the caller gave it.
    DataKey { name: Option<String> },
}

impl Content {
    fn what(&self) -> &'static str {
        match self {
            Content::Data => "ciphertext",
            Content::DataKey { .. } => "data key",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    enc: String,
    kid: KeyId,
    ver: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

fn enc_name(bits: u16) -> &'static str {
    match bits {
        128 => "A128GCMSIV",
        192 => "A192GCMSIV",
        _ => "A256GCMSIV",
    }
}

/// The encoded protected header of a key's ciphertexts, computed once per key: encryption
/// reuses it, and decryption recognises it without parsing JSON.
#[derive(Clone, Debug)]
pub struct KnownHeader {
    encoded: String,
    kid: KeyId,
    ver: u32,
    enc: &'static str,
}

impl KnownHeader {
    /// The header of ordinary ciphertexts of version `ver` of `kid`.
    pub fn data(key_bits: u16, kid: KeyId, ver: u32) -> Self {
        let enc = enc_name(key_bits);
        KnownHeader {
            encoded: encode_header(enc, kid, ver, &Content::Data),
            kid,
            ver,
            enc,
        }
    }
}

fn encode_header(enc: &str, kid: KeyId, ver: u32, content: &Content) -> String {
    let (cty, name) = match content {
        Content::Data => (None, None),
        Content::DataKey { name } => (Some(DATA_KEY_CTY.to_string()), name.clone()),
    };
    let header = Header {
        alg: "dir".into(),
        enc: enc.into(),
        kid,
        ver,
        cty,
        name,
    };
    b64::encode_url(&serde_json::to_vec(&header).expect("header serializes"))
}

/// Encrypts `plaintext` under `aead` (version `ver` of key `kid`) into a compact JWE.
pub fn seal(
    aead: &Aead,
    kid: KeyId,
    ver: u32,
    content: &Content,
    plaintext: &[u8],
    context: Option<&[u8]>,
    nonce: [u8; NONCE_LEN],
) -> String {
    let header = encode_header(enc_name(aead.key_bits()), kid, ver, content);
    seal_with_header(aead, &header, plaintext, context, nonce)
}

/// [`seal`] with a precomputed header.
pub fn seal_known(
    aead: &Aead,
    header: &KnownHeader,
    plaintext: &[u8],
    context: Option<&[u8]>,
    nonce: [u8; NONCE_LEN],
) -> String {
    debug_assert_eq!(header.enc, enc_name(aead.key_bits()));
    seal_with_header(aead, &header.encoded, plaintext, context, nonce)
}

fn seal_with_header(
    aead: &Aead,
    encoded_header: &str,
    plaintext: &[u8],
    context: Option<&[u8]>,
    nonce: [u8; NONCE_LEN],
) -> String {
    let mut body = Zeroizing::new(plaintext.to_vec());
    let aad = associated_data(encoded_header, context);
    let tag = aead.seal_in_place(&nonce, &aad, &mut body);

    let mut out =
        String::with_capacity(encoded_header.len() + 48 + plaintext.len().div_ceil(3) * 4);
    out.push_str(encoded_header);
    out.push_str("..");
    b64::encode_url_into(&nonce, &mut out);
    out.push('.');
    b64::encode_url_into(&body, &mut out);
    out.push('.');
    b64::encode_url_into(&tag, &mut out);
    out
}

/// A parsed token, not yet authenticated: nothing in it may be trusted before [`Jwe::open`].
pub struct Jwe<'a> {
    encoded_header: &'a str,
    header: Header,
    iv: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
    tag: [u8; TAG_LEN],
}

/// Parses a compact JWE of the kind `expected` (data or data key). Any structural fault is a
/// clean [`Error::Malformed`]; a token of the other kind is refused here too.
pub fn parse<'a>(
    token: &'a str,
    expected: &Content,
    known: Option<&KnownHeader>,
) -> Result<Jwe<'a>, Error> {
    let what = expected.what();
    let bad = |reason: &str| Error::malformed(what, reason);
    let mut parts = token.split('.');
    let (Some(h), Some(k), Some(iv), Some(ct), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad(
            "expected a JWE compact serialization of five dot-separated parts",
        ));
    };
    if !k.is_empty() {
        return Err(bad("the encrypted-key part must be empty (alg dir)"));
    }
    let header = match known {
        // The header this key writes: its fields are known without parsing JSON. (It is
        // authenticated like any other when the token is opened.)
        Some(k) if k.encoded == h && *expected == Content::Data => Header {
            alg: "dir".into(),
            enc: k.enc.into(),
            kid: k.kid,
            ver: k.ver,
            cty: None,
            name: None,
        },
        _ => {
            let json = b64::decode_url(h).ok_or_else(|| bad("header is not base64url"))?;
            serde_json::from_slice(&json).map_err(|_| bad("header is not a Cairn JWE header"))?
        }
    };
    if header.alg != "dir"
        || !["A128GCMSIV", "A192GCMSIV", "A256GCMSIV"].contains(&header.enc.as_str())
    {
        return Err(bad("unsupported alg or enc"));
    }
    let is_data_key = header.cty.as_deref() == Some(DATA_KEY_CTY);
    match (expected, is_data_key, header.cty.is_some()) {
        (Content::Data, false, false) | (Content::DataKey { .. }, true, _) => {}
        (Content::Data, _, _) => return Err(bad("this is a data-key blob, not a ciphertext")),
        (Content::DataKey { .. }, _, _) => {
            return Err(bad("this is a ciphertext, not a data-key blob"));
        }
    }
    let iv = b64::decode_url(iv)
        .and_then(|v| <[u8; NONCE_LEN]>::try_from(v).ok())
        .ok_or_else(|| bad("iv must be 12 bytes of base64url"))?;
    let tag = b64::decode_url(tag)
        .and_then(|v| <[u8; TAG_LEN]>::try_from(v).ok())
        .ok_or_else(|| bad("tag must be 16 bytes of base64url"))?;
    let ciphertext = b64::decode_url(ct).ok_or_else(|| bad("ciphertext is not base64url"))?;
    Ok(Jwe {
        encoded_header: h,
        header,
        iv,
        ciphertext,
        tag,
    })
}

impl Jwe<'_> {
    /// The key the token names (not yet authenticated).
    pub fn kid(&self) -> KeyId {
        self.header.kid
    }

    /// The key version the token names (not yet authenticated).
    pub fn version(&self) -> u32 {
        self.header.ver
    }

    /// Authenticates and decrypts. Fails cleanly on any altered byte, wrong key or wrong
    /// context; unauthenticated plaintext never leaves this function.
    pub fn open(self, aead: &Aead, context: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, Error> {
        let what = if self.header.cty.is_some() {
            "data key"
        } else {
            "ciphertext"
        };
        if self.header.enc != enc_name(aead.key_bits()) {
            return Err(Error::DecryptionFailed { what: what.into() });
        }
        let aad = associated_data(self.encoded_header, context);
        let mut body = Zeroizing::new(self.ciphertext);
        aead.open_in_place(&self.iv, &aad, &mut body, &self.tag)
            .map_err(|_| Error::DecryptionFailed { what: what.into() })?;
        Ok(body)
    }
}

/// `ASCII(BASE64URL(header))`, followed by `.BASE64URL(context)` when there is a context.
/// An empty context is no context: it carries nothing to bind.
fn associated_data(encoded_header: &str, context: Option<&[u8]>) -> Vec<u8> {
    match context {
        Some(ctx) if !ctx.is_empty() => {
            let mut aad = encoded_header.as_bytes().to_vec();
            aad.push(b'.');
            aad.extend_from_slice(b64::encode_url(ctx).as_bytes());
            aad
        }
        _ => encoded_header.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    fn setup() -> (Aead, KeyId, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        (Aead::new(&key).unwrap(), KeyId::random(&mut rng), rng)
    }

    #[test]
    fn round_trip_with_and_without_context() {
        let (aead, kid, _) = setup();
        let t = seal(
            &aead,
            kid,
            1,
            &Content::Data,
            b"hello",
            Some(b"ctx"),
            [7; 12],
        );
        assert_eq!(t.split('.').count(), 5);
        let jwe = parse(&t, &Content::Data, None).unwrap();
        assert_eq!((jwe.kid(), jwe.version()), (kid, 1));
        assert_eq!(&*jwe.open(&aead, Some(b"ctx")).unwrap(), b"hello");
        for ctx in [None, Some(&b"other"[..]), Some(&b""[..])] {
            let err = parse(&t, &Content::Data, None)
                .unwrap()
                .open(&aead, ctx)
                .unwrap_err();
            assert!(matches!(err, Error::DecryptionFailed { .. }), "{ctx:?}");
        }
        let t = seal(&aead, kid, 1, &Content::Data, b"hi", Some(b""), [7; 12]);
        assert_eq!(
            &*parse(&t, &Content::Data, None)
                .unwrap()
                .open(&aead, None)
                .unwrap(),
            b"hi"
        );
    }

    #[test]
    fn header_names_key_version_and_cipher() {
        let (aead, kid, _) = setup();
        let t = seal(&aead, kid, 3, &Content::Data, b"x", None, [0; 12]);
        let header = b64::decode_url(t.split('.').next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(r#"{{"alg":"dir","enc":"A256GCMSIV","kid":"{kid}","ver":3}}"#)
        );
    }

    #[test]
    fn the_known_header_path_matches_the_general_one() {
        let (aead, kid, _) = setup();
        let known = KnownHeader::data(aead.key_bits(), kid, 1);
        let fast = seal_known(&aead, &known, b"same", Some(b"c"), [4; 12]);
        let slow = seal(&aead, kid, 1, &Content::Data, b"same", Some(b"c"), [4; 12]);
        assert_eq!(fast, slow);
        let opened = parse(&slow, &Content::Data, Some(&known)).unwrap();
        assert_eq!((opened.kid(), opened.version()), (kid, 1));
        assert_eq!(&*opened.open(&aead, Some(b"c")).unwrap(), b"same");
        // Another key's header takes the general path and is told apart.
        let other = KnownHeader::data(aead.key_bits(), KeyId::from_uuid(uuid::Uuid::nil()), 1);
        assert_eq!(
            parse(&slow, &Content::Data, Some(&other)).unwrap().kid(),
            kid
        );
    }

    #[test]
    fn data_keys_and_ciphertexts_do_not_mix() {
        let (aead, kid, _) = setup();
        let dk = Content::DataKey {
            name: Some("db".into()),
        };
        let blob = seal(&aead, kid, 1, &dk, &[1; 32], None, [1; 12]);
        assert!(matches!(
            parse(&blob, &Content::Data, None),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(
            &*parse(&blob, &dk, None).unwrap().open(&aead, None).unwrap(),
            &[1; 32]
        );
        let ct = seal(&aead, kid, 1, &Content::Data, b"x", None, [1; 12]);
        assert!(matches!(
            parse(&ct, &dk, None),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn every_altered_or_truncated_token_fails_cleanly() {
        let (aead, kid, mut rng) = setup();
        let t = seal(
            &aead,
            kid,
            1,
            &Content::Data,
            b"attack at dawn",
            None,
            [2; 12],
        );
        let bytes = t.as_bytes();
        for i in 0..bytes.len() {
            for flip in [1u8, 0x20] {
                let mut m = bytes.to_vec();
                m[i] ^= flip;
                let Ok(s) = String::from_utf8(m) else {
                    continue;
                };
                let r = parse(&s, &Content::Data, None).and_then(|j| j.open(&aead, None));
                assert!(r.is_err(), "altered byte {i} accepted");
            }
        }
        for n in 0..bytes.len() {
            let r = parse(&t[..n], &Content::Data, None).and_then(|j| j.open(&aead, None));
            assert!(r.is_err(), "truncated to {n} accepted");
        }
        let mut other = [0u8; 32];
        rng.fill_bytes(&mut other);
        let wrong = Aead::new(&other).unwrap();
        assert!(
            parse(&t, &Content::Data, None)
                .unwrap()
                .open(&wrong, None)
                .is_err()
        );
        let small = Aead::new(&other[..16]).unwrap();
        assert!(
            parse(&t, &Content::Data, None)
                .unwrap()
                .open(&small, None)
                .is_err()
        );
    }
}
