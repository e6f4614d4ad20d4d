//! Every vector of `shared/specs/vectors/bolt03/` except dual funding: key
//! derivation, per-commitment secrets, the funding transaction, fee
//! calculation, and the commitment and HTLC transactions with and without
//! anchors, transactions and both signatures byte for byte. Every signed
//! transaction is also run through Bitcoin Core's script interpreter
//! (libbitcoinconsensus) against the output it spends.

mod common;

use std::str::FromStr;

use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, EcdsaSighashType, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use common::{hex_field, load_vectors};
use lightning_core::ln::chan_utils::signing::{build_funding_witness, sign_p2wsh_input, verify_p2wsh_input};
use lightning_core::ln::chan_utils::*;
use lightning_core::ln::features::ChannelTypeFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentPreimage};
use serde_json::Value;

fn hex_str(v: &Value, key: &str) -> Vec<u8> {
    hex_field(v, key)
}
fn pubkey(v: &Value, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex_str(v, key)).unwrap()
}
fn seckey(v: &Value, key: &str) -> SecretKey {
    SecretKey::from_slice(&hex_str(v, key)).unwrap()
}
fn bytes32(v: &Value, key: &str) -> [u8; 32] {
    hex_str(v, key).try_into().unwrap()
}
fn sig(v: &Value, key: &str) -> Signature {
    Signature::from_der(&hex_str(v, key)).unwrap()
}

/// Runs `tx` through libbitcoinconsensus, each input against the output
/// `spent` returns for it.
fn assert_consensus_valid(tx: &Transaction, spent: &[(OutPoint, TxOut)], what: &str) {
    tx.verify(|outpoint| spent.iter().find(|(o, _)| o == outpoint).map(|(_, txout)| txout.clone()))
        .unwrap_or_else(|e| panic!("{what}: rejected by libbitcoinconsensus: {e:?}"));
}

#[test]
fn key_derivation() {
    let doc = load_vectors("bolt03/key_derivation.json");
    let secp = Secp256k1::new();
    let inputs = &doc["inputs"];
    let base_secret = seckey(inputs, "base_secret");
    let per_commitment_secret = seckey(inputs, "per_commitment_secret");
    let base_point = pubkey(inputs, "base_point");
    let per_commitment_point = pubkey(inputs, "per_commitment_point");
    assert_eq!(PublicKey::from_secret_key(&secp, &base_secret), base_point);
    assert_eq!(
        per_commitment_point_from_secret(&secp, &bytes32(inputs, "per_commitment_secret")),
        Ok(per_commitment_point)
    );
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let expected = hex_str(case, "expected");
        let got = match case["output_name"].as_str().unwrap() {
            "localpubkey" => {
                derive_public_key(&secp, &per_commitment_point, &base_point).serialize().to_vec()
            }
            "localprivkey" => {
                derive_private_key(&secp, &per_commitment_point, &base_secret).secret_bytes().to_vec()
            }
            "revocationpubkey" => {
                derive_public_revocation_key(&secp, &per_commitment_point, &base_point).serialize().to_vec()
            }
            "revocationprivkey" => derive_private_revocation_key(&secp, &per_commitment_secret, &base_secret)
                .secret_bytes()
                .to_vec(),
            other => panic!("unknown output {other}"),
        };
        assert_eq!(got, expected, "{}", case["name"]);
    }
}

#[test]
fn per_commitment_secret_generation() {
    let doc = load_vectors("bolt03/per_commitment_secrets.json");
    let cases = doc["generation"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let index = case["I"].as_u64().unwrap();
        assert_eq!(
            build_commitment_secret(&bytes32(case, "seed"), index).to_vec(),
            hex_str(case, "output"),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn per_commitment_secret_storage() {
    let doc = load_vectors("bolt03/per_commitment_secrets.json");
    let cases = doc["storage"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    let mut errors = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut store = CounterpartyCommitmentSecrets::new();
        let steps = case["steps"].as_array().unwrap();
        for (n, step) in steps.iter().enumerate() {
            let index = step["I"].as_u64().unwrap();
            let secret = bytes32(step, "secret");
            let result = store.provide_secret(index, secret);
            match step["output"].as_str().unwrap() {
                "OK" => {
                    assert_eq!(result, Ok(()), "{name} step {n}");
                    assert_eq!(store.get_secret(index), Some(secret), "{name} step {n}");
                }
                "ERROR" => {
                    assert_eq!(result, Err(SecretStorageError::DoesNotDeriveKnownSecrets), "{name} step {n}");
                    assert_eq!(n, steps.len() - 1, "{name}: an error ends the case");
                    errors += 1;
                }
                other => panic!("unknown output {other}"),
            }
        }
    }
    assert_eq!(errors, 8);
}

#[test]
fn funding_transaction() {
    let doc = load_vectors("bolt03/funding_tx.json");
    let v = &doc["vector"];
    let secp = Secp256k1::new();
    let local = pubkey(v, "local_funding_pubkey");
    let remote = pubkey(v, "remote_funding_pubkey");
    let redeemscript = make_funding_redeemscript(&local, &remote);
    assert_eq!(redeemscript.as_bytes(), &hex_str(v, "funding_witness_script")[..]);
    // Key order does not matter.
    assert_eq!(make_funding_redeemscript(&remote, &local), redeemscript);

    let coinbase: Transaction = deserialize(&hex_str(v, "block1_coinbase_tx")).unwrap();
    let input_txid = Txid::from_str(v["input_txid"].as_str().unwrap()).unwrap();
    assert_eq!(coinbase.compute_txid(), input_txid);
    let prevout = OutPoint { txid: input_txid, vout: v["input_index"].as_u64().unwrap() as u32 };
    let spent = coinbase.output[prevout.vout as usize].clone();
    assert_eq!(spent.value.to_sat(), v["input_satoshis"].as_u64().unwrap());

    let coinbase_key = seckey(v, "block1_coinbase_privkey");
    let coinbase_pubkey = PublicKey::from_secret_key(&secp, &coinbase_key);
    let mut outputs = vec![
        TxOut {
            value: Amount::from_sat(v["funding_satoshis"].as_u64().unwrap()),
            script_pubkey: redeemscript.to_p2wsh(),
        },
        TxOut {
            value: Amount::from_sat(v["change_satoshis"].as_u64().unwrap()),
            script_pubkey: p2wpkh_script(&coinbase_pubkey),
        },
    ];
    closing::sort_outputs_bip69(&mut outputs);
    let mut tx = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![bitcoin::TxIn { previous_output: prevout, ..Default::default() }],
        output: outputs,
    };
    assert_eq!(
        tx.output.iter().position(|o| o.script_pubkey == redeemscript.to_p2wsh()),
        Some(v["funding_output_index"].as_u64().unwrap() as usize)
    );
    let sighash = bitcoin::sighash::SighashCache::new(&tx)
        .legacy_signature_hash(0, &spent.script_pubkey, EcdsaSighashType::All.to_u32())
        .unwrap();
    let signature =
        secp.sign_ecdsa(&bitcoin::secp256k1::Message::from_digest(sighash.to_byte_array()), &coinbase_key);
    let script_sig = bitcoin::blockdata::script::Builder::new()
        .push_slice(bitcoin::ecdsa::Signature::sighash_all(signature).serialize())
        .push_slice(coinbase_pubkey.serialize())
        .into_script();
    tx.input[0].script_sig = script_sig;
    assert_eq!(serialize(&tx), hex_str(v, "funding_tx"));
    assert_eq!(tx.compute_txid(), Txid::from_str(v["funding_txid"].as_str().unwrap()).unwrap());
    assert_consensus_valid(&tx, &[(prevout, spent)], "funding tx");
}

#[test]
fn fee_calculation_example() {
    let doc = load_vectors("bolt03/fee_calculation.json");
    let w = &doc["weights"];
    assert_eq!(w["commitment_no_anchors"], COMMITMENT_TX_BASE_WEIGHT);
    assert_eq!(w["commitment_anchors"], COMMITMENT_TX_BASE_ANCHOR_WEIGHT);
    assert_eq!(w["per_untrimmed_htlc_output"], COMMITMENT_TX_WEIGHT_PER_HTLC);
    assert_eq!(w["htlc_timeout_no_anchors"], HTLC_TIMEOUT_TX_WEIGHT);
    assert_eq!(w["htlc_timeout_anchors"], HTLC_TIMEOUT_ANCHOR_TX_WEIGHT);
    assert_eq!(w["htlc_success_no_anchors"], HTLC_SUCCESS_TX_WEIGHT);
    assert_eq!(w["htlc_success_anchors"], HTLC_SUCCESS_ANCHOR_TX_WEIGHT);

    let e = &doc["example"];
    let feerate = e["feerate_per_kw"].as_u64().unwrap() as u32;
    let dust = e["dust_limit_satoshis"].as_u64().unwrap();
    let format = CommitmentFormat::StaticRemoteKey;
    assert_eq!(htlc_timeout_tx_fee_sat(feerate, format), e["htlc_timeout_fee_sat"].as_u64().unwrap());
    assert_eq!(htlc_success_tx_fee_sat(feerate, format), e["htlc_success_fee_sat"].as_u64().unwrap());

    // Build a real commitment with these HTLCs and check trimming and fees.
    let f = AppendixC::load();
    let mut htlcs = Vec::new();
    for (key, direction) in
        [("offered_htlcs_msat", HtlcDirection::Offered), ("received_htlcs_msat", HtlcDirection::Received)]
    {
        for amount in e[key].as_array().unwrap() {
            htlcs.push(HTLCOutputInCommitment {
                direction,
                amount_msat: amount.as_u64().unwrap(),
                cltv_expiry: 500,
                payment_hash: PaymentHash([htlcs.len() as u8; 32]),
                transaction_output_index: None,
            });
        }
    }
    let htlc_sum_sat: u64 = htlcs.iter().map(|h| h.amount_sat()).sum();
    let spec = CommitmentSpec {
        commitment_number: 42,
        to_broadcaster_value_msat: (f.funding_sat - htlc_sum_sat - 3_000_000) * 1000,
        to_countersignatory_value_msat: 3_000_000_000,
        feerate_per_kw: feerate,
        broadcaster_dust_limit_satoshis: dust,
        htlcs,
    };
    let params = f.params(ChannelTypeFeatures::empty());
    let tx = CommitmentTransaction::build(spec, f.keys, &params.as_holder_broadcastable());
    let amounts = |dir: HtlcDirection, untrimmed: bool| -> Vec<u64> {
        tx.htlcs()
            .iter()
            .filter(|h| h.direction == dir && h.transaction_output_index.is_some() == untrimmed)
            .map(|h| h.amount_sat())
            .collect()
    };
    let sats =
        |key: &str| -> Vec<u64> { e[key].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect() };
    assert_eq!(amounts(HtlcDirection::Offered, true), sats("untrimmed_offered_sat"));
    assert_eq!(amounts(HtlcDirection::Received, true), sats("untrimmed_received_sat"));
    assert_eq!(amounts(HtlcDirection::Offered, false), sats("trimmed_offered_sat"));
    assert_eq!(amounts(HtlcDirection::Received, false), sats("trimmed_received_sat"));
    let weight = COMMITMENT_TX_BASE_WEIGHT + COMMITMENT_TX_WEIGHT_PER_HTLC * tx.nondust_htlc_count() as u64;
    assert_eq!(weight, e["commitment_weight"].as_u64().unwrap());
    assert_eq!(tx.base_fee_sat(), e["base_fee_sat"].as_u64().unwrap());
    let out_sum: u64 = tx.transaction().output.iter().map(|o| o.value.to_sat()).sum();
    assert_eq!(f.funding_sat - out_sum, e["actual_fee_sat"].as_u64().unwrap());
}

/// The common data of Appendix C (also used by Appendix F).
struct AppendixC {
    doc: Value,
    secp: Secp256k1<bitcoin::secp256k1::All>,
    funding_outpoint: OutPoint,
    funding_sat: u64,
    funding_redeemscript: ScriptBuf,
    local: ChannelPublicKeys,
    remote: ChannelPublicKeys,
    keys: TxCreationKeys,
    local_funding_key: SecretKey,
    remote_funding_key: SecretKey,
    local_htlc_key: SecretKey,
    remote_htlc_key: SecretKey,
}

impl AppendixC {
    fn load() -> Self {
        let doc = load_vectors("bolt03/commitment_and_htlc_txs.json");
        let secp = Secp256k1::new();
        let p = &doc["params"];
        let k = &doc["keys"];
        let i = &doc["internal"];
        // Keys the vectors do not need (and do not give) are arbitrary.
        let unused = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[0x55; 32]).unwrap());
        let local = ChannelPublicKeys {
            funding_pubkey: pubkey(k, "local_funding_pubkey"),
            revocation_basepoint: unused,
            payment_point: pubkey(k, "local_payment_basepoint"),
            delayed_payment_basepoint: pubkey(i, "local_delayed_payment_basepoint"),
            htlc_basepoint: pubkey(k, "local_htlc_basepoint"),
        };
        let remote = ChannelPublicKeys {
            funding_pubkey: pubkey(k, "remote_funding_pubkey"),
            revocation_basepoint: pubkey(i, "remote_revocation_basepoint"),
            payment_point: pubkey(k, "remote_payment_basepoint"),
            delayed_payment_basepoint: unused,
            htlc_basepoint: pubkey(k, "remote_htlc_basepoint"),
        };
        let per_commitment_secret = bytes32(i, "x_local_per_commitment_secret");
        let point = per_commitment_point_from_secret(&secp, &per_commitment_secret).unwrap();
        assert_eq!(point, pubkey(i, "local_per_commitment_point"));
        let keys = TxCreationKeys::derive_new(&secp, &point, &local, &remote);
        assert_eq!(keys.broadcaster_htlc_key, pubkey(k, "local_htlcpubkey"));
        assert_eq!(keys.countersignatory_htlc_key, pubkey(k, "remote_htlcpubkey"));
        assert_eq!(keys.broadcaster_delayed_payment_key, pubkey(k, "local_delayedpubkey"));
        assert_eq!(keys.revocation_key, pubkey(k, "local_revocation_pubkey"));
        // The private keys of the vectors follow from the basepoint secrets.
        let local_htlc_key = seckey(k, "local_privkey");
        let remote_htlc_key = seckey(i, "remote_privkey");
        assert_eq!(
            derive_private_key(&secp, &point, &seckey(i, "local_payment_basepoint_secret")),
            local_htlc_key
        );
        assert_eq!(
            derive_private_key(&secp, &point, &seckey(i, "remote_payment_basepoint_secret")),
            remote_htlc_key
        );
        assert_eq!(
            derive_private_key(&secp, &point, &seckey(i, "local_delayed_payment_basepoint_secret")),
            seckey(i, "local_delayed_privkey")
        );
        let funding_redeemscript = make_funding_redeemscript(&local.funding_pubkey, &remote.funding_pubkey);
        assert_eq!(funding_redeemscript.as_bytes(), &hex_str(p, "funding_witness_script")[..]);
        AppendixC {
            funding_outpoint: OutPoint {
                txid: Txid::from_str(p["funding_txid"].as_str().unwrap()).unwrap(),
                vout: p["funding_output_index"].as_u64().unwrap() as u32,
            },
            funding_sat: p["funding_amount_satoshi"].as_u64().unwrap(),
            funding_redeemscript,
            local,
            remote,
            keys,
            local_funding_key: seckey(k, "local_funding_privkey"),
            remote_funding_key: seckey(i, "remote_funding_privkey"),
            local_htlc_key,
            remote_htlc_key,
            secp,
            doc,
        }
    }

    /// Channel parameters with us (local) as funder; `to_self_delay` of our
    /// outputs is the counterparty's selection.
    fn params(&self, channel_type: ChannelTypeFeatures) -> ChannelTransactionParameters {
        let delay = self.doc["params"]["local_delay"].as_u64().unwrap() as u16;
        ChannelTransactionParameters::new(
            ChannelSideParameters { pubkeys: self.local, selected_contest_delay: 6 },
            ChannelSideParameters { pubkeys: self.remote, selected_contest_delay: delay },
            true,
            self.funding_outpoint,
            self.funding_sat,
            channel_type,
        )
        .unwrap()
    }

    /// The common HTLCs with these ids, as the local commitment sees them.
    fn htlcs(&self, ids: &[u64]) -> Vec<(HTLCOutputInCommitment, PaymentPreimage)> {
        ids.iter()
            .map(|id| {
                let h = &self.doc["htlcs"][*id as usize];
                assert_eq!(h["id"].as_u64(), Some(*id));
                let preimage = PaymentPreimage(bytes32(h, "payment_preimage"));
                assert_eq!(preimage.payment_hash().0.to_vec(), hex_str(h, "payment_hash"));
                let direction = match h["direction"].as_str().unwrap() {
                    "local->remote" => HtlcDirection::Offered,
                    "remote->local" => HtlcDirection::Received,
                    other => panic!("direction {other}"),
                };
                let htlc = HTLCOutputInCommitment {
                    direction,
                    amount_msat: h["amount_msat"].as_u64().unwrap(),
                    cltv_expiry: h["expiry"].as_u64().unwrap() as u32,
                    payment_hash: preimage.payment_hash(),
                    transaction_output_index: None,
                };
                (htlc, preimage)
            })
            .collect()
    }

    fn funding_txout(&self) -> TxOut {
        TxOut {
            value: Amount::from_sat(self.funding_sat),
            script_pubkey: self.funding_redeemscript.to_p2wsh(),
        }
    }

    /// Signs the commitment with both funding keys, checks the remote
    /// signature (and the local one when given) against the vector, and
    /// returns the fully signed transaction after running it through
    /// libbitcoinconsensus.
    fn sign_commitment(
        &self, tx: &CommitmentTransaction, remote_sig: &Signature, local_sig: Option<&Signature>, name: &str,
    ) -> Transaction {
        let unsigned = tx.transaction();
        let sign = |key: &SecretKey| {
            sign_p2wsh_input(
                &self.secp,
                unsigned,
                0,
                &self.funding_redeemscript,
                self.funding_sat,
                EcdsaSighashType::All,
                key,
            )
            .unwrap()
        };
        let (ours, theirs) = (sign(&self.local_funding_key), sign(&self.remote_funding_key));
        assert_eq!(&theirs, remote_sig, "{name}: remote signature");
        if let Some(local_sig) = local_sig {
            assert_eq!(&ours, local_sig, "{name}: local signature");
        }
        let mut signed = unsigned.clone();
        signed.input[0].witness = build_funding_witness(
            &ours,
            &self.local.funding_pubkey,
            &theirs,
            &self.remote.funding_pubkey,
            &self.funding_redeemscript,
        );
        assert_consensus_valid(&signed, &[(self.funding_outpoint, self.funding_txout())], name);
        signed
    }

    /// Builds, signs and checks the `i`-th HTLC transaction of `tx` against
    /// the vector's bytes and remote signature (and the local one if given).
    #[allow(clippy::too_many_arguments)] // a test helper taking one vector's fields
    fn check_htlc_tx(
        &self, tx: &CommitmentTransaction, signed_commitment: &Transaction, i: usize,
        preimages: &[(HTLCOutputInCommitment, PaymentPreimage)], remote_sig: &Signature,
        local_sig: Option<&Signature>, expected_tx: &[u8], name: &str,
    ) {
        let (htlc, script) = tx.nondust_htlc(i).unwrap();
        let htlc_tx = tx.build_htlc_transaction(i).unwrap();
        let amount = htlc.amount_sat();
        let format = tx.format();
        let theirs = sign_p2wsh_input(
            &self.secp,
            &htlc_tx,
            0,
            script,
            amount,
            format.countersignatory_htlc_sighash_type(),
            &self.remote_htlc_key,
        )
        .unwrap();
        assert_eq!(&theirs, remote_sig, "{name} htlc {i}: remote signature");
        let ours = sign_p2wsh_input(
            &self.secp,
            &htlc_tx,
            0,
            script,
            amount,
            EcdsaSighashType::All,
            &self.local_htlc_key,
        )
        .unwrap();
        if let Some(local_sig) = local_sig {
            assert_eq!(&ours, local_sig, "{name} htlc {i}: local signature");
        }
        assert!(verify_p2wsh_input(
            &self.secp,
            &htlc_tx,
            0,
            script,
            amount,
            &bitcoin::ecdsa::Signature::sighash_all(ours),
            &tx.keys().broadcaster_htlc_key
        ));
        let preimage = match htlc.direction {
            HtlcDirection::Received => {
                Some(preimages.iter().find(|(h, _)| h.payment_hash == htlc.payment_hash).unwrap().1)
            }
            HtlcDirection::Offered => None,
        };
        let mut signed = htlc_tx;
        signed.input[0].witness = build_htlc_input_witness(&ours, &theirs, format, preimage.as_ref(), script);
        assert_eq!(hex::encode(serialize(&signed)), hex::encode(expected_tx), "{name} htlc {i}: transaction");
        let vout = htlc.transaction_output_index.unwrap();
        let spent = signed_commitment.output[vout as usize].clone();
        assert_consensus_valid(&signed, &[(OutPoint { txid: tx.txid(), vout }, spent)], name);
    }
}

#[test]
fn commitment_and_htlc_transactions() {
    let f = AppendixC::load();
    let p = &f.doc["params"];
    let params = f.params(ChannelTypeFeatures::empty());
    let directed = params.as_holder_broadcastable();
    let factor = directed.commitment_number_obscure_factor();
    assert_eq!(format!("{factor:012x}"), p["obscuring_factor"].as_str().unwrap());
    assert_eq!(factor ^ 42, p["obscured_commitment_number"].as_u64().unwrap());

    let cases = f.doc["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 16);
    let mut htlc_txs_checked = 0;
    let mut fee_cases = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let ids: Vec<u64> = case["htlcs"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        let htlcs = f.htlcs(&ids);
        let spec = CommitmentSpec {
            commitment_number: p["commitment_number"].as_u64().unwrap(),
            to_broadcaster_value_msat: case["to_local_msat"].as_u64().unwrap(),
            to_countersignatory_value_msat: case["to_remote_msat"].as_u64().unwrap(),
            feerate_per_kw: case["local_feerate_per_kw"].as_u64().unwrap() as u32,
            broadcaster_dust_limit_satoshis: p["local_dust_limit_satoshi"].as_u64().unwrap(),
            htlcs: htlcs.iter().map(|(h, _)| *h).collect(),
        };
        let tx = CommitmentTransaction::build(spec, f.keys, &directed);
        // The spec states the fees for every case but the last one.
        let out_sum: u64 = tx.transaction().output.iter().map(|o| o.value.to_sat()).sum();
        if let Some(base_fee) = case.get("base_fee_sat") {
            assert_eq!(tx.base_fee_sat(), base_fee.as_u64().unwrap(), "{name}: base fee");
            assert_eq!(
                f.funding_sat - out_sum,
                case["actual_fee_sat"].as_u64().unwrap(),
                "{name}: actual fee"
            );
            fee_cases += 1;
        }
        assert_eq!(tx.nondust_htlc_count() as u64, case["num_htlcs"].as_u64().unwrap(), "{name}");

        // Every listed output, with its script.
        let expected_outputs = case["expected_outputs"].as_array().unwrap();
        // The last case lists only its HTLC outputs (the whole tx is compared below).
        let listed_count = if case.get("base_fee_sat").is_some() {
            tx.transaction().output.len()
        } else {
            tx.nondust_htlc_count()
        };
        assert_eq!(listed_count, expected_outputs.len(), "{name}: output count");
        for out in expected_outputs {
            let amount = out["amount_sat"].as_u64().unwrap();
            let script_pubkey = match out["kind"].as_str().unwrap() {
                "to_remote" => p2wpkh_script(&pubkey(out, "p2wpkh_pubkey")),
                kind => {
                    let script = ScriptBuf::from_bytes(hex_str(out, "witness_script"));
                    if kind != "to_local" {
                        let id = out["htlc_id"].as_u64().unwrap();
                        let pos = ids.iter().position(|x| *x == id).unwrap();
                        let vout = tx.htlcs()[pos].transaction_output_index.unwrap();
                        let i = tx
                            .nondust_htlcs()
                            .position(|h| h.transaction_output_index == Some(vout))
                            .unwrap();
                        assert_eq!(tx.nondust_htlc(i).unwrap().1, &script, "{name}: htlc {id} script");
                    }
                    script.to_p2wsh()
                }
            };
            assert!(
                tx.transaction()
                    .output
                    .iter()
                    .any(|o| o.value.to_sat() == amount && o.script_pubkey == script_pubkey),
                "{name}: missing output {out}"
            );
        }

        let signed =
            f.sign_commitment(&tx, &sig(case, "remote_signature"), Some(&sig(case, "local_signature")), name);
        assert_eq!(
            hex::encode(serialize(&signed)),
            case["commit_tx"].as_str().unwrap(),
            "{name}: commitment tx"
        );
        assert_eq!(signed.compute_txid(), Txid::from_str(case["commit_txid"].as_str().unwrap()).unwrap());

        let htlc_txs = case["htlc_txs"].as_array().unwrap();
        assert_eq!(htlc_txs.len(), tx.nondust_htlc_count(), "{name}: HTLC tx count");
        for (i, h) in htlc_txs.iter().enumerate() {
            let (htlc, _) = tx.nondust_htlc(i).unwrap();
            assert_eq!(htlc.transaction_output_index, h["output_index"].as_u64().map(|x| x as u32), "{name}");
            let pos = ids.iter().position(|x| *x == h["htlc_id"].as_u64().unwrap()).unwrap();
            assert_eq!(
                tx.htlcs()[pos].transaction_output_index,
                htlc.transaction_output_index,
                "{name}: htlc id"
            );
            let expected_type = match htlc.direction {
                HtlcDirection::Offered => "htlc-timeout",
                HtlcDirection::Received => "htlc-success",
            };
            assert_eq!(h["type"].as_str().unwrap(), expected_type, "{name}");
            f.check_htlc_tx(
                &tx,
                &signed,
                i,
                &htlcs,
                &sig(h, "remote_htlc_signature"),
                Some(&sig(h, "local_htlc_signature")),
                &hex_str(h, "tx"),
                name,
            );
            htlc_txs_checked += 1;
        }
    }
    assert_eq!(htlc_txs_checked, 33);
    assert_eq!(fee_cases, 15);
}

#[test]
fn anchors_commitment_and_htlc_transactions() {
    let f = AppendixC::load();
    let doc = load_vectors("bolt03/commitment_and_htlc_txs_anchors.json");
    let p = &f.doc["params"];
    let mut channel_type = ChannelTypeFeatures::empty();
    channel_type.set_static_remote_key_required();
    channel_type.set_anchors_zero_fee_htlc_tx_required();
    let params = f.params(channel_type);
    let directed = params.as_holder_broadcastable();
    assert_eq!(directed.commitment_format(), CommitmentFormat::AnchorsZeroFeeHtlcTx);

    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    let mut htlc_txs_checked = 0;
    for case in cases {
        let name = case["Name"].as_str().unwrap();
        let ids: Vec<u64> = case["htlcs"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        assert_eq!(case["UseTestHtlcs"].as_bool().unwrap(), !ids.is_empty());
        let htlcs = f.htlcs(&ids);
        let spec = CommitmentSpec {
            commitment_number: p["commitment_number"].as_u64().unwrap(),
            to_broadcaster_value_msat: case["LocalBalance"].as_u64().unwrap(),
            to_countersignatory_value_msat: case["RemoteBalance"].as_u64().unwrap(),
            feerate_per_kw: case["FeePerKw"].as_u64().unwrap() as u32,
            broadcaster_dust_limit_satoshis: case["DustLimitSatoshis"].as_u64().unwrap(),
            htlcs: htlcs.iter().map(|(h, _)| *h).collect(),
        };
        let tx = CommitmentTransaction::build(spec, f.keys, &directed);
        let signed = f.sign_commitment(&tx, &sig(case, "RemoteSigHex"), None, name);
        assert_eq!(
            hex::encode(serialize(&signed)),
            case["ExpectedCommitmentTxHex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(signed.compute_txid(), Txid::from_str(case["commit_txid"].as_str().unwrap()).unwrap());

        let descs = case["HtlcDescs"].as_array().unwrap();
        assert_eq!(descs.len(), tx.nondust_htlc_count(), "{name}: HTLC tx count");
        for (i, d) in descs.iter().enumerate() {
            // The remote signature is SIGHASH_SINGLE|ANYONECANPAY; the spec
            // gives no separate local signature, but it is inside the tx.
            f.check_htlc_tx(
                &tx,
                &signed,
                i,
                &htlcs,
                &sig(d, "RemoteSigHex"),
                None,
                &hex_str(d, "ResolutionTxHex"),
                name,
            );
            htlc_txs_checked += 1;
        }
    }
    assert_eq!(htlc_txs_checked, 15);
}

/// The remote side's `InMemorySigner`, built from the vectors' remote
/// secrets, signs the local commitment as its counterparty's through the
/// signer API and reproduces every remote signature of Appendices C and F.
#[test]
fn counterparty_signer_reproduces_remote_signatures() {
    use lightning_core::sign::{ChannelSecrets, ChannelSigner, EcdsaChannelSigner, InMemorySigner};
    let f = AppendixC::load();
    let i = &f.doc["internal"];
    let p = &f.doc["params"];
    let anchors_doc = load_vectors("bolt03/commitment_and_htlc_txs_anchors.json");
    let mut anchors_type = ChannelTypeFeatures::empty();
    anchors_type.set_static_remote_key_required();
    anchors_type.set_anchors_zero_fee_htlc_tx_required();
    let mut signed_cases = 0;
    let mut signed_htlcs = 0;
    for (channel_type, cases) in [
        (ChannelTypeFeatures::empty(), f.doc["cases"].as_array().unwrap().clone()),
        (anchors_type, anchors_doc["cases"].as_array().unwrap().clone()),
    ] {
        let remote_payment_secret = seckey(i, "remote_payment_basepoint_secret");
        let secrets = ChannelSecrets {
            funding_key: f.remote_funding_key,
            revocation_base_key: seckey(i, "remote_revocation_basepoint_secret"),
            payment_key: remote_payment_secret,
            // Not given by the vectors and not used here.
            delayed_payment_base_key: SecretKey::from_slice(&[0x66; 32]).unwrap(),
            htlc_base_key: remote_payment_secret,
            commitment_seed: [0x77; 32],
        };
        let mut remote = InMemorySigner::new(secrets, f.funding_sat, [0; 32]);
        let mut remote_pubkeys = f.remote;
        remote_pubkeys.delayed_payment_basepoint = remote.pubkeys().delayed_payment_basepoint;
        assert_eq!(remote.pubkeys(), &remote_pubkeys);
        let delay = p["local_delay"].as_u64().unwrap() as u16;
        let remote_params = ChannelTransactionParameters::new(
            ChannelSideParameters { pubkeys: remote_pubkeys, selected_contest_delay: delay },
            ChannelSideParameters { pubkeys: f.local, selected_contest_delay: 6 },
            false,
            f.funding_outpoint,
            f.funding_sat,
            channel_type,
        )
        .unwrap();
        remote.provide_channel_parameters(&remote_params).unwrap();
        let directed = remote_params.as_counterparty_broadcastable();
        for case in &cases {
            let anchors = case.get("Name").is_some();
            let ids: Vec<u64> =
                case["htlcs"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
            let (local_msat, remote_msat, feerate, dust, remote_sig) = if anchors {
                (
                    case["LocalBalance"].as_u64().unwrap(),
                    case["RemoteBalance"].as_u64().unwrap(),
                    case["FeePerKw"].as_u64().unwrap(),
                    case["DustLimitSatoshis"].as_u64().unwrap(),
                    sig(case, "RemoteSigHex"),
                )
            } else {
                (
                    case["to_local_msat"].as_u64().unwrap(),
                    case["to_remote_msat"].as_u64().unwrap(),
                    case["local_feerate_per_kw"].as_u64().unwrap(),
                    p["local_dust_limit_satoshi"].as_u64().unwrap(),
                    sig(case, "remote_signature"),
                )
            };
            let spec = CommitmentSpec {
                commitment_number: p["commitment_number"].as_u64().unwrap(),
                to_broadcaster_value_msat: local_msat,
                to_countersignatory_value_msat: remote_msat,
                feerate_per_kw: feerate as u32,
                broadcaster_dust_limit_satoshis: dust,
                htlcs: f.htlcs(&ids).into_iter().map(|(h, _)| h).collect(),
            };
            let tx = CommitmentTransaction::build(spec, f.keys, &directed);
            let (commitment_sig, htlc_sigs) = remote.sign_counterparty_commitment(&tx).unwrap();
            assert_eq!(commitment_sig, remote_sig);
            let expected: Vec<Signature> = if anchors {
                case["HtlcDescs"].as_array().unwrap().iter().map(|d| sig(d, "RemoteSigHex")).collect()
            } else {
                case["htlc_txs"].as_array().unwrap().iter().map(|h| sig(h, "remote_htlc_signature")).collect()
            };
            assert_eq!(htlc_sigs, expected);
            signed_cases += 1;
            signed_htlcs += htlc_sigs.len();
        }
    }
    assert_eq!((signed_cases, signed_htlcs), (25, 48));
}
