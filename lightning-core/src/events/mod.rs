//! What the state machines hand back to their caller: messages to send to peers
//! ([`MessageSendEvent`], collected by the `PeerManager`) and, as they land,
//! user-facing events.

use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::ErrorAction;
use crate::prelude::*;
use bitcoin::secp256k1::PublicKey;

/// A message (or an error action) a handler wants sent to a peer. The
/// `PeerManager` collects these in `process_events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageSendEvent {
    /// Act on an error with a peer: disconnect, or send it an `error` or
    /// `warning`.
    HandleError {
        /// The peer.
        node_id: PublicKey,
        /// What to do.
        action: ErrorAction,
    },
    /// Send a gossip message (a query, a reply, or gossip it asked for) to one
    /// peer.
    SendGossip {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: GossipMessage,
    },
    /// Relay fresh gossip to every peer that wants it, except the one it came
    /// from. Dropped first for peers whose send queue is full.
    BroadcastGossip {
        /// The announcement or update.
        msg: GossipMessage,
        /// The peer it came from, if any.
        except_node_id: Option<PublicKey>,
    },
}

/// Something that queues [`MessageSendEvent`]s.
pub trait MessageSendEventsProvider {
    /// Takes every queued event, leaving the queue empty.
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent>;
}
