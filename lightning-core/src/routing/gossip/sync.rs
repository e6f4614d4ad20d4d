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
//! to drop broadcasts first when a peer's send buffer is full. Gossip we
//! generate ourselves (handled with `from` `None`) is marked
//! [`GossipSendEvent::Broadcast::ours`] and goes to every peer whatever its
//! filter (BOLT 7: "SHOULD send gossip messages as it generates them
//! regardless of `timestamp`").
//!
//! A `channel_announcement` is never relayed on its own: BOLT 7
//! (`gossip_timestamp_filter` receiver) says "If a `channel_announcement` has
//! no corresponding `channel_update`s: MUST NOT send the
//! `channel_announcement`" and "MUST consider whether to send the
//! `channel_announcement` after receiving the first corresponding
//! `channel_update`", and "If a `channel_announcement` is sent: MUST send the
//! `channel_announcement` prior to any corresponding `channel_update`s". So a
//! fresh announcement is kept, and queued right before the channel's first
//! signed `channel_update` when that is relayed. The broadcast
//! queue itself is bounded ([`MAX_PENDING_BROADCASTS`]); beyond that, fresh
//! gossip is not relayed (counted in [`P2PGossipSync::dropped_broadcasts`]).
//!
//! Answers to a peer's queries are not queued: at most one answer of each
//! kind is in progress per peer (a second query of a kind before the first is
//! answered is ignored, as BOLT 7 forbids it), and the peer manager pulls its
//! messages with [`P2PGossipSync::get_next_query_replies`] as the peer's send
//! buffer drains (see [`crate::routing::gossip::queries`]). What is queued per
//! peer is then bounded: our `gossip_timestamp_filter` and
//! `query_channel_range` on connection, and one `query_short_channel_ids` at a
//! time. [`P2PGossipSync::processing_queue_high`] reports a backlog of
//! broadcasts or funding lookups, so the peer manager stops reading gossip.
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
use crate::ln::msgs::gossip::QUERY_OPTION_TIMESTAMPS;
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, GossipTimestampFilter, NodeAnnouncement, QueryChannelRange,
    QueryShortChannelIds, ReplyChannelRange, ReplyShortChannelIdsEnd,
};
use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use crate::routing::gossip::graph::{NetworkGraph, MAX_EXCESS_BYTES_FOR_RELAY, MAX_PENDING_UTXO_CHECKS};
use crate::routing::gossip::queries::{RangeReply, ScidReply};
use crate::routing::gossip::types::{GossipError, NodeId};
use crate::routing::utxo::UtxoLookup;
use crate::sync::Mutex;
use bitcoin::secp256k1::PublicKey;
use core::ops::Deref;

/// At most this many broadcasts wait in the queue; more are dropped.
pub const MAX_PENDING_BROADCASTS: usize = 4096;
pub use crate::routing::gossip::queries::{MAX_SCIDS_PER_REPLY, MAX_SCIDS_PER_REPLY_WITH_TLVS};
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
        /// True for gossip we generated ourselves: it goes to every peer,
        /// whatever its `gossip_timestamp_filter` (BOLT 7: "SHOULD send gossip
        /// messages as it generates them regardless of `timestamp`").
        ours: bool,
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
    /// Our answer to the peer's `query_channel_range`, in progress.
    range_reply: Option<RangeReply>,
    /// Our answer to the peer's `query_short_channel_ids`, in progress.
    scid_reply: Option<ScidReply>,
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
    /// broadcast if its origin is within its relay rate limit, preceded by
    /// `announcement` (the channel's announcement, when `msg` is its first
    /// update).
    fn relay(&self, msg: GossipMessage, announcement: Option<ChannelAnnouncement>, from: Option<&PublicKey>) {
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
            let mut msgs = Vec::with_capacity(2);
            msgs.extend(announcement.map(GossipMessage::ChannelAnnouncement));
            msgs.push(msg);
            self.broadcast(msgs, from, false);
        } else {
            *self.rate_limited_broadcasts.lock() += 1;
        }
    }

    fn send(&self, node_id: &PublicKey, msg: GossipMessage) {
        self.pending_events.lock().push(GossipSendEvent::SendToPeer { node_id: *node_id, msg });
    }

    /// Queues `msgs` for broadcast, all or none (an announcement is never
    /// queued without the update that follows it).
    fn broadcast(&self, msgs: Vec<GossipMessage>, except_node_id: Option<&PublicKey>, ours: bool) {
        let mut queued = self.pending_broadcast_count.lock();
        if queued.saturating_add(msgs.len()) > MAX_PENDING_BROADCASTS {
            *self.dropped_broadcasts.lock() += msgs.len() as u64;
            return;
        }
        *queued += msgs.len();
        let except_node_id = except_node_id.copied();
        self.pending_events.lock().extend(msgs.into_iter().map(|msg| GossipSendEvent::Broadcast {
            msg,
            except_node_id,
            ours,
        }));
    }

    /// Takes everything queued to send.
    pub fn get_and_clear_pending_gossip_events(&self) -> Vec<GossipSendEvent> {
        // An announcement confirmed by a UTXO lookup comes before the first
        // update held for it, and is relayed with that update only.
        let mut announcement: Option<ChannelAnnouncement> = None;
        for msg in self.network_graph.take_pending_broadcasts() {
            match msg {
                GossipMessage::ChannelAnnouncement(ann) => announcement = Some(ann),
                msg => {
                    let ann = announcement.take().filter(|a| match &msg {
                        GossipMessage::ChannelUpdate(u) => {
                            u.contents.short_channel_id == a.contents.short_channel_id
                        }
                        _ => false,
                    });
                    self.relay(msg, ann, None);
                }
            }
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
    /// `msg`: updates and node announcements must fall in its window. A
    /// `channel_announcement` takes the timestamp of its channel's signed
    /// updates (BOLT 7: "MUST consider the `timestamp` of the
    /// `channel_announcement` to be the `timestamp` of a corresponding
    /// `channel_update`"): it passes if one of them falls in the window, and
    /// never for an unknown channel or one without a signed update ("If a
    /// `channel_announcement` has no corresponding `channel_update`s: MUST NOT
    /// send the `channel_announcement`."). Not consulted for our own gossip
    /// ([`GossipSendEvent::Broadcast::ours`]).
    pub fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool {
        let state = self.state.lock();
        let Some(filter) = state.peers.get(&NodeId::from_pubkey(peer)).and_then(|p| p.filter.as_ref()) else {
            return false;
        };
        match msg {
            GossipMessage::ChannelAnnouncement(m) => {
                let graph = self.network_graph.read_only();
                let data = graph.data();
                let Some(idx) = data.channel_lookup.get(&m.contents.short_channel_id.0) else {
                    return false;
                };
                data.cold[*idx as usize]
                    .updates
                    .iter()
                    .flatten()
                    .any(|u| filter.matches(u.contents.timestamp))
            }
            GossipMessage::ChannelUpdate(m) => filter.matches(m.contents.timestamp),
            GossipMessage::NodeAnnouncement(m) => filter.matches(m.contents.timestamp),
            _ => false,
        }
    }

    /// True if walking our graph to `peer` could send it anything: it sent a
    /// `gossip_timestamp_filter` whose window is not empty and does not start
    /// after the newest timestamp the graph ever held. The peer manager starts
    /// no walk otherwise (a `0xFFFFFFFF`/0 filter costs nothing).
    pub fn graph_walk_wanted(&self, peer: &PublicKey) -> bool {
        let state = self.state.lock();
        let Some(filter) = state.peers.get(&NodeId::from_pubkey(peer)).and_then(|p| p.filter.as_ref()) else {
            return false;
        };
        filter.timestamp_range > 0 && filter.first_timestamp <= self.network_graph.newest_timestamp()
    }

    /// A `channel_announcement` from `from` (or from us, for `None`): checked
    /// and applied. It is not relayed yet: BOLT 7 says "If a
    /// `channel_announcement` has no corresponding `channel_update`s: MUST NOT
    /// send the `channel_announcement`", so it is queued for broadcast right
    /// before the channel's first signed update (see
    /// [`Self::handle_channel_update`]), or now, with them, if the channel
    /// already had signed updates (a channel first learned from a trusted
    /// source).
    pub fn handle_channel_announcement(
        &self, from: Option<&PublicKey>, msg: &ChannelAnnouncement,
    ) -> Result<(), GossipError> {
        self.network_graph.update_channel_from_announcement(msg, self.utxo_lookup.as_ref())?;
        if let Some((ann, updates)) =
            self.network_graph.signed_channel_messages(msg.contents.short_channel_id.0)
        {
            if !updates.is_empty() {
                let mut msgs = vec![GossipMessage::ChannelAnnouncement(ann)];
                msgs.extend(updates.into_iter().map(GossipMessage::ChannelUpdate));
                self.broadcast(msgs, from, from.is_none());
            }
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
                Some(_) => self.relay(msg, None, from),
                None => self.broadcast(vec![msg], None, true),
            }
        }
        Ok(())
    }

    /// A `channel_update` from `from` (or from us, for `None`): checked,
    /// applied, and queued for broadcast if new and, for one from a peer,
    /// within its origin's relay rate limit. The channel's first signed
    /// update is preceded by the channel's announcement (BOLT 7: "MUST
    /// consider whether to send the `channel_announcement` after receiving
    /// the first corresponding `channel_update`"), so that receivers know the
    /// channel when the update reaches them.
    pub fn handle_channel_update(
        &self, from: Option<&PublicKey>, msg: &ChannelUpdate,
    ) -> Result<(), GossipError> {
        let first = self.network_graph.update_channel_reporting_first(msg)?;
        if msg.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY {
            let announcement = if first {
                self.network_graph.signed_channel_messages(msg.contents.short_channel_id.0).map(|(a, _)| a)
            } else {
                None
            };
            let msg = GossipMessage::ChannelUpdate(msg.clone());
            match from {
                Some(_) => self.relay(msg, announcement, from),
                None => {
                    let mut msgs = Vec::with_capacity(2);
                    msgs.extend(announcement.map(GossipMessage::ChannelAnnouncement));
                    msgs.push(msg);
                    self.broadcast(msgs, None, true);
                }
            }
        }
        Ok(())
    }

    /// A peer connected. If it supports `gossip_queries`, sends it a
    /// `gossip_timestamp_filter` and, on the first [`MAX_FULL_SYNC_PEERS`] such
    /// peers, asks it for the channels of every block. A peer without
    /// `gossip_queries` gets a filter with `first_timestamp` `0xFFFFFFFF` and
    /// `timestamp_range` 0 (BOLT 7), which asks only for its own gossip.
    ///
    /// Whatever the peer's features, we relay gossip to it only once it sent
    /// us a `gossip_timestamp_filter` (BOLT 7: "MUST not send gossip it did
    /// not generate itself, until it receives `gossip_timestamp_filter`").
    ///
    /// The filter asks for gossip from the last hour on when a time is known
    /// (the latest the caller passed to
    /// [`NetworkGraph::remove_stale_channels_and_tracking_with_time`]): older
    /// gossip comes through the channel range query. With no time known, only
    /// the full-sync peers are asked for all their gossip (`first_timestamp`
    /// 0); the others get `first_timestamp` `0xFFFFFFFF` and `timestamp_range`
    /// 0, which asks for nothing but their own gossip (BOLT 7 suggests this
    /// "after the first few peers, in the assumption that propagation is
    /// adequate").
    pub fn peer_connected(&self, their_node_id: &PublicKey, their_init_features: &InitFeatures) {
        let mut state = self.state.lock();
        state.peers.insert(NodeId::from_pubkey(their_node_id), PeerState::default());
        let chain_hash = self.network_graph.chain_hash();
        if !their_init_features.supports_gossip_queries() {
            // Not worth querying (BOLT 7): a filter that asks only for the
            // gossip it generates itself.
            self.send(
                their_node_id,
                GossipMessage::GossipTimestampFilter(GossipTimestampFilter {
                    chain_hash,
                    first_timestamp: u32::MAX,
                    timestamp_range: 0,
                }),
            );
            return;
        }
        let full_sync = state.full_syncs_requested < MAX_FULL_SYNC_PEERS;
        if full_sync {
            state.full_syncs_requested += 1;
        }
        let now = self.network_graph.data.read().last_known_time;
        let (first_timestamp, timestamp_range) = if now > 0 {
            let first = now.saturating_sub(GOSSIP_FILTER_LOOKBACK_SECS);
            (u32::try_from(first).unwrap_or(u32::MAX), u32::MAX)
        } else if full_sync {
            (0, u32::MAX)
        } else {
            (u32::MAX, 0)
        };
        self.send(
            their_node_id,
            GossipMessage::GossipTimestampFilter(GossipTimestampFilter {
                chain_hash,
                first_timestamp,
                timestamp_range,
            }),
        );
        if full_sync {
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

    /// Starts answering a `query_channel_range` with one or more
    /// `reply_channel_range` (timestamps and checksums if asked for; for
    /// another chain, one empty reply with `sync_complete` false). The replies
    /// are built one at a time by [`Self::get_next_query_replies`] as the
    /// peer's send buffer drains. A query that comes while the previous one is
    /// still being answered is ignored ([`GossipError::QueryInProgress`]): BOLT 7
    /// forbids it.
    pub fn handle_query_channel_range(
        &self, their_node_id: &PublicKey, msg: &QueryChannelRange,
    ) -> Result<(), GossipError> {
        let chain_hash = self.network_graph.chain_hash();
        let mut state = self.state.lock();
        let peer = state.peers.entry(NodeId::from_pubkey(their_node_id)).or_default();
        if peer.range_reply.is_some() {
            return Err(GossipError::QueryInProgress);
        }
        peer.range_reply = Some(RangeReply::new(msg, chain_hash));
        if msg.chain_hash != chain_hash {
            return Err(GossipError::WrongChain);
        }
        Ok(())
    }

    /// The next messages answering `their_node_id`'s queries in progress
    /// (one `reply_channel_range`, or what answers the next channel of a
    /// `query_short_channel_ids`), empty when none is in progress. The peer
    /// manager calls it while the peer's send buffer has room, so that a peer
    /// makes us hold at most one reply of each kind at a time.
    pub fn get_next_query_replies(&self, their_node_id: &PublicKey) -> Vec<GossipMessage> {
        let mut state = self.state.lock();
        let Some(peer) = state.peers.get_mut(&NodeId::from_pubkey(their_node_id)) else {
            return Vec::new();
        };
        if peer.range_reply.is_none() && peer.scid_reply.is_none() {
            return Vec::new();
        }
        let graph = self.network_graph.read_only();
        if let Some(range) = peer.range_reply.as_mut() {
            let (reply, done) = range.next_reply(graph.data());
            if done {
                peer.range_reply = None;
            }
            return vec![GossipMessage::ReplyChannelRange(reply)];
        }
        if let Some(scids) = peer.scid_reply.as_mut() {
            let (messages, done) = scids.next_messages(graph.data());
            if done {
                peer.scid_reply = None;
            }
            return messages;
        }
        Vec::new()
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

    /// Starts answering a `query_short_channel_ids`: for each known channel,
    /// the announcement, the updates and the two node announcements (each
    /// node once per query), as the query flags ask (everything without
    /// flags), then `reply_short_channel_ids_end`, built as the peer's send
    /// buffer drains (see [`Self::get_next_query_replies`]). For another chain,
    /// or flags that do not match the ids, only the end with
    /// `full_information` false. A query while the previous one is still being
    /// answered is ignored ([`GossipError::QueryInProgress`]).
    pub fn handle_query_short_channel_ids(
        &self, their_node_id: &PublicKey, msg: &QueryShortChannelIds,
    ) -> Result<(), GossipError> {
        let chain_hash = self.network_graph.chain_hash();
        let mut state = self.state.lock();
        let peer = state.peers.entry(NodeId::from_pubkey(their_node_id)).or_default();
        if peer.scid_reply.is_some() {
            return Err(GossipError::QueryInProgress);
        }
        peer.scid_reply = Some(ScidReply::new(msg.clone(), chain_hash));
        if msg.chain_hash != chain_hash {
            return Err(GossipError::WrongChain);
        }
        Ok(())
    }

    /// True while gossip waits to be taken (broadcasts, or funding outputs
    /// being looked up) beyond half of what is kept: the peer manager then
    /// stops reading from peers until it drains.
    pub fn processing_queue_high(&self) -> bool {
        self.pending_events.lock().len() >= MAX_PENDING_BROADCASTS / 2
            || (self.network_graph.pending_utxo_check_count() >= MAX_PENDING_UTXO_CHECKS / 2
                // Lost lookups do not count: drop them before deciding.
                && self.network_graph.drop_abandoned_utxo_checks() >= MAX_PENDING_UTXO_CHECKS / 2)
    }
}
