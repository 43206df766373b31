//! JWS compact serialization (RFC 7515 §7.1): the `jws` and `jwt` signature formats.
//!
//! A token is `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`, where the
//! protected header Cairn writes is exactly `{"alg":"…","kid":"<key id>"}`, plus
//! `"typ":"JWT"` for the `jwt` format. The signature is the raw one of [`crate::crypto::sign`]
//! (P1363 `r‖s` for ECDSA, as JWA requires) over the ASCII of the first two parts.
//!
//! Verification keeps the API's convention: a token that is not a JWS at all is an error, a
//! JWS that does not verify for this key — wrong algorithm in its header, another key's id,
//! another payload, an altered signature — is `false`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::b64::{decode_url, encode_url};
use crate::crypto::sign::{SignatureAlgorithm, mismatch, sign, verify};
use crate::error::Error;
use crate::ids::KeyId;
use crate::key::material::{Material, PublicKey};

/// The `typ` of the `jwt` format.
pub const JWT: &str = "JWT";

const WHAT: &str = "JWS";

/// The protected header Cairn writes; field order is the serialization order.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Signs `payload` and returns the compact JWS. With `typ` = `"JWT"` the payload must be a
/// JSON object (a JWT claims set, RFC 7519 §7.2).
pub fn sign_compact<R: rand_core::CryptoRng + ?Sized>(
    kid: KeyId,
    material: &Material,
    alg: SignatureAlgorithm,
    payload: &[u8],
    typ: Option<&str>,
    rng: &mut R,
) -> Result<String, Error> {
    let spec = material.spec();
    if !alg.fits(spec) {
        return Err(mismatch(kid, alg, spec));
    }
    if typ == Some(JWT) && !is_json_object(payload) {
        return Err(Error::invalid(
            "message",
            "a JWT payload must be a JSON object".into(),
        ));
    }
    let header = header_json(alg, &kid.to_string(), typ);
    sign_with_header(kid, material, alg, header.as_bytes(), payload, rng)
}

/// Checks a compact JWS made with the key `kid`.
///
/// * not three base64url parts, or a header that is not a JSON object: `Err(Malformed)`;
/// * `requested_alg` that does not fit the key: `Err(AlgorithmMismatch)`, as for raw
///   signatures (checked first: it is a property of the request, not of the token);
/// * a header `alg` that is unknown, `none` or does not fit the key, a header `kid` that is
///   not this key's id, a `crit` header (no extension is understood here), a header `alg`
///   other than `requested_alg`, a payload other than `expected_payload`: `Ok(false)`;
/// * otherwise the signature decides.
pub fn verify_compact(
    kid: KeyId,
    public: &PublicKey,
    token: &str,
    requested_alg: Option<SignatureAlgorithm>,
    expected_payload: Option<&[u8]>,
) -> Result<bool, Error> {
    let spec = public.spec();
    if let Some(alg) = requested_alg
        && !alg.fits(spec)
    {
        return Err(mismatch(kid, alg, spec));
    }
    let jws = Compact::parse(token)?;
    let Some(alg) = jws
        .header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|name| name.parse::<SignatureAlgorithm>().ok())
        .filter(|alg| alg.fits(spec))
    else {
        return Ok(false);
    };
    let kid_matches = match jws.header.get("kid") {
        None => true,
        Some(Value::String(named)) => named.parse::<KeyId>().is_ok_and(|named| named == kid),
        Some(_) => false,
    };
    if !kid_matches
        || jws.header.contains_key("crit")
        || requested_alg.is_some_and(|requested| requested != alg)
        || expected_payload.is_some_and(|expected| expected != jws.payload.as_slice())
    {
        return Ok(false);
    }
    verify(
        kid,
        public,
        alg,
        jws.signing_input.as_bytes(),
        false,
        &jws.signature,
    )
}

/// The payload of a compact JWS, without checking anything but its form (to return what a
/// token carries after `verify_compact` accepted it).
pub fn payload(token: &str) -> Result<Vec<u8>, Error> {
    Compact::parse(token).map(|jws| jws.payload)
}

fn is_json_object(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|v| v.is_object())
}

fn header_json(alg: SignatureAlgorithm, kid: &str, typ: Option<&str>) -> String {
    let header = Header {
        alg: alg.as_str(),
        kid,
        typ,
    };
    serde_json::to_string(&header).expect("a header of strings serializes")
}

/// Signs `header` (the exact bytes that get encoded) and `payload`.
fn sign_with_header<R: rand_core::CryptoRng + ?Sized>(
    kid: KeyId,
    material: &Material,
    alg: SignatureAlgorithm,
    header: &[u8],
    payload: &[u8],
    rng: &mut R,
) -> Result<String, Error> {
    let mut token = encode_url(header);
    token.push('.');
    token.push_str(&encode_url(payload));
    let signature = sign(kid, material, alg, token.as_bytes(), false, rng)?;
    token.push('.');
    token.push_str(&encode_url(&signature));
    Ok(token)
}

/// A compact JWS taken apart.
struct Compact<'a> {
    /// The first two parts as they appear in the token: what the signature covers.
    signing_input: &'a str,
    header: Map<String, Value>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> Compact<'a> {
    fn parse(token: &'a str) -> Result<Compact<'a>, Error> {
        let mut parts = token.split('.');
        let (Some(header_part), Some(payload_part), Some(signature_part), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::malformed(WHAT, "not three parts separated by dots"));
        };
        let decode = |part: &str, name: &str| {
            decode_url(part)
                .ok_or_else(|| Error::malformed(WHAT, format!("the {name} is not base64url")))
        };
        let header_bytes = decode(header_part, "header")?;
        let payload = decode(payload_part, "payload")?;
        let signature = decode(signature_part, "signature")?;
        let header = serde_json::from_slice::<Map<String, Value>>(&header_bytes)
            .map_err(|_| Error::malformed(WHAT, "the header is not a JSON object"))?;
        let signing_input = &token[..header_part.len() + 1 + payload_part.len()];
        debug_assert_eq!(signing_input.len() + 1 + signature_part.len(), token.len());
        Ok(Compact {
            signing_input,
            header,
            payload,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::jwk::Imported;
    use crate::key::jwk::examples::*;
    use crate::key::spec::{Curve, KeySpec};
    use SignatureAlgorithm::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn kid() -> KeyId {
        "0b7e3c52-4f6d-4c1e-8a3b-2d9f1e6a7c40".parse().unwrap()
    }

    fn material(jwk: &crate::key::jwk::Jwk) -> Material {
        match jwk.import().unwrap() {
            Imported::Private(m) => m,
            Imported::Public(_) => panic!("expected a private key"),
        }
    }

    fn public_of(jwk: &crate::key::jwk::Jwk) -> PublicKey {
        jwk.import().unwrap().public_key().unwrap()
    }

    /// Flips one bit of the decoded signature and re-encodes the token.
    fn tamper_signature(token: &str, index: usize) -> String {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = decode_url(sig).unwrap();
        sig[index] ^= 0x01;
        format!("{input}.{}", encode_url(&sig))
    }

    /// RFC 7515 A.1–A.3 payload: the JWT claims with CRLF line breaks.
    const RFC7515_PAYLOAD: &[u8] =
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    const RFC7515_PAYLOAD_B64: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    /// RFC 7515 A.2.1, the complete JWS.
    const RFC7515_A2_JWS: &str = concat!(
        "eyJhbGciOiJSUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    );

    /// RFC 7515 A.3.1, the complete JWS, and its signature as the published octets.
    const RFC7515_A3_JWS: &str = concat!(
        "eyJhbGciOiJFUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    );
    const RFC7515_A3_SIGNATURE: [u8; 64] = [
        14, 209, 33, 83, 121, 99, 108, 72, 60, 47, 127, 21, 88, 7, 212, 2, 163, 178, 40, 3, 58,
        249, 124, 126, 23, 129, 154, 195, 22, 158, 166, 101, 197, 10, 7, 211, 140, 60, 112, 229,
        216, 241, 45, 175, 8, 74, 84, 128, 166, 101, 144, 197, 242, 147, 80, 154, 143, 63, 127,
        138, 131, 163, 84, 213,
    ];

    /// RFC 7515 A.4.1, the complete JWS (payload "Payload").
    const RFC7515_A4_JWS: &str = concat!(
        "eyJhbGciOiJFUzUxMiJ9",
        ".",
        "UGF5bG9hZA",
        ".",
        "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
    );

    /// RFC 7520 §4 (Figure 7): the payload of every cookbook signature, and Figure 8.
    const RFC7520_PAYLOAD: &str = "It\u{2019}s a dangerous business, Frodo, going out your door. \
        You step onto the road, and if you don't keep your feet, there\u{2019}s no knowing \
        where you might be swept off to.";
    const RFC7520_PAYLOAD_B64: &str = concat!(
        "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IH",
        "lvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBk",
        "b24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcm",
        "UgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4",
    );
    const RFC7520_KID: &str = "bilbo.baggins@hobbiton.example";

    /// RFC 7520 §4.1 (Figures 10 and 12): RS256.
    const RFC7520_41_HEADER: &str = concat!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX",
        "hhbXBsZSJ9",
    );
    const RFC7520_41_SIGNATURE: &str = concat!(
        "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmK",
        "ZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4J",
        "IwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8w",
        "W1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluP",
        "xUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_f",
        "cIe8u9ipH84ogoree7vjbU5y18kDquDg",
    );

    /// RFC 7520 §4.2 (Figures 17 and 19): PS384.
    const RFC7520_42_HEADER: &str = concat!(
        "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX",
        "hhbXBsZSJ9",
    );
    const RFC7520_42_SIGNATURE: &str = concat!(
        "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2I",
        "pN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXU",
        "vdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRX",
        "e8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT",
        "0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a",
        "6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw",
    );

    /// RFC 7520 §4.3 (Figures 24 and 26): ES512.
    const RFC7520_43_HEADER: &str = concat!(
        "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX",
        "hhbXBsZSJ9",
    );
    const RFC7520_43_SIGNATURE: &str = concat!(
        "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvb",
        "u9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kv",
        "AD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2",
    );

    fn rfc7520_token(header: &str, signature: &str) -> String {
        format!("{header}.{RFC7520_PAYLOAD_B64}.{signature}")
    }

    #[test]
    fn rfc7515_a2_rs256_is_reproduced_exactly() {
        assert_eq!(encode_url(RFC7515_PAYLOAD), RFC7515_PAYLOAD_B64);
        let key = material(&rfc7515_a2_rsa());
        // The example's header is `{"alg":"RS256"}`, without a kid.
        for seed in [1, 2] {
            let token = sign_with_header(
                kid(),
                &key,
                Rs256,
                br#"{"alg":"RS256"}"#,
                RFC7515_PAYLOAD,
                &mut rng(seed),
            )
            .unwrap();
            assert_eq!(
                token, RFC7515_A2_JWS,
                "blinding (seed {seed}) must not change the signature"
            );
        }
        let public = key.public_key().unwrap();
        assert!(verify_compact(kid(), &public, RFC7515_A2_JWS, None, None).unwrap());
        assert!(
            verify_compact(
                kid(),
                &public,
                RFC7515_A2_JWS,
                Some(Rs256),
                Some(RFC7515_PAYLOAD)
            )
            .unwrap()
        );
        assert!(
            !verify_compact(
                kid(),
                &public,
                &tamper_signature(RFC7515_A2_JWS, 100),
                None,
                None
            )
            .unwrap()
        );
        assert_eq!(payload(RFC7515_A2_JWS).unwrap(), RFC7515_PAYLOAD);
    }

    #[test]
    fn rfc7515_a3_es256_verifies() {
        let (_, sig) = RFC7515_A3_JWS.rsplit_once('.').unwrap();
        assert_eq!(decode_url(sig).unwrap(), RFC7515_A3_SIGNATURE);
        let public = public_of(&rfc7515_a3_p256());
        assert!(
            verify_compact(
                kid(),
                &public,
                RFC7515_A3_JWS,
                Some(Es256),
                Some(RFC7515_PAYLOAD)
            )
            .unwrap()
        );
        for i in [0, 31, 32, 63] {
            assert!(
                !verify_compact(
                    kid(),
                    &public,
                    &tamper_signature(RFC7515_A3_JWS, i),
                    None,
                    None
                )
                .unwrap()
            );
        }
        // One byte of the payload changed ('joe' → 'jof'), signature kept.
        let mut altered = RFC7515_PAYLOAD.to_vec();
        altered[10] = b'f';
        let forged = RFC7515_A3_JWS.replace(RFC7515_PAYLOAD_B64, &encode_url(&altered));
        assert!(!verify_compact(kid(), &public, &forged, None, None).unwrap());
        // The public half of the published private key is the same key.
        assert_eq!(material(&rfc7515_a3_p256()).public_key().unwrap(), public);
    }

    #[test]
    fn rfc7515_a4_es512_verifies() {
        let public = public_of(&rfc7515_a4_p521());
        assert!(
            verify_compact(
                kid(),
                &public,
                RFC7515_A4_JWS,
                Some(Es512),
                Some(b"Payload")
            )
            .unwrap()
        );
        for i in [0, 65, 66, 131] {
            assert!(
                !verify_compact(
                    kid(),
                    &public,
                    &tamper_signature(RFC7515_A4_JWS, i),
                    None,
                    None
                )
                .unwrap()
            );
        }
        assert!(!verify_compact(kid(), &public, RFC7515_A4_JWS, None, Some(b"payload")).unwrap());
        // P-256's ES256 key cannot check it: the header alg does not fit.
        let other = public_of(&rfc7515_a3_p256());
        assert!(!verify_compact(kid(), &other, RFC7515_A4_JWS, None, None).unwrap());
    }

    #[test]
    fn rfc7520_4_1_rs256_header_and_signature_are_reproduced_exactly() {
        assert_eq!(encode_url(RFC7520_PAYLOAD.as_bytes()), RFC7520_PAYLOAD_B64);
        // Our header layout is the cookbook's: `{"alg":…,"kid":…}`, compact, in that order.
        let header = header_json(Rs256, RFC7520_KID, None);
        assert_eq!(encode_url(header.as_bytes()), RFC7520_41_HEADER);
        let key = material(&rfc7520_rsa_private());
        let token = sign_with_header(
            kid(),
            &key,
            Rs256,
            header.as_bytes(),
            RFC7520_PAYLOAD.as_bytes(),
            &mut rng(3),
        )
        .unwrap();
        assert_eq!(
            token,
            rfc7520_token(RFC7520_41_HEADER, RFC7520_41_SIGNATURE)
        );
    }

    #[test]
    fn rfc7520_4_2_ps384_and_4_3_es512_verify() {
        let rsa = public_of(&rfc7520_rsa_public());
        let ec = public_of(&rfc7520_p521());
        for (public, alg, header, signature) in [
            (&rsa, Rs256, RFC7520_41_HEADER, RFC7520_41_SIGNATURE),
            (&rsa, Ps384, RFC7520_42_HEADER, RFC7520_42_SIGNATURE),
            (&ec, Es512, RFC7520_43_HEADER, RFC7520_43_SIGNATURE),
        ] {
            let token = rfc7520_token(header, signature);
            let signing_input = format!("{header}.{RFC7520_PAYLOAD_B64}");
            let sig = decode_url(signature).unwrap();
            assert!(
                verify(kid(), public, alg, signing_input.as_bytes(), false, &sig).unwrap(),
                "{alg}"
            );
            let mut bad = sig.clone();
            bad[7] ^= 0x40;
            assert!(
                !verify(kid(), public, alg, signing_input.as_bytes(), false, &bad).unwrap(),
                "{alg}"
            );
            // The header names the key "bilbo.baggins@hobbiton.example", not ours: a JWS
            // made with another key is not accepted as this key's.
            assert!(
                !verify_compact(kid(), public, &token, Some(alg), None).unwrap(),
                "{alg}"
            );
        }
        // PS384 is not PS256 or PS512: the salt and hash are bound to the algorithm.
        let signing_input = format!("{RFC7520_42_HEADER}.{RFC7520_PAYLOAD_B64}");
        let sig = decode_url(RFC7520_42_SIGNATURE).unwrap();
        for alg in [Ps256, Ps512, Rs384] {
            assert!(
                !verify(kid(), &rsa, alg, signing_input.as_bytes(), false, &sig).unwrap(),
                "{alg}"
            );
        }
    }

    #[test]
    fn header_is_alg_and_kid_plus_typ_for_jwt() {
        let key = Material::generate(KeySpec::Ec { curve: Curve::P256 }, &mut rng(4)).unwrap();
        let jws = sign_compact(kid(), &key, Es256, b"hello", None, &mut rng(5)).unwrap();
        let header = decode_url(jws.split('.').next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            r#"{"alg":"ES256","kid":"0b7e3c52-4f6d-4c1e-8a3b-2d9f1e6a7c40"}"#
        );
        let jwt = sign_compact(
            kid(),
            &key,
            Es256,
            br#"{"sub":"x"}"#,
            Some(JWT),
            &mut rng(5),
        )
        .unwrap();
        let header = decode_url(jwt.split('.').next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            r#"{"alg":"ES256","kid":"0b7e3c52-4f6d-4c1e-8a3b-2d9f1e6a7c40","typ":"JWT"}"#
        );
        assert_eq!(payload(&jwt).unwrap(), br#"{"sub":"x"}"#);
        // Deterministic per seed.
        assert_eq!(
            jws,
            sign_compact(kid(), &key, Es256, b"hello", None, &mut rng(5)).unwrap()
        );
    }

    #[test]
    fn a_jwt_payload_must_be_a_json_object() {
        let key = Material::generate(KeySpec::Ec { curve: Curve::P256 }, &mut rng(6)).unwrap();
        for bad in [
            &b"[1,2]"[..],
            b"\"claims\"",
            b"42",
            b"not json",
            b"{\"a\":1",
            b"",
            b"\xff{}",
        ] {
            let err = sign_compact(kid(), &key, Es256, bad, Some(JWT), &mut rng(7)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { ref field, .. } if field == "message"),
                "{err}"
            );
            // The same bytes are a fine JWS payload.
            assert!(sign_compact(kid(), &key, Es256, bad, None, &mut rng(7)).is_ok());
        }
        assert!(sign_compact(kid(), &key, Es256, b" {} ", Some(JWT), &mut rng(7)).is_ok());
        let err = sign_compact(kid(), &key, Es384, b"{}", Some(JWT), &mut rng(7)).unwrap_err();
        assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err}");
    }

    #[test]
    fn round_trips_for_every_algorithm() {
        let mut keys: Vec<(Material, Vec<SignatureAlgorithm>)> = Curve::ALL
            .into_iter()
            .zip([Es256, Es384, Es512])
            .map(|(curve, alg)| {
                (
                    Material::generate(KeySpec::Ec { curve }, &mut rng(8)).unwrap(),
                    vec![alg],
                )
            })
            .collect();
        keys.push((
            material(&rfc7515_a2_rsa()),
            vec![Rs256, Rs384, Rs512, Ps256, Ps384, Ps512],
        ));
        for (key, algs) in &keys {
            let public = key.public_key().unwrap();
            for &alg in algs {
                for typ in [None, Some(JWT)] {
                    let token =
                        sign_compact(kid(), key, alg, br#"{"n":1}"#, typ, &mut rng(9)).unwrap();
                    assert!(
                        verify_compact(kid(), &public, &token, Some(alg), Some(br#"{"n":1}"#))
                            .unwrap()
                    );
                    assert!(verify_compact(kid(), &public, &token, None, None).unwrap());
                    assert!(
                        !verify_compact(kid(), &public, &token, None, Some(br#"{"n":2}"#)).unwrap()
                    );
                    assert!(
                        !verify_compact(kid(), &public, &tamper_signature(&token, 5), None, None)
                            .unwrap()
                    );
                    let other_kid = KeyId::random(&mut rng(10));
                    assert!(
                        !verify_compact(other_kid, &public, &token, None, None).unwrap(),
                        "{alg}: kid"
                    );
                }
            }
        }
    }

    #[test]
    fn verification_rules() {
        let key = Material::generate(KeySpec::Ec { curve: Curve::P256 }, &mut rng(11)).unwrap();
        let public = key.public_key().unwrap();
        let check = |token: &str, requested| verify_compact(kid(), &public, token, requested, None);
        let signed = |header: &str| {
            sign_with_header(kid(), &key, Es256, header.as_bytes(), b"p", &mut rng(12)).unwrap()
        };

        // Validly signed, yet refused by a header rule.
        assert!(
            check(&signed(r#"{"alg":"ES256"}"#), None).unwrap(),
            "no kid is fine"
        );
        assert!(
            check(
                &signed(&format!(r#"{{"alg":"ES256","kid":"{}"}}"#, kid())),
                None
            )
            .unwrap()
        );
        assert!(
            check(
                &signed(&format!(
                    r#"{{"alg":"ES256","kid":"{}"}}"#,
                    kid().to_string().to_uppercase()
                )),
                None
            )
            .unwrap()
        );
        assert!(!check(&signed(r#"{"alg":"ES256","kid":"another"}"#), None).unwrap());
        assert!(!check(&signed(r#"{"alg":"ES256","kid":7}"#), None).unwrap());
        assert!(!check(&signed(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#), None).unwrap());
        assert!(!check(&signed(r#"{"kid":"x"}"#), None).unwrap(), "no alg");
        assert!(!check(&signed(r#"{"alg":"none"}"#), None).unwrap());
        assert!(!check(&signed(r#"{"alg":"HS256"}"#), None).unwrap());
        assert!(!check(&signed(r#"{"alg":"es256"}"#), None).unwrap());
        assert!(!check(&signed(r#"{"alg":["ES256"]}"#), None).unwrap());
        // An ES256 signature under a header that claims ES384: the claim does not fit P-256.
        assert!(!check(&signed(r#"{"alg":"ES384"}"#), None).unwrap());
        // The classic "none" token: empty signature.
        let none = format!("{}.{}.", encode_url(br#"{"alg":"none"}"#), encode_url(b"p"));
        assert!(!check(&none, None).unwrap());

        // The requested algorithm must fit the key (an error), and match the header (false).
        let token = sign_compact(kid(), &key, Es256, b"p", None, &mut rng(13)).unwrap();
        assert!(check(&token, Some(Es256)).unwrap());
        let err = check(&token, Some(Rs256)).unwrap_err();
        assert_eq!(
            err,
            mismatch(kid(), Rs256, KeySpec::Ec { curve: Curve::P256 })
        );
        let rsa = material(&rfc7515_a2_rsa());
        let rsa_public = rsa.public_key().unwrap();
        let rs256 = sign_compact(kid(), &rsa, Rs256, b"p", None, &mut rng(14)).unwrap();
        assert!(verify_compact(kid(), &rsa_public, &rs256, Some(Rs256), None).unwrap());
        assert!(!verify_compact(kid(), &rsa_public, &rs256, Some(Rs384), None).unwrap());
        assert!(!verify_compact(kid(), &rsa_public, &rs256, Some(Ps256), None).unwrap());

        // Not a JWS at all: malformed.
        let (h, rest) = token.split_once('.').unwrap();
        for bad in [
            String::new(),
            "abc".to_string(),
            h.to_string(),
            format!("{h}.{rest}.x"),
            format!("{h}.{rest}.."),
            format!("{h}!.{rest}"),
            format!("{h}=.{rest}"),
            format!("{}.{rest}", encode_url(b"[1]")),
            format!("{}.{rest}", encode_url(b"not json")),
            format!("{}.{rest}", encode_url(b"{\"alg\":\"ES256\"")),
            token.replace('.', ". "),
        ] {
            let err = check(&bad, None).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{bad:?}: {err}");
        }
        // A signature that is not base64url is malformed; one of the wrong length is false.
        assert!(matches!(
            check(&format!("{token}*"), None),
            Err(Error::Malformed { .. })
        ));
        let (input, _) = token.rsplit_once('.').unwrap();
        assert!(!check(&format!("{input}.{}", encode_url(&[1; 63])), None).unwrap());
        assert!(!check(&format!("{input}."), None).unwrap());
    }
}
