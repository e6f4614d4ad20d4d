//! What the monitor puts on chain, and the seam for what it will.
//!
//! Today the monitor broadcasts one transaction: our latest commitment, fully
//! signed (our signature from the signer, the counterparty's from its
//! `commitment_signed`, the 2-of-2 funding witness). [`OnchainTxHandler`]
//! remembers that it did, so the monitor counts as closed, refuses
//! commitment updates, and can rebroadcast. It also rebroadcasts (never first
//! broadcasts: the manager does) the closing transaction of a cooperative
//! close it was told of, until the funding output is spent.
//!
//! A later issue grows this module into the claim engine (BOLT 5). What it
//! will take, all already kept by the monitor:
//! - justice transactions: a confirmed revoked counterparty commitment is
//!   recognised by txid ([`super::FundingSpendKind::RevokedCounterpartyCommitment`]);
//!   its secret comes from the shachain storage, its HTLC outputs from the
//!   revoked-commitment records; the signer has `sign_justice_revoked_output`
//!   and `sign_justice_revoked_htlc`;
//! - HTLC claims: on our commitment the HTLC transactions need the
//!   counterparty's HTLC signatures (kept with our commitments) and preimages;
//!   on theirs, `sign_counterparty_htlc_transaction` with their point (kept
//!   with their commitments); the HTLC sources say whom to tell
//!   ([`super::MonitorEvent::HTLCEvent`]);
//! - sweeps of our delayed outputs to the monitor's destination script;
//! - fee bumping: RBF of claims and CPFP of anchor commitments priced with
//!   the `FeeEstimator` every chain method already receives, and the outputs
//!   to watch that `block_connected` returns for a filtering chain source.

use bitcoin::{Transaction, Txid};

use super::state::MonitorState;
use super::{HolderBroadcastError, MonitorEvent};
use crate::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use crate::ln::chan_utils::signing::build_funding_witness;
use crate::sign::EcdsaChannelSigner;
use crate::util::logger::Logger;
use crate::{log_info, log_warn};

/// What the monitor has put on chain and still cares about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OnchainTxHandler {
    /// The number of our commitment we broadcast, if we did.
    holder_commitment_broadcast: Option<u64>,
}

impl OnchainTxHandler {
    /// A handler that has broadcast `holder_commitment_broadcast` (for
    /// deserialization).
    pub(crate) fn with_broadcast(holder_commitment_broadcast: Option<u64>) -> Self {
        OnchainTxHandler { holder_commitment_broadcast }
    }

    /// The number of our commitment we broadcast, if we did.
    pub(crate) fn holder_commitment_broadcast(&self) -> Option<u64> {
        self.holder_commitment_broadcast
    }
}

impl<Signer: EcdsaChannelSigner> MonitorState<Signer> {
    /// Our latest commitment, fully signed and ready to broadcast.
    pub(crate) fn signed_latest_holder_commitment(&mut self) -> Result<Transaction, HolderBroadcastError> {
        if self.signer.channel_parameters().is_none() {
            self.signer
                .provide_channel_parameters(&self.channel_parameters)
                .map_err(HolderBroadcastError::Signer)?;
        }
        let holder = self.holder_commitment.as_ref().ok_or(HolderBroadcastError::NoHolderCommitment)?;
        let holder_tx = holder
            .to_holder_commitment_transaction(&self.secp_ctx, &self.channel_parameters)
            .map_err(|_| HolderBroadcastError::Signer(crate::sign::SignError::InvalidInput))?;
        let our_sig = self.signer.sign_holder_commitment(&holder_tx).map_err(HolderBroadcastError::Signer)?;
        let params = &self.channel_parameters;
        let mut tx = holder_tx.commitment().transaction().clone();
        if let Some(input) = tx.input.first_mut() {
            input.witness = build_funding_witness(
                &our_sig,
                &params.holder().pubkeys.funding_pubkey,
                holder_tx.counterparty_sig(),
                &params.counterparty().pubkeys.funding_pubkey,
                &params.funding_redeemscript(),
            );
        }
        Ok(tx)
    }

    /// Signs and broadcasts our latest commitment; the first time, marks the
    /// monitor closed and queues [`MonitorEvent::HolderForceClosed`].
    pub(crate) fn broadcast_latest_holder_commitment(
        &mut self, broadcaster: &dyn BroadcasterInterface, fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> Result<Txid, HolderBroadcastError> {
        let tx = self.signed_latest_holder_commitment()?;
        let txid = tx.compute_txid();
        let (number, feerate_per_kw) = match &self.holder_commitment {
            Some(c) => (c.spec.commitment_number, c.spec.feerate_per_kw),
            None => return Err(HolderBroadcastError::NoHolderCommitment),
        };
        log_info!(logger, channel = Some(self.channel_id), "Broadcasting our commitment {number} ({txid})");
        broadcaster.broadcast_transactions(&[&tx]);
        let urgent = fee_estimator.get_est_sat_per_1000_weight(ConfirmationTarget::UrgentOnChainSweep);
        if feerate_per_kw < urgent {
            let remedy = if self.channel_parameters.commitment_format().has_anchors() {
                "it needs a CPFP through its anchor (claims come in a later version)"
            } else {
                "a non-anchor commitment cannot be bumped"
            };
            log_warn!(
                logger,
                channel = Some(self.channel_id),
                "Our commitment pays {feerate_per_kw} sat/kw, below the urgent estimate {urgent}: {remedy}"
            );
        }
        if self.onchain.holder_commitment_broadcast.is_none() {
            self.onchain.holder_commitment_broadcast = Some(number);
            self.pending_events.push(MonitorEvent::HolderForceClosed);
        }
        Ok(txid)
    }

    /// Rebroadcasts the cooperative closing transaction if the channel closed
    /// that way, and our commitment if we broadcast it, while nothing spent
    /// the funding output.
    pub(crate) fn rebroadcast_pending_claims(
        &mut self, broadcaster: &dyn BroadcasterInterface, _fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) {
        if self.funding_spend.is_some() {
            return;
        }
        if let Some(closing_tx) = &self.cooperative_closing_tx {
            log_info!(
                logger,
                channel = Some(self.channel_id),
                "Rebroadcasting the cooperative closing transaction {}",
                closing_tx.compute_txid()
            );
            broadcaster.broadcast_transactions(&[closing_tx]);
        }
        if self.onchain.holder_commitment_broadcast.is_none() {
            return;
        }
        match self.signed_latest_holder_commitment() {
            Ok(tx) => broadcaster.broadcast_transactions(&[&tx]),
            Err(e) => {
                log_warn!(logger, channel = Some(self.channel_id), "Cannot rebroadcast our commitment: {e}")
            }
        }
    }
}
