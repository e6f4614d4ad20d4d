//! HTLC-timeout and HTLC-success transactions (BOLT 3 "HTLC-Timeout and
//! HTLC-Success Transactions").

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::transaction::Version;
use bitcoin::{Amount, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::scripts::get_revokeable_redeemscript;
use super::{CommitmentFormat, HTLCOutputInCommitment, HtlcDirection};
use crate::ln::types::PaymentPreimage;
use crate::prelude::*;

/// Builds the unsigned second-stage transaction spending `htlc`'s output at
/// `commitment_outpoint`: HTLC-timeout (locktime `cltv_expiry`) for an HTLC
/// the broadcaster offered, HTLC-success (locktime 0) for one it received.
/// Its single output pays the HTLC amount minus the fee (zero with anchors)
/// to the revocable delayed script; with anchors the input's sequence is 1.
pub fn build_htlc_transaction(
    commitment_outpoint: OutPoint, feerate_per_kw: u32, contest_delay: u16, htlc: &HTLCOutputInCommitment,
    format: CommitmentFormat, broadcaster_delayed_payment_key: &PublicKey, revocation_key: &PublicKey,
) -> Transaction {
    let lock_time = match htlc.direction {
        HtlcDirection::Offered => LockTime::from_consensus(htlc.cltv_expiry),
        HtlcDirection::Received => LockTime::ZERO,
    };
    let value = htlc.amount_sat().saturating_sub(htlc.second_stage_fee_sat(feerate_per_kw, format));
    let script = get_revokeable_redeemscript(revocation_key, contest_delay, broadcaster_delayed_payment_key);
    Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn {
            previous_output: commitment_outpoint,
            script_sig: ScriptBuf::new(),
            sequence: if format.has_anchors() { Sequence(1) } else { Sequence::ZERO },
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(value), script_pubkey: script.to_p2wsh() }],
    }
}

/// The witness spending an HTLC output through its second-stage transaction:
/// `0 <countersignatory_sig> <broadcaster_sig> <preimage or empty>
/// <htlc_redeemscript>`. `preimage` is required for HTLC-success and must be
/// `None` for HTLC-timeout.
pub fn build_htlc_input_witness(
    broadcaster_sig: &Signature, countersignatory_sig: &Signature, format: CommitmentFormat,
    preimage: Option<&PaymentPreimage>, htlc_redeemscript: &ScriptBuf,
) -> Witness {
    let mut witness = Witness::new();
    witness.push(Vec::new());
    witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature {
        signature: *countersignatory_sig,
        sighash_type: format.countersignatory_htlc_sighash_type(),
    });
    witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature {
        signature: *broadcaster_sig,
        sighash_type: EcdsaSighashType::All,
    });
    match preimage {
        Some(preimage) => witness.push(preimage.0),
        None => witness.push(Vec::new()),
    }
    witness.push(htlc_redeemscript.as_bytes());
    witness
}
