//! Reading a snapshot and applying it to a graph.

use crate::{flags, MAX_VALUE_MSAT, SNAPSHOT_PREFIX, STALE_SNAPSHOT_SECS, TIMESTAMP_BACKDATE_SECS};
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::{ChannelFeatures, NodeFeatures};
use lightning_core::ln::msgs::{DecodeError, NodeAlias, SocketAddress, UnsignedChannelUpdate};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{NetworkGraph, NodeAnnouncementInfo, NodeId};
use lightning_core::util::ser::{read_u16_len_bytes, BigSize, Readable};
use std::fmt;

/// Why a snapshot was refused. Nothing is applied when the header is wrong;
/// a decode error part-way leaves what was applied before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphSyncError {
    /// The data does not start with `LDK`.
    UnknownPrefix,
    /// A version other than 1 or 2.
    UnknownVersion(u8),
    /// The snapshot is for another chain than the graph.
    WrongChain,
    /// The snapshot's latest-seen timestamp is more than two weeks before "now".
    StaleSnapshot,
    /// An announcement names a node index past the node id table.
    InvalidNodeIndex,
    /// Short channel id deltas overflow 64 bits.
    ScidOverflow,
    /// The bytes are malformed or truncated.
    Decode(DecodeError),
}

impl From<DecodeError> for GraphSyncError {
    fn from(e: DecodeError) -> Self {
        GraphSyncError::Decode(e)
    }
}

impl fmt::Display for GraphSyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphSyncError::UnknownPrefix => f.write_str("not a rapid gossip sync snapshot"),
            GraphSyncError::UnknownVersion(v) => write!(f, "unknown snapshot version {v}"),
            GraphSyncError::WrongChain => f.write_str("snapshot is for another chain"),
            GraphSyncError::StaleSnapshot => f.write_str("snapshot is stale"),
            GraphSyncError::InvalidNodeIndex => f.write_str("node index out of range"),
            GraphSyncError::ScidOverflow => f.write_str("short channel id overflow"),
            GraphSyncError::Decode(e) => write!(f, "malformed snapshot: {e}"),
        }
    }
}

impl std::error::Error for GraphSyncError {}

/// What applying a snapshot did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// The snapshot's latest-seen timestamp: ask for the next snapshot since it.
    pub latest_seen_timestamp: u32,
    /// Channel announcements applied.
    pub channels_applied: usize,
    /// Channel announcements skipped (already known, or refused).
    pub channels_skipped: usize,
    /// Channel updates applied.
    pub updates_applied: usize,
    /// Updates skipped: unknown channel or direction (for incremental ones),
    /// not newer than what the graph has, too old, or invalid.
    pub updates_skipped: usize,
    /// Node details (v2) applied.
    pub nodes_applied: usize,
}

/// Applies rapid-gossip-sync snapshots to a graph.
pub struct RapidGossipSync<'a> {
    network_graph: &'a NetworkGraph,
}

/// Node details from a v2 node table.
struct NodeDetails {
    features: Option<NodeFeatures>,
    addresses: Vec<SocketAddress>,
}

/// True for a funding amount a channel can have: more than 0 and at most
/// the 21,000,000 BTC that can ever exist.
fn is_plausible_capacity_sats(sats: u64) -> bool {
    sats > 0 && sats <= lightning_core::bitcoin::Amount::MAX_MONEY.to_sat()
}

fn read_u8(r: &mut &[u8]) -> Result<u8, DecodeError> {
    u8::read(r)
}

impl<'a> RapidGossipSync<'a> {
    /// A syncer for `network_graph`.
    pub fn new(network_graph: &'a NetworkGraph) -> Self {
        RapidGossipSync { network_graph }
    }

    /// Applies `snapshot`, with the current UNIX time `now_secs` for the
    /// staleness checks (the core reads no clock).
    pub fn update_network_graph_no_std(
        &self, snapshot: &[u8], now_secs: u64,
    ) -> Result<ApplyStats, GraphSyncError> {
        let mut r: &[u8] = snapshot;
        let prefix: [u8; 3] = Readable::read(&mut r).map_err(|_| GraphSyncError::UnknownPrefix)?;
        if prefix != SNAPSHOT_PREFIX {
            return Err(GraphSyncError::UnknownPrefix);
        }
        let version = read_u8(&mut r).map_err(|_| GraphSyncError::UnknownPrefix)?;
        if version != 1 && version != 2 {
            return Err(GraphSyncError::UnknownVersion(version));
        }
        let chain_hash = ChainHash::read(&mut r)?;
        if chain_hash != self.network_graph.chain_hash() {
            return Err(GraphSyncError::WrongChain);
        }
        let latest_seen = u32::read(&mut r)?;
        if (latest_seen as u64).saturating_add(STALE_SNAPSHOT_SECS) < now_secs {
            return Err(GraphSyncError::StaleSnapshot);
        }
        let backdated = latest_seen.saturating_sub(TIMESTAMP_BACKDATE_SECS);
        let mut stats = ApplyStats { latest_seen_timestamp: latest_seen, ..Default::default() };

        let mut default_node_features = Vec::new();
        if version >= 2 {
            for _ in 0..read_u8(&mut r)? {
                default_node_features.push(NodeFeatures::read(&mut r)?);
            }
        }
        let node_count = u32::read(&mut r)?;
        let mut node_ids: Vec<NodeId> = Vec::with_capacity((node_count as usize).min(r.len() / 33));
        let mut details: Vec<(usize, NodeDetails)> = Vec::new();
        for i in 0..node_count {
            let mut key: [u8; 33] = Readable::read(&mut r)?;
            if version >= 2 {
                let flag_byte = key[0];
                key[0] &= 0b11;
                if flag_byte & 0b0100_0000 == 0 {
                    let d = Self::read_node_details(&mut r, flag_byte, &default_node_features)?;
                    if d.features.is_some() || !d.addresses.is_empty() {
                        details.push((i as usize, d));
                    }
                }
            }
            node_ids.push(NodeId::from_array(key));
        }

        let announcement_count = u32::read(&mut r)?;
        let mut scid = 0u64;
        for _ in 0..announcement_count {
            let features = ChannelFeatures::read(&mut r)?;
            scid = scid.checked_add(BigSize::read(&mut r)?.0).ok_or(GraphSyncError::ScidOverflow)?;
            let index_1 = BigSize::read(&mut r)?.0;
            let mut index_2 = BigSize::read(&mut r)?.0;
            let mut capacity_sats = None;
            if version >= 2 && index_2 & (1 << 63) != 0 {
                index_2 &= !(1 << 63);
                // Extra data: the funding amount in satoshis first, then
                // anything we skip. The format note does not give the amount's
                // encoding; we read an 8-byte big-endian integer and take an
                // implausible value (0, or more than all bitcoin that can
                // exist) as "unknown" rather than as a capacity.
                let extra = read_u16_len_bytes(&mut r)?;
                capacity_sats = extra
                    .get(..8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .filter(|sats| is_plausible_capacity_sats(*sats));
            }
            let node = |i: u64| node_ids.get(i as usize).copied().ok_or(GraphSyncError::InvalidNodeIndex);
            let (n1, n2) = (node(index_1)?, node(index_2)?);
            let result = self.network_graph.add_channel_from_partial_announcement(
                scid,
                backdated as u64,
                features,
                n1,
                n2,
                capacity_sats,
            );
            match result {
                Ok(()) => stats.channels_applied += 1,
                Err(_) => stats.channels_skipped += 1,
            }
        }

        for (i, d) in details {
            let info = NodeAnnouncementInfo {
                features: d.features.unwrap_or_else(NodeFeatures::empty),
                last_update: backdated,
                rgb: [0; 3],
                alias: NodeAlias([0; 32]),
                addresses: d.addresses,
                announcement_message: None,
            };
            if self.network_graph.set_node_announcement(&node_ids[i], info).is_ok() {
                stats.nodes_applied += 1;
            }
        }

        let update_count = u32::read(&mut r)?;
        if update_count == 0 {
            return if r.is_empty() {
                Ok(stats)
            } else {
                Err(GraphSyncError::Decode(DecodeError::BadLengthDescriptor))
            };
        }
        let default_cltv = u16::read(&mut r)?;
        let default_htlc_min = u64::read(&mut r)?;
        let default_fee_base = u32::read(&mut r)?;
        let default_fee_ppm = u32::read(&mut r)?;
        let default_htlc_max = u64::read(&mut r)?;
        let min_timestamp = now_secs.saturating_sub(STALE_SNAPSHOT_SECS);
        let graph = self.network_graph;
        let mut scid = 0u64;
        let mut previous_direction: Option<u8> = None;
        for _ in 0..update_count {
            let delta = BigSize::read(&mut r)?.0;
            let flag_byte = read_u8(&mut r)?;
            if version >= 2 && delta == 0 && previous_direction == Some(flag_byte & 1) {
                // Extra data for the previous update.
                read_u16_len_bytes(&mut r)?;
                continue;
            }
            scid = scid.checked_add(delta).ok_or(GraphSyncError::ScidOverflow)?;
            previous_direction = Some(flag_byte & 1);
            let cltv = (flag_byte & flags::CLTV_EXPIRY_DELTA != 0).then(|| u16::read(&mut r)).transpose()?;
            let htlc_min =
                (flag_byte & flags::HTLC_MINIMUM_MSAT != 0).then(|| u64::read(&mut r)).transpose()?;
            let fee_base = (flag_byte & flags::FEE_BASE_MSAT != 0).then(|| u32::read(&mut r)).transpose()?;
            let fee_ppm = (flag_byte & flags::FEE_PROPORTIONAL_MILLIONTHS != 0)
                .then(|| u32::read(&mut r))
                .transpose()?;
            let htlc_max =
                (flag_byte & flags::HTLC_MAXIMUM_MSAT != 0).then(|| u64::read(&mut r)).transpose()?;

            let mut update = UnsignedChannelUpdate {
                chain_hash,
                short_channel_id: ShortChannelId(scid),
                timestamp: backdated,
                message_flags: 1,
                channel_flags: flag_byte & flags::CHANNEL_FLAGS_MASK,
                cltv_expiry_delta: default_cltv,
                htlc_minimum_msat: default_htlc_min,
                fee_base_msat: default_fee_base,
                fee_proportional_millionths: default_fee_ppm,
                htlc_maximum_msat: default_htlc_max,
                excess_data: Vec::new(),
            };
            if flag_byte & flags::INCREMENTAL != 0 {
                // Changes against what we have: without it, skip.
                let current = graph.read_only().channel(scid).and_then(|c| {
                    if flag_byte & 1 == 0 {
                        c.one_to_two
                    } else {
                        c.two_to_one
                    }
                });
                let Some(current) = current else {
                    stats.updates_skipped += 1;
                    continue;
                };
                update.cltv_expiry_delta = current.cltv_expiry_delta;
                update.htlc_minimum_msat = current.htlc_minimum_msat;
                update.fee_base_msat = current.fees.base_msat;
                update.fee_proportional_millionths = current.fees.proportional_millionths;
                update.htlc_maximum_msat = current.htlc_maximum_msat;
            }
            if let Some(v) = cltv {
                update.cltv_expiry_delta = v;
            }
            if let Some(v) = htlc_min {
                update.htlc_minimum_msat = v;
            }
            if let Some(v) = fee_base {
                update.fee_base_msat = v;
            }
            if let Some(v) = fee_ppm {
                update.fee_proportional_millionths = v;
            }
            if let Some(v) = htlc_max {
                update.htlc_maximum_msat = v;
            }
            if update.htlc_maximum_msat > MAX_VALUE_MSAT || (backdated as u64) < min_timestamp {
                stats.updates_skipped += 1;
                continue;
            }
            match graph.update_channel_unsigned(&update) {
                Ok(()) => stats.updates_applied += 1,
                // Unknown channel, not newer than ours, or invalid: skip it.
                Err(_) => stats.updates_skipped += 1,
            }
        }
        if !r.is_empty() {
            // Everything was applied, but the snapshot is not what it claims.
            return Err(GraphSyncError::Decode(DecodeError::BadLengthDescriptor));
        }
        Ok(stats)
    }

    fn read_node_details(
        r: &mut &[u8], flag_byte: u8, default_features: &[NodeFeatures],
    ) -> Result<NodeDetails, GraphSyncError> {
        let mut addresses = Vec::new();
        if flag_byte & 0b0000_0100 != 0 {
            for _ in 0..read_u8(r)? {
                let len = read_u8(r)? as usize;
                let bytes = lightning_core::util::ser::read_bytes(r, len)?;
                if let Ok(Some(addr)) = SocketAddress::read_descriptor(&mut &bytes[..]) {
                    addresses.push(addr);
                }
            }
        }
        let feature_code = (flag_byte >> 3) & 0b111;
        let features = match feature_code {
            0 => None,
            7 => Some(NodeFeatures::read(r)?),
            i => default_features.get(i as usize - 1).cloned(),
        };
        if flag_byte & 0b1000_0000 != 0 {
            read_u16_len_bytes(r)?;
        }
        Ok(NodeDetails { features, addresses })
    }
}
