//! `lightning-node`: a small runnable Lightning node at the top of the stack.
//! It ties `lightning-core` to the adapter crates (sockets, persistence, chain,
//! gossip, invoices); `lightning-node demo` runs a local network in one command.

mod demo;
mod invoice_cmd;

use clap::{Parser, Subcommand};

/// A small Lightning node built on the lightning-* crates.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
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
    /// Checks a BOLT 11 invoice and prints its fields as one JSON object.
    DecodeInvoice {
        /// The invoice string (a `lightning:` prefix is allowed).
        invoice: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { json } => demo::run(json),
        Command::DecodeInvoice { invoice } => invoice_cmd::run(&invoice),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
