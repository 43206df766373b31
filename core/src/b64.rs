//! The two base64 alphabets of the API: standard (with padding) for binary fields, and
//! base64url without padding for everything JOSE (JWK, JWE, JWS).
//!
//! Decoding is strict: a non-canonical encoding (stray padding, trailing bits) is refused, so
//! that one value has one spelling and altered input never decodes to the same bytes.

//!
//! `base64-simd` does the work: ciphertexts are mostly base64, and at a few GB/s the encoding
//! stops being the largest cost of an encrypt (see docs/BENCHMARKS.md).

use base64_simd::{STANDARD, URL_SAFE_NO_PAD};

pub fn encode_std(bytes: &[u8]) -> String {
    STANDARD.encode_to_string(bytes)
}

pub fn decode_std(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode_to_vec(s).ok()
}

pub fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

pub fn decode_url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(s).ok()
}

/// Appends the base64url encoding of `bytes` to `out`, without an intermediate string.
pub fn encode_url_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_append(bytes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode_std("aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_std("aGk"), None, "missing padding");
        assert_eq!(decode_std("aGl="), None, "non-zero trailing bits");
        assert_eq!(decode_url("aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_url("aGk="), None, "padding in base64url");
        assert_eq!(decode_url("a+k"), None, "standard alphabet in base64url");
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        for bad in ["aGk =", " aGk=", "aGk=\n", "a", "aGk==", "====", "aGk=aGk="] {
            assert_eq!(decode_std(bad), None, "{bad:?}");
        }
        for bad in ["aG k", "aGk\n", "a", "aGl"] {
            assert_eq!(decode_url(bad), None, "{bad:?}");
        }
        let mut out = String::from("x.");
        encode_url_into(b"hi", &mut out);
        assert_eq!(out, "x.aGk");
    }
}
