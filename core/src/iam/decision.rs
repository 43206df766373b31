//! The policy evaluator: a pure function from policies and a request to allow or deny.
//!
//! It reads nothing but its arguments, so every replica, and the simulator's oracle for G7,
//! reaches the same decision for the same request. Its result names the policy and statement
//! that decided, because an audit line that only says "denied" cannot be acted on.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::policy::{Effect, Policy};
use super::urn::IdentityUrn;
use crate::error::Error;
use crate::ids::PolicyId;

/// The outcome of [`evaluate`]. Statement indexes count from 0, like the `statements[i]`
/// field paths of validation errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Allow { policy: PolicyId, statement: usize },
    Deny(Denial),
}

/// Why a request was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Denial {
    /// A deny statement matched: it overrides every allow.
    Explicit { policy: PolicyId, statement: usize },
    /// No statement of an applicable policy allowed the request.
    NoMatchingStatement,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// `Ok` if allowed, else the API's 403 for `action` on `resource`.
    pub fn require(&self, action: Action, resource: &str) -> Result<(), Error> {
        if self.is_allowed() {
            Ok(())
        } else {
            Err(Error::Forbidden {
                action: action.as_str().to_string(),
                resource: resource.to_string(),
            })
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow { policy, statement } => {
                write!(f, "allowed by policy {policy} statement {statement}")
            }
            Decision::Deny(denial) => write!(f, "{denial}"),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Explicit { policy, statement } => {
                write!(
                    f,
                    "denied by policy {policy} statement {statement} (explicit deny)"
                )
            }
            Denial::NoMatchingStatement => {
                f.write_str("denied by default: no policy statement allows it")
            }
        }
    }
}

/// Decides whether a caller holding `identities` may perform `action` on `resource`.
///
/// A policy applies when one of its identity patterns matches one of `identities`. Among the
/// statements of applicable policies, any matching deny wins; otherwise the first matching
/// allow, in the order given, decides; otherwise the request is denied. Pass `policies` in a
/// deterministic order (by [`PolicyId`], as a `BTreeMap` yields them) so that the deciding
/// policy named in the audit log is the same on every replica; whether the request is
/// allowed does not depend on the order.
pub fn evaluate<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    identities: &[IdentityUrn],
    action: Action,
    resource: &str,
) -> Decision {
    let mut allow = None;
    for policy in policies {
        if !policy.applies_to(identities) {
            continue;
        }
        for (statement, st) in policy.statements.iter().enumerate() {
            if !st.matches(action, resource) {
                continue;
            }
            match st.effect {
                Effect::Deny => {
                    return Decision::Deny(Denial::Explicit {
                        policy: policy.id,
                        statement,
                    });
                }
                Effect::Allow => {
                    allow.get_or_insert(Decision::Allow {
                        policy: policy.id,
                        statement,
                    });
                }
            }
        }
    }
    allow.unwrap_or(Decision::Deny(Denial::NoMatchingStatement))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::iam::pattern::Pattern;
    use crate::iam::policy::{PolicySpec, Statement};
    use crate::iam::urn::{Region, ResourceUrn};
    use crate::ids::{DomainId, KeyId};
    use proptest::prelude::*;

    const ACME: &str = "6f1c7c64-5b8e-4d2e-9b56-5e2b8d9c0a11";
    const GLOBEX: &str = "1d3e5f70-8192-4a3b-8c4d-5e6f708192a3";
    const KEY: &str = "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b";

    fn pid(n: u128) -> PolicyId {
        PolicyId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn pats(items: &[&str]) -> Vec<Pattern> {
        items.iter().map(|s| Pattern::new(*s).unwrap()).collect()
    }

    fn statement(effect: Effect, actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            effect,
            actions: pats(actions),
            resources: pats(resources),
        }
    }

    fn policy(id: u128, identities: &[&str], statements: Vec<Statement>) -> Policy {
        PolicySpec {
            name: format!("policy {id}"),
            description: None,
            identities: pats(identities),
            statements,
        }
        .into_policy(pid(id))
        .unwrap()
    }

    fn key_urn(domain: &str) -> String {
        let eu = Region::new("eu").unwrap();
        let domain: DomainId = domain.parse().unwrap();
        let key: KeyId = KEY.parse().unwrap();
        ResourceUrn::service_key(&eu, domain, key).to_string()
    }

    fn alice() -> Vec<IdentityUrn> {
        vec![
            IdentityUrn::new("urn:v1:eu:identity:user:acme/alice").unwrap(),
            IdentityUrn::new("urn:v1:eu:identity:group:acme/crypto").unwrap(),
        ]
    }

    fn acme_keys() -> String {
        format!("urn:v1:eu:resource:okms:{ACME}/serviceKey/*")
    }

    #[test]
    fn no_policy_denies_by_default() {
        let d = evaluate([], &alice(), Action::ServiceKeyEncrypt, &key_urn(ACME));
        assert_eq!(d, Decision::Deny(Denial::NoMatchingStatement));
        assert!(!d.is_allowed());
        assert_eq!(
            d.to_string(),
            "denied by default: no policy statement allows it"
        );
    }

    #[test]
    fn matching_identity_action_and_resource_allow() {
        let p = policy(
            1,
            &["urn:v1:eu:identity:group:acme/crypto"],
            vec![
                statement(Effect::Allow, &["okms:apikms:serviceKey/get"], &["*"]),
                statement(
                    Effect::Allow,
                    &["okms:apikms:serviceKey/encrypt"],
                    &[&acme_keys()],
                ),
            ],
        );
        let d = evaluate([&p], &alice(), Action::ServiceKeyEncrypt, &key_urn(ACME));
        assert_eq!(
            d,
            Decision::Allow {
                policy: pid(1),
                statement: 1
            }
        );
        assert!(d.is_allowed());
        assert_eq!(
            d.to_string(),
            "allowed by policy 00000000-0000-0000-0000-000000000001 statement 1"
        );
        assert_eq!(d.require(Action::ServiceKeyEncrypt, "r"), Ok(()));

        // Same policy, an action it does not grant.
        let d = evaluate([&p], &alice(), Action::ServiceKeyDecrypt, &key_urn(ACME));
        assert_eq!(d, Decision::Deny(Denial::NoMatchingStatement));
        assert_eq!(
            d.require(Action::ServiceKeyDecrypt, &key_urn(ACME)),
            Err(Error::Forbidden {
                action: "okms:apikms:serviceKey/decrypt".into(),
                resource: key_urn(ACME),
            })
        );
    }

    #[test]
    fn identities_that_do_not_match_are_denied() {
        let p = policy(
            1,
            &[
                "urn:v1:eu:identity:user:acme/bob",
                "urn:v1:eu:identity:group:globex/*",
            ],
            vec![statement(Effect::Allow, &["*"], &["*"])],
        );
        let d = evaluate([&p], &alice(), Action::RandomGet, &key_urn(ACME));
        assert_eq!(d, Decision::Deny(Denial::NoMatchingStatement));
        // No identities at all: nothing applies.
        let d = evaluate([&p], &[], Action::RandomGet, &key_urn(ACME));
        assert_eq!(d, Decision::Deny(Denial::NoMatchingStatement));
    }

    #[test]
    fn explicit_deny_wins_in_any_order() {
        let allow = policy(
            1,
            &["urn:v1:eu:identity:user:acme/*"],
            vec![statement(
                Effect::Allow,
                &["okms:apikms:serviceKey/*"],
                &[&acme_keys()],
            )],
        );
        let deny = policy(
            2,
            &["urn:v1:eu:identity:group:acme/crypto"],
            vec![
                statement(Effect::Allow, &["okms:apikms:serviceKey/*"], &["*"]),
                statement(Effect::Deny, &["okms:apikms:serviceKey/delete"], &["*"]),
            ],
        );
        let expected = Decision::Deny(Denial::Explicit {
            policy: pid(2),
            statement: 1,
        });
        for order in [[&allow, &deny], [&deny, &allow]] {
            let d = evaluate(order, &alice(), Action::ServiceKeyDelete, &key_urn(ACME));
            assert_eq!(d, expected);
        }
        assert_eq!(
            expected.to_string(),
            "denied by policy 00000000-0000-0000-0000-000000000002 statement 1 (explicit deny)"
        );
        // Statement order inside one policy does not matter either.
        let mut reversed = deny.clone();
        reversed.statements.reverse();
        let d = evaluate(
            [&reversed],
            &alice(),
            Action::ServiceKeyDelete,
            &key_urn(ACME),
        );
        assert_eq!(
            d,
            Decision::Deny(Denial::Explicit {
                policy: pid(2),
                statement: 0
            })
        );
        // The deny is narrow: other actions are still allowed, by the first allow in order.
        let d = evaluate(
            [&allow, &deny],
            &alice(),
            Action::ServiceKeySign,
            &key_urn(ACME),
        );
        assert_eq!(
            d,
            Decision::Allow {
                policy: pid(1),
                statement: 0
            }
        );
        let d = evaluate(
            [&deny, &allow],
            &alice(),
            Action::ServiceKeySign,
            &key_urn(ACME),
        );
        assert_eq!(
            d,
            Decision::Allow {
                policy: pid(2),
                statement: 0
            }
        );
    }

    #[test]
    fn deny_of_a_policy_that_does_not_apply_is_ignored() {
        let allow = policy(
            1,
            &["urn:v1:eu:identity:user:acme/alice"],
            vec![statement(Effect::Allow, &["*"], &["*"])],
        );
        let deny_bob = policy(
            2,
            &["urn:v1:eu:identity:user:acme/bob"],
            vec![statement(Effect::Deny, &["*"], &["*"])],
        );
        let d = evaluate(
            [&deny_bob, &allow],
            &alice(),
            Action::RandomGet,
            &key_urn(ACME),
        );
        assert_eq!(
            d,
            Decision::Allow {
                policy: pid(1),
                statement: 0
            }
        );
    }

    #[test]
    fn service_key_wildcard_covers_data_keys() {
        let p = policy(
            1,
            &["urn:v1:eu:identity:user:acme/alice"],
            vec![statement(
                Effect::Allow,
                &["okms:apikms:serviceKey/*"],
                &[&acme_keys()],
            )],
        );
        for action in [
            Action::DataKeyCreate,
            Action::DataKeyDecrypt,
            Action::ServiceKeyUnwrapKey,
        ] {
            assert!(
                evaluate([&p], &alice(), action, &key_urn(ACME)).is_allowed(),
                "{action}"
            );
        }
        for action in [
            Action::RandomGet,
            Action::PolicyPut,
            Action::CredentialCreate,
        ] {
            assert!(
                !evaluate([&p], &alice(), action, &key_urn(ACME)).is_allowed(),
                "{action}"
            );
        }
    }

    #[test]
    fn resource_patterns_are_scoped_to_their_domain() {
        let p = policy(
            1,
            &["urn:v1:eu:identity:user:acme/*"],
            vec![statement(
                Effect::Allow,
                &["*"],
                &[&acme_keys(), &format!("urn:v1:eu:resource:okms:{ACME}")],
            )],
        );
        assert!(evaluate([&p], &alice(), Action::ServiceKeyEncrypt, &key_urn(ACME)).is_allowed());
        assert!(
            !evaluate([&p], &alice(), Action::ServiceKeyEncrypt, &key_urn(GLOBEX)).is_allowed()
        );
        let globex = format!("urn:v1:eu:resource:okms:{GLOBEX}");
        assert!(!evaluate([&p], &alice(), Action::PolicyPut, &globex).is_allowed());
        let acme = format!("urn:v1:eu:resource:okms:{ACME}");
        assert!(evaluate([&p], &alice(), Action::PolicyPut, &acme).is_allowed());
        // A pattern on the domain URN itself does not reach into its keys.
        let domain_only = policy(
            2,
            &["urn:v1:eu:identity:user:acme/*"],
            vec![statement(Effect::Allow, &["*"], &[&acme])],
        );
        assert!(
            !evaluate(
                [&domain_only],
                &alice(),
                Action::ServiceKeyEncrypt,
                &key_urn(ACME)
            )
            .is_allowed()
        );
    }

    #[test]
    fn btree_order_names_the_lowest_policy_id() {
        let mut by_id = BTreeMap::new();
        for id in [9, 3, 5] {
            let p = policy(
                id,
                &["urn:v1:eu:identity:user:acme/alice"],
                vec![statement(
                    Effect::Allow,
                    &["okms:apikms:random/get"],
                    &["*"],
                )],
            );
            by_id.insert(p.id, p);
        }
        let d = evaluate(by_id.values(), &alice(), Action::RandomGet, &key_urn(ACME));
        assert_eq!(
            d,
            Decision::Allow {
                policy: pid(3),
                statement: 0
            }
        );
    }

    #[test]
    fn decisions_serialize() {
        for d in [
            Decision::Allow {
                policy: pid(1),
                statement: 4,
            },
            Decision::Deny(Denial::Explicit {
                policy: pid(2),
                statement: 0,
            }),
            Decision::Deny(Denial::NoMatchingStatement),
        ] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
            let bytes = postcard::to_allocvec(&d).unwrap();
            assert_eq!(postcard::from_bytes::<Decision>(&bytes).unwrap(), d);
        }
    }

    const ACTION_PATTERNS: [&str; 5] = [
        "okms:apikms:serviceKey/*",
        "okms:apikms:serviceKey/encrypt",
        "okms:apikms:serviceKey/dataKey/*",
        "*decrypt",
        "*",
    ];
    const IDENTITY_PATTERNS: [&str; 3] = [
        "urn:v1:eu:identity:user:acme/alice",
        "urn:v1:eu:identity:user:acme/bob",
        "urn:v1:eu:identity:group:acme/*",
    ];

    fn resource_patterns() -> [String; 4] {
        [
            "*".to_string(),
            acme_keys(),
            format!("urn:v1:eu:resource:okms:{GLOBEX}/*"),
            key_urn(ACME),
        ]
    }

    fn arb_statement() -> impl Strategy<Value = Statement> {
        (
            any::<bool>(),
            proptest::sample::subsequence(ACTION_PATTERNS.to_vec(), 1..=2),
            proptest::sample::subsequence(resource_patterns().to_vec(), 1..=2),
        )
            .prop_map(|(deny, actions, resources)| Statement {
                effect: if deny { Effect::Deny } else { Effect::Allow },
                actions: pats(&actions),
                resources: resources
                    .iter()
                    .map(|r| Pattern::new(r.as_str()).unwrap())
                    .collect(),
            })
    }

    fn arb_policies() -> impl Strategy<Value = Vec<Policy>> {
        proptest::collection::vec(
            (
                proptest::sample::subsequence(IDENTITY_PATTERNS.to_vec(), 1..=2),
                proptest::collection::vec(arb_statement(), 1..4),
            ),
            0..5,
        )
        .prop_map(|policies| {
            policies
                .into_iter()
                .enumerate()
                .map(|(i, (identities, statements))| policy(i as u128, &identities, statements))
                .collect()
        })
    }

    /// The rule, stated independently of the evaluator's loop: deny if any applicable deny
    /// statement matches, else allow if any applicable allow statement matches.
    fn reference(policies: &[Policy], ids: &[IdentityUrn], action: Action, res: &str) -> bool {
        let matching = |effect| {
            policies.iter().filter(|p| p.applies_to(ids)).any(|p| {
                p.statements
                    .iter()
                    .any(|s| s.effect == effect && s.matches(action, res))
            })
        };
        !matching(Effect::Deny) && matching(Effect::Allow)
    }

    proptest! {
        #[test]
        fn order_never_changes_allow_or_deny(
            (policies, shuffled) in arb_policies().prop_flat_map(|ps| {
                let shuffled = Just(ps.clone()).prop_shuffle();
                (Just(ps), shuffled)
            }),
            reverse_statements in any::<bool>(),
            action in proptest::sample::select(Action::ALL.to_vec()),
            domain in proptest::sample::select(vec![ACME, GLOBEX]),
        ) {
            let mut shuffled = shuffled;
            if reverse_statements {
                for p in &mut shuffled {
                    p.statements.reverse();
                }
            }
            let ids = alice();
            let res = key_urn(domain);
            let a = evaluate(&policies, &ids, action, &res);
            let b = evaluate(&shuffled, &ids, action, &res);
            prop_assert_eq!(a.is_allowed(), b.is_allowed());
            prop_assert_eq!(a.is_allowed(), reference(&policies, &ids, action, &res));
            // An explicit denial stays explicit, a default one stays default.
            prop_assert_eq!(
                matches!(a, Decision::Deny(Denial::Explicit { .. })),
                matches!(b, Decision::Deny(Denial::Explicit { .. }))
            );
            // Whatever decided must really be an applicable, matching statement of that effect.
            match a {
                Decision::Allow { policy, statement } | Decision::Deny(Denial::Explicit { policy, statement }) => {
                    let p = policies.iter().find(|p| p.id == policy).unwrap();
                    prop_assert!(p.applies_to(&ids));
                    let st = &p.statements[statement];
                    prop_assert!(st.matches(action, &res));
                    prop_assert_eq!(st.effect == Effect::Allow, a.is_allowed());
                }
                Decision::Deny(Denial::NoMatchingStatement) => {}
            }
        }
    }
}
