//! The network graph and the scorer through the store: round trips, a first
//! start with nothing stored, and damaged values refused naming the file.

mod common;

use std::fs;

use common::test_dir;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning_core::bitcoin::Network;
use lightning_core::ln::features::{ChannelFeatures, NodeFeatures};
use lightning_core::ln::msgs::DecodeError;
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use lightning_core::routing::router::{Path, RouteHop};
use lightning_core::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ScoreUpdate,
};
use lightning_core::util::persist::{KVStore, NETWORK_GRAPH_PERSISTENCE_KEY, SCORER_PERSISTENCE_KEY};
use lightning_core::util::ser::Writeable;
use lightning_persister::codec::{encode_record, CodecError, FormatError, ValueKind, ValueLocation};
use lightning_persister::fs_store::FilesystemStore;
use lightning_persister::monitor::ReadError;
use lightning_persister::node_state::{persist_graph, persist_scorer, read_network_graph, read_scorer};

fn node(i: u8) -> NodeId {
    let secret = SecretKey::from_slice(&[i; 32]).expect("valid key");
    NodeId::from_pubkey(&PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret))
}

fn graph() -> NetworkGraph {
    let graph = NetworkGraph::new(ChainHash::using_genesis_block(Network::Regtest));
    for (scid, a, b) in [(1u64 << 40, 1, 2), ((2u64 << 40) | 5, 2, 3), (3u64 << 40, 1, 3)] {
        // Announcements list the two nodes in ascending order.
        let (n1, n2) = if node(a) < node(b) { (node(a), node(b)) } else { (node(b), node(a)) };
        graph
            .add_channel_from_partial_announcement(
                scid,
                1_700_000_000,
                ChannelFeatures::empty(),
                n1,
                n2,
                Some(500_000),
            )
            .expect("channel added");
    }
    graph
}

fn scorer() -> ProbabilisticScorer {
    let mut scorer = ProbabilisticScorer::new(ProbabilisticScoringDecayParameters::default());
    let hop = |to: u8, scid: u64, fee_msat: u64| RouteHop {
        pubkey: node(to),
        node_features: NodeFeatures::empty(),
        short_channel_id: scid,
        channel_features: ChannelFeatures::empty(),
        fee_msat,
        cltv_expiry_delta: 40,
        maybe_announced_channel: true,
    };
    let path = Path { payer: node(1), hops: vec![hop(2, 1 << 40, 1_000), hop(3, (2 << 40) | 5, 40_000_000)] };
    scorer.payment_path_failed(&path, (2 << 40) | 5, 1_700_000_000);
    scorer
}

#[test]
fn graph_and_scorer_round_trip_through_the_store() {
    let dir = test_dir("node_state");
    let store = FilesystemStore::new(dir.path()).expect("open");
    assert!(read_network_graph(&store).expect("nothing stored is not an error").is_none());
    assert!(read_scorer(&store).expect("nothing stored is not an error").is_none());

    let (graph, scorer) = (graph(), scorer());
    assert_eq!(scorer.tracked_channel_count(), 2);
    persist_graph(&store, &graph).expect("graph persisted");
    persist_scorer(&store, &scorer).expect("scorer persisted");
    let mut keys = store.list("", "").expect("list");
    keys.sort();
    assert_eq!(keys, vec![NETWORK_GRAPH_PERSISTENCE_KEY.to_string(), SCORER_PERSISTENCE_KEY.to_string()]);

    let read_graph = read_network_graph(&store).expect("reads").expect("stored");
    assert_eq!(read_graph.encode(), graph.encode());
    assert_eq!(read_graph.read_only().channel_count(), 3);
    let read_scorer = read_scorer(&store).expect("reads").expect("stored");
    assert_eq!(read_scorer.encode(), scorer.encode());
    assert_eq!(
        read_scorer.estimated_liquidity((2 << 40) | 5, true),
        scorer.estimated_liquidity((2 << 40) | 5, true)
    );
}

#[test]
fn damaged_graph_or_scorer_is_refused_naming_the_file() {
    let dir = test_dir("node_state_damaged");
    let store = FilesystemStore::new(dir.path()).expect("open");
    persist_graph(&store, &graph()).expect("graph persisted");
    let path = store.key_path("", "", NETWORK_GRAPH_PERSISTENCE_KEY).expect("path");
    let mut bytes = fs::read(&path).expect("stored");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    fs::write(&path, &bytes).expect("damage");
    let Err(err) = read_network_graph(&store) else { panic!("accepted") };
    assert!(
        matches!(
            &err,
            ReadError::Codec(CodecError::Format { error: FormatError::ChecksumMismatch { .. }, .. })
        ),
        "{err}"
    );
    assert_eq!(err.location(), &ValueLocation::new("", "", NETWORK_GRAPH_PERSISTENCE_KEY));
    assert!(err.to_string().starts_with("value network_graph:"), "{err}");

    // An intact scorer record around something that is not a scorer.
    store
        .write(
            "",
            "",
            SCORER_PERSISTENCE_KEY,
            &encode_record(ValueKind::Scorer, &[1, 2, 3]).expect("envelope"),
        )
        .expect("write");
    let Err(err) = read_scorer(&store) else { panic!("accepted") };
    assert!(matches!(&err, ReadError::Decode { .. }), "{err}");
    assert_eq!(err.location(), &ValueLocation::new("", "", SCORER_PERSISTENCE_KEY));
    // A valid scorer followed by a stray byte.
    let mut payload = scorer().encode();
    payload.push(0);
    store
        .write("", "", SCORER_PERSISTENCE_KEY, &encode_record(ValueKind::Scorer, &payload).expect("envelope"))
        .expect("write");
    let Err(err) = read_scorer(&store) else { panic!("accepted") };
    assert!(matches!(&err, ReadError::Decode { error: DecodeError::BadLengthDescriptor, .. }), "{err}");
}

#[test]
fn a_graph_under_the_scorer_key_is_refused_naming_the_file_and_both_kinds() {
    let dir = test_dir("node_state_kinds");
    let store = FilesystemStore::new(dir.path()).expect("open");
    persist_graph(&store, &graph()).expect("graph persisted");
    persist_scorer(&store, &scorer()).expect("scorer persisted");
    let graph_file = store.key_path("", "", NETWORK_GRAPH_PERSISTENCE_KEY).expect("path");
    let scorer_file = store.key_path("", "", SCORER_PERSISTENCE_KEY).expect("path");
    let scorer_bytes = fs::read(&scorer_file).expect("stored");
    fs::copy(&graph_file, &scorer_file).expect("copy");
    let Err(err) = read_scorer(&store) else { panic!("accepted") };
    assert!(
        matches!(
            &err,
            ReadError::Codec(CodecError::Format {
                error: FormatError::WrongKind { expected: ValueKind::Scorer, found: ValueKind::NetworkGraph },
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(err.location(), &ValueLocation::new("", "", SCORER_PERSISTENCE_KEY));
    assert_eq!(err.to_string(), "value scorer: holds a network graph where a scorer was expected");
    // And the other way round.
    fs::write(&graph_file, &scorer_bytes).expect("write");
    let Err(err) = read_network_graph(&store) else { panic!("accepted") };
    assert_eq!(err.to_string(), "value network_graph: holds a scorer where a network graph was expected");
}
