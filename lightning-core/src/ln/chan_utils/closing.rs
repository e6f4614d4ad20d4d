//! Mutual-close transactions (BOLT 3 "Legacy Closing Transaction" for
//! `closing_signed` and "Closing Transaction" for `option_simple_close`).

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use crate::prelude::*;

/// A closing transaction with no output left (both were dust or omitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoClosingOutput;

impl core::fmt::Display for NoClosingOutput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("closing transaction would have no output")
    }
}

/// An unsigned closing transaction spending the funding output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosingTransaction {
    to_holder_value_sat: u64,
    to_counterparty_value_sat: u64,
    tx: Transaction,
    txid: Txid,
}

impl ClosingTransaction {
    /// The legacy (`closing_signed`) closing transaction: locktime 0,
    /// sequence `0xFFFFFFFF`, each side's final balance (the funder's already
    /// reduced by `fee_satoshis`) to its shutdown script, outputs below
    /// `dust_limit_satoshis` (the signer's own) removed, BIP 69 order.
    pub fn new(
        to_holder_value_sat: u64, to_counterparty_value_sat: u64, to_holder_script: ScriptBuf,
        to_counterparty_script: ScriptBuf, funding_outpoint: OutPoint, dust_limit_satoshis: u64,
    ) -> Result<Self, NoClosingOutput> {
        let keep = |v: u64| if v >= dust_limit_satoshis && v > 0 { v } else { 0 };
        Self::assemble(
            keep(to_holder_value_sat),
            keep(to_counterparty_value_sat),
            to_holder_script,
            to_counterparty_script,
            funding_outpoint,
            LockTime::ZERO,
            Sequence::MAX,
        )
    }

    /// The `option_simple_close` transaction: `locktime` from
    /// `closing_complete`, sequence `0xFFFFFFFD`, BIP 69 order. An omitted
    /// output is `None`; an `OP_RETURN` script gets amount 0.
    pub fn new_simple_close(
        to_holder: Option<(u64, ScriptBuf)>, to_counterparty: Option<(u64, ScriptBuf)>,
        funding_outpoint: OutPoint, locktime: u32,
    ) -> Result<Self, NoClosingOutput> {
        let split = |o: Option<(u64, ScriptBuf)>| match o {
            Some((_, script)) if script.is_op_return() => (0, script, true),
            Some((v, script)) => (v, script, true),
            None => (0, ScriptBuf::new(), false),
        };
        let (holder_value, holder_script, holder_present) = split(to_holder);
        let (cp_value, cp_script, cp_present) = split(to_counterparty);
        let mut outputs = Vec::new();
        if holder_present {
            outputs.push(TxOut { value: Amount::from_sat(holder_value), script_pubkey: holder_script });
        }
        if cp_present {
            outputs.push(TxOut { value: Amount::from_sat(cp_value), script_pubkey: cp_script });
        }
        if outputs.is_empty() {
            return Err(NoClosingOutput);
        }
        Ok(Self::finish(
            holder_value,
            cp_value,
            outputs,
            funding_outpoint,
            LockTime::from_consensus(locktime),
            Sequence::ENABLE_RBF_NO_LOCKTIME,
        ))
    }

    fn assemble(
        to_holder_value_sat: u64, to_counterparty_value_sat: u64, to_holder_script: ScriptBuf,
        to_counterparty_script: ScriptBuf, funding_outpoint: OutPoint, lock_time: LockTime,
        sequence: Sequence,
    ) -> Result<Self, NoClosingOutput> {
        let mut outputs = Vec::with_capacity(2);
        if to_holder_value_sat > 0 {
            outputs.push(TxOut {
                value: Amount::from_sat(to_holder_value_sat),
                script_pubkey: to_holder_script,
            });
        }
        if to_counterparty_value_sat > 0 {
            outputs.push(TxOut {
                value: Amount::from_sat(to_counterparty_value_sat),
                script_pubkey: to_counterparty_script,
            });
        }
        if outputs.is_empty() {
            return Err(NoClosingOutput);
        }
        Ok(Self::finish(
            to_holder_value_sat,
            to_counterparty_value_sat,
            outputs,
            funding_outpoint,
            lock_time,
            sequence,
        ))
    }

    fn finish(
        to_holder_value_sat: u64, to_counterparty_value_sat: u64, mut outputs: Vec<TxOut>,
        funding_outpoint: OutPoint, lock_time: LockTime, sequence: Sequence,
    ) -> Self {
        sort_outputs_bip69(&mut outputs);
        let tx = Transaction {
            version: Version::TWO,
            lock_time,
            input: vec![TxIn {
                previous_output: funding_outpoint,
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output: outputs,
        };
        let txid = tx.compute_txid();
        ClosingTransaction { to_holder_value_sat, to_counterparty_value_sat, tx, txid }
    }

    /// Our output's value (0 if removed).
    pub fn to_holder_value_sat(&self) -> u64 {
        self.to_holder_value_sat
    }
    /// The counterparty's output value (0 if removed).
    pub fn to_counterparty_value_sat(&self) -> u64 {
        self.to_counterparty_value_sat
    }
    /// The unsigned transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }
    /// Its txid.
    pub fn txid(&self) -> Txid {
        self.txid
    }
}

/// Sorts outputs by value, then `script_pubkey` bytes (BIP 69).
pub fn sort_outputs_bip69(outputs: &mut [TxOut]) {
    outputs.sort_by(|a, b| a.value.cmp(&b.value).then_with(|| a.script_pubkey.cmp(&b.script_pubkey)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    fn script(b: u8) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([b; 20]))
    }

    #[test]
    fn legacy_closing_drops_dust_and_sorts() {
        let funding = OutPoint { txid: Txid::from_byte_array([1; 32]), vout: 3 };
        let c = ClosingTransaction::new(5000, 4000, script(2), script(1), funding, 546).unwrap();
        let tx = c.transaction();
        assert_eq!(
            (tx.lock_time, tx.input[0].sequence, tx.input[0].previous_output),
            (LockTime::ZERO, Sequence::MAX, funding)
        );
        assert_eq!(tx.output.iter().map(|o| o.value.to_sat()).collect::<Vec<_>>(), vec![4000, 5000]);
        // Same value: ordered by script.
        let c = ClosingTransaction::new(5000, 5000, script(2), script(1), funding, 546).unwrap();
        assert_eq!(c.transaction().output[0].script_pubkey, script(1));
        // Our dust output is removed, theirs kept.
        let c = ClosingTransaction::new(545, 9000, script(2), script(1), funding, 546).unwrap();
        assert_eq!(c.transaction().output.len(), 1);
        assert_eq!(c.to_holder_value_sat(), 0);
        assert_eq!(
            ClosingTransaction::new(500, 500, script(2), script(1), funding, 546),
            Err(NoClosingOutput)
        );
    }

    #[test]
    fn simple_close_zeroes_op_return_and_allows_omission() {
        let funding = OutPoint { txid: Txid::from_byte_array([1; 32]), vout: 0 };
        let op_return = ScriptBuf::new_op_return([0u8; 4]);
        let c = ClosingTransaction::new_simple_close(
            Some((7000, script(1))),
            Some((100, op_return.clone())),
            funding,
            800_000,
        )
        .unwrap();
        let tx = c.transaction();
        assert_eq!(tx.lock_time.to_consensus_u32(), 800_000);
        assert_eq!(tx.input[0].sequence, Sequence::ENABLE_RBF_NO_LOCKTIME);
        assert_eq!(tx.output[0].script_pubkey, op_return);
        assert_eq!(tx.output[0].value.to_sat(), 0);
        let c = ClosingTransaction::new_simple_close(None, Some((9000, script(3))), funding, 0).unwrap();
        assert_eq!(c.transaction().output.len(), 1);
        assert_eq!(ClosingTransaction::new_simple_close(None, None, funding, 0), Err(NoClosingOutput));
    }
}
