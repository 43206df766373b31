//! JSON Web Keys (RFC 7517) as the OKMS API carries them: imported keys arrive as JWKs, and
//! the public part of an asymmetric key is exported as one.
//!
//! Import is strict, because a key that is accepted here is trusted for years: every field is
//! checked against the key type, sizes are exact, an EC point must be on its curve, a private
//! key must match its public half, and an RSA private key is validated as a whole (p·q = n,
//! d·e ≡ 1, CRT values consistent). Errors name the offending field (`keys[0].n`) and never
//! quote a value.

use std::fmt;

use rsa::BoxedUint;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::b64::{decode_url, encode_url};
use crate::crypto::sign::SignatureAlgorithm;
use crate::error::Error;
use crate::ids::KeyId;
use crate::key::material::{Material, PublicKey};
use crate::key::operation::Operations;
use crate::key::spec::{Curve, KeySpec, KeyType};

/// The JWK `use` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JwkUse {
    Sig,
    Enc,
}

/// A JSON Web Key with the fields of the OKMS `JsonWebKeyRequest` / `JsonWebKeyResponse`.
///
/// The secret fields (`k`, `d`, `dp`, `dq`, `p`, `q`, `qi`) are zeroized when the value is
/// dropped and never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<JwkUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Operations>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<SignatureAlgorithm>,
    pub kty: KeyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<Curve>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// What a JWK import yields: private material (an AES key or an asymmetric private key) or a
/// public key alone (which can only verify).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imported {
    Private(Material),
    Public(PublicKey),
}

impl Imported {
    pub fn spec(&self) -> KeySpec {
        match self {
            Imported::Private(m) => m.spec(),
            Imported::Public(p) => p.spec(),
        }
    }

    /// The public half, if the key is asymmetric.
    pub fn public_key(&self) -> Option<PublicKey> {
        match self {
            Imported::Private(m) => m.public_key(),
            Imported::Public(p) => Some(p.clone()),
        }
    }
}

impl Jwk {
    /// A JWK with only `kty` set.
    pub fn bare(kty: KeyType) -> Jwk {
        Jwk {
            key_use: None,
            key_ops: None,
            alg: None,
            kty,
            n: None,
            e: None,
            k: None,
            crv: None,
            x: None,
            y: None,
            d: None,
            dp: None,
            dq: None,
            p: None,
            q: None,
            qi: None,
            kid: None,
        }
    }

    /// Whether the JWK carries private (or secret) material.
    pub fn has_private(&self) -> bool {
        self.k.is_some() || self.d.is_some()
    }

    /// Validates the key and turns it into material, naming fields as the first key of an
    /// import request (`keys[0].…`).
    ///
    /// `use`, `key_ops` and `kid` are not checked here: the key's operations and id are the
    /// service's business, decided by the caller.
    pub fn import(&self) -> Result<Imported, Error> {
        self.import_at("keys[0]")
    }

    /// [`Jwk::import`], naming fields under `path` instead (`keys[2]`, `jwk`…).
    pub fn import_at(&self, path: &str) -> Result<Imported, Error> {
        let f = Fields { jwk: self, path };
        f.only_fields_of_kty()?;
        match self.kty {
            KeyType::Oct => f.import_oct(),
            KeyType::Rsa => f.import_rsa(),
            KeyType::Ec => f.import_ec(),
        }
    }
}

/// Redacted: secret fields show only whether they are present.
impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("use", &self.key_use)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("kty", &self.kty)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("k", &redacted(&self.k))
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &redacted(&self.d))
            .field("dp", &redacted(&self.dp))
            .field("dq", &redacted(&self.dq))
            .field("p", &redacted(&self.p))
            .field("q", &redacted(&self.q))
            .field("qi", &redacted(&self.qi))
            .field("kid", &self.kid)
            .finish()
    }
}

impl Drop for Jwk {
    fn drop(&mut self) {
        self.k.zeroize();
        self.d.zeroize();
        self.dp.zeroize();
        self.dq.zeroize();
        self.p.zeroize();
        self.q.zeroize();
        self.qi.zeroize();
    }
}

impl PublicKey {
    /// The public JWK the API exports (`GET …/servicekey/{id}?format=jwk`): `kid` is the key
    /// id, `use` is `sig` (asymmetric keys only sign here), `key_ops` the operations of `ops`
    /// that a public key can perform (verify), RSA `n`/`e` as minimal big-endian integers and
    /// EC `x`/`y` at full field length, all base64url.
    pub fn to_jwk(&self, kid: KeyId, ops: Operations) -> Jwk {
        let spec = self.spec();
        let public_ops = Operations::supported(spec.key_type(), false);
        let ops: Operations = ops.iter().filter(|op| public_ops.contains(*op)).collect();
        let mut jwk = Jwk::bare(spec.key_type());
        jwk.kid = Some(kid.to_string());
        jwk.key_use = Some(JwkUse::Sig);
        jwk.key_ops = (!ops.is_empty()).then_some(ops);
        match self {
            PublicKey::Rsa(k) => {
                jwk.n = Some(encode_url(&k.n_bytes()));
                jwk.e = Some(encode_url(&k.e_bytes()));
            }
            PublicKey::P256(k) => {
                set_point(&mut jwk, Curve::P256, k.to_sec1_point(false).as_bytes())
            }
            PublicKey::P384(k) => {
                set_point(&mut jwk, Curve::P384, k.to_sec1_point(false).as_bytes())
            }
            PublicKey::P521(k) => {
                set_point(&mut jwk, Curve::P521, k.to_sec1_point(false).as_bytes())
            }
        }
        jwk
    }
}

/// Fills `crv`, `x` and `y` from an uncompressed SEC1 point (`04 ‖ x ‖ y`).
fn set_point(jwk: &mut Jwk, curve: Curve, sec1: &[u8]) {
    let len = curve.field_len();
    debug_assert_eq!(sec1.len(), 1 + 2 * len);
    debug_assert_eq!(sec1[0], 0x04);
    jwk.crv = Some(curve);
    jwk.x = Some(encode_url(&sec1[1..1 + len]));
    jwk.y = Some(encode_url(&sec1[1 + len..]));
}

/// A JWK being imported, with the path its errors name.
struct Fields<'a> {
    jwk: &'a Jwk,
    path: &'a str,
}

impl Fields<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> Error {
        Error::invalid(&format!("{}.{field}", self.path), reason.into())
    }

    /// Refuses parameters that belong to another key type: a JWK that mixes them is either a
    /// mistake or an attempt to confuse, and we would silently ignore part of it.
    fn only_fields_of_kty(&self) -> Result<(), Error> {
        let j = self.jwk;
        let present = [
            ("n", j.n.is_some()),
            ("e", j.e.is_some()),
            ("k", j.k.is_some()),
            ("crv", j.crv.is_some()),
            ("x", j.x.is_some()),
            ("y", j.y.is_some()),
            ("d", j.d.is_some()),
            ("dp", j.dp.is_some()),
            ("dq", j.dq.is_some()),
            ("p", j.p.is_some()),
            ("q", j.q.is_some()),
            ("qi", j.qi.is_some()),
        ];
        let allowed: &[&str] = match j.kty {
            KeyType::Oct => &["k"],
            KeyType::Rsa => &["n", "e", "d", "dp", "dq", "p", "q", "qi"],
            KeyType::Ec => &["crv", "x", "y", "d"],
        };
        match present
            .iter()
            .find(|(name, there)| *there && !allowed.contains(name))
        {
            Some((name, _)) => Err(self.err(name, format!("not a parameter of {} keys", j.kty))),
            None => Ok(()),
        }
    }

    /// A required base64url field, decoded.
    fn required(&self, name: &str, value: &Option<String>) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.optional(name, value)?
            .ok_or_else(|| self.err(name, format!("required for {} keys", self.jwk.kty)))
    }

    fn optional(
        &self,
        name: &str,
        value: &Option<String>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let Some(text) = value else { return Ok(None) };
        let bytes =
            decode_url(text).ok_or_else(|| self.err(name, "not base64url without padding"))?;
        Ok(Some(Zeroizing::new(bytes)))
    }

    /// The `alg`, if given, must be one the key can be used with.
    fn check_alg(&self, spec: KeySpec) -> Result<(), Error> {
        match self.jwk.alg {
            Some(alg) if !alg.fits(spec) => {
                Err(self.err("alg", format!("{alg} cannot be used with {spec} keys")))
            }
            _ => Ok(()),
        }
    }

    fn import_oct(&self) -> Result<Imported, Error> {
        let k = self.required("k", &self.jwk.k)?;
        let material = Material::oct(k).map_err(|e| match e {
            Error::InvalidArgument { reason, .. } => self.err("k", reason),
            other => other,
        })?;
        self.check_alg(material.spec())?;
        Ok(Imported::Private(material))
    }

    fn import_rsa(&self) -> Result<Imported, Error> {
        let j = self.jwk;
        let n_bytes = self.required("n", &j.n)?;
        let e_bytes = self.required("e", &j.e)?;
        let n = self.public_uint("n", &n_bytes)?;
        let e = self.public_uint("e", &e_bytes)?;
        let bits = n.bit_width_vartime();
        let spec = u16::try_from(bits)
            .ok()
            .filter(|b| KeySpec::RSA_SIZES.contains(b))
            .map(|bits| KeySpec::Rsa { bits })
            .ok_or_else(|| {
                self.err(
                    "n",
                    format!("a {bits}-bit modulus; RSA keys have 2048, 3072 or 4096 bits"),
                )
            })?;
        self.check_alg(spec)?;

        let Some(d) = self.optional("d", &j.d)? else {
            if let Some(name) = [
                ("p", &j.p),
                ("q", &j.q),
                ("dp", &j.dp),
                ("dq", &j.dq),
                ("qi", &j.qi),
            ]
            .into_iter()
            .find_map(|(name, v)| v.is_some().then_some(name))
            {
                return Err(self.err(name, "a private parameter without d"));
            }
            let public = rsa::PublicKey::new(n, e).map_err(|err| self.rsa_public_error(err))?;
            debug_assert_eq!(public.n().bit_width(), bits);
            return Ok(Imported::Public(PublicKey::Rsa(public)));
        };
        let p = self.required("p", &j.p)?;
        let q = self.required("q", &j.q)?;
        let precision = n.bits_precision();
        let d = self.secret_uint("d", &d, precision)?;
        let p = self.secret_uint("p", &p, precision)?;
        let q = self.secret_uint("q", &q, precision)?;
        // Checks the public part, d < n, p·q = n, distinct primes and d·e ≡ 1 mod (p-1), (q-1).
        let key = rsa::PrivateKey::from_components(n, e, d, vec![p, q])
            .map_err(|err| self.rsa_private_error(err))?;
        self.check_crt("dp", &j.dp, key.dp())?;
        self.check_crt("dq", &j.dq, key.dq())?;
        self.check_crt("qi", &j.qi, key.crt_coefficient().as_ref())?;
        let material = Material::Rsa(Box::new(key));
        debug_assert_eq!(material.spec(), spec);
        Ok(Imported::Private(material))
    }

    /// A public integer (`n`, `e`) in its minimal encoding (RFC 7518 §2, Base64urlUInt).
    fn public_uint(&self, name: &str, bytes: &[u8]) -> Result<BoxedUint, Error> {
        match bytes.first() {
            None => return Err(self.err(name, "empty")),
            Some(0) => {
                return Err(self.err(name, "has a leading zero octet; use the minimal encoding"));
            }
            Some(_) => {}
        }
        let bits = u32::try_from(bytes.len() * 8).map_err(|_| self.err(name, "too long"))?;
        BoxedUint::from_be_slice(bytes, bits).map_err(|_| self.err(name, "too long"))
    }

    /// A private integer, at the modulus's precision so that arithmetic on it takes a time
    /// that depends on public sizes only.
    fn secret_uint(&self, name: &str, bytes: &[u8], precision: u32) -> Result<BoxedUint, Error> {
        if bytes.is_empty() {
            return Err(self.err(name, "empty"));
        }
        BoxedUint::from_be_slice(bytes, precision)
            .map_err(|_| self.err(name, "longer than the modulus"))
    }

    /// A CRT value given in the JWK must equal the one computed from d, p and q.
    fn check_crt(
        &self,
        name: &str,
        given: &Option<String>,
        computed: Option<&BoxedUint>,
    ) -> Result<(), Error> {
        let Some(given) = self.optional(name, given)? else {
            return Ok(());
        };
        let computed = Zeroizing::new(computed.map(|c| c.to_be_bytes()).unwrap_or_default());
        if !ct_eq_be(&given, &computed) {
            return Err(self.err(name, "does not match d, p and q"));
        }
        Ok(())
    }

    fn rsa_public_error(&self, err: rsa::Error) -> Error {
        match err {
            rsa::Error::InvalidModulus
            | rsa::Error::ModulusTooSmall
            | rsa::Error::ModulusTooLarge => self.err("n", "not a valid RSA modulus"),
            _ => self.err("e", "not a valid RSA public exponent"),
        }
    }

    fn rsa_private_error(&self, err: rsa::Error) -> Error {
        match err {
            rsa::Error::InvalidModulus => self.err("p", "p × q is not the modulus n"),
            rsa::Error::InvalidPrime | rsa::Error::NprimesTooSmall => {
                self.err("p", "p and q are not valid distinct prime factors of n")
            }
            rsa::Error::InvalidExponent => self.err("d", "d does not match e, p and q"),
            rsa::Error::PublicExponentTooSmall | rsa::Error::PublicExponentTooLarge => {
                self.err("e", "not a valid RSA public exponent")
            }
            _ => self.err("d", "not a valid RSA private key"),
        }
    }

    fn import_ec(&self) -> Result<Imported, Error> {
        let j = self.jwk;
        let curve = j
            .crv
            .ok_or_else(|| self.err("crv", "required for EC keys"))?;
        let spec = KeySpec::Ec { curve };
        self.check_alg(spec)?;
        let len = curve.field_len();
        let x = self.required("x", &j.x)?;
        let y = self.required("y", &j.y)?;
        for (name, coordinate) in [("x", &x), ("y", &y)] {
            if coordinate.len() != len {
                return Err(self.err(
                    name,
                    format!(
                        "a {curve} coordinate has {len} bytes, not {}",
                        coordinate.len()
                    ),
                ));
            }
        }
        let sec1 = [&[0x04][..], &x, &y].concat();
        let off_curve = |_| self.err("x", format!("(x, y) is not a point of {curve}"));
        let public = match curve {
            Curve::P256 => PublicKey::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
            ),
            Curve::P384 => PublicKey::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
            ),
            Curve::P521 => PublicKey::P521(
                p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(off_curve)?,
            ),
        };
        let Some(d) = self.optional("d", &j.d)? else {
            return Ok(Imported::Public(public));
        };
        if d.len() != len {
            return Err(self.err(
                "d",
                format!("a {curve} private key has {len} bytes, not {}", d.len()),
            ));
        }
        // `Material::from_sealable_bytes` takes exactly the JWK `d`: fixed length, in range.
        let material = Material::from_sealable_bytes(spec, &d).map_err(|_| {
            self.err(
                "d",
                format!("not a {curve} private key (zero, or not below the group order)"),
            )
        })?;
        if material.public_key().as_ref() != Some(&public) {
            return Err(self.err("d", "does not match the public key (x, y)"));
        }
        Ok(Imported::Private(material))
    }
}

/// Constant-time equality of two big-endian integers of possibly different encoded lengths.
fn ct_eq_be(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let pad = |v: &[u8]| {
        let mut out = Zeroizing::new(vec![0u8; len]);
        out[len - v.len()..].copy_from_slice(v);
        out
    };
    bool::from(pad(a).as_slice().ct_eq(pad(b).as_slice()))
}

/// Published example keys, shared by the tests of this crate. Each is copied from its RFC.
#[cfg(test)]
pub(crate) mod examples {
    use super::Jwk;

    /// Builds a JWK from `(name, value)` pairs, through serde like an API request.
    pub(crate) fn jwk(fields: &[(&str, &str)]) -> Jwk {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).expect("example JWK parses")
    }

    /// RFC 7515 Appendix A.2.1: the RSA key of the RS256 example.
    pub(crate) fn rfc7515_a2_rsa() -> Jwk {
        jwk(&[
            ("kty", "RSA"),
            (
                "n",
                "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
            ),
            ("e", "AQAB"),
            (
                "d",
                "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
            ),
            (
                "p",
                "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
            ),
            (
                "q",
                "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
            ),
            (
                "dp",
                "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
            ),
            (
                "dq",
                "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
            ),
            (
                "qi",
                "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
            ),
        ])
    }

    /// RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example.
    pub(crate) fn rfc7515_a3_p256() -> Jwk {
        jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
            ("y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"),
            ("d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"),
        ])
    }

    /// RFC 7515 Appendix A.4.1: the P-521 key of the ES512 example.
    pub(crate) fn rfc7515_a4_p521() -> Jwk {
        jwk(&[
            ("kty", "EC"),
            ("crv", "P-521"),
            (
                "x",
                "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
            ),
            (
                "y",
                "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
            ),
            (
                "d",
                "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C",
            ),
        ])
    }

    /// RFC 7517 Appendix A.1: the modulus of the RSA example key ("2011-04-29"), line
    /// breaks of the RFC kept as separate pieces.
    pub(crate) const RFC7517_RSA_N: &str = concat!(
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbf",
        "AAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj",
        "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65",
        "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQ",
        "vRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF",
        "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK",
        "nqDKgw",
    );
    /// RFC 7517 Appendix A.1/A.2: the coordinates of the P-256 example key ("1").
    pub(crate) const RFC7517_EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
    pub(crate) const RFC7517_EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

    /// RFC 7517 Appendix A.1, first key.
    pub(crate) fn rfc7517_a1_ec() -> Jwk {
        jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("x", RFC7517_EC_X),
            ("y", RFC7517_EC_Y),
            ("use", "enc"),
            ("kid", "1"),
        ])
    }

    /// RFC 7517 Appendix A.1, second key.
    pub(crate) fn rfc7517_a1_rsa() -> Jwk {
        jwk(&[
            ("kty", "RSA"),
            ("n", RFC7517_RSA_N),
            ("e", "AQAB"),
            ("alg", "RS256"),
            ("kid", "2011-04-29"),
        ])
    }

    /// RFC 7517 Appendix A.2, first key.
    pub(crate) fn rfc7517_a2_ec() -> Jwk {
        jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("x", RFC7517_EC_X),
            ("y", RFC7517_EC_Y),
            ("d", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"),
            ("use", "enc"),
            ("kid", "1"),
        ])
    }

    /// RFC 7517 Appendix A.2, second key (its `n` as wrapped in A.2, which the tests check
    /// against A.1's).
    pub(crate) fn rfc7517_a2_rsa() -> Jwk {
        jwk(&[
            ("kty", "RSA"),
            (
                "n",
                concat!(
                    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbb",
                    "fAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3ok",
                    "njhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v",
                    "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu",
                    "6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0",
                    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8a",
                    "wapJzKnqDKgw",
                ),
            ),
            ("e", "AQAB"),
            (
                "d",
                concat!(
                    "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7d",
                    "x5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_",
                    "YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywb",
                    "ReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5Zi",
                    "G7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z",
                    "4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc",
                    "0X4jfcKoAC8Q",
                ),
            ),
            (
                "p",
                concat!(
                    "83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVn",
                    "wD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XO",
                    "uVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O",
                    "0nVbfs",
                ),
            ),
            (
                "q",
                concat!(
                    "3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumq",
                    "jVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VV",
                    "S78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb",
                    "6yelxk",
                ),
            ),
            (
                "dp",
                concat!(
                    "G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimY",
                    "wxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA",
                    "77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8Y",
                    "eiKkTiBj0",
                ),
            ),
            (
                "dq",
                concat!(
                    "s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUv",
                    "MfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqU",
                    "fLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txX",
                    "w494Q_cgk",
                ),
            ),
            (
                "qi",
                concat!(
                    "GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgU",
                    "IZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_",
                    "mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia",
                    "6zTKhAVRU",
                ),
            ),
            ("alg", "RS256"),
            ("kid", "2011-04-29"),
        ])
    }

    /// RFC 7517 Appendix A.3, second key: a 64-byte HMAC key.
    pub(crate) const RFC7517_A3_HMAC_K: &str = concat!(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH7",
        "5aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    );

    /// RFC 7520 §3.1/3.2 (Figures 1 and 2): the P-521 key of the cookbook, line breaks of
    /// the RFC kept as separate pieces.
    pub(crate) const RFC7520_EC_X: &str = concat!(
        "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9",
        "A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
    );
    pub(crate) const RFC7520_EC_Y: &str = concat!(
        "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVy",
        "SsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
    );

    pub(crate) fn rfc7520_p521() -> Jwk {
        jwk(&[
            ("kty", "EC"),
            ("kid", "bilbo.baggins@hobbiton.example"),
            ("use", "sig"),
            ("crv", "P-521"),
            ("x", RFC7520_EC_X),
            ("y", RFC7520_EC_Y),
            (
                "d",
                concat!(
                    "AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zb",
                    "KipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt",
                ),
            ),
        ])
    }

    /// RFC 7520 §3.3/3.4 (Figures 3 and 4): the RSA 2048 key of the cookbook.
    pub(crate) const RFC7520_RSA_N: &str = concat!(
        "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT",
        "-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqV",
        "wGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-",
        "oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde",
        "3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuC",
        "LqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5g",
        "HdrNP5zw",
    );

    pub(crate) fn rfc7520_rsa_public() -> Jwk {
        jwk(&[
            ("kty", "RSA"),
            ("kid", "bilbo.baggins@hobbiton.example"),
            ("use", "sig"),
            ("n", RFC7520_RSA_N),
            ("e", "AQAB"),
        ])
    }

    pub(crate) fn rfc7520_rsa_private() -> Jwk {
        jwk(&[
            ("kty", "RSA"),
            ("kid", "bilbo.baggins@hobbiton.example"),
            ("use", "sig"),
            ("n", RFC7520_RSA_N),
            ("e", "AQAB"),
            (
                "d",
                concat!(
                    "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78e",
                    "iZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRld",
                    "Y7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-b",
                    "MwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU",
                    "6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDj",
                    "d18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOc",
                    "OpBrQzwQ",
                ),
            ),
            (
                "p",
                concat!(
                    "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nR",
                    "aO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmG",
                    "peNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8",
                    "bUq0k",
                ),
            ),
            (
                "q",
                concat!(
                    "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT",
                    "8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7an",
                    "V5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0",
                    "s7pFc",
                ),
            ),
            (
                "dp",
                concat!(
                    "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q",
                    "1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn",
                    "-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX",
                    "59ehik",
                ),
            ),
            (
                "dq",
                concat!(
                    "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pEr",
                    "AMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJK",
                    "bi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdK",
                    "T1cYF8",
                ),
            ),
            (
                "qi",
                concat!(
                    "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-N",
                    "ZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDh",
                    "jJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpP",
                    "z8aaI4",
                ),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;
    use crate::key::operation::Operation;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn kid() -> KeyId {
        "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11".parse().unwrap()
    }

    fn private(jwk: &Jwk) -> Material {
        match jwk.import().unwrap() {
            Imported::Private(m) => m,
            Imported::Public(p) => panic!("expected a private key, got {p:?}"),
        }
    }

    fn public(jwk: &Jwk) -> PublicKey {
        match jwk.import().unwrap() {
            Imported::Public(p) => p,
            Imported::Private(m) => panic!("expected a public key, got {m:?}"),
        }
    }

    /// The error must be an invalid argument naming exactly `field`.
    #[track_caller]
    fn assert_rejects(jwk: &Jwk, field: &str) {
        match jwk.import() {
            Err(Error::InvalidArgument { field: f, reason }) => {
                assert_eq!(f, field, "wrong field (reason: {reason})");
            }
            other => panic!("expected invalid {field}, got {other:?}"),
        }
    }

    fn with(mut jwk: Jwk, edit: impl FnOnce(&mut Jwk)) -> Jwk {
        edit(&mut jwk);
        jwk
    }

    #[test]
    fn rfc7517_a1_public_keys_import_and_export_unchanged() {
        let ec = public(&rfc7517_a1_ec());
        assert_eq!(ec.spec(), KeySpec::Ec { curve: Curve::P256 });
        let ops: Operations = [Operation::Sign, Operation::Verify].into_iter().collect();
        let out = ec.to_jwk(kid(), ops);
        assert_eq!(out.kty, KeyType::Ec);
        assert_eq!(out.crv, Some(Curve::P256));
        assert_eq!(out.x.as_deref(), Some(RFC7517_EC_X));
        assert_eq!(out.y.as_deref(), Some(RFC7517_EC_Y));

        let rsa = public(&rfc7517_a1_rsa());
        assert_eq!(rsa.spec(), KeySpec::Rsa { bits: 2048 });
        let out = rsa.to_jwk(kid(), ops);
        assert_eq!(out.n.as_deref(), Some(RFC7517_RSA_N));
        assert_eq!(out.e.as_deref(), Some("AQAB"));
        assert!(out.d.is_none() && out.p.is_none() && out.k.is_none());
    }

    #[test]
    fn rfc7517_a2_private_keys_import_and_their_public_parts_match_a1() {
        let ec = private(&rfc7517_a2_ec());
        assert_eq!(ec.public_key(), Some(public(&rfc7517_a1_ec())));
        let rsa = private(&rfc7517_a2_rsa());
        assert_eq!(rsa.spec(), KeySpec::Rsa { bits: 2048 });
        assert_eq!(rsa.public_key(), Some(public(&rfc7517_a1_rsa())));
        let out = rsa.public_key().unwrap().to_jwk(kid(), Operations::EMPTY);
        assert_eq!(out.n.as_deref(), Some(RFC7517_RSA_N));
    }

    #[test]
    fn rfc7517_a3_symmetric_keys() {
        // The A128KW key, without its `alg` (OKMS's `alg` only names signature algorithms,
        // so the example with "A128KW" is refused by the schema itself).
        let with_alg = r#"{"kty":"oct","alg":"A128KW","k":"GawgguFyGrWKav7AX4VKUg"}"#;
        assert!(serde_json::from_str::<Jwk>(with_alg).is_err());
        let aes = private(&jwk(&[("kty", "oct"), ("k", "GawgguFyGrWKav7AX4VKUg")]));
        assert_eq!(aes.spec(), KeySpec::Oct { bits: 128 });
        // The 64-byte HMAC key of the same appendix is no AES key.
        assert_eq!(decode_url(RFC7517_A3_HMAC_K).unwrap().len(), 64);
        let hmac = jwk(&[
            ("kty", "oct"),
            ("k", RFC7517_A3_HMAC_K),
            ("kid", "HMAC key used in JWS A.1 example"),
        ]);
        assert_rejects(&hmac, "keys[0].k");
    }

    #[test]
    fn rfc7520_keys_import_and_match() {
        let ec = private(&rfc7520_p521());
        assert_eq!(ec.spec(), KeySpec::Ec { curve: Curve::P521 });
        let out = ec.public_key().unwrap().to_jwk(kid(), Operations::EMPTY);
        assert_eq!(out.x.as_deref(), Some(RFC7520_EC_X));
        assert_eq!(out.y.as_deref(), Some(RFC7520_EC_Y));
        let rsa = private(&rfc7520_rsa_private());
        assert_eq!(rsa.public_key(), Some(public(&rfc7520_rsa_public())));
        // The RFC 7515 keys too.
        assert_eq!(
            private(&rfc7515_a2_rsa()).spec(),
            KeySpec::Rsa { bits: 2048 }
        );
        assert_eq!(
            private(&rfc7515_a3_p256()).spec(),
            KeySpec::Ec { curve: Curve::P256 }
        );
        assert_eq!(
            private(&rfc7515_a4_p521()).spec(),
            KeySpec::Ec { curve: Curve::P521 }
        );
    }

    #[test]
    fn export_carries_kid_use_and_public_operations() {
        let key = public(&rfc7517_a1_ec());
        let all: Operations = Operation::ALL.into_iter().collect();
        let out = key.to_jwk(kid(), all);
        assert_eq!(
            out.kid.as_deref(),
            Some("6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11")
        );
        assert_eq!(out.key_use, Some(JwkUse::Sig));
        assert_eq!(
            out.key_ops.map(|o| o.iter().collect::<Vec<_>>()),
            Some(vec![Operation::Verify])
        );
        let sign_only: Operations = [Operation::Sign].into_iter().collect();
        assert_eq!(key.to_jwk(kid(), sign_only).key_ops, None);

        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "use": "sig",
                "key_ops": ["verify"],
                "kty": "EC",
                "crv": "P-256",
                "x": RFC7517_EC_X,
                "y": RFC7517_EC_Y,
                "kid": "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11",
            })
        );
        // What we export imports back to the same key.
        let back: Jwk = serde_json::from_value(json).unwrap();
        assert_eq!(public(&back), key);
    }

    #[test]
    fn export_of_generated_keys_round_trips() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for curve in Curve::ALL {
            let m = Material::generate(KeySpec::Ec { curve }, &mut rng).unwrap();
            let p = m.public_key().unwrap();
            let jwk = p.to_jwk(kid(), Operations::EMPTY);
            // Fixed-length coordinates, even when the leading byte is zero.
            assert_eq!(
                decode_url(jwk.x.as_deref().unwrap()).unwrap().len(),
                curve.field_len()
            );
            assert_eq!(
                decode_url(jwk.y.as_deref().unwrap()).unwrap().len(),
                curve.field_len()
            );
            assert_eq!(public(&jwk), p);
        }
    }

    #[test]
    fn schema_is_enforced_by_serde() {
        assert!(serde_json::from_str::<Jwk>(r#"{"kty":"oct","k":"AAAA","extra":1}"#).is_err());
        assert!(
            serde_json::from_str::<Jwk>(r#"{"k":"AAAA"}"#).is_err(),
            "kty is required"
        );
        assert!(serde_json::from_str::<Jwk>(r#"{"kty":"OKP","x":"AAAA"}"#).is_err());
        assert!(serde_json::from_str::<Jwk>(r#"{"kty":"EC","crv":"P-192"}"#).is_err());
        assert!(serde_json::from_str::<Jwk>(r#"{"kty":"EC","use":"wrap"}"#).is_err());
        let nulls: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":null,"d":null}"#).unwrap();
        assert!(nulls.n.is_none() && nulls.d.is_none());
        // Absent fields are not serialized.
        assert_eq!(
            serde_json::to_string(&Jwk::bare(KeyType::Oct)).unwrap(),
            r#"{"kty":"oct"}"#
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let jwk = rfc7517_a2_rsa();
        let shown = format!("{jwk:?}");
        for secret in [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi] {
            let secret = secret.as_deref().unwrap();
            assert!(!shown.contains(&secret[..12]), "{shown}");
        }
        assert!(shown.contains("<redacted>"));
        assert!(
            shown.contains(&RFC7517_RSA_N[..20]),
            "public parts stay visible"
        );
        let aes = jwk_oct("GawgguFyGrWKav7AX4VKUg");
        assert!(!format!("{aes:?}").contains("GawgguFyGrWKav7AX4VKUg"));
    }

    fn jwk_oct(k: &str) -> Jwk {
        jwk(&[("kty", "oct"), ("k", k)])
    }

    #[test]
    fn oct_rejections() {
        for len in [0, 8, 15, 17, 31, 33, 64] {
            assert_rejects(&jwk_oct(&encode_url(&vec![7; len])), "keys[0].k");
        }
        for len in [16, 24, 32] {
            let m = private(&jwk_oct(&encode_url(&vec![7; len])));
            assert_eq!(m.as_oct(), Some(&vec![7u8; len][..]));
        }
        assert_rejects(&Jwk::bare(KeyType::Oct), "keys[0].k");
        assert_rejects(&jwk_oct("GawgguFyGrWKav7AX4VKUg=="), "keys[0].k");
        assert_rejects(&jwk_oct("GawgguFyGrWKav7AX4VKU+"), "keys[0].k");
        let signing = with(jwk_oct("GawgguFyGrWKav7AX4VKUg"), |j| {
            j.alg = Some(SignatureAlgorithm::Rs256)
        });
        assert_rejects(&signing, "keys[0].alg");
        let mixed = with(jwk_oct("GawgguFyGrWKav7AX4VKUg"), |j| {
            j.x = Some(RFC7517_EC_X.into())
        });
        assert_rejects(&mixed, "keys[0].x");
        let at = jwk_oct("AAAA").import_at("keys[3]").unwrap_err();
        assert!(
            matches!(at, Error::InvalidArgument { ref field, .. } if field == "keys[3].k"),
            "{at}"
        );
    }

    #[test]
    fn ec_rejections() {
        let good = rfc7517_a2_ec;
        // Wrong sizes of x, y and d.
        assert_rejects(
            &with(good(), |j| j.x = Some(encode_url(&[1; 31]))),
            "keys[0].x",
        );
        assert_rejects(
            &with(good(), |j| j.y = Some(encode_url(&[1; 33]))),
            "keys[0].y",
        );
        assert_rejects(
            &with(good(), |j| j.d = Some(encode_url(&[1; 31]))),
            "keys[0].d",
        );
        // A point off the curve: y + 1.
        let mut y = decode_url(RFC7517_EC_Y).unwrap();
        *y.last_mut().unwrap() ^= 1;
        assert_rejects(&with(good(), |j| j.y = Some(encode_url(&y))), "keys[0].x");
        // A valid key whose d belongs to another point (the RFC 7515 A.3 key's d).
        let other_d = rfc7515_a3_p256().d.clone();
        assert_rejects(&with(good(), |j| j.d = other_d), "keys[0].d");
        // d = 0 and d = n are not scalars.
        assert_rejects(
            &with(good(), |j| j.d = Some(encode_url(&[0; 32]))),
            "keys[0].d",
        );
        assert_rejects(
            &with(good(), |j| j.d = Some(encode_url(&[0xff; 32]))),
            "keys[0].d",
        );
        // A P-256 point declared as P-384.
        assert_rejects(&with(good(), |j| j.crv = Some(Curve::P384)), "keys[0].x");
        // Missing fields, foreign fields, a wrong alg.
        assert_rejects(&with(good(), |j| j.crv = None), "keys[0].crv");
        assert_rejects(&with(good(), |j| j.y = None), "keys[0].y");
        assert_rejects(
            &with(good(), |j| j.n = Some(RFC7517_RSA_N.into())),
            "keys[0].n",
        );
        assert_rejects(
            &with(good(), |j| j.alg = Some(SignatureAlgorithm::Es384)),
            "keys[0].alg",
        );
        let fits = with(good(), |j| j.alg = Some(SignatureAlgorithm::Es256));
        assert!(fits.import().is_ok());
    }

    #[test]
    fn rsa_rejections() {
        let good = rfc7517_a2_rsa;
        // Missing n or e; p and q required with d; private parts without d.
        assert_rejects(&with(good(), |j| j.n = None), "keys[0].n");
        assert_rejects(&with(good(), |j| j.e = None), "keys[0].e");
        assert_rejects(&with(good(), |j| j.p = None), "keys[0].p");
        assert_rejects(&with(good(), |j| j.q = None), "keys[0].q");
        assert_rejects(&with(good(), |j| j.d = None), "keys[0].p");
        // q replaced by p: p·q is not n. Swapped CRT values do not match.
        let p = good().p.clone();
        assert_rejects(&with(good(), |j| j.q = p), "keys[0].p");
        let dq = good().dq.clone();
        assert_rejects(&with(good(), |j| j.dp = dq), "keys[0].dp");
        let dp = good().dp.clone();
        assert_rejects(&with(good(), |j| j.dq = dp), "keys[0].dq");
        let mut qi = decode_url(good().qi.as_deref().unwrap()).unwrap();
        qi[0] ^= 1;
        assert_rejects(
            &with(good(), |j| j.qi = Some(encode_url(&qi))),
            "keys[0].qi",
        );
        // Another key's d.
        let other_d = rfc7515_a2_rsa().d.clone();
        assert_rejects(&with(good(), |j| j.d = other_d), "keys[0].d");
        // CRT values are optional.
        let bare = with(good(), |j| {
            j.dp = None;
            j.dq = None;
            j.qi = None;
        });
        assert_eq!(private(&bare), private(&good()));
        // Leading zero octets, an even modulus, a foreign field, a wrong alg.
        let n = decode_url(RFC7517_RSA_N).unwrap();
        assert_rejects(
            &with(good(), |j| j.n = Some(encode_url(&[&[0][..], &n].concat()))),
            "keys[0].n",
        );
        assert_rejects(&with(good(), |j| j.e = Some("AAEAAQ".into())), "keys[0].e");
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_rejects(
            &with(rfc7517_a1_rsa(), |j| j.n = Some(encode_url(&even))),
            "keys[0].n",
        );
        assert_rejects(&with(good(), |j| j.crv = Some(Curve::P256)), "keys[0].crv");
        assert_rejects(
            &with(good(), |j| j.alg = Some(SignatureAlgorithm::Es256)),
            "keys[0].alg",
        );
    }

    #[test]
    fn rsa_modulus_sizes() {
        // 1024 bits (half the RFC modulus) and 2040 bits are refused before any arithmetic.
        let n = decode_url(RFC7517_RSA_N).unwrap();
        for short in [&n[..128], &n[..255]] {
            assert_rejects(
                &with(rfc7517_a1_rsa(), |j| j.n = Some(encode_url(short))),
                "keys[0].n",
            );
        }
        // 2047 bits: the top bit cleared.
        let mut n2047 = n.clone();
        n2047[0] = 0x7f;
        assert_rejects(
            &with(rfc7517_a1_rsa(), |j| j.n = Some(encode_url(&n2047))),
            "keys[0].n",
        );
        let err = with(rfc7517_a1_rsa(), |j| j.n = Some(encode_url(&n[..128])))
            .import()
            .unwrap_err();
        assert!(err.to_string().contains("1024-bit"), "{err}");
    }

    #[test]
    fn a_3072_bit_public_modulus_round_trips() {
        // Any odd 3072-bit number is a well-formed public modulus: the JWK path does not need
        // a real key (generation of every size is covered in `material`).
        let n = decode_url(RFC7517_RSA_N).unwrap();
        let mut n3072 = [&n[..], &n[..128]].concat();
        *n3072.last_mut().unwrap() |= 1;
        let key = with(rfc7517_a1_rsa(), |j| j.n = Some(encode_url(&n3072)));
        let p = public(&key);
        assert_eq!(p.spec(), KeySpec::Rsa { bits: 3072 });
        assert_eq!(p.to_jwk(kid(), Operations::EMPTY).n, key.n);
    }
}
