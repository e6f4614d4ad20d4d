//! Saving and loading a [`NetworkGraph`].
//!
//! Layout (all integers big-endian): a version byte ([`GRAPH_SERIALIZATION_VERSION`]),
//! the chain hash, the last time the caller passed in (u64), the nodes (u32
//! count; each: id, then an optional announcement), the channels (u32 count;
//! each: scid, the indices of its two nodes in the node list, features,
//! optional capacity, arrival time, optional signed announcement, then two
//! optional directions with an optional signed update each), and the spent
//! channels still remembered (u32 count of scid and removal time). Optional
//! parts start with a 0/1 byte; signed messages are stored with a u16 length.
//! Reading checks every index and every value, so a corrupt file is an error,
//! never a panic.

use crate::io::{self, Read, Write};
use crate::ln::features::{ChannelFeatures, NodeFeatures};
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, DecodeError, NodeAlias, NodeAnnouncement, SocketAddress,
};
use crate::prelude::*;
use crate::routing::gossip::graph::{ChannelCold, DirectedPolicy, GraphData, NetworkGraph, DIR_PRESENT};
use crate::routing::gossip::types::{NodeAnnouncementInfo, NodeId};
use crate::util::ser::{decode_exact, read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use bitcoin::blockdata::constants::ChainHash;

/// The version byte written in front of a serialized graph.
pub const GRAPH_SERIALIZATION_VERSION: u8 = 1;

fn write_opt_message<W: Write, M: Writeable>(w: &mut W, msg: Option<&M>) -> Result<(), io::Error> {
    match msg {
        None => 0u8.write(w),
        Some(m) => {
            1u8.write(w)?;
            write_u16_len_bytes(w, &m.encode())
        }
    }
}

fn read_opt_message<R: Read, M: Readable>(r: &mut R) -> Result<Option<M>, DecodeError> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => Ok(Some(decode_exact(&read_u16_len_bytes(r)?)?)),
        _ => Err(DecodeError::InvalidValue),
    }
}

fn write_node_info<W: Write>(w: &mut W, info: &NodeAnnouncementInfo) -> Result<(), io::Error> {
    info.features.write(w)?;
    info.last_update.write(w)?;
    info.rgb.write(w)?;
    info.alias.0.write(w)?;
    u16::try_from(info.addresses.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?
        .write(w)?;
    for a in &info.addresses {
        a.write(w)?;
    }
    write_opt_message(w, info.announcement_message.as_ref())
}

fn read_node_info<R: Read>(r: &mut R) -> Result<NodeAnnouncementInfo, DecodeError> {
    let features = NodeFeatures::read(r)?;
    let last_update = u32::read(r)?;
    let rgb = Readable::read(r)?;
    let alias = NodeAlias(Readable::read(r)?);
    let count = u16::read(r)?;
    let mut addresses = Vec::new();
    for _ in 0..count {
        addresses.push(SocketAddress::read(r)?);
    }
    let announcement_message: Option<NodeAnnouncement> = read_opt_message(r)?;
    Ok(NodeAnnouncementInfo { features, last_update, rgb, alias, addresses, announcement_message })
}

impl Writeable for NetworkGraph {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let data = self.data.read();
        GRAPH_SERIALIZATION_VERSION.write(w)?;
        self.chain_hash().write(w)?;
        data.last_known_time.write(w)?;
        // Nodes in id order; channels refer to their position in this list.
        let mut position = BTreeMap::new();
        (data.node_lookup.len() as u32).write(w)?;
        for (i, (id, idx)) in data.node_lookup.iter().enumerate() {
            position.insert(*idx, i as u32);
            id.write(w)?;
            match &data.nodes[*idx as usize].announcement {
                None => 0u8.write(w)?,
                Some(info) => {
                    1u8.write(w)?;
                    write_node_info(w, info)?;
                }
            }
        }
        (data.channel_lookup.len() as u32).write(w)?;
        for (_, idx) in data.channel_lookup.iter() {
            let hot = &data.channels[*idx as usize];
            let cold = &data.cold[*idx as usize];
            hot.scid.write(w)?;
            for n in hot.nodes {
                position.get(&n).copied().unwrap_or(u32::MAX).write(w)?;
            }
            cold.features.write(w)?;
            match cold.capacity_sats {
                None => 0u8.write(w)?,
                Some(c) => {
                    1u8.write(w)?;
                    c.write(w)?;
                }
            }
            cold.received_time.write(w)?;
            write_opt_message(w, cold.announcement.as_deref())?;
            for dir in 0..2 {
                let p = hot.dirs[dir];
                if !p.is_present() {
                    0u8.write(w)?;
                    continue;
                }
                1u8.write(w)?;
                p.last_update.write(w)?;
                p.flags.write(w)?;
                p.cltv_expiry_delta.write(w)?;
                p.htlc_minimum_msat.write(w)?;
                p.htlc_maximum_msat.write(w)?;
                p.fee_base_msat.write(w)?;
                p.fee_proportional_millionths.write(w)?;
                write_opt_message(w, cold.updates[dir].as_deref())?;
            }
        }
        (data.removed_channels.len() as u32).write(w)?;
        for (scid, time) in &data.removed_channels {
            scid.write(w)?;
            time.write(w)?;
        }
        Ok(())
    }
}

impl Readable for NetworkGraph {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        if u8::read(r)? != GRAPH_SERIALIZATION_VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        let chain_hash = ChainHash::read(r)?;
        let mut data = GraphData::default();
        data.last_known_time = u64::read(r)?;
        let node_count = u32::read(r)?;
        let mut nodes: Vec<(NodeId, Option<NodeAnnouncementInfo>)> = Vec::new();
        for _ in 0..node_count {
            let id = NodeId::read(r)?;
            let info = match u8::read(r)? {
                0 => None,
                1 => Some(read_node_info(r)?),
                _ => return Err(DecodeError::InvalidValue),
            };
            nodes.push((id, info));
        }
        let channel_count = u32::read(r)?;
        for _ in 0..channel_count {
            let scid = u64::read(r)?;
            let n1 = nodes.get(u32::read(r)? as usize).ok_or(DecodeError::InvalidValue)?.0;
            let n2 = nodes.get(u32::read(r)? as usize).ok_or(DecodeError::InvalidValue)?.0;
            let features = ChannelFeatures::read(r)?;
            let capacity_sats = match u8::read(r)? {
                0 => None,
                1 => Some(u64::read(r)?),
                _ => return Err(DecodeError::InvalidValue),
            };
            let received_time = u64::read(r)?;
            let announcement: Option<ChannelAnnouncement> = read_opt_message(r)?;
            let mut dirs = [DirectedPolicy::default(); 2];
            let mut updates: [Option<Box<ChannelUpdate>>; 2] = [None, None];
            for dir in 0..2 {
                match u8::read(r)? {
                    0 => continue,
                    1 => {}
                    _ => return Err(DecodeError::InvalidValue),
                }
                dirs[dir] = DirectedPolicy {
                    last_update: u32::read(r)?,
                    flags: u8::read(r)? | DIR_PRESENT,
                    cltv_expiry_delta: u16::read(r)?,
                    htlc_minimum_msat: u64::read(r)?,
                    htlc_maximum_msat: u64::read(r)?,
                    fee_base_msat: u32::read(r)?,
                    fee_proportional_millionths: u32::read(r)?,
                };
                updates[dir] = read_opt_message::<_, ChannelUpdate>(r)?.map(Box::new);
            }
            let cold = ChannelCold {
                features,
                capacity_sats,
                received_time,
                announcement: announcement.map(Box::new),
                updates: [None, None],
                relay_budget: Default::default(),
            };
            data.add_channel(scid, n1, n2, cold, false).map_err(|_| DecodeError::InvalidValue)?;
            let idx = *data.channel_lookup.get(&scid).ok_or(DecodeError::InvalidValue)?;
            for (dir, policy) in dirs.into_iter().enumerate() {
                data.set_policy(idx, dir, policy);
            }
            data.cold[idx as usize].updates = updates;
        }
        for (id, info) in nodes {
            if let (Some(idx), Some(info)) = (data.node_index(&id), info) {
                data.newest_timestamp = data.newest_timestamp.max(info.last_update);
                data.nodes[idx as usize].announcement = Some(Box::new(info));
            }
        }
        let removed = u32::read(r)?;
        for _ in 0..removed {
            let scid = u64::read(r)?;
            data.removed_channels.insert(scid, u64::read(r)?);
        }
        Ok(NetworkGraph::from_data(chain_hash, data))
    }
}
