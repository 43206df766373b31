//! Running Cairn for real: node configuration files, `cairn init`, `cairn server` and
//! `cairn dev`.

mod admin;
pub mod config;
pub mod dev;
mod gauges;
pub mod init;
pub mod node;
mod pki;
pub mod recover;
pub mod server;

/// Logs to stderr: human-readable by default, JSON lines for log shippers. `RUST_LOG`
/// overrides the level (`info` by default).
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `cairn init`.
#[derive(clap::Args)]
pub struct InitArgs {
    /// The directory to create the cluster in (must not hold one).
    #[arg(long, default_value = "cairn-cluster")]
    pub dir: std::path::PathBuf,
    /// The host (IP or DNS name) every node listens on and clients reach.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// First API port; node i listens on port + i.
    #[arg(long, default_value_t = 8441)]
    pub port: u16,
    /// First port between nodes; node i listens on peer-port + i.
    #[arg(long, default_value_t = 9441)]
    pub peer_port: u16,
    /// Voters in each of the two zones (1 or 2).
    #[arg(long, default_value_t = 2)]
    pub voters_per_zone: u16,
    /// Leave out the remote replica (and with it the backups).
    #[arg(long)]
    pub no_replica: bool,
}

pub fn run_init(args: InitArgs) -> anyhow::Result<()> {
    let layout = init::Layout {
        host: args.host,
        api_port: args.port,
        peer_port: args.peer_port,
        voters_per_zone: args.voters_per_zone,
        replica: !args.no_replica,
        ..init::Layout::default()
    };
    let summary = init::init(&args.dir, &layout)?;
    println!("created a cluster in {}", args.dir.display());
    for n in &summary.nodes {
        println!(
            "  node config  {}   (cairn server --config {})",
            n.display(),
            n.display()
        );
    }
    println!("  CA           {}", summary.ca.display());
    println!(
        "  admin        {} / {}   domain {}",
        summary.client_cert.display(),
        summary.client_key.display(),
        summary.domain
    );
    println!(
        "  operator     token in {}",
        summary.operator_token.display()
    );
    println!("Copy each node's files to its host; keep root.key and the *.key files secret.");
    Ok(())
}
