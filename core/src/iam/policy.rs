//! IAM policies: who may do what on which resources of a domain.
//!
//! An operator writes a [`PolicySpec`] (JSON, no id); the domain stores it as a [`Policy`]
//! under a [`PolicyId`]. Both are validated in full before they enter the log, with messages
//! that point at the offending field (`statements[2].actions[0]`), because a policy that is
//! accepted but means something else than its author thought is worse than one refused.
//!
//! Beyond the limits, validation refuses what cannot match anything: an action pattern that
//! names no known action, a resource or identity pattern outside the `urn:v1:` namespace, and
//! a pattern without `*` that is not a well-formed URN. Those are almost always typos, and
//! a typo in a deny statement would fail open.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::pattern::Pattern;
use super::text::{check_description, check_name};
use super::urn::{IdentityUrn, ResourceUrn};
use crate::error::Error;
use crate::ids::PolicyId;

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 256;
pub const MAX_IDENTITIES: usize = 100;
pub const MAX_STATEMENTS: usize = 50;
pub const MAX_ACTIONS: usize = 50;
pub const MAX_RESOURCES: usize = 50;

/// What a matching statement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

/// One rule of a policy: `effect` for any of `actions` on any of `resources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub effect: Effect,
    /// Action patterns (`okms:apikms:serviceKey/*`); each must match a known action.
    pub actions: Vec<Pattern>,
    /// Resource URN patterns (`urn:v1:eu:resource:okms:<domain>/serviceKey/*`), or `*`.
    pub resources: Vec<Pattern>,
}

impl Statement {
    /// Whether the statement covers `action` on `resource`, whatever its effect.
    pub fn matches(&self, action: Action, resource: &str) -> bool {
        self.actions.iter().any(|p| p.matches(action.as_str()))
            && self.resources.iter().any(|p| p.matches(resource))
    }

    /// `path` is the statement's own field path, e.g. `statements[2]`.
    fn validate(&self, path: &str) -> Result<(), Error> {
        check_count(&format!("{path}.actions"), self.actions.len(), MAX_ACTIONS)?;
        for (i, action) in self.actions.iter().enumerate() {
            Action::check_pattern(action)
                .map_err(|e| Error::invalid(&format!("{path}.actions[{i}]"), e.to_string()))?;
        }
        check_count(
            &format!("{path}.resources"),
            self.resources.len(),
            MAX_RESOURCES,
        )?;
        for (i, resource) in self.resources.iter().enumerate() {
            let field = format!("{path}.resources[{i}]");
            check_urn_pattern(&field, resource, "resource", |s| {
                s.parse::<ResourceUrn>().is_ok()
            })?;
        }
        Ok(())
    }
}

/// A policy as an operator writes it, before it has an id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Identity URN patterns of the callers the policy applies to.
    pub identities: Vec<Pattern>,
    pub statements: Vec<Statement>,
}

impl PolicySpec {
    pub fn validate(&self) -> Result<(), Error> {
        validate_parts(
            &self.name,
            self.description.as_deref(),
            &self.identities,
            &self.statements,
        )
    }

    /// Validates the spec and gives it its id.
    pub fn into_policy(self, id: PolicyId) -> Result<Policy, Error> {
        self.validate()?;
        Ok(Policy {
            id,
            name: self.name,
            description: self.description,
            identities: self.identities,
            statements: self.statements,
        })
    }
}

/// A stored policy of a domain.
///
/// Also accepted as input when the caller chooses the id and puts it in the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: PolicyId,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Identity URN patterns of the callers the policy applies to.
    pub identities: Vec<Pattern>,
    pub statements: Vec<Statement>,
}

impl Policy {
    pub fn validate(&self) -> Result<(), Error> {
        validate_parts(
            &self.name,
            self.description.as_deref(),
            &self.identities,
            &self.statements,
        )
    }

    /// The policy without its id, e.g. to answer a GET in the shape it was written.
    pub fn spec(&self) -> PolicySpec {
        PolicySpec {
            name: self.name.clone(),
            description: self.description.clone(),
            identities: self.identities.clone(),
            statements: self.statements.clone(),
        }
    }

    /// Whether one of the policy's identity patterns matches one of the caller's identities.
    pub fn applies_to(&self, identities: &[IdentityUrn]) -> bool {
        self.identities
            .iter()
            .any(|p| identities.iter().any(|id| p.matches(id.as_str())))
    }
}

fn validate_parts(
    name: &str,
    description: Option<&str>,
    identities: &[Pattern],
    statements: &[Statement],
) -> Result<(), Error> {
    check_name(name, MAX_NAME_CHARS).map_err(|e| e.at_field("name"))?;
    if let Some(description) = description {
        check_description(description, MAX_DESCRIPTION_CHARS)
            .map_err(|e| e.at_field("description"))?;
    }
    check_count("identities", identities.len(), MAX_IDENTITIES)?;
    for (i, identity) in identities.iter().enumerate() {
        check_urn_pattern(&format!("identities[{i}]"), identity, "identity", |s| {
            IdentityUrn::new(s).is_ok()
        })?;
    }
    check_count("statements", statements.len(), MAX_STATEMENTS)?;
    for (i, statement) in statements.iter().enumerate() {
        statement.validate(&format!("statements[{i}]"))?;
    }
    Ok(())
}

fn check_count(field: &str, len: usize, max: usize) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::invalid(
            field,
            format!("needs 1 to {max} entries, got none"),
        ));
    }
    if len > max {
        return Err(Error::invalid(
            field,
            format!("has {len} entries; the limit is {max}"),
        ));
    }
    Ok(())
}

/// A URN pattern must be `*` or stay inside the `urn:v1:` namespace; one without a wildcard
/// names a single URN and must be a well-formed one.
fn check_urn_pattern(
    field: &str,
    pattern: &Pattern,
    what: &str,
    well_formed: impl Fn(&str) -> bool,
) -> Result<(), Error> {
    let s = pattern.as_str();
    if s == "*" {
        return Ok(());
    }
    if !s.starts_with("urn:v1:") {
        return Err(Error::invalid(
            field,
            format!("{s:?} is not \"*\" and does not start with \"urn:v1:\""),
        ));
    }
    if pattern.is_literal() && !well_formed(s) {
        return Err(Error::invalid(
            field,
            format!("{s:?} has no '*' and is not a well-formed {what} URN"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11";

    fn spec_json() -> String {
        format!(
            r#"{{
                "name": "admins",
                "description": "Key administrators of acme",
                "identities": ["urn:v1:eu:identity:user:acme/alice", "urn:v1:eu:identity:group:acme/*"],
                "statements": [
                    {{
                        "effect": "allow",
                        "actions": ["okms:apikms:serviceKey/*"],
                        "resources": ["urn:v1:eu:resource:okms:{DOMAIN}/serviceKey/*"]
                    }},
                    {{
                        "effect": "deny",
                        "actions": ["okms:apikms:serviceKey/delete"],
                        "resources": ["*"]
                    }}
                ]
            }}"#
        )
    }

    fn spec() -> PolicySpec {
        serde_json::from_str(&spec_json()).unwrap()
    }

    fn pats(items: &[&str]) -> Vec<Pattern> {
        items.iter().map(|s| Pattern::new(*s).unwrap()).collect()
    }

    fn invalid_field(result: Result<(), Error>) -> (String, String) {
        match result {
            Err(Error::InvalidArgument { field, reason }) => (field, reason),
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn the_operator_json_shape_parses_and_validates() {
        let spec = spec();
        assert_eq!(spec.name, "admins");
        assert_eq!(spec.statements[1].effect, Effect::Deny);
        spec.validate().unwrap();
        let id: PolicyId = "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b".parse().unwrap();
        let policy = spec.clone().into_policy(id).unwrap();
        assert_eq!(policy.spec(), spec);

        // Stored form: JSON with the id, and postcard for the log, both round trip.
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["id"], "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b");
        assert_eq!(json["statements"][0]["effect"], "allow");
        assert_eq!(serde_json::from_value::<Policy>(json).unwrap(), policy);
        let bytes = postcard::to_allocvec(&policy).unwrap();
        assert_eq!(postcard::from_bytes::<Policy>(&bytes).unwrap(), policy);
    }

    #[test]
    fn description_is_optional_and_unknown_fields_are_refused() {
        let mut v: serde_json::Value = serde_json::from_str(&spec_json()).unwrap();
        v.as_object_mut().unwrap().remove("description");
        let spec: PolicySpec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(spec.description, None);
        spec.validate().unwrap();

        let mut extra = v.clone();
        extra["effect"] = "allow".into();
        assert!(serde_json::from_value::<PolicySpec>(extra).is_err());
        let mut extra = v.clone();
        extra["statements"][0]["conditions"] = serde_json::json!({});
        assert!(serde_json::from_value::<PolicySpec>(extra).is_err());
        let mut bad = v;
        bad["statements"][0]["effect"] = "Allow".into();
        assert!(serde_json::from_value::<PolicySpec>(bad).is_err());
    }

    #[test]
    fn invalid_patterns_are_refused_while_parsing() {
        let json = spec_json().replace("acme/alice", "acme/al ice");
        let err = serde_json::from_str::<PolicySpec>(&json).unwrap_err();
        assert!(err.to_string().contains("contains a space"), "{err}");
    }

    #[test]
    fn name_and_description_limits() {
        let mut s = spec();
        s.name = "n".repeat(64);
        s.validate().unwrap();
        s.name = "é".repeat(64);
        s.validate().unwrap();
        s.name = "n".repeat(65);
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "name");
        assert!(reason.contains("65 characters"), "{reason}");
        s.name = String::new();
        assert_eq!(invalid_field(s.validate()).0, "name");
        s.name = "admins\nforged audit line".into();
        assert_eq!(invalid_field(s.validate()).0, "name");

        let mut s = spec();
        s.description = Some("d".repeat(256));
        s.validate().unwrap();
        s.description = Some("d".repeat(257));
        assert_eq!(invalid_field(s.validate()).0, "description");
    }

    #[test]
    fn count_limits() {
        let mut s = spec();
        s.identities = pats(&["urn:v1:eu:identity:user:acme/*"; 100]);
        s.validate().unwrap();
        s.identities.push(s.identities[0].clone());
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "identities");
        assert_eq!(reason, "has 101 entries; the limit is 100");
        s.identities.clear();
        assert_eq!(invalid_field(s.validate()).0, "identities");

        let mut s = spec();
        s.statements = vec![s.statements[0].clone(); 50];
        s.validate().unwrap();
        s.statements.push(s.statements[0].clone());
        assert_eq!(invalid_field(s.validate()).0, "statements");
        s.statements.clear();
        assert_eq!(invalid_field(s.validate()).0, "statements");

        let mut s = spec();
        s.statements[1].actions = pats(&["okms:apikms:serviceKey/get"; 50]);
        s.validate().unwrap();
        s.statements[1].actions = pats(&["okms:apikms:serviceKey/get"; 51]);
        assert_eq!(invalid_field(s.validate()).0, "statements[1].actions");
        s.statements[1].actions.clear();
        assert_eq!(invalid_field(s.validate()).0, "statements[1].actions");

        let mut s = spec();
        s.statements[0].resources = pats(&["*"; 50]);
        s.validate().unwrap();
        s.statements[0].resources = pats(&["*"; 51]);
        assert_eq!(invalid_field(s.validate()).0, "statements[0].resources");
        s.statements[0].resources.clear();
        assert_eq!(invalid_field(s.validate()).0, "statements[0].resources");
    }

    #[test]
    fn a_typo_action_is_refused_with_its_path() {
        let mut s = spec();
        s.statements[1].actions = pats(&[
            "okms:apikms:serviceKey/delete",
            "okms:apikms:serviceKey/encrpyt",
        ]);
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "statements[1].actions[1]");
        assert!(reason.contains("\"okms:apikms:serviceKey/encrpyt\" matches no known action"));
        // The same refusal through into_policy, which must not store it.
        let id = PolicyId::from_uuid(uuid::Uuid::nil());
        assert!(s.into_policy(id).is_err());
    }

    #[test]
    fn urn_patterns_must_stay_in_the_namespace() {
        let mut s = spec();
        s.statements[0].resources = pats(&["*", "urn:v1:*", "okms:*"]);
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "statements[0].resources[2]");
        assert!(reason.contains("urn:v1:"), "{reason}");

        // Literal resources must be real resource URNs: here a lowercase "servicekey".
        let mut s = spec();
        s.statements[0].resources = pats(&[&format!(
            "urn:v1:eu:resource:okms:{DOMAIN}/servicekey/0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b"
        )]);
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "statements[0].resources[0]");
        assert!(
            reason.contains("not a well-formed resource URN"),
            "{reason}"
        );
        s.statements[0].resources = pats(&[&format!("urn:v1:eu:resource:okms:{DOMAIN}")]);
        s.validate().unwrap();

        let mut s = spec();
        s.identities = pats(&["*", "urn:v1:eu:identity:user:acme/bob", "acme/alice"]);
        assert_eq!(invalid_field(s.validate()).0, "identities[2]");
        s.identities = pats(&["urn:v1:eu:identity:acme/bob"]);
        let (field, reason) = invalid_field(s.validate());
        assert_eq!(field, "identities[0]");
        assert!(
            reason.contains("not a well-formed identity URN"),
            "{reason}"
        );
    }

    #[test]
    fn statement_and_identity_matching() {
        let s = spec();
        let st = &s.statements[0];
        let key = format!(
            "urn:v1:eu:resource:okms:{DOMAIN}/serviceKey/0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b"
        );
        assert!(st.matches(Action::ServiceKeyEncrypt, &key));
        assert!(st.matches(Action::DataKeyCreate, &key));
        assert!(!st.matches(Action::RandomGet, &key));
        assert!(!st.matches(
            Action::ServiceKeyEncrypt,
            &format!("urn:v1:eu:resource:okms:{DOMAIN}")
        ));

        let policy = s
            .into_policy(PolicyId::from_uuid(uuid::Uuid::nil()))
            .unwrap();
        let id = |s: &str| IdentityUrn::new(s).unwrap();
        assert!(policy.applies_to(&[id("urn:v1:eu:identity:user:acme/alice")]));
        assert!(policy.applies_to(&[
            id("urn:v1:eu:identity:user:acme/bob"),
            id("urn:v1:eu:identity:group:acme/ops"),
        ]));
        assert!(!policy.applies_to(&[id("urn:v1:eu:identity:user:acme/bob")]));
        assert!(!policy.applies_to(&[]));
    }
}
