//! The channel signer end to end: two KeysManager-derived signers run a
//! channel's commitments through `sign_counterparty_commitment`,
//! `validate_holder_commitment` and revocation, and every transaction they
//! sign (commitment, HTLC, justice, claims, sweeps, anchor, closing) is run
//! through libbitcoinconsensus against the output it spends. Also the
//! signer's refusals and KeysManager's determinism.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use lightning_core::ln::chan_utils::commitment::CommitmentSignatureError;
use lightning_core::ln::chan_utils::signing::build_funding_witness;
use lightning_core::ln::chan_utils::*;
use lightning_core::ln::features::ChannelTypeFeatures;
use lightning_core::ln::types::PaymentPreimage;
use lightning_core::sign::*;
use lightning_core::util::ser::{decode_exact, Writeable};

const CHANNEL_VALUE: u64 = 1_000_000;
const FEERATE: u32 = 2500;
const DUST: u64 = 354;
const ALICE_DELAY: u16 = 144; // what Alice requires of Bob's outputs
const BOB_DELAY: u16 = 100; // what Bob requires of Alice's outputs

fn assert_valid(tx: &Transaction, spent: &[(OutPoint, TxOut)], what: &str) {
    tx.verify(|o| spent.iter().find(|(p, _)| p == o).map(|(_, t)| t.clone()))
        .unwrap_or_else(|e| panic!("{what}: rejected by libbitcoinconsensus: {e:?}"));
}

fn push_sig(w: &mut Witness, sig: &Signature, ty: EcdsaSighashType) {
    w.push_ecdsa_signature(&bitcoin::ecdsa::Signature { signature: *sig, sighash_type: ty });
}

/// A one-input, one-output transaction spending `prevout`.
fn spend(prevout: OutPoint, value_sat: u64, sequence: Sequence, lock_time: LockTime) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn { previous_output: prevout, sequence, ..Default::default() }],
        output: vec![TxOut {
            value: Amount::from_sat(value_sat),
            script_pubkey: ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::all_zeros()),
        }],
    }
}

struct Pair {
    alice: InMemorySigner,
    bob: InMemorySigner,
    alice_params: ChannelTransactionParameters,
    bob_params: ChannelTransactionParameters,
    preimages: Vec<PaymentPreimage>,
}

impl Pair {
    fn new(channel_type: ChannelTypeFeatures) -> Self {
        let alice_keys = KeysManager::new(&[1; 32], 0, 0);
        let bob_keys = KeysManager::new(&[2; 32], 0, 0);
        let mut alice = alice_keys.derive_channel_signer(CHANNEL_VALUE, [0xaa; 32]);
        let mut bob = bob_keys.derive_channel_signer(CHANNEL_VALUE, [0xbb; 32]);
        let funding_outpoint = OutPoint { txid: Txid::from_byte_array([7; 32]), vout: 1 };
        let a = ChannelSideParameters { pubkeys: *alice.pubkeys(), selected_contest_delay: ALICE_DELAY };
        let b = ChannelSideParameters { pubkeys: *bob.pubkeys(), selected_contest_delay: BOB_DELAY };
        let alice_params = ChannelTransactionParameters::new(
            a,
            b,
            true,
            funding_outpoint,
            CHANNEL_VALUE,
            channel_type.clone(),
        )
        .unwrap();
        let bob_params =
            ChannelTransactionParameters::new(b, a, false, funding_outpoint, CHANNEL_VALUE, channel_type)
                .unwrap();
        alice.provide_channel_parameters(&alice_params).unwrap();
        bob.provide_channel_parameters(&bob_params).unwrap();
        let preimages = (1..=3u8).map(|i| PaymentPreimage([i; 32])).collect();
        Pair { alice, bob, alice_params, bob_params, preimages }
    }

    fn funding_txout(&self) -> TxOut {
        TxOut {
            value: Amount::from_sat(CHANNEL_VALUE),
            script_pubkey: self.alice_params.funding_redeemscript().to_p2wsh(),
        }
    }

    /// The HTLCs seen from Alice's commitment: she offered 0 and 1, Bob
    /// offered 2.
    fn spec(&self, commitment_number: u64, alice_view: bool) -> CommitmentSpec {
        let mut htlcs = Vec::new();
        for (i, (amount_msat, alice_offered)) in
            [(5_000_000, true), (7_000_000, true), (6_000_000, false)].iter().enumerate()
        {
            let offered_by_broadcaster = *alice_offered == alice_view;
            htlcs.push(HTLCOutputInCommitment {
                direction: if offered_by_broadcaster {
                    HtlcDirection::Offered
                } else {
                    HtlcDirection::Received
                },
                amount_msat: *amount_msat,
                cltv_expiry: 600 + i as u32,
                payment_hash: self.preimages[i].payment_hash(),
                transaction_output_index: None,
            });
        }
        let (alice_msat, bob_msat) = (600_000_000, 382_000_000);
        CommitmentSpec {
            commitment_number,
            to_broadcaster_value_msat: if alice_view { alice_msat } else { bob_msat },
            to_countersignatory_value_msat: if alice_view { bob_msat } else { alice_msat },
            feerate_per_kw: FEERATE,
            broadcaster_dust_limit_satoshis: DUST,
            htlcs,
        }
    }

    /// Alice's commitment `n`, built by Alice and by Bob (they must agree).
    fn alice_commitment(&self, n: u64) -> CommitmentTransaction {
        let secp = Secp256k1::new();
        let point = self.alice.get_per_commitment_point(n).unwrap();
        let by_alice = CommitmentTransaction::build(
            self.spec(n, true),
            TxCreationKeys::derive_new(&secp, &point, self.alice.pubkeys(), self.bob.pubkeys()),
            &self.alice_params.as_holder_broadcastable(),
        );
        let by_bob = CommitmentTransaction::build(
            self.spec(n, true),
            TxCreationKeys::derive_new(&secp, &point, self.alice.pubkeys(), self.bob.pubkeys()),
            &self.bob_params.as_counterparty_broadcastable(),
        );
        assert_eq!(by_alice, by_bob, "both sides build the same commitment");
        by_alice
    }

    /// Bob signs Alice's commitment `n`; Alice validates it.
    fn commit_alice(&mut self, n: u64) -> HolderCommitmentTransaction {
        let tx = self.alice_commitment(n);
        let (sig, htlc_sigs) = self.bob.sign_counterparty_commitment(&tx).unwrap();
        let holder = HolderCommitmentTransaction::new(tx, sig, htlc_sigs).unwrap();
        self.alice.validate_holder_commitment(&holder).unwrap();
        holder
    }

    /// Alice's fully signed commitment, checked by libbitcoinconsensus.
    fn broadcast_alice(&self, holder: &HolderCommitmentTransaction) -> Transaction {
        let ours = self.alice.sign_holder_commitment(holder).unwrap();
        let mut tx = holder.commitment().transaction().clone();
        tx.input[0].witness = build_funding_witness(
            &ours,
            &self.alice.pubkeys().funding_pubkey,
            holder.counterparty_sig(),
            &self.bob.pubkeys().funding_pubkey,
            &self.alice_params.funding_redeemscript(),
        );
        assert_valid(
            &tx,
            &[(self.alice_params.funding_outpoint(), self.funding_txout())],
            "holder commitment",
        );
        tx
    }
}

fn channel_types() -> Vec<ChannelTypeFeatures> {
    let mut static_remote_key = ChannelTypeFeatures::empty();
    static_remote_key.set_static_remote_key_required();
    let mut anchors = static_remote_key.clone();
    anchors.set_anchors_zero_fee_htlc_tx_required();
    vec![static_remote_key, anchors]
}

#[test]
fn commitment_round_trip_and_every_spend_is_consensus_valid() {
    for channel_type in channel_types() {
        let mut pair = Pair::new(channel_type);
        let format = pair.alice_params.commitment_format();
        let c0 = pair.commit_alice(0);
        let c1 = pair.commit_alice(1);
        assert_eq!(c1.commitment().nondust_htlc_count(), 3);

        // Alice revokes commitment 0; Bob records it.
        let secret0 = pair.alice.release_commitment_secret(0).unwrap();
        let secret0 = SecretKey::from_slice(&secret0).unwrap();
        pair.bob.validate_counterparty_revocation(0, &secret0).unwrap();

        // Alice's commitment 1 and its HTLC transactions.
        let signed_c1 = pair.broadcast_alice(&c1);
        let commitment = c1.commitment();
        for i in 0..commitment.nondust_htlc_count() {
            let (htlc, script) = commitment.nondust_htlc(i).unwrap();
            let htlc_tx = commitment.build_htlc_transaction(i).unwrap();
            let ours = pair.alice.sign_holder_htlc_transaction(&htlc_tx, 0, 1, htlc).unwrap();
            let preimage = match htlc.direction {
                HtlcDirection::Received => {
                    pair.preimages.iter().find(|p| p.payment_hash() == htlc.payment_hash).copied()
                }
                HtlcDirection::Offered => None,
            };
            let mut signed = htlc_tx;
            signed.input[0].witness = build_htlc_input_witness(
                &ours,
                &c1.counterparty_htlc_sigs()[i],
                format,
                preimage.as_ref(),
                script,
            );
            let vout = htlc.transaction_output_index.unwrap();
            let spent = signed_c1.output[vout as usize].clone();
            assert_valid(&signed, &[(OutPoint { txid: commitment.txid(), vout }, spent)], "holder HTLC tx");

            // Alice sweeps the HTLC transaction's output after the delay.
            let htlc_txid = signed.compute_txid();
            let value = signed.output[0].value.to_sat();
            let sweep = spend(
                OutPoint { txid: htlc_txid, vout: 0 },
                value - 500,
                Sequence(u32::from(BOB_DELAY)),
                LockTime::ZERO,
            );
            let sig = pair.alice.sign_holder_delayed_output(&sweep, 0, value, 1).unwrap();
            let keys = commitment.keys();
            let revokeable = get_revokeable_redeemscript(
                &keys.revocation_key,
                BOB_DELAY,
                &keys.broadcaster_delayed_payment_key,
            );
            let mut sweep = sweep;
            let mut w = Witness::new();
            push_sig(&mut w, &sig, EcdsaSighashType::All);
            w.push([]);
            w.push(revokeable.as_bytes());
            sweep.input[0].witness = w;
            assert_valid(
                &sweep,
                &[(OutPoint { txid: htlc_txid, vout: 0 }, signed.output[0].clone())],
                "delayed HTLC sweep",
            );

            // Bob claims it directly from Alice's commitment: the HTLCs Alice
            // offered with the preimage, the one he offered after its timeout.
            let point = commitment.keys().per_commitment_point;
            let prevout = OutPoint { txid: commitment.txid(), vout };
            let sequence = if format.has_anchors() { Sequence(1) } else { Sequence::ZERO };
            let (lock_time, last) = match htlc.direction {
                HtlcDirection::Offered => {
                    let p = pair.preimages.iter().find(|p| p.payment_hash() == htlc.payment_hash).unwrap();
                    (LockTime::ZERO, p.0.to_vec())
                }
                HtlcDirection::Received => (LockTime::from_consensus(htlc.cltv_expiry), Vec::new()),
            };
            let mut claim = spend(prevout, htlc.amount_sat() - 300, sequence, lock_time);
            let sig = pair.bob.sign_counterparty_htlc_transaction(&claim, 0, &point, htlc).unwrap();
            let mut w = Witness::new();
            push_sig(&mut w, &sig, EcdsaSighashType::All);
            w.push(last);
            w.push(script.as_bytes());
            claim.input[0].witness = w;
            assert_valid(
                &claim,
                &[(prevout, signed_c1.output[vout as usize].clone())],
                "counterparty HTLC claim",
            );
        }

        // Alice's to_local after the delay, and Bob's to_remote.
        let keys = commitment.keys();
        let to_local_script = get_revokeable_redeemscript(
            &keys.revocation_key,
            BOB_DELAY,
            &keys.broadcaster_delayed_payment_key,
        );
        let vout =
            signed_c1.output.iter().position(|o| o.script_pubkey == to_local_script.to_p2wsh()).unwrap()
                as u32;
        let prevout = OutPoint { txid: commitment.txid(), vout };
        let value = commitment.to_broadcaster_value_sat();
        let mut sweep = spend(prevout, value - 1000, Sequence(u32::from(BOB_DELAY)), LockTime::ZERO);
        let sig = pair.alice.sign_holder_delayed_output(&sweep, 0, value, 1).unwrap();
        let mut w = Witness::new();
        push_sig(&mut w, &sig, EcdsaSighashType::All);
        w.push([]);
        w.push(to_local_script.as_bytes());
        sweep.input[0].witness = w;
        assert_valid(&sweep, &[(prevout, signed_c1.output[vout as usize].clone())], "to_local sweep");

        let bob_payment = pair.bob.pubkeys().payment_point;
        let to_remote_spk = to_countersignatory_script_pubkey(format, &bob_payment);
        let vout = signed_c1.output.iter().position(|o| o.script_pubkey == to_remote_spk).unwrap() as u32;
        let prevout = OutPoint { txid: commitment.txid(), vout };
        let value = commitment.to_countersignatory_value_sat();
        let sequence = if format.has_anchors() { Sequence(1) } else { Sequence::MAX };
        let mut sweep = spend(prevout, value - 1000, sequence, LockTime::ZERO);
        let sig = pair.bob.sign_counterparty_payment_input(&sweep, 0, value).unwrap();
        let mut w = Witness::new();
        push_sig(&mut w, &sig, EcdsaSighashType::All);
        if format.has_anchors() {
            w.push(get_to_countersignatory_with_anchors_redeemscript(&bob_payment).as_bytes());
        } else {
            w.push(bob_payment.serialize());
        }
        sweep.input[0].witness = w;
        assert_valid(&sweep, &[(prevout, signed_c1.output[vout as usize].clone())], "to_remote sweep");

        // Alice's anchor.
        if format.has_anchors() {
            let anchor_script = get_anchor_redeemscript(&pair.alice.pubkeys().funding_pubkey);
            let vout =
                signed_c1.output.iter().position(|o| o.script_pubkey == anchor_script.to_p2wsh()).unwrap()
                    as u32;
            let prevout = OutPoint { txid: commitment.txid(), vout };
            let mut cpfp = spend(prevout, 0, Sequence::MAX, LockTime::ZERO);
            let sig = pair.alice.sign_holder_anchor_input(&cpfp, 0).unwrap();
            let mut w = Witness::new();
            push_sig(&mut w, &sig, EcdsaSighashType::All);
            w.push(anchor_script.as_bytes());
            cpfp.input[0].witness = w;
            assert_valid(&cpfp, &[(prevout, signed_c1.output[vout as usize].clone())], "anchor spend");
        }

        // Alice (wrongly) broadcasts revoked commitment 0: Bob takes
        // everything with the revocation key.
        let ours = {
            // The signer refuses, so sign with the funding key the way a
            // cheating node would: reuse Bob's view to build the tx and a
            // fresh signer without policy state.
            let keys = KeysManager::new(&[1; 32], 0, 0);
            let mut cheater = keys.derive_channel_signer(CHANNEL_VALUE, [0xaa; 32]);
            cheater.provide_channel_parameters(&pair.alice_params).unwrap();
            cheater.sign_holder_commitment(&c0).unwrap()
        };
        let mut revoked = c0.commitment().transaction().clone();
        revoked.input[0].witness = build_funding_witness(
            &ours,
            &pair.alice.pubkeys().funding_pubkey,
            c0.counterparty_sig(),
            &pair.bob.pubkeys().funding_pubkey,
            &pair.alice_params.funding_redeemscript(),
        );
        assert_valid(
            &revoked,
            &[(pair.alice_params.funding_outpoint(), pair.funding_txout())],
            "revoked commitment",
        );
        let c0tx = c0.commitment();
        let keys0 = c0tx.keys();
        let to_local_script = get_revokeable_redeemscript(
            &keys0.revocation_key,
            BOB_DELAY,
            &keys0.broadcaster_delayed_payment_key,
        );
        let vout =
            revoked.output.iter().position(|o| o.script_pubkey == to_local_script.to_p2wsh()).unwrap() as u32;
        let prevout = OutPoint { txid: c0tx.txid(), vout };
        let value = c0tx.to_broadcaster_value_sat();
        let mut justice = spend(prevout, value - 1000, Sequence::MAX, LockTime::ZERO);
        let sig = pair.bob.sign_justice_revoked_output(&justice, 0, value, &secret0).unwrap();
        let mut w = Witness::new();
        push_sig(&mut w, &sig, EcdsaSighashType::All);
        w.push([1u8]);
        w.push(to_local_script.as_bytes());
        justice.input[0].witness = w;
        assert_valid(&justice, &[(prevout, revoked.output[vout as usize].clone())], "justice to_local");
        for i in 0..c0tx.nondust_htlc_count() {
            let (htlc, script) = c0tx.nondust_htlc(i).unwrap();
            let vout = htlc.transaction_output_index.unwrap();
            let prevout = OutPoint { txid: c0tx.txid(), vout };
            let mut justice = spend(prevout, htlc.amount_sat() - 300, Sequence::MAX, LockTime::ZERO);
            let sig = pair.bob.sign_justice_revoked_htlc(&justice, 0, &secret0, htlc).unwrap();
            let mut w = Witness::new();
            push_sig(&mut w, &sig, EcdsaSighashType::All);
            w.push(keys0.revocation_key.serialize());
            w.push(script.as_bytes());
            justice.input[0].witness = w;
            assert_valid(&justice, &[(prevout, revoked.output[vout as usize].clone())], "justice HTLC");
        }

        // Mutual close.
        let alice_script = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([1; 20]));
        let bob_script = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([2; 20]));
        let funding = pair.alice_params.funding_outpoint();
        let alice_view = ClosingTransaction::new(
            600_000 - 700,
            400_000,
            alice_script.clone(),
            bob_script.clone(),
            funding,
            DUST,
        )
        .unwrap();
        let bob_view =
            ClosingTransaction::new(400_000, 600_000 - 700, bob_script, alice_script, funding, DUST).unwrap();
        assert_eq!(alice_view.transaction(), bob_view.transaction());
        let a = pair.alice.sign_closing_transaction(&alice_view).unwrap();
        let b = pair.bob.sign_closing_transaction(&bob_view).unwrap();
        let mut closing = alice_view.transaction().clone();
        closing.input[0].witness = build_funding_witness(
            &a,
            &pair.alice.pubkeys().funding_pubkey,
            &b,
            &pair.bob.pubkeys().funding_pubkey,
            &pair.alice_params.funding_redeemscript(),
        );
        assert_valid(&closing, &[(funding, pair.funding_txout())], "closing tx");

        // A tampered signature is caught by the interpreter too.
        let mut bad = closing.clone();
        let mut w = Witness::new();
        w.push([]);
        push_sig(&mut w, &a, EcdsaSighashType::All);
        push_sig(&mut w, &a, EcdsaSighashType::All);
        w.push(pair.alice_params.funding_redeemscript().as_bytes());
        bad.input[0].witness = w;
        assert!(bad.verify(|_| Some(pair.funding_txout())).is_err());

        // Channel announcement signature under the funding key.
        let sig = pair.alice.sign_channel_announcement_with_funding_key(b"announcement").unwrap();
        let msg = Message::from_digest(sha256d::Hash::hash(b"announcement").to_byte_array());
        assert!(Secp256k1::new().verify_ecdsa(&msg, &sig, &pair.alice.pubkeys().funding_pubkey).is_ok());
    }
}

#[test]
fn signer_refuses_revoked_and_premature_requests() {
    for channel_type in channel_types() {
        let mut pair = Pair::new(channel_type);
        let c0 = pair.commit_alice(0);

        // No secret before the next commitment is validated.
        assert!(matches!(pair.alice.release_commitment_secret(0), Err(SignError::Refused(_))));
        assert!(matches!(pair.alice.release_commitment_secret(5), Err(SignError::Refused(_))));

        // Bad counterparty signatures are refused for their stated reason.
        let tx1 = pair.alice_commitment(1);
        let (sig, mut htlc_sigs) = pair.bob.sign_counterparty_commitment(&tx1).unwrap();
        let bad = HolderCommitmentTransaction::new(tx1.clone(), htlc_sigs[0], htlc_sigs.clone()).unwrap();
        assert_eq!(
            pair.alice.validate_holder_commitment(&bad),
            Err(SignError::InvalidCounterpartySignature(
                CommitmentSignatureError::InvalidCommitmentSignature
            ))
        );
        htlc_sigs.swap(1, 2);
        let bad = HolderCommitmentTransaction::new(tx1.clone(), sig, htlc_sigs.clone()).unwrap();
        assert_eq!(
            pair.alice.validate_holder_commitment(&bad),
            Err(SignError::InvalidCounterpartySignature(CommitmentSignatureError::InvalidHtlcSignature(1)))
        );
        assert_eq!(
            HolderCommitmentTransaction::new(tx1.clone(), sig, htlc_sigs[..2].to_vec()),
            Err(CommitmentSignatureError::WrongHtlcSignatureCount { expected: 3, got: 2 })
        );
        assert!(matches!(pair.alice.release_commitment_secret(0), Err(SignError::Refused(_))));

        // A commitment on someone else's point is refused.
        let secp = Secp256k1::new();
        let other_point = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[9; 32]).unwrap());
        let forged = CommitmentTransaction::build(
            pair.spec(1, true),
            TxCreationKeys::derive_new(&secp, &other_point, pair.alice.pubkeys(), pair.bob.pubkeys()),
            &pair.alice_params.as_holder_broadcastable(),
        );
        // Bob will not sign commitment 1 again on another point...
        assert!(matches!(pair.bob.sign_counterparty_commitment(&forged), Err(SignError::Refused(_))));
        // ...but a signer without that memory does; Alice still refuses it.
        let mut fresh_bob = KeysManager::new(&[2; 32], 0, 0).derive_channel_signer(CHANNEL_VALUE, [0xbb; 32]);
        fresh_bob.provide_channel_parameters(&pair.bob_params).unwrap();
        let (s, hs) = fresh_bob.sign_counterparty_commitment(&forged).unwrap();
        let forged = HolderCommitmentTransaction::new(forged, s, hs).unwrap();
        assert!(matches!(pair.alice.validate_holder_commitment(&forged), Err(SignError::Refused(_))));
        assert!(matches!(pair.alice.sign_holder_commitment(&forged), Err(SignError::Refused(_))));
        // A commitment on the right point but with any other key than the
        // one derived from it and the base points is refused, even by a
        // signer that never signed commitment 1.
        let point1 = pair.alice.get_per_commitment_point(1).unwrap();
        let good_keys = TxCreationKeys::derive_new(&secp, &point1, pair.alice.pubkeys(), pair.bob.pubkeys());
        let mut wrong_revocation = good_keys;
        wrong_revocation.revocation_key = other_point;
        let mut wrong_delayed = good_keys;
        wrong_delayed.broadcaster_delayed_payment_key = other_point;
        let mut wrong_htlc = good_keys;
        wrong_htlc.broadcaster_htlc_key = other_point;
        for bad_keys in [wrong_revocation, wrong_delayed, wrong_htlc] {
            let bad = CommitmentTransaction::build(
                pair.spec(1, true),
                bad_keys,
                &pair.bob_params.as_counterparty_broadcastable(),
            );
            let mut fresh_bob =
                KeysManager::new(&[2; 32], 0, 0).derive_channel_signer(CHANNEL_VALUE, [0xbb; 32]);
            fresh_bob.provide_channel_parameters(&pair.bob_params).unwrap();
            assert!(
                matches!(fresh_bob.sign_counterparty_commitment(&bad), Err(SignError::Refused(_))),
                "{bad_keys:?}"
            );
        }
        // Our own commitment is not signed as the counterparty's.
        assert!(matches!(pair.alice.sign_counterparty_commitment(&tx1), Err(SignError::Refused(_))));

        let c1 = pair.commit_alice(1);
        let secret0 = pair.alice.release_commitment_secret(0).unwrap();
        // Re-sending the same revocation is allowed; the secret is the same.
        assert_eq!(pair.alice.release_commitment_secret(0).unwrap(), secret0);
        assert!(matches!(pair.alice.release_commitment_secret(1), Err(SignError::Refused(_))));

        // Commitment 0 is revoked: no broadcast signature, no HTLC signature.
        assert!(matches!(pair.alice.sign_holder_commitment(&c0), Err(SignError::Refused(_))));
        let htlc = *c0.commitment().nondust_htlc(0).unwrap().0;
        let htlc_tx = c0.commitment().build_htlc_transaction(0).unwrap();
        assert!(matches!(
            pair.alice.sign_holder_htlc_transaction(&htlc_tx, 0, 0, &htlc),
            Err(SignError::Refused(_))
        ));
        assert!(matches!(pair.alice.validate_holder_commitment(&c0), Err(SignError::Refused(_))));
        assert!(pair.alice.sign_holder_commitment(&c1).is_ok());

        // Bob: a wrong revocation secret is refused, the right one accepted,
        // then he will not sign the revoked commitment again.
        let wrong = SecretKey::from_slice(&[3; 32]).unwrap();
        assert!(pair.bob.validate_counterparty_revocation(0, &wrong).is_err());
        // Nor a revocation of a commitment he never signed.
        assert!(pair.bob.validate_counterparty_revocation(7, &wrong).is_err());
        let secret0 = SecretKey::from_slice(&secret0).unwrap();
        pair.bob.validate_counterparty_revocation(0, &secret0).unwrap();
        pair.bob.validate_counterparty_revocation(0, &secret0).unwrap();
        assert!(pair.bob.validate_counterparty_revocation(0, &wrong).is_err());
        assert!(matches!(pair.bob.sign_counterparty_commitment(c0.commitment()), Err(SignError::Refused(_))));

        // The policy survives a restart through its persisted state.
        let state = decode_exact::<SignerPolicyState>(&pair.alice.policy_state().encode()).unwrap();
        assert_eq!(&state, pair.alice.policy_state());
        let mut restored = KeysManager::new(&[1; 32], 5, 5).derive_channel_signer(CHANNEL_VALUE, [0xaa; 32]);
        restored.provide_channel_parameters(&pair.alice_params).unwrap();
        restored.restore_policy_state(state);
        assert!(matches!(restored.sign_holder_commitment(&c0), Err(SignError::Refused(_))));
        assert!(restored.sign_holder_commitment(&c1).is_ok());

        // Parameters: other keys or a second, different set are refused;
        // signing before parameters is an error.
        let mut fresh = KeysManager::new(&[1; 32], 0, 0).derive_channel_signer(CHANNEL_VALUE, [0xaa; 32]);
        assert_eq!(fresh.sign_holder_commitment(&c1), Err(SignError::ChannelParametersMissing));
        assert!(fresh.provide_channel_parameters(&pair.bob_params).is_err());
        fresh.provide_channel_parameters(&pair.alice_params).unwrap();
        fresh.provide_channel_parameters(&pair.alice_params).unwrap();
        let other = ChannelTransactionParameters::new(
            *pair.alice_params.holder(),
            *pair.alice_params.counterparty(),
            true,
            OutPoint { txid: Txid::from_byte_array([8; 32]), vout: 0 },
            CHANNEL_VALUE,
            pair.alice_params.channel_type_features().clone(),
        )
        .unwrap();
        assert!(fresh.provide_channel_parameters(&other).is_err());
    }
}

#[test]
fn keys_manager_is_deterministic() {
    let a = KeysManager::new(&[42; 32], 1, 1);
    let b = KeysManager::new(&[42; 32], 99, 7);
    let c = KeysManager::new(&[43; 32], 1, 1);
    let id = [5; 32];
    let sa = a.derive_channel_signer(1000, id);
    let sb = b.derive_channel_signer(1000, id);
    assert_eq!(sa.pubkeys(), sb.pubkeys());
    assert_eq!(sa.get_per_commitment_point(17), sb.get_per_commitment_point(17));
    assert_ne!(sa.get_per_commitment_point(17), sa.get_per_commitment_point(18));
    assert_ne!(sa.pubkeys(), c.derive_channel_signer(1000, id).pubkeys());
    // Every byte of the id matters, and the five keys are distinct.
    let mut other_id = id;
    other_id[31] ^= 1;
    assert_ne!(sa.pubkeys(), a.derive_channel_signer(1000, other_id).pubkeys());
    let k = sa.pubkeys();
    let all = [
        k.funding_pubkey,
        k.revocation_basepoint,
        k.payment_point,
        k.delayed_payment_basepoint,
        k.htlc_basepoint,
    ];
    for i in 0..all.len() {
        for j in i + 1..all.len() {
            assert_ne!(all[i], all[j]);
        }
    }
    assert_eq!(a.get_destination_script(id), b.get_destination_script(id));
    assert_eq!(a.get_shutdown_scriptpubkey(), b.get_shutdown_scriptpubkey());
    assert_ne!(a.get_shutdown_scriptpubkey(), a.get_destination_script(id));
    assert!(a.get_shutdown_scriptpubkey().unwrap().is_p2wpkh());
    // Fresh ids differ.
    assert_ne!(a.generate_channel_keys_id(false, 1000, 1), a.generate_channel_keys_id(false, 1000, 1));
    // The keys interface bundles the three provider traits.
    fn assert_keys_interface<K: KeysInterface>(_: &K) {}
    assert_keys_interface(&a);
}

/// Fixed outputs for a fixed seed and channel_keys_id. These values are what
/// every existing node derived from its seed: if this test fails, the
/// derivation changed and existing nodes would lose their node id and their
/// channels' keys. Never update them to make the test pass.
#[test]
fn keys_manager_derivation_is_pinned() {
    let keys = KeysManager::new(&[42; 32], 1, 1);
    let signer = keys.derive_channel_signer(1000, [5; 32]);
    let k = signer.pubkeys();
    let hex = |pk: &PublicKey| pk.to_string();
    assert_eq!(
        hex(&keys.get_node_id(Recipient::Node).unwrap()),
        "02c798393ee654ae63db0d0986d6fd403ed696ffb0ad2cdd66c398a9d7c34ffbf0"
    );
    assert_eq!(hex(&k.funding_pubkey), "0350859a855a06340f9ddbbb69a7c59fbfff4cc89b2760751d8c702acb0f7ac9d3");
    assert_eq!(
        hex(&k.revocation_basepoint),
        "03279f299ec1e0dd89648d6e9d04f9bece51be3284115070b8aa3980a129cac610"
    );
    assert_eq!(hex(&k.payment_point), "0315b5f2c01e53d6fa2f540fb845ebc1b51d2a67dbc6298552794d35ef1c1b9e4f");
    assert_eq!(
        hex(&k.delayed_payment_basepoint),
        "03ccb9b173f8a2aa5e2862c8cf6a1802c306f4c6ff0f7ec69d3379029ca7702a5a"
    );
    assert_eq!(hex(&k.htlc_basepoint), "03e1761ac040a9b7e89e4cfcdb2788df9b4f957b7e5ed8bbea3792e7f8beeb6b84");
    assert_eq!(
        hex(&signer.get_per_commitment_point(0).unwrap()),
        "02c58d14f69d7ba90d21030d3fbfd09bc06aaacee192a4402543fa30bfcd438114"
    );
}
