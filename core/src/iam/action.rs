//! The actions a policy can allow or deny.
//!
//! The `okms:apikms:…` names are OKMS's own, so that policies written for OKMS carry over.
//! The `cairn:admin:…` actions cover what OKMS manages outside its key API (credentials and
//! policies); they are checked against the domain's resource URN.
//!
//! Actions form a closed set. Policies name them with patterns, and a pattern that matches no
//! known action is refused when the policy is written: a typo in a deny statement would
//! otherwise deny nothing, silently, and the operator would believe a door was closed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::pattern::Pattern;

/// One action of the API. Serialized as its name, in JSON and in replicated commands alike,
/// so that reordering the variants can never change what a stored policy or audit entry means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    ServiceKeyCreate,
    ServiceKeyImport,
    ServiceKeyGet,
    ServiceKeyUpdate,
    ServiceKeyDelete,
    ServiceKeyActivate,
    ServiceKeyDeactivate,
    ServiceKeyEncrypt,
    ServiceKeyDecrypt,
    ServiceKeySign,
    ServiceKeyVerify,
    ServiceKeyWrapKey,
    ServiceKeyUnwrapKey,
    DataKeyCreate,
    DataKeyDecrypt,
    RandomGet,
    CredentialCreate,
    CredentialGet,
    CredentialRevoke,
    PolicyPut,
    PolicyGet,
    PolicyDelete,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Action::ServiceKeyCreate,
        Action::ServiceKeyImport,
        Action::ServiceKeyGet,
        Action::ServiceKeyUpdate,
        Action::ServiceKeyDelete,
        Action::ServiceKeyActivate,
        Action::ServiceKeyDeactivate,
        Action::ServiceKeyEncrypt,
        Action::ServiceKeyDecrypt,
        Action::ServiceKeySign,
        Action::ServiceKeyVerify,
        Action::ServiceKeyWrapKey,
        Action::ServiceKeyUnwrapKey,
        Action::DataKeyCreate,
        Action::DataKeyDecrypt,
        Action::RandomGet,
        Action::CredentialCreate,
        Action::CredentialGet,
        Action::CredentialRevoke,
        Action::PolicyPut,
        Action::PolicyGet,
        Action::PolicyDelete,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ServiceKeyCreate => "okms:apikms:serviceKey/create",
            Action::ServiceKeyImport => "okms:apikms:serviceKey/import",
            Action::ServiceKeyGet => "okms:apikms:serviceKey/get",
            Action::ServiceKeyUpdate => "okms:apikms:serviceKey/update",
            Action::ServiceKeyDelete => "okms:apikms:serviceKey/delete",
            Action::ServiceKeyActivate => "okms:apikms:serviceKey/activate",
            Action::ServiceKeyDeactivate => "okms:apikms:serviceKey/deactivate",
            Action::ServiceKeyEncrypt => "okms:apikms:serviceKey/encrypt",
            Action::ServiceKeyDecrypt => "okms:apikms:serviceKey/decrypt",
            Action::ServiceKeySign => "okms:apikms:serviceKey/sign",
            Action::ServiceKeyVerify => "okms:apikms:serviceKey/verify",
            Action::ServiceKeyWrapKey => "okms:apikms:serviceKey/wrapKey",
            Action::ServiceKeyUnwrapKey => "okms:apikms:serviceKey/unwrapKey",
            Action::DataKeyCreate => "okms:apikms:serviceKey/dataKey/create",
            Action::DataKeyDecrypt => "okms:apikms:serviceKey/dataKey/decrypt",
            Action::RandomGet => "okms:apikms:random/get",
            Action::CredentialCreate => "cairn:admin:credential/create",
            Action::CredentialGet => "cairn:admin:credential/get",
            Action::CredentialRevoke => "cairn:admin:credential/revoke",
            Action::PolicyPut => "cairn:admin:policy/put",
            Action::PolicyGet => "cairn:admin:policy/get",
            Action::PolicyDelete => "cairn:admin:policy/delete",
        }
    }

    /// Whether this is one of Cairn's management actions rather than an OKMS key action.
    pub const fn is_admin(self) -> bool {
        matches!(
            self,
            Action::CredentialCreate
                | Action::CredentialGet
                | Action::CredentialRevoke
                | Action::PolicyPut
                | Action::PolicyGet
                | Action::PolicyDelete
        )
    }

    /// The known actions `pattern` matches, in [`Action::ALL`] order.
    pub fn matched_by(pattern: &Pattern) -> impl Iterator<Item = Action> + '_ {
        Action::ALL
            .into_iter()
            .filter(|a| pattern.matches(a.as_str()))
    }

    /// Refuses a policy's action pattern that matches no known action.
    pub fn check_pattern(pattern: &Pattern) -> Result<(), UnknownAction> {
        match Action::matched_by(pattern).next() {
            Some(_) => Ok(()),
            None => Err(UnknownAction(pattern.as_str().to_string())),
        }
    }
}

/// A name, or an action pattern, that matches no action of [`Action::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} matches no known action (e.g. \"okms:apikms:serviceKey/encrypt\", \"okms:apikms:serviceKey/*\")"
)]
pub struct UnknownAction(pub String);

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_string()))
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap()
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
            let bytes = postcard::to_allocvec(&a).unwrap();
            assert_eq!(postcard::from_bytes::<Action>(&bytes).unwrap(), a);
        }
        assert_eq!(
            "okms:apikms:serviceKey/Encrypt".parse::<Action>(),
            Err(UnknownAction("okms:apikms:serviceKey/Encrypt".into()))
        );
        assert!(serde_json::from_str::<Action>(r#""okms:apikms:serviceKey/*""#).is_err());
    }

    #[test]
    fn every_okms_name_is_known() {
        for verb in [
            "create",
            "import",
            "get",
            "update",
            "delete",
            "activate",
            "deactivate",
            "encrypt",
            "decrypt",
            "sign",
            "verify",
            "wrapKey",
            "unwrapKey",
            "dataKey/create",
            "dataKey/decrypt",
        ] {
            let name = format!("okms:apikms:serviceKey/{verb}");
            let action: Action = name.parse().unwrap();
            assert!(!action.is_admin());
        }
        assert_eq!("okms:apikms:random/get".parse(), Ok(Action::RandomGet));
        assert!(Action::PolicyPut.is_admin());
        assert_eq!(Action::ALL.iter().filter(|a| a.is_admin()).count(), 6);
    }

    #[test]
    fn patterns_select_actions() {
        let service_key: Vec<_> = Action::matched_by(&p("okms:apikms:serviceKey/*")).collect();
        assert_eq!(service_key.len(), 15);
        assert!(service_key.contains(&Action::DataKeyCreate));
        assert!(!service_key.contains(&Action::RandomGet));
        assert_eq!(Action::matched_by(&p("*")).count(), Action::ALL.len());
        assert_eq!(Action::matched_by(&p("cairn:admin:*")).count(), 6);
        assert_eq!(
            Action::matched_by(&p("*decrypt")).collect::<Vec<_>>(),
            [Action::ServiceKeyDecrypt, Action::DataKeyDecrypt]
        );
    }

    #[test]
    fn typos_are_refused() {
        assert_eq!(
            Action::check_pattern(&p("okms:apikms:serviceKey/encrypt")),
            Ok(())
        );
        assert_eq!(Action::check_pattern(&p("okms:*/sign")), Ok(()));
        for typo in [
            "okms:apikms:serviceKey/encrpyt",
            "okms:apikms:servicekey/*",
            "okms:apikms:serviceKey",
            "okms:apikms:serviceKey/encrypt*x",
            "cairn:admin:policy/list",
        ] {
            let err = Action::check_pattern(&p(typo)).unwrap_err();
            assert!(err.to_string().contains("matches no known action"), "{err}");
        }
    }
}
