//! Property tests: random sequences of updates, blocks and restarts never
//! panic, refused updates change nothing, everything the monitor broadcasts
//! is valid under libbitcoinconsensus, and mutated serializations never
//! panic the reader.

use super::*;
use crate::chain::test_utils::*;
use crate::sign::InMemorySigner;
use crate::util::ser::{ReadableArgs, Writeable};

use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// The next commitment round with these HTLCs: (preimage byte, amount,
    /// expiry offset from height 100, offered by us).
    Round(Vec<(u8, u64, u32, bool)>),
    Preimage(u8),
    BadSecret([u8; 32]),
    Gap,
    Blocks(u8),
    ForceClose(bool),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec((0u8..6, 1_000u64..20_000_000, 5u32..60, any::<bool>()), 0..4).prop_map(Op::Round),
        1 => (0u8..6).prop_map(Op::Preimage),
        1 => any::<[u8; 32]>().prop_map(Op::BadSecret),
        1 => Just(Op::Gap),
        2 => (1u8..30).prop_map(Op::Blocks),
        1 => any::<bool>().prop_map(Op::ForceClose),
        1 => Just(Op::Restart),
    ]
}

#[derive(Default)]
struct Env {
    broadcaster: TestBroadcaster,
    fees: TestFeeEstimator,
    logger: TestLogger,
}

fn check_broadcasts(env: &Env, chan: &TestChannel, monitor: &ChannelMonitor<InMemorySigner>) {
    let (funding, txout) = (chan.funding_outpoint(), chan.funding_txout());
    for tx in env.broadcaster.take() {
        assert_eq!(Some(tx.compute_txid()), monitor.latest_holder_commitment_txid());
        tx.verify(|o| (*o == funding).then(|| txout.clone()))
            .expect("broadcast commitment is consensus-valid");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_monitor_consistent(anchors in any::<bool>(), ops in proptest::collection::vec(op(), 1..12)) {
        let env = Env::default();
        let mut chan = TestChannel::new(anchors, 30);
        let mut chain = TestChain::new(100);
        let steps = chan.initial_steps();
        let mut monitor = chan.monitor(chain.best_block(), steps);
        let mut next_id = 1u64;
        let mut round = 0u64;
        for op in ops {
            let updates = match op {
                Op::Round(htlcs) => {
                    round += 1;
                    let htlcs: Vec<TestHtlc> = htlcs
                        .iter()
                        .map(|(b, amount_msat, expiry, offered_by_holder)| TestHtlc {
                            amount_msat: *amount_msat,
                            cltv_expiry: 100 + expiry,
                            preimage: PaymentPreimage([*b; 32]),
                            offered_by_holder: *offered_by_holder,
                        })
                        .collect();
                    let offered = |ours: bool| -> u64 {
                        htlcs.iter().filter(|h| h.offered_by_holder == ours).map(|h| h.amount_msat).sum()
                    };
                    let (ours, theirs) = (700_000_000 - offered(true), 300_000_000 - offered(false));
                    let (theirs_step, _) = chan.counterparty_commitment(chan.spec(round, false, ours, theirs, &htlcs));
                    let revocation = chan.counterparty_revocation(round - 1);
                    let ours_step = chan.holder_commitment(chan.spec(round, true, ours, theirs, &htlcs));
                    Some((vec![theirs_step, revocation, ours_step], false))
                }
                Op::Preimage(b) => Some((
                    vec![ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([b; 32]) }],
                    false,
                )),
                Op::BadSecret(secret) => Some((
                    vec![ChannelMonitorUpdateStep::CommitmentSecret { commitment_number: round, secret }],
                    true,
                )),
                Op::Gap => Some((vec![], true)),
                Op::ForceClose(should_broadcast) => {
                    Some((vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast }], false))
                }
                Op::Blocks(n) => {
                    for _ in 0..n {
                        let (header, height) = chain.extend();
                        monitor.block_connected(&header, &[], height, &env.broadcaster, &env.fees, &env.logger);
                    }
                    None
                }
                Op::Restart => {
                    let bytes = monitor.encode();
                    let restored = ChannelMonitor::read(&mut &bytes[..], &chan.holder_keys).expect("reads back");
                    prop_assert_eq!(restored.encode(), bytes);
                    monitor = restored;
                    None
                }
            };
            if let Some((steps, must_fail)) = updates {
                let closed = monitor.is_closed();
                let changes_commitment = steps.iter().any(|s| matches!(
                    s,
                    ChannelMonitorUpdateStep::LatestHolderCommitment { .. }
                        | ChannelMonitorUpdateStep::LatestCounterpartyCommitment { .. }
                ));
                let update_id = if matches!(steps.as_slice(), []) && must_fail { next_id + 1 } else { next_id };
                let update = ChannelMonitorUpdate { update_id, channel_id: chan.channel_id, updates: steps };
                let before = monitor.encode();
                match monitor.update_monitor(&update, &env.broadcaster, &env.fees, &env.logger) {
                    Ok(()) => {
                        prop_assert!(!must_fail, "a bad update was accepted");
                        prop_assert!(!(closed && changes_commitment), "a commitment update was taken after close");
                        next_id += 1;
                    }
                    Err(e) => {
                        prop_assert!(must_fail || (closed && changes_commitment), "refused: {e}");
                        prop_assert_eq!(monitor.encode(), before, "a refused update changed the monitor");
                    }
                }
                prop_assert_eq!(monitor.latest_update_id(), next_id - 1);
            }
            check_broadcasts(&env, &chan, &monitor);
        }
    }

    #[test]
    fn mutated_serializations_never_panic(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut chan = TestChannel::new(false, 31);
        let steps = chan.initial_steps();
        let monitor = chan.monitor(TestChain::new(100).best_block(), steps);
        let mut bytes = monitor.encode();
        for (index, byte, kind) in mutations {
            if bytes.is_empty() {
                break;
            }
            let at = index.index(bytes.len());
            match kind {
                0 => bytes[at] ^= byte | 1,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        if let Ok(read) = ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &chan.holder_keys) {
            // Whatever is accepted is a monitor that round-trips.
            let again = read.encode();
            let reread = ChannelMonitor::<InMemorySigner>::read(&mut &again[..], &chan.holder_keys).expect("re-reads");
            prop_assert_eq!(reread.encode(), again);
        }
    }
}
