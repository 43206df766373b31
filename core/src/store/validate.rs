//! Checks of caller-supplied text shared by request preparation and command application.

use crate::error::Error;

/// A name of 1 to `max` characters (Unicode scalar values, as JSON Schema counts them),
/// without control characters, which would corrupt logs and tables that show it.
pub fn name(field: &str, value: &str, max: usize) -> Result<(), Error> {
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {max} characters, got {len}"),
        ));
    }
    no_control(field, value)
}

/// Optional free text of at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters, got {len}"),
        ));
    }
    no_control(field, value)
}

fn no_control(field: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must not contain control characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("name", "k", 32).is_ok());
        assert!(
            name("name", &"é".repeat(32), 32).is_ok(),
            "characters, not bytes"
        );
        assert!(name("name", &"a".repeat(33), 32).is_err());
        assert!(name("name", "", 32).is_err());
        assert!(name("name", "a\nb", 32).is_err());
        assert!(text("context", "", 64).is_ok());
        assert!(text("context", &"x".repeat(65), 64).is_err());
    }
}
