//! A refusal from the server, with the OKMS error body decoded for a person: the message,
//! what the `error_code` means (its bits: major, minor, category, application code), and the
//! request id to quote to an operator.

use std::fmt;

use cairn_core::error::ErrorCode;
use http::{Method, StatusCode};
use serde_json::Value;

use super::http::snippet;

/// A non-2xx answer.
#[derive(Debug)]
pub struct ApiFailure {
    pub method: Method,
    pub path: String,
    pub status: StatusCode,
    /// The OKMS body's `errors`, or the start of whatever else the body was.
    pub messages: Vec<String>,
    pub code: Option<u32>,
    pub error_id: Option<String>,
    pub request_id: Option<String>,
}

impl ApiFailure {
    /// Reads the OKMS error body leniently: a proxy in front of the service may answer
    /// with something else, and that should still be shown.
    pub fn new(
        method: Method,
        path: &str,
        status: StatusCode,
        header_request_id: Option<String>,
        body: &[u8],
    ) -> ApiFailure {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut messages: Vec<String> = json
            .as_ref()
            .and_then(|j| j.get("errors"))
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if messages.is_empty() {
            messages.extend(field("message").or_else(|| field("error")));
        }
        if messages.is_empty() && !body.is_empty() {
            messages.push(snippet(body));
        }
        let code = json
            .as_ref()
            .and_then(|j| j.get("error_code"))
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok());
        ApiFailure {
            method,
            path: path.to_string(),
            status,
            messages,
            code,
            error_id: field("error_id"),
            request_id: field("request_id").or(header_request_id),
        }
    }

    /// The lines under the message: status, decoded code, ids.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("request", format!("{} {}", self.method, self.path)),
            ("status", self.status.to_string()),
        ];
        if let Some(code) = self.code {
            lines.push(("error code", describe_code(code)));
        }
        if let Some(id) = &self.error_id {
            lines.push(("error id", id.clone()));
        }
        if let Some(id) = &self.request_id {
            lines.push(("request id", id.clone()));
        }
        lines
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.messages.is_empty() {
            write!(f, "the server answered {}", self.status)
        } else {
            write!(f, "{}", self.messages.join("; "))
        }
    }
}

impl std::error::Error for ApiFailure {}

/// `0x01045005 (17059845): major 1 CCM, minor 4 service keys, category 5 NotFound, code 0x005`.
pub fn describe_code(raw: u32) -> String {
    let code = ErrorCode(raw);
    let (major, minor, category) = (code.major(), code.minor(), code.category());
    let minor_name = minor_name(major, minor).map_or(String::new(), |n| format!(" {n}"));
    format!(
        "{raw:#010x} ({raw}): major {major} {}, minor {minor}{minor_name}, category {category} {}, code {:#05x}",
        major_name(major),
        category_name(category),
        code.app(),
    )
}

fn major_name(major: u8) -> &'static str {
    match major {
        1 => "CCM",
        2 => "SSM",
        3 => "REST",
        4 => "KMIP",
        5 => "DB",
        6 => "XLIB",
        _ => "unknown",
    }
}

/// Component names, as `cairn_core::error::minor` numbers them per major.
fn minor_name(major: u8, minor: u8) -> Option<&'static str> {
    use cairn_core::error::minor::*;
    Some(match (major, minor) {
        (_, GENERAL) => "general",
        (1, CCM_IAM) => "IAM",
        (1, CCM_DOMAIN) => "domain",
        (1, CCM_SERVICE_KEYS) => "service keys",
        (3, REST_AUTH) => "authentication",
        (3, REST_SERVICE_KEYS) => "service keys",
        (5, DB_FILE) => "file",
        _ => return None,
    })
}

fn category_name(category: u8) -> &'static str {
    match category {
        1 => "Internal",
        2 => "Argument",
        3 => "Authentication",
        4 => "Authorization",
        5 => "NotFound",
        6 => "Database",
        7 => "Unavailable",
        8 => "BadArgument",
        9 => "TooManyRequests",
        10 => "Conflict",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use cairn_core::error::{Category, Major, minor};

    use super::*;

    #[test]
    fn codes_are_decoded_by_their_bits() {
        let code = ErrorCode::new(
            Major::Ccm,
            minor::CCM_SERVICE_KEYS,
            Category::NotFound,
            0x005,
        );
        assert_eq!(
            describe_code(code.0),
            "0x01045005 (17059845): major 1 CCM, minor 4 service keys, category 5 NotFound, code 0x005"
        );
        let auth = ErrorCode::new(
            Major::Rest,
            minor::REST_AUTH,
            Category::Authentication,
            0x13,
        );
        assert!(describe_code(auth.0).contains("major 3 REST, minor 2 authentication"));
        assert!(describe_code(0xff00_0000).contains("major 255 unknown"));
    }

    #[test]
    fn bodies_that_are_not_okms_are_still_shown() {
        let f = ApiFailure::new(
            Method::GET,
            "/x",
            StatusCode::BAD_GATEWAY,
            Some("r1".into()),
            b"<html>bad gateway</html>",
        );
        assert_eq!(f.to_string(), "<html>bad gateway</html>");
        assert_eq!(f.request_id.as_deref(), Some("r1"));
        let empty = ApiFailure::new(Method::GET, "/x", StatusCode::NOT_FOUND, None, b"");
        assert_eq!(empty.to_string(), "the server answered 404 Not Found");
    }
}
