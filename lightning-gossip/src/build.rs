//! Writing a version 1 snapshot of a graph.

use crate::{flags, SNAPSHOT_PREFIX};
use lightning_core::routing::gossip::{ChannelUpdateInfo, NetworkGraph, NodeId};
use lightning_core::util::ser::{BigSize, Writeable};
use std::collections::HashMap;
use std::hash::Hash;

/// What a built snapshot holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Node ids in the table.
    pub nodes: usize,
    /// Channel announcements.
    pub announcements: usize,
    /// Channel updates.
    pub updates: usize,
}

struct Update {
    scid: u64,
    direction: u8,
    disabled: bool,
    cltv_expiry_delta: u16,
    htlc_minimum_msat: u64,
    fee_base_msat: u32,
    fee_proportional_millionths: u32,
    htlc_maximum_msat: u64,
}

fn mode<T: Copy + Eq + Hash + Default + Ord>(values: impl Iterator<Item = T>) -> T {
    let mut counts: HashMap<T, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_insert(0) += 1;
    }
    // Ties go to the smallest value, so the output is deterministic.
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(v, _)| v).unwrap_or_default()
}

/// Builds a version 1 snapshot of `network_graph` for a client that has
/// everything up to `since_timestamp` (0: a full snapshot).
///
/// It holds the channels that arrived at or after `since_timestamp` (or whose
/// arrival time is unknown) and the directions updated at or after it, each
/// update as its deviation from the most common values. Updates are always
/// sent whole (not incremental), since the graph keeps only the latest update
/// and cannot know what the client has. `latest_seen_timestamp` is written as
/// the snapshot's latest-seen time: make it "now" (the client backdates
/// everything by a week and drops snapshots older than two weeks). Version 1
/// carries no capacities and no node details.
pub fn build_snapshot(
    network_graph: &NetworkGraph, since_timestamp: u32, latest_seen_timestamp: u32,
) -> (Vec<u8>, BuildStats) {
    let graph = network_graph.read_only();
    let since = since_timestamp as u64;
    let mut node_index: HashMap<NodeId, u64> = HashMap::new();
    let mut node_ids: Vec<NodeId> = Vec::new();
    let mut announcements = Vec::new();
    let mut updates = Vec::new();
    for scid in graph.short_channel_ids() {
        let Some(chan) = graph.channel(scid) else { continue };
        let received = chan.announcement_received_time;
        if since == 0 || received == 0 || received >= since {
            let mut index = |id: NodeId| {
                *node_index.entry(id).or_insert_with(|| {
                    node_ids.push(id);
                    (node_ids.len() - 1) as u64
                })
            };
            let (i1, i2) = (index(chan.node_one), index(chan.node_two));
            announcements.push((scid, chan.features.clone(), i1, i2));
        }
        for (direction, info) in [(0u8, &chan.one_to_two), (1, &chan.two_to_one)] {
            let Some(info): &Option<ChannelUpdateInfo> = info else { continue };
            if since == 0 || info.last_update as u64 >= since {
                updates.push(Update {
                    scid,
                    direction,
                    disabled: !info.enabled,
                    cltv_expiry_delta: info.cltv_expiry_delta,
                    htlc_minimum_msat: info.htlc_minimum_msat,
                    fee_base_msat: info.fees.base_msat,
                    fee_proportional_millionths: info.fees.proportional_millionths,
                    htlc_maximum_msat: info.htlc_maximum_msat,
                });
            }
        }
    }

    let mut out = Vec::with_capacity(64 + node_ids.len() * 33 + announcements.len() * 8 + updates.len() * 6);
    // Writing into a Vec cannot fail.
    let _ = (|| -> Result<(), lightning_core::io::Error> {
        SNAPSHOT_PREFIX.write(&mut out)?;
        1u8.write(&mut out)?;
        graph.chain_hash().write(&mut out)?;
        latest_seen_timestamp.write(&mut out)?;
        (node_ids.len() as u32).write(&mut out)?;
        for id in &node_ids {
            id.write(&mut out)?;
        }
        (announcements.len() as u32).write(&mut out)?;
        let mut previous = 0u64;
        for (scid, features, i1, i2) in &announcements {
            features.write(&mut out)?;
            BigSize(scid - previous).write(&mut out)?;
            BigSize(*i1).write(&mut out)?;
            BigSize(*i2).write(&mut out)?;
            previous = *scid;
        }
        (updates.len() as u32).write(&mut out)?;
        if updates.is_empty() {
            return Ok(());
        }
        let d_cltv = mode(updates.iter().map(|u| u.cltv_expiry_delta));
        let d_min = mode(updates.iter().map(|u| u.htlc_minimum_msat));
        let d_base = mode(updates.iter().map(|u| u.fee_base_msat));
        let d_ppm = mode(updates.iter().map(|u| u.fee_proportional_millionths));
        let d_max = mode(updates.iter().map(|u| u.htlc_maximum_msat));
        d_cltv.write(&mut out)?;
        d_min.write(&mut out)?;
        d_base.write(&mut out)?;
        d_ppm.write(&mut out)?;
        d_max.write(&mut out)?;
        let mut previous = 0u64;
        for u in &updates {
            BigSize(u.scid - previous).write(&mut out)?;
            previous = u.scid;
            let mut f = u.direction | if u.disabled { 2 } else { 0 };
            if u.cltv_expiry_delta != d_cltv {
                f |= flags::CLTV_EXPIRY_DELTA;
            }
            if u.htlc_minimum_msat != d_min {
                f |= flags::HTLC_MINIMUM_MSAT;
            }
            if u.fee_base_msat != d_base {
                f |= flags::FEE_BASE_MSAT;
            }
            if u.fee_proportional_millionths != d_ppm {
                f |= flags::FEE_PROPORTIONAL_MILLIONTHS;
            }
            if u.htlc_maximum_msat != d_max {
                f |= flags::HTLC_MAXIMUM_MSAT;
            }
            f.write(&mut out)?;
            if f & flags::CLTV_EXPIRY_DELTA != 0 {
                u.cltv_expiry_delta.write(&mut out)?;
            }
            if f & flags::HTLC_MINIMUM_MSAT != 0 {
                u.htlc_minimum_msat.write(&mut out)?;
            }
            if f & flags::FEE_BASE_MSAT != 0 {
                u.fee_base_msat.write(&mut out)?;
            }
            if f & flags::FEE_PROPORTIONAL_MILLIONTHS != 0 {
                u.fee_proportional_millionths.write(&mut out)?;
            }
            if f & flags::HTLC_MAXIMUM_MSAT != 0 {
                u.htlc_maximum_msat.write(&mut out)?;
            }
        }
        Ok(())
    })();
    let stats =
        BuildStats { nodes: node_ids.len(), announcements: announcements.len(), updates: updates.len() };
    (out, stats)
}
