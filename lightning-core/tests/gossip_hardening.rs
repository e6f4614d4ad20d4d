//! Gossip hardening: signatures checked over the exact bytes received (and
//! those bytes relayed and served unchanged), channel updates held while their
//! announcement waits on an asynchronous UTXO lookup, and the per-channel and
//! per-node relay rate limit.

mod routing_util;

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::ln::features::InitFeatures;
use lightning_core::ln::msgs::{ChannelAnnouncement, NodeAnnouncement, QueryShortChannelIds};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{GossipMessage, GossipSendEvent, NetworkGraph, P2PGossipSync};
use lightning_core::routing::utxo::NoUtxoLookup;
use lightning_core::util::ser::{decode_exact, Writeable};
use routing_util::*;

const CHAIN: ChainHash = ChainHash::BITCOIN;

fn no_utxo() -> Option<&'static NoUtxoLookup> {
    None
}

/// The signed part of a `channel_announcement` between `a` and `b`, with
/// `features` (the raw wire bytes, length prefix included) and `excess`.
fn channel_announcement_bytes(
    a: TestNode, b: TestNode, scid: u64, features: &[u8], excess: &[u8],
) -> Vec<u8> {
    let (one, two) = ordered(a, b);
    let mut contents = features.to_vec();
    contents.extend_from_slice(CHAIN.as_bytes());
    contents.extend_from_slice(&scid.to_be_bytes());
    contents.extend_from_slice(&one.pubkey().serialize());
    contents.extend_from_slice(&two.pubkey().serialize());
    contents.extend_from_slice(&one.funding_pubkey().serialize());
    contents.extend_from_slice(&two.funding_pubkey().serialize());
    contents.extend_from_slice(excess);
    let hash = dsha(&contents);
    let mut msg = Vec::new();
    for key in [&one.node_secret, &two.node_secret, &one.funding_secret, &two.funding_secret] {
        msg.extend_from_slice(&sign(hash, key).serialize_compact());
    }
    msg.extend_from_slice(&contents);
    msg
}

/// A `node_announcement` of `node` with raw `features` bytes.
fn node_announcement_bytes(node: TestNode, timestamp: u32, features: &[u8]) -> Vec<u8> {
    let mut contents = features.to_vec();
    contents.extend_from_slice(&timestamp.to_be_bytes());
    contents.extend_from_slice(&node.pubkey().serialize());
    contents.extend_from_slice(&[9, 8, 7]);
    contents.extend_from_slice(&[b'z'; 32]);
    // One IPv4 descriptor.
    contents.extend_from_slice(&[0, 7, 1, 10, 0, 0, 1, 0x26, 0x07]);
    let mut msg = sign(dsha(&contents), &node.node_secret).serialize_compact().to_vec();
    msg.extend_from_slice(&contents);
    msg
}

fn with_type(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut out = ty.to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn broadcasts(events: &[GossipSendEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            GossipSendEvent::Broadcast { msg, .. } => Some(msg.encode_with_type()),
            _ => None,
        })
        .collect()
}

#[test]
fn non_minimal_features_are_verified_and_relayed_as_signed() {
    let (a, b) = (TestNode::new(1), TestNode::new(2));
    let peer: PublicKey = TestNode::new(9).pubkey();
    // Features of zero bytes only (flen 2), then an unknown odd bit behind a
    // leading zero byte: both signed as sent, neither minimal.
    let ann_bytes = channel_announcement_bytes(a, b, 77, &[0x00, 0x02, 0x00, 0x00], &[0xee; 5]);
    let ann: ChannelAnnouncement = decode_exact(&ann_bytes).unwrap();
    assert_eq!(ann.encode(), ann_bytes, "decoding must keep the exact signed bytes");
    let node_bytes = node_announcement_bytes(a, 1_000, &[0x00, 0x03, 0x00, 0x00, 0x80]);
    let node_ann: NodeAnnouncement = decode_exact(&node_bytes).unwrap();
    assert!(node_ann.contents.features.supports_gossip_queries());

    let graph = NetworkGraph::new(CHAIN);
    let sync = P2PGossipSync::new(&graph, no_utxo());
    sync.handle_channel_announcement(Some(&peer), &ann).unwrap();
    sync.handle_node_announcement(Some(&peer), &node_ann).unwrap();
    // Relayed byte for byte.
    let sent = broadcasts(&sync.get_and_clear_pending_gossip_events());
    assert_eq!(sent, vec![with_type(256, &ann_bytes), with_type(257, &node_bytes)]);

    // Served byte for byte in answer to a query, also after a save and load.
    let reloaded: NetworkGraph = decode_exact(&graph.encode()).unwrap();
    for g in [&graph, &reloaded] {
        let sync = P2PGossipSync::new(g, no_utxo());
        sync.peer_connected(&peer, &InitFeatures::empty());
        let query = QueryShortChannelIds {
            chain_hash: CHAIN,
            short_channel_ids: vec![ShortChannelId(77)],
            query_flags: None,
        };
        sync.handle_query_short_channel_ids(&peer, &query).unwrap();
        let replies: Vec<Vec<u8>> = sync
            .get_and_clear_pending_gossip_events()
            .into_iter()
            .filter_map(|e| match e {
                GossipSendEvent::SendToPeer {
                    msg: msg @ (GossipMessage::ChannelAnnouncement(_) | GossipMessage::NodeAnnouncement(_)),
                    ..
                } => Some(msg.encode_with_type()),
                _ => None,
            })
            .collect();
        assert_eq!(replies, vec![with_type(256, &ann_bytes), with_type(257, &node_bytes)]);
    }

    // A bit flipped in the padding is still caught.
    let mut tampered = ann_bytes.clone();
    tampered[256 + 3] = 0x02;
    let tampered: ChannelAnnouncement = decode_exact(&tampered).unwrap();
    let graph = NetworkGraph::new(CHAIN);
    assert_eq!(
        graph.update_channel_from_announcement(&tampered, no_utxo()),
        Err(lightning_core::routing::gossip::GossipError::InvalidSignature)
    );
}
