//! Rapid gossip sync benchmarks on `shared/data/graph-15k.csv.gz`: building a
//! full snapshot of the graph, and applying it to an empty graph.
//!
//! `cargo bench -p lightning-gossip --bench rgs`

#[path = "../../lightning-core/benches/common/graph_csv.rs"]
mod graph_csv;

use criterion::{criterion_group, criterion_main, Criterion};
use graph_csv::{data_path, load_graph};
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::routing::gossip::NetworkGraph;
use lightning_gossip::{build_snapshot, RapidGossipSync};
use std::hint::black_box;
use std::time::Duration;

fn bench_rgs(c: &mut Criterion) {
    let (graph, _, _) = load_graph(&data_path("graph-15k.csv.gz"));
    let now = 1_700_000_000u32;
    let (snapshot, stats) = build_snapshot(&graph, 0, now);
    println!("full snapshot of graph-15k: {} bytes, {stats:?}", snapshot.len());
    let mut group = c.benchmark_group("rgs");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("build_full_snapshot_15k", |b| b.iter(|| black_box(build_snapshot(&graph, 0, now))));
    group.bench_function("apply_full_snapshot_15k", |b| {
        b.iter(|| {
            let fresh = NetworkGraph::new(ChainHash::BITCOIN);
            let applied = RapidGossipSync::new(&fresh).update_network_graph_no_std(&snapshot, now as u64);
            black_box(applied.map(|s| s.updates_applied))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_rgs);
criterion_main!(benches);
