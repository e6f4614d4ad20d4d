//! Unit tests of the channel monitor: update order and atomicity, the checks
//! on commitments and revocation secrets, force-close broadcasts validated
//! by libbitcoinconsensus, chain following, HTLC deadlines, and
//! serialization (round trips and corrupt input).

use super::*;
use crate::chain::test_utils::*;
use crate::ln::chan_utils::HtlcDirection;
use crate::ln::msgs::DecodeError;
use crate::sign::{InMemorySigner, KeysManager, SignerProvider};
use crate::util::logger::Level;
use crate::util::ser::{decode_exact, ReadableArgs, Writeable};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::Secp256k1;
use bitcoin::Transaction;

fn key(b: u8) -> (SecretKey, PublicKey) {
    let sk = SecretKey::from_slice(&[b; 32]).unwrap();
    (sk, PublicKey::from_secret_key(&Secp256k1::new(), &sk))
}

#[test]
fn updates_round_trip() {
    let (sk, pk) = key(3);
    let sig = Secp256k1::new().sign_ecdsa(&bitcoin::secp256k1::Message::from_digest([9; 32]), &sk);
    let htlc = HTLCOutputInCommitment {
        direction: HtlcDirection::Offered,
        amount_msat: 5_000_000,
        cltv_expiry: 500,
        payment_hash: PaymentHash([1; 32]),
        transaction_output_index: Some(2),
    };
    let spec = CommitmentSpec {
        commitment_number: 7,
        to_broadcaster_value_msat: 1,
        to_countersignatory_value_msat: 2,
        feerate_per_kw: 253,
        broadcaster_dust_limit_satoshis: 546,
        htlcs: vec![htlc],
    };
    let source = HTLCSource::OutboundRoute {
        payment_id: PaymentId([4; 32]),
        session_priv: sk,
        path: vec![OutboundPathHop {
            node_id: pk,
            short_channel_id: ShortChannelId(42),
            fee_msat: 10,
            cltv_expiry_delta: 40,
        }],
    };
    let update = ChannelMonitorUpdate {
        update_id: 3,
        channel_id: ChannelId([5; 32]),
        updates: vec![
            ChannelMonitorUpdateStep::LatestHolderCommitment {
                spec: spec.clone(),
                per_commitment_point: pk,
                counterparty_sig: sig,
                counterparty_htlc_sigs: vec![sig],
                htlc_sources: vec![(htlc, source.clone())],
            },
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                commitment_txid: Txid::from_byte_array([6; 32]),
                spec,
                their_per_commitment_point: pk,
                htlc_sources: vec![],
            },
            ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([7; 32]) },
            ChannelMonitorUpdateStep::CommitmentSecret { commitment_number: 6, secret: [8; 32] },
            ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true },
            ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey: ScriptBuf::from_bytes(vec![0, 20]) },
            ChannelMonitorUpdateStep::CooperativeClose {
                closing_tx: cooperative_close_spend(OutPoint {
                    txid: Txid::from_byte_array([6; 32]),
                    vout: 1,
                }),
            },
        ],
    };
    assert_eq!(decode_exact::<ChannelMonitorUpdate>(&update.encode()), Ok(update));
    let prev = HTLCSource::PreviousHop(HTLCPreviousHopData {
        channel_id: ChannelId([1; 32]),
        counterparty_node_id: pk,
        htlc_id: 9,
        incoming_packet_shared_secret: [2; 32],
    });
    assert_eq!(decode_exact::<HTLCSource>(&prev.encode()), Ok(prev));
}

/// The chain interfaces a monitor is driven with.
#[derive(Default)]
struct Env {
    broadcaster: TestBroadcaster,
    fees: TestFeeEstimator,
    logger: TestLogger,
}

impl Env {
    fn update<S: EcdsaChannelSigner>(
        &self, monitor: &ChannelMonitor<S>, update_id: u64, updates: Vec<ChannelMonitorUpdateStep>,
    ) -> Result<(), MonitorUpdateError> {
        let update = ChannelMonitorUpdate { update_id, channel_id: monitor.channel_id(), updates };
        monitor.update_monitor(&update, &self.broadcaster, &self.fees, &self.logger)
    }

    fn connect<S: EcdsaChannelSigner>(
        &self, monitor: &ChannelMonitor<S>, chain: &mut TestChain, txs: &[&Transaction],
    ) -> Vec<TransactionOutputs> {
        let (header, height) = chain.extend();
        let txdata: Vec<(usize, &Transaction)> = txs.iter().copied().enumerate().collect();
        monitor.block_connected(&header, &txdata, height, &self.broadcaster, &self.fees, &self.logger)
    }

    fn connect_until<S: EcdsaChannelSigner>(
        &self, monitor: &ChannelMonitor<S>, chain: &mut TestChain, height: u32,
    ) {
        while chain.tip().1 < height {
            self.connect(monitor, chain, &[]);
        }
    }
}

fn setup(anchors: bool, seed: u8) -> (TestChannel, ChannelMonitor<InMemorySigner>, TestChain) {
    let mut chan = TestChannel::new(anchors, seed);
    let chain = TestChain::new(100);
    let steps = chan.initial_steps();
    let monitor = chan.monitor(chain.best_block(), steps);
    assert_eq!(monitor.initial_steps_error(), None);
    (chan, monitor, chain)
}

fn htlc(byte: u8, amount_msat: u64, cltv_expiry: u32, offered_by_holder: bool) -> TestHtlc {
    TestHtlc { amount_msat, cltv_expiry, preimage: PaymentPreimage([byte; 32]), offered_by_holder }
}

fn balances(htlcs: &[TestHtlc]) -> (u64, u64) {
    let offered = |ours: bool| -> u64 {
        htlcs.iter().filter(|h| h.offered_by_holder == ours).map(|h| h.amount_msat).sum()
    };
    (700_000_000 - offered(true), 300_000_000 - offered(false))
}

/// The steps of round `k >= 1`: the peer's commitment `k`, its revocation
/// of `k - 1`, our commitment `k`, all with `htlcs`.
fn round(chan: &mut TestChannel, k: u64, htlcs: &[TestHtlc]) -> Vec<ChannelMonitorUpdateStep> {
    let (ours, theirs) = balances(htlcs);
    let (theirs_step, _) = chan.counterparty_commitment(chan.spec(k, false, ours, theirs, htlcs));
    let revocation = chan.counterparty_revocation(k - 1);
    let ours_step = chan.holder_commitment(chan.spec(k, true, ours, theirs, htlcs));
    vec![theirs_step, revocation, ours_step]
}

fn assert_spends_funding(tx: &Transaction, chan: &TestChannel) {
    let (funding, txout) = (chan.funding_outpoint(), chan.funding_txout());
    tx.verify(|o| (*o == funding).then(|| txout.clone()))
        .unwrap_or_else(|e| panic!("commitment rejected by libbitcoinconsensus: {e:?}"));
}

/// Our commitment as the monitor would build it (unsigned: the txid is
/// final).
fn holder_tx(monitor: &ChannelMonitor<InMemorySigner>, previous: bool) -> Transaction {
    let state = monitor.inner.lock();
    let c = if previous { &state.prev_holder_commitment } else { &state.holder_commitment };
    let holder =
        c.as_ref().unwrap().to_holder_commitment_transaction(&state.secp_ctx, &state.channel_parameters);
    holder.unwrap().commitment().transaction().clone()
}

#[test]
fn applies_updates_in_order_and_refuses_gaps() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(false, 1);
    assert_eq!(monitor.latest_update_id(), INITIAL_UPDATE_ID);
    assert_eq!(monitor.latest_holder_commitment_number(), Some(0));
    let steps = round(&mut chan, 1, &[]);
    assert_eq!(
        env.update(&monitor, 2, steps.clone()),
        Err(MonitorUpdateError::OutOfOrder { expected: 1, got: 2 })
    );
    assert_eq!(
        env.update(&monitor, 0, steps.clone()),
        Err(MonitorUpdateError::OutOfOrder { expected: 1, got: 0 })
    );
    assert_eq!(monitor.latest_update_id(), 0);
    assert_eq!(monitor.latest_holder_commitment_number(), Some(0));
    assert_eq!(env.update(&monitor, 1, steps), Ok(()));
    assert_eq!(monitor.latest_update_id(), 1);
    assert_eq!(monitor.latest_holder_commitment_number(), Some(1));
    assert_eq!(monitor.counterparty_revoked_commitment_count(), 1);
    assert_eq!(monitor.counterparty_commitment_txids().iter().map(|(_, n)| *n).collect::<Vec<_>>(), vec![1]);

    let other = ChannelMonitorUpdate { update_id: 2, channel_id: ChannelId([9; 32]), updates: vec![] };
    assert_eq!(
        monitor.update_monitor(&other, &env.broadcaster, &env.fees, &env.logger),
        Err(MonitorUpdateError::WrongChannel)
    );
    // A closed-channel update is refused while the channel is open, unless
    // it closes it.
    let preimage = ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([1; 32]) };
    assert_eq!(
        env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, vec![preimage.clone()]),
        Err(MonitorUpdateError::Invalid("closed-channel update for an open channel"))
    );
    assert_eq!(monitor.payment_preimage(&PaymentPreimage([1; 32]).payment_hash()), None);
    assert_eq!(env.update(&monitor, 2, vec![]), Ok(()));
    assert_eq!(monitor.latest_update_id(), 2);
    assert!(!monitor.is_closed());
}

#[test]
fn a_refused_update_changes_nothing() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(false, 2);
    let before = monitor.encode();
    let steps = round(&mut chan, 1, &[htlc(1, 5_000_000, 500, true)]);
    // The peer's commitment 1 is added by the same update: the bad secret is
    // checked against its point.
    let mut bad = steps.clone();
    bad.push(ChannelMonitorUpdateStep::CommitmentSecret { commitment_number: 1, secret: [7; 32] });
    bad.insert(0, ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([1; 32]) });
    assert_eq!(
        env.update(&monitor, 1, bad),
        Err(MonitorUpdateError::InvalidRevocationSecret(RevocationSecretError::DoesNotMatchPoint))
    );
    assert_eq!(monitor.encode(), before, "nothing of the refused update was applied");
    assert_eq!(env.update(&monitor, 1, steps), Ok(()));
    assert_ne!(monitor.encode(), before);
}

#[test]
fn revocation_secrets_are_checked() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(false, 3);
    let txid0 = monitor.counterparty_commitment_txids()[0].0;
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[])), Ok(()));
    assert_eq!(monitor.revoked_counterparty_commitment_number(&txid0), Some(0));
    let secret0 = monitor.counterparty_commitment_secret(0).unwrap();
    assert_eq!(monitor.counterparty_commitment_secret(1), None);

    let secret = |commitment_number, secret| {
        vec![ChannelMonitorUpdateStep::CommitmentSecret { commitment_number, secret }]
    };
    let refused = |e| Err(MonitorUpdateError::InvalidRevocationSecret(e));
    assert_eq!(env.update(&monitor, 2, secret(1, [0; 32])), refused(RevocationSecretError::NotASecretKey));
    assert_eq!(
        env.update(&monitor, 2, secret(1, [7; 32])),
        refused(RevocationSecretError::DoesNotMatchPoint)
    );
    assert_eq!(env.update(&monitor, 2, secret(3, [7; 32])), refused(RevocationSecretError::OutOfOrder));
    assert_eq!(
        env.update(&monitor, 2, secret(1 << 48, [7; 32])),
        refused(RevocationSecretError::CommitmentNumberOutOfRange)
    );
    // A retransmitted revocation is accepted and changes nothing.
    assert_eq!(env.update(&monitor, 2, secret(0, secret0)), Ok(()));
    assert_eq!(monitor.counterparty_revoked_commitment_count(), 1);

    // A secret that does not derive the earlier ones: the monitor did not see
    // the peer's commitment 1, so only the shachain check can catch it.
    let mut chan = TestChannel::new(false, 4);
    let init = chan.initial_steps();
    let monitor = chan.monitor(TestChain::new(100).best_block(), vec![init[0].clone()]);
    let (ours, theirs) = balances(&[]);
    let _peer_validates_1 = chan.counterparty_commitment(chan.spec(1, false, ours, theirs, &[]));
    assert_eq!(env.update(&monitor, 1, vec![chan.counterparty_revocation(0)]), Ok(()));
    assert_eq!(
        env.update(&monitor, 2, secret(1, [7; 32])),
        refused(RevocationSecretError::DoesNotDeriveEarlierSecrets)
    );
    assert_eq!(monitor.counterparty_revoked_commitment_count(), 1);
}

#[test]
fn commitments_are_checked_and_rotated() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(true, 5);
    let init = chan.initial_steps();
    let holder0 = monitor.latest_holder_commitment_txid();
    let htlcs = [htlc(1, 5_000_000, 500, true), htlc(2, 6_000_000, 510, false)];
    let steps = round(&mut chan, 1, &htlcs);
    assert_eq!(env.update(&monitor, 1, steps.clone()), Ok(()));
    assert_eq!(monitor.previous_holder_commitment_txid(), holder0);
    let holder1 = monitor.latest_holder_commitment_txid();

    // Going back, or another commitment with the same number, is refused.
    assert_eq!(
        env.update(&monitor, 2, vec![init[0].clone()]),
        Err(MonitorUpdateError::Invalid("holder commitment number went backwards"))
    );
    let (ours, theirs) = balances(&htlcs);
    let other1 = chan.holder_commitment(chan.spec(1, true, ours - 1_000_000, theirs + 1_000_000, &htlcs));
    assert_eq!(
        env.update(&monitor, 2, vec![other1]),
        Err(MonitorUpdateError::Invalid("holder commitment: a different commitment with the same number"))
    );
    // The same commitment again (a retransmission) is accepted as a no-op.
    assert_eq!(env.update(&monitor, 2, vec![steps[2].clone()]), Ok(()));
    assert_eq!(monitor.latest_holder_commitment_txid(), holder1);
    assert_eq!(monitor.previous_holder_commitment_txid(), holder0);

    // One counterparty HTLC signature short.
    let mut short = chan.holder_commitment(chan.spec(2, true, ours, theirs, &htlcs));
    if let ChannelMonitorUpdateStep::LatestHolderCommitment { counterparty_htlc_sigs, .. } = &mut short {
        counterparty_htlc_sigs.pop();
    }
    assert_eq!(
        env.update(&monitor, 3, vec![short]),
        Err(MonitorUpdateError::Invalid(
            "holder commitment: counterparty HTLC signature count differs from its HTLC outputs"
        ))
    );

    // The peer's commitment: its txid must match its spec; a revoked one or
    // one not above the unrevoked ones is refused.
    // (The txid check costs a rebuild: debug builds make it on every update,
    // reading a monitor back always does.)
    if cfg!(debug_assertions) {
        let (mut wrong_txid, _) = chan.counterparty_commitment(chan.spec(2, false, ours, theirs, &htlcs));
        if let ChannelMonitorUpdateStep::LatestCounterpartyCommitment { commitment_txid, .. } =
            &mut wrong_txid
        {
            *commitment_txid = Txid::all_zeros();
        }
        assert_eq!(
            env.update(&monitor, 3, vec![wrong_txid]),
            Err(MonitorUpdateError::Invalid(
                "counterparty commitment: txid does not match the commitment built from its spec"
            ))
        );
    }
    assert_eq!(
        env.update(&monitor, 3, vec![init[1].clone()]),
        Err(MonitorUpdateError::Invalid("counterparty commitment already revoked"))
    );
    let (other_theirs1, _) =
        chan.counterparty_commitment(chan.spec(1, false, ours + 1_000_000, theirs - 1_000_000, &htlcs));
    assert_eq!(
        env.update(&monitor, 3, vec![other_theirs1]),
        Err(MonitorUpdateError::Invalid("counterparty commitment number is not above the unrevoked ones"))
    );
    assert_eq!(monitor.latest_update_id(), 2);
}

#[test]
fn force_close_broadcasts_a_consensus_valid_commitment() {
    for anchors in [false, true] {
        let env = Env::default();
        let (mut chan, monitor, _) = setup(anchors, 6);
        // Two HTLCs above dust, one trimmed.
        let htlcs =
            [htlc(1, 5_000_000, 500, true), htlc(2, 6_000_000, 510, false), htlc(3, 100_000, 520, true)];
        assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &htlcs)), Ok(()));
        let round2 = round(&mut chan, 2, &htlcs);
        assert!(env.broadcaster.take().is_empty());

        let close = vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }];
        assert_eq!(env.update(&monitor, 2, close), Ok(()));
        let txs = env.broadcaster.take();
        assert_eq!(txs.len(), 1);
        let tx = &txs[0];
        assert_eq!(Some(tx.compute_txid()), monitor.latest_holder_commitment_txid());
        assert_eq!(
            tx.output.len(),
            if anchors { 6 } else { 4 },
            "to_local, to_remote, 2 HTLCs (and anchors)"
        );
        assert_spends_funding(tx, &chan);
        assert_eq!(monitor.get_and_clear_pending_monitor_events(), vec![MonitorEvent::HolderForceClosed]);
        assert!(monitor.is_closed());

        // Commitment updates are refused now; secrets and preimages are not.
        assert_eq!(env.update(&monitor, 3, round2.clone()), Err(MonitorUpdateError::CommitmentAfterClose));
        assert_eq!(env.update(&monitor, 3, vec![round2[1].clone()]), Ok(()));
        assert_eq!(monitor.counterparty_revoked_commitment_count(), 2);
        let preimage =
            ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([2; 32]) };
        assert_eq!(env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, vec![preimage.clone()]), Ok(()));
        assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
        assert_eq!(
            monitor.payment_preimage(&PaymentPreimage([2; 32]).payment_hash()),
            Some(PaymentPreimage([2; 32]))
        );
        assert_eq!(env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, vec![preimage.clone()]), Ok(()));
        assert_eq!(
            env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, vec![round2[1].clone()]),
            Err(MonitorUpdateError::Invalid(
                "closed-channel update carries a step other than a close or a preimage"
            ))
        );
        assert_eq!(
            env.update(&monitor, 4, vec![preimage]),
            Err(MonitorUpdateError::Invalid("only closed-channel updates follow a closed-channel update"))
        );

        // Rebroadcast gives the same transaction, and no new event.
        monitor.rebroadcast_pending_claims(&env.broadcaster, &env.fees, &env.logger);
        assert_eq!(env.broadcaster.take(), txs);
        assert!(monitor.get_and_clear_pending_monitor_events().is_empty());
    }
}

#[test]
fn a_closed_channel_update_can_force_close() {
    let env = Env::default();
    let (chan, monitor, _) = setup(false, 7);
    let close = vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }];
    assert_eq!(env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, close), Ok(()));
    let txs = env.broadcaster.take();
    assert_eq!(txs.len(), 1);
    assert_spends_funding(&txs[0], &chan);
    assert_eq!(monitor.get_and_clear_pending_monitor_events(), vec![MonitorEvent::HolderForceClosed]);
}

#[test]
fn a_cooperative_close_closes_the_monitor_and_keeps_the_closing_transaction() {
    let env = Env::default();
    let (mut chan, monitor, mut chain) = setup(false, 30);
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[])), Ok(()));
    let closing_tx = cooperative_close_spend(chan.funding_outpoint());
    let coop = |tx: &Transaction| vec![ChannelMonitorUpdateStep::CooperativeClose { closing_tx: tx.clone() }];
    // Only for a transaction spending exactly the funding output.
    let mut elsewhere = closing_tx.clone();
    elsewhere.input[0].previous_output.vout = 7;
    assert_eq!(
        env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, coop(&elsewhere)),
        Err(MonitorUpdateError::Invalid(
            "cooperative closing transaction does not spend exactly the funding output"
        ))
    );
    assert!(!monitor.is_closed());
    assert_eq!(env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, coop(&closing_tx)), Ok(()));
    assert!(monitor.is_closed());
    assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
    assert_eq!(monitor.cooperative_closing_tx(), Some(closing_tx.clone()));
    // Nothing is broadcast by the update, no event.
    assert!(env.broadcaster.take().is_empty());
    assert!(monitor.get_and_clear_pending_monitor_events().is_empty());
    // The same close again is harmless; another closing transaction is not.
    assert_eq!(env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, coop(&closing_tx)), Ok(()));
    let mut other = closing_tx.clone();
    other.output[0].value = bitcoin::Amount::from_sat(980_000);
    assert_eq!(
        env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, coop(&other)),
        Err(MonitorUpdateError::Invalid("another cooperative closing transaction is already recorded"))
    );
    // Commitments are refused from now on; numbered updates too.
    assert_eq!(
        env.update(&monitor, CLOSED_CHANNEL_UPDATE_ID, round(&mut chan, 2, &[])),
        Err(MonitorUpdateError::Invalid(
            "closed-channel update carries a step other than a close or a preimage"
        ))
    );
    assert!(env.update(&monitor, 2, round(&mut chan, 2, &[])).is_err());
    // It survives serialization, and is rebroadcast until the funding
    // output is spent; our commitment never goes out by itself.
    let reread = ChannelMonitor::read(&mut &monitor.encode()[..], &chan.holder_keys).unwrap();
    assert_eq!(reread.encode(), monitor.encode());
    assert_eq!(reread.cooperative_closing_tx(), Some(closing_tx.clone()));
    assert!(reread.is_closed());
    reread.rebroadcast_pending_claims(&env.broadcaster, &env.fees, &env.logger);
    assert_eq!(env.broadcaster.take(), vec![closing_tx.clone()]);
    env.connect_until(&reread, &mut chain, 200);
    assert!(env.broadcaster.take().is_empty());
    env.connect(&reread, &mut chain, &[&closing_tx]);
    assert_eq!(reread.funding_spend().map(|s| s.kind), Some(FundingSpendKind::NotACommitment));
    reread.rebroadcast_pending_claims(&env.broadcaster, &env.fees, &env.logger);
    assert!(env.broadcaster.take().is_empty(), "confirmed: nothing to rebroadcast");
}

#[test]
fn a_version_1_monitor_is_still_read() {
    let (chan, monitor, _) = setup(false, 31);
    let mut bytes = monitor.encode();
    assert_eq!(bytes[0], MONITOR_SERIALIZATION_VERSION);
    // Version 1 is version 2 without the closing transaction at the end.
    assert_eq!(bytes.pop(), Some(0));
    bytes[0] = 1;
    let reread = ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &chan.holder_keys).unwrap();
    assert_eq!(reread.cooperative_closing_tx(), None);
    assert_eq!(reread.encode(), monitor.encode(), "written back as version 2");
    assert_eq!(
        ChannelMonitor::<InMemorySigner>::read(
            &mut &{
                let mut b = bytes.clone();
                b[0] = 0;
                b
            }[..],
            &chan.holder_keys
        )
        .map(|m| m.latest_update_id()),
        Err(DecodeError::UnknownVersion)
    );
}

#[test]
fn force_close_without_broadcast_waits_for_the_user() {
    let env = Env::default();
    let (mut chan, monitor, mut chain) = setup(true, 8);
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[htlc(1, 5_000_000, 110, true)])), Ok(()));
    let close = vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: false }];
    assert_eq!(env.update(&monitor, 2, close), Ok(()));
    assert!(monitor.is_closed());
    assert_eq!(env.logger.count(Level::Info, "without broadcasting"), 1);
    // Even past the HTLC's deadline, nothing goes out by itself.
    env.connect_until(&monitor, &mut chain, 120);
    assert!(env.broadcaster.take().is_empty());
    assert!(monitor.get_and_clear_pending_monitor_events().is_empty());

    let txid =
        monitor.broadcast_latest_holder_commitment_txn(&env.broadcaster, &env.fees, &env.logger).unwrap();
    let txs = env.broadcaster.take();
    assert_eq!(txs.iter().map(|t| t.compute_txid()).collect::<Vec<_>>(), vec![txid]);
    assert_spends_funding(&txs[0], &chan);
    assert_eq!(monitor.get_and_clear_pending_monitor_events(), vec![MonitorEvent::HolderForceClosed]);
    // Again: a rebroadcast, no second event.
    assert_eq!(
        monitor.broadcast_latest_holder_commitment_txn(&env.broadcaster, &env.fees, &env.logger),
        Ok(txid)
    );
    assert_eq!(env.broadcaster.take().len(), 1);
    assert!(monitor.get_and_clear_pending_monitor_events().is_empty());
    // The fee estimate is above the commitment's feerate: the log says so.
    *env.fees.sat_per_kw.lock() = 10_000;
    monitor.broadcast_latest_holder_commitment_txn(&env.broadcaster, &env.fees, &env.logger).unwrap();
    assert_eq!(env.logger.count(Level::Warn, "below the urgent estimate"), 1);
}

#[test]
fn a_monitor_without_holder_commitment_cannot_broadcast() {
    let env = Env::default();
    let mut chan = TestChannel::new(false, 9);
    let init = chan.initial_steps();
    let monitor = chan.monitor(TestChain::new(100).best_block(), vec![init[1].clone()]);
    assert_eq!(
        monitor.broadcast_latest_holder_commitment_txn(&env.broadcaster, &env.fees, &env.logger),
        Err(HolderBroadcastError::NoHolderCommitment)
    );
    assert!(!monitor.is_closed());
    assert!(env.broadcaster.take().is_empty());
}

#[test]
fn invalid_initial_steps_poison_the_monitor() {
    let env = Env::default();
    let mut chan = TestChannel::new(false, 10);
    let mut init = chan.initial_steps();
    if let ChannelMonitorUpdateStep::LatestHolderCommitment {
        counterparty_htlc_sigs, counterparty_sig, ..
    } = &mut init[0]
    {
        counterparty_htlc_sigs.push(*counterparty_sig);
    }
    let expected = MonitorUpdateError::Invalid(
        "holder commitment: counterparty HTLC signature count differs from its HTLC outputs",
    );
    let monitor = chan.monitor(TestChain::new(100).best_block(), init.clone());
    assert_eq!(monitor.initial_steps_error(), Some(expected.clone()));
    assert_eq!(monitor.latest_holder_commitment_txid(), None, "no initial step was applied");
    assert_eq!(env.update(&monitor, 1, vec![]), Err(expected.clone()));
    assert!(monitor.write(&mut Vec::new()).is_err());
    let signer = chan.holder_keys.derive_channel_signer(TestChannel::CHANNEL_VALUE_SAT, chan.channel_keys_id);
    let best = TestChain::new(100).best_block();
    let tried = ChannelMonitor::try_new(
        signer,
        chan.channel_id,
        chan.counterparty_node_id,
        chan.holder_params.clone(),
        ScriptBuf::new(),
        best,
        init,
    );
    assert_eq!(tried.err(), Some(expected));
    let closed = vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }];
    let monitor = chan.monitor(best, closed);
    assert_eq!(
        monitor.initial_steps_error(),
        Some(MonitorUpdateError::Invalid("a monitor cannot be created closed"))
    );
}

#[test]
fn detects_what_spent_the_funding_output() {
    let env = Env::default();
    let (mut chan, monitor, mut chain) = setup(false, 11);
    let htlcs = [htlc(1, 5_000_000, 500, true)];
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &htlcs)), Ok(()));
    assert_eq!(env.update(&monitor, 2, round(&mut chan, 2, &htlcs)), Ok(()));
    let (ours, theirs) = balances(&htlcs);
    let theirs_current = chan.counterparty_signed_commitment(chan.spec(2, false, ours, theirs, &htlcs));
    let theirs_revoked = chan.counterparty_unsigned_commitment(chan.spec(1, false, ours, theirs, &htlcs));
    let unknown = chan.counterparty_unsigned_commitment(chan.spec(7, false, ours, theirs, &htlcs));
    let cases: Vec<(Transaction, FundingSpendKind)> = vec![
        (cooperative_close_spend(chan.funding_outpoint()), FundingSpendKind::NotACommitment),
        (
            holder_tx(&monitor, false),
            FundingSpendKind::HolderCommitment { commitment_number: 2, is_latest: true },
        ),
        (
            holder_tx(&monitor, true),
            FundingSpendKind::HolderCommitment { commitment_number: 1, is_latest: false },
        ),
        (theirs_current.clone(), FundingSpendKind::CounterpartyCommitment { commitment_number: 2 }),
        (theirs_revoked, FundingSpendKind::RevokedCounterpartyCommitment { commitment_number: 1 }),
        (unknown, FundingSpendKind::UnknownCommitment { commitment_number: 7 }),
    ];
    let unrelated = cooperative_close_spend(OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 0 });
    for (i, (tx, kind)) in cases.iter().enumerate() {
        assert_eq!(monitor.funding_spend(), None);
        let outputs = env.connect(&monitor, &mut chain, &[&unrelated, tx]);
        let (header, height) = chain.tip();
        let txid = tx.compute_txid();
        let spend = monitor.funding_spend().expect("the funding spend is seen");
        assert_eq!(spend, FundingSpend { txid, height, block_hash: header.block_hash(), kind: *kind });
        assert_eq!(monitor.get_relevant_txids(), vec![(txid, height, Some(header.block_hash()))]);
        let expected_outputs: Vec<(u32, TxOut)> =
            tx.output.iter().cloned().enumerate().map(|(i, o)| (i as u32, o)).collect();
        assert_eq!(outputs, vec![(txid, expected_outputs)]);
        // The first commitment (case 1) reports CommitmentTxConfirmed, once.
        let expected_events = if i == 1 { vec![MonitorEvent::CommitmentTxConfirmed] } else { vec![] };
        assert_eq!(monitor.get_and_clear_pending_monitor_events(), expected_events, "case {i}");
        assert!(monitor.is_closed());
        // The block is reorganised out; so is the spend.
        let (header, height) = chain.pop();
        monitor.block_disconnected(&header, height, &env.logger);
        assert_eq!(monitor.current_best_block(), chain.best_block());
        assert_eq!(monitor.funding_spend(), None);
        assert!(monitor.get_relevant_txids().is_empty());
    }
    // The Confirm-style path: confirmed, then unconfirmed by txid.
    let (header, height) = chain.extend();
    monitor.transactions_confirmed(&header, &[(3, &theirs_current)], height, &env.logger);
    assert!(monitor.funding_spend().is_some());
    monitor.transaction_unconfirmed(&theirs_current.compute_txid(), &env.logger);
    assert_eq!(monitor.funding_spend(), None);
    // The chain-sync flag was raised for the persister.
    assert!(monitor.take_chain_sync_dirty());
    assert!(!monitor.take_chain_sync_dirty());
    // Commitment updates stay refused: the channel is closed for good.
    assert_eq!(
        env.update(&monitor, 3, round(&mut chan, 3, &htlcs)),
        Err(MonitorUpdateError::CommitmentAfterClose)
    );
}

#[test]
fn goes_on_chain_when_an_offered_htlc_expires() {
    for anchors in [false, true] {
        let env = Env::default();
        let (mut chan, monitor, mut chain) = setup(anchors, 12);
        assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[htlc(1, 5_000_000, 200, true)])), Ok(()));
        env.connect_until(&monitor, &mut chain, 200 + OFFERED_HTLC_GRACE_BLOCKS - 1);
        assert!(env.broadcaster.take().is_empty());
        assert!(monitor.get_and_clear_pending_monitor_events().is_empty());
        env.connect(&monitor, &mut chain, &[]);
        let txs = env.broadcaster.take();
        assert_eq!(txs.len(), 1);
        assert_eq!(Some(txs[0].compute_txid()), monitor.latest_holder_commitment_txid());
        assert_spends_funding(&txs[0], &chan);
        assert_eq!(monitor.get_and_clear_pending_monitor_events(), vec![MonitorEvent::HolderForceClosed]);
        assert!(monitor.take_chain_sync_dirty());
        env.connect(&monitor, &mut chain, &[]);
        assert!(env.broadcaster.take().is_empty(), "broadcast once");
    }
}

#[test]
fn htlc_deadlines_follow_bolt2() {
    let env = Env::default();
    // An HTLC we offered that is only in the peer's commitment so far.
    let (mut chan, monitor, mut chain) = setup(false, 13);
    let offered = [htlc(1, 5_000_000, 150, true)];
    let (ours, theirs) = balances(&offered);
    let (step, _) = chan.counterparty_commitment(chan.spec(1, false, ours, theirs, &offered));
    assert_eq!(env.update(&monitor, 1, vec![step]), Ok(()));
    env.connect_until(&monitor, &mut chain, 151);
    assert!(env.broadcaster.take().is_empty());
    env.connect(&monitor, &mut chain, &[]);
    assert_eq!(env.broadcaster.take().len(), 1);

    // A trimmed HTLC we offered counts too.
    let (mut chan, monitor, mut chain) = setup(false, 14);
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[htlc(2, 100_000, 130, true)])), Ok(()));
    env.connect_until(&monitor, &mut chain, 132);
    assert_eq!(env.broadcaster.take().len(), 1);

    // An HTLC we received: without its preimage nothing happens, even past
    // its expiry; with it, we go on chain 18 blocks before.
    let received = htlc(3, 5_000_000, 150, false);
    let (mut chan2, monitor2, mut chain2) = setup(true, 16);
    assert_eq!(env.update(&monitor2, 1, round(&mut chan2, 1, &[received])), Ok(()));
    env.connect_until(&monitor2, &mut chain2, 200);
    assert!(env.broadcaster.take().is_empty(), "no preimage, no broadcast");

    let (mut chan, monitor, mut chain) = setup(true, 15);
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[received])), Ok(()));
    env.connect_until(&monitor, &mut chain, 130);
    let preimage = ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: received.preimage };
    assert_eq!(env.update(&monitor, 2, vec![preimage]), Ok(()));
    env.connect_until(&monitor, &mut chain, 150 - FULFILLED_HTLC_DEADLINE_BLOCKS - 1);
    assert!(env.broadcaster.take().is_empty());
    env.connect(&monitor, &mut chain, &[]);
    let txs = env.broadcaster.take();
    assert_eq!(txs.len(), 1);
    assert_spends_funding(&txs[0], &chan);
}

#[test]
fn preimages_are_pruned_once_no_commitment_uses_them() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(false, 17);
    let received = htlc(4, 5_000_000, 500, false);
    assert_eq!(env.update(&monitor, 1, round(&mut chan, 1, &[received])), Ok(()));
    let preimage = ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: received.preimage };
    assert_eq!(env.update(&monitor, 2, vec![preimage]), Ok(()));
    // Round 2 removes the HTLC from both commitments; our previous
    // commitment still has it.
    assert_eq!(env.update(&monitor, 3, round(&mut chan, 2, &[])), Ok(()));
    assert_eq!(monitor.payment_preimage(&received.payment_hash()), Some(received.preimage));
    assert_eq!(env.update(&monitor, 4, round(&mut chan, 3, &[])), Ok(()));
    assert_eq!(monitor.payment_preimage(&received.payment_hash()), None);
}

/// A monitor after `rounds` rounds with varying HTLCs, preimages and
/// revocations.
fn busy_monitor(anchors: bool, seed: u8, rounds: u64) -> (TestChannel, ChannelMonitor<InMemorySigner>, u64) {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(anchors, seed);
    let mut update_id = 0;
    for k in 1..=rounds {
        let b = k as u8;
        let htlcs = [
            htlc(b, 5_000_000 + k * 1000, 1000 + k as u32, k % 2 == 0),
            htlc(b.wrapping_add(100), 200_000, 900, k % 3 == 0),
        ];
        update_id += 1;
        let mut steps = round(&mut chan, k, &htlcs);
        if k % 4 == 0 {
            steps.push(ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: htlcs[0].preimage });
        }
        assert_eq!(env.update(&monitor, update_id, steps), Ok(()));
    }
    (chan, monitor, update_id)
}

#[test]
fn serialization_round_trips_after_many_updates() {
    for anchors in [false, true] {
        let env = Env::default();
        let (mut chan, monitor, last_id) = busy_monitor(anchors, 20, 60);
        let bytes = monitor.encode();
        let mut reader = &bytes[..];
        let restored = ChannelMonitor::read(&mut reader, &chan.holder_keys).unwrap();
        assert!(reader.is_empty(), "the encoding is read exactly");
        assert_eq!(restored.encode(), bytes);
        assert_eq!(restored.latest_update_id(), last_id);
        assert_eq!(restored.latest_holder_commitment_txid(), monitor.latest_holder_commitment_txid());
        assert_eq!(restored.previous_holder_commitment_txid(), monitor.previous_holder_commitment_txid());
        assert_eq!(restored.counterparty_commitment_txids(), monitor.counterparty_commitment_txids());
        assert_eq!(restored.counterparty_revoked_commitment_count(), 60);
        assert_eq!(restored.counterparty_commitment_secret(59), monitor.counterparty_commitment_secret(59));
        assert_eq!(restored.channel_parameters(), monitor.channel_parameters());
        assert_eq!(restored.destination_script(), monitor.destination_script());
        assert_eq!(restored.current_best_block(), monitor.current_best_block());
        let preimage = PaymentPreimage([60; 32]);
        assert_eq!(restored.payment_preimage(&preimage.payment_hash()), Some(preimage));

        // Both go on the same way.
        let next = round(&mut chan, 61, &[]);
        assert_eq!(env.update(&monitor, last_id + 1, next.clone()), Ok(()));
        assert_eq!(env.update(&restored, last_id + 1, next), Ok(()));
        assert_eq!(restored.encode(), monitor.encode());

        // Events and a funding spend survive, and the restored monitor signs
        // a valid commitment.
        let mut chain = TestChain::new(100);
        env.connect(&restored, &mut chain, &[&cooperative_close_spend(chan.funding_outpoint())]);
        let close = vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: false }];
        assert_eq!(env.update(&restored, last_id + 2, close), Ok(()));
        restored.broadcast_latest_holder_commitment_txn(&env.broadcaster, &env.fees, &env.logger).unwrap();
        let reread = ChannelMonitor::read(&mut &restored.encode()[..], &chan.holder_keys).unwrap();
        assert_eq!(reread.encode(), restored.encode());
        assert_eq!(reread.funding_spend(), restored.funding_spend());
        assert!(reread.is_closed());
        assert_eq!(reread.get_and_clear_pending_monitor_events(), vec![MonitorEvent::HolderForceClosed]);
        reread.rebroadcast_pending_claims(&env.broadcaster, &env.fees, &env.logger);
        let txs = env.broadcaster.take();
        assert_eq!(txs.len(), 1, "the funding output is spent (by the coop close): no rebroadcast");
        assert_spends_funding(&txs[0], &chan);
    }
}

#[test]
fn corrupt_serializations_are_refused_without_panicking() {
    let env = Env::default();
    let (chan, monitor, _) = busy_monitor(false, 21, 6);
    let mut chain = TestChain::new(100);
    env.connect(&monitor, &mut chain, &[&cooperative_close_spend(chan.funding_outpoint())]);
    let bytes = monitor.encode();
    let read =
        |b: &[u8]| ChannelMonitor::<InMemorySigner>::read(&mut &b[..], &chan.holder_keys).map(|m| m.encode());
    assert_eq!(read(&bytes), Ok(bytes.clone()));

    // Every truncation is an error.
    for len in 0..bytes.len() {
        assert!(read(&bytes[..len]).is_err(), "truncated to {len} bytes");
    }
    // Unknown version; another seed's keys.
    let mut other_version = bytes.clone();
    other_version[0] = MONITOR_SERIALIZATION_VERSION + 1;
    assert_eq!(read(&other_version), Err(DecodeError::UnknownVersion));
    let other_keys = KeysManager::new(&[99; 32], 0, 0);
    assert_eq!(
        ChannelMonitor::read(&mut &bytes[..], &other_keys).map(|m| m.latest_update_id()),
        Err(DecodeError::InvalidValue)
    );
    // Flipping any byte never panics.
    for i in 0..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[i] ^= 0x5a;
        let _ = read(&corrupt);
    }
    // Flips in what can be checked are refused: the channel keys id (the
    // re-derived signer no longer matches), the counterparty's signature on
    // our commitment, the peer's commitment point and its stored txid.
    let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle).expect("field present");
    let (sig, point, txid) = {
        let state = monitor.inner.lock();
        let (txid, theirs) = state.counterparty_commitments.iter().next().unwrap();
        (
            state.holder_commitment.as_ref().unwrap().counterparty_sig.serialize_compact(),
            theirs.per_commitment_point.serialize(),
            *txid,
        )
    };
    for at in [1, find(&sig) + 10, find(&point) + 5, find(txid.as_ref()) + 3] {
        let mut corrupt = bytes.clone();
        corrupt[at] ^= 0x01;
        assert!(read(&corrupt).is_err(), "flip at {at} accepted");
    }
}

#[test]
fn steps_of_one_update_see_each_other() {
    let env = Env::default();
    let (mut chan, monitor, _) = setup(false, 22);
    let (ours, theirs) = balances(&[]);
    let holder1 = chan.holder_commitment(chan.spec(1, true, ours, theirs, &[]));
    let holder2 = chan.holder_commitment(chan.spec(2, true, ours, theirs, &[]));
    // Commitment 2 then 1 in one update: 1 goes backwards from 2.
    assert_eq!(
        env.update(&monitor, 1, vec![holder2.clone(), holder1.clone()]),
        Err(MonitorUpdateError::Invalid("holder commitment number went backwards"))
    );
    assert_eq!(monitor.latest_holder_commitment_number(), Some(0));
    // 1, 1 again (a no-op), then 2: the previous commitment is 1.
    assert_eq!(env.update(&monitor, 1, vec![holder1.clone(), holder1, holder2]), Ok(()));
    assert_eq!(monitor.latest_holder_commitment_number(), Some(2));
    let previous = holder_tx(&monitor, true);
    assert_eq!(monitor.previous_holder_commitment_txid(), Some(previous.compute_txid()));
    assert_eq!(
        monitor.inner.lock().prev_holder_commitment.as_ref().map(|c| c.spec.commitment_number),
        Some(1)
    );
}
