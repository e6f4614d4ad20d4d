//! `lightning-gossip` implements rapid gossip sync on top of `lightning-core`'s
//! network graph: it will apply the compact snapshots that public
//! rapid-gossip-sync servers serve, and build such snapshots from a graph so a
//! user can serve their own.
#![forbid(unsafe_code)]
