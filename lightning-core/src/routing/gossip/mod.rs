//! The public channel graph ([`NetworkGraph`]) and the gossip protocol that
//! fills it ([`P2PGossipSync`]).
//!
//! - [`types`]: node ids, fees and the public views of channels and nodes.
//! - [`graph`]: the graph itself, every BOLT 7 acceptance check, UTXO checks,
//!   pruning, and the read-only view the router uses.
//! - [`ser`]: saving and loading a graph.
//! - [`queries`]: answers to a peer's gossip queries, built as its send
//!   buffer drains.
//! - [`relay`]: the per-origin rate limit on relaying gossip.
//! - [`sync`]: [`P2PGossipSync`], which answers gossip queries, asks peers for
//!   what it lacks, and queues fresh announcements for broadcast.

pub mod graph;
mod handler;
pub mod queries;
pub mod relay;
pub mod ser;
pub mod sync;
pub mod types;

pub use crate::ln::msgs::gossip::GossipMessage;
pub use graph::{
    NetworkGraph, ReadOnlyNetworkGraph, MAX_HELD_UPDATES_PER_PENDING_CHANNEL, MAX_PENDING_UTXO_CHECKS,
    PENDING_UTXO_CHECK_TIMEOUT_SECS, STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS,
};
pub use sync::{GossipSendEvent, P2PGossipSync};
pub use types::{
    ChannelInfo, ChannelUpdateInfo, GossipError, NodeAnnouncementInfo, NodeId, NodeInfo, RoutingFees,
};
