//! The client and operator commands: `cairn keys …` in the style of the OKMS CLI, and the
//! operator's `cairn cluster status`, `cairn domain …`, `cairn credential …`,
//! `cairn policy …` over the admin API.
//!
//! Every command resolves a [`config::Profile`] (configuration file, `--profile`,
//! `CAIRN_*` variables), makes one or a few HTTPS calls, and returns what to print as a
//! [`Rendered`]: the API's JSON for `--output json`, tables and `field: value` blocks for
//! people. A refusal of the server is shown with the OKMS error body decoded
//! ([`api_error::ApiFailure`]).

pub mod admin;
pub mod api_error;
pub mod config;
pub mod http;
pub mod keys;
pub mod output;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use self::api_error::ApiFailure;
use self::config::Profile;
use self::http::Client;
use self::output::Output;

/// The environment variable naming the configuration file (same as `--config`).
pub const ENV_CONFIG: &str = "CAIRN_CONFIG";

/// The client and operator subcommands, flattened into `cairn`'s own.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Service keys: create, list, use (the OKMS key API).
    Keys(keys::KeysArgs),
    /// Operator: the cluster as a node sees it (roles, leader, commit index, lag, backups).
    Cluster(admin::ClusterArgs),
    /// Operator: create and list domains.
    Domain(admin::DomainArgs),
    /// Operator: create, list and revoke the credentials of a domain.
    Credential(admin::CredentialArgs),
    /// Operator: put, get, list and delete the IAM policies of a domain.
    Policy(admin::PolicyArgs),
}

/// Options every client command takes.
#[derive(Clone, Debug, Default, Args)]
pub struct Common {
    /// The configuration file [default: $XDG_CONFIG_HOME/cairn/config.toml or
    /// ~/.config/cairn/config.toml] (env CAIRN_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The profile of the configuration file to use (env CAIRN_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// How to print the result.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What a command prints: its JSON (`--output json`) and its text for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub json: Value,
    pub text: String,
}

impl Rendered {
    pub fn new(json: Value, text: impl Into<String>) -> Self {
        Rendered {
            json,
            text: text.into(),
        }
    }

    /// The output for `format`.
    pub fn for_output(&self, format: Output) -> anyhow::Result<String> {
        Ok(match format {
            Output::Json => serde_json::to_string_pretty(&self.json)? + "\n",
            Output::Text => {
                let mut text = self.text.clone();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            }
        })
    }
}

/// The profile and client of a command.
pub struct Session {
    pub profile: Profile,
    pub client: Client,
}

impl Session {
    pub fn open(common: &Common, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let config = common
            .config
            .clone()
            .or_else(|| env(ENV_CONFIG).map(PathBuf::from));
        let profile = config::resolve(config.as_deref(), common.profile.as_deref(), env)?;
        let client = Client::new(&profile).with_context(|| {
            format!("cannot set up the connection of profile {:?}", profile.name)
        })?;
        Ok(Session { profile, client })
    }
}

impl ClientCommand {
    fn common(&self) -> &Common {
        match self {
            ClientCommand::Keys(a) => &a.common,
            ClientCommand::Cluster(a) => &a.common,
            ClientCommand::Domain(a) => &a.common,
            ClientCommand::Credential(a) => &a.common,
            ClientCommand::Policy(a) => &a.common,
        }
    }
}

/// Runs a command against the profile it names, with `env` as the environment; returns
/// what to print.
pub async fn execute(
    command: &ClientCommand,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Rendered> {
    let session = Session::open(command.common(), env)?;
    match command {
        ClientCommand::Keys(a) => keys::run(&session, &a.command).await,
        ClientCommand::Cluster(a) => admin::cluster(&session, &a.command).await,
        ClientCommand::Domain(a) => admin::domain(&session, &a.command).await,
        ClientCommand::Credential(a) => admin::credential(&session, &a.command).await,
        ClientCommand::Policy(a) => admin::policy(&session, &a.command).await,
    }
}

/// `cairn <client command>`: runs it, prints the result on standard output, and a refusal
/// (with the decoded OKMS error body) on standard error with exit status 1.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let format = command.common().output;
    match runtime.block_on(execute(&command, &config::process_env)) {
        Ok(rendered) => output::emit_bytes(rendered.for_output(format)?.as_bytes()),
        Err(e) => {
            eprint!("{}", describe_error(&e, format));
            std::process::exit(1);
        }
    }
}

/// How a failed command is shown: the server's message and the decoded error body for a
/// refusal, the chain of causes otherwise. With `--output json`, a refusal is also given
/// as JSON (the OKMS fields plus `status`), so that scripts can read it.
pub fn describe_error(e: &anyhow::Error, format: Output) -> String {
    if let Some(failure) = e.downcast_ref::<ApiFailure>() {
        if format == Output::Json {
            let body = serde_json::json!({
                "status": failure.status.as_u16(),
                "errors": failure.messages,
                "error_code": failure.code,
                "error_id": failure.error_id,
                "request_id": failure.request_id,
            });
            return serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
        }
        let mut out = format!("error: {failure}\n");
        let details = failure.details();
        let width = details.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        for (name, value) in details {
            let label = format!("{name}:");
            out.push_str(&format!("  {label:<width$} {value}\n"));
        }
        return out;
    }
    format!("error: {e:#}\n")
}
