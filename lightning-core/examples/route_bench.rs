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

#[path = "../benches/common/graph_csv.rs"]
mod graph_csv;

use graph_csv::{load_graph, load_queries};
use lightning_core::routing::router::{find_route, PaymentParameters, RouteParameters};
use lightning_core::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringFeeParameters};
use lightning_core::util::logger::NullLogger;
use std::io::Write;
use std::time::Instant;

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
        let result = find_route(&q.src, &params, &ro, None, &NullLogger, &scorer, &score_params, &[0; 32]);
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
