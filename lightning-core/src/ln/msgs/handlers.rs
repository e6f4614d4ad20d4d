//! The traits through which the `PeerManager` hands decoded messages to the rest
//! of the node, and stand-ins for nodes that lack a handler.

use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::ln::features::{InitFeatures, NodeFeatures};
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::{
    self, ChannelAnnouncement, ChannelUpdate, DecodeError, ErrorMessage, Init, LightningError,
    NodeAnnouncement,
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
    /// A `open_channel` from `their_node_id`.
    fn handle_open_channel(&self, their_node_id: PublicKey, msg: &msgs::OpenChannel);
    /// A `accept_channel` from `their_node_id`.
    fn handle_accept_channel(&self, their_node_id: PublicKey, msg: &msgs::AcceptChannel);
    /// A `funding_created` from `their_node_id`.
    fn handle_funding_created(&self, their_node_id: PublicKey, msg: &msgs::FundingCreated);
    /// A `funding_signed` from `their_node_id`.
    fn handle_funding_signed(&self, their_node_id: PublicKey, msg: &msgs::FundingSigned);
    /// A `channel_ready` from `their_node_id`.
    fn handle_channel_ready(&self, their_node_id: PublicKey, msg: &msgs::ChannelReady);
    /// A `shutdown` from `their_node_id`.
    fn handle_shutdown(&self, their_node_id: PublicKey, msg: &msgs::Shutdown);
    /// A `closing_signed` from `their_node_id`.
    fn handle_closing_signed(&self, their_node_id: PublicKey, msg: &msgs::ClosingSigned);
    /// A `update_add_htlc` from `their_node_id`.
    fn handle_update_add_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateAddHTLC);
    /// A `update_fulfill_htlc` from `their_node_id`.
    fn handle_update_fulfill_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateFulfillHTLC);
    /// A `update_fail_htlc` from `their_node_id`.
    fn handle_update_fail_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateFailHTLC);
    /// A `update_fail_malformed_htlc` from `their_node_id`.
    fn handle_update_fail_malformed_htlc(
        &self, their_node_id: PublicKey, msg: &msgs::UpdateFailMalformedHTLC,
    );
    /// A `commitment_signed` from `their_node_id`.
    fn handle_commitment_signed(&self, their_node_id: PublicKey, msg: &msgs::CommitmentSigned);
    /// A `revoke_and_ack` from `their_node_id`.
    fn handle_revoke_and_ack(&self, their_node_id: PublicKey, msg: &msgs::RevokeAndACK);
    /// A `update_fee` from `their_node_id`.
    fn handle_update_fee(&self, their_node_id: PublicKey, msg: &msgs::UpdateFee);
    /// A `channel_reestablish` from `their_node_id`.
    fn handle_channel_reestablish(&self, their_node_id: PublicKey, msg: &msgs::ChannelReestablish);
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
    /// covers it). Not asked for our own gossip
    /// ([`MessageSendEvent::BroadcastGossip`] with `ours`), which every peer
    /// gets.
    fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool;
    /// Whether walking our graph to `their_node_id`, which just sent a
    /// `gossip_timestamp_filter`, could send it anything. When false the
    /// `PeerManager` starts no walk (for example for a filter that matches
    /// nothing we hold). Defaults to true.
    fn graph_walk_wanted(&self, their_node_id: &PublicKey) -> bool {
        let _ = their_node_id;
        true
    }
    /// The next messages answering `their_node_id`'s gossip queries, empty
    /// when nothing is being answered. The `PeerManager` calls it only while
    /// the peer's send buffer has room, so answers are built as they drain.
    fn get_next_query_replies(&self, their_node_id: &PublicKey) -> Vec<GossipMessage> {
        let _ = their_node_id;
        Vec::new()
    }
    /// True while the handler has a backlog (for example of signature checks):
    /// the `PeerManager` then pauses reading from each peer that sends an
    /// announcement or update until it clears (other peers keep flowing, and
    /// a paused peer is not timed out for a pong we are not reading).
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
            fn handle_open_channel(&self, id: PublicKey, msg: &msgs::OpenChannel) {
                (**self).handle_open_channel(id, msg)
            }
            fn handle_accept_channel(&self, id: PublicKey, msg: &msgs::AcceptChannel) {
                (**self).handle_accept_channel(id, msg)
            }
            fn handle_funding_created(&self, id: PublicKey, msg: &msgs::FundingCreated) {
                (**self).handle_funding_created(id, msg)
            }
            fn handle_funding_signed(&self, id: PublicKey, msg: &msgs::FundingSigned) {
                (**self).handle_funding_signed(id, msg)
            }
            fn handle_channel_ready(&self, id: PublicKey, msg: &msgs::ChannelReady) {
                (**self).handle_channel_ready(id, msg)
            }
            fn handle_shutdown(&self, id: PublicKey, msg: &msgs::Shutdown) {
                (**self).handle_shutdown(id, msg)
            }
            fn handle_closing_signed(&self, id: PublicKey, msg: &msgs::ClosingSigned) {
                (**self).handle_closing_signed(id, msg)
            }
            fn handle_update_add_htlc(&self, id: PublicKey, msg: &msgs::UpdateAddHTLC) {
                (**self).handle_update_add_htlc(id, msg)
            }
            fn handle_update_fulfill_htlc(&self, id: PublicKey, msg: &msgs::UpdateFulfillHTLC) {
                (**self).handle_update_fulfill_htlc(id, msg)
            }
            fn handle_update_fail_htlc(&self, id: PublicKey, msg: &msgs::UpdateFailHTLC) {
                (**self).handle_update_fail_htlc(id, msg)
            }
            fn handle_update_fail_malformed_htlc(&self, id: PublicKey, msg: &msgs::UpdateFailMalformedHTLC) {
                (**self).handle_update_fail_malformed_htlc(id, msg)
            }
            fn handle_commitment_signed(&self, id: PublicKey, msg: &msgs::CommitmentSigned) {
                (**self).handle_commitment_signed(id, msg)
            }
            fn handle_revoke_and_ack(&self, id: PublicKey, msg: &msgs::RevokeAndACK) {
                (**self).handle_revoke_and_ack(id, msg)
            }
            fn handle_update_fee(&self, id: PublicKey, msg: &msgs::UpdateFee) {
                (**self).handle_update_fee(id, msg)
            }
            fn handle_channel_reestablish(&self, id: PublicKey, msg: &msgs::ChannelReestablish) {
                (**self).handle_channel_reestablish(id, msg)
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
            fn graph_walk_wanted(&self, their_node_id: &PublicKey) -> bool {
                (**self).graph_walk_wanted(their_node_id)
            }
            fn get_next_query_replies(&self, their_node_id: &PublicKey) -> Vec<GossipMessage> {
                (**self).get_next_query_replies(their_node_id)
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

/// Answers an [`ErroringMessageHandler`] keeps queued until the `PeerManager`
/// collects them; beyond this, further channel messages are not answered (the
/// answers are only courtesy, and peers could otherwise make the queue grow
/// without bound between two `process_events` calls).
pub const MAX_PENDING_CHANNEL_REFUSALS: usize = 1024;

/// A channel handler for nodes without channels: it accepts peers and answers
/// every channel message with an `error` saying channels are not supported
/// (at most [`MAX_PENDING_CHANNEL_REFUSALS`] answers wait at a time).
#[derive(Debug, Default)]
pub struct ErroringMessageHandler {
    pending: crate::sync::Mutex<Vec<MessageSendEvent>>,
}

impl ErroringMessageHandler {
    /// A new handler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the `error` answering a channel message about `channel_id`,
    /// unless [`MAX_PENDING_CHANNEL_REFUSALS`] answers are already waiting.
    pub fn refuse_channel_message(&self, their_node_id: PublicKey, channel_id: crate::ln::types::ChannelId) {
        let mut pending = self.pending.lock();
        if pending.len() >= MAX_PENDING_CHANNEL_REFUSALS {
            return;
        }
        let msg = ErrorMessage::new(channel_id, "This node does not support channels");
        pending.push(MessageSendEvent::HandleError {
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
    fn handle_open_channel(&self, id: PublicKey, msg: &msgs::OpenChannel) {
        self.refuse_channel_message(id, msg.temporary_channel_id);
    }
    fn handle_accept_channel(&self, id: PublicKey, msg: &msgs::AcceptChannel) {
        self.refuse_channel_message(id, msg.temporary_channel_id);
    }
    fn handle_funding_created(&self, id: PublicKey, msg: &msgs::FundingCreated) {
        self.refuse_channel_message(id, msg.temporary_channel_id);
    }
    fn handle_funding_signed(&self, id: PublicKey, msg: &msgs::FundingSigned) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_channel_ready(&self, id: PublicKey, msg: &msgs::ChannelReady) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_shutdown(&self, id: PublicKey, msg: &msgs::Shutdown) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_closing_signed(&self, id: PublicKey, msg: &msgs::ClosingSigned) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_update_add_htlc(&self, id: PublicKey, msg: &msgs::UpdateAddHTLC) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_update_fulfill_htlc(&self, id: PublicKey, msg: &msgs::UpdateFulfillHTLC) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_update_fail_htlc(&self, id: PublicKey, msg: &msgs::UpdateFailHTLC) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_update_fail_malformed_htlc(&self, id: PublicKey, msg: &msgs::UpdateFailMalformedHTLC) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_commitment_signed(&self, id: PublicKey, msg: &msgs::CommitmentSigned) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_revoke_and_ack(&self, id: PublicKey, msg: &msgs::RevokeAndACK) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_update_fee(&self, id: PublicKey, msg: &msgs::UpdateFee) {
        self.refuse_channel_message(id, msg.channel_id);
    }
    fn handle_channel_reestablish(&self, id: PublicKey, msg: &msgs::ChannelReestablish) {
        self.refuse_channel_message(id, msg.channel_id);
    }
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
    fn graph_walk_wanted(&self, _: &PublicKey) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::types::ChannelId;

    #[test]
    fn erroring_handler_refuses_channel_messages() {
        let handler = ErroringMessageHandler::new();
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let key = bitcoin::secp256k1::SecretKey::from_slice(&[3; 32]).unwrap();
        let peer = PublicKey::from_secret_key(&secp, &key);
        let fee = msgs::UpdateFee { channel_id: ChannelId([5; 32]), feerate_per_kw: 253 };
        handler.handle_update_fee(peer, &fee);
        let events = handler.get_and_clear_pending_msg_events();
        match &events[..] {
            [MessageSendEvent::HandleError {
                node_id,
                action: crate::ln::msgs::ErrorAction::SendErrorMessage { msg },
            }] => {
                assert_eq!(*node_id, peer);
                assert_eq!(msg.channel_id, ChannelId([5; 32]));
            }
            other => panic!("{other:?}"),
        }
        assert!(handler.get_and_clear_pending_msg_events().is_empty());
    }

    #[test]
    fn erroring_handler_queue_is_capped() {
        let handler = ErroringMessageHandler::new();
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let key = bitcoin::secp256k1::SecretKey::from_slice(&[3; 32]).unwrap();
        let peer = PublicKey::from_secret_key(&secp, &key);
        let fee = msgs::UpdateFee { channel_id: ChannelId([5; 32]), feerate_per_kw: 253 };
        for _ in 0..MAX_PENDING_CHANNEL_REFUSALS + 500 {
            handler.handle_update_fee(peer, &fee);
        }
        assert_eq!(handler.get_and_clear_pending_msg_events().len(), MAX_PENDING_CHANNEL_REFUSALS);
        // Draining makes room again.
        handler.handle_update_fee(peer, &fee);
        assert_eq!(handler.get_and_clear_pending_msg_events().len(), 1);
    }
}
