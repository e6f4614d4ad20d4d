//! Gossip sync between two nodes over their `PeerManager`s in memory: the
//! second node starts empty and learns the first node's signed graph through
//! the encrypted transport (channel range queries, short channel id queries
//! and the timestamp filter), with `P2PGossipSync` as each node's routing
//! handler.

mod routing_util;

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::events::{MessageSendEvent, MessageSendEventsProvider};
use lightning_core::ln::features::{InitFeatures, NodeFeatures};
use lightning_core::ln::msgs::gossip::{QUERY_OPTION_CHECKSUMS, QUERY_OPTION_TIMESTAMPS};
use lightning_core::ln::msgs::{
    BaseMessageHandler, ChannelAnnouncement, ChannelUpdate, ErroringMessageHandler, GossipTimestampFilter,
    IgnoringMessageHandler, Init, LightningError, NodeAnnouncement, QueryChannelRange, QueryShortChannelIds,
    RoutingMessageHandler,
};
use lightning_core::ln::peer_handler::{MessageHandler, PeerManager, SocketDescriptor};
use lightning_core::ln::peer_handler::{
    MAX_GRAPH_ITEMS_VISITED_PER_FLUSH, OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES,
};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::GossipMessage;
use lightning_core::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning_core::routing::utxo::NoUtxoLookup;
use lightning_core::sign::KeysManager;
use lightning_core::util::logger::NullLogger;
use lightning_core::util::ser::{decode_exact, Writeable};
use routing_util::*;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const CHAIN: ChainHash = ChainHash::REGTEST;

/// A socket whose peer reads what it is sent from a shared buffer.
#[derive(Clone)]
struct Pipe {
    id: u8,
    sent: Arc<Mutex<Vec<u8>>>,
    /// Bytes the socket still takes (`None`: no limit).
    room: Arc<Mutex<Option<usize>>>,
}

fn pipe(id: u8) -> Pipe {
    Pipe { id, sent: Arc::new(Mutex::new(Vec::new())), room: Arc::new(Mutex::new(None)) }
}
impl PartialEq for Pipe {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for Pipe {}
impl Hash for Pipe {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}
impl SocketDescriptor for Pipe {
    fn send_data(&mut self, data: &[u8], _: bool) -> usize {
        let mut room = self.room.lock().unwrap();
        let n = room.map_or(data.len(), |r| r.min(data.len()));
        if let Some(r) = room.as_mut() {
            *r -= n;
        }
        self.sent.lock().unwrap().extend_from_slice(&data[..n]);
        n
    }
    fn disconnect_socket(&mut self) {}
}

type Gossip = P2PGossipSync<Arc<NetworkGraph>, NoUtxoLookup>;
type Pm = PeerManager<
    Pipe,
    Arc<ErroringMessageHandler>,
    Arc<Counting>,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

/// A node's gossip handler that records every gossip message it receives.
struct Counting {
    inner: Gossip,
    received: Mutex<Vec<GossipMessage>>,
    /// Graph items the peer manager looked at to walk our graph to a peer.
    visits: AtomicUsize,
}
impl std::ops::Deref for Counting {
    type Target = Gossip;
    fn deref(&self) -> &Gossip {
        &self.inner
    }
}
impl Counting {
    /// How many messages of this wire type were received.
    fn count(&self, type_id: u16) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.encode_with_type()[..2] == type_id.to_be_bytes())
            .count()
    }
    fn take_received(&self) -> Vec<GossipMessage> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}
impl MessageSendEventsProvider for Counting {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.inner.get_and_clear_pending_msg_events()
    }
}
impl BaseMessageHandler for Counting {
    fn peer_connected(&self, id: PublicKey, init: &Init, inbound: bool) -> Result<(), ()> {
        BaseMessageHandler::peer_connected(&self.inner, id, init, inbound)
    }
    fn peer_disconnected(&self, id: PublicKey) {
        BaseMessageHandler::peer_disconnected(&self.inner, id)
    }
    fn provided_node_features(&self) -> NodeFeatures {
        self.inner.provided_node_features()
    }
    fn provided_init_features(&self, id: PublicKey) -> InitFeatures {
        self.inner.provided_init_features(id)
    }
}
impl RoutingMessageHandler for Counting {
    fn handle_gossip_message(&self, from: PublicKey, msg: GossipMessage) -> Result<(), LightningError> {
        self.received.lock().unwrap().push(msg.clone());
        self.inner.handle_gossip_message(from, msg)
    }
    fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        self.visits.fetch_add(1, Ordering::Relaxed);
        RoutingMessageHandler::get_next_channel_announcement(&self.inner, starting_scid)
    }
    fn get_next_node_announcement(&self, starting_point: Option<&PublicKey>) -> Option<NodeAnnouncement> {
        self.visits.fetch_add(1, Ordering::Relaxed);
        RoutingMessageHandler::get_next_node_announcement(&self.inner, starting_point)
    }
    fn should_forward_to(&self, peer: &PublicKey, msg: &GossipMessage) -> bool {
        RoutingMessageHandler::should_forward_to(&self.inner, peer, msg)
    }
    fn graph_walk_wanted(&self, their_node_id: &PublicKey) -> bool {
        RoutingMessageHandler::graph_walk_wanted(&self.inner, their_node_id)
    }
    fn get_next_query_replies(&self, their_node_id: &PublicKey) -> Vec<GossipMessage> {
        RoutingMessageHandler::get_next_query_replies(&self.inner, their_node_id)
    }
    fn processing_queue_high(&self) -> bool {
        RoutingMessageHandler::processing_queue_high(&self.inner)
    }
}

fn node(seed: u8, graph: Arc<NetworkGraph>) -> Pm {
    let gossip = P2PGossipSync::new(graph, None::<NoUtxoLookup>);
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::new(Counting {
            inner: gossip,
            received: Mutex::new(Vec::new()),
            visits: AtomicUsize::new(0),
        }),
        custom_message_handler: IgnoringMessageHandler,
    };
    PeerManager::new(handlers, CHAIN, KeysManager::new(&[seed; 32], 0, 0), NullLogger).unwrap()
}

/// A signed graph of `channels` channels over 30 nodes, with both updates and
/// every node announced.
fn signed_graph(channels: u64) -> NetworkGraph {
    let graph = NetworkGraph::new(CHAIN);
    let nodes: Vec<TestNode> = (1..=30).map(TestNode::new).collect();
    let mut scid = 0u64;
    let mut with_channels = std::collections::BTreeSet::new();
    'outer: for i in 0..nodes.len() {
        for j in (i + 1)..nodes.len() {
            if scid == channels {
                break 'outer;
            }
            scid += 1;
            with_channels.extend([i, j]);
            let id = (700_000 + scid) << 40 | scid;
            graph
                .update_channel_from_announcement(
                    &channel_announcement(nodes[i], nodes[j], id, CHAIN),
                    None::<&NoUtxoLookup>,
                )
                .unwrap();
            let p = Policy { timestamp: 1_000 + scid as u32, ..Default::default() };
            graph.update_channel(&channel_update(nodes[i], nodes[j], id, p, CHAIN)).unwrap();
            graph.update_channel(&channel_update(nodes[j], nodes[i], id, p, CHAIN)).unwrap();
        }
    }
    for i in with_channels {
        graph.update_node_from_announcement(&node_announcement(nodes[i], 50)).unwrap();
    }
    graph
}

/// Shuttles bytes and runs event processing until both sides are quiet.
fn pump(a: &Pm, pa: &mut Pipe, b: &Pm, pb: &mut Pipe) {
    for _ in 0..10_000 {
        a.process_events();
        b.process_events();
        let to_b = std::mem::take(&mut *pa.sent.lock().unwrap());
        let to_a = std::mem::take(&mut *pb.sent.lock().unwrap());
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        if !to_b.is_empty() {
            b.read_event(pb, &to_b).unwrap();
        }
        if !to_a.is_empty() {
            a.read_event(pa, &to_a).unwrap();
        }
    }
    panic!("gossip never went quiet");
}

#[test]
fn empty_node_learns_the_graph_over_the_peer_manager() {
    let graph_a = Arc::new(signed_graph(300));
    let graph_b = Arc::new(NetworkGraph::new(CHAIN));
    // B knows the time, so its gossip_timestamp_filter asks only for the last
    // hour (nothing of A's graph, whose timestamps are around 1,000): the
    // graph can only come through B's queries.
    graph_b.remove_stale_channels_and_tracking_with_time(100_000);
    let a = node(1, graph_a.clone());
    let b = node(2, graph_b.clone());
    let (mut pa, mut pb) = (pipe(1), pipe(2));
    let act_one = b.new_outbound_connection(a.our_node_id(), pb.clone(), None).unwrap();
    a.new_inbound_connection(pa.clone(), None).unwrap();
    a.read_event(&mut pa, &act_one).unwrap();
    pump(&a, &mut pa, &b, &mut pb);

    assert_eq!(a.list_peers().len(), 1);
    assert!(a.list_peers()[0].init_features.supports_gossip_queries());
    let (ha, hb) = (&a.handlers().route_handler, &b.handlers().route_handler);
    assert_eq!(ha.count(265), 1, "B sent its gossip_timestamp_filter");
    assert_eq!(ha.count(263), 1, "B sent one query_channel_range");
    assert_eq!(hb.count(264), 1, "A answered it with one reply_channel_range (300 ids)");
    assert_eq!(ha.count(261), 1, "B asked for the 300 channels in one query_short_channel_ids");
    assert_eq!(hb.count(262), 1, "A ended its answer");
    assert_eq!(hb.count(256), 300, "each channel_announcement came once, as an answer");
    assert_eq!(hb.count(258), 600);
    let (ra, rb) = (graph_a.read_only(), graph_b.read_only());
    assert_eq!(rb.channel_count(), 300);
    for scid in ra.short_channel_ids().collect::<Vec<_>>() {
        let (ca, cb) = (ra.channel(scid).unwrap(), rb.channel(scid).expect("channel learned"));
        assert_eq!(ca.one_to_two, cb.one_to_two, "scid {scid}");
        assert_eq!(ca.two_to_one, cb.two_to_one, "scid {scid}");
    }
    for n in (1..=30).map(TestNode::new) {
        assert_eq!(
            ra.node(&n.node_id()).unwrap().announcement_info,
            rb.node(&n.node_id()).expect("node learned").announcement_info
        );
    }
}

#[test]
fn fresh_gossip_is_relayed_to_peers_but_not_back_to_its_origin() {
    // a -- b -- c: an update b learns from a reaches c, not a again.
    let graph = Arc::new(signed_graph(2));
    let (a, b, c) =
        (node(1, graph.clone()), node(2, Arc::new(signed_graph(2))), node(3, Arc::new(signed_graph(2))));
    let p = pipe;
    let (mut ab, mut ba, mut bc, mut cb) = (p(1), p(2), p(3), p(4));
    let act = a.new_outbound_connection(b.our_node_id(), ab.clone(), None).unwrap();
    b.new_inbound_connection(ba.clone(), None).unwrap();
    b.read_event(&mut ba, &act).unwrap();
    pump(&a, &mut ab, &b, &mut ba);
    let act = c.new_outbound_connection(b.our_node_id(), cb.clone(), None).unwrap();
    b.new_inbound_connection(bc.clone(), None).unwrap();
    b.read_event(&mut bc, &act).unwrap();
    pump(&c, &mut cb, &b, &mut bc);

    // a hands b a newer update for channel 1.
    let (n1, n2) = (TestNode::new(1), TestNode::new(2));
    let id = (700_001u64 << 40) | 1;
    let newer = channel_update(
        n1,
        n2,
        id,
        Policy { timestamp: 5_000, fee_base_msat: 7, ..Default::default() },
        CHAIN,
    );
    graph.update_channel(&newer).unwrap();
    let encoded = lightning_core::ln::wire::encode(&newer);
    assert_eq!(a.broadcast_gossip(&encoded, None), 1);
    pump(&a, &mut ab, &b, &mut ba);
    pump(&c, &mut cb, &b, &mut bc);
    let fee_at = |pm_graph: &NetworkGraph| {
        let ro = pm_graph.read_only();
        let chan = ro.channel(id).unwrap();
        let dir = if TestNode::new(1).node_id() == chan.node_one { chan.one_to_two } else { chan.two_to_one };
        dir.unwrap().fees.base_msat
    };
    assert_eq!(fee_at(b.handlers().route_handler.network_graph()), 7, "b learned the update");
    assert_eq!(fee_at(c.handlers().route_handler.network_graph()), 7, "c got it relayed from b");
}

/// Connects `b` to `a` and runs the connection until it is quiet.
fn connect(a: &Pm, pa: &mut Pipe, b: &Pm, pb: &mut Pipe) {
    let act_one = b.new_outbound_connection(a.our_node_id(), pb.clone(), None).unwrap();
    a.new_inbound_connection(pa.clone(), None).unwrap();
    a.read_event(pa, &act_one).unwrap();
    pump(a, pa, b, pb);
}

#[test]
fn many_queries_in_one_read_hold_bounded_memory_and_are_answered_once() {
    // A: 300 signed channels plus 20,000 unsigned ones, 20 per block.
    let graph_a = signed_graph(300);
    let ends: Vec<TestNode> = (100..=160).map(TestNode::new).collect();
    let p = Policy { timestamp: 900, ..Default::default() };
    for i in 0..20_000u64 {
        let (x, y) = (ends[(i % 61) as usize], ends[((i % 61 + 1 + (i / 61) % 60) % 61) as usize]);
        let scid = ((600_000 + i / 20) << 40) | (i % 20);
        add_trusted_channel(&graph_a, x, y, scid, 1_000_000, Some(p), Some(p));
    }
    let all_scids: Vec<u64> = graph_a.read_only().short_channel_ids().collect();
    assert_eq!(all_scids.len(), 20_300);
    // B already has the same graph and knows the time: the connection's own
    // sync asks for nothing more.
    let graph_b: NetworkGraph = decode_exact(&graph_a.encode()).unwrap();
    graph_b.remove_stale_channels_and_tracking_with_time(100_000);
    let (a, b) = (node(1, Arc::new(graph_a)), node(2, Arc::new(graph_b)));
    let (mut pa, mut pb) = (pipe(1), pipe(2));
    connect(&a, &mut pa, &b, &mut pb);
    let (ha, hb) = (&a.handlers().route_handler, &b.handlers().route_handler);
    ha.take_received();
    hb.take_received();

    // B packs 40 full channel range queries (each answered by ~490 KB of
    // replies) and 5 queries for 100 signed channels each into one read.
    let range = QueryChannelRange {
        chain_hash: CHAIN,
        first_blocknum: 0,
        number_of_blocks: u32::MAX,
        query_option: Some(QUERY_OPTION_TIMESTAMPS | QUERY_OPTION_CHECKSUMS),
    };
    let signed: Vec<ShortChannelId> =
        all_scids.iter().filter(|s| *s >> 40 >= 700_000).map(|s| ShortChannelId(*s)).collect();
    assert_eq!(signed.len(), 300);
    let by_id = QueryShortChannelIds {
        chain_hash: CHAIN,
        short_channel_ids: signed[..100].to_vec(),
        query_flags: None,
    };
    for _ in 0..40 {
        assert_eq!(b.broadcast_gossip(&lightning_core::ln::wire::encode(&range), None), 1);
    }
    for _ in 0..5 {
        assert_eq!(b.broadcast_gossip(&lightning_core::ln::wire::encode(&by_id), None), 1);
    }
    let attack = std::mem::take(&mut *pb.sent.lock().unwrap());
    assert!(attack.len() <= 8 * 1024, "{} bytes", attack.len());

    // A's socket to B takes nothing for now: what A queues is what it holds.
    let bound = OUTBOUND_BUFFER_LIMIT_GENERATED_BYTES + 65_535 + 2 * 1024;
    *pa.room.lock().unwrap() = Some(0);
    a.read_event(&mut pa, &attack).unwrap();
    a.process_events();
    let held = a.outbound_queue_bytes(&b.our_node_id()).unwrap();
    assert!(held > 0 && held <= bound, "A holds {held} bytes for B (bound {bound})");

    // Now the socket drains 16 KiB at a time; A never holds more.
    let mut max_held = held;
    for round in 0.. {
        assert!(round < 10_000, "never drained");
        *pa.room.lock().unwrap() = Some(16 * 1024);
        a.write_buffer_space_avail(&mut pa).unwrap();
        a.process_events();
        max_held = max_held.max(a.outbound_queue_bytes(&b.our_node_id()).unwrap());
        let to_b = std::mem::take(&mut *pa.sent.lock().unwrap());
        if to_b.is_empty() {
            break;
        }
        b.read_event(&mut pb, &to_b).unwrap();
        b.process_events();
        let to_a = std::mem::take(&mut *pb.sent.lock().unwrap());
        if !to_a.is_empty() {
            a.read_event(&mut pa, &to_a).unwrap();
        }
    }
    assert!(max_held <= bound, "A held up to {max_held} bytes for B (bound {bound})");

    // The first query of each kind was answered in full; the others, sent
    // before their predecessor's answer was complete, were ignored.
    let received = hb.take_received();
    let replies: Vec<_> = received
        .iter()
        .filter_map(|m| match m {
            GossipMessage::ReplyChannelRange(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 8, "20,300 ids at most 2,600 per reply");
    let mut ids = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.sync_complete, i + 1 == replies.len());
        assert_eq!(r.timestamps.as_ref().unwrap().len(), r.short_channel_ids.len());
        assert_eq!(r.checksums.as_ref().unwrap().len(), r.short_channel_ids.len());
        ids.extend(r.short_channel_ids.iter().map(|s| s.0));
    }
    assert_eq!(ids, all_scids, "every channel exactly once, in order");
    let count = |t: u16| received.iter().filter(|m| m.encode_with_type()[..2] == t.to_be_bytes()).count();
    assert_eq!(count(262), 1, "one reply_short_channel_ids_end");
    assert_eq!(count(256), 100, "the first query's 100 announcements");
    assert_eq!(count(258), 200, "and their 200 updates");
}

/// `b` sends `a` a `gossip_timestamp_filter`, and the connection runs until it
/// is quiet.
fn send_filter(a: &Pm, pa: &mut Pipe, b: &Pm, pb: &mut Pipe, first_timestamp: u32, timestamp_range: u32) {
    let filter = GossipTimestampFilter { chain_hash: CHAIN, first_timestamp, timestamp_range };
    assert_eq!(b.broadcast_gossip(&lightning_core::ln::wire::encode(&filter), None), 1);
    pump(a, pa, b, pb);
}

fn wire_types(msgs: &[GossipMessage]) -> Vec<u16> {
    msgs.iter().map(|m| u16::from_be_bytes([m.encode_with_type()[0], m.encode_with_type()[1]])).collect()
}

#[test]
fn filters_that_match_nothing_start_no_graph_walk() {
    // A's gossip: channel updates at 1,001..=1,040, node announcements at 50.
    let graph_a = Arc::new(signed_graph(40));
    let graph_b = Arc::new(NetworkGraph::new(CHAIN));
    // B's filter on connection asks for the hour before 100,000: after all
    // of A's gossip.
    graph_b.remove_stale_channels_and_tracking_with_time(100_000);
    let (a, b) = (node(1, graph_a), node(2, graph_b));
    let (mut pa, mut pb) = (pipe(1), pipe(2));
    connect(&a, &mut pa, &b, &mut pb);
    let (ha, hb) = (&a.handlers().route_handler, &b.handlers().route_handler);
    assert_eq!(ha.count(265), 1, "B sent its filter");
    assert_eq!(ha.visits.load(Ordering::Relaxed), 0, "a filter after A's newest gossip: no walk");
    hb.take_received(); // B's own sync, through its queries

    // An empty window (as sent to peers without gossip_queries, or 0/0), or
    // one starting right after A's newest gossip, walks nothing either.
    for (first, range) in [(u32::MAX, 0), (0, 0), (1_041, u32::MAX)] {
        send_filter(&a, &mut pa, &b, &mut pb, first, range);
        assert_eq!(ha.visits.load(Ordering::Relaxed), 0, "filter {first}/{range}");
    }
    assert!(hb.take_received().is_empty());

    // A window holding only channel 40's updates: that channel alone.
    send_filter(&a, &mut pa, &b, &mut pb, 1_040, 1);
    assert!(ha.visits.load(Ordering::Relaxed) > 0);
    assert_eq!(wire_types(&hb.take_received()), vec![256, 258, 258]);

    // Everything: every channel (announcement first) and announced node.
    send_filter(&a, &mut pa, &b, &mut pb, 0, u32::MAX);
    let types = wire_types(&hb.take_received());
    assert_eq!(types.iter().filter(|t| **t == 256).count(), 40);
    assert_eq!(types.iter().filter(|t| **t == 258).count(), 80);
    assert_eq!(types.iter().filter(|t| **t == 257).count(), 30);
    assert_eq!(types[..3], [256, 258, 258]);
}

#[test]
fn our_own_gossip_reaches_peers_whatever_their_filter() {
    let (a, b) = (node(1, Arc::new(signed_graph(2))), node(2, Arc::new(signed_graph(2))));
    let (mut pa, mut pb) = (pipe(1), pipe(2));
    connect(&a, &mut pa, &b, &mut pb);
    // B asks for nothing but A's own gossip (BOLT 7, for a peer without
    // gossip_queries).
    send_filter(&a, &mut pa, &b, &mut pb, u32::MAX, 0);
    let (ha, hb) = (&a.handlers().route_handler, &b.handlers().route_handler);
    hb.take_received();

    let (n1, n2, n3) = (TestNode::new(1), TestNode::new(2), TestNode::new(3));
    let at = |timestamp| Policy { timestamp, ..Default::default() };
    // Relayed gossip (from another peer) is filtered out...
    let other_peer = TestNode::new(9).pubkey();
    let relayed = channel_update(n1, n2, (700_001u64 << 40) | 1, at(5_000), CHAIN);
    ha.handle_channel_update(Some(&other_peer), &relayed).unwrap();
    // ...ours is not: a new channel of ours, announced with its first update.
    let ours_scid = (800_000u64 << 40) | 7;
    let ann = channel_announcement(n1, n3, ours_scid, CHAIN);
    ha.handle_channel_announcement(None, &ann).unwrap();
    let upd = channel_update(n1, n3, ours_scid, at(6_000), CHAIN);
    ha.handle_channel_update(None, &upd).unwrap();
    a.process_events();
    pump(&a, &mut pa, &b, &mut pb);
    assert_eq!(
        hb.take_received(),
        vec![GossipMessage::ChannelAnnouncement(ann), GossipMessage::ChannelUpdate(upd)]
    );
}

/// A routing handler whose graph is `channels` made-up channels (one template
/// announcement and update, renumbered), all passing or all failing every
/// filter; it counts the items looked at.
struct Synthetic {
    channels: u64,
    ann: ChannelAnnouncement,
    upd: ChannelUpdate,
    matching: AtomicBool,
    visits: AtomicUsize,
}
impl MessageSendEventsProvider for Synthetic {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        Vec::new()
    }
}
impl BaseMessageHandler for Synthetic {
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
impl RoutingMessageHandler for Synthetic {
    fn handle_gossip_message(&self, _: PublicKey, _: GossipMessage) -> Result<(), LightningError> {
        Ok(())
    }
    fn get_next_channel_announcement(
        &self, starting_scid: u64,
    ) -> Option<(ChannelAnnouncement, Option<ChannelUpdate>, Option<ChannelUpdate>)> {
        self.visits.fetch_add(1, Ordering::Relaxed);
        let scid = starting_scid.max(1);
        if scid > self.channels {
            return None;
        }
        let (mut ann, mut upd) = (self.ann.clone(), self.upd.clone());
        ann.contents.short_channel_id = ShortChannelId(scid);
        upd.contents.short_channel_id = ShortChannelId(scid);
        Some((ann, Some(upd), None))
    }
    fn get_next_node_announcement(&self, _: Option<&PublicKey>) -> Option<NodeAnnouncement> {
        self.visits.fetch_add(1, Ordering::Relaxed);
        None
    }
    fn should_forward_to(&self, _: &PublicKey, _: &GossipMessage) -> bool {
        self.matching.load(Ordering::Relaxed)
    }
    fn processing_queue_high(&self) -> bool {
        false
    }
}

type SyntheticPm = PeerManager<
    Pipe,
    Arc<ErroringMessageHandler>,
    Arc<Synthetic>,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

/// Runs `s` (walking its graph as its flushes allow) and `b` until quiet.
fn pump_synthetic(s: &SyntheticPm, ps: &mut Pipe, b: &Pm, pb: &mut Pipe) {
    for _ in 0..10_000 {
        s.process_events();
        b.process_events();
        let to_b = std::mem::take(&mut *ps.sent.lock().unwrap());
        let to_s = std::mem::take(&mut *pb.sent.lock().unwrap());
        if to_s.is_empty() && to_b.is_empty() {
            return;
        }
        if !to_b.is_empty() {
            b.read_event(pb, &to_b).unwrap();
        }
        if !to_s.is_empty() {
            s.read_event(ps, &to_s).unwrap();
        }
    }
    panic!("never went quiet");
}

#[test]
fn a_graph_walk_looks_at_a_bounded_number_of_items_per_flush() {
    let channels = 2 * MAX_GRAPH_ITEMS_VISITED_PER_FLUSH as u64 + 500;
    let (n1, n2) = (TestNode::new(1), TestNode::new(2));
    let handler = Arc::new(Synthetic {
        channels,
        ann: channel_announcement(n1, n2, 1, CHAIN),
        upd: channel_update(n1, n2, 1, Policy::default(), CHAIN),
        matching: AtomicBool::new(false),
        visits: AtomicUsize::new(0),
    });
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: handler.clone(),
        custom_message_handler: IgnoringMessageHandler,
    };
    let s: SyntheticPm =
        PeerManager::new(handlers, CHAIN, KeysManager::new(&[1; 32], 0, 0), NullLogger).unwrap();
    let b = node(2, Arc::new(NetworkGraph::new(CHAIN)));
    let (mut ps, mut pb) = (pipe(1), pipe(2));
    let act_one = b.new_outbound_connection(s.our_node_id(), pb.clone(), None).unwrap();
    s.new_inbound_connection(ps.clone(), None).unwrap();
    s.read_event(&mut ps, &act_one).unwrap();
    pump_synthetic(&s, &mut ps, &b, &mut pb);
    assert_eq!(s.list_peers().len(), 1);

    // A filter nothing passes: the walk goes over the whole graph, at most
    // MAX_GRAPH_ITEMS_VISITED_PER_FLUSH items per flush, resuming each time.
    let filter = GossipTimestampFilter { chain_hash: CHAIN, first_timestamp: 0, timestamp_range: u32::MAX };
    let encoded_filter = lightning_core::ln::wire::encode(&filter);
    handler.visits.store(0, Ordering::Relaxed);
    assert_eq!(b.broadcast_gossip(&encoded_filter, None), 1);
    let to_s = std::mem::take(&mut *pb.sent.lock().unwrap());
    s.read_event(&mut ps, &to_s).unwrap();
    let mut deltas = vec![handler.visits.swap(0, Ordering::Relaxed)];
    loop {
        s.process_events();
        let delta = handler.visits.swap(0, Ordering::Relaxed);
        if delta == 0 {
            break;
        }
        deltas.push(delta);
        assert!(deltas.len() < 100, "the walk never ended");
    }
    assert!(deltas.iter().all(|d| *d <= MAX_GRAPH_ITEMS_VISITED_PER_FLUSH), "{deltas:?}");
    assert!(deltas.iter().filter(|d| **d > 0).count() >= 3, "{deltas:?}");
    // Every channel, the end of the channels, the end of the nodes.
    assert_eq!(deltas.iter().sum::<usize>() as u64, channels + 2);
    assert!(ps.sent.lock().unwrap().is_empty(), "nothing passed the filter");

    // A filter everything passes: every channel reaches B, across flushes.
    handler.matching.store(true, Ordering::Relaxed);
    assert_eq!(b.broadcast_gossip(&encoded_filter, None), 1);
    pump_synthetic(&s, &mut ps, &b, &mut pb);
    let hb = &b.handlers().route_handler;
    assert_eq!(hb.count(256), channels as usize);
    assert_eq!(hb.count(258), channels as usize);
}
