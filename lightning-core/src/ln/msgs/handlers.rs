//! The traits through which the `PeerManager` hands decoded messages to the rest
//! of the node, and stand-ins for nodes that lack a handler.

use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::ln::features::{InitFeatures, NodeFeatures};
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, DecodeError, ErrorMessage, Init, LightningError, NodeAnnouncement,
};
use crate::ln::wire::{CustomMessageReader, NoCustomMessage};
use crate::prelude::*;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;

/// What every message handler does: learn of peers connecting and leaving, and
/// say which features it offers.
pub trait BaseMessageHandler: MessageSendEventsProvider {
    /// A peer finished the `init` exchange. Returning `Err` disconnects it
    /// (for example when it lacks a feature this handler requires).
    fn peer_connected(&self, their_node_id: PublicKey, init: &Init, inbound: bool) -> Result<(), ()>;
    /// A peer that was connected has gone.
    fn peer_disconnected(&self, their_node_id: PublicKey);
    /// Features this handler offers in `node_announcement`.
    fn provided_node_features(&self) -> NodeFeatures;
    /// Features this handler offers in `init` to `their_node_id`.
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures;
}

/// Handles channel messages (BOLT 2) and `error`s.
pub trait ChannelMessageHandler: BaseMessageHandler {
    /// An `error` from a peer: fail the channel it names, or all of them for
    /// the zero channel id.
    fn handle_error(&self, their_node_id: PublicKey, msg: &ErrorMessage);
    /// The chains this handler works on, sent in `init`'s `networks`; `None`
    /// leaves the choice to the `PeerManager`.
    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>>;
}

/// Handles gossip (BOLT 7).
pub trait RoutingMessageHandler: BaseMessageHandler {
    /// A gossip message (announcement, update or query) from a peer.
    fn handle_gossip_message(
        &self, their_node_id: PublicKey, msg: GossipMessage,
    ) -> Result<(), LightningError>;
    /// The first channel (its announcement and both directions' updates) with
    /// a short channel id at or above `starting_scid`, for walking our graph
    /// to a peer that asked for our gossip.
    fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)>;
    /// The first node announcement after `starting_point` (from the start
    /// when `None`), likewise.
    fn get_next_node_announcement(&self, starting_point: Option<&PublicKey>) -> Option<NodeAnnouncement>;
    /// Whether `peer` wants `msg` relayed to it (its `gossip_timestamp_filter`
    /// covers it).
    fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool;
    /// True while the handler has a backlog (for example of signature checks):
    /// the `PeerManager` then stops reading gossip from peers.
    fn processing_queue_high(&self) -> bool;
}

/// Handles messages outside the BOLTs.
pub trait CustomMessageHandler: BaseMessageHandler + CustomMessageReader {
    /// A custom message from `sender_node_id`.
    fn handle_custom_message(
        &self, msg: Self::CustomMessage, sender_node_id: PublicKey,
    ) -> Result<(), LightningError>;
    /// Takes the custom messages queued for sending.
    fn get_and_clear_pending_custom_msgs(&self) -> Vec<(PublicKey, Self::CustomMessage)>;
}

macro_rules! impl_base_for_pointers {
    ($($ptr:ty),*) => {$(
        impl<T: BaseMessageHandler + ?Sized> MessageSendEventsProvider for $ptr {
            fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
                (**self).get_and_clear_pending_msg_events()
            }
        }
        impl<T: BaseMessageHandler + ?Sized> BaseMessageHandler for $ptr {
            fn peer_connected(&self, id: PublicKey, init: &Init, inbound: bool) -> Result<(), ()> {
                (**self).peer_connected(id, init, inbound)
            }
            fn peer_disconnected(&self, id: PublicKey) {
                (**self).peer_disconnected(id)
            }
            fn provided_node_features(&self) -> NodeFeatures {
                (**self).provided_node_features()
            }
            fn provided_init_features(&self, id: PublicKey) -> InitFeatures {
                (**self).provided_init_features(id)
            }
        }
        impl<T: ChannelMessageHandler + ?Sized> ChannelMessageHandler for $ptr {
            fn handle_error(&self, id: PublicKey, msg: &ErrorMessage) {
                (**self).handle_error(id, msg)
            }
            fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
                (**self).get_chain_hashes()
            }
        }
        impl<T: RoutingMessageHandler + ?Sized> RoutingMessageHandler for $ptr {
            fn handle_gossip_message(&self, id: PublicKey, msg: GossipMessage) -> Result<(), LightningError> {
                (**self).handle_gossip_message(id, msg)
            }
            fn get_next_channel_announcement(
                &self, starting_scid: u64,
            ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
                (**self).get_next_channel_announcement(starting_scid)
            }
            fn get_next_node_announcement(&self, starting_point: Option<&PublicKey>) -> Option<NodeAnnouncement> {
                (**self).get_next_node_announcement(starting_point)
            }
            fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool {
                (**self).should_forward_to(peer, msg)
            }
            fn processing_queue_high(&self) -> bool {
                (**self).processing_queue_high()
            }
        }
    )*};
}
impl_base_for_pointers!(&T, alloc::sync::Arc<T>);

/// Implements [`BaseMessageHandler`] for a handler that accepts every peer and
/// offers no features.
macro_rules! impl_accept_all_base {
    ($ty:ty) => {
        impl BaseMessageHandler for $ty {
            fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
                Ok(())
            }
            fn peer_disconnected(&self, _: PublicKey) {}
            fn provided_node_features(&self) -> NodeFeatures {
                NodeFeatures::empty()
            }
            fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
                InitFeatures::empty()
            }
        }
    };
}

/// A channel handler for nodes without channels: it accepts peers and answers
/// every channel message with an `error` saying channels are not supported.
#[derive(Debug, Default)]
pub struct ErroringMessageHandler {
    pending: crate::sync::Mutex<Vec<MessageSendEvent>>,
}

impl ErroringMessageHandler {
    /// A new handler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the `error` answering a channel message about `channel_id`.
    pub fn refuse_channel_message(&self, their_node_id: PublicKey, channel_id: crate::ln::types::ChannelId) {
        let msg = ErrorMessage::new(channel_id, "This node does not support channels");
        self.pending.lock().push(MessageSendEvent::HandleError {
            node_id: their_node_id,
            action: crate::ln::msgs::ErrorAction::SendErrorMessage { msg },
        });
    }
}

impl MessageSendEventsProvider for ErroringMessageHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        core::mem::take(&mut *self.pending.lock())
    }
}

impl_accept_all_base!(ErroringMessageHandler);

impl ChannelMessageHandler for ErroringMessageHandler {
    fn handle_error(&self, _: PublicKey, _: &ErrorMessage) {}
    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        None
    }
}

/// A routing and custom-message handler that ignores everything, for nodes
/// without gossip or custom messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoringMessageHandler;

impl MessageSendEventsProvider for IgnoringMessageHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        Vec::new()
    }
}

impl_accept_all_base!(IgnoringMessageHandler);

impl RoutingMessageHandler for IgnoringMessageHandler {
    fn handle_gossip_message(&self, _: PublicKey, _: GossipMessage) -> Result<(), LightningError> {
        Ok(())
    }
    fn get_next_channel_announcement(
        &self, _: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        None
    }
    fn get_next_node_announcement(&self, _: Option<&PublicKey>) -> Option<NodeAnnouncement> {
        None
    }
    fn should_forward_to(&self, _: &PublicKey, _: &GossipMessage) -> bool {
        false
    }
    fn processing_queue_high(&self) -> bool {
        false
    }
}

impl CustomMessageReader for IgnoringMessageHandler {
    type CustomMessage = NoCustomMessage;
    fn read<R: crate::io::Read>(&self, _: u16, _: &mut R) -> Result<Option<NoCustomMessage>, DecodeError> {
        Ok(None)
    }
}

impl CustomMessageHandler for IgnoringMessageHandler {
    fn handle_custom_message(&self, msg: NoCustomMessage, _: PublicKey) -> Result<(), LightningError> {
        match msg {}
    }
    fn get_and_clear_pending_custom_msgs(&self) -> Vec<(PublicKey, NoCustomMessage)> {
        Vec::new()
    }
}
