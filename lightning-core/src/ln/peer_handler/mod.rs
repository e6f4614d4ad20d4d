//! `PeerManager`: every connection's transport, the `init` exchange, liveness
//! and back-pressure, and the routing of decoded messages to the handlers.
//!
//! It does no I/O. The caller (for example `lightning-net-tokio`) creates a
//! [`SocketDescriptor`] per connection, announces it with
//! [`PeerManager::new_outbound_connection`] or
//! [`PeerManager::new_inbound_connection`], feeds every byte it reads to
//! [`PeerManager::read_event`], calls [`PeerManager::process_events`] when
//! handlers may have something to send and [`PeerManager::timer_tick_occurred`]
//! about every ten seconds. Writes go out through
//! [`SocketDescriptor::send_data`].
//!
//! Memory per peer is bounded: the read buffer holds at most one frame
//! (65535 + 16 bytes); once the outbound queue holds more than
//! [`OUTBOUND_BUFFER_LIMIT_READ_PAUSE`] messages `read_event` asks the caller to
//! stop reading, gossip to forward is dropped above
//! [`OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP`] queued messages, and pings are no
//! longer answered once [`OUTBOUND_BUFFER_HARD_LIMIT_BYTES`] are queued.
//! Answers to a peer's gossip queries (and our graph walked to a peer that
//! sent `gossip_timestamp_filter`) are pulled from the routing handler
//! ([`RoutingMessageHandler::get_next_query_replies`]) only while the peer's
//! queue holds fewer than [`OUTBOUND_BUFFER_LIMIT_READ_PAUSE`] messages and
//! [`OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES`] bytes, so however many queries a
//! peer sends, we hold at most about that plus one message for it.

mod peer;

pub use peer::MAX_GRAPH_ITEMS_VISITED_PER_FLUSH;
pub use peer::{
    MAX_PING_TICKS_WHILE_ACTIVE, MAX_PING_TICKS_WHILE_PAUSED, OUTBOUND_BUFFER_HARD_LIMIT_BYTES,
    OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP, OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES,
    OUTBOUND_BUFFER_LIMIT_READ_PAUSE,
};

use crate::events::MessageSendEvent;
use crate::ln::features::InitFeatures;
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::{
    self, ChannelMessageHandler, CustomMessageHandler, DecodeError, ErrorAction, Init, LightningError,
    RoutingMessageHandler, SocketAddress,
};
use crate::ln::peer_channel_encryptor::{NoiseError, PeerChannelEncryptor, ACT_ONE_LEN};
use crate::ln::types::ChannelId;
use crate::ln::wire::{self, CustomMessage, Message, Type};
use crate::prelude::*;
use crate::sign::{EntropySource, NodeSigner, Recipient};
use crate::sync::{Mutex, RwLock};
use crate::util::logger::{Level, Logger};
use crate::util::ser::Writeable;
use crate::{log_debug, log_trace};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use core::fmt;
use core::hash::Hash;
use hashbrown::HashMap;
use peer::{GossipCursor, Peer, ReadState};

/// A connection as the caller's I/O layer sees it.
///
/// Two descriptors are equal if and only if they are the same connection.
/// Implementations must not call back into the `PeerManager` from these
/// methods.
pub trait SocketDescriptor: Eq + Hash + Clone {
    /// Tries to send `data`; returns how many bytes were taken (possibly fewer
    /// than offered, possibly 0). When fewer are taken, the caller later calls
    /// [`PeerManager::write_buffer_space_avail`]. `resume_read` asks the I/O
    /// layer to start reading again if it had paused.
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize;
    /// Closes the connection. The caller need not call
    /// [`PeerManager::socket_disconnected`] afterwards.
    fn disconnect_socket(&mut self);
}

/// Why a connection was (or must be) closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The descriptor is not known to the `PeerManager`.
    UnknownDescriptor,
    /// A descriptor was registered twice.
    DuplicateDescriptor,
    /// The BOLT 8 transport failed.
    Transport(NoiseError),
    /// A message did not decode.
    Decode(DecodeError),
    /// The peer sent something other than `init` first, or `init` twice.
    BadInit,
    /// The peer's features cannot work with ours.
    IncompatibleFeatures(String),
    /// The peer's `networks` has none of our chains.
    NoCommonNetwork,
    /// A handler refused the peer.
    HandlerRefused,
    /// We are already connected to this node.
    DuplicateConnection,
    /// The peer did not answer our ping in time.
    PingTimeout,
    /// The handshake or `init` did not finish in time.
    HandshakeTimeout,
    /// The peer sent an `error` for all channels.
    PeerSentError,
    /// A handler asked to disconnect.
    HandlerAction,
    /// The caller asked to disconnect.
    Requested,
    /// The socket closed.
    SocketClosed,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::UnknownDescriptor => f.write_str("unknown connection"),
            DisconnectReason::DuplicateDescriptor => f.write_str("connection registered twice"),
            DisconnectReason::Transport(e) => write!(f, "transport failure: {e}"),
            DisconnectReason::Decode(e) => write!(f, "undecodable message: {e}"),
            DisconnectReason::BadInit => f.write_str("init missing or repeated"),
            DisconnectReason::IncompatibleFeatures(why) => write!(f, "incompatible features: {why}"),
            DisconnectReason::NoCommonNetwork => f.write_str("no common network"),
            DisconnectReason::HandlerRefused => f.write_str("refused by a message handler"),
            DisconnectReason::DuplicateConnection => f.write_str("already connected to this node"),
            DisconnectReason::PingTimeout => f.write_str("ping not answered"),
            DisconnectReason::HandshakeTimeout => f.write_str("handshake not completed in time"),
            DisconnectReason::PeerSentError => f.write_str("peer sent an error for all channels"),
            DisconnectReason::HandlerAction => f.write_str("disconnect requested by a handler"),
            DisconnectReason::Requested => f.write_str("disconnect requested"),
            DisconnectReason::SocketClosed => f.write_str("socket closed"),
        }
    }
}

/// `read_event` or `write_buffer_space_avail` failed: the connection is over.
/// The peer has already been forgotten; the caller closes the socket and need
/// not call [`PeerManager::socket_disconnected`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerHandleError {
    /// Why.
    pub reason: DisconnectReason,
}

impl fmt::Display for PeerHandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PeerHandleError {}

impl From<DisconnectReason> for PeerHandleError {
    fn from(reason: DisconnectReason) -> Self {
        PeerHandleError { reason }
    }
}

/// A connected peer, as [`PeerManager::list_peers`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDetails {
    /// The peer's node id.
    pub counterparty_node_id: PublicKey,
    /// The peer's network address, if the connection has one.
    pub socket_address: Option<SocketAddress>,
    /// The features the peer sent in `init`.
    pub init_features: InitFeatures,
    /// True if the peer connected to us.
    pub is_inbound_connection: bool,
    /// How many `pong`s the peer has sent on this connection.
    pub pongs_received: u64,
}

/// A peer's connection began or ended, as [`PeerManager::get_and_clear_peer_events`]
/// reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// A peer finished the `init` exchange.
    Connected(PeerDetails),
    /// A peer that had finished `init` is gone.
    Disconnected {
        /// The peer.
        counterparty_node_id: PublicKey,
        /// Why.
        reason: DisconnectReason,
    },
    /// A connection whose node id was known (outbound from the start, inbound
    /// after act three) ended before the `init` exchange completed: for
    /// example the transport failed, the networks or features did not match,
    /// or the peer closed the socket after our `init`.
    ConnectionFailed {
        /// The peer we were connecting to (or that connected to us).
        counterparty_node_id: PublicKey,
        /// Why.
        reason: DisconnectReason,
    },
}

/// Peer events kept for a caller that does not drain them; older ones are
/// dropped first.
pub const MAX_PENDING_PEER_EVENTS: usize = 1024;

/// The handlers a `PeerManager` delivers messages to.
pub struct MessageHandler<CM, RM, CMH> {
    /// Channel messages and `error`s.
    pub chan_handler: CM,
    /// Gossip.
    pub route_handler: RM,
    /// Custom messages.
    pub custom_message_handler: CMH,
}

/// Manages every peer connection of a node. See the [module docs](self).
pub struct PeerManager<D: SocketDescriptor, CM, RM, CMH, K, L> {
    handlers: MessageHandler<CM, RM, CMH>,
    peers: RwLock<HashMap<D, Mutex<Peer>>>,
    node_id_to_descriptor: Mutex<HashMap<PublicKey, D>>,
    event_processing: Mutex<()>,
    keys: K,
    logger: L,
    secp_ctx: Secp256k1<All>,
    chain_hash: ChainHash,
    our_node_id: PublicKey,
    peer_events: Mutex<VecDeque<PeerEvent>>,
}

/// What to do with a peer after handling one of its messages.
enum Next {
    Continue,
    Disconnect(DisconnectReason),
}

impl<D, CM, RM, CMH, K, L> PeerManager<D, CM, RM, CMH, K, L>
where
    D: SocketDescriptor,
    CM: ChannelMessageHandler,
    RM: RoutingMessageHandler,
    CMH: CustomMessageHandler,
    K: NodeSigner + EntropySource,
    L: Logger,
{
    /// Creates a manager for a node on `chain_hash` whose node key is held by
    /// `keys`. Fails if the signer cannot give our node id.
    pub fn new(
        handlers: MessageHandler<CM, RM, CMH>, chain_hash: ChainHash, keys: K, logger: L,
    ) -> Result<Self, crate::sign::SignError> {
        let our_node_id = keys.get_node_id(Recipient::Node)?;
        Ok(PeerManager {
            handlers,
            peers: RwLock::new(HashMap::new()),
            node_id_to_descriptor: Mutex::new(HashMap::new()),
            event_processing: Mutex::new(()),
            keys,
            logger,
            secp_ctx: Secp256k1::new(),
            chain_hash,
            our_node_id,
            peer_events: Mutex::new(VecDeque::new()),
        })
    }

    /// Our node id.
    pub fn our_node_id(&self) -> PublicKey {
        self.our_node_id
    }

    /// The handlers this manager delivers to.
    pub fn handlers(&self) -> &MessageHandler<CM, RM, CMH> {
        &self.handlers
    }

    fn fresh_ephemeral_key(&self) -> SecretKey {
        loop {
            // A uniformly random 32-byte string is a valid key except with
            // probability ~2^-128.
            if let Ok(key) = SecretKey::from_slice(&self.keys.get_secure_random_bytes()) {
                return key;
            }
        }
    }

    /// Starts an outbound connection to `their_node_id` on `descriptor`.
    /// Returns act one, which the caller must send before anything else.
    /// `remote_network_address` is where we connected to; it is echoed in our
    /// `init` if it is publicly routable.
    pub fn new_outbound_connection(
        &self, their_node_id: PublicKey, descriptor: D, remote_network_address: Option<SocketAddress>,
    ) -> Result<Vec<u8>, PeerHandleError> {
        let mut encryptor = PeerChannelEncryptor::new_outbound(their_node_id, self.fresh_ephemeral_key());
        let act_one = encryptor
            .get_act_one(&self.secp_ctx)
            .map_err(|e| PeerHandleError::from(DisconnectReason::Transport(e)))?;
        let peer = Peer::new(encryptor, Some(their_node_id), remote_network_address, false);
        let mut peers = self.peers.write();
        if peers.contains_key(&descriptor) {
            return Err(DisconnectReason::DuplicateDescriptor.into());
        }
        peers.insert(descriptor, Mutex::new(peer));
        Ok(act_one.to_vec())
    }

    /// Registers an inbound connection on `descriptor`, which came from
    /// `remote_network_address`. The peer speaks first.
    pub fn new_inbound_connection(
        &self, descriptor: D, remote_network_address: Option<SocketAddress>,
    ) -> Result<(), PeerHandleError> {
        let encryptor = PeerChannelEncryptor::new_inbound(&self.our_node_id);
        let peer = Peer::new(encryptor, None, remote_network_address, true);
        let mut peers = self.peers.write();
        if peers.contains_key(&descriptor) {
            return Err(DisconnectReason::DuplicateDescriptor.into());
        }
        peers.insert(descriptor, Mutex::new(peer));
        Ok(())
    }

    /// Feeds bytes read from `descriptor`. Returns `Ok(true)` when the caller
    /// should stop reading from this socket until [`SocketDescriptor::send_data`]
    /// is called with `resume_read`. On `Err` the peer is gone: close the
    /// socket.
    pub fn read_event(&self, descriptor: &mut D, data: &[u8]) -> Result<bool, PeerHandleError> {
        match self.do_read_event(descriptor, data) {
            Ok(pause) => Ok(pause),
            Err(reason) => {
                log_debug!(self.logger, "Disconnecting peer: {}", reason);
                if matches!(
                    reason,
                    DisconnectReason::NoCommonNetwork | DisconnectReason::IncompatibleFeatures(_)
                ) {
                    self.send_farewell_warning(descriptor, &reason);
                }
                self.forget_peer(descriptor, false, reason.clone());
                Err(reason.into())
            }
        }
    }

    fn do_read_event(&self, descriptor: &mut D, data: &[u8]) -> Result<bool, DisconnectReason> {
        let peers = self.peers.read();
        let peer_mutex = peers.get(descriptor).ok_or(DisconnectReason::UnknownDescriptor)?;
        let mut peer = peer_mutex.lock();
        let mut pos = 0;
        while pos < data.len() {
            let want = peer.read_state.len() - peer.read_buffer.len();
            let take = want.min(data.len() - pos);
            peer.read_buffer.extend_from_slice(&data[pos..pos + take]);
            pos += take;
            if peer.read_buffer.len() < peer.read_state.len() {
                break;
            }
            let mut unit = core::mem::take(&mut peer.read_buffer);
            match peer.read_state {
                ReadState::Act(_) => self.process_act(descriptor, &mut peer, &unit)?,
                ReadState::Header => {
                    let len =
                        peer.encryptor.decrypt_length_header(&unit).map_err(DisconnectReason::Transport)?;
                    peer.read_state = ReadState::body(len);
                }
                ReadState::Body(_) => {
                    peer.read_state = ReadState::Header;
                    let plaintext = peer
                        .encryptor
                        .decrypt_message_in_place(&mut unit)
                        .map_err(DisconnectReason::Transport)?;
                    peer.received_message_since_tick = true;
                    let message = wire::read(&mut &plaintext[..], &self.handlers.custom_message_handler);
                    match self.handle_decoded(&mut peer, message)? {
                        Next::Continue => {}
                        Next::Disconnect(reason) => return Err(reason),
                    }
                }
            }
            // Keep the allocation for the next unit.
            unit.clear();
            peer.read_buffer = unit;
        }
        self.flush(descriptor, &mut peer);
        let pause = peer.should_pause_read() || self.paused_for_gossip_backlog(&mut peer);
        peer.read_paused = pause;
        Ok(pause)
    }

    /// Tells a peer whose `init` we refuse why, in a `warning` (after our own
    /// `init`, already queued), so that its operator sees the reason. Not an
    /// `error`: one for all channels makes the peer fail every channel it
    /// has with us (BOLT 1), and a feature mismatch is no reason for that.
    /// Best effort: whatever the socket takes now.
    fn send_farewell_warning(&self, descriptor: &mut D, reason: &DisconnectReason) {
        let peers = self.peers.read();
        let Some(peer) = peers.get(descriptor) else { return };
        let mut peer = peer.lock();
        let msg = msgs::WarningMessage::new(ChannelId::ALL_CHANNELS, &reason.to_string());
        self.enqueue(&mut peer, &msg);
        self.flush(descriptor, &mut peer);
    }

    fn process_act(&self, descriptor: &D, peer: &mut Peer, act: &[u8]) -> Result<(), DisconnectReason> {
        let transport = DisconnectReason::Transport;
        if peer.inbound {
            if peer.read_state == ReadState::Act(ACT_ONE_LEN) {
                let act_two = peer
                    .encryptor
                    .process_act_one(act, &self.keys, self.fresh_ephemeral_key(), &self.secp_ctx)
                    .map_err(transport)?;
                peer.queue_raw(act_two.to_vec());
                peer.read_state = ReadState::Act(peer.encryptor.next_read_len());
            } else {
                let their_node_id = peer.encryptor.process_act_three(act).map_err(transport)?;
                peer.their_node_id = Some(their_node_id);
                self.handshake_complete(descriptor, peer, their_node_id)?;
            }
        } else {
            let act_three = peer.encryptor.process_act_two(act, &self.keys).map_err(transport)?;
            peer.queue_raw(act_three.to_vec());
            let their_node_id = peer.their_node_id.ok_or(DisconnectReason::UnknownDescriptor)?;
            self.handshake_complete(descriptor, peer, their_node_id)?;
        }
        Ok(())
    }

    /// The transport is up: claim the node id and send our `init`.
    fn handshake_complete(
        &self, descriptor: &D, peer: &mut Peer, their_node_id: PublicKey,
    ) -> Result<(), DisconnectReason> {
        peer.read_state = ReadState::Header;
        {
            let mut ids = self.node_id_to_descriptor.lock();
            if ids.contains_key(&their_node_id) {
                return Err(DisconnectReason::DuplicateConnection);
            }
            ids.insert(their_node_id, descriptor.clone());
        }
        log_debug!(self.logger, peer = Some(their_node_id), "Handshake complete, sending init");
        let init = Init {
            features: self.our_init_features(their_node_id),
            networks: Some(self.our_chain_hashes()),
            remote_network_address: peer.their_socket_address.clone().filter(is_publicly_routable),
        };
        self.enqueue(peer, &init);
        Ok(())
    }

    fn our_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
        self.handlers
            .chan_handler
            .provided_init_features(their_node_id)
            .union(&self.handlers.route_handler.provided_init_features(their_node_id))
            .union(&self.handlers.custom_message_handler.provided_init_features(their_node_id))
    }

    fn our_chain_hashes(&self) -> Vec<ChainHash> {
        self.handlers.chan_handler.get_chain_hashes().unwrap_or_else(|| vec![self.chain_hash])
    }

    /// Encrypts and queues one message.
    fn enqueue<M: Type + Writeable>(&self, peer: &mut Peer, message: &M) {
        self.enqueue_encoded(peer, &wire::encode(message));
    }

    fn enqueue_encoded(&self, peer: &mut Peer, encoded: &[u8]) {
        if encoded.is_empty() {
            // `wire::encode` of a message that could not be written.
            log_debug!(self.logger, "Not sending a message that could not be encoded");
            return;
        }
        match peer.encryptor.encrypt_message(encoded) {
            Ok(bytes) => peer.queue_raw(bytes),
            // Only messages we build are encrypted; one that is too long or a
            // transport not ready is a bug on our side, dropped with a log.
            Err(e) => log_debug!(self.logger, "Not sending a message: {}", e),
        }
    }

    fn handle_decoded(
        &self, peer: &mut Peer, message: Result<Message<CMH::CustomMessage>, DecodeError>,
    ) -> Result<Next, DisconnectReason> {
        let their_node_id = peer.their_node_id.ok_or(DisconnectReason::UnknownDescriptor)?;
        let message = match message {
            Ok(m) => m,
            Err(DecodeError::InvalidValue) if peer.is_connected() => {
                // A well-framed message with a bad field: warn and carry on,
                // as the connection itself is sound. Like pongs, warnings are
                // not queued beyond the hard byte limit, so a flood of bad
                // messages cannot grow our queue for a peer that does not read.
                if peer.outbound_bytes < OUTBOUND_BUFFER_HARD_LIMIT_BYTES {
                    let msg = msgs::WarningMessage::new(
                        ChannelId::ALL_CHANNELS,
                        "Undecodable message (invalid value)",
                    );
                    self.enqueue(peer, &msg);
                } else {
                    log_debug!(
                        self.logger,
                        peer = Some(their_node_id),
                        "Outbound queue full, warning dropped"
                    );
                }
                return Ok(Next::Continue);
            }
            Err(e) => return Err(DisconnectReason::Decode(e)),
        };
        log_trace!(self.logger, peer = Some(their_node_id), "Received message of type {}", message.type_id());

        if !peer.is_connected() {
            let init = match message {
                Message::Init(init) => init,
                // A peer refusing our `init` often says why in an `error`
                // before closing: report that rather than a missing `init`.
                Message::Error(msg) => {
                    crate::log_at!(
                        self.logger,
                        Level::Info,
                        "Peer sent error before init: {}",
                        msg.printable_data()
                    );
                    return Err(DisconnectReason::PeerSentError);
                }
                _ => return Err(DisconnectReason::BadInit),
            };
            return self.handle_init(peer, their_node_id, init).map(|_| Next::Continue);
        }

        let message = match GossipMessage::from_wire(message) {
            Ok(gossip) => {
                if matches!(
                    gossip,
                    GossipMessage::ChannelAnnouncement(_)
                        | GossipMessage::NodeAnnouncement(_)
                        | GossipMessage::ChannelUpdate(_)
                ) && self.handlers.route_handler.processing_queue_high()
                {
                    peer.sent_gossip_while_backlogged = true;
                }
                let is_filter = matches!(gossip, GossipMessage::GossipTimestampFilter(_));
                let next = self.route_gossip(peer, their_node_id, gossip);
                if is_filter {
                    // The peer asks for our gossip (the filter replaces any
                    // earlier one): walk our graph to it as its queue drains,
                    // each item filtered by its timestamps, unless the routing
                    // handler says the filter matches nothing we hold (an
                    // empty window, or one after our newest gossip).
                    let wanted = self.handlers.route_handler.graph_walk_wanted(&their_node_id);
                    peer.gossip_cursor = wanted.then_some(GossipCursor::Channels(0));
                }
                return Ok(next);
            }
            Err(other) => other,
        };

        match message {
            Message::Init(_) => return Err(DisconnectReason::BadInit),
            Message::Error(msg) => {
                log_debug!(
                    self.logger,
                    peer = Some(their_node_id),
                    "Peer sent error for channel {}: {}",
                    msg.channel_id,
                    msg.printable_data()
                );
                self.handlers.chan_handler.handle_error(their_node_id, &msg);
                if msg.channel_id.is_all_channels() {
                    return Ok(Next::Disconnect(DisconnectReason::PeerSentError));
                }
            }
            Message::Warning(msg) => {
                crate::log_warn!(
                    self.logger,
                    peer = Some(their_node_id),
                    "Peer sent warning for channel {}: {}",
                    msg.channel_id,
                    msg.printable_data()
                );
            }
            Message::Ping(ping) => {
                if let Some(len) = ping.expected_pong_len() {
                    if peer.outbound_bytes < OUTBOUND_BUFFER_HARD_LIMIT_BYTES {
                        self.enqueue(peer, &msgs::Pong { byteslen: len });
                    } else {
                        log_debug!(
                            self.logger,
                            peer = Some(their_node_id),
                            "Outbound queue full, ping ignored"
                        );
                    }
                }
            }
            Message::Pong(pong) => {
                if peer.expected_pong_len.is_some_and(|len| len != pong.byteslen) {
                    log_debug!(self.logger, peer = Some(their_node_id), "Pong of unexpected length");
                }
                peer.awaiting_pong_ticks = 0;
                peer.expected_pong_len = None;
                peer.pongs_received += 1;
            }
            Message::OpenChannel(msg) => self.handlers.chan_handler.handle_open_channel(their_node_id, &msg),
            Message::AcceptChannel(msg) => {
                self.handlers.chan_handler.handle_accept_channel(their_node_id, &msg)
            }
            Message::FundingCreated(msg) => {
                self.handlers.chan_handler.handle_funding_created(their_node_id, &msg)
            }
            Message::FundingSigned(msg) => {
                self.handlers.chan_handler.handle_funding_signed(their_node_id, &msg)
            }
            Message::ChannelReady(msg) => {
                self.handlers.chan_handler.handle_channel_ready(their_node_id, &msg)
            }
            Message::Shutdown(msg) => self.handlers.chan_handler.handle_shutdown(their_node_id, &msg),
            Message::ClosingSigned(msg) => {
                self.handlers.chan_handler.handle_closing_signed(their_node_id, &msg)
            }
            Message::UpdateAddHTLC(msg) => {
                self.handlers.chan_handler.handle_update_add_htlc(their_node_id, &msg)
            }
            Message::UpdateFulfillHTLC(msg) => {
                self.handlers.chan_handler.handle_update_fulfill_htlc(their_node_id, &msg)
            }
            Message::UpdateFailHTLC(msg) => {
                self.handlers.chan_handler.handle_update_fail_htlc(their_node_id, &msg)
            }
            Message::UpdateFailMalformedHTLC(msg) => {
                self.handlers.chan_handler.handle_update_fail_malformed_htlc(their_node_id, &msg)
            }
            Message::CommitmentSigned(msg) => {
                self.handlers.chan_handler.handle_commitment_signed(their_node_id, &msg)
            }
            Message::RevokeAndACK(msg) => {
                self.handlers.chan_handler.handle_revoke_and_ack(their_node_id, &msg)
            }
            Message::UpdateFee(msg) => self.handlers.chan_handler.handle_update_fee(their_node_id, &msg),
            Message::ChannelReestablish(msg) => {
                self.handlers.chan_handler.handle_channel_reestablish(their_node_id, &msg)
            }
            Message::AnnouncementSignatures(msg) => {
                log_debug!(
                    self.logger,
                    peer = Some(their_node_id),
                    "Ignoring announcement_signatures for channel {}",
                    msg.channel_id
                );
            }
            // Routed before this match.
            Message::ChannelAnnouncement(_)
            | Message::NodeAnnouncement(_)
            | Message::ChannelUpdate(_)
            | Message::QueryShortChannelIds(_)
            | Message::ReplyShortChannelIdsEnd(_)
            | Message::QueryChannelRange(_)
            | Message::ReplyChannelRange(_)
            | Message::GossipTimestampFilter(_) => {}
            Message::UnknownOdd(t) => {
                log_trace!(
                    self.logger,
                    peer = Some(their_node_id),
                    "Ignoring unknown odd message type {}",
                    t
                );
            }
            Message::Custom(custom) => {
                if let Err(e) =
                    self.handlers.custom_message_handler.handle_custom_message(custom, their_node_id)
                {
                    return Ok(self.apply_error_action(peer, their_node_id, e));
                }
            }
        }
        Ok(Next::Continue)
    }

    fn handle_init(
        &self, peer: &mut Peer, their_node_id: PublicKey, init: Init,
    ) -> Result<(), DisconnectReason> {
        let ours = self.our_init_features(their_node_id);
        init.features.check_peer(&ours).map_err(|e| DisconnectReason::IncompatibleFeatures(e.to_string()))?;
        if let Some(networks) = &init.networks {
            let ours = self.our_chain_hashes();
            if !networks.iter().any(|n| ours.contains(n)) {
                return Err(DisconnectReason::NoCommonNetwork);
            }
        }
        log_debug!(self.logger, peer = Some(their_node_id), "Received init: {:?}", init.features);
        let inbound = peer.inbound;
        let h = &self.handlers;
        if h.route_handler.peer_connected(their_node_id, &init, inbound).is_err() {
            return Err(DisconnectReason::HandlerRefused);
        }
        if h.chan_handler.peer_connected(their_node_id, &init, inbound).is_err() {
            h.route_handler.peer_disconnected(their_node_id);
            return Err(DisconnectReason::HandlerRefused);
        }
        if h.custom_message_handler.peer_connected(their_node_id, &init, inbound).is_err() {
            h.route_handler.peer_disconnected(their_node_id);
            h.chan_handler.peer_disconnected(their_node_id);
            return Err(DisconnectReason::HandlerRefused);
        }
        self.push_peer_event(PeerEvent::Connected(PeerDetails {
            counterparty_node_id: their_node_id,
            socket_address: peer.their_socket_address.clone(),
            init_features: init.features.clone(),
            is_inbound_connection: inbound,
            pongs_received: 0,
        }));
        peer.their_features = Some(init.features);
        Ok(())
    }

    fn push_peer_event(&self, event: PeerEvent) {
        let mut events = self.peer_events.lock();
        if events.len() >= MAX_PENDING_PEER_EVENTS {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// Takes the peer connection events that happened since the last call
    /// (at most [`MAX_PENDING_PEER_EVENTS`] are kept).
    pub fn get_and_clear_peer_events(&self) -> Vec<PeerEvent> {
        self.peer_events.lock().drain(..).collect()
    }

    /// Sends a `ping` to a connected peer now, asking for `num_pong_bytes`
    /// back. Its `pong` shows in [`PeerDetails::pongs_received`]. Returns false
    /// if the peer is not connected.
    pub fn send_ping(&self, node_id: &PublicKey, num_pong_bytes: u16) -> bool {
        let Some(mut descriptor) = self.node_id_to_descriptor.lock().get(node_id).cloned() else {
            return false;
        };
        let peers = self.peers.read();
        let Some(peer) = peers.get(&descriptor) else { return false };
        let mut peer = peer.lock();
        if !peer.is_connected() {
            return false;
        }
        self.enqueue(&mut peer, &msgs::Ping { num_pong_bytes, byteslen: 0 });
        peer.expected_pong_len = Some(num_pong_bytes);
        if peer.awaiting_pong_ticks == 0 {
            peer.awaiting_pong_ticks = 1;
        }
        self.flush(&mut descriptor, &mut peer);
        true
    }

    fn route_gossip(&self, peer: &mut Peer, their_node_id: PublicKey, msg: GossipMessage) -> Next {
        match self.handlers.route_handler.handle_gossip_message(their_node_id, msg) {
            Ok(()) => Next::Continue,
            Err(e) => self.apply_error_action(peer, their_node_id, e),
        }
    }

    /// Moves the next answers to the peer's gossip queries, then the next items
    /// of our graph to a peer that asked for our gossip, to its queue while it
    /// has room: a peer's queries cost us at most a queue's worth of messages.
    /// At most `walk_budget` graph items are looked at (and it is lowered by
    /// as many), whether or not they pass the peer's filter; the walk resumes
    /// on a later call.
    fn fill_from_graph(&self, peer: &mut Peer, walk_budget: &mut usize) {
        let Some(their_node_id) = peer.their_node_id else { return };
        if !peer.is_connected() {
            return;
        }
        let rh = &self.handlers.route_handler;
        while peer.has_room_for_generated_gossip() {
            let replies = rh.get_next_query_replies(&their_node_id);
            if replies.is_empty() {
                break;
            }
            for msg in replies {
                self.enqueue_encoded(peer, &msg.encode_with_type());
            }
        }
        while peer.has_room_for_generated_gossip() && *walk_budget > 0 {
            let Some(cursor) = peer.gossip_cursor.take() else { return };
            *walk_budget -= 1;
            let mut batch = Vec::new();
            let next = match cursor {
                GossipCursor::Channels(scid) => match rh.get_next_channel_announcement(scid) {
                    Some((ann, update_1, update_2)) => {
                        let next_scid = ann.contents.short_channel_id.0.saturating_add(1);
                        batch.push(GossipMessage::ChannelAnnouncement(ann));
                        batch.extend(update_1.map(GossipMessage::ChannelUpdate));
                        batch.extend(update_2.map(GossipMessage::ChannelUpdate));
                        Some(GossipCursor::Channels(next_scid))
                    }
                    None => Some(GossipCursor::Nodes(None)),
                },
                GossipCursor::Nodes(start) => match rh.get_next_node_announcement(start.as_ref()) {
                    Some(ann) => {
                        let node_id = ann.contents.node_id;
                        batch.push(GossipMessage::NodeAnnouncement(ann));
                        Some(GossipCursor::Nodes(Some(node_id)))
                    }
                    None => None,
                },
            };
            for msg in batch {
                if rh.should_forward_to(&their_node_id, &msg) {
                    peer.gossip_broadcast.push_back(msg.encode_with_type());
                }
            }
            peer.gossip_cursor = next;
        }
    }

    fn apply_error_action(&self, peer: &mut Peer, their_node_id: PublicKey, err: LightningError) -> Next {
        log_debug!(self.logger, peer = Some(their_node_id), "Handler error: {}", err.err);
        match err.action {
            ErrorAction::DisconnectPeer { msg } => {
                if let Some(msg) = msg {
                    self.enqueue(peer, &msg);
                }
                peer.disconnect_after_flush = true;
                Next::Continue
            }
            ErrorAction::DisconnectPeerWithWarning { msg } => {
                self.enqueue(peer, &msg);
                peer.disconnect_after_flush = true;
                Next::Continue
            }
            ErrorAction::IgnoreError | ErrorAction::IgnoreAndLog(_) => Next::Continue,
            ErrorAction::SendErrorMessage { msg } => {
                self.enqueue(peer, &msg);
                Next::Continue
            }
            ErrorAction::SendWarningMessage { msg, .. } => {
                self.enqueue(peer, &msg);
                Next::Continue
            }
        }
    }

    /// Whether the peer's reads stay paused for the routing handler's
    /// backlog: only a peer that sent gossip while it lasted (as LDK), so
    /// channel messages from other peers keep flowing. Clears the mark once
    /// the backlog is gone.
    fn paused_for_gossip_backlog(&self, peer: &mut Peer) -> bool {
        if !peer.sent_gossip_while_backlogged {
            return false;
        }
        if self.handlers.route_handler.processing_queue_high() {
            return true;
        }
        peer.sent_gossip_while_backlogged = false;
        false
    }

    /// Writes as much of the peer's queue as the socket takes, topping it up
    /// from the gossip waiting to be forwarded as it drains.
    fn flush(&self, descriptor: &mut D, peer: &mut Peer) {
        let mut walk_budget = MAX_GRAPH_ITEMS_VISITED_PER_FLUSH;
        while !peer.awaiting_write_event {
            self.fill_from_graph(peer, &mut walk_budget);
            while !peer.should_pause_read() {
                let Some(gossip) = peer.gossip_broadcast.pop_front() else { break };
                self.enqueue_encoded(peer, &gossip);
            }
            // Resume only once both our queue to this peer and the routing
            // handler's backlog allow it; `process_events` and the timer call
            // this again, so reading resumes once the backlog clears.
            let resume_read =
                peer.read_paused && !peer.should_pause_read() && !self.paused_for_gossip_backlog(peer);
            let Some(first) = peer.outbound.front() else {
                if resume_read {
                    // Nothing to write, but reading may resume.
                    descriptor.send_data(&[], true);
                    peer.read_paused = false;
                }
                break;
            };
            let data = &first[peer.outbound_first_offset..];
            // A descriptor that claims more than it was given must not make
            // us index past the buffer.
            let sent = descriptor.send_data(data, resume_read).min(data.len());
            if resume_read {
                peer.read_paused = false;
            }
            peer.outbound_first_offset += sent;
            if peer.outbound_first_offset == first.len() {
                peer.outbound_bytes -= first.len();
                peer.outbound.pop_front();
                peer.outbound_first_offset = 0;
            } else {
                peer.awaiting_write_event = true;
            }
        }
    }

    /// The socket can take more data: writes what is queued. On `Err` the peer
    /// is gone: close the socket.
    pub fn write_buffer_space_avail(&self, descriptor: &mut D) -> Result<(), PeerHandleError> {
        let peers = self.peers.read();
        let Some(peer_mutex) = peers.get(descriptor) else {
            return Err(DisconnectReason::UnknownDescriptor.into());
        };
        let mut peer = peer_mutex.lock();
        peer.awaiting_write_event = false;
        self.flush(descriptor, &mut peer);
        Ok(())
    }

    /// The socket closed (or failed). The peer is forgotten and the handlers
    /// told. Calling it for an unknown descriptor does nothing.
    pub fn socket_disconnected(&self, descriptor: &D) {
        self.forget_peer(descriptor, false, DisconnectReason::SocketClosed);
    }

    /// Removes a peer, telling the handlers if it had finished `init`, and
    /// closing the socket if `close_socket`.
    fn forget_peer(&self, descriptor: &D, close_socket: bool, reason: DisconnectReason) {
        let removed = self.peers.write().remove(descriptor);
        let Some(peer) = removed else { return };
        let peer = peer.into_inner();
        if let Some(node_id) = peer.their_node_id {
            let mut ids = self.node_id_to_descriptor.lock();
            if ids.get(&node_id) == Some(descriptor) {
                ids.remove(&node_id);
            }
            drop(ids);
            if peer.is_connected() {
                self.handlers.chan_handler.peer_disconnected(node_id);
                self.handlers.route_handler.peer_disconnected(node_id);
                self.handlers.custom_message_handler.peer_disconnected(node_id);
                self.push_peer_event(PeerEvent::Disconnected { counterparty_node_id: node_id, reason });
            } else if reason != DisconnectReason::DuplicateConnection {
                // A second connection refused because the peer is already
                // connected is no failure to report: the peer is there.
                self.push_peer_event(PeerEvent::ConnectionFailed { counterparty_node_id: node_id, reason });
            }
        }
        if close_socket {
            descriptor.clone().disconnect_socket();
        }
    }

    /// Disconnects the peer with this node id, if connected.
    pub fn disconnect_by_node_id(&self, node_id: PublicKey) {
        let descriptor = self.node_id_to_descriptor.lock().get(&node_id).cloned();
        if let Some(descriptor) = descriptor {
            log_debug!(
                self.logger,
                peer = Some(node_id),
                "Disconnecting peer: {}",
                DisconnectReason::Requested
            );
            self.forget_peer(&descriptor, true, DisconnectReason::Requested);
        }
    }

    /// Disconnects every peer.
    pub fn disconnect_all_peers(&self) {
        let descriptors: Vec<D> = self.peers.read().keys().cloned().collect();
        for descriptor in descriptors {
            self.forget_peer(&descriptor, true, DisconnectReason::Requested);
        }
    }

    /// Every peer that finished the `init` exchange.
    pub fn list_peers(&self) -> Vec<PeerDetails> {
        let peers = self.peers.read();
        peers
            .values()
            .filter_map(|p| {
                let p = p.lock();
                Some(PeerDetails {
                    counterparty_node_id: p.their_node_id?,
                    socket_address: p.their_socket_address.clone(),
                    init_features: p.their_features.clone()?,
                    is_inbound_connection: p.inbound,
                    pongs_received: p.pongs_received,
                })
            })
            .collect()
    }

    /// Bytes queued for the peer with this node id and not yet taken by its
    /// socket (encrypted messages, plus gossip waiting to be forwarded), or
    /// `None` if we have no connection with that node id past the handshake
    /// (a peer still exchanging `init` counts). For monitoring back-pressure.
    pub fn outbound_queue_bytes(&self, node_id: &PublicKey) -> Option<usize> {
        let descriptor = self.node_id_to_descriptor.lock().get(node_id).cloned()?;
        let peers = self.peers.read();
        let peer = peers.get(&descriptor)?.lock();
        let forwarded: usize = peer.gossip_broadcast.iter().map(Vec::len).sum();
        Some(peer.outbound_bytes.saturating_sub(peer.outbound_first_offset).saturating_add(forwarded))
    }

    /// The connected peer with this node id.
    pub fn peer_by_node_id(&self, node_id: &PublicKey) -> Option<PeerDetails> {
        self.list_peers().into_iter().find(|p| p.counterparty_node_id == *node_id)
    }

    /// Collects what the handlers want sent, queues it, writes every peer's
    /// queue and carries out requested disconnects. Call it whenever handlers
    /// may have new messages (after `read_event`, after user actions).
    pub fn process_events(&self) {
        let _guard = self.event_processing.lock();
        let mut events = self.handlers.chan_handler.get_and_clear_pending_msg_events();
        events.extend(self.handlers.route_handler.get_and_clear_pending_msg_events());
        events.extend(self.handlers.custom_message_handler.get_and_clear_pending_msg_events());
        let custom = self.handlers.custom_message_handler.get_and_clear_pending_custom_msgs();

        let ids = self.node_id_to_descriptor.lock().clone();
        let peers = self.peers.read();
        let with_peer = |node_id: &PublicKey, f: &mut dyn FnMut(&mut Peer)| {
            let Some(peer) = ids.get(node_id).and_then(|d| peers.get(d)) else {
                log_trace!(self.logger, peer = Some(*node_id), "Dropping message for a disconnected peer");
                return;
            };
            let mut peer = peer.lock();
            if peer.is_connected() {
                f(&mut peer);
            }
        };
        for event in events {
            match event {
                MessageSendEvent::HandleError { node_id, action } => {
                    with_peer(&node_id, &mut |peer| {
                        let err = LightningError { err: "handler action".into(), action: action.clone() };
                        self.apply_error_action(peer, node_id, err);
                    });
                }
                MessageSendEvent::SendOpenChannel { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendAcceptChannel { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendFundingCreated { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendFundingSigned { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendChannelReady { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendShutdown { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendClosingSigned { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendRevokeAndACK { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::SendChannelReestablish { node_id, msg } => {
                    with_peer(&node_id, &mut |peer| self.enqueue(peer, &msg))
                }
                MessageSendEvent::UpdateHTLCs { node_id, updates, .. } => with_peer(&node_id, &mut |peer| {
                    for m in &updates.update_add_htlcs {
                        self.enqueue(peer, m);
                    }
                    for m in &updates.update_fulfill_htlcs {
                        self.enqueue(peer, m);
                    }
                    for m in &updates.update_fail_htlcs {
                        self.enqueue(peer, m);
                    }
                    for m in &updates.update_fail_malformed_htlcs {
                        self.enqueue(peer, m);
                    }
                    if let Some(m) = &updates.update_fee {
                        self.enqueue(peer, m);
                    }
                    if let Some(m) = &updates.commitment_signed {
                        self.enqueue(peer, m);
                    }
                }),
                MessageSendEvent::SendGossip { node_id, msg } => {
                    let encoded = msg.encode_with_type();
                    with_peer(&node_id, &mut |peer| self.enqueue_encoded(peer, &encoded));
                }
                MessageSendEvent::BroadcastGossip { msg, except_node_id, ours } => {
                    // Our own gossip goes to every peer whatever its filter
                    // (BOLT 7: "SHOULD send gossip messages as it generates
                    // them regardless of `timestamp`").
                    let filter = if ours { None } else { Some(&msg) };
                    self.queue_gossip(&peers, &msg.encode_with_type(), except_node_id, filter);
                }
            }
        }
        for (node_id, msg) in custom {
            with_peer(&node_id, &mut |peer| self.enqueue_custom(peer, &msg));
        }

        let mut to_disconnect = Vec::new();
        for (descriptor, peer) in peers.iter() {
            let mut peer = peer.lock();
            let mut descriptor = descriptor.clone();
            self.flush(&mut descriptor, &mut peer);
            if peer.disconnect_after_flush {
                to_disconnect.push(descriptor);
            }
        }
        drop(peers);
        for descriptor in to_disconnect {
            log_debug!(self.logger, "Disconnecting peer: {}", DisconnectReason::HandlerAction);
            self.forget_peer(&descriptor, true, DisconnectReason::HandlerAction);
        }
    }

    /// Queues an already-encoded gossip message (type and payload) for every
    /// connected peer except `except` (usually the peer it came from), and
    /// writes. For a peer whose queue is over
    /// [`OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP`] messages it is dropped: gossip is
    /// the first thing shed under back-pressure. Returns how many peers it was
    /// queued for.
    pub fn broadcast_gossip(&self, encoded_message: &[u8], except: Option<PublicKey>) -> usize {
        let peers = self.peers.read();
        let queued = self.queue_gossip(&peers, encoded_message, except, None);
        for (descriptor, peer) in peers.iter() {
            self.flush(&mut descriptor.clone(), &mut peer.lock());
        }
        queued
    }

    /// Queues gossip for every connected peer but `except` that has room (and,
    /// with `filter`, that the routing handler says wants it).
    fn queue_gossip(
        &self, peers: &HashMap<D, Mutex<Peer>>, encoded: &[u8], except: Option<PublicKey>,
        filter: Option<&GossipMessage>,
    ) -> usize {
        let mut queued = 0;
        for peer in peers.values() {
            let mut peer = peer.lock();
            let Some(node_id) = peer.their_node_id else { continue };
            if !peer.is_connected() || Some(node_id) == except {
                continue;
            }
            if peer.should_drop_gossip() {
                log_trace!(self.logger, peer = Some(node_id), "Queue full, dropping gossip");
                continue;
            }
            if filter.is_some_and(|msg| !self.handlers.route_handler.should_forward_to(&node_id, msg)) {
                continue;
            }
            peer.gossip_broadcast.push_back(encoded.to_vec());
            queued += 1;
        }
        queued
    }

    fn enqueue_custom(&self, peer: &mut Peer, msg: &CMH::CustomMessage) {
        let mut encoded = Vec::with_capacity(2 + msg.serialized_length());
        let _ = msg.type_id().write(&mut encoded);
        let _ = msg.write(&mut encoded);
        self.enqueue_encoded(peer, &encoded);
    }

    /// Sends pings and disconnects peers that did not answer the previous one,
    /// or did not finish the handshake and `init` within two ticks. Call about
    /// every ten seconds.
    ///
    /// A peer that keeps sending us other messages gets up to
    /// [`MAX_PING_TICKS_WHILE_ACTIVE`] ticks to answer (its pong may be queued
    /// behind a burst of gossip); a silent peer is disconnected at the first
    /// tick after an unanswered ping.
    pub fn timer_tick_occurred(&self) {
        let mut to_disconnect = Vec::new();
        {
            let peers = self.peers.read();
            for (descriptor, peer) in peers.iter() {
                let mut peer = peer.lock();
                let mut descriptor = descriptor.clone();
                if !peer.is_connected() {
                    peer.ticks_before_init += 1;
                    if peer.ticks_before_init >= 2 {
                        to_disconnect.push((descriptor, DisconnectReason::HandshakeTimeout));
                    }
                    continue;
                }
                if peer.awaiting_pong_ticks > 0
                    && peer.awaiting_pong_ticks < MAX_PING_TICKS_WHILE_PAUSED
                    && peer.read_paused
                    && !peer.should_pause_read()
                {
                    // We stopped reading this peer for our gossip backlog
                    // (its own queue is not full), so its pong may be
                    // waiting unread: not its fault, for a bounded number of
                    // ticks. The flush below resumes reading if the backlog
                    // cleared meanwhile.
                    peer.awaiting_pong_ticks += 1;
                    peer.received_message_since_tick = false;
                    self.flush(&mut descriptor, &mut peer);
                    continue;
                }
                if peer.awaiting_pong_ticks > 0 {
                    let active = peer.received_message_since_tick;
                    if !active || peer.awaiting_pong_ticks >= MAX_PING_TICKS_WHILE_ACTIVE {
                        to_disconnect.push((descriptor, DisconnectReason::PingTimeout));
                        continue;
                    }
                    peer.awaiting_pong_ticks += 1;
                } else {
                    let ping = msgs::Ping { num_pong_bytes: 0, byteslen: 64 };
                    self.enqueue(&mut peer, &ping);
                    peer.expected_pong_len = Some(0);
                    peer.awaiting_pong_ticks = 1;
                }
                peer.received_message_since_tick = false;
                self.flush(&mut descriptor, &mut peer);
            }
        }
        for (descriptor, reason) in to_disconnect {
            crate::log_at!(self.logger, Level::Info, "Disconnecting peer on timer: {}", reason);
            self.forget_peer(&descriptor, true, reason);
        }
    }
}

/// What an I/O adapter needs from a peer manager, without naming its handler
/// and signer types: `lightning-net-tokio` is written against this.
pub trait APeerManager {
    /// The adapter's connection type.
    type Descriptor: SocketDescriptor;
    /// See [`PeerManager::new_outbound_connection`].
    fn new_outbound_connection(
        &self, their_node_id: PublicKey, descriptor: Self::Descriptor, remote: Option<SocketAddress>,
    ) -> Result<Vec<u8>, PeerHandleError>;
    /// See [`PeerManager::new_inbound_connection`].
    fn new_inbound_connection(
        &self, descriptor: Self::Descriptor, remote: Option<SocketAddress>,
    ) -> Result<(), PeerHandleError>;
    /// See [`PeerManager::read_event`].
    fn read_event(&self, descriptor: &mut Self::Descriptor, data: &[u8]) -> Result<bool, PeerHandleError>;
    /// See [`PeerManager::write_buffer_space_avail`].
    fn write_buffer_space_avail(&self, descriptor: &mut Self::Descriptor) -> Result<(), PeerHandleError>;
    /// See [`PeerManager::socket_disconnected`].
    fn socket_disconnected(&self, descriptor: &Self::Descriptor);
    /// See [`PeerManager::process_events`].
    fn process_events(&self);
    /// See [`PeerManager::timer_tick_occurred`].
    fn timer_tick_occurred(&self);
}

impl<D, CM, RM, CMH, K, L> APeerManager for PeerManager<D, CM, RM, CMH, K, L>
where
    D: SocketDescriptor,
    CM: ChannelMessageHandler,
    RM: RoutingMessageHandler,
    CMH: CustomMessageHandler,
    K: NodeSigner + EntropySource,
    L: Logger,
{
    type Descriptor = D;
    fn new_outbound_connection(
        &self, their_node_id: PublicKey, descriptor: D, remote: Option<SocketAddress>,
    ) -> Result<Vec<u8>, PeerHandleError> {
        PeerManager::new_outbound_connection(self, their_node_id, descriptor, remote)
    }
    fn new_inbound_connection(
        &self, descriptor: D, remote: Option<SocketAddress>,
    ) -> Result<(), PeerHandleError> {
        PeerManager::new_inbound_connection(self, descriptor, remote)
    }
    fn read_event(&self, descriptor: &mut D, data: &[u8]) -> Result<bool, PeerHandleError> {
        PeerManager::read_event(self, descriptor, data)
    }
    fn write_buffer_space_avail(&self, descriptor: &mut D) -> Result<(), PeerHandleError> {
        PeerManager::write_buffer_space_avail(self, descriptor)
    }
    fn socket_disconnected(&self, descriptor: &D) {
        PeerManager::socket_disconnected(self, descriptor)
    }
    fn process_events(&self) {
        PeerManager::process_events(self)
    }
    fn timer_tick_occurred(&self) {
        PeerManager::timer_tick_occurred(self)
    }
}

/// True for addresses worth telling a peer about (BOLT 1: `remote_addr` should
/// not be a private address).
pub fn is_publicly_routable(addr: &SocketAddress) -> bool {
    match addr {
        SocketAddress::TcpIpV4 { addr: a, .. } => {
            !(a[0] == 0
                || a[0] == 10
                || a[0] == 127
                || (a[0] == 100 && (64..128).contains(&a[1]))
                || (a[0] == 169 && a[1] == 254)
                || (a[0] == 172 && (16..32).contains(&a[1]))
                || (a[0] == 192 && a[1] == 168)
                || a[0] >= 224)
        }
        SocketAddress::TcpIpV6 { addr: a, .. } => {
            let loopback_or_unspecified = a[..15].iter().all(|b| *b == 0);
            let unique_local = a[0] & 0xfe == 0xfc;
            let link_local = a[0] == 0xfe && a[1] & 0xc0 == 0x80;
            !(loopback_or_unspecified || unique_local || link_local)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests;
