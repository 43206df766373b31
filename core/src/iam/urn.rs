//! The names IAM reasons about: who (identity URNs) and on what (resource URNs).
//!
//! Both follow the OKMS shape `urn:v1:<region>:<identity|resource>:…`, so that policies
//! written for OKMS read the same in Cairn. The region label is part of each deployment's
//! configuration; it only appears inside URNs and never selects behaviour.
//!
//! Identity URNs are attached to credentials server-side; callers never choose them per
//! request. Resource URNs are built by the core from ids it has already parsed, so their
//! spelling is canonical (lowercase hyphenated UUIDs) and a policy pattern written against
//! one spelling cannot be dodged with another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{InvalidText, check_printable_ascii};
use crate::ids::{CredentialId, DomainId, KeyId};

const URN_PREFIX: &str = "urn:v1:";

/// The region label of a deployment (`eu`, `ca-east-1`): 1 to 32 of `a-z`, `0-9` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    pub const MAX_LEN: usize = 32;

    pub fn new(label: impl Into<String>) -> Result<Self, InvalidText> {
        let label = label.into();
        check_region(&label)?;
        Ok(Region(label))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_region(label: &str) -> Result<(), InvalidText> {
    if label.is_empty() {
        return Err(InvalidText::Empty);
    }
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if let Some(at) = label.chars().position(|c| !ok(c)) {
        return Err(match label.chars().nth(at) {
            Some(' ') => InvalidText::Space { at },
            Some('*') => InvalidText::Wildcard { at },
            _ => InvalidText::Malformed(
                "a region label holds only lowercase letters, digits and '-'",
            ),
        });
    }
    if label.len() > Region::MAX_LEN {
        return Err(InvalidText::TooLong {
            len: label.len(),
            max: Region::MAX_LEN,
        });
    }
    Ok(())
}

/// The identity of a caller, e.g. `urn:v1:eu:identity:user:acme/alice`.
///
/// Shape: `urn:v1:<region>:identity:<kind>:<name>` with a non-empty kind (`user`, `group`,
/// `account`, `credential`, …) and name; at most 256 printable ASCII characters, no space and
/// no `*`. A `*` is refused because an identity is matched *by* patterns: an identity that
/// looked like a pattern would mislead whoever reads the audit log or a credential listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdentityUrn(String);

const IDENTITY_SHAPE: &str = "an identity URN has the form urn:v1:<region>:identity:<kind>:<name>";

impl IdentityUrn {
    pub const MAX_LEN: usize = 256;

    pub fn new(urn: impl Into<String>) -> Result<Self, InvalidText> {
        let urn = urn.into();
        check_printable_ascii(&urn, Self::MAX_LEN)?;
        if let Some(at) = urn.find('*') {
            // The text is ASCII: byte offsets are character positions.
            return Err(InvalidText::Wildcard { at });
        }
        let rest = urn.strip_prefix(URN_PREFIX).ok_or(InvalidText::Malformed(
            "an identity URN starts with \"urn:v1:\"",
        ))?;
        let (region, rest) = rest
            .split_once(':')
            .ok_or(InvalidText::Malformed(IDENTITY_SHAPE))?;
        check_region(region).map_err(|_| {
            InvalidText::Malformed(
                "the region label after \"urn:v1:\" must be 1 to 32 of a-z, 0-9 and '-'",
            )
        })?;
        let rest = rest
            .strip_prefix("identity:")
            .ok_or(InvalidText::Malformed(IDENTITY_SHAPE))?;
        match rest.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(IdentityUrn(urn)),
            _ => Err(InvalidText::Malformed(IDENTITY_SHAPE)),
        }
    }

    /// The identity every credential carries of itself,
    /// `urn:v1:<region>:identity:credential:<domain>/<credential>`, so that a policy can name
    /// one credential precisely (e.g. to deny a single leaked one).
    pub fn credential(region: &Region, domain: DomainId, credential: CredentialId) -> Self {
        IdentityUrn(format!(
            "{URN_PREFIX}{region}:identity:credential:{domain}/{credential}"
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identity's kind (`user`, `group`, `credential`, …).
    pub fn kind(&self) -> &str {
        // Validated shape: urn:v1:<region>:identity:<kind>:<name>.
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

/// A resource of the OKMS API: a domain, `urn:v1:<region>:resource:okms:<domain>`, or one of
/// its service keys, `urn:v1:<region>:resource:okms:<domain>/serviceKey/<key>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceUrn {
    /// The canonical text, built once, since it is what policies match against.
    text: String,
    region: Region,
    domain: DomainId,
    key: Option<KeyId>,
}

const RESOURCE_SHAPE: &str = "a resource URN has the form \
     urn:v1:<region>:resource:okms:<domain>[/serviceKey/<key>] with lowercase hyphenated UUIDs";

impl ResourceUrn {
    /// The URN of a domain: what management actions (credentials, policies) are checked
    /// against.
    pub fn domain(region: &Region, domain: DomainId) -> Self {
        ResourceUrn {
            text: format!("{URN_PREFIX}{region}:resource:okms:{domain}"),
            region: region.clone(),
            domain,
            key: None,
        }
    }

    /// The URN of a service key.
    pub fn service_key(region: &Region, domain: DomainId, key: KeyId) -> Self {
        ResourceUrn {
            text: format!("{URN_PREFIX}{region}:resource:okms:{domain}/serviceKey/{key}"),
            region: region.clone(),
            domain,
            key: Some(key),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn region(&self) -> &Region {
        &self.region
    }

    pub fn domain_id(&self) -> DomainId {
        self.domain
    }

    pub fn key_id(&self) -> Option<KeyId> {
        self.key
    }

    fn parse(s: &str) -> Result<Self, InvalidText> {
        check_printable_ascii(s, 256)?;
        let malformed = InvalidText::Malformed(RESOURCE_SHAPE);
        let rest = s.strip_prefix(URN_PREFIX).ok_or(malformed.clone())?;
        let (region, rest) = rest.split_once(':').ok_or(malformed.clone())?;
        let region = Region::new(region).map_err(|_| malformed.clone())?;
        let rest = rest
            .strip_prefix("resource:okms:")
            .ok_or(malformed.clone())?;
        let (domain, key) = match rest.split_once('/') {
            None => (rest, None),
            Some((domain, key)) => {
                let key = key.strip_prefix("serviceKey/").ok_or(malformed.clone())?;
                (domain, Some(key))
            }
        };
        let domain: DomainId = domain.parse().map_err(|_| malformed.clone())?;
        let urn = match key {
            None => ResourceUrn::domain(&region, domain),
            Some(key) => {
                let key: KeyId = key.parse().map_err(|_| malformed.clone())?;
                ResourceUrn::service_key(&region, domain, key)
            }
        };
        // UUIDs also parse in uppercase; only the canonical spelling is a valid URN.
        if urn.text != s {
            return Err(malformed);
        }
        Ok(urn)
    }
}

macro_rules! string_impls {
    ($ty:ident, $new:expr, $text:ident => $as_str:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $text = self;
                f.write_str($as_str)
            }
        }

        impl FromStr for $ty {
            type Err = InvalidText;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ($new)(s.to_string())
            }
        }

        impl TryFrom<String> for $ty {
            type Error = InvalidText;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                ($new)(s)
            }
        }
    };
}

string_impls!(Region, Region::new, r => &r.0);
string_impls!(IdentityUrn, IdentityUrn::new, u => &u.0);
string_impls!(ResourceUrn, |s: String| ResourceUrn::parse(&s), u => &u.text);

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl From<IdentityUrn> for String {
    fn from(u: IdentityUrn) -> String {
        u.0
    }
}

impl From<ResourceUrn> for String {
    fn from(u: ResourceUrn) -> String {
        u.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11";
    const KEY: &str = "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b";

    fn eu() -> Region {
        Region::new("eu").unwrap()
    }

    #[test]
    fn region_labels() {
        assert!(Region::new("eu").is_ok());
        assert!(Region::new("ca-east-1").is_ok());
        assert!(Region::new("a".repeat(32)).is_ok());
        assert_eq!(
            Region::new("a".repeat(33)),
            Err(InvalidText::TooLong { len: 33, max: 32 })
        );
        assert_eq!(Region::new(""), Err(InvalidText::Empty));
        assert!(matches!(Region::new("EU"), Err(InvalidText::Malformed(_))));
        assert!(matches!(
            Region::new("eu:west"),
            Err(InvalidText::Malformed(_))
        ));
        assert!(matches!(
            Region::new("eu_west"),
            Err(InvalidText::Malformed(_))
        ));
        assert_eq!(Region::new("e*"), Err(InvalidText::Wildcard { at: 1 }));
        assert!(serde_json::from_str::<Region>(r#""Eu""#).is_err());
    }

    #[test]
    fn identity_urns() {
        for ok in [
            "urn:v1:eu:identity:user:acme/alice",
            "urn:v1:eu:identity:group:acme/admins",
            "urn:v1:eu:identity:credential:acme/0b9d4c3e",
            "urn:v1:ca-east-1:identity:account:acme",
        ] {
            let urn = IdentityUrn::new(ok).unwrap();
            assert_eq!(urn.as_str(), ok);
            assert_eq!(urn.to_string(), ok);
        }
        assert_eq!(
            IdentityUrn::new("urn:v1:eu:identity:group:acme/admins")
                .unwrap()
                .kind(),
            "group"
        );
        let refused = [
            ("", InvalidText::Empty),
            (
                "urn:v1:eu:identity:user:acme/al ice",
                InvalidText::Space { at: 31 },
            ),
            (
                "urn:v1:eu:identity:user:acme/*",
                InvalidText::Wildcard { at: 29 },
            ),
            (
                "urn:v1:eu:identity:user:acme/\u{e9}",
                InvalidText::NotPrintableAscii { at: 29 },
            ),
        ];
        for (text, err) in refused {
            assert_eq!(IdentityUrn::new(text), Err(err), "{text:?}");
        }
        for shape in [
            "urn:v2:eu:identity:user:acme/alice",
            "urn:v1:eu:resource:okms:acme",
            "urn:v1:EU:identity:user:acme/alice",
            "urn:v1::identity:user:acme/alice",
            "urn:v1:eu:identity:user",
            "urn:v1:eu:identity::acme",
            "urn:v1:eu:identity:user:",
            "urn:v1:eu",
        ] {
            assert!(
                matches!(IdentityUrn::new(shape), Err(InvalidText::Malformed(_))),
                "{shape:?}"
            );
        }
        let long = format!("urn:v1:eu:identity:user:{}", "a".repeat(232));
        assert_eq!(long.len(), 256);
        assert!(IdentityUrn::new(long.clone()).is_ok());
        assert_eq!(
            IdentityUrn::new(format!("{long}a")),
            Err(InvalidText::TooLong { len: 257, max: 256 })
        );
    }

    #[test]
    fn credential_identity_is_a_valid_identity() {
        let domain: DomainId = DOMAIN.parse().unwrap();
        let cred: CredentialId = KEY.parse().unwrap();
        let urn = IdentityUrn::credential(&eu(), domain, cred);
        assert_eq!(
            urn.as_str(),
            format!("urn:v1:eu:identity:credential:{DOMAIN}/{KEY}")
        );
        assert_eq!(IdentityUrn::new(urn.as_str()).unwrap(), urn);
        assert_eq!(urn.kind(), "credential");
    }

    #[test]
    fn resource_urns() {
        let domain: DomainId = DOMAIN.parse().unwrap();
        let key: KeyId = KEY.parse().unwrap();
        let d = ResourceUrn::domain(&eu(), domain);
        assert_eq!(d.as_str(), format!("urn:v1:eu:resource:okms:{DOMAIN}"));
        assert_eq!(d.key_id(), None);
        let k = ResourceUrn::service_key(&eu(), domain, key);
        assert_eq!(
            k.as_str(),
            format!("urn:v1:eu:resource:okms:{DOMAIN}/serviceKey/{KEY}")
        );
        assert_eq!(
            (k.domain_id(), k.key_id(), k.region().as_str()),
            (domain, Some(key), "eu")
        );
        for urn in [&d, &k] {
            assert_eq!(&urn.as_str().parse::<ResourceUrn>().unwrap(), urn);
        }
        for bad in [
            format!("urn:v1:eu:resource:okms:{}", DOMAIN.to_uppercase()),
            format!("urn:v1:eu:resource:okms:{DOMAIN}/servicekey/{KEY}"),
            format!("urn:v1:eu:resource:okms:{DOMAIN}/serviceKey/"),
            format!("urn:v1:eu:resource:okms:{DOMAIN}/serviceKey/*"),
            format!("urn:v1:eu:resource:kms:{DOMAIN}"),
            format!("urn:v1:eu:identity:okms:{DOMAIN}"),
            "urn:v1:eu:resource:okms:acme".to_string(),
        ] {
            assert!(bad.parse::<ResourceUrn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_as_validated_strings() {
        let urn = IdentityUrn::new("urn:v1:eu:identity:user:acme/alice").unwrap();
        let json = serde_json::to_string(&urn).unwrap();
        assert_eq!(json, r#""urn:v1:eu:identity:user:acme/alice""#);
        assert_eq!(serde_json::from_str::<IdentityUrn>(&json).unwrap(), urn);
        assert!(serde_json::from_str::<IdentityUrn>(r#""urn:v1:eu:identity:user:*""#).is_err());

        let domain: DomainId = DOMAIN.parse().unwrap();
        let res = ResourceUrn::service_key(&eu(), domain, KEY.parse().unwrap());
        let json = serde_json::to_string(&res).unwrap();
        assert_eq!(json, format!("\"{res}\""));
        assert_eq!(serde_json::from_str::<ResourceUrn>(&json).unwrap(), res);
        let bytes = postcard::to_allocvec(&res).unwrap();
        assert_eq!(postcard::from_bytes::<ResourceUrn>(&bytes).unwrap(), res);
        assert!(serde_json::from_str::<ResourceUrn>(r#""urn:v1:eu:resource:okms:x""#).is_err());
    }
}
