//! Payments per second between two nodes in memory: each iteration is one
//! whole payment (update_add_htlc, commitment_signed, revoke_and_ack both
//! ways, update_fulfill_htlc, commitment_signed, revoke_and_ack both ways)
//! through two real `ChannelManager`s, with the in-memory signer signing and
//! checking every commitment and the real `ChainMonitor` applying every
//! monitor update. Run with
//! `cargo bench -p lightning-core --features _test_utils --bench payments`.
//!
//! Each sample runs on a fresh pair of nodes (opened outside the timing):
//! the harness's test persister re-encodes the whole monitor on every
//! update, and a monitor keeps every revoked commitment's HTLCs, so on one
//! long-lived channel a payment would cost more the more payments came
//! before it, and faster code (more iterations) would be measured on
//! bigger monitors.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning_core::events::Event;
use lightning_core::ln::functional_test_utils::Network;
use std::time::{Duration, Instant};

/// One payment from `from` to the other node, claimed.
fn pay_once(net: &Network, from: usize, amount_msat: u64) {
    let to = 1 - from;
    let (preimage, _, _) = net.route_payment(from, to, amount_msat);
    net.process_all();
    let claimable = net.nodes[to].events().iter().any(|e| matches!(e, Event::PaymentClaimable { .. }));
    assert!(claimable);
    net.nodes[to].node.claim_funds(preimage);
    net.process_all();
    assert!(net.nodes[from].events().iter().any(|e| matches!(e, Event::PaymentSent { .. })));
    let _ = net.nodes[to].events();
}

/// Two nodes with a balanced channel: payments alternate direction, so it
/// never runs dry however many iterations criterion runs.
fn fresh_network() -> Network {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let _ = net.create_chan_between_nodes(0, 1, 16_000_000, 8_000_000_000);
    net
}

/// Ten payments in flight at once (their updates share commitments).
fn pay_batch_of_10(net: &Network, from: usize) {
    let to = 1 - from;
    let preimages: Vec<_> = (0..10).map(|_| net.route_payment(from, to, 2_000_000).0).collect();
    net.process_all();
    assert_eq!(net.nodes[to].events().len(), 10);
    for p in preimages {
        net.nodes[to].node.claim_funds(p);
    }
    net.process_all();
    assert_eq!(
        net.nodes[from].events().iter().filter(|e| matches!(e, Event::PaymentSent { .. })).count(),
        10
    );
    let _ = net.nodes[to].events();
}

/// Times `iters` runs of `step` (alternating direction) on a fresh network.
fn timed(iters: u64, step: impl Fn(&Network, usize)) -> Duration {
    let net = fresh_network();
    let start = Instant::now();
    for i in 0..iters {
        step(&net, (i % 2) as usize);
    }
    start.elapsed()
}

fn payments(c: &mut Criterion) {
    let mut group = c.benchmark_group("payments");
    group.throughput(Throughput::Elements(1));
    for (name, amount_msat) in [("above_dust", 5_000_000u64), ("dust", 100_000u64)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| timed(iters, |net, from| pay_once(net, from, amount_msat)))
        });
    }
    group.throughput(Throughput::Elements(10));
    group.bench_function("batch_of_10", |b| b.iter_custom(|iters| timed(iters, pay_batch_of_10)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(2));
    targets = payments
}
criterion_main!(benches);
