//! The two base64 alphabets of the API: standard (with padding) for binary fields, and
//! base64url without padding for everything JOSE (JWK, JWE, JWS).
//!
//! Decoding is strict: a non-canonical encoding (stray padding, trailing bits) is refused, so
//! that one value has one spelling and altered input never decodes to the same bytes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub fn encode_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn decode_std(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

pub fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn decode_url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
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
    }
}
