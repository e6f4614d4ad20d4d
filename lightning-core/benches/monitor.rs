//! What a channel monitor costs: applying one commitment round (the peer's
//! commitment, its revocation, our commitment) with 0 and 20 HTLCs, through
//! a `ChainMonitor` with a persister that serializes the whole monitor,
//! writing and reading a monitor that lived through 1,000 rounds (reading
//! rebuilds the commitments and verifies the peer's signatures), and
//! scanning a 2,000-transaction block for the funding spend.
//!
//! Run with `cargo bench -p lightning-core --features _test_utils --bench monitor`.

use std::hint::black_box;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxIn, TxOut, Txid};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lightning_core::chain::chainmonitor::{ChainMonitor, MonitorName, Persist};
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::chain::test_utils::*;
use lightning_core::chain::{ChannelMonitorUpdateStatus, Watch};
use lightning_core::ln::types::PaymentPreimage;
use lightning_core::sign::InMemorySigner;
use lightning_core::util::logger::NullLogger;
use lightning_core::util::ser::{ReadableArgs, Writeable};

fn htlcs(n: usize, k: u64) -> Vec<TestHtlc> {
    (0..n)
        .map(|i| TestHtlc {
            amount_msat: 2_000_000 + i as u64 * 1000,
            cltv_expiry: 800_000 + i as u32,
            preimage: PaymentPreimage([(i as u64 + k) as u8; 32]),
            offered_by_holder: i % 2 == 0,
        })
        .collect()
}

fn round(chan: &mut TestChannel, k: u64, htlcs: &[TestHtlc]) -> ChannelMonitorUpdate {
    let offered = |ours: bool| -> u64 {
        htlcs.iter().filter(|h| h.offered_by_holder == ours).map(|h| h.amount_msat).sum()
    };
    let (ours, theirs) = (700_000_000 - offered(true), 300_000_000 - offered(false));
    let (theirs_step, _) = chan.counterparty_commitment(chan.spec(k, false, ours, theirs, htlcs));
    let revocation = chan.counterparty_revocation(k - 1);
    let ours_step = chan.holder_commitment(chan.spec(k, true, ours, theirs, htlcs));
    ChannelMonitorUpdate {
        update_id: k,
        channel_id: chan.channel_id,
        updates: vec![theirs_step, revocation, ours_step],
    }
}

/// Serializes the whole monitor on every call, as a simple persister would.
struct EncodingPersister;

impl Persist<InMemorySigner> for EncodingPersister {
    fn persist_new_channel(
        &self, _: MonitorName, m: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        black_box(m.encode());
        ChannelMonitorUpdateStatus::Completed
    }
    fn update_persisted_channel(
        &self, _: MonitorName, u: Option<&ChannelMonitorUpdate>, _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        black_box(u.map(|u| u.encode()));
        ChannelMonitorUpdateStatus::Completed
    }
}

fn bench(c: &mut Criterion) {
    let (broadcaster, fees, filter) =
        (TestBroadcaster::default(), TestFeeEstimator::default(), TestFilter::default());
    let chain = TestChain::new(100);

    let mut group = c.benchmark_group("monitor");
    group.measurement_time(Duration::from_secs(8));
    for n in [0usize, 20] {
        let mut chan = TestChannel::new(true, 1);
        let steps = chan.initial_steps();
        let fresh = chan.monitor(chain.best_block(), steps).encode();
        let update = round(&mut chan, 1, &htlcs(n, 1));
        group.bench_function(format!("update_channel_round_{n}_htlcs"), |b| {
            b.iter_batched(
                || {
                    let cm =
                        ChainMonitor::new(Some(&filter), &broadcaster, NullLogger, &fees, EncodingPersister);
                    let monitor =
                        ChannelMonitor::<InMemorySigner>::read(&mut &fresh[..], &chan.holder_keys).unwrap();
                    cm.watch_channel(chan.channel_id, monitor).unwrap();
                    cm
                },
                |cm| {
                    assert_eq!(
                        cm.update_channel(chan.channel_id, &update),
                        ChannelMonitorUpdateStatus::Completed
                    )
                },
                BatchSize::SmallInput,
            )
        });
    }

    // A monitor after 1,000 rounds, the last with 20 HTLCs.
    let mut chan = TestChannel::new(true, 2);
    let steps = chan.initial_steps();
    let monitor = chan.monitor(chain.best_block(), steps);
    for k in 1..=1000u64 {
        let n = if k == 1000 { 20 } else { (k % 3) as usize };
        monitor.update_monitor(&round(&mut chan, k, &htlcs(n, k)), &broadcaster, &fees, &NullLogger).unwrap();
    }
    let bytes = monitor.encode();
    println!("monitor after 1000 rounds: {} bytes", bytes.len());
    group.bench_function("write_after_1000_rounds", |b| b.iter(|| black_box(monitor.encode())));
    group.bench_function("read_after_1000_rounds", |b| {
        b.iter(|| ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &chan.holder_keys).unwrap())
    });

    let txs: Vec<Transaction> = (0..2000u32)
        .map(|i| Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: Txid::from_byte_array([9; 32]), vout: i },
                ..Default::default()
            }],
            output: vec![TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::new() }],
        })
        .collect();
    let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
    let mut blocks = TestChain::new(100);
    group.bench_function("block_connected_2000_unrelated_txs", |b| {
        b.iter(|| {
            let (header, height) = blocks.extend();
            monitor.block_connected(&header, &txdata, height, &broadcaster, &fees, &NullLogger)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
