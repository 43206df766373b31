//! `cairn server --config FILE`: one node, until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::config::NodeFile;

#[derive(Args)]
pub struct ServerArgs {
    /// The node's configuration file (written by `cairn init`).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Logs as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    super::init_tracing(args.log_json);
    let file = NodeFile::load(&args.config)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let node = super::node::start(&file, stop_rx).await?;
        super::stop_signal().await;
        tracing::info!(node = %node.name, "stopping: no new requests, finishing the open ones");
        let _ = stop_tx.send(true);
        node.api
            .await
            .context("the API task")?
            .context("the API server")?;
        Ok(())
    })
}
