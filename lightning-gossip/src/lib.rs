//! Rapid gossip sync: compact, signature-less snapshots of the network graph,
//! in the binary format public rapid-gossip-sync servers serve (see
//! `shared/specs/rapid-gossip-sync.md`).
//!
//! - [`apply`]: read a snapshot (versions 1 and 2) and apply it to a
//!   [`NetworkGraph`](lightning_core::routing::gossip::NetworkGraph)
//!   ([`RapidGossipSync::update_network_graph_no_std`]).
//! - [`build`]: write a version 1 snapshot of a graph since a timestamp
//!   ([`build_snapshot`]), so a user can serve their own.
//!
//! The core reads no clock, so "now" is always passed in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod apply;
pub mod build;

pub use apply::{ApplyStats, GraphSyncError, RapidGossipSync};
pub use build::{build_snapshot, BuildStats};

/// The snapshot prefix, ASCII `LDK`.
pub const SNAPSHOT_PREFIX: [u8; 3] = *b"LDK";
/// Updates and announcements are applied with the snapshot's latest-seen
/// timestamp minus this (a week), so fresher gossip replaces them.
pub const TIMESTAMP_BACKDATE_SECS: u32 = 7 * 24 * 3600;
/// A snapshot older than this (two weeks) is stale.
pub const STALE_SNAPSHOT_SECS: u64 = 14 * 24 * 3600;
/// No valid `htlc_maximum_msat` exceeds the 21 million BTC supply.
pub const MAX_VALUE_MSAT: u64 = 21_000_000 * 100_000_000 * 1000;

/// Field flags of a stripped channel update.
pub mod flags {
    /// The fields are changes against the client's current values.
    pub const INCREMENTAL: u8 = 0b1000_0000;
    /// `cltv_expiry_delta` follows.
    pub const CLTV_EXPIRY_DELTA: u8 = 0b0100_0000;
    /// `htlc_minimum_msat` follows.
    pub const HTLC_MINIMUM_MSAT: u8 = 0b0010_0000;
    /// `fee_base_msat` follows.
    pub const FEE_BASE_MSAT: u8 = 0b0001_0000;
    /// `fee_proportional_millionths` follows.
    pub const FEE_PROPORTIONAL_MILLIONTHS: u8 = 0b0000_1000;
    /// `htlc_maximum_msat` follows.
    pub const HTLC_MAXIMUM_MSAT: u8 = 0b0000_0100;
    /// The BOLT 7 `channel_flags` bits (direction, disable) carried through.
    pub const CHANNEL_FLAGS_MASK: u8 = 0b0000_0011;
}
