//! How fast a busy channel can commit: build a commitment transaction with
//! 483 HTLCs, sign it and its 483 HTLC transactions (the counterparty side of
//! `commitment_signed`), and verify those signatures (our side).
//!
//! Run with `cargo bench -p lightning-core --bench commitment`.

use std::hint::black_box;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{OutPoint, Txid};
use criterion::{criterion_group, criterion_main, Criterion};
use lightning_core::ln::chan_utils::*;
use lightning_core::ln::features::ChannelTypeFeatures;
use lightning_core::ln::types::PaymentPreimage;
use lightning_core::sign::*;

const HTLCS: usize = MAX_HTLCS as usize;
const CHANNEL_VALUE: u64 = 16_777_215;

struct Setup {
    alice: InMemorySigner,
    bob: InMemorySigner,
    alice_params: ChannelTransactionParameters,
    spec: CommitmentSpec,
    keys: TxCreationKeys,
}

fn setup(channel_type: ChannelTypeFeatures) -> Setup {
    let mut alice = KeysManager::new(&[1; 32], 0, 0).derive_channel_signer(CHANNEL_VALUE, [0xaa; 32]);
    let mut bob = KeysManager::new(&[2; 32], 0, 0).derive_channel_signer(CHANNEL_VALUE, [0xbb; 32]);
    let funding_outpoint = OutPoint { txid: Txid::from_byte_array([7; 32]), vout: 0 };
    let a = ChannelSideParameters { pubkeys: *alice.pubkeys(), selected_contest_delay: 144 };
    let b = ChannelSideParameters { pubkeys: *bob.pubkeys(), selected_contest_delay: 144 };
    let alice_params =
        ChannelTransactionParameters::new(a, b, true, funding_outpoint, CHANNEL_VALUE, channel_type.clone())
            .unwrap();
    let bob_params =
        ChannelTransactionParameters::new(b, a, false, funding_outpoint, CHANNEL_VALUE, channel_type)
            .unwrap();
    alice.provide_channel_parameters(&alice_params).unwrap();
    bob.provide_channel_parameters(&bob_params).unwrap();
    let htlcs: Vec<HTLCOutputInCommitment> = (0..HTLCS)
        .map(|i| HTLCOutputInCommitment {
            direction: if i % 2 == 0 { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount_msat: 10_000_000 + i as u64 * 1000,
            cltv_expiry: 800_000 + i as u32,
            payment_hash: PaymentPreimage([(i % 251) as u8; 32]).payment_hash(),
            transaction_output_index: None,
        })
        .collect();
    let in_flight_msat: u64 = htlcs.iter().map(|h| h.amount_msat).sum();
    let spec = CommitmentSpec {
        commitment_number: 1000,
        to_broadcaster_value_msat: (CHANNEL_VALUE * 1000 - in_flight_msat) / 2,
        to_countersignatory_value_msat: (CHANNEL_VALUE * 1000 - in_flight_msat) / 2,
        feerate_per_kw: 253,
        broadcaster_dust_limit_satoshis: 354,
        htlcs,
    };
    let point = alice.get_per_commitment_point(spec.commitment_number).unwrap();
    let keys = TxCreationKeys::derive_new(&Secp256k1::new(), &point, alice.pubkeys(), bob.pubkeys());
    Setup { alice, bob, alice_params, spec, keys }
}

fn bench(c: &mut Criterion) {
    let mut anchors = ChannelTypeFeatures::empty();
    anchors.set_static_remote_key_required();
    let static_remote_key = anchors.clone();
    anchors.set_anchors_zero_fee_htlc_tx_required();
    for (name, channel_type) in [("static_remotekey", static_remote_key), ("anchors", anchors)] {
        let mut s = setup(channel_type);
        let mut group = c.benchmark_group(format!("commitment_483_htlcs/{name}"));
        group.sample_size(20).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(2));

        group.bench_function("build", |bench| {
            bench.iter(|| {
                CommitmentTransaction::build(
                    black_box(s.spec.clone()),
                    s.keys,
                    &s.alice_params.as_holder_broadcastable(),
                )
            })
        });

        group.bench_function("build_and_sign_with_htlc_txs", |bench| {
            bench.iter(|| {
                let tx = CommitmentTransaction::build(
                    black_box(s.spec.clone()),
                    s.keys,
                    &s.alice_params.as_holder_broadcastable(),
                );
                let sigs = s.bob.sign_counterparty_commitment(&tx).unwrap();
                assert_eq!(sigs.1.len(), HTLCS);
                sigs
            })
        });

        let tx =
            CommitmentTransaction::build(s.spec.clone(), s.keys, &s.alice_params.as_holder_broadcastable());
        let (sig, htlc_sigs) = s.bob.sign_counterparty_commitment(&tx).unwrap();
        let holder = HolderCommitmentTransaction::new(tx, sig, htlc_sigs).unwrap();
        group.bench_function("verify_counterparty_signatures", |bench| {
            bench.iter(|| s.alice.validate_holder_commitment(black_box(&holder)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
