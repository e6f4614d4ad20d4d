//! `lightning-node`: a small runnable Lightning node at the top of the stack.
//! It ties `lightning-core` to the adapter crates (sockets, persistence, chain,
//! gossip, invoices); `lightning-node demo` runs a local network in one command.

mod demo;
mod invoice_cmd;
mod node;
mod peers_cmd;
mod seed;

use clap::{Parser, Subcommand};
use node::Network;
use std::path::PathBuf;

/// A small Lightning node built on the lightning-* crates.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Directory holding the node's seed and data (created on first start).
    #[arg(long, global = true, default_value = "./lightning-data")]
    data_dir: PathBuf,
    /// The chain to run on.
    #[arg(long, global = true, value_enum, default_value = "regtest")]
    network: Network,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a local network of nodes in this process and prints what happened.
    Demo {
        /// Prints one JSON object instead of a human summary.
        #[arg(long)]
        json: bool,
    },
    /// Runs the node: listens for peers and prints one JSON line per peer event.
    Run {
        /// Address to listen on, e.g. 127.0.0.1:9735 (port 0 picks a free one).
        #[arg(long)]
        listen: String,
    },
    /// Connects to a peer, exchanges init and a ping, prints its features as JSON.
    Connect {
        /// The peer, as NODE_ID@HOST:PORT.
        peer: String,
    },
    /// Checks a BOLT 11 invoice and prints its fields as one JSON object.
    DecodeInvoice {
        /// The invoice string (a `lightning:` prefix is allowed).
        invoice: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo { json } => demo::run(json).await,
            Command::Run { listen } => peers_cmd::run(&cli.data_dir, cli.network, &listen).await,
            Command::Connect { peer } => peers_cmd::connect(&cli.data_dir, cli.network, &peer).await,
            Command::DecodeInvoice { invoice } => invoice_cmd::run(&invoice),
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
