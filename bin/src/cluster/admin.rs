//! The `[admin]` section of a node file, turned into the API's admin configuration.

use anyhow::Context;
use cairn_net::api::admin::{AdminConfig, Issuer};

use super::config::NodeFile;

/// `None` when the node file has no `[admin]` section: the admin API is then off.
pub fn config(file: &NodeFile) -> anyhow::Result<Option<AdminConfig>> {
    let Some(admin) = &file.admin else {
        return Ok(None);
    };
    let mut operator_tokens = Vec::new();
    for (i, hex) in admin.operator_token_sha256.iter().enumerate() {
        let digest = AdminConfig::parse_digest(hex)
            .with_context(|| format!("admin.operator_token_sha256[{i}] is not 64 hex digits"))?;
        operator_tokens.push(digest);
    }
    let cert = std::fs::read_to_string(&file.tls.client_ca)
        .with_context(|| format!("cannot read the client CA {}", file.tls.client_ca.display()))?;
    let key = zeroize::Zeroizing::new(std::fs::read_to_string(&admin.client_ca_key).with_context(
        || {
            format!(
                "cannot read the client CA key {}",
                admin.client_ca_key.display()
            )
        },
    )?);
    let issuer = Issuer::from_pem(&cert, &key).context("the client CA")?;
    Ok(Some(AdminConfig {
        operator_certificates: Vec::new(),
        operator_tokens,
        issuer: Some(issuer),
    }))
}
