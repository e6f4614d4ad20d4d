//! Loads a graph CSV (`graph-15k.csv.gz` columns, see `shared/data/README.md`)
//! through the trusted insertion path, answers every query of a queries CSV
//! with `find_route` and a default `ProbabilisticScorer`, and prints one JSON
//! summary line; with `--out FILE`, also one CSV line per query.
//!
//! ```text
//! cargo run --release -p lightning-core --example route_bench -- \
//!     --graph ../shared/data/graph-15k.csv.gz --queries ../shared/data/graph-15k.queries.csv.gz \
//!     [--out results.csv]
//! ```

use flate2::read::GzDecoder;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::ChannelFeatures;
use lightning_core::ln::msgs::UnsignedChannelUpdate;
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use lightning_core::routing::router::{find_route, PaymentParameters, RouteParameters};
use lightning_core::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringFeeParameters};
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Instant;

fn open(path: &str) -> Box<dyn BufRead> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let reader: Box<dyn Read> =
        if path.ends_with(".gz") { Box::new(GzDecoder::new(file)) } else { Box::new(file) };
    Box::new(BufReader::with_capacity(1 << 20, reader))
}

fn node_id(hex_str: &str) -> NodeId {
    let bytes = hex::decode(hex_str).expect("node id hex");
    NodeId::from_slice(&bytes).expect("33-byte node id")
}

/// Peak resident memory of this process in KiB (Linux), 0 if unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this thread has used, in ns (Linux), 0 if unknown. On a shared
/// machine it is steadier than wall-clock time.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn current_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
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

struct Query {
    qid: String,
    src: NodeId,
    dst: NodeId,
    amount_msat: u64,
    final_cltv: u32,
}

fn load_queries(path: &str) -> Vec<Query> {
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

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let (Some(graph_path), Some(queries_path)) = (arg("--graph"), arg("--queries")) else {
        eprintln!("usage: route_bench --graph FILE --queries FILE [--out RESULTS.csv]");
        std::process::exit(2);
    };
    let out_path = arg("--out");

    let rss_before = current_rss_kib();
    let start = Instant::now();
    let (graph, applied, rejected) = load_graph(&graph_path);
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    let graph_rss_kib = current_rss_kib().saturating_sub(rss_before);
    let queries = load_queries(&queries_path);

    let scorer = ProbabilisticScorer::default();
    let score_params = ProbabilisticScoringFeeParameters::default();
    let ro = graph.read_only();
    let mut times = Vec::with_capacity(queries.len());
    let (mut found, mut failed, mut hops_sum, mut ppm_sum) = (0u64, 0u64, 0u64, 0f64);
    let mut out = out_path.as_ref().map(|p| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).expect("create --out file"));
        writeln!(f, "qid,found,hops,total_fee_msat,total_cltv_delta,scids,error").expect("write");
        f
    });
    let cpu_start = thread_cpu_ns();
    for q in &queries {
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(q.dst, q.final_cltv),
            q.amount_msat,
        );
        let t = Instant::now();
        let result = find_route(&q.src, &params, &ro, None, &scorer, &score_params, &[0; 32]);
        times.push(t.elapsed().as_micros());
        match result {
            Ok(route) => {
                found += 1;
                let path = &route.paths[0];
                hops_sum += path.hops.len() as u64;
                let fee = route.total_fees_msat();
                ppm_sum += fee as f64 * 1e6 / q.amount_msat as f64;
                if let Some(f) = out.as_mut() {
                    let scids: Vec<String> =
                        path.hops.iter().map(|h| h.short_channel_id.to_string()).collect();
                    writeln!(
                        f,
                        "{},1,{},{},{},{},",
                        q.qid,
                        path.hops.len(),
                        fee,
                        path.total_cltv_expiry_delta(),
                        scids.join(";")
                    )
                    .expect("write");
                }
            }
            Err(e) => {
                failed += 1;
                if let Some(f) = out.as_mut() {
                    writeln!(f, "{},0,0,0,0,,{}", q.qid, e).expect("write");
                }
            }
        }
    }
    let cpu_mean_us = thread_cpu_ns().saturating_sub(cpu_start) as f64 / 1000.0 / queries.len().max(1) as f64;
    if let Some(mut f) = out {
        f.flush().expect("flush");
    }
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let mean_us = if times.is_empty() { 0.0 } else { times.iter().sum::<u128>() as f64 / times.len() as f64 };
    println!(
        "{{\"graph\":\"{}\",\"nodes\":{},\"channels\":{},\"directions\":{},\"rejected_directions\":{},\"load_ms\":{:.1},\"graph_rss_kib\":{},\"peak_rss_kib\":{},\"queries\":{},\"found\":{},\"failed\":{},\"median_us\":{},\"p90_us\":{},\"p99_us\":{},\"mean_us\":{:.1},\"cpu_mean_us\":{:.1},\"avg_hops\":{:.3},\"avg_fee_ppm\":{:.1}}}",
        graph_path,
        ro.node_count(),
        ro.channel_count(),
        applied,
        rejected,
        load_ms,
        graph_rss_kib,
        peak_rss_kib(),
        queries.len(),
        found,
        failed,
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.9),
        percentile(&sorted, 0.99),
        mean_us,
        cpu_mean_us,
        if found > 0 { hops_sum as f64 / found as f64 } else { 0.0 },
        if found > 0 { ppm_sum / found as f64 } else { 0.0 },
    );
}
