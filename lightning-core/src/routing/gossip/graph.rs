//! [`NetworkGraph`]: the public channels and nodes, with every BOLT 7 check on
//! what goes in.
//!
//! # Storage and memory
//!
//! Nodes and channels live in two arrays and refer to each other by `u32`
//! index; lookups by id go through ordered maps (scid → index, node id →
//! index) so range queries and "next announcement after" walks are cheap.
//! Each node also keeps the list of channel directions into it with a copy of
//! what the router reads for them (source, scid, capacity, policy: 56 bytes),
//! so a route search walks one contiguous list per node instead of jumping to
//! each channel; features and signed messages sit apart in a cold array the
//! router never touches.
//!
//! Per channel, without signed messages (the trusted path used by rapid gossip
//! sync and benchmarks): 88 bytes in the channel array, two 56-byte copies in
//! the endpoints' lists, about 64 bytes cold and about 40 bytes in the scid
//! map; with the nodes (about 120 bytes each plus an announcement if any) that
//! is about 375 bytes per channel as measured: 22.5 MB resident for the
//! 15k-node, 60k-channel `graph-15k` data set. Channels learned from gossip
//! also keep their signed messages for relaying and query answers: a boxed
//! `channel_announcement` (600 bytes) and up to two `channel_update`s (160
//! bytes each), about 950 bytes more per channel, so roughly 1.3 KB per
//! channel, about 80 MB for 60k channels. The cold part also holds each
//! direction's relay rate limit ([`super::relay`], 8 bytes each).

use crate::ln::features::ChannelFeatures;
use crate::ln::msgs::gossip::{GossipMessage, MESSAGE_FLAG_DONT_FORWARD};
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, NodeAnnouncement, UnsignedChannelAnnouncement, UnsignedChannelUpdate,
    UnsignedNodeAnnouncement,
};
use crate::prelude::*;
use crate::routing::gossip::relay::RelayBudget;
use crate::routing::gossip::types::{
    ChannelInfo, ChannelUpdateInfo, GossipError, NodeAnnouncementInfo, NodeId, NodeInfo, RoutingFees,
};
use crate::routing::utxo::{funding_script_pubkey, UtxoFuture, UtxoLookup, UtxoLookupError, UtxoResult};
use crate::sync::{Mutex, RwLock, RwLockReadGuard};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, VerifyOnly};
use bitcoin::TxOut;

/// Whether a `channel_update` check may change anything: only applying it
/// holds an update for a channel whose UTXO lookup is pending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UpdateMode {
    /// Checks only ([`NetworkGraph::verify_channel_update`]).
    Verify,
    /// Checks, then applies or holds.
    Apply,
}

/// Channel directions not updated for this long are dropped by pruning, and a
/// channel with no direction left is removed (BOLT 7: two weeks).
pub const STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS: u64 = 60 * 60 * 24 * 14;

/// How long a spent channel is remembered, so late gossip for it is refused.
pub const REMOVED_CHANNELS_RETENTION_SECS: u64 = 60 * 60 * 24 * 7;

/// Signed messages with more unknown trailing data than this are applied but
/// not kept for relaying (BOLT 7 allows not relaying over-long messages).
pub const MAX_EXCESS_BYTES_FOR_RELAY: usize = 1024;

/// At most this many announcements wait for an asynchronous UTXO lookup;
/// more are refused (with [`GossipError::UtxoLookupPending`]) until some resolve.
pub const MAX_PENDING_UTXO_CHECKS: usize = 10_000;

/// An announcement whose UTXO lookup has not answered this long after the
/// first pruning call that saw it waiting (by the times passed to
/// [`NetworkGraph::remove_stale_channels_and_tracking_with_time`]; so it
/// waits between this and this plus the pruning interval) is dropped,
/// as is one whose lookup dropped its [`UtxoFuture`] without answering, so a
/// lost lookup cannot hold a pending slot (and the backlog that pauses gossip
/// peers) for ever.
pub const PENDING_UTXO_CHECK_TIMEOUT_SECS: u64 = 600;

/// `channel_update`s held per announcement waiting for its UTXO lookup: the
/// newest of each direction, so at most `2 * MAX_PENDING_UTXO_CHECKS` in all.
/// They are checked (signature included) when they arrive and applied when
/// the lookup confirms the channel.
pub const MAX_HELD_UPDATES_PER_PENDING_CHANNEL: usize = 2;

pub(crate) const DIR_PRESENT: u8 = 1;
pub(crate) const DIR_ENABLED: u8 = 2;
pub(crate) const NO_NODE: u32 = u32::MAX;

/// One direction's policy in the compact form the router reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DirectedPolicy {
    pub(crate) htlc_minimum_msat: u64,
    pub(crate) htlc_maximum_msat: u64,
    pub(crate) fee_base_msat: u32,
    pub(crate) fee_proportional_millionths: u32,
    pub(crate) last_update: u32,
    pub(crate) cltv_expiry_delta: u16,
    pub(crate) flags: u8,
}

impl DirectedPolicy {
    #[inline]
    pub(crate) fn is_present(&self) -> bool {
        self.flags & DIR_PRESENT != 0
    }
    #[inline]
    pub(crate) fn is_usable(&self) -> bool {
        self.flags & (DIR_PRESENT | DIR_ENABLED) == DIR_PRESENT | DIR_ENABLED
    }
    #[inline]
    pub(crate) fn fees(&self) -> RoutingFees {
        RoutingFees {
            base_msat: self.fee_base_msat,
            proportional_millionths: self.fee_proportional_millionths,
        }
    }
    fn from_update(msg: &UnsignedChannelUpdate) -> Self {
        DirectedPolicy {
            htlc_minimum_msat: msg.htlc_minimum_msat,
            htlc_maximum_msat: msg.htlc_maximum_msat,
            fee_base_msat: msg.fee_base_msat,
            fee_proportional_millionths: msg.fee_proportional_millionths,
            last_update: msg.timestamp,
            cltv_expiry_delta: msg.cltv_expiry_delta,
            flags: DIR_PRESENT | if msg.is_disabled() { 0 } else { DIR_ENABLED },
        }
    }
    fn to_info(self, message: Option<&ChannelUpdate>) -> Option<ChannelUpdateInfo> {
        self.is_present().then(|| ChannelUpdateInfo {
            last_update: self.last_update,
            enabled: self.flags & DIR_ENABLED != 0,
            cltv_expiry_delta: self.cltv_expiry_delta,
            htlc_minimum_msat: self.htlc_minimum_msat,
            htlc_maximum_msat: self.htlc_maximum_msat,
            fees: self.fees(),
            last_update_message: message.cloned(),
        })
    }
}

/// What the router reads about a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChannelHot {
    pub(crate) scid: u64,
    /// Node indices of `node_one` and `node_two`; `NO_NODE` marks a free slot.
    pub(crate) nodes: [u32; 2],
    /// Capacity in msat, `u64::MAX` when unknown.
    pub(crate) capacity_msat: u64,
    /// `[one_to_two, two_to_one]`.
    pub(crate) dirs: [DirectedPolicy; 2],
}

/// What only gossip handling and views read about a channel.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChannelCold {
    pub(crate) features: ChannelFeatures,
    pub(crate) capacity_sats: Option<u64>,
    pub(crate) received_time: u64,
    pub(crate) announcement: Option<Box<ChannelAnnouncement>>,
    pub(crate) updates: [Option<Box<ChannelUpdate>>; 2],
    /// Relay rate limit of each direction's updates (not saved).
    pub(crate) relay_budget: [RelayBudget; 2],
}

/// A channel direction into a node, with a copy of what the route search
/// reads, so the search walks one contiguous list per node instead of
/// jumping to each channel (the copy is kept in step by
/// [`GraphData::set_policy`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct InEdge {
    pub(crate) scid: u64,
    /// Capacity in msat, `u64::MAX` when unknown.
    pub(crate) capacity_msat: u64,
    /// The policy of the direction from `src` into this node.
    pub(crate) policy: DirectedPolicy,
    /// The forwarding node.
    pub(crate) src: u32,
    /// The channel index.
    pub(crate) chan: u32,
}

/// A node slot.
#[derive(Clone, Debug)]
pub(crate) struct NodeEntry {
    pub(crate) node_id: NodeId,
    /// Every channel of the node, as the direction into it (each channel
    /// once).
    pub(crate) inbound: Vec<InEdge>,
    pub(crate) announcement: Option<Box<NodeAnnouncementInfo>>,
    pub(crate) live: bool,
}

/// The graph's contents, behind the [`NetworkGraph`]'s lock.
#[derive(Clone, Debug, Default)]
pub(crate) struct GraphData {
    pub(crate) nodes: Vec<NodeEntry>,
    pub(crate) node_lookup: BTreeMap<NodeId, u32>,
    free_nodes: Vec<u32>,
    pub(crate) channels: Vec<ChannelHot>,
    pub(crate) cold: Vec<ChannelCold>,
    pub(crate) channel_lookup: BTreeMap<u64, u32>,
    free_channels: Vec<u32>,
    /// Spent channels and when they were removed (0: time not yet known).
    pub(crate) removed_channels: BTreeMap<u64, u64>,
    /// The latest time the caller told us about.
    pub(crate) last_known_time: u64,
    /// The newest `timestamp` of any channel direction or node announcement
    /// ever stored (never lowered): a peer's `gossip_timestamp_filter` that
    /// starts after it matches nothing we hold.
    pub(crate) newest_timestamp: u32,
    /// Relay rate limit of each node slot's announcements (not saved; kept
    /// out of [`NodeEntry`], which the route search reads).
    pub(crate) node_relay_budgets: Vec<RelayBudget>,
}

impl GraphData {
    pub(crate) fn node_index(&self, node_id: &NodeId) -> Option<u32> {
        self.node_lookup.get(node_id).copied()
    }

    fn get_or_add_node(&mut self, node_id: NodeId) -> u32 {
        if let Some(idx) = self.node_index(&node_id) {
            return idx;
        }
        let entry = NodeEntry { node_id, inbound: Vec::new(), announcement: None, live: true };
        let idx = match self.free_nodes.pop() {
            Some(idx) => {
                self.nodes[idx as usize] = entry;
                idx
            }
            None => {
                self.nodes.push(entry);
                (self.nodes.len() - 1) as u32
            }
        };
        self.node_lookup.insert(node_id, idx);
        // A reused slot starts with a fresh relay budget.
        if self.node_relay_budgets.len() <= idx as usize {
            self.node_relay_budgets.resize(idx as usize + 1, RelayBudget::default());
        }
        self.node_relay_budgets[idx as usize] = RelayBudget::default();
        idx
    }

    fn remove_node_if_orphan(&mut self, idx: u32) {
        let node = &mut self.nodes[idx as usize];
        if node.live && node.inbound.is_empty() {
            node.live = false;
            node.announcement = None;
            let id = node.node_id;
            self.node_lookup.remove(&id);
            self.free_nodes.push(idx);
        }
    }

    /// Adds a channel. `replace` allows replacing a known channel between other
    /// nodes (trusted sources); otherwise that is [`GossipError::DuplicateChannel`].
    pub(crate) fn add_channel(
        &mut self, scid: u64, node_one: NodeId, node_two: NodeId, cold: ChannelCold, replace: bool,
    ) -> Result<(), GossipError> {
        if node_one >= node_two {
            return Err(GossipError::InvalidNodeOrder);
        }
        if let Some(&idx) = self.channel_lookup.get(&scid) {
            let hot = self.channels[idx as usize];
            let same = self.nodes[hot.nodes[0] as usize].node_id == node_one
                && self.nodes[hot.nodes[1] as usize].node_id == node_two;
            if same {
                // Learn what the new source adds (capacity, signed message).
                let mut changed = false;
                if self.cold[idx as usize].capacity_sats.is_none() && cold.capacity_sats.is_some() {
                    self.cold[idx as usize].capacity_sats = cold.capacity_sats;
                    let capacity = capacity_msat(cold.capacity_sats);
                    self.channels[idx as usize].capacity_msat = capacity;
                    for dir in 0..2 {
                        if let Some(e) = self.in_edge_mut(idx, dir) {
                            e.capacity_msat = capacity;
                        }
                    }
                    changed = true;
                }
                let existing = &mut self.cold[idx as usize];
                if existing.announcement.is_none() && cold.announcement.is_some() {
                    existing.announcement = cold.announcement;
                    changed = true;
                }
                return if changed { Ok(()) } else { Err(GossipError::DuplicateChannel) };
            }
            if !replace {
                return Err(GossipError::DuplicateChannel);
            }
            self.remove_channel_at(idx);
        }
        let n1 = self.get_or_add_node(node_one);
        let n2 = self.get_or_add_node(node_two);
        let hot = ChannelHot {
            scid,
            nodes: [n1, n2],
            capacity_msat: capacity_msat(cold.capacity_sats),
            dirs: [DirectedPolicy::default(); 2],
        };
        let idx = match self.free_channels.pop() {
            Some(idx) => {
                self.channels[idx as usize] = hot;
                self.cold[idx as usize] = cold;
                idx
            }
            None => {
                self.channels.push(hot);
                self.cold.push(cold);
                (self.channels.len() - 1) as u32
            }
        };
        self.channel_lookup.insert(scid, idx);
        let edge = |src: u32| InEdge {
            scid,
            capacity_msat: hot.capacity_msat,
            policy: DirectedPolicy::default(),
            src,
            chan: idx,
        };
        // Node one's list holds the direction from node two, and back.
        self.nodes[n1 as usize].inbound.push(edge(n2));
        self.nodes[n2 as usize].inbound.push(edge(n1));
        Ok(())
    }

    pub(crate) fn remove_channel_at(&mut self, idx: u32) {
        let hot = self.channels[idx as usize];
        if hot.nodes[0] == NO_NODE {
            return;
        }
        self.channel_lookup.remove(&hot.scid);
        for n in hot.nodes {
            let list = &mut self.nodes[n as usize].inbound;
            if let Some(pos) = list.iter().position(|e| e.chan == idx) {
                list.swap_remove(pos);
            }
            self.remove_node_if_orphan(n);
        }
        self.channels[idx as usize].nodes = [NO_NODE; 2];
        self.cold[idx as usize] = ChannelCold::default();
        self.free_channels.push(idx);
    }

    /// Applies a direction's policy if it is newer than the one we have.
    pub(crate) fn apply_update(
        &mut self, idx: u32, direction: usize, policy: DirectedPolicy, message: Option<Box<ChannelUpdate>>,
    ) -> Result<(), GossipError> {
        let current = self.channels[idx as usize].dirs[direction];
        if current.is_present() {
            if policy.last_update < current.last_update {
                return Err(GossipError::OlderUpdate);
            }
            if policy.last_update == current.last_update {
                return Err(GossipError::DuplicateUpdate);
            }
        }
        self.set_policy(idx, direction, policy);
        self.cold[idx as usize].updates[direction] = message;
        Ok(())
    }

    /// The copy of direction `direction` of channel `idx` in its target's list.
    fn in_edge_mut(&mut self, idx: u32, direction: usize) -> Option<&mut InEdge> {
        // Direction 0 goes from node one into node two.
        let target = self.channels[idx as usize].nodes[1 - direction];
        self.nodes.get_mut(target as usize)?.inbound.iter_mut().find(|e| e.chan == idx)
    }

    /// Sets a direction's policy (and its copy in the target's list).
    pub(crate) fn set_policy(&mut self, idx: u32, direction: usize, policy: DirectedPolicy) {
        self.newest_timestamp = self.newest_timestamp.max(policy.last_update);
        self.channels[idx as usize].dirs[direction] = policy;
        if let Some(e) = self.in_edge_mut(idx, direction) {
            e.policy = policy;
        }
    }

    fn channel_info(&self, idx: u32) -> ChannelInfo {
        let hot = &self.channels[idx as usize];
        let cold = &self.cold[idx as usize];
        ChannelInfo {
            short_channel_id: hot.scid,
            features: cold.features.clone(),
            node_one: self.nodes[hot.nodes[0] as usize].node_id,
            node_two: self.nodes[hot.nodes[1] as usize].node_id,
            capacity_sats: cold.capacity_sats,
            one_to_two: hot.dirs[0].to_info(cold.updates[0].as_deref()),
            two_to_one: hot.dirs[1].to_info(cold.updates[1].as_deref()),
            announcement_received_time: cold.received_time,
            announcement_message: cold.announcement.as_deref().cloned(),
        }
    }
}

fn capacity_msat(capacity_sats: Option<u64>) -> u64 {
    capacity_sats.map_or(u64::MAX, |s| s.saturating_mul(1000))
}

/// A `channel_update` held until its channel's UTXO lookup answers (with no
/// signature for a trusted update).
#[derive(Debug)]
struct HeldUpdate {
    contents: UnsignedChannelUpdate,
    signature: Option<Signature>,
}

/// An announcement waiting for its funding output lookup.
#[derive(Debug)]
struct PendingCheck {
    future: UtxoFuture,
    contents: UnsignedChannelAnnouncement,
    full: Option<ChannelAnnouncement>,
    /// The newest update of each direction that arrived meanwhile.
    updates: [Option<HeldUpdate>; MAX_HELD_UPDATES_PER_PENDING_CHANNEL],
    /// The time of the first pruning call that saw it waiting (0 until
    /// then): the graph's own time only moves at pruning calls, so it
    /// cannot date an arrival between them.
    added_at: u64,
}

/// The public channel graph of one chain.
///
/// All methods take `&self` (the contents sit behind a lock), so the graph can
/// be shared between gossip handling and route finding. The core reads no
/// clock: methods that need the time take it as an argument.
#[derive(Debug)]
pub struct NetworkGraph {
    chain_hash: ChainHash,
    secp_ctx: Secp256k1<VerifyOnly>,
    pub(crate) data: RwLock<GraphData>,
    pending_checks: Mutex<Vec<PendingCheck>>,
    pending_broadcasts: Mutex<Vec<GossipMessage>>,
}

/// A read-only view of the graph, holding its read lock while it lives.
pub struct ReadOnlyNetworkGraph<'a> {
    data: RwLockReadGuard<'a, GraphData>,
    chain_hash: ChainHash,
}

impl NetworkGraph {
    /// An empty graph for `chain_hash`.
    pub fn new(chain_hash: ChainHash) -> Self {
        Self::from_data(chain_hash, GraphData::default())
    }

    pub(crate) fn from_data(chain_hash: ChainHash, data: GraphData) -> Self {
        NetworkGraph {
            chain_hash,
            secp_ctx: Secp256k1::verification_only(),
            data: RwLock::new(data),
            pending_checks: Mutex::new(Vec::new()),
            pending_broadcasts: Mutex::new(Vec::new()),
        }
    }

    /// The chain this graph is for.
    pub fn chain_hash(&self) -> ChainHash {
        self.chain_hash
    }

    /// A read-only view for the router and for inspection.
    pub fn read_only(&self) -> ReadOnlyNetworkGraph<'_> {
        ReadOnlyNetworkGraph { data: self.data.read(), chain_hash: self.chain_hash }
    }

    fn verify(&self, hash: [u8; 32], sig: &Signature, key: &PublicKey) -> Result<(), GossipError> {
        if crate::sign::verify_signature(&self.secp_ctx, hash, sig, key) {
            Ok(())
        } else {
            Err(GossipError::InvalidSignature)
        }
    }

    fn check_announcement(&self, msg: &UnsignedChannelAnnouncement) -> Result<(), GossipError> {
        if msg.chain_hash != self.chain_hash {
            return Err(GossipError::WrongChain);
        }
        if msg.node_id_1.serialize() >= msg.node_id_2.serialize() {
            return Err(GossipError::InvalidNodeOrder);
        }
        if msg.features.requires_unknown_bits() {
            return Err(GossipError::UnknownRequiredFeature);
        }
        Ok(())
    }

    /// Checks a `channel_announcement` (chain, node order, features, all four
    /// signatures, and with `utxo_lookup` the funding output) and adds the
    /// channel. Returns [`GossipError::UtxoLookupPending`] if the lookup answers
    /// later; the channel is then added when it does.
    pub fn update_channel_from_announcement<U: UtxoLookup + ?Sized>(
        &self, msg: &ChannelAnnouncement, utxo_lookup: Option<&U>,
    ) -> Result<(), GossipError> {
        let c = &msg.contents;
        self.check_announcement(c)?;
        let hash = c.signing_hash();
        self.verify(hash, &msg.node_signature_1, &c.node_id_1)?;
        self.verify(hash, &msg.node_signature_2, &c.node_id_2)?;
        self.verify(hash, &msg.bitcoin_signature_1, &c.bitcoin_key_1)?;
        self.verify(hash, &msg.bitcoin_signature_2, &c.bitcoin_key_2)?;
        self.add_announced_channel(c, Some(msg), utxo_lookup)
    }

    /// Adds a channel from an announcement whose signatures the caller already
    /// trusts (for example our own channel). Chain, order, features and UTXO
    /// are still checked.
    pub fn update_channel_from_unsigned_announcement<U: UtxoLookup + ?Sized>(
        &self, msg: &UnsignedChannelAnnouncement, utxo_lookup: Option<&U>,
    ) -> Result<(), GossipError> {
        self.check_announcement(msg)?;
        self.add_announced_channel(msg, None, utxo_lookup)
    }

    /// Adds a channel from a trusted source that has no signatures (rapid
    /// gossip sync, test data). A known channel between other nodes is
    /// replaced; one between the same nodes is kept (learning its capacity if
    /// it was unknown, otherwise [`GossipError::DuplicateChannel`]).
    pub fn add_channel_from_partial_announcement(
        &self, short_channel_id: u64, timestamp: u64, features: ChannelFeatures, node_id_1: NodeId,
        node_id_2: NodeId, capacity_sats: Option<u64>,
    ) -> Result<(), GossipError> {
        if features.requires_unknown_bits() {
            return Err(GossipError::UnknownRequiredFeature);
        }
        let cold = ChannelCold { features, capacity_sats, received_time: timestamp, ..Default::default() };
        self.data.write().add_channel(short_channel_id, node_id_1, node_id_2, cold, true)
    }

    fn add_announced_channel<U: UtxoLookup + ?Sized>(
        &self, c: &UnsignedChannelAnnouncement, full: Option<&ChannelAnnouncement>, utxo_lookup: Option<&U>,
    ) -> Result<(), GossipError> {
        let scid = c.short_channel_id.0;
        let (node_one, node_two) = (NodeId::from_pubkey(&c.node_id_1), NodeId::from_pubkey(&c.node_id_2));
        {
            let mut data = self.data.write();
            if data.removed_channels.contains_key(&scid) {
                return Err(GossipError::FundingSpent);
            }
            if let Some(&idx) = data.channel_lookup.get(&scid) {
                let hot = &data.channels[idx as usize];
                let same = data.nodes[hot.nodes[0] as usize].node_id == node_one
                    && data.nodes[hot.nodes[1] as usize].node_id == node_two;
                if same {
                    // A channel known without its signed announcement (from
                    // rapid gossip sync or a partial announcement) keeps the
                    // announcement once it arrives, to serve it to peers.
                    let relayable =
                        full.filter(|m| m.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY);
                    let cold = &mut data.cold[idx as usize];
                    if let (None, Some(ann)) = (&cold.announcement, relayable) {
                        cold.announcement = Some(Box::new(ann.clone()));
                        return Ok(());
                    }
                }
                if same || utxo_lookup.is_none() {
                    return Err(GossipError::DuplicateChannel);
                }
            }
        }
        let capacity_sats = match utxo_lookup {
            None => None,
            Some(lookup) => match lookup.get_utxo(&self.chain_hash, c.short_channel_id) {
                UtxoResult::Sync(result) => Some(check_utxo(c, result)?),
                UtxoResult::Async(future) => match future.result() {
                    Some(result) => Some(check_utxo(c, result)?),
                    None => {
                        let mut pending = self.pending_checks.lock();
                        // Bounded, so a peer cannot grow it by announcing
                        // channels that never resolve. Lost lookups are
                        // dropped before they make a backlog (which pauses
                        // gossip peers at half the bound).
                        if pending.len() >= MAX_PENDING_UTXO_CHECKS / 2 {
                            pending.retain(|p| !p.future.is_abandoned());
                        }
                        let known = pending.iter().any(|p| p.contents.short_channel_id == c.short_channel_id);
                        if !known && pending.len() < MAX_PENDING_UTXO_CHECKS {
                            pending.push(PendingCheck {
                                future,
                                contents: c.clone(),
                                full: full.cloned(),
                                updates: [None, None],
                                added_at: 0,
                            });
                        }
                        return Err(GossipError::UtxoLookupPending);
                    }
                },
            },
        };
        self.insert_announced(c, full, capacity_sats)
    }

    fn insert_announced(
        &self, c: &UnsignedChannelAnnouncement, full: Option<&ChannelAnnouncement>,
        capacity_sats: Option<u64>,
    ) -> Result<(), GossipError> {
        let mut data = self.data.write();
        let relayable = full.filter(|m| m.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY);
        let cold = ChannelCold {
            features: c.features.clone(),
            capacity_sats,
            received_time: data.last_known_time,
            announcement: relayable.map(|m| Box::new(m.clone())),
            updates: [None, None],
            relay_budget: Default::default(),
        };
        let (node_one, node_two) = (NodeId::from_pubkey(&c.node_id_1), NodeId::from_pubkey(&c.node_id_2));
        // A UTXO-confirmed announcement replaces a stale one between other nodes.
        data.add_channel(c.short_channel_id.0, node_one, node_two, cold, capacity_sats.is_some())
    }

    /// Finishes every announcement whose UTXO lookup has answered. Called by
    /// [`UtxoFuture::resolve`].
    pub fn process_resolved_utxo_checks(&self) {
        let resolved: Vec<(PendingCheck, Result<TxOut, UtxoLookupError>)> = {
            let mut pending = self.pending_checks.lock();
            let mut done = Vec::new();
            let mut i = 0;
            while i < pending.len() {
                if let Some(result) = pending[i].future.result() {
                    done.push((pending.swap_remove(i), result));
                } else {
                    i += 1;
                }
            }
            done
        };
        for (check, result) in resolved {
            // A failed lookup drops the announcement and the updates held for it.
            let Ok(capacity) = check_utxo(&check.contents, result) else { continue };
            if self.insert_announced(&check.contents, check.full.as_ref(), Some(capacity)).is_err() {
                continue;
            }
            let mut broadcasts = Vec::new();
            for held in check.updates.into_iter().flatten() {
                // Checked again now that the capacity is known (and against
                // anything that arrived in between).
                let full = held
                    .signature
                    .map(|signature| ChannelUpdate { signature, contents: held.contents.clone() });
                let applied = self.update_channel_internal(&held.contents, full.as_ref());
                if let (Ok(_), Some(full)) = (applied, full) {
                    if full.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY {
                        broadcasts.push(GossipMessage::ChannelUpdate(full));
                    }
                }
            }
            // BOLT 7: an announcement goes out only with (before) an update;
            // with none held, it goes before the channel's first update.
            if let (Some(full), false) = (check.full, broadcasts.is_empty()) {
                broadcasts.insert(0, GossipMessage::ChannelAnnouncement(full));
            }
            self.pending_broadcasts.lock().extend(broadcasts);
        }
    }

    /// Gossip accepted after an asynchronous UTXO lookup, to be broadcast:
    /// each announcement (only if an update was held for it), followed by the
    /// updates that were held for it. The list is cleared.
    pub fn take_pending_broadcasts(&self) -> Vec<GossipMessage> {
        core::mem::take(&mut *self.pending_broadcasts.lock())
    }

    /// Number of `channel_update`s held for announcements that wait for a UTXO
    /// lookup.
    pub fn held_update_count(&self) -> usize {
        self.pending_checks.lock().iter().map(|p| p.updates.iter().flatten().count()).sum()
    }

    /// Holds an update for a channel whose announcement waits for its UTXO
    /// lookup, after checking its signature against the announced node of its
    /// direction. Returns `None` if no announcement for the channel is pending.
    fn hold_update_for_pending(
        &self, c: &UnsignedChannelUpdate, full: Option<&ChannelUpdate>, mode: UpdateMode,
    ) -> Option<GossipError> {
        let mut pending = self.pending_checks.lock();
        let check = pending.iter_mut().find(|p| p.contents.short_channel_id == c.short_channel_id)?;
        let direction = c.direction() as usize;
        if let Some(held) = &check.updates[direction] {
            if c.timestamp < held.contents.timestamp {
                return Some(GossipError::OlderUpdate);
            }
            if c.timestamp == held.contents.timestamp {
                return Some(GossipError::DuplicateUpdate);
            }
        }
        if let Some(full) = full {
            let key = if direction == 0 { &check.contents.node_id_1 } else { &check.contents.node_id_2 };
            if let Err(e) = self.verify(c.signing_hash(), &full.signature, key) {
                return Some(e);
            }
        }
        if mode == UpdateMode::Apply {
            check.updates[direction] =
                Some(HeldUpdate { contents: c.clone(), signature: full.map(|f| f.signature) });
        }
        Some(GossipError::UtxoLookupPending)
    }

    /// Number of announcements waiting for a UTXO lookup.
    pub fn pending_utxo_check_count(&self) -> usize {
        self.pending_checks.lock().len()
    }

    /// Drops the announcements whose lookup dropped its [`UtxoFuture`]
    /// without answering (they would wait for ever); returns how many are
    /// left waiting.
    pub fn drop_abandoned_utxo_checks(&self) -> usize {
        let mut pending = self.pending_checks.lock();
        pending.retain(|p| !p.future.is_abandoned());
        pending.len()
    }

    /// Checks a `channel_update` (chain, known channel, newer timestamp,
    /// `htlc_maximum_msat` within capacity, the signature of the node of its
    /// direction) and applies it.
    ///
    /// An update for a channel whose announcement waits for an asynchronous
    /// UTXO lookup is checked as far as it can be (signature, newer than the
    /// one held) and held, newest per direction
    /// ([`MAX_HELD_UPDATES_PER_PENDING_CHANNEL`]), with
    /// [`GossipError::UtxoLookupPending`]; it is applied (and queued for
    /// broadcast) when the lookup confirms the channel.
    pub fn update_channel(&self, msg: &ChannelUpdate) -> Result<(), GossipError> {
        self.update_channel_internal(&msg.contents, Some(msg)).map(|_| ())
    }

    /// [`Self::update_channel`], telling whether the update is the first
    /// signed update kept for its channel (so its announcement, which BOLT 7
    /// holds back until then, is now to be relayed before it).
    pub(crate) fn update_channel_reporting_first(&self, msg: &ChannelUpdate) -> Result<bool, GossipError> {
        self.update_channel_internal(&msg.contents, Some(msg))
    }

    /// Applies a `channel_update` whose signature the caller already trusts
    /// (our own channels, rapid gossip sync, test data); every other check is
    /// made.
    pub fn update_channel_unsigned(&self, msg: &UnsignedChannelUpdate) -> Result<(), GossipError> {
        self.update_channel_internal(msg, None).map(|_| ())
    }

    /// Checks a signed update without applying it, and without holding it
    /// for an announcement whose UTXO lookup is pending.
    pub fn verify_channel_update(&self, msg: &ChannelUpdate) -> Result<(), GossipError> {
        self.check_update(&msg.contents, Some(msg), UpdateMode::Verify).map(|_| ())
    }

    fn check_update(
        &self, c: &UnsignedChannelUpdate, full: Option<&ChannelUpdate>, mode: UpdateMode,
    ) -> Result<(u32, usize), GossipError> {
        if c.chain_hash != self.chain_hash {
            return Err(GossipError::WrongChain);
        }
        if c.message_flags & MESSAGE_FLAG_DONT_FORWARD != 0 {
            return Err(GossipError::DontForward);
        }
        let direction = c.direction() as usize;
        let (idx, node_id) = {
            let data = self.data.read();
            // Once a time is known, an update older than the pruning limit
            // would be pruned at once: refused (and so never relayed).
            let now = data.last_known_time;
            if now > 0 && u64::from(c.timestamp) < now.saturating_sub(STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS) {
                return Err(GossipError::StaleUpdate);
            }
            let Some(&idx) = data.channel_lookup.get(&c.short_channel_id.0) else {
                if data.removed_channels.contains_key(&c.short_channel_id.0) {
                    return Err(GossipError::FundingSpent);
                }
                drop(data);
                // Held (bounded) if its announcement waits for a UTXO lookup.
                return Err(self
                    .hold_update_for_pending(c, full, mode)
                    .unwrap_or(GossipError::UnknownChannel));
            };
            let hot = &data.channels[idx as usize];
            let current = hot.dirs[direction];
            if current.is_present() {
                if c.timestamp < current.last_update {
                    return Err(GossipError::OlderUpdate);
                }
                if c.timestamp == current.last_update {
                    return Err(GossipError::DuplicateUpdate);
                }
            }
            if c.htlc_maximum_msat > hot.capacity_msat {
                return Err(GossipError::HtlcMaximumAboveCapacity);
            }
            (idx, data.nodes[hot.nodes[direction] as usize].node_id)
        };
        if let Some(full) = full {
            let key = node_id.as_pubkey().map_err(|_| GossipError::InvalidKey)?;
            self.verify(c.signing_hash(), &full.signature, &key)?;
        }
        Ok((idx, direction))
    }

    /// Applies an update; true if it is the first signed (relayable) update
    /// kept for its channel.
    fn update_channel_internal(
        &self, c: &UnsignedChannelUpdate, full: Option<&ChannelUpdate>,
    ) -> Result<bool, GossipError> {
        let (idx, direction) = self.check_update(c, full, UpdateMode::Apply)?;
        let mut data = self.data.write();
        // The channel may have changed while the lock was released.
        if data.channel_lookup.get(&c.short_channel_id.0) != Some(&idx) {
            return Err(GossipError::UnknownChannel);
        }
        let had_signed_update = data.cold[idx as usize].updates.iter().any(Option::is_some);
        let message = full.filter(|m| m.contents.excess_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY);
        let keeps_message = message.is_some();
        data.apply_update(
            idx,
            direction,
            DirectedPolicy::from_update(c),
            message.map(|m| Box::new(m.clone())),
        )?;
        Ok(keeps_message && !had_signed_update)
    }

    /// The signed announcement of a channel and its signed updates, if we
    /// keep the announcement.
    pub(crate) fn signed_channel_messages(
        &self, short_channel_id: u64,
    ) -> Option<(ChannelAnnouncement, Vec<ChannelUpdate>)> {
        let data = self.data.read();
        let idx = *data.channel_lookup.get(&short_channel_id)?;
        let cold = &data.cold[idx as usize];
        let ann = cold.announcement.as_deref()?.clone();
        Some((ann, cold.updates.iter().flatten().map(|u| (**u).clone()).collect()))
    }

    /// The newest timestamp of any channel update or node announcement the
    /// graph ever held (see [`GraphData::newest_timestamp`]).
    pub(crate) fn newest_timestamp(&self) -> u32 {
        self.data.read().newest_timestamp
    }

    /// Checks a `node_announcement` (known node, newer timestamp, signature)
    /// and applies it.
    pub fn update_node_from_announcement(&self, msg: &NodeAnnouncement) -> Result<(), GossipError> {
        self.update_node_internal(&msg.contents, Some(msg))
    }

    /// Applies a `node_announcement` whose signature the caller already trusts.
    pub fn update_node_from_unsigned_announcement(
        &self, msg: &UnsignedNodeAnnouncement,
    ) -> Result<(), GossipError> {
        self.update_node_internal(msg, None)
    }

    fn update_node_internal(
        &self, c: &UnsignedNodeAnnouncement, full: Option<&NodeAnnouncement>,
    ) -> Result<(), GossipError> {
        let node_id = NodeId::from_pubkey(&c.node_id);
        {
            let data = self.data.read();
            let idx = data.node_index(&node_id).ok_or(GossipError::UnknownNode)?;
            if let Some(current) = &data.nodes[idx as usize].announcement {
                if c.timestamp < current.last_update {
                    return Err(GossipError::OlderUpdate);
                }
                if c.timestamp == current.last_update {
                    return Err(GossipError::DuplicateUpdate);
                }
            }
        }
        if let Some(full) = full {
            self.verify(c.signing_hash(), &full.signature, &c.node_id)?;
        }
        let relayable = full.filter(|m| {
            m.contents.excess_data.len() + m.contents.excess_address_data.len() <= MAX_EXCESS_BYTES_FOR_RELAY
        });
        let info = NodeAnnouncementInfo {
            features: c.features.clone(),
            last_update: c.timestamp,
            rgb: c.rgb,
            alias: c.alias,
            addresses: c.addresses.clone(),
            announcement_message: relayable.cloned(),
        };
        self.set_node_announcement(&node_id, info)
    }

    /// Stores a node's announcement data if it is newer than what we have
    /// (trusted sources such as rapid gossip sync use this directly).
    pub fn set_node_announcement(
        &self, node_id: &NodeId, info: NodeAnnouncementInfo,
    ) -> Result<(), GossipError> {
        let mut data = self.data.write();
        let idx = data.node_index(node_id).ok_or(GossipError::UnknownNode)?;
        let node = &mut data.nodes[idx as usize];
        if let Some(current) = &node.announcement {
            if info.last_update < current.last_update {
                return Err(GossipError::OlderUpdate);
            }
            if info.last_update == current.last_update {
                return Err(GossipError::DuplicateUpdate);
            }
        }
        let timestamp = info.last_update;
        node.announcement = Some(Box::new(info));
        data.newest_timestamp = data.newest_timestamp.max(timestamp);
        Ok(())
    }

    /// The funding output of `short_channel_id` was spent: the channel is
    /// closed and removed, and late gossip for it is refused for a week after
    /// `now_secs`.
    pub fn channel_spent(&self, short_channel_id: u64, now_secs: u64) {
        let mut data = self.data.write();
        if let Some(&idx) = data.channel_lookup.get(&short_channel_id) {
            data.remove_channel_at(idx);
        }
        data.removed_channels.insert(short_channel_id, now_secs);
    }

    /// Removes a channel (for example one that failed permanently) without
    /// remembering it as spent.
    pub fn remove_channel(&self, short_channel_id: u64) {
        let mut data = self.data.write();
        if let Some(&idx) = data.channel_lookup.get(&short_channel_id) {
            data.remove_channel_at(idx);
        }
    }

    /// Prunes with the current time `now_secs` (UNIX seconds) passed in:
    /// directions not updated for [`STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS`] are
    /// dropped, channels with no direction left whose announcement is as old
    /// are removed, nodes left without channels go with them, and spent
    /// channels are forgotten after [`REMOVED_CHANNELS_RETENTION_SECS`].
    ///
    /// A channel whose arrival time is unknown (0) is stamped with `now_secs`
    /// instead, so it gets its full two weeks. Announcements waiting for a
    /// UTXO lookup that was dropped, or that has not answered within
    /// [`PENDING_UTXO_CHECK_TIMEOUT_SECS`], are dropped.
    pub fn remove_stale_channels_and_tracking_with_time(&self, now_secs: u64) {
        let mut data = self.data.write();
        data.last_known_time = data.last_known_time.max(now_secs);
        let min_time = now_secs.saturating_sub(STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS);
        let indices: Vec<u32> = data.channel_lookup.values().copied().collect();
        for idx in indices {
            let i = idx as usize;
            for dir in 0..2 {
                let policy = data.channels[i].dirs[dir];
                if policy.is_present() && (policy.last_update as u64) < min_time {
                    data.set_policy(idx, dir, DirectedPolicy::default());
                    data.cold[i].updates[dir] = None;
                }
            }
            if data.cold[i].received_time == 0 {
                data.cold[i].received_time = now_secs;
            }
            let no_direction_left = !data.channels[i].dirs.iter().any(|d| d.is_present());
            if no_direction_left && data.cold[i].received_time < min_time {
                data.remove_channel_at(idx);
            }
        }
        data.removed_channels.retain(|_, removed_at| {
            if *removed_at == 0 {
                *removed_at = now_secs;
            }
            removed_at.saturating_add(REMOVED_CHANNELS_RETENTION_SECS) > now_secs
        });
        drop(data);
        // Lookups that were lost or never answer free their slots.
        self.pending_checks.lock().retain_mut(|p| {
            if p.added_at == 0 {
                p.added_at = now_secs;
            }
            !p.future.is_abandoned() && p.added_at.saturating_add(PENDING_UTXO_CHECK_TIMEOUT_SECS) > now_secs
        });
    }

    /// For an initial sync: the first channel with `short_channel_id >=
    /// starting_scid` that has a signed announcement and at least one signed
    /// update, with its signed updates. A channel without a signed update is
    /// skipped (BOLT 7, `gossip_timestamp_filter` receiver: "If a
    /// `channel_announcement` has no corresponding `channel_update`s: MUST NOT
    /// send the `channel_announcement`.").
    pub fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        let data = self.data.read();
        data.channel_lookup.range(starting_scid..).find_map(|(_, idx)| {
            let cold = &data.cold[*idx as usize];
            if cold.updates.iter().all(Option::is_none) {
                return None;
            }
            let ann = cold.announcement.as_deref()?.clone();
            Some((ann, cold.updates[0].as_deref().cloned(), cold.updates[1].as_deref().cloned()))
        })
    }

    /// For an initial sync: the first node after `starting_point` (or the
    /// first of all) that has a signed announcement.
    pub fn get_next_node_announcement(&self, starting_point: Option<&NodeId>) -> Option<NodeAnnouncement> {
        use core::ops::Bound;
        let data = self.data.read();
        let lower = match starting_point {
            Some(id) => Bound::Excluded(*id),
            None => Bound::Unbounded,
        };
        data.node_lookup.range((lower, Bound::Unbounded)).find_map(|(_, idx)| {
            data.nodes[*idx as usize].announcement.as_ref()?.announcement_message.clone()
        })
    }
}

fn check_utxo(
    c: &UnsignedChannelAnnouncement, result: Result<TxOut, UtxoLookupError>,
) -> Result<u64, GossipError> {
    let txout = result.map_err(GossipError::UtxoLookupFailed)?;
    if txout.script_pubkey != funding_script_pubkey(&c.bitcoin_key_1, &c.bitcoin_key_2) {
        return Err(GossipError::UtxoScriptMismatch);
    }
    Ok(txout.value.to_sat())
}

impl ReadOnlyNetworkGraph<'_> {
    pub(crate) fn data(&self) -> &GraphData {
        &self.data
    }

    /// The chain of the graph.
    pub fn chain_hash(&self) -> ChainHash {
        self.chain_hash
    }

    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        self.data.channel_lookup.len()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.data.node_lookup.len()
    }

    /// A channel, by short channel id.
    pub fn channel(&self, short_channel_id: u64) -> Option<ChannelInfo> {
        self.data.channel_lookup.get(&short_channel_id).map(|idx| self.data.channel_info(*idx))
    }

    /// Every short channel id, ascending.
    pub fn short_channel_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.data.channel_lookup.keys().copied()
    }

    /// A node, by id.
    pub fn node(&self, node_id: &NodeId) -> Option<NodeInfo> {
        let idx = self.data.node_index(node_id)?;
        let node = &self.data.nodes[idx as usize];
        Some(NodeInfo {
            node_id: *node_id,
            channels: node.inbound.iter().map(|e| e.scid).collect(),
            announcement_info: node.announcement.as_deref().cloned(),
        })
    }

    /// Every node id, ascending.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.data.node_lookup.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::types::ShortChannelId;
    use crate::util::ser::{decode_exact, Writeable};

    impl GraphData {
        /// Every index map, adjacency list and policy copy agrees with the
        /// channel array.
        fn assert_consistent(&self) {
            let mut seen = 0;
            for (scid, idx) in &self.channel_lookup {
                let hot = &self.channels[*idx as usize];
                assert_eq!(hot.scid, *scid);
                for dir in 0..2 {
                    let (src, dst) = (hot.nodes[dir], hot.nodes[1 - dir]);
                    let node = &self.nodes[dst as usize];
                    assert!(node.live);
                    let edges: Vec<&InEdge> = node.inbound.iter().filter(|e| e.chan == *idx).collect();
                    assert_eq!(edges.len(), 1, "scid {scid} dir {dir}");
                    let e = edges[0];
                    assert_eq!(
                        (e.src, e.scid, e.capacity_msat, e.policy),
                        (src, *scid, hot.capacity_msat, hot.dirs[dir])
                    );
                }
                seen += 1;
            }
            let edges: usize = self.nodes.iter().filter(|n| n.live).map(|n| n.inbound.len()).sum();
            assert_eq!(edges, 2 * seen);
            for (id, idx) in &self.node_lookup {
                let node = &self.nodes[*idx as usize];
                assert!(node.live && node.node_id == *id && !node.inbound.is_empty());
            }
            assert_eq!(self.nodes.iter().filter(|n| n.live).count(), self.node_lookup.len());
        }
    }

    fn id(i: u64) -> NodeId {
        let mut b = [2u8; 33];
        b[25..33].copy_from_slice(&i.to_be_bytes());
        NodeId::from_array(b)
    }

    #[test]
    fn random_operations_keep_the_graph_consistent() {
        let graph = NetworkGraph::new(ChainHash::BITCOIN);
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..5_000u64 {
            // Ten minutes per step: 5,000 steps span about five weeks.
            let now = 1_600_000_000 + step * 600;
            let scid = next() % 300;
            match next() % 100 {
                0..=44 => {
                    let (a, b) = (next() % 40, next() % 40);
                    if a != b {
                        let (a, b) = if id(a) < id(b) { (id(a), id(b)) } else { (id(b), id(a)) };
                        let cap = (next() % 2 == 0).then_some(next() % 10_000_000 + 1);
                        let _ = graph.add_channel_from_partial_announcement(
                            scid,
                            now,
                            ChannelFeatures::empty(),
                            a,
                            b,
                            cap,
                        );
                    }
                }
                45..=89 => {
                    let upd = UnsignedChannelUpdate {
                        chain_hash: ChainHash::BITCOIN,
                        short_channel_id: ShortChannelId(scid),
                        timestamp: now as u32,
                        message_flags: 1,
                        channel_flags: (next() % 4) as u8,
                        cltv_expiry_delta: (next() % 200) as u16,
                        htlc_minimum_msat: next() % 1000,
                        fee_base_msat: (next() % 1000) as u32,
                        fee_proportional_millionths: (next() % 1000) as u32,
                        htlc_maximum_msat: next() % 1_000_000_000,
                        excess_data: Vec::new(),
                    };
                    let _ = graph.update_channel_unsigned(&upd);
                }
                90..=94 => graph.channel_spent(scid, now),
                95..=96 => graph.remove_channel(scid),
                _ => graph.remove_stale_channels_and_tracking_with_time(now),
            }
            if step % 250 == 0 {
                graph.data.read().assert_consistent();
            }
        }
        graph.data.read().assert_consistent();
        let ro = graph.read_only();
        assert!(
            ro.channel_count() > 50 && ro.node_count() > 20,
            "{} {}",
            ro.channel_count(),
            ro.node_count()
        );
        drop(ro);
        let back: NetworkGraph = decode_exact(&graph.encode()).unwrap();
        back.data.read().assert_consistent();
        assert_eq!(back.encode(), graph.encode());
    }
}
