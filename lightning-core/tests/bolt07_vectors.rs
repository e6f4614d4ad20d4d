//! `shared/specs/vectors/bolt07/`: the gossip-query encodings of
//! `extended-queries.json` byte for byte (the zlib-encoded ones rejected with
//! `UnsupportedCompression`, as this library does not accept zlib), and the
//! fee/CLTV worked example of `routing_example.json` through `find_route`.

mod common;

use common::{hex_field, load_vectors};
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::msgs::gossip::QUERY_OPTION_CHECKSUMS;
use lightning_core::ln::msgs::gossip::QUERY_OPTION_TIMESTAMPS;
use lightning_core::ln::msgs::{DecodeError, QueryChannelRange, QueryShortChannelIds, ReplyChannelRange};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::ln::wire::{self, Message};
use lightning_core::util::logger::NullLogger;
use serde_json::Value;

fn chain(v: &Value) -> ChainHash {
    let bytes: [u8; 32] = hex::decode(v["chainHash"].as_str().unwrap()).unwrap().try_into().unwrap();
    ChainHash::from(bytes)
}

fn scids(v: &Value) -> Vec<ShortChannelId> {
    v["shortChannelIds"]["array"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let parts: Vec<u32> = s.as_str().unwrap().split('x').map(|p| p.parse().unwrap()).collect();
            ShortChannelId::new(parts[0], parts[1], parts[2] as u16).unwrap()
        })
        .collect()
}

fn pairs(v: &Value, outer: &str, inner: &str, a: &str, b: &str) -> Option<Vec<(u32, u32)>> {
    v.get(outer).map(|o| {
        o[inner]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[a].as_u64().unwrap() as u32, p[b].as_u64().unwrap() as u32))
            .collect()
    })
}

fn is_zlib(msg: &Value) -> bool {
    let scids_zlib = msg["shortChannelIds"]["encoding"] == "COMPRESSED_ZLIB";
    let ts_zlib = msg.get("timestamps").is_some_and(|t| t["encoding"] == "COMPRESSED_ZLIB");
    let flags_zlib = msg["tlvStream"]["records"]
        .as_array()
        .is_some_and(|r| r.iter().any(|rec| rec.get("encoding").is_some_and(|e| e == "COMPRESSED_ZLIB")));
    scids_zlib || ts_zlib || flags_zlib
}

#[test]
fn extended_queries() {
    let doc = load_vectors("bolt07/extended-queries.json");
    let cases = doc.as_array().unwrap();
    assert_eq!(cases.len(), 10);
    let (mut exact, mut rejected) = (0, 0);
    for case in cases {
        let bytes = hex_field(case, "hex");
        let msg = &case["msg"];
        let got = wire::read_message(&bytes);
        if is_zlib(msg) {
            assert_eq!(got, Err(DecodeError::UnsupportedCompression), "{msg}");
            rejected += 1;
            continue;
        }
        let expected = match msg["type"].as_str().unwrap() {
            "QueryChannelRange" => {
                let option = msg["tlvStream"]["records"].as_array().unwrap().first().map(|r| {
                    assert_eq!(r, "WANT_TIMESTAMPS | WANT_CHECKSUMS");
                    QUERY_OPTION_TIMESTAMPS | QUERY_OPTION_CHECKSUMS
                });
                Message::QueryChannelRange(QueryChannelRange {
                    chain_hash: chain(msg),
                    first_blocknum: msg["firstBlockNum"].as_u64().unwrap() as u32,
                    number_of_blocks: msg["numberOfBlocks"].as_u64().unwrap() as u32,
                    query_option: option,
                })
            }
            "ReplyChannelRange" => Message::ReplyChannelRange(ReplyChannelRange {
                chain_hash: chain(msg),
                first_blocknum: msg["firstBlockNum"].as_u64().unwrap() as u32,
                number_of_blocks: msg["numberOfBlocks"].as_u64().unwrap() as u32,
                sync_complete: msg["complete"].as_u64().unwrap() == 1,
                short_channel_ids: scids(msg),
                timestamps: pairs(msg, "timestamps", "timestamps", "timestamp1", "timestamp2"),
                checksums: pairs(msg, "checksums", "checksums", "checksum1", "checksum2"),
            }),
            "QueryShortChannelIds" => {
                assert!(msg["tlvStream"]["records"].as_array().unwrap().is_empty());
                Message::QueryShortChannelIds(QueryShortChannelIds {
                    chain_hash: chain(msg),
                    short_channel_ids: scids(msg),
                    query_flags: None,
                })
            }
            other => panic!("unexpected type {other}"),
        };
        assert_eq!(got.as_ref(), Ok(&expected), "{msg}");
        let encoded = match &expected {
            Message::QueryChannelRange(m) => wire::encode(m),
            Message::ReplyChannelRange(m) => wire::encode(m),
            Message::QueryShortChannelIds(m) => wire::encode(m),
            _ => unreachable!(),
        };
        assert_eq!(hex::encode(encoded), hex::encode(&bytes), "{msg}");
        exact += 1;
    }
    assert_eq!((exact, rejected), (5, 5));
}

#[test]
fn query_flags_round_trip_uncompressed() {
    // The vectors only carry zlib-encoded flags; the uncompressed form is
    // checked here against a hand-assembled encoding.
    let q = QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_channel_ids: vec![ShortChannelId(1), ShortChannelId(2)],
        query_flags: Some(vec![1, 0x1f]),
    };
    let enc = wire::encode(&q);
    let mut expected = vec![0x01, 0x05];
    expected.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    expected.extend_from_slice(&[0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expected.extend_from_slice(&[1, 3, 0, 1, 0x1f]);
    assert_eq!(enc, expected);
    assert_eq!(wire::read_message(&enc), Ok(Message::QueryShortChannelIds(q)));
}

mod routing_util;

#[test]
fn routing_example_fees_and_cltv() {
    use lightning_core::routing::gossip::NetworkGraph;
    use lightning_core::routing::router::{find_route, PaymentParameters, RouteParameters};
    use lightning_core::routing::scoring::FixedPenaltyScorer;
    use routing_util::{add_trusted_channel, Policy, TestNode};
    use std::collections::HashMap;

    let doc = load_vectors("bolt07/routing_example.json");
    let names = ["A", "B", "C", "D"];
    let node: HashMap<&str, TestNode> =
        names.iter().enumerate().map(|(i, n)| (*n, TestNode::new(i as u8 + 1))).collect();
    let policy = |from: &str, to: &str| -> Policy {
        let u = doc["channel_updates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["from"] == from && u["to"] == to)
            .unwrap();
        Policy {
            fee_base_msat: u["fee_base_msat"].as_u64().unwrap() as u32,
            fee_ppm: u["fee_proportional_millionths"].as_u64().unwrap() as u32,
            cltv_expiry_delta: u["cltv_expiry_delta"].as_u64().unwrap() as u16,
            htlc_maximum_msat: 10_000_000_000,
            ..Default::default()
        }
    };
    let build = |skip: Option<(&str, &str)>| {
        let graph = NetworkGraph::new(ChainHash::BITCOIN);
        for (i, (x, y)) in [("A", "B"), ("A", "D"), ("B", "C"), ("D", "C")].into_iter().enumerate() {
            let dir = |f: &str, t: &str| (skip != Some((f, t))).then(|| policy(f, t));
            add_trusted_channel(&graph, node[x], node[y], i as u64 + 1, 100_000_000, dir(x, y), dir(y, x));
        }
        graph
    };
    let min_final = doc["min_final_cltv_expiry_delta"].as_u64().unwrap() as u32;
    let shadow = doc["shadow_route_extra_cltv"].as_u64().unwrap() as u32;
    let payments = doc["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 3);
    for pay in payments {
        let route: Vec<&str> = pay["route"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        // Force the example's path: without A->B, A pays through D.
        let graph = if route == ["A", "D", "C"] { build(Some(("A", "B"))) } else { build(None) };
        let amount = pay["onion_amt_to_forward"].as_u64().unwrap();
        // The final CLTV the payee sees is its minimum plus the example's
        // shadow padding (our own random shadow offset is turned off).
        let mut payment_params = PaymentParameters::from_node_id(node["C"].node_id(), min_final + shadow);
        payment_params.max_shadow_cltv_expiry_delta_offset = 0;
        let params = RouteParameters::from_payment_params_and_value(payment_params, amount);
        let found = find_route(
            &node[route[0]].node_id(),
            &params,
            &graph.read_only(),
            None,
            &NullLogger,
            &FixedPenaltyScorer::with_penalty(0),
            &(),
            &[0; 32],
        )
        .unwrap();
        assert_eq!(found.paths.len(), 1);
        let path = &found.paths[0];
        let hops: Vec<_> = path.hops.iter().map(|h| h.pubkey).collect();
        let expected: Vec<_> = route[1..].iter().map(|n| node[n].node_id()).collect();
        assert_eq!(hops, expected, "{route:?}");
        assert_eq!(path.first_hop_amount_msat(), pay["first_hop_amount_msat"].as_u64().unwrap(), "{route:?}");
        assert_eq!(
            path.total_cltv_expiry_delta(),
            pay["first_hop_cltv_expiry_delta_sum"].as_u64().unwrap() as u32,
            "{route:?}"
        );
        let terms: Vec<u32> = pay["first_hop_cltv_expiry_terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(terms.iter().sum::<u32>(), path.total_cltv_expiry_delta());
        assert_eq!(path.final_value_msat(), amount);
        assert_eq!(
            path.hops.last().unwrap().cltv_expiry_delta,
            pay["onion_outgoing_cltv_delta_sum"].as_u64().unwrap() as u32
        );
    }
}
