//! BOLT 3 output scripts: funding, `to_local`, `to_remote`, anchors, offered
//! and received HTLCs, and HTLC-transaction outputs.
//!
//! Functions named `*_redeemscript` return the witness script; the output's
//! `script_pubkey` is its P2WSH (`ScriptBuf::to_p2wsh`).

use bitcoin::blockdata::opcodes::all::*;
use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::{hash160, ripemd160, Hash};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{CompressedPublicKey, ScriptBuf, WPubkeyHash};

use super::keys::TxCreationKeys;
use super::CommitmentFormat;
use crate::ln::types::PaymentHash;

/// The 2-of-2 funding witness script `2 <pubkey1> <pubkey2> 2
/// OP_CHECKMULTISIG`, keys sorted lexicographically by their compressed form.
pub fn make_funding_redeemscript(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (a, b) = (a.serialize(), b.serialize());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    Builder::new()
        .push_opcode(OP_PUSHNUM_2)
        .push_slice(first)
        .push_slice(second)
        .push_opcode(OP_PUSHNUM_2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The P2WPKH `script_pubkey` paying to `key`.
pub fn p2wpkh_script(key: &PublicKey) -> ScriptBuf {
    let hash: WPubkeyHash = CompressedPublicKey(*key).wpubkey_hash();
    ScriptBuf::new_p2wpkh(&hash)
}

/// The revocable, CSV-delayed script of a `to_local` output, also the output of
/// HTLC-timeout and HTLC-success transactions: spendable by `revocation_key`
/// at once, or by `broadcaster_delayed_payment_key` after `contest_delay`
/// blocks.
pub fn get_revokeable_redeemscript(
    revocation_key: &PublicKey, contest_delay: u16, broadcaster_delayed_payment_key: &PublicKey,
) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_IF)
        .push_slice(revocation_key.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(contest_delay))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(broadcaster_delayed_payment_key.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The anchors `to_remote` witness script `<remotepubkey> OP_CHECKSIGVERIFY 1
/// OP_CHECKSEQUENCEVERIFY`.
pub fn get_to_countersignatory_with_anchors_redeemscript(payment_point: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(payment_point.serialize())
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_int(1)
        .push_opcode(OP_CSV)
        .into_script()
}

/// The `script_pubkey` of the `to_remote` output: P2WPKH to the
/// countersignatory's payment point (`option_static_remotekey`), or the P2WSH
/// of [`get_to_countersignatory_with_anchors_redeemscript`] with anchors.
pub fn to_countersignatory_script_pubkey(format: CommitmentFormat, payment_point: &PublicKey) -> ScriptBuf {
    match format {
        CommitmentFormat::StaticRemoteKey => p2wpkh_script(payment_point),
        CommitmentFormat::AnchorsZeroFeeHtlcTx => {
            get_to_countersignatory_with_anchors_redeemscript(payment_point).to_p2wsh()
        }
    }
}

/// The anchor witness script `<funding_pubkey> OP_CHECKSIG OP_IFDUP OP_NOTIF
/// OP_16 OP_CHECKSEQUENCEVERIFY OP_ENDIF`.
pub fn get_anchor_redeemscript(funding_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(funding_pubkey.serialize())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_IFDUP)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_PUSHNUM_16)
        .push_opcode(OP_CSV)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The witness script of an HTLC output offered by the broadcaster (its
/// HTLC-timeout path, the countersignatory's preimage path).
pub fn get_offered_htlc_redeemscript(
    payment_hash: &PaymentHash, format: CommitmentFormat, broadcaster_htlc_key: &PublicKey,
    countersignatory_htlc_key: &PublicKey, revocation_key: &PublicKey,
) -> ScriptBuf {
    let payment_hash160 = ripemd160::Hash::hash(&payment_hash.0).to_byte_array();
    let revocation_hash160 = hash160::Hash::hash(&revocation_key.serialize()).to_byte_array();
    let mut builder = Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(revocation_hash160)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(countersignatory_htlc_key.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(broadcaster_htlc_key.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160)
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF);
    if format.has_anchors() {
        builder = builder.push_int(1).push_opcode(OP_CSV).push_opcode(OP_DROP);
    }
    builder.push_opcode(OP_ENDIF).into_script()
}

/// The witness script of an HTLC output received by the broadcaster (its
/// HTLC-success path, the countersignatory's timeout path at `cltv_expiry`).
pub fn get_received_htlc_redeemscript(
    payment_hash: &PaymentHash, cltv_expiry: u32, format: CommitmentFormat, broadcaster_htlc_key: &PublicKey,
    countersignatory_htlc_key: &PublicKey, revocation_key: &PublicKey,
) -> ScriptBuf {
    let payment_hash160 = ripemd160::Hash::hash(&payment_hash.0).to_byte_array();
    let revocation_hash160 = hash160::Hash::hash(&revocation_key.serialize()).to_byte_array();
    let mut builder = Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(revocation_hash160)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(countersignatory_htlc_key.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160)
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(broadcaster_htlc_key.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF);
    if format.has_anchors() {
        builder = builder.push_int(1).push_opcode(OP_CSV).push_opcode(OP_DROP);
    }
    builder.push_opcode(OP_ENDIF).into_script()
}

/// The witness script of `htlc`'s output on the commitment built with `keys`.
pub fn get_htlc_redeemscript(
    htlc: &super::HTLCOutputInCommitment, format: CommitmentFormat, keys: &TxCreationKeys,
) -> ScriptBuf {
    match htlc.direction {
        super::HtlcDirection::Offered => get_offered_htlc_redeemscript(
            &htlc.payment_hash,
            format,
            &keys.broadcaster_htlc_key,
            &keys.countersignatory_htlc_key,
            &keys.revocation_key,
        ),
        super::HtlcDirection::Received => get_received_htlc_redeemscript(
            &htlc.payment_hash,
            htlc.cltv_expiry,
            format,
            &keys.broadcaster_htlc_key,
            &keys.countersignatory_htlc_key,
            &keys.revocation_key,
        ),
    }
}
