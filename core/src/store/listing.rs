//! Paged listing of a domain's keys, with opaque continuation tokens.
//!
//! Keys are listed in id order and a token is the id of the last key returned, so a page
//! boundary stays valid while keys are created or destroyed between calls: nothing is
//! skipped or listed twice. The token is opaque to callers (base64url of a versioned
//! cursor), and a token that does not decode is refused rather than read as "start over".

use std::ops::Bound;

use crate::b64;
use crate::error::Error;
use crate::ids::KeyId;
use crate::key::state::StateFilter;
use crate::store::domain::Domain;
use crate::store::record::KeyRecord;

pub const MAX_MIN: u32 = 10;
pub const MAX_MAX: u32 = 100;
/// Longest token accepted (the OKMS schema's limit).
pub const TOKEN_MAX_LEN: usize = 500;

const CURSOR_VERSION: u8 = 1;

/// Where a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cursor {
    Start,
    After(KeyId),
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<'a> {
    pub keys: Vec<&'a KeyRecord>,
    pub continuation_token: String,
    pub is_truncated: bool,
}

/// Lists `domain`'s keys matching `filter`, at most `max` (10–100, default 100), starting
/// after `token`.
pub fn list<'a>(
    domain: &'a Domain,
    filter: StateFilter,
    max: Option<u32>,
    token: Option<&str>,
) -> Result<Page<'a>, Error> {
    let max = max.unwrap_or(MAX_MAX);
    if !(MAX_MIN..=MAX_MAX).contains(&max) {
        return Err(Error::invalid(
            "max",
            format!("must be between {MAX_MIN} and {MAX_MAX}, got {max}"),
        ));
    }
    let cursor = match token {
        None | Some("") => Cursor::Start,
        Some(t) => decode(t)?,
    };
    let lower = match cursor {
        Cursor::Start => Bound::Unbounded,
        Cursor::After(id) => Bound::Excluded(id),
    };
    let mut matching = domain
        .keys
        .range((lower, Bound::Unbounded))
        .map(|(_, k)| k)
        .filter(|k| filter.matches(k.lifecycle.state));
    let keys: Vec<&KeyRecord> = matching.by_ref().take(max as usize).collect();
    let is_truncated = matching.next().is_some();
    let next = keys.last().map_or(cursor, |k| Cursor::After(k.id));
    Ok(Page {
        keys,
        continuation_token: encode(next),
        is_truncated,
    })
}

fn encode(cursor: Cursor) -> String {
    let mut bytes = vec![CURSOR_VERSION];
    if let Cursor::After(id) = cursor {
        bytes.extend_from_slice(id.as_bytes());
    }
    b64::encode_url(&bytes)
}

fn decode(token: &str) -> Result<Cursor, Error> {
    let bad = || {
        Error::invalid(
            "continuation-token",
            "not a token this server issued".into(),
        )
    };
    if token.len() > TOKEN_MAX_LEN {
        return Err(bad());
    }
    let bytes = b64::decode_url(token).ok_or_else(bad)?;
    match bytes.split_first() {
        Some((&CURSOR_VERSION, [])) => Ok(Cursor::Start),
        Some((&CURSOR_VERSION, rest)) => {
            let id: [u8; 16] = rest.try_into().map_err(|_| bad())?;
            Ok(Cursor::After(KeyId::from_uuid(uuid::Uuid::from_bytes(id))))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_rejections() {
        let id = KeyId::from_uuid(uuid::Uuid::from_u128(42));
        assert_eq!(decode(&encode(Cursor::After(id))), Ok(Cursor::After(id)));
        assert_eq!(decode(&encode(Cursor::Start)), Ok(Cursor::Start));
        for bad in ["!!", "AA", "AQE", &"A".repeat(600), "Ag"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
