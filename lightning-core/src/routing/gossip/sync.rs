//! [`P2PGossipSync`]: gossip from and to peers.
//!
//! It applies announcements and updates to a [`NetworkGraph`] (checking
//! funding outputs through an optional [`UtxoLookup`]), answers gossip queries,
//! asks peers that support `gossip_queries` for the channels it lacks, and
//! queues what to send in an outbound queue drained by
//! [`P2PGossipSync::get_and_clear_pending_gossip_events`]. It holds no socket and
//! no clock: a peer manager feeds it messages and carries its
//! [`GossipSendEvent`]s to peers.
//!
//! Fresh gossip is queued as [`GossipSendEvent::Broadcast`]; the peer manager
//! sends it to every peer except the origin for which
//! [`P2PGossipSync::should_forward_to`] is true (the peer sent a
//! `gossip_timestamp_filter` whose window covers the message), and is expected
//! to drop broadcasts first when a peer's send buffer is full. The broadcast
//! queue itself is bounded ([`MAX_PENDING_BROADCASTS`]); beyond that, fresh
//! gossip is not relayed (counted in [`P2PGossipSync::dropped_broadcasts`]).
//!
//! Before that, each origin's gossip goes through a rate limit
//! ([`crate::routing::gossip::relay`]: per channel direction for
//! `channel_update`s and per node for `node_announcement`s, a burst of 4 then
//! one per hour of the messages' timestamps, nothing more than a day ahead of
//! the known time). Over-limit gossip is applied to the graph but not relayed
//! (counted in [`P2PGossipSync::rate_limited_broadcasts`]). Our own gossip
//! (`from` `None`) is not limited.

use crate::ln::features::InitFeatures;
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::gossip::{
    QUERY_FLAG_CHANNEL_ANNOUNCEMENT, QUERY_FLAG_CHANNEL_UPDATE_1, QUERY_FLAG_CHANNEL_UPDATE_2,
    QUERY_FLAG_NODE_ANNOUNCEMENT_1, QUERY_FLAG_NODE_ANNOUNCEMENT_2, QUERY_OPTION_CHECKSUMS,
    QUERY_OPTION_TIMESTAMPS,
};
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, GossipTimestampFilter, NodeAnnouncement, QueryChannelRange,
    QueryShortChannelIds, ReplyChannelRange, ReplyShortChannelIdsEnd,
};
use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use crate::routing::gossip::graph::{NetworkGraph, MAX_EXCESS_BYTES_FOR_RELAY};
use crate::routing::gossip::types::{GossipError, NodeId};
use crate::routing::utxo::UtxoLookup;
use crate::sync::Mutex;
use bitcoin::secp256k1::PublicKey;
use core::ops::{Bound, Deref};

/// At most this many broadcasts wait in the queue; more are dropped.
pub const MAX_PENDING_BROADCASTS: usize = 4096;
/// Short channel ids per `reply_channel_range` without TLVs (8 bytes each,
/// within the 65535-byte message limit).
pub const MAX_SCIDS_PER_REPLY: usize = 8000;
/// Short channel ids per `reply_channel_range` carrying timestamps and
/// checksums (24 bytes each).
pub const MAX_SCIDS_PER_REPLY_WITH_TLVS: usize = 2600;
/// Short channel ids asked for per `query_short_channel_ids`.
pub const MAX_SCIDS_PER_QUERY: usize = 1000;
/// The `gossip_timestamp_filter` sent on connection asks for gossip this
/// recent (channel range queries fetch the rest).
pub const GOSSIP_FILTER_LOOKBACK_SECS: u64 = 60 * 60;
/// Short channel ids remembered per peer to ask it about (about twice the
/// public graph); more are dropped and learned in a later sync.
pub const MAX_WANTED_SCIDS_PER_PEER: usize = 200_000;
/// Peers asked for a full channel range when they connect.
pub const MAX_FULL_SYNC_PEERS: usize = 3;

/// Something [`P2PGossipSync`] wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipSendEvent {
    /// Send `msg` to one peer (a query, a reply, or gossip asked for).
    SendToPeer {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: GossipMessage,
    },
    /// Relay fresh gossip to every peer that wants it (see
    /// [`P2PGossipSync::should_forward_to`]) except the one it came from.
    Broadcast {
        /// The announcement or update.
        msg: GossipMessage,
        /// The peer it came from, if any.
        except_node_id: Option<PublicKey>,
    },
}

#[derive(Debug, Default)]
struct PeerState {
    /// Short channel ids learned from the peer's `reply_channel_range` that
    /// we still want to ask it about.
    wanted: VecDeque<ShortChannelId>,
    /// A `query_short_channel_ids` is in flight (BOLT 7: one at a time).
    awaiting_reply_end: bool,
    /// The peer's `gossip_timestamp_filter`.
    filter: Option<GossipTimestampFilter>,
}

#[derive(Debug, Default)]
struct SyncState {
    peers: BTreeMap<NodeId, PeerState>,
    full_syncs_requested: usize,
}

/// Gossip handling for one node: see the [module docs](self).
pub struct P2PGossipSync<G: Deref<Target = NetworkGraph>, U: UtxoLookup> {
    network_graph: G,
    utxo_lookup: Option<U>,
    pending_events: Mutex<Vec<GossipSendEvent>>,
    pending_broadcast_count: Mutex<usize>,
    state: Mutex<SyncState>,
    dropped_broadcasts: Mutex<u64>,
    rate_limited_broadcasts: Mutex<u64>,
}

impl<G: Deref<Target = NetworkGraph>, U: UtxoLookup> P2PGossipSync<G, U> {
    /// Gossip handling over `network_graph`, checking funding outputs with
    /// `utxo_lookup` if given (`None::<NoUtxoLookup>` for none).
    pub fn new(network_graph: G, utxo_lookup: Option<U>) -> Self {
        P2PGossipSync {
            network_graph,
            utxo_lookup,
            pending_events: Mutex::new(Vec::new()),
            pending_broadcast_count: Mutex::new(0),
            state: Mutex::new(SyncState::default()),
            dropped_broadcasts: Mutex::new(0),
            rate_limited_broadcasts: Mutex::new(0),
        }
    }

    /// The graph.
    pub fn network_graph(&self) -> &NetworkGraph {
        &self.network_graph
    }

    /// Replaces the UTXO lookup (for example once the chain source is ready).
    pub fn set_utxo_lookup(&mut self, utxo_lookup: Option<U>) {
        self.utxo_lookup = utxo_lookup;
    }

    /// Broadcasts dropped because the queue was full.
    pub fn dropped_broadcasts(&self) -> u64 {
        *self.dropped_broadcasts.lock()
    }

    /// Fresh gossip from other nodes not relayed because its origin was over
    /// its relay rate limit (see the [module docs](self)).
    pub fn rate_limited_broadcasts(&self) -> u64 {
        *self.rate_limited_broadcasts.lock()
    }

    /// Queues fresh gossip from a peer (or from a resolved UTXO lookup) for
    /// broadcast if its origin is within its relay rate limit.
    fn relay(&self, msg: GossipMessage, from: Option<&PublicKey>) {
        let allowed = match &msg {
            GossipMessage::ChannelUpdate(m) => self.network_graph.take_update_relay_token(
                m.contents.short_channel_id.0,
                m.contents.direction(),
                m.contents.timestamp,
            ),
            GossipMessage::NodeAnnouncement(m) => self
                .network_graph
                .take_node_relay_token(&NodeId::from_pubkey(&m.contents.node_id), m.contents.timestamp),
            _ => true,
        };
        if allowed {
            self.broadcast(msg, from);
        } else {
            *self.rate_limited_broadcasts.lock() += 1;
        }
    }

    fn send(&self, node_id: &PublicKey, msg: GossipMessage) {
        self.pending_events.lock().push(GossipSendEvent::SendToPeer { node_id: *node_id, msg });
    }

    fn broadcast(&self, msg: GossipMessage, except_node_id: Option<&PublicKey>) {
        let mut queued = self.pending_broadcast_count.lock();
        if *queued >= MAX_PENDING_BROADCASTS {
            *self.dropped_broadcasts.lock() += 1;
            return;
        }
        *queued += 1;
        self.pending_events
            .lock()
            .push(GossipSendEvent::Broadcast { msg, except_node_id: except_node_id.copied() });
    }

    /// Takes everything queued to send.
    pub fn get_and_clear_pending_gossip_events(&self) -> Vec<GossipSendEvent> {
        for msg in self.network_graph.take_pending_broadcasts() {
            self.relay(msg, None);
        }
        let mut queued = self.pending_broadcast_count.lock();
        *queued = 0;
        core::mem::take(&mut *self.pending_events.lock())
    }

    /// For an initial sync of a peer: the first channel with
    /// `short_channel_id >= starting_scid` that has a signed announcement,
    /// with its signed updates (see [`NetworkGraph::get_next_channel_announcement`]).
    pub fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        self.network_graph.get_next_channel_announcement(starting_scid)
    }

    /// For an initial sync of a peer: the first signed node announcement after
    /// `starting_point` (see [`NetworkGraph::get_next_node_announcement`]).
    pub fn get_next_node_announcement(&self, starting_point: Option<&NodeId>) -> Option<NodeAnnouncement> {
        self.network_graph.get_next_node_announcement(starting_point)
    }

    /// True if `peer` asked (with `gossip_timestamp_filter`) for gossip like
    /// `msg`. Announcements pass any filter; updates must fall in its window.
    pub fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool {
        let state = self.state.lock();
        let Some(filter) = state.peers.get(&NodeId::from_pubkey(peer)).and_then(|p| p.filter.as_ref()) else {
            return false;
        };
        match msg {
            GossipMessage::ChannelAnnouncement(_) => true,
            GossipMessage::ChannelUpdate(m) => filter.matches(m.contents.timestamp),
            GossipMessage::NodeAnnouncement(m) => filter.matches(m.contents.timestamp),
            _ => false,
        }
    }

    /// A `channel_announcement` from `from` (or from us, for `None`): checked,
    /// applied, and queued for broadcast if new.
    pub fn handle_channel_announcement(
        &self, from: Option<&PublicKey>, msg: &ChannelAnnouncement,
    ) -> Result<(), GossipError> {
        self.network_graph.update_channel_from_announcement(msg, self.utxo_lookup.as_ref())?;
        if msg.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY {
            self.broadcast(GossipMessage::ChannelAnnouncement(msg.clone()), from);
        }
        Ok(())
    }

    /// A `node_announcement` from `from` (or from us, for `None`): checked,
    /// applied, and queued for broadcast if new and, for one from a peer,
    /// within its origin's relay rate limit.
    pub fn handle_node_announcement(
        &self, from: Option<&PublicKey>, msg: &NodeAnnouncement,
    ) -> Result<(), GossipError> {
        self.network_graph.update_node_from_announcement(msg)?;
        let excess = msg.contents.excess_data.len() + msg.contents.excess_address_data.len();
        if excess <= MAX_EXCESS_BYTES_FOR_RELAY {
            let msg = GossipMessage::NodeAnnouncement(msg.clone());
            match from {
                Some(_) => self.relay(msg, from),
                None => self.broadcast(msg, None),
            }
        }
        Ok(())
    }

    /// A `channel_update` from `from` (or from us, for `None`): checked,
    /// applied, and queued for broadcast if new and, for one from a peer,
    /// within its origin's relay rate limit.
    pub fn handle_channel_update(
        &self, from: Option<&PublicKey>, msg: &ChannelUpdate,
    ) -> Result<(), GossipError> {
        self.network_graph.update_channel(msg)?;
        if msg.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY {
            let msg = GossipMessage::ChannelUpdate(msg.clone());
            match from {
                Some(_) => self.relay(msg, from),
                None => self.broadcast(msg, None),
            }
        }
        Ok(())
    }

    /// A peer connected. If it supports `gossip_queries`, asks it for the
    /// channels of every block (on the first [`MAX_FULL_SYNC_PEERS`] such
    /// peers) and, with a `gossip_timestamp_filter`, for gossip from the last
    /// hour on (the time is the latest the caller passed to
    /// [`NetworkGraph::remove_stale_channels_and_tracking_with_time`]).
    pub fn peer_connected(&self, their_node_id: &PublicKey, their_init_features: &InitFeatures) {
        let mut state = self.state.lock();
        state.peers.insert(NodeId::from_pubkey(their_node_id), PeerState::default());
        if !their_init_features.supports_gossip_queries() {
            return;
        }
        let chain_hash = self.network_graph.chain_hash();
        // Older gossip comes through the channel range query; the filter asks
        // for what is fresh. With no time known yet (the caller has not
        // pruned), everything is asked for.
        let now = self.network_graph.data.read().last_known_time;
        let first_timestamp = now.saturating_sub(GOSSIP_FILTER_LOOKBACK_SECS);
        self.send(
            their_node_id,
            GossipMessage::GossipTimestampFilter(GossipTimestampFilter {
                chain_hash,
                first_timestamp: u32::try_from(first_timestamp).unwrap_or(u32::MAX),
                timestamp_range: u32::MAX,
            }),
        );
        if state.full_syncs_requested < MAX_FULL_SYNC_PEERS {
            state.full_syncs_requested += 1;
            self.send(
                their_node_id,
                GossipMessage::QueryChannelRange(QueryChannelRange {
                    chain_hash,
                    first_blocknum: 0,
                    number_of_blocks: u32::MAX,
                    query_option: Some(QUERY_OPTION_TIMESTAMPS),
                }),
            );
        }
    }

    /// A peer disconnected: forget its sync state.
    pub fn peer_disconnected(&self, their_node_id: &PublicKey) {
        self.state.lock().peers.remove(&NodeId::from_pubkey(their_node_id));
    }

    /// A peer's `gossip_timestamp_filter`: remembered for
    /// [`Self::should_forward_to`]. One for another chain is ignored.
    pub fn handle_gossip_timestamp_filter(
        &self, their_node_id: &PublicKey, msg: &GossipTimestampFilter,
    ) -> Result<(), GossipError> {
        if msg.chain_hash != self.network_graph.chain_hash() {
            return Err(GossipError::WrongChain);
        }
        let mut state = self.state.lock();
        state.peers.entry(NodeId::from_pubkey(their_node_id)).or_default().filter = Some(msg.clone());
        Ok(())
    }

    /// Answers a `query_channel_range` with one or more `reply_channel_range`,
    /// with timestamps and checksums if asked for. For another chain, one
    /// empty reply with `sync_complete` false.
    pub fn handle_query_channel_range(
        &self, their_node_id: &PublicKey, msg: &QueryChannelRange,
    ) -> Result<(), GossipError> {
        let chain_hash = self.network_graph.chain_hash();
        if msg.chain_hash != chain_hash || msg.number_of_blocks == 0 {
            self.send(
                their_node_id,
                GossipMessage::ReplyChannelRange(ReplyChannelRange {
                    chain_hash: msg.chain_hash,
                    first_blocknum: msg.first_blocknum,
                    number_of_blocks: msg.number_of_blocks,
                    sync_complete: false,
                    short_channel_ids: Vec::new(),
                    timestamps: None,
                    checksums: None,
                }),
            );
            return if msg.chain_hash != chain_hash { Err(GossipError::WrongChain) } else { Ok(()) };
        }
        let option = msg.query_option.unwrap_or(0);
        let (want_ts, want_cs) =
            (option & QUERY_OPTION_TIMESTAMPS != 0, option & QUERY_OPTION_CHECKSUMS != 0);
        let per_reply = if want_ts || want_cs { MAX_SCIDS_PER_REPLY_WITH_TLVS } else { MAX_SCIDS_PER_REPLY };
        // Block heights have 24 bits: a range ending past them is open-ended.
        let start = (msg.first_blocknum.min(1 << 24) as u64) << 40;
        let end = if msg.end_blocknum() >= 1 << 24 {
            Bound::Unbounded
        } else {
            Bound::Excluded((msg.end_blocknum() as u64) << 40)
        };
        // (ids, timestamps, checksums) per reply.
        type Batch = (Vec<ShortChannelId>, Vec<(u32, u32)>, Vec<(u32, u32)>);
        let mut batches: Vec<Batch> = Vec::new();
        {
            let graph = self.network_graph.read_only();
            let data = graph.data();
            let mut current = (Vec::new(), Vec::new(), Vec::new());
            for (scid, idx) in data.channel_lookup.range((Bound::Included(start), end)) {
                // Start a new batch only at a block boundary, so that one block's
                // channels are never split across replies.
                let block = (*scid >> 40) as u32;
                if current.0.len() >= per_reply
                    && current.0.last().map(|s: &ShortChannelId| s.block_height()) != Some(block)
                {
                    batches.push(core::mem::take(&mut current));
                }
                let hot = &data.channels[*idx as usize];
                let cold = &data.cold[*idx as usize];
                current.0.push(ShortChannelId(*scid));
                if want_ts {
                    current.1.push((hot.dirs[0].last_update, hot.dirs[1].last_update));
                }
                if want_cs {
                    let cs = |d: usize| cold.updates[d].as_ref().map_or(0, |u| u.contents.checksum());
                    current.2.push((cs(0), cs(1)));
                }
            }
            batches.push(current);
        }
        let count = batches.len();
        let mut first_blocknum = msg.first_blocknum;
        for (i, (ids, ts, cs)) in batches.into_iter().enumerate() {
            let last = i + 1 == count;
            let end_block = if last {
                msg.end_blocknum()
            } else {
                ids.last().map_or(first_blocknum, |s| s.block_height().saturating_add(1))
            };
            self.send(
                their_node_id,
                GossipMessage::ReplyChannelRange(ReplyChannelRange {
                    chain_hash,
                    first_blocknum,
                    number_of_blocks: end_block.saturating_sub(first_blocknum),
                    sync_complete: last,
                    short_channel_ids: ids,
                    timestamps: want_ts.then_some(ts),
                    checksums: want_cs.then_some(cs),
                }),
            );
            first_blocknum = end_block;
        }
        Ok(())
    }

    /// A `reply_channel_range`: remembers the channels we lack (or whose
    /// updates are newer than ours, when timestamps are given) and asks for
    /// them with `query_short_channel_ids`, one query at a time.
    pub fn handle_reply_channel_range(
        &self, their_node_id: &PublicKey, msg: &ReplyChannelRange,
    ) -> Result<(), GossipError> {
        if msg.chain_hash != self.network_graph.chain_hash() {
            return Err(GossipError::WrongChain);
        }
        let wanted: Vec<ShortChannelId> = {
            let graph = self.network_graph.read_only();
            let data = graph.data();
            msg.short_channel_ids
                .iter()
                .enumerate()
                .filter(|(i, scid)| match data.channel_lookup.get(&scid.0) {
                    None => !data.removed_channels.contains_key(&scid.0),
                    Some(idx) => msg.timestamps.as_ref().and_then(|t| t.get(*i)).is_some_and(|(t1, t2)| {
                        let dirs = &data.channels[*idx as usize].dirs;
                        *t1 > dirs[0].last_update || *t2 > dirs[1].last_update
                    }),
                })
                .map(|(_, scid)| *scid)
                .collect()
        };
        let mut state = self.state.lock();
        let peer = state.peers.entry(NodeId::from_pubkey(their_node_id)).or_default();
        // Bounded per peer: a peer cannot make us remember without limit.
        let room = MAX_WANTED_SCIDS_PER_PEER.saturating_sub(peer.wanted.len());
        peer.wanted.extend(wanted.into_iter().take(room));
        self.send_next_query(their_node_id, peer);
        Ok(())
    }

    fn send_next_query(&self, their_node_id: &PublicKey, peer: &mut PeerState) {
        if peer.awaiting_reply_end || peer.wanted.is_empty() {
            return;
        }
        let n = peer.wanted.len().min(MAX_SCIDS_PER_QUERY);
        let ids: Vec<ShortChannelId> = peer.wanted.drain(..n).collect();
        peer.awaiting_reply_end = true;
        self.send(
            their_node_id,
            GossipMessage::QueryShortChannelIds(QueryShortChannelIds {
                chain_hash: self.network_graph.chain_hash(),
                short_channel_ids: ids,
                query_flags: None,
            }),
        );
    }

    /// A `reply_short_channel_ids_end`: the next query may go out.
    pub fn handle_reply_short_channel_ids_end(
        &self, their_node_id: &PublicKey, msg: &ReplyShortChannelIdsEnd,
    ) -> Result<(), GossipError> {
        if msg.chain_hash != self.network_graph.chain_hash() {
            return Err(GossipError::WrongChain);
        }
        let mut state = self.state.lock();
        let peer = state.peers.entry(NodeId::from_pubkey(their_node_id)).or_default();
        peer.awaiting_reply_end = false;
        self.send_next_query(their_node_id, peer);
        Ok(())
    }

    /// Answers a `query_short_channel_ids`: for each known channel, the
    /// announcement, the updates and the two node announcements (each node
    /// once per query), as the query flags ask (everything without flags),
    /// then `reply_short_channel_ids_end`. For another chain, only the end
    /// with `full_information` false.
    pub fn handle_query_short_channel_ids(
        &self, their_node_id: &PublicKey, msg: &QueryShortChannelIds,
    ) -> Result<(), GossipError> {
        let chain_hash = self.network_graph.chain_hash();
        if msg.chain_hash != chain_hash {
            self.send(
                their_node_id,
                GossipMessage::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                    chain_hash: msg.chain_hash,
                    full_information: false,
                }),
            );
            return Err(GossipError::WrongChain);
        }
        if let Some(flags) = &msg.query_flags {
            if flags.len() != msg.short_channel_ids.len() {
                // BOLT 7: one flag per id; a malformed query still gets its end.
                self.send(
                    their_node_id,
                    GossipMessage::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                        chain_hash,
                        full_information: false,
                    }),
                );
                return Ok(());
            }
        }
        let mut out = Vec::new();
        {
            let graph = self.network_graph.read_only();
            let data = graph.data();
            let mut sent_nodes = BTreeSet::new();
            let all = QUERY_FLAG_CHANNEL_ANNOUNCEMENT
                | QUERY_FLAG_CHANNEL_UPDATE_1
                | QUERY_FLAG_CHANNEL_UPDATE_2
                | QUERY_FLAG_NODE_ANNOUNCEMENT_1
                | QUERY_FLAG_NODE_ANNOUNCEMENT_2;
            for (i, scid) in msg.short_channel_ids.iter().enumerate() {
                let flags = msg.query_flags.as_ref().and_then(|f| f.get(i).copied()).unwrap_or(all);
                let Some(idx) = data.channel_lookup.get(&scid.0) else { continue };
                let hot = &data.channels[*idx as usize];
                let cold = &data.cold[*idx as usize];
                if flags & QUERY_FLAG_CHANNEL_ANNOUNCEMENT != 0 {
                    if let Some(ann) = &cold.announcement {
                        out.push(GossipMessage::ChannelAnnouncement((**ann).clone()));
                    }
                }
                for (dir, bit) in [(0, QUERY_FLAG_CHANNEL_UPDATE_1), (1, QUERY_FLAG_CHANNEL_UPDATE_2)] {
                    if flags & bit != 0 {
                        if let Some(upd) = &cold.updates[dir] {
                            out.push(GossipMessage::ChannelUpdate((**upd).clone()));
                        }
                    }
                }
                for (dir, bit) in [(0, QUERY_FLAG_NODE_ANNOUNCEMENT_1), (1, QUERY_FLAG_NODE_ANNOUNCEMENT_2)] {
                    let node = &data.nodes[hot.nodes[dir] as usize];
                    if flags & bit != 0 && sent_nodes.insert(hot.nodes[dir]) {
                        if let Some(ann) =
                            node.announcement.as_ref().and_then(|a| a.announcement_message.as_ref())
                        {
                            out.push(GossipMessage::NodeAnnouncement(ann.clone()));
                        }
                    }
                }
            }
        }
        for m in out {
            self.send(their_node_id, m);
        }
        self.send(
            their_node_id,
            GossipMessage::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                chain_hash,
                full_information: true,
            }),
        );
        Ok(())
    }
}
