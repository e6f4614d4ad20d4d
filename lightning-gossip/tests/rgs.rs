//! Rapid gossip sync: a real snapshot applied, snapshots built from a graph
//! and applied to an empty graph (the graphs match), an incremental snapshot
//! on top of a full one, hand-made v1/v2 details, and every refusal.

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::ChannelFeatures;
use lightning_core::ln::msgs::UnsignedChannelUpdate;
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use lightning_core::util::ser::{BigSize, Writeable};
use lightning_gossip::{build_snapshot, GraphSyncError, RapidGossipSync, TIMESTAMP_BACKDATE_SECS};
use std::path::PathBuf;

fn data_file(name: &str) -> Vec<u8> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = manifest
        .ancestors()
        .map(|d| d.join("shared/data").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found above {}", manifest.display()));
    std::fs::read(path).unwrap()
}

const REAL_LATEST_SEEN: u64 = 1_663_632_000;

#[test]
fn real_snapshot_applies() {
    let bytes = data_file("rgs_incr_1663545600");
    assert_eq!(bytes.len(), 303_777);
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let stats = RapidGossipSync::new(&graph).update_network_graph_no_std(&bytes, REAL_LATEST_SEEN).unwrap();
    assert_eq!(stats.latest_seen_timestamp as u64, REAL_LATEST_SEEN);
    assert_eq!(stats.channels_applied, 346);
    assert_eq!(stats.channels_skipped, 0);
    // Incremental updates for channels we never had are skipped, not errors.
    assert!(stats.updates_applied > 0 && stats.updates_skipped > 0, "{stats:?}");
    let ro = graph.read_only();
    assert_eq!(ro.channel_count(), 346);
    assert!(ro.node_count() <= 361);
    // Every applied direction carries the backdated timestamp.
    let backdated = (REAL_LATEST_SEEN as u32) - TIMESTAMP_BACKDATE_SECS;
    let mut directions = 0;
    for scid in ro.short_channel_ids() {
        let c = ro.channel(scid).unwrap();
        for d in [c.one_to_two, c.two_to_one].into_iter().flatten() {
            assert_eq!(d.last_update, backdated);
            assert!(d.htlc_minimum_msat <= d.htlc_maximum_msat || d.htlc_maximum_msat == 0);
            directions += 1;
        }
    }
    assert_eq!(directions, stats.updates_applied);
    // Applying it again changes nothing.
    drop(ro);
    let again = RapidGossipSync::new(&graph).update_network_graph_no_std(&bytes, REAL_LATEST_SEEN).unwrap();
    assert_eq!((again.channels_applied, again.channels_skipped, again.updates_applied), (0, 346, 0));
}

#[test]
fn refusals_are_clear_and_apply_nothing() {
    let bytes = data_file("rgs_incr_1663545600");
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let rgs = RapidGossipSync::new(&graph);
    let two_weeks = 14 * 24 * 3600;
    assert_eq!(
        rgs.update_network_graph_no_std(&bytes, REAL_LATEST_SEEN + two_weeks + 1),
        Err(GraphSyncError::StaleSnapshot)
    );
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert_eq!(rgs.update_network_graph_no_std(&bad, REAL_LATEST_SEEN), Err(GraphSyncError::UnknownPrefix));
    let mut bad = bytes.clone();
    bad[3] = 3;
    assert_eq!(
        rgs.update_network_graph_no_std(&bad, REAL_LATEST_SEEN),
        Err(GraphSyncError::UnknownVersion(3))
    );
    let testnet = NetworkGraph::new(ChainHash::TESTNET3);
    assert_eq!(
        RapidGossipSync::new(&testnet).update_network_graph_no_std(&bytes, REAL_LATEST_SEEN),
        Err(GraphSyncError::WrongChain)
    );
    assert_eq!(graph.read_only().channel_count(), 0);
    // Truncation is a decode error, never a panic.
    for cut in [2, 10, 40, 1000, bytes.len() / 2, bytes.len() - 1] {
        let g = NetworkGraph::new(ChainHash::BITCOIN);
        assert!(
            RapidGossipSync::new(&g).update_network_graph_no_std(&bytes[..cut], REAL_LATEST_SEEN).is_err(),
            "{cut}"
        );
    }
}

fn node(i: u32) -> NodeId {
    let mut b = [0u8; 33];
    b[0] = 2;
    b[29..33].copy_from_slice(&i.to_be_bytes());
    NodeId::from_array(b)
}

/// A pseudo-random graph: `channels` channels over `nodes` nodes, each
/// direction present with probability ~4/5, disabled ~1/10, varied policies.
fn random_graph(channels: u64, nodes: u32, seed: u64, timestamp: u32) -> NetworkGraph {
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    add_random_channels(&graph, 0..channels, nodes, seed, timestamp);
    graph
}

fn add_random_channels(
    graph: &NetworkGraph, range: std::ops::Range<u64>, nodes: u32, seed: u64, timestamp: u32,
) {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in range {
        let (a, b) = ((next() % nodes as u64) as u32, (next() % nodes as u64) as u32);
        if a == b {
            continue;
        }
        let (n1, n2) = if node(a) < node(b) { (node(a), node(b)) } else { (node(b), node(a)) };
        let scid = ((600_000 + i * 3) << 40) | (next() % 2000) << 16 | (next() % 4);
        graph
            .add_channel_from_partial_announcement(
                scid,
                timestamp as u64,
                ChannelFeatures::empty(),
                n1,
                n2,
                None,
            )
            .unwrap();
        for dir in 0..2u8 {
            if next() % 5 == 0 {
                continue;
            }
            let common = next() % 3 == 0;
            let upd = UnsignedChannelUpdate {
                chain_hash: ChainHash::BITCOIN,
                short_channel_id: ShortChannelId(scid),
                timestamp,
                message_flags: 1,
                channel_flags: dir | if next() % 10 == 0 { 2 } else { 0 },
                cltv_expiry_delta: if common { 144 } else { 18 + (next() % 200) as u16 },
                htlc_minimum_msat: if common { 1000 } else { next() % 5000 },
                fee_base_msat: if common { 1000 } else { (next() % 5000) as u32 },
                fee_proportional_millionths: if common { 1 } else { (next() % 3000) as u32 },
                htlc_maximum_msat: if common { 990_000_000 } else { 5000 + next() % 10_000_000_000 },
                excess_data: vec![],
            };
            graph.update_channel_unsigned(&upd).unwrap();
        }
    }
}

/// Compares two graphs on everything a snapshot carries (not timestamps,
/// capacities or signed messages).
fn assert_same_routing_view(a: &NetworkGraph, b: &NetworkGraph) {
    let (ra, rb) = (a.read_only(), b.read_only());
    assert_eq!(ra.channel_count(), rb.channel_count());
    assert_eq!(ra.node_ids().collect::<Vec<_>>(), rb.node_ids().collect::<Vec<_>>());
    for scid in ra.short_channel_ids() {
        let (ca, cb) = (ra.channel(scid).unwrap(), rb.channel(scid).expect("channel present"));
        assert_eq!((ca.node_one, ca.node_two, &ca.features), (cb.node_one, cb.node_two, &cb.features));
        for (da, db) in [(&ca.one_to_two, &cb.one_to_two), (&ca.two_to_one, &cb.two_to_one)] {
            let strip = |d: &Option<lightning_core::routing::gossip::ChannelUpdateInfo>| {
                d.as_ref().map(|d| {
                    (d.enabled, d.cltv_expiry_delta, d.htlc_minimum_msat, d.htlc_maximum_msat, d.fees)
                })
            };
            assert_eq!(strip(da), strip(db), "scid {scid}");
        }
    }
}

#[test]
fn built_snapshot_applied_to_an_empty_graph_matches() {
    let t1 = 1_700_000_000u32;
    let server = random_graph(3000, 400, 42, t1 - 100);
    let (snapshot, stats) = build_snapshot(&server, 0, t1);
    assert_eq!(stats.announcements, server.read_only().channel_count());
    let client = NetworkGraph::new(ChainHash::BITCOIN);
    let applied = RapidGossipSync::new(&client).update_network_graph_no_std(&snapshot, t1 as u64).unwrap();
    assert_eq!(applied.channels_applied, stats.announcements);
    assert_eq!(applied.updates_applied, stats.updates);
    assert_eq!(applied.updates_skipped, 0);
    assert_same_routing_view(&server, &client);
    // Building again from the client gives the same bytes (same content, same order).
    assert_eq!(build_snapshot(&client, 0, t1).0, snapshot);
}

#[test]
fn real_snapshot_round_trips_through_build() {
    let bytes = data_file("rgs_incr_1663545600");
    let first = NetworkGraph::new(ChainHash::BITCOIN);
    RapidGossipSync::new(&first).update_network_graph_no_std(&bytes, REAL_LATEST_SEEN).unwrap();
    let (rebuilt, _) = build_snapshot(&first, 0, REAL_LATEST_SEEN as u32);
    let second = NetworkGraph::new(ChainHash::BITCOIN);
    RapidGossipSync::new(&second).update_network_graph_no_std(&rebuilt, REAL_LATEST_SEEN).unwrap();
    assert_same_routing_view(&first, &second);
}

#[test]
fn incremental_snapshot_on_top_of_a_full_one() {
    let t1 = 1_700_000_000u32;
    let t2 = t1 + 86_400;
    let server = random_graph(1000, 200, 7, t1 - 10);
    let client = NetworkGraph::new(ChainHash::BITCOIN);
    let (full, _) = build_snapshot(&server, 0, t1);
    RapidGossipSync::new(&client).update_network_graph_no_std(&full, t1 as u64).unwrap();

    // A day later: new channels and changed policies. (No channel closes: a
    // snapshot cannot carry removals; clients prune closed channels themselves.)
    add_random_channels(&server, 1000..1300, 200, 99, t2 - 10);
    let scids: Vec<u64> = server.read_only().short_channel_ids().take(50).collect();
    for (i, scid) in scids.iter().enumerate() {
        let upd = UnsignedChannelUpdate {
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: ShortChannelId(*scid),
            timestamp: t2 - 5,
            message_flags: 1,
            channel_flags: (i % 2) as u8,
            cltv_expiry_delta: 77,
            htlc_minimum_msat: 5,
            fee_base_msat: i as u32,
            fee_proportional_millionths: 123,
            htlc_maximum_msat: 1_000_000,
            excess_data: vec![],
        };
        server.update_channel_unsigned(&upd).unwrap();
    }
    let (incremental, stats) = build_snapshot(&server, t1, t2);
    assert!(incremental.len() < full.len() / 2, "{} vs {}", incremental.len(), full.len());
    assert!(stats.announcements >= 250 && stats.updates >= 50, "{stats:?}");
    let applied = RapidGossipSync::new(&client).update_network_graph_no_std(&incremental, t2 as u64).unwrap();
    assert_eq!(applied.updates_applied, stats.updates);
    assert_same_routing_view(&server, &client);
}

/// A hand-made v1 snapshot: one channel, a full update, then an incremental
/// one that only changes the fee rate.
#[test]
fn incremental_updates_change_only_the_fields_they_carry() {
    let latest = 1_700_000_000u32;
    let mut s = Vec::new();
    s.extend_from_slice(b"LDK\x01");
    s.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    s.extend_from_slice(&latest.to_be_bytes());
    s.extend_from_slice(&2u32.to_be_bytes());
    node(1).write(&mut s).unwrap();
    node(2).write(&mut s).unwrap();
    s.extend_from_slice(&1u32.to_be_bytes());
    s.extend_from_slice(&[0, 0]); // no channel features
    BigSize(500).write(&mut s).unwrap();
    BigSize(0).write(&mut s).unwrap();
    BigSize(1).write(&mut s).unwrap();
    s.extend_from_slice(&1u32.to_be_bytes());
    // Defaults: cltv 40, htlc_min 1, base 1000, ppm 10, htlc_max 5,000,000.
    s.extend_from_slice(&40u16.to_be_bytes());
    s.extend_from_slice(&1u64.to_be_bytes());
    s.extend_from_slice(&1000u32.to_be_bytes());
    s.extend_from_slice(&10u32.to_be_bytes());
    s.extend_from_slice(&5_000_000u64.to_be_bytes());
    // Direction 1, fee base deviates.
    BigSize(500).write(&mut s).unwrap();
    s.push(0b0001_0000 | 1);
    s.extend_from_slice(&7u32.to_be_bytes());
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let rgs = RapidGossipSync::new(&graph);
    rgs.update_network_graph_no_std(&s, latest as u64).unwrap();
    let d = graph.read_only().channel(500).unwrap().two_to_one.unwrap();
    assert_eq!(
        (d.cltv_expiry_delta, d.fees.base_msat, d.fees.proportional_millionths, d.htlc_maximum_msat),
        (40, 7, 10, 5_000_000)
    );

    // A day later: no announcement, an incremental update of direction 1
    // carrying only a new fee rate, and one for a channel we do not have.
    let later = latest + 86_400;
    let mut s = Vec::new();
    s.extend_from_slice(b"LDK\x01");
    s.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    s.extend_from_slice(&later.to_be_bytes());
    s.extend_from_slice(&0u32.to_be_bytes());
    s.extend_from_slice(&0u32.to_be_bytes());
    s.extend_from_slice(&2u32.to_be_bytes());
    s.extend_from_slice(&[0; 2 + 8 + 4 + 4 + 8]);
    BigSize(500).write(&mut s).unwrap();
    s.push(0b1000_1000 | 1);
    s.extend_from_slice(&99u32.to_be_bytes());
    BigSize(1).write(&mut s).unwrap();
    s.push(0b1000_1000);
    s.extend_from_slice(&99u32.to_be_bytes());
    let stats = rgs.update_network_graph_no_std(&s, later as u64).unwrap();
    assert_eq!((stats.updates_applied, stats.updates_skipped), (1, 1));
    let d = graph.read_only().channel(500).unwrap().two_to_one.unwrap();
    assert_eq!(
        (d.cltv_expiry_delta, d.fees.base_msat, d.fees.proportional_millionths, d.htlc_maximum_msat),
        (40, 7, 99, 5_000_000)
    );
    assert_eq!(d.last_update, later - TIMESTAMP_BACKDATE_SECS);
}

/// A hand-made v2 snapshot: node flags with addresses and default features,
/// an announcement with extra data, and an update followed by its extra data.
#[test]
fn version_2_details_are_parsed_and_skipped_safely() {
    let latest = 1_700_000_000u32;
    let mut s = Vec::new();
    s.extend_from_slice(b"LDK\x02");
    s.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    s.extend_from_slice(&latest.to_be_bytes());
    // One default node feature vector: bit 7 (gossip_queries optional).
    s.push(1);
    s.extend_from_slice(&[0, 1, 0x80]);
    s.extend_from_slice(&2u32.to_be_bytes());
    // Node 1: default features #1 (code 1 << 3), one IPv4 address (flag 4).
    let mut k1 = *node(1).as_slice();
    k1[0] |= 0b0000_1100;
    s.extend_from_slice(&k1);
    s.push(1);
    s.push(7);
    s.extend_from_slice(&[1, 127, 0, 0, 1, 0x26, 0x07]);
    // Node 2: "unchanged" reminder, nothing follows.
    let mut k2 = *node(2).as_slice();
    k2[0] |= 0b0100_0000;
    s.extend_from_slice(&k2);
    s.extend_from_slice(&1u32.to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    BigSize(900).write(&mut s).unwrap();
    BigSize(0).write(&mut s).unwrap();
    BigSize(1 | (1 << 63)).write(&mut s).unwrap();
    s.extend_from_slice(&[0, 3, 0xaa, 0xbb, 0xcc]);
    // Two entries: the update and its extra-data blob.
    s.extend_from_slice(&2u32.to_be_bytes());
    s.extend_from_slice(&[0; 2 + 8 + 4 + 4]);
    s.extend_from_slice(&1_000_000u64.to_be_bytes());
    BigSize(900).write(&mut s).unwrap();
    s.push(0);
    // Extra data for that update (same direction, delta 0).
    BigSize(0).write(&mut s).unwrap();
    s.push(0);
    s.extend_from_slice(&[0, 2, 1, 2]);
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let stats = RapidGossipSync::new(&graph).update_network_graph_no_std(&s, latest as u64).unwrap();
    assert_eq!((stats.channels_applied, stats.updates_applied, stats.nodes_applied), (1, 1, 1));
    let info = graph.read_only().node(&node(1)).unwrap().announcement_info.unwrap();
    assert!(info.features.supports_gossip_queries());
    assert_eq!(info.addresses.len(), 1);
    assert_eq!(graph.read_only().channel(900).unwrap().one_to_two.unwrap().htlc_maximum_msat, 1_000_000);
}

/// A hand-made v2 snapshot whose announcements carry funding amounts in their
/// extra data (the builder writes v1 only): the capacities reach the graph,
/// unknown trailing extra data is skipped, and an announcement without extra
/// data (or too short a blob) has no capacity.
#[test]
fn version_2_funding_amounts_become_channel_capacities() {
    let latest = 1_700_000_000u32;
    let mut s = Vec::new();
    s.extend_from_slice(b"LDK\x02");
    s.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    s.extend_from_slice(&latest.to_be_bytes());
    s.push(0); // no default node features
    s.extend_from_slice(&2u32.to_be_bytes());
    for i in [1, 2] {
        let mut k = *node(i).as_slice();
        k[0] |= 0b0100_0000; // no details
        s.extend_from_slice(&k);
    }
    s.extend_from_slice(&3u32.to_be_bytes());
    // scid 900: 2,500,000 sat, then 2 unknown bytes.
    s.extend_from_slice(&[0, 0]);
    BigSize(900).write(&mut s).unwrap();
    BigSize(0).write(&mut s).unwrap();
    BigSize(1 | (1 << 63)).write(&mut s).unwrap();
    s.extend_from_slice(&[0, 10]);
    s.extend_from_slice(&2_500_000u64.to_be_bytes());
    s.extend_from_slice(&[0xee, 0xff]);
    // scid 901: no extra data.
    s.extend_from_slice(&[0, 0]);
    BigSize(1).write(&mut s).unwrap();
    BigSize(0).write(&mut s).unwrap();
    BigSize(1).write(&mut s).unwrap();
    // scid 902: a 3-byte blob, too short to hold an amount.
    s.extend_from_slice(&[0, 0]);
    BigSize(1).write(&mut s).unwrap();
    BigSize(0).write(&mut s).unwrap();
    BigSize(1 | (1 << 63)).write(&mut s).unwrap();
    s.extend_from_slice(&[0, 3, 1, 2, 3]);
    s.extend_from_slice(&0u32.to_be_bytes()); // no updates
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let stats = RapidGossipSync::new(&graph).update_network_graph_no_std(&s, latest as u64).unwrap();
    assert_eq!(stats.channels_applied, 3);
    let ro = graph.read_only();
    assert_eq!(ro.channel(900).unwrap().capacity_sats, Some(2_500_000));
    assert_eq!(ro.channel(901).unwrap().capacity_sats, None);
    assert_eq!(ro.channel(902).unwrap().capacity_sats, None);
}

/// The v2 funding amount's encoding is not given by the format note: an
/// amount no channel can have (0, or more than the 21,000,000 BTC that can
/// exist, as another encoding read as 8 big-endian bytes would give) is taken
/// as an unknown capacity, not as a limit for the router.
#[test]
fn version_2_implausible_funding_amounts_are_unknown_capacities() {
    let latest = 1_700_000_000u32;
    let max_money = 21_000_000 * 100_000_000u64;
    let amounts: [(u64, Option<u64>); 5] =
        [(0, None), (1, Some(1)), (max_money, Some(max_money)), (max_money + 1, None), (u64::MAX, None)];
    let mut s = Vec::new();
    s.extend_from_slice(b"LDK\x02");
    s.extend_from_slice(ChainHash::BITCOIN.as_bytes());
    s.extend_from_slice(&latest.to_be_bytes());
    s.push(0); // no default node features
    s.extend_from_slice(&2u32.to_be_bytes());
    for i in [1, 2] {
        let mut k = *node(i).as_slice();
        k[0] |= 0b0100_0000; // no details
        s.extend_from_slice(&k);
    }
    s.extend_from_slice(&(amounts.len() as u32).to_be_bytes());
    for (i, (amount, _)) in amounts.iter().enumerate() {
        s.extend_from_slice(&[0, 0]);
        BigSize(if i == 0 { 900 } else { 1 }).write(&mut s).unwrap();
        BigSize(0).write(&mut s).unwrap();
        BigSize(1 | (1 << 63)).write(&mut s).unwrap();
        s.extend_from_slice(&[0, 8]);
        s.extend_from_slice(&amount.to_be_bytes());
    }
    s.extend_from_slice(&0u32.to_be_bytes()); // no updates
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let stats = RapidGossipSync::new(&graph).update_network_graph_no_std(&s, latest as u64).unwrap();
    assert_eq!(stats.channels_applied, amounts.len());
    let ro = graph.read_only();
    for (i, (amount, expected)) in amounts.iter().enumerate() {
        let scid = 900 + i as u64;
        assert_eq!(ro.channel(scid).unwrap().capacity_sats, *expected, "amount {amount}");
    }
}
