//! Following the chain: the best block, the transaction that spends the
//! funding output (and which commitment it is), and the HTLC deadlines that
//! make us go on chain before an HTLC can be lost.

use bitcoin::block::Header;
use bitcoin::{Transaction, Txid};

use super::state::{FundingSpend, FundingSpendKind, MonitorState};
use super::{MonitorEvent, TransactionOutputs, FULFILLED_HTLC_DEADLINE_BLOCKS, OFFERED_HTLC_GRACE_BLOCKS};
use crate::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use crate::chain::{BestBlock, TransactionData};
use crate::ln::chan_utils::{HTLCOutputInCommitment, HtlcDirection};
use crate::ln::types::PaymentHash;
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use crate::util::logger::Logger;
use crate::{log_error, log_info, log_warn};

/// An HTLC whose deadline forces us on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HtlcDeadline {
    pub(crate) payment_hash: PaymentHash,
    pub(crate) cltv_expiry: u32,
    /// We offered it (it must time out) rather than received it (we must
    /// claim it with its preimage).
    pub(crate) outbound: bool,
}

/// The commitment number a BOLT 3 commitment transaction carries in its
/// locktime and sequence, if `tx` is shaped like one (upper byte `0x20` in
/// the locktime, `0x80` in the sequence), XORed with `obscure_factor`.
fn decode_commitment_number(tx: &Transaction, obscure_factor: u64) -> Option<u64> {
    let lock_time = tx.lock_time.to_consensus_u32();
    let sequence = tx.input.first()?.sequence.0;
    if lock_time >> 24 != 0x20 || sequence >> 24 != 0x80 {
        return None;
    }
    let obscured = (u64::from(sequence & 0xff_ffff) << 24) | u64::from(lock_time & 0xff_ffff);
    Some(obscured ^ obscure_factor)
}

impl<Signer> MonitorState<Signer> {
    /// What `tx` (which spends the funding output) is.
    fn classify_funding_spend(&mut self, tx: &Transaction, txid: Txid) -> FundingSpendKind {
        for previous in [false, true] {
            if self.holder_txid(previous) == Some(txid) {
                let commitment =
                    if previous { &self.prev_holder_commitment } else { &self.holder_commitment };
                if let Some(c) = commitment {
                    return FundingSpendKind::HolderCommitment {
                        commitment_number: c.spec.commitment_number,
                        is_latest: !previous,
                    };
                }
            }
        }
        if let Some(c) = self.counterparty_commitments.get(&txid) {
            return FundingSpendKind::CounterpartyCommitment { commitment_number: c.spec.commitment_number };
        }
        if let Some(r) = self.revoked_counterparty_commitments.get(&txid) {
            return FundingSpendKind::RevokedCounterpartyCommitment {
                commitment_number: r.commitment_number,
            };
        }
        let factor = self.channel_parameters.as_holder_broadcastable().commitment_number_obscure_factor();
        match decode_commitment_number(tx, factor) {
            Some(commitment_number) => FundingSpendKind::UnknownCommitment { commitment_number },
            None => FundingSpendKind::NotACommitment,
        }
    }

    /// Records transactions of the block at `height` that spend the funding
    /// output; returns their outputs, to watch.
    pub(crate) fn transactions_confirmed(
        &mut self, header: &Header, txdata: &TransactionData, height: u32, logger: &dyn Logger,
    ) -> Vec<TransactionOutputs> {
        let funding = self.channel_parameters.funding_outpoint();
        let mut watch = Vec::new();
        for (_, tx) in txdata.iter() {
            if !tx.input.iter().any(|input| input.previous_output == funding) {
                continue;
            }
            let txid = tx.compute_txid();
            if self.funding_spend.as_ref().is_some_and(|s| s.txid == txid) {
                continue;
            }
            let kind = self.classify_funding_spend(tx, txid);
            if let Some(previous) = &self.funding_spend {
                log_error!(
                    logger,
                    channel = Some(self.channel_id),
                    "Funding output spent by {txid} while {} was confirmed; the chain source is inconsistent",
                    previous.txid
                );
            }
            log_info!(
                logger,
                channel = Some(self.channel_id),
                "Funding output spent by {txid} at height {height}: {kind:?}"
            );
            if let FundingSpendKind::RevokedCounterpartyCommitment { commitment_number } = kind {
                log_warn!(
                    logger,
                    channel = Some(self.channel_id),
                    "The counterparty broadcast its revoked commitment {commitment_number}"
                );
            }
            self.funding_spend = Some(FundingSpend { txid, height, block_hash: header.block_hash(), kind });
            self.funding_spend_seen = true;
            self.chain_sync_dirty = true;
            if kind.is_commitment() && !self.commitment_confirmed_reported {
                self.commitment_confirmed_reported = true;
                self.pending_events.push(MonitorEvent::CommitmentTxConfirmed);
            }
            let outputs = tx
                .output
                .iter()
                .enumerate()
                .filter_map(|(i, o)| u32::try_from(i).ok().map(|i| (i, o.clone())))
                .collect();
            watch.push((txid, outputs));
        }
        watch
    }

    /// Forgets the funding spend if it is `txid`.
    pub(crate) fn transaction_unconfirmed(&mut self, txid: &Txid, logger: &dyn Logger) {
        if self.funding_spend.as_ref().is_some_and(|s| s.txid == *txid) {
            log_warn!(
                logger,
                channel = Some(self.channel_id),
                "Funding spend {txid} was reorganised out of the chain"
            );
            self.funding_spend = None;
            self.chain_sync_dirty = true;
        }
    }

    /// The block at `height` left the chain.
    pub(crate) fn block_disconnected(&mut self, header: &Header, height: u32, logger: &dyn Logger) {
        self.best_block = BestBlock::new(header.prev_blockhash, height.saturating_sub(1));
        if let Some(txid) = self.funding_spend.as_ref().filter(|s| s.height >= height).map(|s| s.txid) {
            self.transaction_unconfirmed(&txid, logger);
        }
    }

    /// The first HTLC (if any) whose deadline is reached at `height`, looking
    /// at our latest commitment and every unrevoked counterparty commitment
    /// (BOLT 2: "in either node's current commitment transaction"), trimmed
    /// HTLCs included (they must be failed back or claimed all the same).
    pub(crate) fn htlc_deadline_reached(&self, height: u32) -> Option<HtlcDeadline> {
        let check = |htlc: &HTLCOutputInCommitment, outbound: bool| -> Option<HtlcDeadline> {
            let reached = if outbound {
                height >= htlc.cltv_expiry.saturating_add(OFFERED_HTLC_GRACE_BLOCKS)
            } else {
                self.payment_preimages.contains_key(&htlc.payment_hash)
                    && height.saturating_add(FULFILLED_HTLC_DEADLINE_BLOCKS) >= htlc.cltv_expiry
            };
            reached.then_some(HtlcDeadline {
                payment_hash: htlc.payment_hash,
                cltv_expiry: htlc.cltv_expiry,
                outbound,
            })
        };
        let holder = self.holder_commitment.iter().flat_map(|c| c.spec.htlcs.iter());
        // On our commitment, HTLCs it offers are ours.
        for htlc in holder {
            if let Some(d) = check(htlc, htlc.direction == HtlcDirection::Offered) {
                return Some(d);
            }
        }
        // On theirs, HTLCs it receives are ours.
        for htlc in self.counterparty_commitments.values().flat_map(|c| c.spec.htlcs.iter()) {
            if let Some(d) = check(htlc, htlc.direction == HtlcDirection::Received) {
                return Some(d);
            }
        }
        None
    }
}

impl<Signer: EcdsaChannelSigner> MonitorState<Signer> {
    /// The best block is now `header` at `height`; goes on chain if an HTLC
    /// deadline is reached.
    pub(crate) fn best_block_updated(
        &mut self, header: &Header, height: u32, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) {
        self.best_block = BestBlock::new(header.block_hash(), height);
        if let Some(txid) = self.funding_spend.as_ref().filter(|s| s.height > height).map(|s| s.txid) {
            self.transaction_unconfirmed(&txid, logger);
        }
        if self.is_closed() || !self.automatic_broadcast_allowed {
            return;
        }
        let Some(deadline) = self.htlc_deadline_reached(height) else { return };
        log_info!(
            logger,
            channel = Some(self.channel_id),
            "HTLC {} ({}, expiry {}) reached its deadline at height {height}: going on chain",
            deadline.payment_hash,
            if deadline.outbound { "offered" } else { "received, preimage known" },
            deadline.cltv_expiry
        );
        match self.broadcast_latest_holder_commitment(broadcaster, fee_estimator, logger) {
            Ok(_) => self.chain_sync_dirty = true,
            Err(e) => log_error!(
                logger,
                channel = Some(self.channel_id),
                "Cannot broadcast our commitment for an expiring HTLC: {e}"
            ),
        }
    }
}
