//! Property tests of the BOLT 3 builders: money is conserved, outputs are in
//! BIP 69 + CLTV order, every HTLC output carries its own script, trimming
//! follows the dust rule; and the secret storage accepts exactly the secrets
//! of one seed.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{OutPoint, Txid};
use lightning_core::ln::chan_utils::*;
use lightning_core::ln::features::ChannelTypeFeatures;
use lightning_core::ln::types::PaymentHash;
use proptest::prelude::*;

fn key(i: u8) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[i; 32]).unwrap())
}

fn side(base: u8, delay: u16) -> ChannelSideParameters {
    ChannelSideParameters {
        pubkeys: ChannelPublicKeys {
            funding_pubkey: key(base),
            revocation_basepoint: key(base + 1),
            payment_point: key(base + 2),
            delayed_payment_basepoint: key(base + 3),
            htlc_basepoint: key(base + 4),
        },
        selected_contest_delay: delay,
    }
}

prop_compose! {
    fn arb_htlc()(offered in any::<bool>(), amount_msat in 0u64..20_000_000, cltv in 0u32..1_000, hash in 0u8..4) -> HTLCOutputInCommitment {
        HTLCOutputInCommitment {
            direction: if offered { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount_msat,
            cltv_expiry: cltv,
            payment_hash: PaymentHash([hash; 32]),
            transaction_output_index: None,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn commitment_invariants(
        anchors in any::<bool>(),
        holder_is_funder in any::<bool>(),
        holder_broadcasts in any::<bool>(),
        htlcs in proptest::collection::vec(arb_htlc(), 0..20),
        to_broadcaster_msat in 0u64..5_000_000_000,
        feerate in 0u32..50_000,
        dust in 0u64..5_000,
        commitment_number in 0u64..(1 << 48),
    ) {
        let mut channel_type = ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        if anchors {
            channel_type.set_anchors_zero_fee_htlc_tx_required();
        }
        let channel_value_sat = 10_000_000u64;
        let funding = OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 0 };
        let params = ChannelTransactionParameters::new(side(1, 144), side(10, 6), holder_is_funder, funding, channel_value_sat, channel_type).unwrap();
        let directed = if holder_broadcasts { params.as_holder_broadcastable() } else { params.as_counterparty_broadcastable() };
        let format = directed.commitment_format();
        let htlc_msat: u64 = htlcs.iter().map(|h| h.amount_msat).sum();
        let to_countersignatory_msat = channel_value_sat * 1000 - htlc_msat - to_broadcaster_msat;
        let secp = Secp256k1::new();
        let keys = TxCreationKeys::derive_new(&secp, &key(50), directed.broadcaster_pubkeys(), directed.countersignatory_pubkeys());
        let spec = CommitmentSpec {
            commitment_number,
            to_broadcaster_value_msat: to_broadcaster_msat,
            to_countersignatory_value_msat: to_countersignatory_msat,
            feerate_per_kw: feerate,
            broadcaster_dust_limit_satoshis: dust,
            htlcs: htlcs.clone(),
        };
        let c = CommitmentTransaction::build(spec, keys, &directed);
        let tx = c.transaction();

        // Money: the funder pays fee and anchors (down to nothing), balances
        // under the dust limit are dropped, and the outputs add up.
        let out_sat: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        prop_assert!(out_sat <= channel_value_sat);
        let untrimmed_count = htlcs.iter().filter(|h| h.amount_sat() >= dust + h.second_stage_fee_sat(feerate, format)).count();
        let charge = commit_tx_fee_sat(feerate, untrimmed_count, format) + if anchors { 660 } else { 0 };
        let (mut b, mut cs) = (to_broadcaster_msat / 1000, to_countersignatory_msat / 1000);
        if directed.broadcaster_is_funder() { b = b.saturating_sub(charge) } else { cs = cs.saturating_sub(charge) }
        if b < dust { b = 0 }
        if cs < dust { cs = 0 }
        prop_assert_eq!(c.to_broadcaster_value_sat(), b);
        prop_assert_eq!(c.to_countersignatory_value_sat(), cs);
        let htlc_out_sat: u64 = c.nondust_htlcs().map(|h| h.amount_sat()).sum();
        let anchor_outputs = tx.output.len() - c.nondust_htlc_count() - usize::from(b > 0) - usize::from(cs > 0);
        prop_assert_eq!(out_sat, b + cs + htlc_out_sat + ANCHOR_OUTPUT_VALUE_SATOSHI * anchor_outputs as u64);

        // Trimming follows the rule, and the output indices point at the
        // right scripts and amounts.
        let mut untrimmed = 0;
        for (h, original) in c.htlcs().iter().zip(htlcs.iter()) {
            prop_assert_eq!(h.amount_msat, original.amount_msat);
            let fee = h.second_stage_fee_sat(feerate, format);
            let trimmed = h.amount_sat() < dust + fee;
            prop_assert_eq!(h.transaction_output_index.is_none(), trimmed);
            if let Some(vout) = h.transaction_output_index {
                untrimmed += 1;
                let out = &tx.output[vout as usize];
                prop_assert_eq!(out.value.to_sat(), h.amount_sat());
                prop_assert_eq!(&out.script_pubkey, &get_htlc_redeemscript(h, format, &keys).to_p2wsh());
            }
        }
        prop_assert_eq!(c.nondust_htlc_count(), untrimmed);
        prop_assert_eq!(c.base_fee_sat(), commit_tx_fee_sat(feerate, untrimmed, format));

        // Output order: BIP 69, then CLTV among HTLC outputs.
        for w in tx.output.windows(2) {
            prop_assert!((w[0].value, &w[0].script_pubkey) <= (w[1].value, &w[1].script_pubkey));
        }
        let nondust: Vec<_> = c.nondust_htlcs().collect();
        for w in nondust.windows(2) {
            prop_assert!(w[0].transaction_output_index < w[1].transaction_output_index);
            let (a, b) = (&tx.output[w[0].transaction_output_index.unwrap() as usize], &tx.output[w[1].transaction_output_index.unwrap() as usize]);
            if a == b {
                prop_assert!(w[0].cltv_expiry <= w[1].cltv_expiry);
            }
        }

        // Anchors exactly when the rule says.
        let anchor_count = tx.output.iter().filter(|o| o.value.to_sat() == ANCHOR_OUTPUT_VALUE_SATOSHI && o.script_pubkey.is_p2wsh()
            && (o.script_pubkey == get_anchor_redeemscript(&directed.broadcaster_pubkeys().funding_pubkey).to_p2wsh()
                || o.script_pubkey == get_anchor_redeemscript(&directed.countersignatory_pubkeys().funding_pubkey).to_p2wsh())).count();
        let expected_anchors = if anchors {
            usize::from(c.to_broadcaster_value_sat() > 0 || untrimmed > 0) + usize::from(c.to_countersignatory_value_sat() > 0 || untrimmed > 0)
        } else { 0 };
        prop_assert_eq!(anchor_count, expected_anchors);

        // The commitment number comes back out of locktime and sequence.
        let lock = tx.lock_time.to_consensus_u32();
        let seq = tx.input[0].sequence.0;
        prop_assert_eq!(lock >> 24, 0x20);
        prop_assert_eq!(seq >> 24, 0x80);
        let obscured = (u64::from(seq & 0xff_ffff) << 24) | u64::from(lock & 0xff_ffff);
        prop_assert_eq!(obscured ^ directed.commitment_number_obscure_factor(), commitment_number);

        // Every HTLC transaction spends its output, for the amount minus fee.
        for i in 0..c.nondust_htlc_count() {
            let (h, _) = c.nondust_htlc(i).unwrap();
            let htlc_tx = c.build_htlc_transaction(i).unwrap();
            prop_assert_eq!(htlc_tx.input[0].previous_output, OutPoint { txid: c.txid(), vout: h.transaction_output_index.unwrap() });
            prop_assert_eq!(htlc_tx.output[0].value.to_sat(), h.amount_sat() - h.second_stage_fee_sat(feerate, format));
        }
    }

    #[test]
    fn secret_storage_accepts_one_seed_only(seed in any::<[u8; 32]>(), other in any::<[u8; 32]>(), count in 1u64..200, bad_at in 0u64..200) {
        prop_assume!(seed != other);
        let mut store = CounterpartyCommitmentSecrets::new();
        for n in 0..count {
            let index = commitment_secret_index(n).unwrap();
            let secret = build_commitment_secret(&seed, index);
            if n == bad_at && n > 0 {
                // A secret of another seed is refused once it must derive an
                // earlier one (an index with a trailing 0 bit above a stored
                // entry always does).
                let result = store.provide_secret(index, build_commitment_secret(&other, index));
                if index.trailing_zeros() > 0 {
                    prop_assert_eq!(result, Err(SecretStorageError::DoesNotDeriveKnownSecrets));
                    break;
                }
                // Otherwise it lands in the lowest bucket, and the next
                // (good) secret fails to derive it.
                prop_assert_eq!(result, Ok(()));
                let next = commitment_secret_index(n + 1).unwrap();
                prop_assert_eq!(
                    store.provide_secret(next, build_commitment_secret(&seed, next)),
                    Err(SecretStorageError::DoesNotDeriveKnownSecrets)
                );
                break;
            }
            prop_assert_eq!(store.provide_secret(index, secret), Ok(()));
        }
        for n in 0..count.min(bad_at) {
            let index = commitment_secret_index(n).unwrap();
            prop_assert_eq!(store.get_secret(index), Some(build_commitment_secret(&seed, index)));
        }
    }
}
