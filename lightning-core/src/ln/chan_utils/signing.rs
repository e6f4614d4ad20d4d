//! Sighashes, signatures and witnesses for the BOLT 3 transactions, and the
//! check of the counterparty's signatures on our commitment.
//!
//! Signatures are RFC 6979 deterministic ECDSA, so the BOLT 3 vectors are
//! reproduced byte for byte.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::sighash::SighashCache;
use bitcoin::{Amount, EcdsaSighashType, Script, Transaction, Witness};

use super::commitment::{CommitmentSignatureError, HolderCommitmentTransaction};
use crate::prelude::*;

/// The input index given is not an input of the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputIndexOutOfRange;

impl core::fmt::Display for InputIndexOutOfRange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("input index out of range")
    }
}

/// The BIP 143 sighash of input `input_index` spending a P2WSH output of
/// `value_sat` with `witness_script`.
pub fn p2wsh_sighash(
    tx: &Transaction, input_index: usize, witness_script: &Script, value_sat: u64,
    sighash_type: EcdsaSighashType,
) -> Result<Message, InputIndexOutOfRange> {
    let hash = SighashCache::new(tx)
        .p2wsh_signature_hash(input_index, witness_script, Amount::from_sat(value_sat), sighash_type)
        .map_err(|_| InputIndexOutOfRange)?;
    Ok(Message::from_digest(hash.to_byte_array()))
}

/// Signs input `input_index` (a P2WSH spend) with `key`.
pub fn sign_p2wsh_input<C: Signing>(
    secp_ctx: &Secp256k1<C>, tx: &Transaction, input_index: usize, witness_script: &Script, value_sat: u64,
    sighash_type: EcdsaSighashType, key: &SecretKey,
) -> Result<Signature, InputIndexOutOfRange> {
    let msg = p2wsh_sighash(tx, input_index, witness_script, value_sat, sighash_type)?;
    Ok(secp_ctx.sign_ecdsa(&msg, key))
}

/// Checks `sig` (with its sighash type) by `key` on input `input_index` (a
/// P2WSH spend).
pub fn verify_p2wsh_input<C: Verification>(
    secp_ctx: &Secp256k1<C>, tx: &Transaction, input_index: usize, witness_script: &Script, value_sat: u64,
    sig: &bitcoin::ecdsa::Signature, key: &PublicKey,
) -> bool {
    match p2wsh_sighash(tx, input_index, witness_script, value_sat, sig.sighash_type) {
        Ok(msg) => secp_ctx.verify_ecdsa(&msg, &sig.signature, key).is_ok(),
        Err(_) => false,
    }
}

/// The witness spending the 2-of-2 funding output: `0 <sig for pubkey1> <sig
/// for pubkey2> <funding_redeemscript>`, signatures ordered like the keys in
/// the script. Both signatures are `SIGHASH_ALL`.
pub fn build_funding_witness(
    sig_a: &Signature, key_a: &PublicKey, sig_b: &Signature, key_b: &PublicKey, funding_redeemscript: &Script,
) -> Witness {
    let (first, second) =
        if key_a.serialize() <= key_b.serialize() { (sig_a, sig_b) } else { (sig_b, sig_a) };
    let mut witness = Witness::new();
    witness.push(Vec::new());
    for sig in [first, second] {
        witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature {
            signature: *sig,
            sighash_type: EcdsaSighashType::All,
        });
    }
    witness.push(funding_redeemscript.as_bytes());
    witness
}

/// Checks the counterparty's signatures on our commitment: the commitment
/// signature under its funding key, and each HTLC-transaction signature
/// under its HTLC key (`countersignatory_htlc_key`) with the format's sighash
/// type. The first failure is reported.
pub fn verify_holder_commitment_signatures<C: Verification>(
    secp_ctx: &Secp256k1<C>, holder_tx: &HolderCommitmentTransaction, funding_redeemscript: &Script,
    channel_value_satoshis: u64, counterparty_funding_key: &PublicKey,
) -> Result<(), CommitmentSignatureError> {
    let commitment = holder_tx.commitment();
    if !verify_p2wsh_input(
        secp_ctx,
        commitment.transaction(),
        0,
        funding_redeemscript,
        channel_value_satoshis,
        &bitcoin::ecdsa::Signature::sighash_all(*holder_tx.counterparty_sig()),
        counterparty_funding_key,
    ) {
        return Err(CommitmentSignatureError::InvalidCommitmentSignature);
    }
    let sighash_type = commitment.format().countersignatory_htlc_sighash_type();
    let htlc_key = commitment.keys().countersignatory_htlc_key;
    for (i, sig) in holder_tx.counterparty_htlc_sigs().iter().enumerate() {
        let (htlc, script) =
            commitment.nondust_htlc(i).ok_or(CommitmentSignatureError::InvalidHtlcSignature(i))?;
        let htlc_tx =
            commitment.build_htlc_transaction(i).ok_or(CommitmentSignatureError::InvalidHtlcSignature(i))?;
        let sig = bitcoin::ecdsa::Signature { signature: *sig, sighash_type };
        if !verify_p2wsh_input(secp_ctx, &htlc_tx, 0, script, htlc.amount_sat(), &sig, &htlc_key) {
            return Err(CommitmentSignatureError::InvalidHtlcSignature(i));
        }
    }
    Ok(())
}
