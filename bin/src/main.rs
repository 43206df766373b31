//! `cairn`: one binary for the server, a local region for development, the client and
//! operator commands, and the simulator.

mod client;
mod cluster;
mod sim;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: a replicated Key Management Service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The deterministic simulator: named disaster scenarios and swarm runs.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Runs one node of a cluster, from its configuration file.
    Server(cluster::server::ServerArgs),
    /// Creates a cluster: root key, CAs and certificates, node configurations, and a first
    /// domain with an administrator.
    Init(cluster::InitArgs),
    /// Starts a whole region on loopback (two zones of two nodes, a remote replica, backups
    /// to local directories), created on the first run.
    Dev(cluster::dev::DevArgs),
    /// Rebuilds a cluster that lost its primary region, from the remote replica or from the
    /// backups, as a new generation (run it with every node stopped).
    Recover(cluster::recover::RecoverArgs),
    /// Lists the writes an old node holds beyond what a recovery restored (a region that was
    /// cut off and came back), and exports them.
    Orphans(cluster::recover::OrphansArgs),
    /// Client and operator commands: keys, cluster, domain, credential, policy.
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sim(c) => sim::run(c),
        Command::Server(a) => cluster::server::run(a),
        Command::Init(a) => cluster::run_init(a),
        Command::Dev(a) => cluster::dev::run(a),
        Command::Recover(a) => cluster::recover::run(a),
        Command::Orphans(a) => cluster::recover::run_orphans(a),
        Command::Client(c) => client::run(c),
    }
}
