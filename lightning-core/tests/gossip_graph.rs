//! NetworkGraph acceptance rules (each rejection for its reason), pruning with
//! a passed-in time, UTXO checks (sync and async), serialization, and gossip
//! sync between two `P2PGossipSync`s over an in-memory message exchange.

mod routing_util;

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::bitcoin::{Amount, ScriptBuf, TxOut};
use lightning_core::ln::features::InitFeatures;
use lightning_core::ln::msgs::ChannelAnnouncement;
use lightning_core::routing::gossip::{
    GossipError, GossipMessage, GossipSendEvent, NetworkGraph, P2PGossipSync,
    STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS,
};
use lightning_core::routing::utxo::{NoUtxoLookup, UtxoFuture, UtxoLookup, UtxoLookupError};
use lightning_core::util::ser::{decode_exact, Writeable};
use routing_util::*;

const CHAIN: ChainHash = ChainHash::BITCOIN;

fn no_utxo() -> Option<&'static NoUtxoLookup> {
    None
}

fn nodes() -> (TestNode, TestNode, TestNode) {
    (TestNode::new(1), TestNode::new(2), TestNode::new(3))
}

#[test]
fn valid_announcement_update_and_node_announcement_are_accepted() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 42, CHAIN), no_utxo()).unwrap();
    graph.update_channel(&channel_update(a, b, 42, Policy::default(), CHAIN)).unwrap();
    graph.update_node_from_announcement(&node_announcement(a, 5)).unwrap();
    let ro = graph.read_only();
    let chan = ro.channel(42).unwrap();
    let a_to_b = if a.node_id() == chan.node_one { chan.one_to_two } else { chan.two_to_one };
    let a_to_b = a_to_b.unwrap();
    assert_eq!(
        (a_to_b.fees.base_msat, a_to_b.fees.proportional_millionths, a_to_b.cltv_expiry_delta),
        (1000, 100, 40)
    );
    assert!(a_to_b.last_update_message.is_some() && chan.announcement_message.is_some());
    assert_eq!(ro.node(&a.node_id()).unwrap().announcement_info.unwrap().last_update, 5);
}

#[test]
fn each_bad_announcement_is_rejected_for_its_reason() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);

    // Wrong chain.
    let ann = channel_announcement(a, b, 1, ChainHash::TESTNET3);
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::WrongChain));

    // Each of the four signatures, made by the wrong key.
    for which in 0..4 {
        let mut ann = channel_announcement(a, b, 1, CHAIN);
        let bad = sign(ann.contents.signing_hash(), &c.node_secret);
        match which {
            0 => ann.node_signature_1 = bad,
            1 => ann.node_signature_2 = bad,
            2 => ann.bitcoin_signature_1 = bad,
            _ => ann.bitcoin_signature_2 = bad,
        }
        assert_eq!(
            graph.update_channel_from_announcement(&ann, no_utxo()),
            Err(GossipError::InvalidSignature)
        );
    }

    // Contents changed after signing (the excess data is signed too).
    let mut ann = channel_announcement(a, b, 1, CHAIN);
    ann.contents.excess_data = vec![1];
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::InvalidSignature));

    // Node ids out of order.
    let mut ann = channel_announcement(a, b, 1, CHAIN);
    core::mem::swap(&mut ann.contents.node_id_1, &mut ann.contents.node_id_2);
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::InvalidNodeOrder));

    // Accepted once, then a duplicate.
    let ann = channel_announcement(a, b, 1, CHAIN);
    graph.update_channel_from_announcement(&ann, no_utxo()).unwrap();
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::DuplicateChannel));
    assert_eq!(graph.read_only().channel_count(), 1);
}

#[test]
fn each_bad_update_is_rejected_for_its_reason() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    utxos.add_funding(a, b, 7, 100_000);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 7, CHAIN), Some(&utxos)).unwrap();

    let p = Policy { timestamp: 100, htlc_maximum_msat: 100_000_000, ..Default::default() };
    // Unknown channel, wrong chain, wrong signer.
    assert_eq!(graph.update_channel(&channel_update(a, b, 8, p, CHAIN)), Err(GossipError::UnknownChannel));
    assert_eq!(
        graph.update_channel(&channel_update(a, b, 7, p, ChainHash::SIGNET)),
        Err(GossipError::WrongChain)
    );
    let mut forged = channel_update(a, b, 7, p, CHAIN);
    forged.signature = sign(forged.contents.signing_hash(), &c.node_secret);
    assert_eq!(graph.update_channel(&forged), Err(GossipError::InvalidSignature));
    // The direction bit picks the signer: b cannot sign a's direction.
    let mut wrong_dir = channel_update(a, b, 7, p, CHAIN);
    wrong_dir.signature = sign(wrong_dir.contents.signing_hash(), &b.node_secret);
    assert_eq!(graph.update_channel(&wrong_dir), Err(GossipError::InvalidSignature));
    // htlc_maximum_msat above the 100,000 sat funding output.
    let too_big = Policy { htlc_maximum_msat: 100_000_001, ..p };
    assert_eq!(
        graph.update_channel(&channel_update(a, b, 7, too_big, CHAIN)),
        Err(GossipError::HtlcMaximumAboveCapacity)
    );
    // dont_forward updates are not gossip.
    let mut private = unsigned_update(a, b, 7, p, CHAIN);
    private.message_flags |= 2;
    assert_eq!(graph.update_channel_unsigned(&private), Err(GossipError::DontForward));

    // Newer wins; same timestamp and older are refused.
    let ok = p;
    graph.update_channel(&channel_update(a, b, 7, ok, CHAIN)).unwrap();
    assert_eq!(graph.update_channel(&channel_update(a, b, 7, ok, CHAIN)), Err(GossipError::DuplicateUpdate));
    let older = Policy { timestamp: 99, fee_base_msat: 1, ..ok };
    assert_eq!(graph.update_channel(&channel_update(a, b, 7, older, CHAIN)), Err(GossipError::OlderUpdate));
    let newer = Policy { timestamp: 101, fee_base_msat: 5, ..ok };
    graph.update_channel(&channel_update(a, b, 7, newer, CHAIN)).unwrap();
    let chan = graph.read_only().channel(7).unwrap();
    let dir = if a.node_id() == chan.node_one { chan.one_to_two } else { chan.two_to_one };
    assert_eq!(dir.unwrap().fees.base_msat, 5);
}

#[test]
fn node_announcements_need_a_channel_a_valid_signature_and_a_newer_timestamp() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    assert_eq!(graph.update_node_from_announcement(&node_announcement(a, 10)), Err(GossipError::UnknownNode));
    graph.update_channel_from_announcement(&channel_announcement(a, b, 1, CHAIN), no_utxo()).unwrap();
    let mut forged = node_announcement(a, 10);
    forged.signature = sign(forged.contents.signing_hash(), &c.node_secret);
    assert_eq!(graph.update_node_from_announcement(&forged), Err(GossipError::InvalidSignature));
    graph.update_node_from_announcement(&node_announcement(a, 10)).unwrap();
    assert_eq!(
        graph.update_node_from_announcement(&node_announcement(a, 10)),
        Err(GossipError::DuplicateUpdate)
    );
    assert_eq!(graph.update_node_from_announcement(&node_announcement(a, 9)), Err(GossipError::OlderUpdate));
    graph.update_node_from_announcement(&node_announcement(a, 11)).unwrap();
}

#[test]
fn utxo_checks_reject_missing_and_mismatched_outputs() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let ann = channel_announcement(a, b, 5, CHAIN);
    // No such output.
    assert_eq!(
        graph.update_channel_from_announcement(&ann, Some(&utxos)),
        Err(GossipError::UtxoLookupFailed(UtxoLookupError::UnknownTx))
    );
    // An output paying the 2-of-2 of other keys.
    utxos.add_funding(a, c, 5, 50_000);
    assert_eq!(
        graph.update_channel_from_announcement(&ann, Some(&utxos)),
        Err(GossipError::UtxoScriptMismatch)
    );
    // A non-P2WSH output.
    utxos
        .outputs
        .lock()
        .unwrap()
        .insert(5, TxOut { value: Amount::from_sat(50_000), script_pubkey: ScriptBuf::new() });
    assert_eq!(
        graph.update_channel_from_announcement(&ann, Some(&utxos)),
        Err(GossipError::UtxoScriptMismatch)
    );
    // The right output: accepted, with its capacity.
    utxos.add_funding(b, a, 5, 50_000);
    graph.update_channel_from_announcement(&ann, Some(&utxos)).unwrap();
    assert_eq!(graph.read_only().channel(5).unwrap().capacity_sats, Some(50_000));
}

#[test]
fn async_utxo_lookup_adds_the_channel_when_resolved() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let future = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(9, future.clone());
    let sync = P2PGossipSync::new(&graph, Some(&utxos));
    let ann = channel_announcement(a, b, 9, CHAIN);
    assert_eq!(sync.handle_channel_announcement(None, &ann), Err(GossipError::UtxoLookupPending));
    assert_eq!(graph.pending_utxo_check_count(), 1);
    assert!(graph.read_only().channel(9).is_none());

    let script =
        lightning_core::routing::utxo::funding_script_pubkey(&a.funding_pubkey(), &b.funding_pubkey());
    future.resolve(&graph, Ok(TxOut { value: Amount::from_sat(77_000), script_pubkey: script }));
    assert_eq!(graph.pending_utxo_check_count(), 0);
    assert_eq!(graph.read_only().channel(9).unwrap().capacity_sats, Some(77_000));
    // The accepted announcement has no update yet: not broadcast (BOLT 7),
    // until the channel's first update, which it then precedes.
    assert!(sync.get_and_clear_pending_gossip_events().is_empty());
    let peer = TestNode::new(9).pubkey();
    let policy = Policy { timestamp: 1_000, htlc_maximum_msat: 1_000_000, ..Default::default() };
    let upd = channel_update(a, b, 9, policy, CHAIN);
    sync.handle_channel_update(Some(&peer), &upd).unwrap();
    let events = sync.get_and_clear_pending_gossip_events();
    let relayed = |msg| GossipSendEvent::Broadcast { msg, except_node_id: Some(peer), ours: false };
    assert_eq!(
        events,
        vec![relayed(GossipMessage::ChannelAnnouncement(ann)), relayed(GossipMessage::ChannelUpdate(upd))]
    );

    // A lookup that fails later adds nothing.
    let failing = UtxoFuture::new();
    utxos.pending.lock().unwrap().insert(10, failing.clone());
    let ann = channel_announcement(a, b, 10, CHAIN);
    assert_eq!(
        graph.update_channel_from_announcement(&ann, Some(&utxos)),
        Err(GossipError::UtxoLookupPending)
    );
    failing.resolve(&graph, Err(UtxoLookupError::UnknownTx));
    assert!(graph.read_only().channel(10).is_none());
    assert!(graph.take_pending_broadcasts().is_empty());
}

#[test]
fn spent_channels_are_removed_and_their_gossip_refused() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let ann = channel_announcement(a, b, 3, CHAIN);
    graph.update_channel_from_announcement(&ann, no_utxo()).unwrap();
    graph.update_channel_from_announcement(&channel_announcement(b, c, 4, CHAIN), no_utxo()).unwrap();
    graph.channel_spent(3, 1_000_000);
    let ro = graph.read_only();
    assert!(ro.channel(3).is_none());
    // `a` had no other channel and is gone; `b` stays through channel 4.
    assert!(ro.node(&a.node_id()).is_none() && ro.node(&b.node_id()).is_some());
    drop(ro);
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::FundingSpent));
    assert_eq!(
        graph.update_channel(&channel_update(a, b, 3, Policy::default(), CHAIN)),
        Err(GossipError::FundingSpent)
    );
    // After a week the spent channel is forgotten.
    graph.remove_stale_channels_and_tracking_with_time(1_000_000 + 7 * 24 * 3600 + 1);
    let recent = Policy { timestamp: 1_500_000, ..Default::default() };
    assert_eq!(
        graph.update_channel(&channel_update(a, b, 3, recent, CHAIN)),
        Err(GossipError::UnknownChannel)
    );
}

#[test]
fn pruning_uses_the_passed_in_time() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let now = 1_700_000_000u64;
    let two_weeks = STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS;
    // Channel 1: fresh updates both ways. Channel 2: one stale direction, one
    // fresh. Channel 3: only stale updates.
    let fresh = Policy { timestamp: (now - 10) as u32, ..Default::default() };
    let stale = Policy { timestamp: (now - two_weeks - 10) as u32, ..Default::default() };
    add_trusted_channel(&graph, a, b, 1, 1_000_000, Some(fresh), Some(fresh));
    add_trusted_channel(&graph, b, c, 2, 1_000_000, Some(stale), Some(fresh));
    add_trusted_channel(&graph, a, c, 3, 1_000_000, Some(stale), Some(stale));
    // Stamp arrival times (unknown so far) with a time long ago.
    graph.remove_stale_channels_and_tracking_with_time(now - two_weeks - 5);
    graph.remove_stale_channels_and_tracking_with_time(now);
    let ro = graph.read_only();
    assert!(ro.channel(1).is_some());
    let two = ro.channel(2).unwrap();
    assert_eq!(two.one_to_two.is_some() as u8 + two.two_to_one.is_some() as u8, 1);
    assert!(ro.channel(3).is_none());
    assert_eq!(ro.channel_count(), 2);
}

#[test]
fn graph_round_trips_through_serialization() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 1, CHAIN), no_utxo()).unwrap();
    graph.update_channel(&channel_update(a, b, 1, Policy::default(), CHAIN)).unwrap();
    graph.update_node_from_announcement(&node_announcement(b, 3)).unwrap();
    add_trusted_channel(
        &graph,
        b,
        c,
        2,
        500,
        Some(Policy { htlc_maximum_msat: 400_000, ..Default::default() }),
        None,
    );
    graph.channel_spent(99, 12);
    let bytes = graph.encode();
    let back: NetworkGraph = decode_exact(&bytes).unwrap();
    assert_eq!(back.encode(), bytes);
    let (r1, r2) = (graph.read_only(), back.read_only());
    for scid in [1, 2] {
        assert_eq!(r1.channel(scid), r2.channel(scid));
    }
    for n in [a, b, c] {
        assert_eq!(r1.node(&n.node_id()), r2.node(&n.node_id()));
    }
    drop(r2);
    assert_eq!(
        back.update_channel(&channel_update(a, b, 99, Policy::default(), CHAIN)),
        Err(GossipError::FundingSpent)
    );
    // Corruption is an error, not a panic.
    for cut in [0, 1, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(decode_exact::<NetworkGraph>(&bytes[..cut]).is_err());
    }
}

type Sync<'a> = P2PGossipSync<&'a NetworkGraph, &'a TestUtxos>;

/// Delivers every queued message between two syncs until both are quiet.
/// Every message answering `peer`'s queries in progress.
fn drain_query_replies<G: std::ops::Deref<Target = NetworkGraph>, U: UtxoLookup>(
    sync: &P2PGossipSync<G, U>, peer: &PublicKey,
) -> Vec<GossipMessage> {
    let mut out = Vec::new();
    loop {
        let batch = sync.get_next_query_replies(peer);
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

/// Returns how many messages of each kind flowed.
fn exchange(
    x: (&Sync<'_>, PublicKey), y: (&Sync<'_>, PublicKey),
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    loop {
        let mut any = false;
        for (from, to) in [(x, y), (y, x)] {
            let mut msgs: Vec<GossipMessage> = from
                .0
                .get_and_clear_pending_gossip_events()
                .into_iter()
                .filter_map(|ev| match ev {
                    GossipSendEvent::SendToPeer { node_id, msg } => {
                        assert_eq!(node_id, to.1);
                        Some(msg)
                    }
                    GossipSendEvent::Broadcast { .. } => None,
                })
                .collect();
            msgs.extend(drain_query_replies(from.0, &to.1));
            for msg in msgs {
                any = true;
                let sender = &from.1;
                let name = match &msg {
                    GossipMessage::ChannelAnnouncement(m) => {
                        let _ = to.0.handle_channel_announcement(Some(sender), m);
                        "channel_announcement"
                    }
                    GossipMessage::NodeAnnouncement(m) => {
                        let _ = to.0.handle_node_announcement(Some(sender), m);
                        "node_announcement"
                    }
                    GossipMessage::ChannelUpdate(m) => {
                        let _ = to.0.handle_channel_update(Some(sender), m);
                        "channel_update"
                    }
                    GossipMessage::QueryShortChannelIds(m) => {
                        to.0.handle_query_short_channel_ids(sender, m).unwrap();
                        "query_short_channel_ids"
                    }
                    GossipMessage::ReplyShortChannelIdsEnd(m) => {
                        to.0.handle_reply_short_channel_ids_end(sender, m).unwrap();
                        "reply_short_channel_ids_end"
                    }
                    GossipMessage::QueryChannelRange(m) => {
                        to.0.handle_query_channel_range(sender, m).unwrap();
                        "query_channel_range"
                    }
                    GossipMessage::ReplyChannelRange(m) => {
                        to.0.handle_reply_channel_range(sender, m).unwrap();
                        "reply_channel_range"
                    }
                    GossipMessage::GossipTimestampFilter(m) => {
                        to.0.handle_gossip_timestamp_filter(sender, m).unwrap();
                        "gossip_timestamp_filter"
                    }
                };
                *counts.entry(name).or_insert(0) += 1;
            }
        }
        if !any {
            return counts;
        }
    }
}

#[test]
fn second_node_learns_the_first_nodes_graph_through_queries() {
    // Node 1 knows a signed graph of 1,200 channels over 50 nodes (more than
    // one query batch).
    let graph1 = NetworkGraph::new(CHAIN);
    let utxos = TestUtxos::default();
    let ns: Vec<TestNode> = (1..=50).map(TestNode::new).collect();
    let mut scid = 0u64;
    for i in 0..ns.len() {
        for j in (i + 1)..ns.len() {
            if scid >= 1_200 {
                break;
            }
            scid += 1;
            let id = (100_000 + scid / 4) << 40 | scid;
            utxos.add_funding(ns[i], ns[j], id, 1_000_000);
            graph1
                .update_channel_from_announcement(
                    &channel_announcement(ns[i], ns[j], id, CHAIN),
                    Some(&utxos),
                )
                .unwrap();
            let p = Policy { timestamp: 10 + scid as u32, ..Default::default() };
            graph1.update_channel(&channel_update(ns[i], ns[j], id, p, CHAIN)).unwrap();
            graph1.update_channel(&channel_update(ns[j], ns[i], id, p, CHAIN)).unwrap();
        }
    }
    for n in &ns {
        graph1.update_node_from_announcement(&node_announcement(*n, 50)).unwrap();
    }
    let graph2 = NetworkGraph::new(CHAIN);
    let sync1 = P2PGossipSync::new(&graph1, Some(&utxos));
    let sync2 = P2PGossipSync::new(&graph2, Some(&utxos));
    let (id1, id2) = (TestNode::new(200).pubkey(), TestNode::new(201).pubkey());

    let mut features = InitFeatures::empty();
    features.set_gossip_queries_optional();
    sync2.peer_connected(&id1, &features);
    sync1.peer_connected(&id2, &InitFeatures::empty());
    let counts = exchange((&sync1, id1), (&sync2, id2));
    assert_eq!(counts["query_channel_range"], 1);
    assert_eq!(counts["query_short_channel_ids"], 2, "1,200 ids in batches of 1,000");
    assert_eq!(counts["reply_short_channel_ids_end"], 2);
    assert_eq!(counts["channel_announcement"], 1_200);
    assert_eq!(counts["channel_update"], 2_400);
    // Each node at most once per query (two queries).
    assert!((50..=100).contains(&counts["node_announcement"]));
    let (r1, r2) = (graph1.read_only(), graph2.read_only());
    assert_eq!(r2.channel_count(), 1_200);
    assert_eq!(r2.node_count(), r1.node_count());
    for scid in r1.short_channel_ids() {
        assert_eq!(r1.channel(scid).unwrap().one_to_two, r2.channel(scid).unwrap().one_to_two);
        assert_eq!(r1.channel(scid).unwrap().two_to_one, r2.channel(scid).unwrap().two_to_one);
    }
    for n in &ns {
        assert_eq!(r2.node(&n.node_id()).unwrap().announcement_info.unwrap().last_update, 50);
    }
    drop((r1, r2));

    // Fresh gossip is relayed as a broadcast, not back to its origin.
    let fresh = channel_update(
        ns[0],
        ns[1],
        graph1.read_only().short_channel_ids().next().unwrap(),
        Policy { timestamp: 9_999, ..Default::default() },
        CHAIN,
    );
    sync2.handle_channel_update(Some(&id1), &fresh).unwrap();
    let events = sync2.get_and_clear_pending_gossip_events();
    assert_eq!(
        events,
        vec![GossipSendEvent::Broadcast {
            msg: GossipMessage::ChannelUpdate(fresh.clone()),
            except_node_id: Some(id1),
            ours: false
        }]
    );
    // Node 1 filtered from the past to the future: it wants that update.
    assert!(!sync2.should_forward_to(&id1, &GossipMessage::ChannelUpdate(fresh.clone())));
    sync1.peer_connected(&id2, &features);
    exchange((&sync1, id1), (&sync2, id2));
    assert!(sync2.should_forward_to(&id1, &GossipMessage::ChannelUpdate(fresh)));
}

#[test]
fn queries_for_another_chain_get_an_empty_answer() {
    let graph = NetworkGraph::new(CHAIN);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(9).pubkey();
    let q = lightning_core::ln::msgs::QueryShortChannelIds {
        chain_hash: ChainHash::TESTNET3,
        short_channel_ids: vec![],
        query_flags: None,
    };
    assert_eq!(sync.handle_query_short_channel_ids(&peer, &q), Err(GossipError::WrongChain));
    assert!(sync.get_and_clear_pending_gossip_events().is_empty());
    match &drain_query_replies(&sync, &peer)[..] {
        [GossipMessage::ReplyShortChannelIdsEnd(end)] => assert!(!end.full_information),
        other => panic!("{other:?}"),
    }
}

#[test]
fn next_announcement_walks_for_initial_sync() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let anns: Vec<ChannelAnnouncement> =
        vec![channel_announcement(a, b, 10, CHAIN), channel_announcement(b, c, 20, CHAIN)];
    for ann in &anns {
        graph.update_channel_from_announcement(ann, no_utxo()).unwrap();
    }
    // Channels without a signed update are not served (BOLT 7).
    assert!(graph.get_next_channel_announcement(0).is_none());
    graph.update_channel(&channel_update(a, b, 10, Policy::default(), CHAIN)).unwrap();
    graph.update_channel(&channel_update(c, b, 20, Policy::default(), CHAIN)).unwrap();
    assert_eq!(graph.get_next_channel_announcement(0).unwrap().0, anns[0]);
    assert_eq!(graph.get_next_channel_announcement(11).unwrap().0, anns[1]);
    assert!(graph.get_next_channel_announcement(21).is_none());
    graph.update_node_from_announcement(&node_announcement(a, 1)).unwrap();
    graph.update_node_from_announcement(&node_announcement(c, 1)).unwrap();
    let first = graph.get_next_node_announcement(None).unwrap();
    let first_id = lightning_core::routing::gossip::NodeId::from_pubkey(&first.contents.node_id);
    let second = graph.get_next_node_announcement(Some(&first_id)).unwrap();
    assert_ne!(first, second);
    let second_id = lightning_core::routing::gossip::NodeId::from_pubkey(&second.contents.node_id);
    assert!(graph.get_next_node_announcement(Some(&second_id)).is_none());
}

#[test]
fn channel_range_replies_cover_the_range_in_order() {
    use lightning_core::ln::msgs::gossip::{QUERY_OPTION_CHECKSUMS, QUERY_OPTION_TIMESTAMPS};
    use lightning_core::ln::msgs::QueryChannelRange;
    // 6,000 channels over 600 blocks from 700,000, ten per block.
    let graph = NetworkGraph::new(CHAIN);
    let p = Policy { timestamp: 77, ..Default::default() };
    for i in 0..6000u64 {
        let (a, b) = (TestNode::new((i % 97 + 1) as u8), TestNode::new((i % 89 + 120) as u8));
        let scid = ((700_000 + i / 10) << 40) | (i % 10) << 16;
        add_trusted_channel(&graph, a, b, scid, 10_000_000, Some(p), None);
    }
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(250).pubkey();
    let query = QueryChannelRange {
        chain_hash: CHAIN,
        first_blocknum: 700_100,
        number_of_blocks: 400,
        query_option: Some(QUERY_OPTION_TIMESTAMPS | QUERY_OPTION_CHECKSUMS),
    };
    sync.handle_query_channel_range(&peer, &query).unwrap();
    let replies: Vec<_> = drain_query_replies(&sync, &peer)
        .into_iter()
        .map(|m| match m {
            GossipMessage::ReplyChannelRange(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    // 4,000 ids, at most 2,600 per reply with both TLVs.
    assert_eq!(replies.len(), 2);
    let mut next_block = query.first_blocknum;
    let mut all = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.first_blocknum, next_block, "replies are contiguous");
        next_block = r.first_blocknum + r.number_of_blocks;
        assert_eq!(r.sync_complete, i + 1 == replies.len());
        assert!(r.short_channel_ids.windows(2).all(|w| w[0] < w[1]));
        assert!(r
            .short_channel_ids
            .iter()
            .all(|s| s.block_height() >= r.first_blocknum && s.block_height() < next_block));
        let ts = r.timestamps.as_ref().unwrap();
        assert_eq!(ts.len(), r.short_channel_ids.len());
        assert!(ts.iter().all(|t| t.0 == 77 || t.1 == 77));
        assert_eq!(r.checksums.as_ref().unwrap().len(), r.short_channel_ids.len());
        // Each reply fits in a message.
        assert!(lightning_core::ln::wire::encode(r).len() <= 65535);
        all.extend(r.short_channel_ids.iter().map(|s| s.0));
    }
    assert_eq!(next_block, 700_500);
    assert_eq!(all.len(), 4000);
    let expected: Vec<u64> =
        graph.read_only().short_channel_ids().filter(|s| (700_100..700_500).contains(&(s >> 40))).collect();
    assert_eq!(all, expected);
}

#[test]
fn a_block_with_more_channels_than_fit_in_one_reply_is_split_across_replies() {
    use lightning_core::ln::msgs::gossip::{QUERY_OPTION_CHECKSUMS, QUERY_OPTION_TIMESTAMPS};
    use lightning_core::ln::msgs::QueryChannelRange;
    // 10 channels in block 699,999, 6,000 in block 700,000, 10 in 700,001.
    let graph = NetworkGraph::new(CHAIN);
    let p = Policy { timestamp: 77, ..Default::default() };
    let add = |i: u64, block: u64, tx: u64| {
        let (a, b) = (TestNode::new((i % 97 + 1) as u8), TestNode::new((i % 89 + 120) as u8));
        add_trusted_channel(&graph, a, b, (block << 40) | (tx << 16), 10_000_000, Some(p), None);
    };
    for i in 0..10 {
        add(i, 699_999, i);
    }
    for i in 0..6000 {
        add(i, 700_000, i);
    }
    for i in 0..10 {
        add(i, 700_001, i);
    }
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(250).pubkey();
    let query = QueryChannelRange {
        chain_hash: CHAIN,
        first_blocknum: 699_000,
        number_of_blocks: 2_000,
        query_option: Some(QUERY_OPTION_TIMESTAMPS | QUERY_OPTION_CHECKSUMS),
    };
    sync.handle_query_channel_range(&peer, &query).unwrap();
    let replies: Vec<_> = drain_query_replies(&sync, &peer)
        .into_iter()
        .map(|m| match m {
            GossipMessage::ReplyChannelRange(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    // The first reply ends at the block boundary before the big block; the
    // big block then takes 2,600 + 2,600 + 800 ids (its last reply also
    // carrying the next block's 10).
    let sizes: Vec<usize> = replies.iter().map(|r| r.short_channel_ids.len()).collect();
    assert_eq!(sizes, vec![10, 2600, 2600, 810]);
    let ranges: Vec<(u32, u32)> = replies.iter().map(|r| (r.first_blocknum, r.number_of_blocks)).collect();
    assert_eq!(ranges, vec![(699_000, 1_000), (700_000, 1), (700_000, 1), (700_000, 1_000)]);
    let mut all = Vec::new();
    let mut prev_first = 0;
    for (i, r) in replies.iter().enumerate() {
        assert!(r.first_blocknum >= prev_first, "BOLT 7: first_blocknum never decreases");
        prev_first = r.first_blocknum;
        assert_eq!(r.sync_complete, i + 1 == replies.len());
        assert!(r
            .short_channel_ids
            .iter()
            .all(|s| (r.first_blocknum..r.first_blocknum + r.number_of_blocks).contains(&s.block_height())));
        // Every reply encodes whole and fits in a message.
        let encoded = lightning_core::ln::wire::try_encode(r).expect("reply encodes");
        assert!(encoded.len() <= 65535, "{} bytes", encoded.len());
        all.extend(r.short_channel_ids.iter().map(|s| s.0));
    }
    let last = replies.last().unwrap();
    assert_eq!(last.first_blocknum + last.number_of_blocks, 701_000);
    assert_eq!(all, graph.read_only().short_channel_ids().collect::<Vec<_>>());
}

#[test]
fn a_reply_too_long_for_a_message_is_not_encoded_truncated() {
    use lightning_core::ln::msgs::ReplyChannelRange;
    use lightning_core::ln::types::ShortChannelId;
    let reply = ReplyChannelRange {
        chain_hash: CHAIN,
        first_blocknum: 0,
        number_of_blocks: 1,
        sync_complete: true,
        short_channel_ids: (0..9000).map(ShortChannelId).collect(),
        timestamps: None,
        checksums: None,
    };
    assert!(lightning_core::ln::wire::try_encode(&reply).is_err());
}

#[test]
fn only_the_first_few_peers_are_asked_for_all_gossip_when_no_time_is_known() {
    use lightning_core::ln::msgs::GossipTimestampFilter;
    let graph = NetworkGraph::new(CHAIN);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let mut features = InitFeatures::empty();
    features.set_gossip_queries_optional();
    let peers: Vec<PublicKey> = (200..205).map(|i| TestNode::new(i).pubkey()).collect();
    for peer in &peers {
        sync.peer_connected(peer, &features);
    }
    let events = sync.get_and_clear_pending_gossip_events();
    let sent_to = |peer: &PublicKey| -> Vec<GossipMessage> {
        events
            .iter()
            .filter_map(|e| match e {
                GossipSendEvent::SendToPeer { node_id, msg } if node_id == peer => Some(msg.clone()),
                _ => None,
            })
            .collect()
    };
    for (i, peer) in peers.iter().enumerate() {
        let msgs = sent_to(peer);
        let Some(GossipMessage::GossipTimestampFilter(GossipTimestampFilter {
            first_timestamp,
            timestamp_range,
            ..
        })) = msgs.first()
        else {
            panic!("{msgs:?}")
        };
        if i < 3 {
            assert_eq!((*first_timestamp, *timestamp_range), (0, u32::MAX), "peer {i}: everything");
            assert!(matches!(msgs.get(1), Some(GossipMessage::QueryChannelRange(_))), "peer {i}");
        } else {
            assert_eq!((*first_timestamp, *timestamp_range), (u32::MAX, 0), "peer {i}: nothing relayed");
            assert_eq!(msgs.len(), 1, "peer {i}: no full sync");
        }
    }
    // Once a time is known, later peers are asked for the last hour.
    graph.remove_stale_channels_and_tracking_with_time(1_000_000);
    let late = TestNode::new(210).pubkey();
    sync.peer_connected(&late, &features);
    match &sync.get_and_clear_pending_gossip_events()[..] {
        [GossipSendEvent::SendToPeer { msg: GossipMessage::GossipTimestampFilter(f), .. }] => {
            assert_eq!((f.first_timestamp, f.timestamp_range), (1_000_000 - 3600, u32::MAX));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_query_before_the_first_is_answered_is_ignored() {
    use lightning_core::ln::msgs::QueryChannelRange;
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    add_trusted_channel(&graph, a, b, (700_000 << 40) | 1, 1_000_000, Some(Policy::default()), None);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(250).pubkey();
    let query = QueryChannelRange {
        chain_hash: CHAIN,
        first_blocknum: 0,
        number_of_blocks: u32::MAX,
        query_option: None,
    };
    sync.handle_query_channel_range(&peer, &query).unwrap();
    assert_eq!(sync.handle_query_channel_range(&peer, &query), Err(GossipError::QueryInProgress));
    assert_eq!(drain_query_replies(&sync, &peer).len(), 1, "one answer");
    // Once answered, the peer may ask again.
    sync.handle_query_channel_range(&peer, &query).unwrap();
    assert_eq!(drain_query_replies(&sync, &peer).len(), 1);
}

#[test]
fn updates_older_than_the_pruning_limit_are_refused_and_not_relayed() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 42, CHAIN), no_utxo()).unwrap();
    let now = 1_700_000_000u64;
    let limit = STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS;
    let at = |t: u64| Policy { timestamp: t as u32, ..Default::default() };
    // With no time known yet, any timestamp is taken.
    graph.update_channel(&channel_update(a, b, 42, at(1_000), CHAIN)).unwrap();
    graph.remove_stale_channels_and_tracking_with_time(now);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(9).pubkey();
    let stale = channel_update(a, b, 42, at(now - limit - 1), CHAIN);
    assert_eq!(sync.handle_channel_update(Some(&peer), &stale), Err(GossipError::StaleUpdate));
    assert_eq!(graph.update_channel_unsigned(&stale.contents), Err(GossipError::StaleUpdate));
    assert!(sync.get_and_clear_pending_gossip_events().is_empty(), "nothing relayed");
    // Right at the limit it is still fresh enough, and relayed.
    let at_limit = channel_update(a, b, 42, at(now - limit), CHAIN);
    sync.handle_channel_update(Some(&peer), &at_limit).unwrap();
    // (Pruning dropped the first update: this one is now the channel's only
    // one, so its announcement goes first.)
    assert!(matches!(
        &sync.get_and_clear_pending_gossip_events()[..],
        [
            GossipSendEvent::Broadcast { msg: GossipMessage::ChannelAnnouncement(_), .. },
            GossipSendEvent::Broadcast { msg: GossipMessage::ChannelUpdate(_), .. }
        ]
    ));
}

#[test]
fn a_channel_known_without_signatures_keeps_its_announcement_when_it_arrives() {
    let (a, b, c) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    // As rapid gossip sync loads it: no signed announcement to serve.
    add_trusted_channel(&graph, a, b, 42, 1_000_000, Some(Policy::default()), None);
    assert!(graph.get_next_channel_announcement(0).is_none());
    let ann = channel_announcement(a, b, 42, CHAIN);
    graph.update_channel_from_announcement(&ann, no_utxo()).unwrap();
    // Served once it has a signed update too (BOLT 7: no announcement
    // without a corresponding update).
    assert!(graph.get_next_channel_announcement(0).is_none());
    graph
        .update_channel(&channel_update(a, b, 42, Policy { timestamp: 2_000, ..Default::default() }, CHAIN))
        .unwrap();
    assert_eq!(graph.get_next_channel_announcement(0).unwrap().0, ann);
    // What was learned before stays.
    assert_eq!(graph.read_only().channel(42).unwrap().capacity_sats, Some(1_000_000));
    assert_eq!(graph.update_channel_from_announcement(&ann, no_utxo()), Err(GossipError::DuplicateChannel));
    // An announcement of that scid between other nodes is still refused.
    let other = channel_announcement(a, c, 42, CHAIN);
    assert_eq!(graph.update_channel_from_announcement(&other, no_utxo()), Err(GossipError::DuplicateChannel));
    assert_eq!(graph.get_next_channel_announcement(0).unwrap().0, ann);
}

/// BOLT 7 (current text): no relayed gossip to any peer before it sends a
/// `gossip_timestamp_filter`, with or without `gossip_queries`; a peer without
/// `gossip_queries` is sent a filter asking only for its own gossip.
#[test]
fn peers_without_gossip_queries_get_relayed_gossip_only_once_they_ask() {
    use lightning_core::ln::msgs::GossipTimestampFilter;
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 42, CHAIN), no_utxo()).unwrap();
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(9).pubkey();
    sync.peer_connected(&peer, &InitFeatures::empty());
    match &sync.get_and_clear_pending_gossip_events()[..] {
        [GossipSendEvent::SendToPeer { msg: GossipMessage::GossipTimestampFilter(f), node_id }] => {
            assert_eq!(*node_id, peer);
            assert_eq!((f.first_timestamp, f.timestamp_range), (u32::MAX, 0));
        }
        other => panic!("{other:?}"),
    }
    let update = GossipMessage::ChannelUpdate(channel_update(a, b, 42, Policy::default(), CHAIN));
    assert!(!sync.should_forward_to(&peer, &update), "no filter received yet");
    let filter = GossipTimestampFilter { chain_hash: CHAIN, first_timestamp: 0, timestamp_range: u32::MAX };
    sync.handle_gossip_timestamp_filter(&peer, &filter).unwrap();
    assert!(sync.should_forward_to(&peer, &update));
}

#[test]
fn a_range_starting_past_the_largest_block_height_gets_no_ids() {
    use lightning_core::ln::msgs::QueryChannelRange;
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    add_trusted_channel(&graph, a, b, 1, 1_000_000, Some(Policy::default()), None);
    add_trusted_channel(&graph, a, b, (0xff_ffff << 40) | 1, 1_000_000, Some(Policy::default()), None);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(250).pubkey();
    for (first_blocknum, expected) in [(1 << 24, vec![]), ((1 << 24) - 1, vec![(0xff_ffff << 40) | 1])] {
        let query =
            QueryChannelRange { chain_hash: CHAIN, first_blocknum, number_of_blocks: 10, query_option: None };
        sync.handle_query_channel_range(&peer, &query).unwrap();
        match &drain_query_replies(&sync, &peer)[..] {
            [GossipMessage::ReplyChannelRange(r)] => {
                assert!(r.sync_complete);
                assert_eq!((r.first_blocknum, r.number_of_blocks), (first_blocknum, 10));
                assert_eq!(r.short_channel_ids.iter().map(|s| s.0).collect::<Vec<_>>(), expected);
            }
            other => panic!("{other:?}"),
        }
    }
}

fn filter(first_timestamp: u32, timestamp_range: u32) -> lightning_core::ln::msgs::GossipTimestampFilter {
    lightning_core::ln::msgs::GossipTimestampFilter { chain_hash: CHAIN, first_timestamp, timestamp_range }
}

/// BOLT 7 (`gossip_timestamp_filter` receiver): "If a `channel_announcement`
/// has no corresponding `channel_update`s: MUST NOT send the
/// `channel_announcement`", "MUST consider whether to send the
/// `channel_announcement` after receiving the first corresponding
/// `channel_update`", and it goes "prior to any corresponding
/// `channel_update`s".
#[test]
fn channel_announcements_are_relayed_only_right_before_their_first_update() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let (origin, everything, later) =
        (TestNode::new(7).pubkey(), TestNode::new(8).pubkey(), TestNode::new(9).pubkey());
    sync.handle_gossip_timestamp_filter(&everything, &filter(0, u32::MAX)).unwrap();
    sync.handle_gossip_timestamp_filter(&later, &filter(2_000, 1_000)).unwrap();

    let ann = channel_announcement(a, b, 42, CHAIN);
    sync.handle_channel_announcement(Some(&origin), &ann).unwrap();
    assert!(sync.get_and_clear_pending_gossip_events().is_empty(), "no update yet: not relayed");
    let ann_msg = GossipMessage::ChannelAnnouncement(ann.clone());
    assert!(!sync.should_forward_to(&everything, &ann_msg), "not sent to a peer that wants everything");
    assert_eq!(sync.get_next_channel_announcement(0), None, "a graph walk skips it");

    // The first update brings the announcement out, right before it.
    let ab = channel_update(a, b, 42, Policy { timestamp: 1_000, ..Default::default() }, CHAIN);
    sync.handle_channel_update(Some(&origin), &ab).unwrap();
    let relayed = |msg| GossipSendEvent::Broadcast { msg, except_node_id: Some(origin), ours: false };
    assert_eq!(
        sync.get_and_clear_pending_gossip_events(),
        vec![relayed(ann_msg.clone()), relayed(GossipMessage::ChannelUpdate(ab.clone()))]
    );
    assert!(sync.should_forward_to(&everything, &ann_msg));
    assert!(!sync.should_forward_to(&later, &ann_msg), "its only update is before that window");
    let (served, update_1, update_2) = sync.get_next_channel_announcement(0).unwrap();
    assert_eq!(served, ann);
    assert_eq!(update_1.or(update_2), Some(ab.clone()));

    // Later updates come alone; the announcement takes their timestamps.
    let ba = channel_update(b, a, 42, Policy { timestamp: 2_500, ..Default::default() }, CHAIN);
    sync.handle_channel_update(Some(&origin), &ba).unwrap();
    assert_eq!(sync.get_and_clear_pending_gossip_events(), vec![relayed(GossipMessage::ChannelUpdate(ba))]);
    assert!(sync.should_forward_to(&later, &ann_msg));

    // An announcement of a channel we do not know is not sent either.
    let unknown = GossipMessage::ChannelAnnouncement(channel_announcement(a, b, 43, CHAIN));
    assert!(!sync.should_forward_to(&everything, &unknown));
}

/// Our own gossip (`from` `None`) is marked `ours`, so the peer manager sends
/// it whatever the peers' filters; the announcement of our channel goes out
/// with our first update.
#[test]
fn our_own_gossip_is_marked_to_ignore_peer_filters() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let ann = channel_announcement(a, b, 42, CHAIN);
    sync.handle_channel_announcement(None, &ann).unwrap();
    assert!(sync.get_and_clear_pending_gossip_events().is_empty());
    let ab = channel_update(a, b, 42, Policy { timestamp: 1_000, ..Default::default() }, CHAIN);
    sync.handle_channel_update(None, &ab).unwrap();
    let na = node_announcement(a, 1_000);
    sync.handle_node_announcement(None, &na).unwrap();
    let ours = |msg| GossipSendEvent::Broadcast { msg, except_node_id: None, ours: true };
    assert_eq!(
        sync.get_and_clear_pending_gossip_events(),
        vec![
            ours(GossipMessage::ChannelAnnouncement(ann)),
            ours(GossipMessage::ChannelUpdate(ab)),
            ours(GossipMessage::NodeAnnouncement(na))
        ]
    );
}

/// A signed update kept for a channel known without its announcement (from
/// a trusted source): when the announcement arrives it is relayed at once,
/// followed by that update.
#[test]
fn an_announcement_arriving_after_signed_updates_is_relayed_with_them() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    add_trusted_channel(&graph, a, b, 42, 1_000_000, None, None);
    let ab = channel_update(a, b, 42, Policy { timestamp: 1_000, ..Default::default() }, CHAIN);
    graph.update_channel(&ab).unwrap();
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let origin = TestNode::new(7).pubkey();
    let ann = channel_announcement(a, b, 42, CHAIN);
    sync.handle_channel_announcement(Some(&origin), &ann).unwrap();
    let relayed = |msg| GossipSendEvent::Broadcast { msg, except_node_id: Some(origin), ours: false };
    assert_eq!(
        sync.get_and_clear_pending_gossip_events(),
        vec![relayed(GossipMessage::ChannelAnnouncement(ann)), relayed(GossipMessage::ChannelUpdate(ab))]
    );
}

/// `graph_walk_wanted`: only a filter that can match something we hold.
#[test]
fn a_graph_walk_is_wanted_only_for_a_filter_that_can_match() {
    let (a, b, _) = nodes();
    let graph = NetworkGraph::new(CHAIN);
    graph.update_channel_from_announcement(&channel_announcement(a, b, 42, CHAIN), no_utxo()).unwrap();
    graph
        .update_channel(&channel_update(a, b, 42, Policy { timestamp: 1_000, ..Default::default() }, CHAIN))
        .unwrap();
    graph.update_node_from_announcement(&node_announcement(b, 1_500)).unwrap();
    let sync: P2PGossipSync<&NetworkGraph, NoUtxoLookup> = P2PGossipSync::new(&graph, None);
    let peer = TestNode::new(7).pubkey();
    assert!(!sync.graph_walk_wanted(&peer), "no filter");
    for (first, range, wanted) in
        [(u32::MAX, 0, false), (0, 0, false), (1_501, u32::MAX, false), (1_500, 1, true), (0, u32::MAX, true)]
    {
        sync.handle_gossip_timestamp_filter(&peer, &filter(first, range)).unwrap();
        assert_eq!(sync.graph_walk_wanted(&peer), wanted, "filter {first}/{range}");
    }
}
