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
    // (An announcement is relayed only before its channel's first update.)
    let upd = channel_update(a, b, 77, Policy::default(), CHAIN);
    sync.handle_channel_update(Some(&peer), &upd).unwrap();
    sync.handle_node_announcement(Some(&peer), &node_ann).unwrap();
    // Relayed byte for byte.
    let sent = broadcasts(&sync.get_and_clear_pending_gossip_events());
    assert_eq!(
        sent,
        vec![with_type(256, &ann_bytes), with_type(258, &upd.encode()), with_type(257, &node_bytes)]
    );

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
        let mut replies: Vec<Vec<u8>> = Vec::new();
        loop {
            let batch = sync.get_next_query_replies(&peer);
            if batch.is_empty() {
                break;
            }
            replies.extend(batch.into_iter().filter_map(|msg| match msg {
                GossipMessage::ChannelAnnouncement(_) | GossipMessage::NodeAnnouncement(_) => {
                    Some(msg.encode_with_type())
                }
                _ => None,
            }));
        }
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

#[test]
fn updates_for_a_pending_announcement_are_held_and_applied_when_it_resolves() {
    use lightning_core::bitcoin::{Amount, TxOut};
    use lightning_core::routing::gossip::GossipError;
    use lightning_core::routing::utxo::{funding_script_pubkey, UtxoFuture, UtxoLookupError};

    let (a, b, c) = (TestNode::new(1), TestNode::new(2), TestNode::new(3));
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let future = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(9, future.clone());
    let sync = P2PGossipSync::new(&graph, Some(&utxos));
    let ann = channel_announcement(a, b, 9, CHAIN);
    assert_eq!(sync.handle_channel_announcement(None, &ann), Err(GossipError::UtxoLookupPending));

    let pol = |timestamp, fee_base_msat| Policy { timestamp, fee_base_msat, ..Policy::default() };
    let a_to_b = channel_update(a, b, 9, pol(2_000, 11), CHAIN);
    let b_to_a_old = channel_update(b, a, 9, pol(1_000, 22), CHAIN);
    let b_to_a = channel_update(b, a, 9, pol(1_500, 33), CHAIN);
    assert_eq!(sync.handle_channel_update(None, &a_to_b), Err(GossipError::UtxoLookupPending));
    assert_eq!(sync.handle_channel_update(None, &b_to_a_old), Err(GossipError::UtxoLookupPending));
    // The newer one of a direction replaces the held one; an older one is refused.
    assert_eq!(sync.handle_channel_update(None, &b_to_a), Err(GossipError::UtxoLookupPending));
    assert_eq!(sync.handle_channel_update(None, &b_to_a_old), Err(GossipError::OlderUpdate));
    assert_eq!(sync.handle_channel_update(None, &b_to_a), Err(GossipError::DuplicateUpdate));
    // Checked on arrival: signed by the wrong node is refused, not held.
    let forged = channel_update(c, b, 9, pol(3_000, 44), CHAIN);
    let mut forged = forged.clone();
    forged.contents.channel_flags = a_to_b.contents.channel_flags;
    assert_eq!(sync.handle_channel_update(None, &forged), Err(GossipError::InvalidSignature));
    assert_eq!(graph.held_update_count(), 2);
    assert!(sync.get_and_clear_pending_gossip_events().is_empty(), "nothing relayed before the lookup");

    let script = funding_script_pubkey(&a.funding_pubkey(), &b.funding_pubkey());
    // 2,000,000 sat: the updates' htlc_maximum_msat (1,000,000 sat) fits.
    future.resolve(&graph, Ok(TxOut { value: Amount::from_sat(2_000_000), script_pubkey: script }));
    assert_eq!(graph.held_update_count(), 0);
    let chan = graph.read_only().channel(9).unwrap();
    let (from_a, from_b) = if a.node_id() == chan.node_one {
        (chan.one_to_two, chan.two_to_one)
    } else {
        (chan.two_to_one, chan.one_to_two)
    };
    assert_eq!(from_a.unwrap().fees.base_msat, 11);
    assert_eq!(from_b.unwrap().fees.base_msat, 33);
    // The announcement, then its updates, are relayed.
    let sent = broadcasts(&sync.get_and_clear_pending_gossip_events());
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0], GossipMessage::ChannelAnnouncement(ann).encode_with_type());
    let mut updates = sent[1..].to_vec();
    updates.sort();
    let mut expected = vec![
        GossipMessage::ChannelUpdate(a_to_b).encode_with_type(),
        GossipMessage::ChannelUpdate(b_to_a).encode_with_type(),
    ];
    expected.sort();
    assert_eq!(updates, expected);

    // A lookup that fails drops the updates held with it.
    let failing = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(10, failing.clone());
    let ann = channel_announcement(a, c, 10, CHAIN);
    assert_eq!(sync.handle_channel_announcement(None, &ann), Err(GossipError::UtxoLookupPending));
    let upd = channel_update(a, c, 10, pol(2_000, 1), CHAIN);
    assert_eq!(sync.handle_channel_update(None, &upd), Err(GossipError::UtxoLookupPending));
    assert_eq!(graph.held_update_count(), 1);
    failing.resolve(&graph, Err(UtxoLookupError::UnknownTx));
    assert_eq!(graph.held_update_count(), 0);
    assert!(graph.read_only().channel(10).is_none());
    assert!(sync.get_and_clear_pending_gossip_events().is_empty());
    // With nothing pending, an update for an unknown channel is still refused.
    assert_eq!(sync.handle_channel_update(None, &upd), Err(GossipError::UnknownChannel));
}

#[test]
fn a_flooding_origin_is_relayed_at_its_rate_limit_only() {
    use lightning_core::routing::gossip::relay::{MAX_RELAY_FUTURE_SECS, RELAY_BURST, RELAY_REFILL_SECS};

    let (a, b) = (TestNode::new(1), TestNode::new(2));
    let peer: PublicKey = TestNode::new(9).pubkey();
    let graph = NetworkGraph::new(CHAIN);
    let sync = P2PGossipSync::new(&graph, no_utxo());
    sync.handle_channel_announcement(Some(&peer), &channel_announcement(a, b, 5, CHAIN)).unwrap();
    let now = 1_700_000_000u32;
    graph.remove_stale_channels_and_tracking_with_time(now as u64);
    sync.get_and_clear_pending_gossip_events();

    let update = |from: TestNode, to: TestNode, timestamp: u32| {
        channel_update(
            from,
            to,
            5,
            Policy { timestamp, fee_base_msat: timestamp % 1000, ..Policy::default() },
            CHAIN,
        )
    };
    // `a` signs a new update every minute for ten minutes: all applied, only
    // the burst relayed.
    for i in 0..10 {
        sync.handle_channel_update(Some(&peer), &update(a, b, now + i * 60)).unwrap();
    }
    let chan = graph.read_only().channel(5).unwrap();
    let from_a = if a.node_id() == chan.node_one { chan.one_to_two } else { chan.two_to_one };
    assert_eq!(from_a.unwrap().last_update, now + 9 * 60, "limited updates are still applied");
    // (The first one preceded by the channel's announcement.)
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), RELAY_BURST as usize + 1);
    assert_eq!(sync.rate_limited_broadcasts(), 10 - RELAY_BURST as u64);
    // The other direction has its own budget.
    sync.handle_channel_update(Some(&peer), &update(b, a, now)).unwrap();
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), 1);
    // An hour after the burst began, one more token.
    sync.handle_channel_update(Some(&peer), &update(a, b, now + RELAY_REFILL_SECS)).unwrap();
    sync.handle_channel_update(Some(&peer), &update(a, b, now + RELAY_REFILL_SECS + 60)).unwrap();
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), 1);
    // Our own updates are not limited.
    sync.handle_channel_update(None, &update(a, b, now + RELAY_REFILL_SECS + 120)).unwrap();
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), 1);
    // Timestamps run far ahead buy nothing: applied, not relayed.
    let ahead = now + MAX_RELAY_FUTURE_SECS as u32 + 1;
    sync.handle_channel_update(Some(&peer), &update(b, a, ahead)).unwrap();
    assert!(broadcasts(&sync.get_and_clear_pending_gossip_events()).is_empty());

    // Node announcements: the same budget per node.
    for i in 0..6 {
        sync.handle_node_announcement(Some(&peer), &node_announcement(a, now + i)).unwrap();
    }
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), RELAY_BURST as usize);
    sync.handle_node_announcement(Some(&peer), &node_announcement(b, now)).unwrap();
    assert_eq!(broadcasts(&sync.get_and_clear_pending_gossip_events()).len(), 1);
}

#[test]
fn trusted_updates_held_for_a_pending_announcement_are_applied_too() {
    use lightning_core::bitcoin::{Amount, TxOut};
    use lightning_core::routing::gossip::GossipError;
    use lightning_core::routing::utxo::{funding_script_pubkey, UtxoFuture};

    let (a, b) = (TestNode::new(1), TestNode::new(2));
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let future = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(3, future.clone());
    let ann = channel_announcement(a, b, 3, CHAIN);
    assert_eq!(
        graph.update_channel_from_unsigned_announcement(&ann.contents, Some(&utxos)),
        Err(GossipError::UtxoLookupPending)
    );
    let upd = unsigned_update(a, b, 3, Policy { fee_base_msat: 7, ..Policy::default() }, CHAIN);
    assert_eq!(graph.update_channel_unsigned(&upd), Err(GossipError::UtxoLookupPending));
    let script = funding_script_pubkey(&a.funding_pubkey(), &b.funding_pubkey());
    future.resolve(&graph, Ok(TxOut { value: Amount::from_sat(2_000_000), script_pubkey: script }));
    let chan = graph.read_only().channel(3).unwrap();
    let from_a = if a.node_id() == chan.node_one { chan.one_to_two } else { chan.two_to_one };
    assert_eq!(from_a.unwrap().fees.base_msat, 7);
    // Nothing signed, so nothing to relay.
    assert!(graph.take_pending_broadcasts().is_empty());
}

#[test]
fn utxo_lookups_that_are_lost_or_never_answer_free_their_slots() {
    use lightning_core::routing::gossip::{GossipError, PENDING_UTXO_CHECK_TIMEOUT_SECS};
    use lightning_core::routing::utxo::UtxoFuture;

    let (a, b, c) = (TestNode::new(1), TestNode::new(2), TestNode::new(3));
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let sync = P2PGossipSync::new(&graph, Some(&utxos));

    // A lookup the chain source drops without answering.
    utxos.pending.lock().unwrap().insert(9, UtxoFuture::new());
    let lost = channel_announcement(a, b, 9, CHAIN);
    assert_eq!(sync.handle_channel_announcement(None, &lost), Err(GossipError::UtxoLookupPending));
    // A lookup that stays open but never answers.
    let slow = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(10, slow.clone());
    let waiting = channel_announcement(a, c, 10, CHAIN);
    assert_eq!(sync.handle_channel_announcement(None, &waiting), Err(GossipError::UtxoLookupPending));
    assert_eq!(graph.pending_utxo_check_count(), 2);

    utxos.pending.lock().unwrap().remove(&9);
    assert_eq!(graph.drop_abandoned_utxo_checks(), 1, "the abandoned lookup is dropped on demand");
    // And by pruning (here there is nothing left to drop for that reason).
    let now = 1_700_000_000;
    graph.remove_stale_channels_and_tracking_with_time(now);
    assert_eq!(graph.pending_utxo_check_count(), 1);
    graph.remove_stale_channels_and_tracking_with_time(now + PENDING_UTXO_CHECK_TIMEOUT_SECS - 1);
    assert_eq!(graph.pending_utxo_check_count(), 1, "still within its time");
    graph.remove_stale_channels_and_tracking_with_time(now + PENDING_UTXO_CHECK_TIMEOUT_SECS);
    assert_eq!(graph.pending_utxo_check_count(), 0, "timed out");
}
