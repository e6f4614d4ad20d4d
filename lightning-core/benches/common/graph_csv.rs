//! Loaders for the graph and query CSVs of `shared/data/` (`graph-15k.csv.gz`
//! columns, see `shared/data/README.md`), shared by the `route_bench` example
//! and the benchmarks.
#![allow(dead_code)]

use flate2::read::GzDecoder;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::ChannelFeatures;
use lightning_core::ln::msgs::UnsignedChannelUpdate;
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

/// Finds `shared/data/NAME` above the crate directory.
pub fn data_path(name: &str) -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("shared/data").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found above {}", manifest.display()))
        .display()
        .to_string()
}

/// Opens a file, gunzipping `.gz`.
pub fn open(path: &str) -> Box<dyn BufRead> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let reader: Box<dyn Read> =
        if path.ends_with(".gz") { Box::new(GzDecoder::new(file)) } else { Box::new(file) };
    Box::new(BufReader::with_capacity(1 << 20, reader))
}

/// Parses a hex node id.
pub fn node_id(hex_str: &str) -> NodeId {
    let bytes = hex::decode(hex_str).expect("node id hex");
    NodeId::from_slice(&bytes).expect("33-byte node id")
}

/// Loads a graph CSV; returns the graph and (directions applied, rejected).
pub fn load_graph(path: &str) -> (NetworkGraph, usize, usize) {
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let (mut applied, mut rejected) = (0, 0);
    let mut last_scid = None;
    for (i, line) in open(path).lines().enumerate() {
        let line = line.expect("read graph");
        if i == 0 || line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 11, "bad graph line {i}: {line}");
        let scid: u64 = f[0].parse().expect("scid");
        if last_scid != Some(scid) {
            let capacity: u64 = f[3].parse().expect("capacity");
            graph
                .add_channel_from_partial_announcement(
                    scid,
                    0,
                    ChannelFeatures::empty(),
                    node_id(f[1]),
                    node_id(f[2]),
                    Some(capacity),
                )
                .expect("channel accepted");
            last_scid = Some(scid);
        }
        let direction: u8 = f[4].parse().expect("direction");
        let disabled = f[10] == "1";
        let update = UnsignedChannelUpdate {
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: ShortChannelId(scid),
            timestamp: 1,
            message_flags: 1,
            channel_flags: direction | if disabled { 2 } else { 0 },
            cltv_expiry_delta: f[7].parse().expect("cltv"),
            htlc_minimum_msat: f[8].parse().expect("htlc min"),
            fee_base_msat: f[5].parse().expect("fee base"),
            fee_proportional_millionths: f[6].parse().expect("fee ppm"),
            htlc_maximum_msat: f[9].parse().expect("htlc max"),
            excess_data: Vec::new(),
        };
        match graph.update_channel_unsigned(&update) {
            Ok(()) => applied += 1,
            Err(_) => rejected += 1,
        }
    }
    (graph, applied, rejected)
}

/// One route query.
pub struct Query {
    pub qid: String,
    pub src: NodeId,
    pub dst: NodeId,
    pub amount_msat: u64,
    pub final_cltv: u32,
}

/// Loads a queries CSV.
pub fn load_queries(path: &str) -> Vec<Query> {
    open(path)
        .lines()
        .skip(1)
        .map(|l| l.expect("read queries"))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Query {
                qid: f[0].to_string(),
                src: node_id(f[1]),
                dst: node_id(f[2]),
                amount_msat: f[3].parse().expect("amount"),
                final_cltv: f[4].parse().expect("final cltv"),
            }
        })
        .collect()
}
