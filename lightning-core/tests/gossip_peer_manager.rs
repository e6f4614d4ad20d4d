//! Gossip sync between two nodes over their `PeerManager`s in memory: the
//! second node starts empty and learns the first node's signed graph through
//! the encrypted transport (channel range queries, short channel id queries
//! and the timestamp filter), with `P2PGossipSync` as each node's routing
//! handler.

mod routing_util;

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::msgs::{ErroringMessageHandler, IgnoringMessageHandler};
use lightning_core::ln::peer_handler::{MessageHandler, PeerManager, SocketDescriptor};
use lightning_core::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning_core::routing::utxo::NoUtxoLookup;
use lightning_core::sign::KeysManager;
use lightning_core::util::logger::NullLogger;
use routing_util::*;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

const CHAIN: ChainHash = ChainHash::REGTEST;

/// A socket whose peer reads what it is sent from a shared buffer.
#[derive(Clone)]
struct Pipe {
    id: u8,
    sent: Arc<Mutex<Vec<u8>>>,
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
        self.sent.lock().unwrap().extend_from_slice(data);
        data.len()
    }
    fn disconnect_socket(&mut self) {}
}

type Gossip = P2PGossipSync<Arc<NetworkGraph>, NoUtxoLookup>;
type Pm = PeerManager<
    Pipe,
    Arc<ErroringMessageHandler>,
    Arc<Gossip>,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

fn node(seed: u8, graph: Arc<NetworkGraph>) -> Pm {
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::new(P2PGossipSync::new(graph, None::<NoUtxoLookup>)),
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
    let a = node(1, graph_a.clone());
    let b = node(2, graph_b.clone());
    let mut pa = Pipe { id: 1, sent: Arc::new(Mutex::new(Vec::new())) };
    let mut pb = Pipe { id: 2, sent: Arc::new(Mutex::new(Vec::new())) };
    let act_one = b.new_outbound_connection(a.our_node_id(), pb.clone(), None).unwrap();
    a.new_inbound_connection(pa.clone(), None).unwrap();
    a.read_event(&mut pa, &act_one).unwrap();
    pump(&a, &mut pa, &b, &mut pb);

    assert_eq!(a.list_peers().len(), 1);
    assert!(a.list_peers()[0].init_features.supports_gossip_queries());
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
    let p = |id| Pipe { id, sent: Arc::new(Mutex::new(Vec::new())) };
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
