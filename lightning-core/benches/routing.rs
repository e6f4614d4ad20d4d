//! Routing benchmarks on `shared/data/graph-15k.csv.gz` (15,000 nodes, 60,000
//! channels): graph load, and `find_route` with the default
//! `ProbabilisticScorer` over 1,000 seeded random (payer, payee, amount)
//! queries. Besides criterion's mean, the query pass prints the median and
//! p99 of single queries and the share that found a route.
//!
//! `cargo bench -p lightning-core --bench routing`

#[path = "common/graph_csv.rs"]
mod graph_csv;

use criterion::{criterion_group, criterion_main, Criterion};
use graph_csv::{data_path, load_graph};
use lightning_core::routing::gossip::NodeId;
use lightning_core::routing::router::{find_route, PaymentParameters, RouteParameters};
use lightning_core::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringFeeParameters};
use lightning_core::util::logger::NullLogger;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// 1,000 seeded (payer, payee, amount) queries: endpoints uniform over the
/// graph's nodes, amounts log-uniform from 1,000 to 500,000 sat.
fn random_queries(nodes: &[NodeId], seed: u64) -> Vec<(NodeId, NodeId, u64)> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    while out.len() < 1000 {
        let a = nodes[(next() % nodes.len() as u64) as usize];
        let b = nodes[(next() % nodes.len() as u64) as usize];
        if a == b {
            continue;
        }
        let u = (next() % 1_000_000) as f64 / 1_000_000.0;
        let sat = (1_000f64.ln() + u * (500_000f64.ln() - 1_000f64.ln())).exp();
        out.push((a, b, sat as u64 * 1000));
    }
    out
}

/// Resident memory of this process in KiB (Linux), 0 if unknown.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn params(dst: NodeId, amount_msat: u64) -> RouteParameters {
    RouteParameters::from_payment_params_and_value(PaymentParameters::from_node_id(dst, 42), amount_msat)
}

fn bench_routing(c: &mut Criterion) {
    let path = data_path("graph-15k.csv.gz");
    // Memory first, before benchmark iterations grow the heap.
    let rss_before = rss_kib();
    let (graph, _, _) = load_graph(&path);
    println!("graph-15k resident memory after load: {} KiB", rss_kib().saturating_sub(rss_before));

    let mut group = c.benchmark_group("graph");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("load_graph_15k_csv", |b| b.iter(|| black_box(load_graph(&path))));
    group.finish();

    let ro = graph.read_only();
    let nodes: Vec<NodeId> = ro.node_ids().collect();
    let queries = random_queries(&nodes, 0x5eed);
    let scorer = ProbabilisticScorer::default();
    let sp = ProbabilisticScoringFeeParameters::default();

    // One pass for the per-query distribution and the success share.
    let mut times = Vec::new();
    let mut found = 0;
    for (src, dst, amount) in &queries {
        let t = Instant::now();
        let r = find_route(src, &params(*dst, *amount), &ro, None, &NullLogger, &scorer, &sp, &[0; 32]);
        times.push(t.elapsed());
        found += r.is_ok() as usize;
    }
    times.sort();
    println!(
        "find_route over 1000 seeded queries: median {:?}, p90 {:?}, p99 {:?}, found {}/1000 ({:.1}%)",
        times[500],
        times[900],
        times[990],
        found,
        found as f64 / 10.0
    );

    let mut group = c.benchmark_group("find_route");
    group.sample_size(20).measurement_time(Duration::from_secs(20));
    let mut i = 0;
    group.bench_function("random_query_15k_probabilistic", |b| {
        b.iter(|| {
            let (src, dst, amount) = &queries[i % queries.len()];
            i += 1;
            black_box(
                find_route(src, &params(*dst, *amount), &ro, None, &NullLogger, &scorer, &sp, &[0; 32])
                    .is_ok(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_routing);
criterion_main!(benches);
