//! `cairn keys …`: the OKMS service-key API, in the style of the OKMS CLI.
//!
//! Data to encrypt or sign is given as an argument, `-` for standard input, or `@FILE`;
//! the API's base64 is done here. Decrypted plaintext is printed as it was encrypted
//! (text), or in base64 under `--output json` and for data keys.

use std::io::Read;

use anyhow::{Context, bail};
use cairn_core::b64;
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::output::{block, table, text};
use super::{Common, Rendered, Session};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Lists the domain's keys (every page).
    List {
        /// Only keys in this state: pre_active, active, deactivated, compromised, destroyed,
        /// destroyed_compromised, or all.
        #[arg(long)]
        state: Option<String>,
        /// Keys per request (1 to 1000).
        #[arg(long)]
        max: Option<u32>,
    },
    /// Creates a key.
    Create {
        #[arg(long)]
        name: String,
        /// oct, RSA or EC.
        #[arg(long = "type", value_name = "TYPE", default_value = "oct")]
        kind: String,
        /// Bits: 128/192/256 for oct, 2048/3072/4096 for RSA.
        #[arg(long)]
        size: Option<u32>,
        /// P-256, P-384 or P-521 for EC.
        #[arg(long)]
        curve: Option<String>,
        /// Allowed operations, comma-separated (encrypt, decrypt, wrapKey, unwrapKey, sign,
        /// verify) [default: encrypt,decrypt,wrapKey,unwrapKey for oct, sign,verify
        /// otherwise].
        #[arg(long, alias = "usage", value_delimiter = ',')]
        operations: Vec<String>,
        /// Context bound to the key (free text, kept with it).
        #[arg(long)]
        context: Option<String>,
        /// The key's id (a UUID); drawn by the server without it.
        #[arg(long)]
        id: Option<String>,
    },
    /// Shows a key.
    Get {
        key: String,
        /// Include the public JWK of an asymmetric key.
        #[arg(long)]
        jwk: bool,
    },
    /// Renames a key.
    Update {
        key: String,
        #[arg(long)]
        name: String,
    },
    /// Activates a key.
    Activate { key: String },
    /// Deactivates a key.
    Deactivate {
        key: String,
        /// unspecified, key_compromise, ca_compromise, affiliation_changed, superseded,
        /// cessation_of_operation, privilege_withdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Deletes a key (it must be deactivated first).
    Delete { key: String },
    /// Encrypts DATA (`-` for standard input, `@FILE` for a file) with an oct key.
    Encrypt {
        key: String,
        data: String,
        /// Associated data the decryption must repeat.
        #[arg(long)]
        context: Option<String>,
    },
    /// Decrypts a ciphertext (`-` for standard input, `@FILE` for a file).
    Decrypt {
        key: String,
        ciphertext: String,
        #[arg(long)]
        context: Option<String>,
    },
    /// Data keys: generate one wrapped by a key, or unwrap one.
    #[command(subcommand)]
    Datakey(DatakeyCommand),
    /// Signs DATA (`-`, `@FILE`) with an asymmetric key.
    Sign {
        key: String,
        data: String,
        /// The JWA algorithm: RS256…, PS256…, ES256, ES384, ES512.
        #[arg(long)]
        alg: String,
        /// DATA is already a digest.
        #[arg(long)]
        digest: bool,
    },
    /// Verifies a signature of DATA (`-`, `@FILE`).
    Verify {
        key: String,
        data: String,
        signature: String,
        #[arg(long)]
        alg: String,
        #[arg(long)]
        digest: bool,
    },
    /// Prints the public key of an asymmetric key as a JWK.
    Export { key: String },
}

#[derive(Debug, Subcommand)]
pub enum DatakeyCommand {
    /// Generates a data key: its plaintext (base64) and the same key wrapped by KEY.
    New {
        key: String,
        /// Bits: 128 to 4096, a multiple of 8.
        #[arg(long, default_value_t = 256)]
        size: i64,
        #[arg(long)]
        name: Option<String>,
    },
    /// Unwraps a data key wrapped by KEY.
    Decrypt { key: String, wrapped: String },
}

/// An argument's bytes: itself, standard input for `-`, a file for `@FILE`.
fn input(arg: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if arg == "-" {
        let mut data = Zeroizing::new(Vec::new());
        std::io::stdin()
            .read_to_end(&mut data)
            .context("cannot read standard input")?;
        return Ok(data);
    }
    if let Some(path) = arg.strip_prefix('@') {
        return Ok(Zeroizing::new(
            std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
        ));
    }
    Ok(Zeroizing::new(arg.as_bytes().to_vec()))
}

/// A text argument (ciphertexts, signatures), trimmed.
fn input_text(arg: &str) -> anyhow::Result<String> {
    let bytes = input(arg)?;
    let text = std::str::from_utf8(&bytes).context("the input is not UTF-8 text")?;
    Ok(text.trim().to_string())
}

fn keys_path(session: &Session) -> String {
    match session.profile.domain {
        Some(domain) => format!("/api/{domain}/v1/servicekey"),
        None => "/v1/servicekey".to_string(),
    }
}

fn key_path(session: &Session, key: &str) -> anyhow::Result<String> {
    let id = uuid::Uuid::parse_str(key).with_context(|| format!("key id {key:?} is not a UUID"))?;
    Ok(format!("{}/{id}", keys_path(session)))
}

/// The `size` or `curve` column.
fn size_or_curve(key: &Value) -> String {
    match key.get("curve").and_then(Value::as_str) {
        Some(curve) => curve.to_string(),
        None => text(key, "size"),
    }
}

fn attribute(key: &Value, name: &str) -> String {
    key.get("attributes")
        .map(|a| text(a, name))
        .unwrap_or_default()
}

/// A key as a `field: value` block.
pub fn key_block(key: &Value) -> String {
    let mut fields = vec![
        ("id", text(key, "id")),
        ("name", text(key, "name")),
        ("type", text(key, "type")),
        ("size", text(key, "size")),
        ("curve", text(key, "curve")),
        ("operations", text(key, "operations")),
        ("state", attribute(key, "state")),
        ("created", attribute(key, "original_creation_date")),
        ("activated", attribute(key, "activation_date")),
        ("deactivated", attribute(key, "deactivation_date")),
        ("context", attribute(key, "context")),
    ];
    if let Some(jwk) = key.get("keys").and_then(|k| k.get(0)) {
        fields.push(("public key", jwk.to_string()));
    }
    block(&fields)
}

fn key_table(keys: &[Value]) -> String {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                text(k, "id"),
                text(k, "name"),
                text(k, "type"),
                size_or_curve(k),
                attribute(k, "state"),
                text(k, "operations"),
                attribute(k, "original_creation_date"),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "NAME",
            "TYPE",
            "SIZE",
            "STATE",
            "OPERATIONS",
            "CREATED",
        ],
        &rows,
    )
}

fn default_operations(kind: &str) -> Vec<String> {
    let ops: &[&str] = if kind.eq_ignore_ascii_case("oct") {
        &["encrypt", "decrypt", "wrapKey", "unwrapKey"]
    } else {
        &["sign", "verify"]
    };
    ops.iter().map(|s| s.to_string()).collect()
}

/// The API's spelling of a key type, whatever case was typed.
fn key_type(kind: &str) -> String {
    match kind.to_ascii_lowercase().as_str() {
        "oct" => "oct".into(),
        "rsa" => "RSA".into(),
        "ec" => "EC".into(),
        _ => kind.to_string(),
    }
}

pub async fn run(session: &Session, command: &KeysCommand) -> anyhow::Result<Rendered> {
    let client = &session.client;
    match command {
        KeysCommand::List { state, max } => {
            let mut all = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut query = Vec::new();
                if let Some(state) = state {
                    query.push(format!("state={state}"));
                }
                if let Some(max) = max {
                    query.push(format!("max={max}"));
                }
                if let Some(t) = &token {
                    query.push(format!("continuation-token={t}"));
                }
                let path = if query.is_empty() {
                    keys_path(session)
                } else {
                    format!("{}?{}", keys_path(session), query.join("&"))
                };
                let page: Value = client.get(&path).await?.json()?;
                let objects = page
                    .get("objects_list")
                    .and_then(Value::as_array)
                    .context("the listing has no objects_list")?;
                let empty = objects.is_empty();
                all.extend(objects.iter().cloned());
                let truncated = page
                    .get("is_truncated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if !truncated || empty {
                    break;
                }
                token = page
                    .get("continuation_token")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            let text = if all.is_empty() {
                "no keys\n".to_string()
            } else {
                key_table(&all)
            };
            Ok(Rendered::new(Value::Array(all), text))
        }
        KeysCommand::Create {
            name,
            kind,
            size,
            curve,
            operations,
            context,
            id,
        } => {
            let operations = if operations.is_empty() {
                default_operations(kind)
            } else {
                operations.clone()
            };
            let mut body = json!({
                "name": name,
                "type": key_type(kind),
                "operations": operations,
            });
            if let Some(size) = size {
                body["size"] = json!(size);
            } else if kind.eq_ignore_ascii_case("oct") {
                body["size"] = json!(256);
            } else if kind.eq_ignore_ascii_case("rsa") {
                body["size"] = json!(2048);
            }
            match curve {
                Some(curve) => body["curve"] = json!(curve),
                None if kind.eq_ignore_ascii_case("ec") => body["curve"] = json!("P-256"),
                None => {}
            }
            if let Some(context) = context {
                body["context"] = json!(context);
            }
            if let Some(id) = id {
                body["id"] = json!(id);
            }
            let key: Value = client.post(&keys_path(session), &body).await?.json()?;
            let text = key_block(&key);
            Ok(Rendered::new(key, text))
        }
        KeysCommand::Get { key, jwk } => {
            let mut path = key_path(session, key)?;
            if *jwk {
                path.push_str("?format=jwk");
            }
            let key: Value = client.get(&path).await?.json()?;
            let text = key_block(&key);
            Ok(Rendered::new(key, text))
        }
        KeysCommand::Update { key, name } => {
            let path = key_path(session, key)?;
            let body = json!({ "name": name });
            let key: Value = client
                .call(Method::PATCH, &path, Some(&body))
                .await?
                .json()?;
            let text = key_block(&key);
            Ok(Rendered::new(key, text))
        }
        KeysCommand::Activate { key } => {
            let path = format!("{}/activate", key_path(session, key)?);
            client.post(&path, &json!({})).await?;
            done(key, "active")
        }
        KeysCommand::Deactivate { key, reason } => {
            let path = format!("{}/deactivate", key_path(session, key)?);
            client.post(&path, &json!({ "reason": reason })).await?;
            done(key, "deactivated")
        }
        KeysCommand::Delete { key } => {
            let path = key_path(session, key)?;
            client.delete(&path).await?;
            done(key, "deleted")
        }
        KeysCommand::Encrypt { key, data, context } => {
            let path = format!("{}/encrypt", key_path(session, key)?);
            let data = input(data)?;
            let plaintext = Zeroizing::new(b64::encode_std(&data));
            let mut body = json!({ "plaintext": plaintext.as_str() });
            if let Some(context) = context {
                body["context"] = json!(context);
            }
            let answer: Value = client.post(&path, &body).await?.json()?;
            wipe_json(body);
            let ciphertext = text(&answer, "ciphertext");
            Ok(Rendered::new(answer, ciphertext))
        }
        KeysCommand::Decrypt {
            key,
            ciphertext,
            context,
        } => {
            let path = format!("{}/decrypt", key_path(session, key)?);
            let mut body = json!({ "ciphertext": input_text(ciphertext)? });
            if let Some(context) = context {
                body["context"] = json!(context);
            }
            let answer: Value = client.post(&path, &body).await?.json()?;
            let encoded = Zeroizing::new(text(&answer, "plaintext"));
            let bytes = Zeroizing::new(
                b64::decode_std(&encoded).context("the plaintext answered is not base64")?,
            );
            // Shown as text when it is text; as base64 otherwise.
            let shown = match std::str::from_utf8(&bytes) {
                Ok(s) => s.to_string(),
                Err(_) => encoded.to_string(),
            };
            Ok(Rendered::new(answer, shown))
        }
        KeysCommand::Datakey(DatakeyCommand::New { key, size, name }) => {
            let path = format!("{}/datakey", key_path(session, key)?);
            let mut body = json!({ "size": size });
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            let answer: Value = client.post(&path, &body).await?.json()?;
            let text = block(&[
                ("plaintext", text(&answer, "plaintext")),
                ("key", text(&answer, "key")),
            ]);
            Ok(Rendered::new(answer, text))
        }
        KeysCommand::Datakey(DatakeyCommand::Decrypt { key, wrapped }) => {
            let path = format!("{}/datakey/decrypt", key_path(session, key)?);
            let body = json!({ "key": input_text(wrapped)? });
            let answer: Value = client.post(&path, &body).await?.json()?;
            let plaintext = text(&answer, "plaintext");
            Ok(Rendered::new(answer, plaintext))
        }
        KeysCommand::Sign {
            key,
            data,
            alg,
            digest,
        } => {
            let path = format!("{}/sign", key_path(session, key)?);
            let data = input(data)?;
            let message = Zeroizing::new(b64::encode_std(&data));
            let body = json!({ "message": message.as_str(), "alg": alg, "isdigest": digest });
            let answer: Value = client.post(&path, &body).await?.json()?;
            wipe_json(body);
            let signature = text(&answer, "signature");
            Ok(Rendered::new(answer, signature))
        }
        KeysCommand::Verify {
            key,
            data,
            signature,
            alg,
            digest,
        } => {
            let path = format!("{}/verify", key_path(session, key)?);
            let data = input(data)?;
            let message = Zeroizing::new(b64::encode_std(&data));
            let body = json!({
                "message": message.as_str(),
                "signature": input_text(signature)?,
                "alg": alg,
                "isdigest": digest,
            });
            let answer: Value = client.post(&path, &body).await?.json()?;
            wipe_json(body);
            let valid = answer.get("result").and_then(Value::as_bool) == Some(true);
            if !valid {
                bail!("the signature is not valid for this message and key");
            }
            Ok(Rendered::new(answer, "valid"))
        }
        KeysCommand::Export { key } => {
            let path = format!("{}?format=jwk", key_path(session, key)?);
            let answer: Value = client.get(&path).await?.json()?;
            let jwk = answer
                .get("keys")
                .and_then(|k| k.get(0))
                .cloned()
                .context("the server gave no public key")?;
            let text = serde_json::to_string_pretty(&jwk)?;
            Ok(Rendered::new(jwk, text))
        }
    }
}

/// A transition or deletion: 204 from the server.
fn done(key: &str, state: &str) -> anyhow::Result<Rendered> {
    Ok(Rendered::new(
        json!({ "id": key, "result": state }),
        format!("key {key}: {state}"),
    ))
}

/// Best effort: the request body held base64 of the caller's data.
fn wipe_json(value: Value) {
    if let Value::Object(map) = value {
        for (_, v) in map {
            if let Value::String(s) = v {
                drop(Zeroizing::new(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::output::display;
    use super::*;

    #[test]
    fn tables_show_the_keys() {
        let keys = vec![json!({
            "id": "k1", "name": "a", "type": "EC", "curve": "P-256",
            "operations": ["sign", "verify"],
            "attributes": {"state": "active", "original_creation_date": "2026-01-01T00:00:00Z"}
        })];
        let t = key_table(&keys);
        assert!(t.starts_with("ID  NAME  TYPE  SIZE   STATE"), "{t}");
        assert!(t.contains("P-256") && t.contains("sign, verify"), "{t}");
        assert_eq!(display(&json!(["a", "b"])), "a, b");
    }

    #[test]
    fn inputs() {
        assert_eq!(&*input("abc").unwrap(), b"abc");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"\x00\x01").unwrap();
        assert_eq!(
            &*input(&format!("@{}", path.display())).unwrap(),
            b"\x00\x01"
        );
        assert!(input("@/nonexistent/x").is_err());
        assert_eq!(key_type("rsa"), "RSA");
    }
}
