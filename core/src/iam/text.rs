//! The lexical rules shared by URNs, patterns and the names of IAM objects.
//!
//! URNs and patterns are restricted to printable ASCII without spaces so that each one has a
//! single visible spelling: no look-alike letters from other scripts, no invisible characters,
//! no line break that could forge an extra audit line, and matching bytes is the same as
//! matching characters. Free-text names and descriptions may hold any letter, but never a
//! control character, for the same audit-log reason.

use crate::error::Error;

/// Why a URN, pattern, region label or name was refused. The message completes a sentence
/// that starts with the field name ("invalid identities[2]: contains a space at position 7").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("must not be empty")]
    Empty,
    #[error("is {len} characters long; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error("contains a space at position {at}")]
    Space { at: usize },
    #[error("contains a character that is not printable ASCII at position {at}")]
    NotPrintableAscii { at: usize },
    #[error("contains a control character at position {at}")]
    Control { at: usize },
    #[error("contains '*' at position {at}: wildcards belong in policy patterns only")]
    Wildcard { at: usize },
    /// The text is well-formed lexically but does not have the expected shape.
    #[error("{0}")]
    Malformed(&'static str),
}

impl InvalidText {
    /// The API error for this refusal, naming the field it was found in.
    pub fn at_field(self, field: &str) -> Error {
        Error::invalid(field, self.to_string())
    }
}

/// Checks the URN and pattern alphabet: 1 to `max` printable ASCII characters, no space.
pub(crate) fn check_printable_ascii(s: &str, max: usize) -> Result<(), InvalidText> {
    check_len(s, max)?;
    for (at, c) in s.chars().enumerate() {
        if c == ' ' {
            return Err(InvalidText::Space { at });
        }
        if !c.is_ascii_graphic() {
            return Err(InvalidText::NotPrintableAscii { at });
        }
    }
    Ok(())
}

/// Checks a human-chosen name: 1 to `max` characters (not bytes), no control character.
pub(crate) fn check_name(s: &str, max: usize) -> Result<(), InvalidText> {
    check_len(s, max)?;
    check_no_control(s)
}

/// Checks a free-text description: at most `max` characters, no control character.
pub(crate) fn check_description(s: &str, max: usize) -> Result<(), InvalidText> {
    let len = s.chars().count();
    if len > max {
        return Err(InvalidText::TooLong { len, max });
    }
    check_no_control(s)
}

fn check_len(s: &str, max: usize) -> Result<(), InvalidText> {
    if s.is_empty() {
        return Err(InvalidText::Empty);
    }
    let len = s.chars().count();
    if len > max {
        return Err(InvalidText::TooLong { len, max });
    }
    Ok(())
}

fn check_no_control(s: &str) -> Result<(), InvalidText> {
    match s.chars().position(char::is_control) {
        Some(at) => Err(InvalidText::Control { at }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_rules() {
        assert_eq!(check_printable_ascii("urn:v1:a", 8), Ok(()));
        assert_eq!(check_printable_ascii("", 8), Err(InvalidText::Empty));
        assert_eq!(
            check_printable_ascii("urn:v1:ab", 8),
            Err(InvalidText::TooLong { len: 9, max: 8 })
        );
        assert_eq!(
            check_printable_ascii("a b", 8),
            Err(InvalidText::Space { at: 1 })
        );
        assert_eq!(
            check_printable_ascii("ab\tc", 8),
            Err(InvalidText::NotPrintableAscii { at: 2 })
        );
        // A Cyrillic 'а' looks like the Latin one: refused, and counted as one character.
        assert_eq!(
            check_printable_ascii("b\u{430}d", 8),
            Err(InvalidText::NotPrintableAscii { at: 1 })
        );
    }

    #[test]
    fn names_count_characters_and_refuse_control_characters() {
        assert_eq!(check_name("équipe sécurité", 15), Ok(()));
        assert_eq!(
            check_name("équipe sécurité!", 15),
            Err(InvalidText::TooLong { len: 16, max: 15 })
        );
        assert_eq!(check_name("", 15), Err(InvalidText::Empty));
        assert_eq!(check_name("a\nb", 15), Err(InvalidText::Control { at: 1 }));
        assert_eq!(check_description("", 4), Ok(()));
        assert_eq!(
            check_description("a\u{1b}[31m", 10),
            Err(InvalidText::Control { at: 1 })
        );
    }

    #[test]
    fn error_names_the_field() {
        let e = InvalidText::Space { at: 3 }.at_field("identities[1]");
        assert_eq!(
            e.to_string(),
            "invalid identities[1]: contains a space at position 3"
        );
    }
}
