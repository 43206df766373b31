//! Wildcard patterns: how policies name many identities, actions or resources at once.
//!
//! The only metacharacter is `*`, which matches any run of characters, `:` and `/`
//! included, so `okms:apikms:serviceKey/*` also covers `serviceKey/dataKey/create`. There
//! are no character classes, no `?` and no escapes: a policy should read the same to the
//! operator who wrote it and to the evaluator, and every extra metacharacter is one more way
//! for the two to disagree. Matching is case-sensitive, like the URNs and action names it
//! applies to.
//!
//! Patterns come from operators and are matched on every request, so matching uses the greedy
//! two-pointer glob algorithm: at most O(n·m) steps, never the exponential backtracking of a
//! naive recursive matcher, whatever the pattern.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{InvalidText, check_printable_ascii};

/// A validated wildcard pattern: 1 to 256 printable ASCII characters without spaces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern(String);

impl Pattern {
    pub const MAX_LEN: usize = 256;
    pub const WILDCARD: char = '*';

    pub fn new(pattern: impl Into<String>) -> Result<Self, InvalidText> {
        let pattern = pattern.into();
        check_printable_ascii(&pattern, Self::MAX_LEN)?;
        Ok(Pattern(pattern))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern has no `*`, i.e. matches exactly one string.
    pub fn is_literal(&self) -> bool {
        !self.0.contains(Self::WILDCARD)
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        // Byte-wise matching equals character-wise matching here: the pattern is ASCII, an
        // ASCII byte never occurs inside a multi-byte UTF-8 character, and `*` may swallow
        // any bytes.
        glob(self.0.as_bytes(), text.as_bytes())
    }
}

/// Greedy glob matching with one backtrack point: the most recent `*`. When a literal fails,
/// the last `*` absorbs one more character of the text and matching resumes just after it.
/// Backtracking to an earlier `*` is never needed, because whatever an earlier `*` could
/// absorb, the later one can absorb as well; hence O(|pattern|·|text|) at worst.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // (index of the last `*` seen in the pattern, text index it is currently matched up to)
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, absorbed)) => {
                    backtrack = Some((star, absorbed + 1));
                    p = star + 1;
                    t = absorbed + 1;
                }
                None => return false,
            },
        }
    }
    // The text is used up: what remains of the pattern may only be stars.
    pattern[p..].iter().all(|&c| c == b'*')
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Pattern {
    type Err = InvalidText;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::new(s)
    }
}

impl TryFrom<String> for Pattern {
    type Error = InvalidText;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Pattern::new(s)
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap()
    }

    /// The obviously-correct exponential matcher the fast one is checked against.
    fn naive(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|i| naive(rest, &text[i..])),
            Some((c, rest)) => text.first() == Some(c) && naive(rest, &text[1..]),
        }
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            // exact
            ("okms:apikms:random/get", "okms:apikms:random/get", true),
            ("okms:apikms:random/get", "okms:apikms:random/ge", false),
            ("okms:apikms:random/get", "okms:apikms:random/gets", false),
            ("okms:apikms:random/get", "OKMS:apikms:random/get", false),
            ("okms:apikms:random/get", "", false),
            // suffix `*` crosses ':' and '/'
            (
                "okms:apikms:serviceKey/*",
                "okms:apikms:serviceKey/encrypt",
                true,
            ),
            (
                "okms:apikms:serviceKey/*",
                "okms:apikms:serviceKey/dataKey/create",
                true,
            ),
            ("okms:apikms:serviceKey/*", "okms:apikms:serviceKey/", true),
            ("okms:apikms:serviceKey/*", "okms:apikms:serviceKey", false),
            ("okms:*", "okms:apikms:random/get", true),
            ("okms:*", "cairn:admin:policy/put", false),
            // prefix `*`
            ("*/decrypt", "okms:apikms:serviceKey/decrypt", true),
            ("*/decrypt", "okms:apikms:serviceKey/dataKey/decrypt", true),
            ("*/decrypt", "okms:apikms:serviceKey/encrypt", false),
            ("*/decrypt", "/decrypt", true),
            ("*/decrypt", "decrypt", false),
            // middle `*`
            (
                "urn:v1:*:identity:user:acme/alice",
                "urn:v1:eu:identity:user:acme/alice",
                true,
            ),
            (
                "urn:v1:*:identity:user:acme/alice",
                "urn:v1:eu:identity:user:acme/bob",
                false,
            ),
            ("a*b", "ab", true),
            ("a*b", "a:/b", true),
            ("a*b", "abc", false),
            ("a*b", "ba", false),
            // multiple `*`, including adjacent ones and ones matching nothing
            ("*serviceKey*crypt", "okms:apikms:serviceKey/decrypt", true),
            (
                "*serviceKey*crypt",
                "okms:apikms:serviceKey/dataKey/decrypt",
                true,
            ),
            ("*serviceKey*crypt", "okms:apikms:serviceKey/sign", false),
            ("a**b", "ab", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("*a*", "a", true),
            ("*a*", "bbb", false),
            ("*", "", true),
            ("**", "", true),
            ("*", "anything:at/all", true),
            // the last `*` must be able to re-absorb after a partial match
            ("*ab", "aab", true),
            ("*aab", "aaab", true),
            ("a*ab", "aab", true),
            ("*ab*ab", "abxabab", true),
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(
                p(pattern).matches(text),
                expected,
                "{pattern:?} vs {text:?}"
            );
            assert_eq!(
                naive(pattern.as_bytes(), text.as_bytes()),
                expected,
                "naive"
            );
        }
    }

    #[test]
    fn non_ascii_text_is_matched_whole() {
        assert!(p("user:*").matches("user:zoë"));
        assert!(p("z*").matches("zoë"));
        assert!(!p("*o").matches("zoë"));
        assert!(p("*o*").matches("zoë"));
        assert!(!p("zo*").matches("żo"));
    }

    #[test]
    fn pathological_pattern_finishes() {
        let text = "a".repeat(10_000);
        assert!(!p("*a*a*a*a*a*a*a*b").matches(&text));
        // A pattern of 128 alternating stars against a long near-miss: still quick.
        let long = "*a".repeat(128);
        assert!(!p(&long[..255]).matches(&"b".repeat(10_000)));
    }

    #[test]
    fn validation() {
        assert_eq!(Pattern::new(""), Err(InvalidText::Empty));
        assert_eq!(
            Pattern::new("a".repeat(257)),
            Err(InvalidText::TooLong { len: 257, max: 256 })
        );
        assert!(Pattern::new("a".repeat(256)).is_ok());
        assert_eq!(Pattern::new("a b"), Err(InvalidText::Space { at: 1 }));
        assert_eq!(
            Pattern::new("a\u{0}"),
            Err(InvalidText::NotPrintableAscii { at: 1 })
        );
        assert!(p("a*").matches("ab"));
        assert!(p("ab").is_literal());
        assert!(!p("a*").is_literal());
    }

    #[test]
    fn serde_as_a_validated_string() {
        let pat = p("okms:apikms:serviceKey/*");
        let json = serde_json::to_string(&pat).unwrap();
        assert_eq!(json, r#""okms:apikms:serviceKey/*""#);
        assert_eq!(serde_json::from_str::<Pattern>(&json).unwrap(), pat);
        let err = serde_json::from_str::<Pattern>(r#""has space""#).unwrap_err();
        assert!(err.to_string().contains("contains a space"), "{err}");
        assert!(serde_json::from_str::<Pattern>(r#""""#).is_err());
        let bytes = postcard::to_allocvec(&pat).unwrap();
        assert_eq!(postcard::from_bytes::<Pattern>(&bytes).unwrap(), pat);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn agrees_with_the_naive_matcher(
            pattern in "[ab:/*]{1,8}",
            text in "[ab:/*]{0,12}",
        ) {
            let fast = Pattern::new(pattern.clone()).unwrap().matches(&text);
            prop_assert_eq!(fast, naive(pattern.as_bytes(), text.as_bytes()));
        }
    }
}
