//! Request bodies and query strings, with every failure in the OKMS error shape.
//!
//! axum's own extractors answer bad input in plain text; these answer with the core's
//! [`Error`] (400) or [`ApiError::PayloadTooLarge`] (413). Messages name the field at fault
//! and never repeat a value the client sent as a string: a bad request body may well hold a
//! secret in the wrong place.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use cairn_core::Error;
use serde::de::DeserializeOwned;
use zeroize::Zeroize;

use super::backend::Backend;
use super::error::{ApiError, invalid};
use super::node::AppState;

/// Longest message quoted back from a JSON or query parse error.
const MESSAGE_MAX: usize = 300;

/// A JSON body of type `T`, whose schema refuses unknown fields.
pub(crate) struct Json<T>(pub T);

impl<B: Backend, T: DeserializeOwned> FromRequest<AppState<B>> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState<B>) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, app)
            .await
            .map_err(|rejection| {
                if rejection.status().as_u16() == 413 {
                    ApiError::PayloadTooLarge {
                        limit: app.config.body_limit,
                    }
                } else {
                    ApiError::Core(Error::malformed("request body", "could not be read"))
                }
            })?;
        let parsed = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            // serde would also take an array for a struct, field by field in order: refuse
            // anything but an object, as the schemas describe.
            Some(b'{') => serde_json::from_slice::<T>(&bytes).map_err(json_error),
            Some(_) => Err(ApiError::Core(Error::malformed(
                "request body",
                "not a JSON object",
            ))),
            None => Err(ApiError::Core(Error::malformed(
                "request body",
                "empty: a JSON object is expected",
            ))),
        };
        wipe(bytes);
        parsed.map(Json)
    }
}

/// Best effort: the body may hold plaintext or key material, and this is the one copy we own.
fn wipe(bytes: Bytes) {
    if let Ok(mut owned) = bytes.try_into_mut() {
        owned.as_mut().zeroize();
    }
}

fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::Core(Error::malformed("request body", format!("not JSON ({at})")))
        }
        Category::Data => invalid("body", redact(&e.to_string())),
    }
}

/// A serde message without the value it may quote: `invalid type: string "…", expected
/// u32` becomes `invalid type: string, expected u32`. Names of fields and variants stay, as
/// they are what the caller needs to fix the request; the whole is kept short.
fn redact(message: &str) -> String {
    let mut out = message.to_string();
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = out.strip_prefix(prefix)
            && let Some(end) = rest.find(", expected")
        {
            let kind = rest[..end].split([' ', '`', '"']).next().unwrap_or("");
            out = format!("{prefix}{kind}{}", &rest[end..]);
            break;
        }
    }
    if out.chars().count() > MESSAGE_MAX {
        out = out.chars().take(MESSAGE_MAX).collect::<String>() + "…";
    }
    out
}

/// The query string as name–value pairs, checked against what each endpoint takes.
pub(crate) struct Query(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|_| invalid("query", "not a valid URL-encoded query string"))
    }
}

impl Query {
    /// Refuses parameters other than `names`, and any given twice: a typo (`formt=jwk`)
    /// would otherwise be ignored and the caller would get something else than it asked.
    pub fn allow(&self, names: &[&str]) -> Result<(), ApiError> {
        for (i, (name, _)) in self.0.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                let takes = if names.is_empty() {
                    "no query parameters".to_string()
                } else {
                    names.join(", ")
                };
                return Err(invalid(
                    "query",
                    redact(&format!(
                        "unknown parameter `{name}`: this endpoint takes {takes}"
                    )),
                ));
            }
            if self.0[..i].iter().any(|(n, _)| n == name) {
                return Err(invalid(name, "given more than once"));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An enum parameter, spelled as its JSON name; `expected` lists the values for the
    /// error message.
    pub fn parse_enum<T: DeserializeOwned>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|value| {
                serde_json::from_value(serde_json::Value::String(value.to_string()))
                    .map_err(|_| invalid(name, format!("must be one of {expected}")))
            })
            .transpose()
    }

    /// An unsigned integer parameter; `range` is for the error message (the core checks the
    /// range itself).
    pub fn parse_u32(&self, name: &str, range: &str) -> Result<Option<u32>, ApiError> {
        self.get(name)
            .map(|value| {
                value
                    .parse::<u32>()
                    .map_err(|_| invalid(name, format!("must be an integer {range}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact("invalid type: string \"hunter2\", expected u32 at line 1 column 9"),
            "invalid type: string, expected u32 at line 1 column 9"
        );
        assert_eq!(
            redact("invalid type: integer `42`, expected a string at line 1 column 2"),
            "invalid type: integer, expected a string at line 1 column 2"
        );
        assert_eq!(
            redact("unknown field `foo`, expected `plaintext` or `context`"),
            "unknown field `foo`, expected `plaintext` or `context`"
        );
        assert_eq!(redact(&"x".repeat(400)).chars().count(), MESSAGE_MAX + 1);
    }
}
