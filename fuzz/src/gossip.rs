//! Targets over the gossip graph and the router that reads it.

use crate::input::FuzzInput;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::ecdsa::Signature;
use lightning_core::bitcoin::secp256k1::{All, Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
use lightning_core::bitcoin::{Amount, ScriptBuf, TxOut};
use lightning_core::ln::features::{Bolt11InvoiceFeatures, ChannelFeatures, NodeFeatures};
use lightning_core::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, NodeAlias, NodeAnnouncement, SocketAddress,
    UnsignedChannelAnnouncement, UnsignedChannelUpdate, UnsignedNodeAnnouncement,
};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{
    GossipError, NetworkGraph, NodeAnnouncementInfo, NodeId, ReadOnlyNetworkGraph, RoutingFees,
};
use lightning_core::routing::router::{
    find_route, FirstHop, Path, PaymentParameters, RouteHint, RouteHintHop, RouteParameters, MAX_PATH_LENGTH,
};
use lightning_core::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters, ScoreUpdate,
};
use lightning_core::routing::utxo::{
    funding_script_pubkey, UtxoFuture, UtxoLookup, UtxoLookupError, UtxoResult,
};
use lightning_core::util::logger::NullLogger;
use lightning_core::util::ser::{decode_exact, Writeable};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Eight node keys (sorted by their encoding) and the context to sign with.
struct Keys {
    secp: Secp256k1<All>,
    secrets: Vec<SecretKey>,
    pubkeys: Vec<PublicKey>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let secp = Secp256k1::new();
        let mut pairs: Vec<(PublicKey, SecretKey)> = (1..=8u8)
            .map(|b| {
                let sk = SecretKey::from_slice(&[b; 32]).expect("small constant");
                (PublicKey::from_secret_key(&secp, &sk), sk)
            })
            .collect();
        pairs.sort_by_key(|(pk, _)| pk.serialize());
        Keys {
            secp,
            secrets: pairs.iter().map(|p| p.1).collect(),
            pubkeys: pairs.iter().map(|p| p.0).collect(),
        }
    })
}

impl Keys {
    fn sign(&self, hash: [u8; 32], key: usize) -> Signature {
        self.secp.sign_ecdsa(&SecpMessage::from_digest(hash), &self.secrets[key % 8])
    }
    fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.pubkeys.iter().position(|pk| NodeId::from_pubkey(pk) == *id)
    }
}

/// A UTXO lookup whose answer the input picks before each announcement.
struct FuzzUtxo {
    answer: RefCell<Option<UtxoResult>>,
}

impl UtxoLookup for FuzzUtxo {
    fn get_utxo(&self, _: &ChainHash, _: ShortChannelId) -> UtxoResult {
        self.answer.borrow_mut().take().unwrap_or(UtxoResult::Sync(Err(UtxoLookupError::UnknownTx)))
    }
}

fn chain(input: &mut FuzzInput<'_>) -> ChainHash {
    if input.u8() == 0xff {
        ChainHash::TESTNET3
    } else {
        ChainHash::BITCOIN
    }
}

fn small_scid(input: &mut FuzzInput<'_>) -> u64 {
    let b = input.u8();
    if b == 0xff {
        input.u64()
    } else {
        (b % 24) as u64
    }
}

/// Whether a signature check result is consistent with how the message was
/// signed: a bad signature must be refused, a good one never for its
/// signature.
fn check_signature_outcome(result: Result<(), GossipError>, good_signature: bool) {
    if good_signature {
        assert_ne!(result, Err(GossipError::InvalidSignature), "a valid signature was refused");
    } else {
        assert!(result.is_err(), "a message with a wrong signature was applied");
    }
}

/// Every index of the graph agrees with every other, as the public view shows.
fn assert_view_consistent(view: &ReadOnlyNetworkGraph<'_>) {
    let scids: Vec<u64> = view.short_channel_ids().collect();
    assert_eq!(scids.len(), view.channel_count());
    for scid in &scids {
        let info = view.channel(*scid).expect("listed channel exists");
        assert_eq!(info.short_channel_id, *scid);
        assert!(info.node_one < info.node_two, "channel {scid} has its nodes out of order");
        for node in [info.node_one, info.node_two] {
            let node = view.node(&node).expect("a channel's node exists");
            assert!(node.channels.contains(scid), "node does not list its channel {scid}");
        }
    }
    let nodes: Vec<NodeId> = view.node_ids().collect();
    assert_eq!(nodes.len(), view.node_count());
    for id in nodes {
        let node = view.node(&id).expect("listed node exists");
        assert!(!node.channels.is_empty(), "a node without channels is kept");
        for scid in &node.channels {
            let info = view.channel(*scid).expect("a node's channel exists");
            assert!(info.node_one == id || info.node_two == id, "node lists a channel of others");
        }
    }
}

/// Serializes the graph, reads it back and checks the copy is the same graph
/// and serializes to the same bytes.
fn assert_round_trips(graph: &NetworkGraph) {
    let bytes = graph.encode();
    let back: NetworkGraph = decode_exact(&bytes).expect("a serialized graph reads back");
    assert_eq!(back.encode(), bytes, "graph serializes differently after a round trip");
    let (a, b) = (graph.read_only(), back.read_only());
    assert_eq!(a.chain_hash(), b.chain_hash());
    assert!(a.short_channel_ids().eq(b.short_channel_ids()));
    for scid in a.short_channel_ids() {
        assert_eq!(a.channel(scid), b.channel(scid), "channel {scid} differs after a round trip");
    }
    assert!(a.node_ids().eq(b.node_ids()));
    for id in a.node_ids() {
        // The order of a node's channel list is not part of its state.
        let sorted = |n: Option<lightning_core::routing::gossip::NodeInfo>| {
            n.map(|mut n| {
                n.channels.sort_unstable();
                n
            })
        };
        assert_eq!(sorted(a.node(&id)), sorted(b.node(&id)), "node {id} differs after a round trip");
    }
    assert_view_consistent(&b);
}

/// Builds a `channel_announcement` between two of the fixed keys.
fn channel_announcement(input: &mut FuzzInput<'_>, k: &Keys) -> (ChannelAnnouncement, bool) {
    let (mut a, mut b) = ((input.u8() % 8) as usize, (input.u8() % 8) as usize);
    let flags = input.u8();
    if flags & 1 == 0 && a > b {
        core::mem::swap(&mut a, &mut b);
    }
    let features_len = (input.u8() % 3) as usize;
    let contents = UnsignedChannelAnnouncement {
        features: ChannelFeatures::from_le_bytes(input.bytes(features_len).to_vec()),
        chain_hash: chain(input),
        short_channel_id: ShortChannelId(small_scid(input)),
        node_id_1: k.pubkeys[a],
        node_id_2: k.pubkeys[b],
        bitcoin_key_1: k.pubkeys[(a + 4) % 8],
        bitcoin_key_2: k.pubkeys[(b + 4) % 8],
        excess_data: {
            let n = (input.u8() % 8) as usize;
            input.bytes(n).to_vec()
        },
    };
    let hash = contents.signing_hash();
    let good = flags & 2 == 0;
    let wrong = if good { 0 } else { 1 + (flags as usize >> 2) % 7 };
    let msg = ChannelAnnouncement {
        node_signature_1: k.sign(hash, a + wrong),
        node_signature_2: k.sign(hash, b),
        bitcoin_signature_1: k.sign(hash, (a + 4) % 8),
        bitcoin_signature_2: k.sign(hash, (b + 4) % 8),
        contents,
    };
    (msg, good)
}

/// Picks the UTXO lookup answer for the next announcement.
fn utxo_answer(
    input: &mut FuzzInput<'_>, c: &UnsignedChannelAnnouncement, futures: &mut Vec<UtxoFuture>,
) -> Option<UtxoResult> {
    let good_script = funding_script_pubkey(&c.bitcoin_key_1, &c.bitcoin_key_2);
    match input.u8() % 6 {
        0 | 1 => None,
        2 => Some(UtxoResult::Sync(Ok(TxOut {
            value: Amount::from_sat(input.u32() as u64 * 16),
            script_pubkey: good_script,
        }))),
        3 => Some(UtxoResult::Sync(Ok(TxOut {
            value: Amount::from_sat(1000),
            script_pubkey: ScriptBuf::new(),
        }))),
        4 => Some(UtxoResult::Sync(Err(UtxoLookupError::UnknownTx))),
        _ => {
            let future = UtxoFuture::new();
            futures.push(future.clone());
            Some(UtxoResult::Async(future))
        }
    }
}

fn channel_update(input: &mut FuzzInput<'_>, k: &Keys, graph: &NetworkGraph) -> (ChannelUpdate, bool) {
    let scid = small_scid(input);
    let flags = input.u8();
    let contents = UnsignedChannelUpdate {
        chain_hash: chain(input),
        short_channel_id: ShortChannelId(scid),
        timestamp: if flags & 4 == 0 { input.u8() as u32 } else { input.u32() },
        message_flags: if flags & 8 == 0 { 1 } else { input.u8() },
        channel_flags: input.u8() & 3,
        cltv_expiry_delta: input.u16(),
        htlc_minimum_msat: input.u32() as u64,
        fee_base_msat: input.u16() as u32,
        fee_proportional_millionths: input.u16() as u32,
        htlc_maximum_msat: if flags & 16 == 0 { input.u32() as u64 * 1000 } else { input.u64() },
        excess_data: {
            let n = (input.u8() % 4) as usize;
            input.bytes(n).to_vec()
        },
    };
    // Sign with the key of the direction's node when the channel is known.
    let signer = graph
        .read_only()
        .channel(scid)
        .and_then(|c| k.index_of(if contents.channel_flags & 1 == 0 { &c.node_one } else { &c.node_two }));
    // Unknown channels, or nodes outside the key set, get a wrong signature.
    let good = flags & 1 == 0 && signer.is_some();
    let signer = signer.unwrap_or(0);
    let signature = k.sign(contents.signing_hash(), if good { signer } else { signer + 1 });
    (ChannelUpdate { signature, contents }, good)
}

fn node_announcement(input: &mut FuzzInput<'_>, k: &Keys) -> (NodeAnnouncement, bool) {
    let node = (input.u8() % 8) as usize;
    let flags = input.u8();
    let features_len = (input.u8() % 3) as usize;
    let addresses = (0..input.u8() % 3)
        .map(|_| SocketAddress::TcpIpV4 { addr: input.array(), port: input.u16() })
        .collect();
    let contents = UnsignedNodeAnnouncement {
        features: NodeFeatures::from_le_bytes(input.bytes(features_len).to_vec()),
        timestamp: input.u8() as u32,
        node_id: k.pubkeys[node],
        rgb: input.array(),
        alias: NodeAlias(input.array()),
        addresses,
        excess_address_data: Vec::new(),
        excess_data: {
            let n = (input.u8() % 4) as usize;
            input.bytes(n).to_vec()
        },
    };
    let good = flags & 1 == 0;
    let signature = k.sign(contents.signing_hash(), if good { node } else { node + 1 });
    (NodeAnnouncement { signature, contents }, good)
}

/// Decodes gossip messages (or builds them between fixed keys, signed or
/// not) and applies them to a `NetworkGraph` through both the signed and the
/// trusted paths, with UTXO lookups answering now, later or never; prunes,
/// spends and removes channels. After every step the graph's indices agree;
/// at the end it serializes, reads back equal, and serializes to the same
/// bytes. A first byte of 0 instead reads the rest as a serialized graph,
/// which must be refused or round-trip.
pub fn gossip_graph(data: &[u8]) {
    let k = keys();
    let mut input = FuzzInput::new(data);
    if input.u8() == 0 {
        if let Ok(graph) = decode_exact::<NetworkGraph>(input.rest()) {
            assert_view_consistent(&graph.read_only());
            assert_round_trips(&graph);
        }
        return;
    }
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let utxo = FuzzUtxo { answer: RefCell::new(None) };
    let mut futures: Vec<UtxoFuture> = Vec::new();
    let mut now = 1_700_000_000u64;
    while !input.is_empty() {
        match input.u8() % 14 {
            0 | 1 => {
                let (msg, good) = channel_announcement(&mut input, k);
                let answer = utxo_answer(&mut input, &msg.contents, &mut futures);
                let use_lookup = answer.is_some();
                *utxo.answer.borrow_mut() = answer;
                let lookup = use_lookup.then_some(&utxo);
                let result = if input.bool() {
                    let r = graph.update_channel_from_announcement(&msg, lookup);
                    check_signature_outcome(r, good);
                    r
                } else {
                    graph.update_channel_from_unsigned_announcement(&msg.contents, lookup)
                };
                if result.is_ok() {
                    let view = graph.read_only();
                    let info =
                        view.channel(msg.contents.short_channel_id.0).expect("accepted channel is there");
                    assert_eq!(info.node_one, NodeId::from_pubkey(&msg.contents.node_id_1));
                }
            }
            2..=4 => {
                let (msg, good) = channel_update(&mut input, k, &graph);
                if input.bool() {
                    let verified = graph.verify_channel_update(&msg);
                    let applied = graph.update_channel(&msg);
                    assert_eq!(verified, applied, "verify and apply disagree");
                    check_signature_outcome(applied, good);
                } else if graph.update_channel_unsigned(&msg.contents).is_ok() {
                    let info = graph.read_only().channel(msg.contents.short_channel_id.0).expect("updated");
                    let dir =
                        if msg.contents.channel_flags & 1 == 0 { info.one_to_two } else { info.two_to_one };
                    let dir = dir.expect("the applied direction is present");
                    assert_eq!(dir.last_update, msg.contents.timestamp);
                    assert_eq!(dir.htlc_maximum_msat, msg.contents.htlc_maximum_msat);
                }
            }
            5 => {
                let (msg, good) = node_announcement(&mut input, k);
                if input.bool() {
                    check_signature_outcome(graph.update_node_from_announcement(&msg), good);
                } else {
                    let _ = graph.update_node_from_unsigned_announcement(&msg.contents);
                }
            }
            6 => {
                // Arbitrary encoded gossip, on our chain.
                let kind = input.u8() % 3;
                let bytes = input.u16_len_bytes();
                match kind {
                    0 => {
                        if let Ok(mut m) = decode_exact::<ChannelAnnouncement>(bytes) {
                            m.contents.chain_hash = ChainHash::BITCOIN;
                            assert!(graph.update_channel_from_announcement(&m, None::<&FuzzUtxo>).is_err());
                            let _ = graph
                                .update_channel_from_unsigned_announcement(&m.contents, None::<&FuzzUtxo>);
                        }
                    }
                    1 => {
                        if let Ok(mut m) = decode_exact::<ChannelUpdate>(bytes) {
                            m.contents.chain_hash = ChainHash::BITCOIN;
                            let _ = graph.update_channel(&m);
                            let _ = graph.update_channel_unsigned(&m.contents);
                        }
                    }
                    _ => {
                        if let Ok(m) = decode_exact::<NodeAnnouncement>(bytes) {
                            let _ = graph.update_node_from_announcement(&m);
                            let _ = graph.update_node_from_unsigned_announcement(&m.contents);
                        }
                    }
                }
            }
            7 => {
                let (a, b) = (input.u8() as usize, input.u8() as usize);
                let id = |i: usize| {
                    if i < 8 {
                        NodeId::from_pubkey(&keys().pubkeys[i])
                    } else {
                        let mut bytes = [3u8; 33];
                        bytes[32] = i as u8;
                        NodeId::from_array(bytes)
                    }
                };
                let capacity = input.bool().then(|| input.u32() as u64);
                let features_len = (input.u8() % 3) as usize;
                let features = ChannelFeatures::from_le_bytes(input.bytes(features_len).to_vec());
                let _ = graph.add_channel_from_partial_announcement(
                    small_scid(&mut input),
                    now,
                    features,
                    id(a % 12),
                    id(b % 12),
                    capacity,
                );
            }
            8 => graph.channel_spent(small_scid(&mut input), now),
            9 => graph.remove_channel(small_scid(&mut input)),
            10 => {
                now += input.u32() as u64;
                graph.remove_stale_channels_and_tracking_with_time(now);
            }
            11 => {
                if !futures.is_empty() {
                    let future = futures.remove(input.u8() as usize % futures.len());
                    let result = match input.u8() % 3 {
                        0 => Err(UtxoLookupError::UnknownChain),
                        // A funding output of some key pair, possibly the
                        // announced one.
                        _ => {
                            let value = Amount::from_sat(input.u32() as u64);
                            let (a, b) = ((input.u8() % 8) as usize, (input.u8() % 8) as usize);
                            let script_pubkey = funding_script_pubkey(&k.pubkeys[a], &k.pubkeys[b]);
                            Ok(TxOut { value, script_pubkey })
                        }
                    };
                    future.resolve(&graph, result);
                    let _ = graph.take_pending_broadcasts();
                }
            }
            12 => {
                // Walk the graph as an initial sync does.
                let mut scid = 0u64;
                let mut seen = 0;
                while let Some((ann, _, _)) = graph.get_next_channel_announcement(scid) {
                    let at = ann.contents.short_channel_id.0;
                    assert!(at >= scid, "walk went backwards");
                    seen += 1;
                    assert!(seen <= graph.read_only().channel_count(), "walk did not end");
                    match at.checked_add(1) {
                        Some(next) => scid = next,
                        None => break,
                    }
                }
                let mut start: Option<NodeId> = None;
                let mut nodes = 0;
                while let Some(ann) = graph.get_next_node_announcement(start.as_ref()) {
                    let id = NodeId::from_pubkey(&ann.contents.node_id);
                    assert!(start.map_or(true, |s| id > s), "node walk went backwards");
                    start = Some(id);
                    nodes += 1;
                    assert!(nodes <= graph.read_only().node_count(), "node walk did not end");
                }
            }
            _ => assert_round_trips(&graph),
        }
        assert_view_consistent(&graph.read_only());
    }
    assert_round_trips(&graph);
}

/// The id of router node `i`: not a curve point (the router never parses it).
fn router_node(i: u8) -> NodeId {
    let mut bytes = [2u8; 33];
    bytes[32] = i;
    NodeId::from_array(bytes)
}

/// One way a hop of a route could have been taken: the channel's limits and
/// what its forwarding node charges.
struct Candidate {
    fees: Option<RoutingFees>,
    cltv_expiry_delta: u32,
    min_msat: u64,
    max_msat: u64,
    /// (scid, direction, capacity) when it is a graph channel with a known capacity.
    graph_capacity: Option<(u64, bool, u64)>,
}

/// Builds a graph of up to 16 nodes through the trusted insertion path,
/// trains a `ProbabilisticScorer` with fuzz-chosen payment outcomes, and asks
/// `find_route` for a payment with fuzz-chosen limits, route hints, first hops
/// and avoided channels. A returned route must obey the graph: each hop goes
/// over a channel (or hint or first hop) between the previous node and the
/// next, its amount within that channel's `htlc_minimum_msat` and
/// `htlc_maximum_msat` (and capacity), each fee exactly BOLT 7's on the amount
/// forwarded, each CLTV delta the channel's, the total within the limits, and
/// the parts adding up to the amount.
pub fn router(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let node_count = 2 + input.u8() % 14;
    let channel_count = input.u8() % 40;
    for i in 0..channel_count {
        let (a, b) = (input.u8() % node_count, input.u8() % node_count);
        if a == b {
            continue;
        }
        let (a, b) = (a.min(b), a.max(b));
        let scid = if input.u8() == 0xff { input.u8() as u64 } else { i as u64 + 1 };
        let capacity = match input.u8() % 4 {
            0 => None,
            1 => Some(input.u64() >> (input.u8() % 64)),
            _ => Some(input.u32() as u64),
        };
        let features = if input.u8() == 0xfe {
            ChannelFeatures::from_le_bytes(vec![0, 0, 0, 0, 0, 0, 0, 0x40])
        } else {
            ChannelFeatures::empty()
        };
        if graph
            .add_channel_from_partial_announcement(
                scid,
                0,
                features,
                router_node(a),
                router_node(b),
                capacity,
            )
            .is_err()
        {
            continue;
        }
        for direction in 0..2u8 {
            let flags = input.u8();
            if flags & 1 == 0 {
                continue;
            }
            let big = flags & 4 != 0;
            let update = UnsignedChannelUpdate {
                chain_hash: ChainHash::BITCOIN,
                short_channel_id: ShortChannelId(scid),
                timestamp: 1,
                message_flags: 1,
                channel_flags: direction | (flags & 2),
                cltv_expiry_delta: if big { input.u16() } else { input.u8() as u16 },
                htlc_minimum_msat: if big { input.u64() } else { input.u16() as u64 },
                fee_base_msat: if big { input.u32() } else { input.u16() as u32 },
                fee_proportional_millionths: if big { input.u32() } else { input.u16() as u32 },
                htlc_maximum_msat: if big { input.u64() } else { input.u32() as u64 * 1000 },
                excess_data: Vec::new(),
            };
            let _ = graph.update_channel_unsigned(&update);
        }
    }
    for _ in 0..input.u8() % 3 {
        let node = router_node(input.u8() % node_count);
        let features = if input.bool() {
            NodeFeatures::from_le_bytes(vec![0, 0, 0, 0, 0, 0, 0, 0x40])
        } else {
            NodeFeatures::empty()
        };
        let info = NodeAnnouncementInfo {
            features,
            last_update: 1,
            rgb: [0; 3],
            alias: NodeAlias([0; 32]),
            addresses: Vec::new(),
            announcement_message: None,
        };
        let _ = graph.set_node_announcement(&node, info);
    }

    let mut scorer = ProbabilisticScorer::new(ProbabilisticScoringDecayParameters::default());
    for _ in 0..input.u8() % 4 {
        let path = Path {
            payer: router_node(input.u8() % node_count),
            hops: (0..1 + input.u8() % 3)
                .map(|_| lightning_core::routing::router::RouteHop {
                    pubkey: router_node(input.u8() % node_count),
                    node_features: NodeFeatures::empty(),
                    short_channel_id: input.u8() as u64 % 41,
                    channel_features: ChannelFeatures::empty(),
                    fee_msat: input.u32() as u64,
                    cltv_expiry_delta: 0,
                    maybe_announced_channel: true,
                })
                .collect(),
        };
        let scid = input.u8() as u64 % 41;
        let now = input.u16() as u64 * 1000;
        match input.u8() % 5 {
            0 => scorer.payment_path_failed(&path, scid, now),
            1 => scorer.payment_path_successful(&path, now),
            2 => scorer.probe_failed(&path, scid, now),
            3 => scorer.probe_successful(&path, now),
            _ => scorer.time_passed(now),
        }
    }
    let mut score_params = ProbabilisticScoringFeeParameters::default();
    for _ in 0..input.u8() % 3 {
        score_params.manual_avoid_channels.insert(input.u8() as u64 % 41);
    }

    let payer = router_node(input.u8() % (node_count + 1));
    let payee = router_node(input.u8() % (node_count + 1));
    let mut payment_params = PaymentParameters::from_node_id(payee, input.u8() as u32);
    if input.bool() {
        payment_params.max_total_cltv_expiry_delta = input.u16() as u32;
    }
    payment_params.max_path_count = input.u8() % 12;
    payment_params.max_channel_saturation_power_of_half = input.u8() % 5;
    if input.bool() {
        let mut features = Bolt11InvoiceFeatures::empty();
        features.set_basic_mpp_optional();
        payment_params.features = Some(features);
    }
    for _ in 0..input.u8() % 3 {
        let hops = (0..input.u8() % 4)
            .map(|_| RouteHintHop {
                src_node_id: router_node(input.u8() % (node_count + 2)),
                short_channel_id: 100 + input.u8() as u64 % 8,
                fees: RoutingFees {
                    base_msat: input.u16() as u32,
                    proportional_millionths: input.u16() as u32,
                },
                cltv_expiry_delta: input.u8() as u16,
                htlc_minimum_msat: input.bool().then(|| input.u16() as u64),
                htlc_maximum_msat: input.bool().then(|| input.u32() as u64 * 1000),
            })
            .collect();
        payment_params.route_hints.push(RouteHint(hops));
    }
    for _ in 0..input.u8() % 3 {
        payment_params.previously_failed_channels.push(input.u8() as u64 % 41);
    }
    let first_hops: Option<Vec<FirstHop>> = input.bool().then(|| {
        (0..input.u8() % 4)
            .map(|_| FirstHop {
                counterparty_node_id: router_node(input.u8() % (node_count + 1)),
                short_channel_id: 200 + input.u8() as u64 % 4,
                outbound_capacity_msat: input.u32() as u64 * 1000,
                next_outbound_htlc_limit_msat: input.u32() as u64 * 1000,
                next_outbound_htlc_minimum_msat: input.u16() as u64,
                is_announced: input.bool(),
            })
            .collect()
    });
    let amount = match input.u8() % 4 {
        0 => input.u64(),
        1 => input.u16() as u64,
        _ => input.u32() as u64 * 1000,
    };
    let mut params = RouteParameters::from_payment_params_and_value(payment_params, amount);
    match input.u8() % 3 {
        0 => params.max_total_routing_fee_msat = None,
        1 => params.max_total_routing_fee_msat = Some(input.u32() as u64),
        _ => {}
    }
    let first_hop_refs: Option<Vec<&FirstHop>> = first_hops.as_ref().map(|f| f.iter().collect());

    let view = graph.read_only();
    let Ok(route) = find_route(
        &payer,
        &params,
        &view,
        first_hop_refs.as_deref(),
        &NullLogger,
        &scorer,
        &score_params,
        &[0; 32],
    ) else {
        return;
    };
    check_route(&view, &params, &payer, first_hops.as_deref(), &score_params, &route);
}

fn check_route(
    view: &ReadOnlyNetworkGraph<'_>, params: &RouteParameters, payer: &NodeId,
    first_hops: Option<&[FirstHop]>, score_params: &ProbabilisticScoringFeeParameters,
    route: &lightning_core::routing::router::Route,
) {
    let p = &params.payment_params;
    assert!(!route.paths.is_empty(), "a route without paths");
    let max_paths = if p.allows_mpp() { p.max_path_count as usize } else { 1 };
    assert!(route.paths.len() <= max_paths, "{} paths, at most {max_paths} allowed", route.paths.len());
    assert_eq!(route.total_amount_msat(), params.final_value_msat, "parts do not add up to the amount");
    if let Some(limit) = params.max_total_routing_fee_msat {
        assert!(route.total_fees_msat() <= limit, "fees {} over the limit {limit}", route.total_fees_msat());
    }
    // Liquidity taken from each graph channel direction over all paths.
    let mut used: BTreeMap<(u64, bool), (u64, u64)> = BTreeMap::new();
    for path in &route.paths {
        assert_eq!(path.payer, *payer);
        assert!(
            !path.hops.is_empty() && path.hops.len() <= MAX_PATH_LENGTH,
            "path of {} hops",
            path.hops.len()
        );
        let last = path.hops.last().expect("non-empty");
        assert_eq!(last.pubkey, p.payee_pubkey, "path does not end at the payee");
        // The final delta may carry a shadow-route offset, bounded by its limit.
        let shadow = last.cltv_expiry_delta.checked_sub(p.final_cltv_expiry_delta).expect("final delta kept");
        assert!(shadow <= p.max_shadow_cltv_expiry_delta_offset, "shadow offset {shadow} over its limit");
        assert!(path.total_cltv_expiry_delta() <= p.max_total_cltv_expiry_delta, "CLTV over the limit");
        let amounts = path.amounts_per_hop();
        let mut visited = vec![*payer];
        for (i, hop) in path.hops.iter().enumerate() {
            assert!(!visited.contains(&hop.pubkey), "path visits a node twice");
            visited.push(hop.pubkey);
            let source = if i == 0 { *payer } else { path.hops[i - 1].pubkey };
            let target = hop.pubkey;
            let amount = amounts[i];
            let scid = hop.short_channel_id;
            if i > 0 {
                if let Some(node) = view.node(&source) {
                    let unusable = node.announcement_info.is_some_and(|a| a.features.requires_unknown_bits());
                    assert!(!unusable, "route goes through a node requiring unknown features");
                }
                assert!(
                    !score_params.manual_avoid_channels.contains(&scid),
                    "route uses avoided channel {scid}"
                );
            }
            let mut candidates = Vec::new();
            let from_payer_with_first_hops = i == 0 && first_hops.is_some();
            if let Some(info) = view.channel(scid) {
                let forward = if info.node_one == source && info.node_two == target {
                    Some((true, info.one_to_two.clone()))
                } else if info.node_two == source && info.node_one == target {
                    Some((false, info.two_to_one.clone()))
                } else {
                    None
                };
                if let Some((one_to_two, Some(policy))) = forward {
                    if policy.enabled
                        && !from_payer_with_first_hops
                        && !p.previously_failed_channels.contains(&scid)
                    {
                        let capacity_msat = info.capacity_sats.map_or(u64::MAX, |c| c.saturating_mul(1000));
                        candidates.push(Candidate {
                            fees: Some(policy.fees),
                            cltv_expiry_delta: policy.cltv_expiry_delta as u32,
                            min_msat: policy.htlc_minimum_msat,
                            max_msat: policy.htlc_maximum_msat.min(capacity_msat),
                            graph_capacity: info.capacity_sats.map(|_| (scid, one_to_two, capacity_msat)),
                        });
                    }
                }
            }
            for hint in &p.route_hints {
                for (j, h) in hint.0.iter().enumerate() {
                    let dst = hint.0.get(j + 1).map_or(p.payee_pubkey, |n| n.src_node_id);
                    if h.short_channel_id == scid
                        && h.src_node_id == source
                        && dst == target
                        && !p.previously_failed_channels.contains(&scid)
                    {
                        candidates.push(Candidate {
                            fees: Some(h.fees),
                            cltv_expiry_delta: h.cltv_expiry_delta as u32,
                            min_msat: h.htlc_minimum_msat.unwrap_or(0),
                            max_msat: h.htlc_maximum_msat.unwrap_or(u64::MAX),
                            graph_capacity: None,
                        });
                    }
                }
            }
            if i == 0 {
                for fh in first_hops.unwrap_or(&[]) {
                    if fh.short_channel_id == scid && fh.counterparty_node_id == target {
                        candidates.push(Candidate {
                            fees: None,
                            cltv_expiry_delta: 0,
                            min_msat: fh.next_outbound_htlc_minimum_msat,
                            max_msat: fh.next_outbound_htlc_limit_msat.min(fh.outbound_capacity_msat),
                            graph_capacity: None,
                        });
                    }
                }
            }
            let matching = candidates.iter().find(|c| {
                let within = c.min_msat <= amount && amount <= c.max_msat;
                let charged = i == 0
                    || c.fees.and_then(|f| f.fee_msat(amount)) == Some(path.hops[i - 1].fee_msat)
                        && path.hops[i - 1].cltv_expiry_delta == c.cltv_expiry_delta;
                within && charged
            });
            let Some(c) = matching else {
                panic!("hop {i} over {scid} ({amount} msat) matches no channel, hint or first hop");
            };
            if let Some((scid, dir, capacity)) = c.graph_capacity {
                let slot = used.entry((scid, dir)).or_insert((0, capacity));
                slot.0 = slot.0.saturating_add(amount);
            }
        }
    }
    for ((scid, _), (total, capacity)) in used {
        assert!(total <= capacity, "paths take {total} msat from channel {scid} of capacity {capacity}");
    }
}
