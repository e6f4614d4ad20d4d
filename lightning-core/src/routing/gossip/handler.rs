//! [`P2PGossipSync`] as the `PeerManager`'s [`RoutingMessageHandler`]: the thin
//! adapter between the peer manager's traits and the gossip logic.

use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::ln::features::{InitFeatures, NodeFeatures};
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::{
    BaseMessageHandler, ChannelAnnouncement, ChannelUpdate, ErrorAction, Init, LightningError,
    NodeAnnouncement, RoutingMessageHandler, WarningMessage,
};
use crate::ln::types::ChannelId;
use crate::prelude::*;
use crate::routing::gossip::sync::{GossipSendEvent, P2PGossipSync};
use crate::routing::gossip::types::{GossipError, NodeId};
use crate::routing::gossip::NetworkGraph;
use crate::routing::utxo::UtxoLookup;
use crate::util::logger::Level;
use bitcoin::secp256k1::PublicKey;
use core::ops::Deref;

/// Turns a gossip error into what the peer manager does about it: a warning
/// for a peer that misbehaved (BOLT 7), silence for stale or duplicate gossip.
fn to_lightning_error(err: GossipError) -> LightningError {
    let text = format!("{err:?}");
    let action = if err.is_peer_misbehaving() {
        ErrorAction::SendWarningMessage {
            msg: WarningMessage::new(ChannelId::ALL_CHANNELS, &format!("Invalid gossip: {text}")),
            log_level: Level::Debug,
        }
    } else {
        ErrorAction::IgnoreAndLog(Level::Gossip)
    };
    LightningError { err: text, action }
}

impl<G: Deref<Target = NetworkGraph>, U: UtxoLookup> MessageSendEventsProvider for P2PGossipSync<G, U> {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.get_and_clear_pending_gossip_events()
            .into_iter()
            .map(|event| match event {
                GossipSendEvent::SendToPeer { node_id, msg } => MessageSendEvent::SendGossip { node_id, msg },
                GossipSendEvent::Broadcast { msg, except_node_id, ours } => {
                    MessageSendEvent::BroadcastGossip { msg, except_node_id, ours }
                }
            })
            .collect()
    }
}

impl<G: Deref<Target = NetworkGraph>, U: UtxoLookup> BaseMessageHandler for P2PGossipSync<G, U> {
    fn peer_connected(&self, their_node_id: PublicKey, init: &Init, _inbound: bool) -> Result<(), ()> {
        P2PGossipSync::peer_connected(self, &their_node_id, &init.features);
        Ok(())
    }
    fn peer_disconnected(&self, their_node_id: PublicKey) {
        P2PGossipSync::peer_disconnected(self, &their_node_id);
    }
    fn provided_node_features(&self) -> NodeFeatures {
        let mut f = NodeFeatures::empty();
        f.set_gossip_queries_optional();
        f
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        let mut f = InitFeatures::empty();
        f.set_gossip_queries_optional();
        f
    }
}

impl<G: Deref<Target = NetworkGraph>, U: UtxoLookup> RoutingMessageHandler for P2PGossipSync<G, U> {
    fn handle_gossip_message(&self, from: PublicKey, msg: GossipMessage) -> Result<(), LightningError> {
        let result = match &msg {
            GossipMessage::ChannelAnnouncement(m) => self.handle_channel_announcement(Some(&from), m),
            GossipMessage::NodeAnnouncement(m) => self.handle_node_announcement(Some(&from), m),
            GossipMessage::ChannelUpdate(m) => self.handle_channel_update(Some(&from), m),
            GossipMessage::QueryShortChannelIds(m) => self.handle_query_short_channel_ids(&from, m),
            GossipMessage::ReplyShortChannelIdsEnd(m) => self.handle_reply_short_channel_ids_end(&from, m),
            GossipMessage::QueryChannelRange(m) => self.handle_query_channel_range(&from, m),
            GossipMessage::ReplyChannelRange(m) => self.handle_reply_channel_range(&from, m),
            GossipMessage::GossipTimestampFilter(m) => self.handle_gossip_timestamp_filter(&from, m),
        };
        match result {
            // An announcement held for an asynchronous UTXO lookup is not an
            // error with the peer.
            Ok(()) | Err(GossipError::UtxoLookupPending) => Ok(()),
            Err(e) => Err(to_lightning_error(e)),
        }
    }

    fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        P2PGossipSync::get_next_channel_announcement(self, starting_scid)
    }

    fn get_next_node_announcement(&self, starting_point: Option<&PublicKey>) -> Option<NodeAnnouncement> {
        let start = starting_point.map(NodeId::from_pubkey);
        P2PGossipSync::get_next_node_announcement(self, start.as_ref())
    }

    fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool {
        P2PGossipSync::should_forward_to(self, peer, msg)
    }

    fn graph_walk_wanted(&self, their_node_id: &PublicKey) -> bool {
        P2PGossipSync::graph_walk_wanted(self, their_node_id)
    }

    fn get_next_query_replies(&self, their_node_id: &PublicKey) -> Vec<GossipMessage> {
        P2PGossipSync::get_next_query_replies(self, their_node_id)
    }

    fn processing_queue_high(&self) -> bool {
        P2PGossipSync::processing_queue_high(self)
    }
}
