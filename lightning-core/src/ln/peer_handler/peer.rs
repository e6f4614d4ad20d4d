//! One connection's state inside the `PeerManager`: its transport, where it is
//! in the connection's life, and its read and write buffers.

use crate::ln::features::InitFeatures;
use crate::ln::msgs::SocketAddress;
use crate::ln::peer_channel_encryptor::{PeerChannelEncryptor, MESSAGE_HEADER_LEN, TAG_LEN};
use crate::prelude::*;
use bitcoin::secp256k1::PublicKey;

/// When the outbound buffer holds more than this many messages, the peer's
/// socket stops being read until it drains (back-pressure).
pub const OUTBOUND_BUFFER_LIMIT_READ_PAUSE: usize = 12;
/// When the outbound buffer holds more than this many messages, gossip to
/// forward to the peer is dropped instead of queued.
pub const OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP: usize = 24;
/// Bytes of encrypted data queued for a peer beyond which we stop answering its
/// pings: a peer cannot make us hold more than about this for it (plus one
/// message), however many pings it packs into one read.
pub const OUTBOUND_BUFFER_HARD_LIMIT_BYTES: usize = 1024 * 1024;
/// Bytes of encrypted data queued for a peer beyond which no more answers to
/// its gossip queries (or walk of our graph) are generated until it drains.
pub const OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES: usize = 256 * 1024;
/// Items of our graph (channels or nodes) looked at per flush when walking it
/// to a peer that sent `gossip_timestamp_filter`, whether or not they pass its
/// filter: a filter that matches little costs a bounded amount of work per
/// flush, and the walk resumes where it stopped on the next flush
/// (`process_events`, `write_buffer_space_avail`, `read_event`).
pub const MAX_GRAPH_ITEMS_VISITED_PER_FLUSH: usize = 1000;
/// Timer ticks a peer may take to answer a ping while it is still sending us
/// other messages (its pong may be queued behind them).
pub const MAX_PING_TICKS_WHILE_ACTIVE: u8 = 4;

/// Ticks a peer whose reads we paused for the routing handler's backlog may
/// leave our ping unanswered (we are not reading its pong) before it is
/// disconnected all the same.
pub const MAX_PING_TICKS_WHILE_PAUSED: u8 = 16;

/// What the next bytes read from the socket are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadState {
    /// A handshake act of this length.
    Act(usize),
    /// A message header (encrypted length and MAC).
    Header,
    /// A message body of this many bytes (ciphertext and MAC).
    Body(usize),
}

impl ReadState {
    pub(super) fn len(&self) -> usize {
        match self {
            ReadState::Act(n) => *n,
            ReadState::Header => MESSAGE_HEADER_LEN,
            ReadState::Body(n) => *n,
        }
    }

    pub(super) fn body(message_len: u16) -> Self {
        ReadState::Body(message_len as usize + TAG_LEN)
    }
}

/// Where a walk of our graph for a peer that asked for our gossip stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GossipCursor {
    /// Next channel at or above this short channel id.
    Channels(u64),
    /// Next node after this one (from the start when `None`).
    Nodes(Option<PublicKey>),
}

/// One peer's state.
pub(super) struct Peer {
    pub(super) encryptor: PeerChannelEncryptor,
    /// Set once the handshake tells us (at once for outbound connections).
    pub(super) their_node_id: Option<PublicKey>,
    /// The peer's `init` features, once it sent `init`.
    pub(super) their_features: Option<InitFeatures>,
    /// The address the connection came from or went to.
    pub(super) their_socket_address: Option<SocketAddress>,
    pub(super) inbound: bool,

    pub(super) read_state: ReadState,
    pub(super) read_buffer: Vec<u8>,
    /// True while we told the caller to stop reading.
    pub(super) read_paused: bool,

    /// Encrypted messages (and handshake acts) waiting for the socket.
    pub(super) outbound: VecDeque<Vec<u8>>,
    /// How much of the first buffer in `outbound` the socket already took.
    pub(super) outbound_first_offset: usize,
    /// Total bytes in `outbound`.
    pub(super) outbound_bytes: usize,
    /// Plaintext gossip to forward, moved to `outbound` when there is room.
    pub(super) gossip_broadcast: VecDeque<Vec<u8>>,
    /// The socket refused data; wait for `write_buffer_space_avail`.
    pub(super) awaiting_write_event: bool,

    /// Ticks since we sent a ping that is still unanswered (0: none pending).
    pub(super) awaiting_pong_ticks: u8,
    /// The `num_pong_bytes` of our pending ping.
    pub(super) expected_pong_len: Option<u16>,
    /// Any message arrived since the last timer tick.
    pub(super) received_message_since_tick: bool,
    /// The peer sent an announcement or update while the routing handler
    /// was backlogged: its reads stay paused until the backlog clears. Only
    /// such peers are paused, so channel peers keep flowing.
    pub(super) sent_gossip_while_backlogged: bool,
    /// `pong`s received on this connection.
    pub(super) pongs_received: u64,
    /// Timer ticks seen before the `init` exchange finished.
    pub(super) ticks_before_init: u8,
    /// Our graph being walked to this peer (it sent `gossip_timestamp_filter`).
    pub(super) gossip_cursor: Option<GossipCursor>,
    /// Set when the peer is to be disconnected after its queue is flushed.
    pub(super) disconnect_after_flush: bool,
}

impl Peer {
    pub(super) fn new(
        encryptor: PeerChannelEncryptor, their_node_id: Option<PublicKey>, address: Option<SocketAddress>,
        inbound: bool,
    ) -> Self {
        let read_state = ReadState::Act(encryptor.next_read_len());
        Peer {
            encryptor,
            their_node_id,
            their_features: None,
            their_socket_address: address,
            inbound,
            read_state,
            read_buffer: Vec::new(),
            read_paused: false,
            outbound: VecDeque::new(),
            outbound_first_offset: 0,
            outbound_bytes: 0,
            gossip_broadcast: VecDeque::new(),
            awaiting_write_event: false,
            awaiting_pong_ticks: 0,
            expected_pong_len: None,
            received_message_since_tick: false,
            sent_gossip_while_backlogged: false,
            pongs_received: 0,
            ticks_before_init: 0,
            gossip_cursor: None,
            disconnect_after_flush: false,
        }
    }

    /// True once `init` was received: the peer is fully connected.
    pub(super) fn is_connected(&self) -> bool {
        self.their_features.is_some()
    }

    /// Queues bytes that are already in wire form (an act or an encrypted
    /// message).
    pub(super) fn queue_raw(&mut self, bytes: Vec<u8>) {
        self.outbound_bytes += bytes.len();
        self.outbound.push_back(bytes);
    }

    /// True if reading from the socket should pause until the queue drains.
    pub(super) fn should_pause_read(&self) -> bool {
        self.outbound.len() > OUTBOUND_BUFFER_LIMIT_READ_PAUSE
    }

    /// True if the queue has room for gossip we generate for this peer only
    /// (answers to its queries, our graph walked to it).
    pub(super) fn has_room_for_generated_gossip(&self) -> bool {
        self.outbound.len() + self.gossip_broadcast.len() < OUTBOUND_BUFFER_LIMIT_READ_PAUSE
            && self.outbound_bytes < OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES
    }

    /// True if gossip to forward should be dropped rather than queued.
    pub(super) fn should_drop_gossip(&self) -> bool {
        self.outbound.len() + self.gossip_broadcast.len() > OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP
    }
}
