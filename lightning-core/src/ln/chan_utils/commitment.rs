//! Commitment transaction construction (BOLT 3 "Commitment Transaction
//! Construction"): obscured commitment number, fee from the expected weight,
//! HTLC trimming, the funder paying fee and anchors, and BIP 69 + CLTV output
//! order.

use core::cmp::Ordering;

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::htlc_tx::build_htlc_transaction;
use super::keys::TxCreationKeys;
use super::scripts::{
    get_anchor_redeemscript, get_htlc_redeemscript, get_revokeable_redeemscript,
    to_countersignatory_script_pubkey,
};
use super::{
    commit_tx_fee_sat, CommitmentFormat, DirectedChannelTransactionParameters, HTLCOutputInCommitment,
    ANCHOR_OUTPUT_VALUE_SATOSHI,
};
use crate::prelude::*;

/// What one commitment transaction commits to, before fees: the inputs to
/// [`CommitmentTransaction::build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentSpec {
    /// The commitment number, counting up from 0 (as in
    /// `channel_reestablish`). Only its lower 48 bits are encoded.
    pub commitment_number: u64,
    /// The broadcaster's balance, excluding in-flight HTLCs and before the
    /// fee and anchors are taken from the funder.
    pub to_broadcaster_value_msat: u64,
    /// The countersignatory's balance, likewise.
    pub to_countersignatory_value_msat: u64,
    /// The feerate the fee and HTLC trimming are computed at.
    pub feerate_per_kw: u32,
    /// The broadcaster's `dust_limit_satoshis`.
    pub broadcaster_dust_limit_satoshis: u64,
    /// Every HTLC in flight, in any order (`transaction_output_index` is
    /// ignored and filled in by the build).
    pub htlcs: Vec<HTLCOutputInCommitment>,
}

/// A built, unsigned commitment transaction with what it was built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentTransaction {
    commitment_number: u64,
    to_broadcaster_value_sat: u64,
    to_countersignatory_value_sat: u64,
    feerate_per_kw: u32,
    base_fee_sat: u64,
    htlcs: Vec<HTLCOutputInCommitment>,
    nondust_htlc_order: Vec<usize>,
    htlc_redeemscripts: Vec<ScriptBuf>,
    keys: TxCreationKeys,
    format: CommitmentFormat,
    contest_delay: u16,
    tx: Transaction,
    txid: Txid,
}

/// Which output an entry of the unsorted output list is.
#[derive(Clone, Copy)]
enum OutputKind {
    Other,
    Htlc { htlc_index: usize, cltv_expiry: u32 },
}

impl CommitmentTransaction {
    /// Builds the commitment transaction `params`'s broadcaster would publish
    /// for `spec`, with `keys` derived from its per-commitment point.
    ///
    /// The funder's output pays the base fee (and, with anchors, both
    /// anchors); if it cannot, it is simply left out (the fee takes all of
    /// it), as BOLT 3 prescribes. Affordability is the channel's job.
    pub fn build(
        spec: CommitmentSpec, keys: TxCreationKeys, params: &DirectedChannelTransactionParameters,
    ) -> Self {
        let format = params.commitment_format();
        let CommitmentSpec {
            commitment_number,
            to_broadcaster_value_msat,
            to_countersignatory_value_msat,
            feerate_per_kw,
            broadcaster_dust_limit_satoshis,
            mut htlcs,
        } = spec;

        // 1. Trim HTLCs and compute the base fee.
        let mut untrimmed = 0usize;
        for htlc in htlcs.iter_mut() {
            htlc.transaction_output_index = None;
            if !htlc.is_trimmed(feerate_per_kw, broadcaster_dust_limit_satoshis, format) {
                untrimmed += 1;
            }
        }
        let base_fee_sat = commit_tx_fee_sat(feerate_per_kw, untrimmed, format);
        let anchors_sat = if format.has_anchors() { 2 * ANCHOR_OUTPUT_VALUE_SATOSHI } else { 0 };

        // 2. The funder pays fee and anchors.
        let mut to_broadcaster_sat = to_broadcaster_value_msat / 1000;
        let mut to_countersignatory_sat = to_countersignatory_value_msat / 1000;
        let funder_sat = if params.broadcaster_is_funder() {
            &mut to_broadcaster_sat
        } else {
            &mut to_countersignatory_sat
        };
        *funder_sat = funder_sat.saturating_sub(base_fee_sat).saturating_sub(anchors_sat);
        if to_broadcaster_sat < broadcaster_dust_limit_satoshis {
            to_broadcaster_sat = 0;
        }
        if to_countersignatory_sat < broadcaster_dust_limit_satoshis {
            to_countersignatory_sat = 0;
        }

        // 3. Outputs.
        let broadcaster = params.broadcaster_pubkeys();
        let countersignatory = params.countersignatory_pubkeys();
        let contest_delay = params.contest_delay();
        let mut outputs: Vec<(TxOut, OutputKind)> = Vec::with_capacity(untrimmed + 4);
        let mut redeemscripts: Vec<Option<ScriptBuf>> = vec![None; htlcs.len()];
        for (htlc_index, htlc) in htlcs.iter().enumerate() {
            if htlc.is_trimmed(feerate_per_kw, broadcaster_dust_limit_satoshis, format) {
                continue;
            }
            let script = get_htlc_redeemscript(htlc, format, &keys);
            outputs.push((
                TxOut { value: Amount::from_sat(htlc.amount_sat()), script_pubkey: script.to_p2wsh() },
                OutputKind::Htlc { htlc_index, cltv_expiry: htlc.cltv_expiry },
            ));
            redeemscripts[htlc_index] = Some(script);
        }
        if to_broadcaster_sat > 0 {
            let script = get_revokeable_redeemscript(
                &keys.revocation_key,
                contest_delay,
                &keys.broadcaster_delayed_payment_key,
            );
            outputs.push((
                TxOut { value: Amount::from_sat(to_broadcaster_sat), script_pubkey: script.to_p2wsh() },
                OutputKind::Other,
            ));
        }
        if to_countersignatory_sat > 0 {
            outputs.push((
                TxOut {
                    value: Amount::from_sat(to_countersignatory_sat),
                    script_pubkey: to_countersignatory_script_pubkey(format, &countersignatory.payment_point),
                },
                OutputKind::Other,
            ));
        }
        if format.has_anchors() {
            let anchor = Amount::from_sat(ANCHOR_OUTPUT_VALUE_SATOSHI);
            if to_broadcaster_sat > 0 || untrimmed > 0 {
                let script_pubkey = get_anchor_redeemscript(&broadcaster.funding_pubkey).to_p2wsh();
                outputs.push((TxOut { value: anchor, script_pubkey }, OutputKind::Other));
            }
            if to_countersignatory_sat > 0 || untrimmed > 0 {
                let script_pubkey = get_anchor_redeemscript(&countersignatory.funding_pubkey).to_p2wsh();
                outputs.push((TxOut { value: anchor, script_pubkey }, OutputKind::Other));
            }
        }

        // 4. BIP 69 order, then CLTV for identical HTLC outputs.
        outputs.sort_by(|(a, ak), (b, bk)| {
            a.value.cmp(&b.value).then_with(|| a.script_pubkey.cmp(&b.script_pubkey)).then_with(|| {
                match (ak, bk) {
                    (OutputKind::Htlc { cltv_expiry: x, .. }, OutputKind::Htlc { cltv_expiry: y, .. }) => {
                        x.cmp(y)
                    }
                    _ => Ordering::Equal,
                }
            })
        });

        let mut nondust_htlc_order = Vec::with_capacity(untrimmed);
        let mut htlc_redeemscripts = Vec::with_capacity(untrimmed);
        let mut txouts = Vec::with_capacity(outputs.len());
        for (output_index, (txout, kind)) in outputs.into_iter().enumerate() {
            if let OutputKind::Htlc { htlc_index, .. } = kind {
                // At most 2^32 outputs exist in any transaction we can hold.
                htlcs[htlc_index].transaction_output_index = u32::try_from(output_index).ok();
                nondust_htlc_order.push(htlc_index);
                htlc_redeemscripts.push(redeemscripts[htlc_index].take().unwrap_or_default());
            }
            txouts.push(txout);
        }

        // 5. Obscured commitment number in locktime and sequence.
        let obscured = (commitment_number ^ params.commitment_number_obscure_factor()) & 0xffff_ffff_ffff;
        let lock_time = LockTime::from_consensus((0x20 << 24) | (obscured & 0xff_ffff) as u32);
        let sequence = Sequence((0x80 << 24) | ((obscured >> 24) & 0xff_ffff) as u32);
        let tx = Transaction {
            version: Version::TWO,
            lock_time,
            input: vec![TxIn {
                previous_output: params.funding_outpoint(),
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output: txouts,
        };
        let txid = tx.compute_txid();
        CommitmentTransaction {
            commitment_number,
            to_broadcaster_value_sat: to_broadcaster_sat,
            to_countersignatory_value_sat: to_countersignatory_sat,
            feerate_per_kw,
            base_fee_sat,
            htlcs,
            nondust_htlc_order,
            htlc_redeemscripts,
            keys,
            format,
            contest_delay,
            tx,
            txid,
        }
    }

    /// The commitment number.
    pub fn commitment_number(&self) -> u64 {
        self.commitment_number
    }
    /// The broadcaster's output value (0 if it has no output).
    pub fn to_broadcaster_value_sat(&self) -> u64 {
        self.to_broadcaster_value_sat
    }
    /// The countersignatory's output value (0 if it has no output).
    pub fn to_countersignatory_value_sat(&self) -> u64 {
        self.to_countersignatory_value_sat
    }
    /// The feerate the transaction was built at.
    pub fn feerate_per_kw(&self) -> u32 {
        self.feerate_per_kw
    }
    /// The base fee the funder paid (trimmed outputs add to the actual fee).
    pub fn base_fee_sat(&self) -> u64 {
        self.base_fee_sat
    }
    /// Every HTLC in the order given to [`Self::build`], with
    /// `transaction_output_index` set for untrimmed ones.
    pub fn htlcs(&self) -> &[HTLCOutputInCommitment] {
        &self.htlcs
    }
    /// The untrimmed HTLCs in output order: the order of `htlc_signatures`
    /// in `commitment_signed` and of the HTLC transactions.
    pub fn nondust_htlcs(&self) -> impl ExactSizeIterator<Item = &HTLCOutputInCommitment> + '_ {
        self.nondust_htlc_order.iter().map(move |&i| &self.htlcs[i])
    }
    /// The number of HTLC outputs.
    pub fn nondust_htlc_count(&self) -> usize {
        self.nondust_htlc_order.len()
    }
    /// The `i`-th untrimmed HTLC in output order and its witness script.
    pub fn nondust_htlc(&self, i: usize) -> Option<(&HTLCOutputInCommitment, &ScriptBuf)> {
        let htlc = &self.htlcs[*self.nondust_htlc_order.get(i)?];
        Some((htlc, self.htlc_redeemscripts.get(i)?))
    }
    /// The keys the transaction was built with.
    pub fn keys(&self) -> &TxCreationKeys {
        &self.keys
    }
    /// The commitment format.
    pub fn format(&self) -> CommitmentFormat {
        self.format
    }
    /// The CSV delay of the broadcaster's outputs.
    pub fn contest_delay(&self) -> u16 {
        self.contest_delay
    }
    /// The unsigned transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }
    /// Its txid (witness data does not change it).
    pub fn txid(&self) -> Txid {
        self.txid
    }

    /// The unsigned HTLC-timeout or HTLC-success transaction of the `i`-th
    /// untrimmed HTLC (output order).
    pub fn build_htlc_transaction(&self, i: usize) -> Option<Transaction> {
        let (htlc, _) = self.nondust_htlc(i)?;
        let vout = htlc.transaction_output_index?;
        Some(build_htlc_transaction(
            OutPoint { txid: self.txid, vout },
            self.feerate_per_kw,
            self.contest_delay,
            htlc,
            self.format,
            &self.keys.broadcaster_delayed_payment_key,
            &self.keys.revocation_key,
        ))
    }
}

/// Why the counterparty's signatures on our commitment were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentSignatureError {
    /// The signature on the commitment transaction is not valid.
    InvalidCommitmentSignature,
    /// The signature on the HTLC transaction at this index (output order) is
    /// not valid.
    InvalidHtlcSignature(usize),
    /// The number of HTLC signatures differs from the number of HTLC outputs.
    WrongHtlcSignatureCount {
        /// HTLC outputs in the transaction.
        expected: usize,
        /// Signatures received.
        got: usize,
    },
}

impl core::fmt::Display for CommitmentSignatureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommitmentSignatureError::InvalidCommitmentSignature => {
                f.write_str("invalid commitment signature")
            }
            CommitmentSignatureError::InvalidHtlcSignature(i) => {
                write!(f, "invalid signature for HTLC output {i}")
            }
            CommitmentSignatureError::WrongHtlcSignatureCount { expected, got } => {
                write!(f, "expected {expected} HTLC signatures, got {got}")
            }
        }
    }
}

/// Our commitment transaction with the counterparty's signatures on it and on
/// its HTLC transactions: what we can broadcast (after adding our own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCommitmentTransaction {
    inner: CommitmentTransaction,
    counterparty_sig: Signature,
    counterparty_htlc_sigs: Vec<Signature>,
}

impl HolderCommitmentTransaction {
    /// Pairs a commitment with the counterparty's signatures (one per HTLC
    /// output, in output order). This only checks the count; the signatures
    /// themselves are checked by [`super::signing::verify_holder_commitment_signatures`]
    /// (which the signer runs in `validate_holder_commitment`).
    pub fn new(
        inner: CommitmentTransaction, counterparty_sig: Signature, counterparty_htlc_sigs: Vec<Signature>,
    ) -> Result<Self, CommitmentSignatureError> {
        if counterparty_htlc_sigs.len() != inner.nondust_htlc_count() {
            return Err(CommitmentSignatureError::WrongHtlcSignatureCount {
                expected: inner.nondust_htlc_count(),
                got: counterparty_htlc_sigs.len(),
            });
        }
        Ok(HolderCommitmentTransaction { inner, counterparty_sig, counterparty_htlc_sigs })
    }

    /// The commitment transaction.
    pub fn commitment(&self) -> &CommitmentTransaction {
        &self.inner
    }
    /// The counterparty's signature on the commitment transaction.
    pub fn counterparty_sig(&self) -> &Signature {
        &self.counterparty_sig
    }
    /// The counterparty's HTLC-transaction signatures, in output order.
    pub fn counterparty_htlc_sigs(&self) -> &[Signature] {
        &self.counterparty_htlc_sigs
    }
}
