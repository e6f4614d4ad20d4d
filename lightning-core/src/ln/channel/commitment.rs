//! Signing and revoking commitments (BOLT 2 "Committing Updates So Far" and
//! "Completing the Transition to the Updated State"). Each step returns the
//! `ChannelMonitorUpdate` the monitor must have before the message that
//! depends on it leaves.

use super::state::{AddHtlc, LocalCommit, RemoteCommit, RemoteNextCommitInfo, Update};
use super::{close, signer_error, ChannelError, ChannelState, FundedChannel};
use crate::chain::channelmonitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCSource};
use crate::ln::chan_utils::{CommitmentTransaction, HTLCOutputInCommitment, HolderCommitmentTransaction};
use crate::ln::msgs::{CommitmentSigned, RevokeAndACK};
use crate::ln::types::{PaymentHash, PaymentPreimage};
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};

/// How the counterparty failed one of our HTLCs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingFailure {
    /// `update_fail_htlc` with this encrypted reason.
    Reason(Vec<u8>),
    /// `update_fail_malformed_htlc`.
    Malformed {
        /// The `BADONION` code.
        failure_code: u16,
        /// SHA-256 of the onion the peer received.
        sha256_of_onion: [u8; 32],
    },
}

/// One of our HTLCs, failed by the counterparty and now irrevocably removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedOutgoingHtlc {
    /// Where the HTLC came from.
    pub source: HTLCSource,
    /// Its hash.
    pub payment_hash: PaymentHash,
    /// Its amount.
    pub amount_msat: u64,
    /// How it failed.
    pub failure: OutgoingFailure,
}

/// What the counterparty's `revoke_and_ack` settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationOutcome {
    /// The counterparty's HTLCs now irrevocably committed on both sides:
    /// to receive or forward.
    pub committed_incoming: Vec<AddHtlc>,
    /// Ids of the HTLCs of `committed_incoming` that break our dust
    /// exposure limit: to fail back with `temporary_channel_failure`
    /// (see [`super::dust`]).
    pub over_dust_limit: Vec<u64>,
    /// Our HTLCs the counterparty failed, now irrevocably removed.
    pub failed_outgoing: Vec<FailedOutgoingHtlc>,
    /// Our HTLCs the counterparty fulfilled, now irrevocably removed.
    pub fulfilled_outgoing: Vec<(HTLCSource, PaymentPreimage)>,
    /// The monitor update with the revocation secret.
    pub monitor_update: ChannelMonitorUpdate,
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// The sources of our HTLCs in a built commitment, for the monitor.
    fn htlc_sources(
        &self, tx: &CommitmentTransaction, contents: &super::state::CommitmentContents,
    ) -> Vec<(HTLCOutputInCommitment, HTLCSource)> {
        tx.htlcs()
            .iter()
            .zip(&contents.htlcs)
            .filter(|(_, h)| h.outgoing)
            .filter_map(|(out, h)| Some((*out, self.commitments.origins.get(&h.htlc_id)?.clone())))
            .collect()
    }

    /// Whether we can sign a new commitment for the counterparty now.
    pub fn can_send_commitment(&self) -> bool {
        self.peer_connected
            && self.state != ChannelState::Closed
            && matches!(self.commitments.remote_next, RemoteNextCommitInfo::NextPoint(_))
            && self.commitments.local_has_changes()
    }

    /// Signs the counterparty's next commitment if there is something to
    /// sign and we are not waiting for its revocation. Returns the
    /// `commitment_signed` and the monitor update to persist first.
    pub fn send_commitment(
        &mut self,
    ) -> Result<Option<(CommitmentSigned, ChannelMonitorUpdate)>, ChannelError> {
        if !self.can_send_commitment() {
            return Ok(None);
        }
        let RemoteNextCommitInfo::NextPoint(point) = self.commitments.remote_next else { return Ok(None) };
        let c = &self.commitments;
        let contents = c
            .remote_commit
            .contents
            .reduce(c.local_changes.proposed.iter(), c.remote_changes.acked.iter())
            .map_err(|e| ChannelError::Close(format!("cannot build the counterparty's commitment: {e:?}")))?;
        let index = c.remote_commit.index + 1;
        let tx = self.build_counterparty_commitment(&contents, index, &point)?;
        let (signature, htlc_signatures) =
            self.signer.sign_counterparty_commitment(&tx).map_err(signer_error)?;
        let htlc_sources = self.htlc_sources(&tx, &contents);
        let spec = contents.to_spec(index, false, self.counterparty_params.dust_limit_satoshis);
        let txid = tx.txid();
        let c = &mut self.commitments;
        let proposed = core::mem::take(&mut c.local_changes.proposed);
        c.local_changes.signed.extend(proposed);
        let acked = core::mem::take(&mut c.remote_changes.acked);
        c.remote_changes.signed.extend(acked);
        c.remote_next = RemoteNextCommitInfo::WaitingForRevocation {
            next: RemoteCommit { index, contents, txid, per_commitment_point: point },
            sent_after_local_commit_index: c.local_commit.index,
        };
        let monitor_update =
            self.next_monitor_update(vec![ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                commitment_txid: txid,
                spec,
                their_per_commitment_point: point,
                htlc_sources,
            }]);
        let msg =
            CommitmentSigned { channel_id: self.channel_id, signature, htlc_signatures, funding_txid: None };
        Ok(Some((msg, monitor_update)))
    }

    /// Re-signs the counterparty commitment we are waiting to be revoked
    /// into (for retransmission: the signature is deterministic).
    pub(crate) fn resign_pending_commitment(&mut self) -> Result<CommitmentSigned, ChannelError> {
        let RemoteNextCommitInfo::WaitingForRevocation { next, .. } = &self.commitments.remote_next else {
            return close("no commitment to retransmit");
        };
        let next = next.clone();
        let tx =
            self.build_counterparty_commitment(&next.contents, next.index, &next.per_commitment_point)?;
        let (signature, htlc_signatures) =
            self.signer.sign_counterparty_commitment(&tx).map_err(signer_error)?;
        Ok(CommitmentSigned { channel_id: self.channel_id, signature, htlc_signatures, funding_txid: None })
    }

    /// Handles `commitment_signed`: checks the signatures on our next
    /// commitment (through the signer), revokes the previous one and
    /// returns the `revoke_and_ack` with the monitor update to persist
    /// before it is sent.
    ///
    /// A `commitment_signed` covering no update is accepted too: BOLT 2 only
    /// forbids sending one ("MUST NOT send a `commitment_signed` message that
    /// does not include any updates") and has the receiver "MUST respond
    /// with a `revoke_and_ack`". Its monitor write is still needed: the
    /// commitment number moves on and the previous commitment is revoked,
    /// so the monitor must hold the new one before we reveal the old secret.
    pub fn commitment_signed(
        &mut self, msg: &CommitmentSigned,
    ) -> Result<(RevokeAndACK, ChannelMonitorUpdate), ChannelError> {
        if matches!(
            self.state,
            ChannelState::AwaitingChannelReady | ChannelState::Closed | ChannelState::Negotiating
        ) {
            return close("commitment_signed in the wrong state");
        }
        if !self.peer_connected {
            return close("commitment_signed before channel_reestablish");
        }
        let c = &self.commitments;
        let contents = c
            .local_commit
            .contents
            .reduce(c.local_changes.acked.iter(), c.remote_changes.proposed.iter())
            .map_err(|e| ChannelError::Close(format!("cannot build our next commitment: {e:?}")))?;
        if !self.is_outbound
            && contents.to_remote_msat < self.commit_fee_sat(&contents, true, 0).saturating_mul(1000)
        {
            return close("the funder cannot pay our next commitment's fee");
        }
        let index = c.local_commit.index + 1;
        let tx = self.build_holder_commitment(&contents, index)?;
        let point = tx.keys().per_commitment_point;
        let htlc_sources = self.htlc_sources(&tx, &contents);
        let holder = HolderCommitmentTransaction::new(tx, msg.signature, msg.htlc_signatures.clone())
            .map_err(|e| ChannelError::Close(format!("commitment_signed: {e}")))?;
        self.signer
            .validate_holder_commitment(&holder)
            .map_err(|e| ChannelError::Close(format!("commitment_signed refused: {e}")))?;
        let previous = self.commitments.local_commit.index;
        let per_commitment_secret = self.signer.release_commitment_secret(previous).map_err(signer_error)?;
        let next_per_commitment_point =
            self.signer.get_per_commitment_point(index + 1).map_err(signer_error)?;
        let spec = contents.to_spec(index, true, self.holder_params.dust_limit_satoshis);
        let c = &mut self.commitments;
        c.local_commit = LocalCommit {
            index,
            contents,
            counterparty_sig: msg.signature,
            counterparty_htlc_sigs: msg.htlc_signatures.clone(),
        };
        let proposed = core::mem::take(&mut c.remote_changes.proposed);
        c.remote_changes.acked.extend(proposed);
        c.local_changes.acked.clear();
        let monitor_update =
            self.next_monitor_update(vec![ChannelMonitorUpdateStep::LatestHolderCommitment {
                spec,
                per_commitment_point: point,
                counterparty_sig: msg.signature,
                counterparty_htlc_sigs: msg.htlc_signatures.clone(),
                htlc_sources,
            }]);
        Ok((
            RevokeAndACK { channel_id: self.channel_id, per_commitment_secret, next_per_commitment_point },
            monitor_update,
        ))
    }

    /// Our `revoke_and_ack` of our previous commitment, again (for
    /// retransmission).
    pub(crate) fn get_last_revoke_and_ack(&mut self) -> Result<RevokeAndACK, ChannelError> {
        let index = self.commitments.local_commit.index;
        let previous =
            index.checked_sub(1).ok_or(ChannelError::Close("no revocation to retransmit".into()))?;
        let per_commitment_secret = self.signer.release_commitment_secret(previous).map_err(signer_error)?;
        let next_per_commitment_point =
            self.signer.get_per_commitment_point(index + 1).map_err(signer_error)?;
        Ok(RevokeAndACK { channel_id: self.channel_id, per_commitment_secret, next_per_commitment_point })
    }

    /// Handles `revoke_and_ack`: checks the secret against the revoked
    /// commitment's point and the shachain, then settles what became
    /// irrevocable.
    pub fn revoke_and_ack(
        &mut self, secp_ctx: &Secp256k1<All>, msg: &RevokeAndACK,
    ) -> Result<RevocationOutcome, ChannelError> {
        if !self.peer_connected {
            return close("revoke_and_ack before channel_reestablish");
        }
        let RemoteNextCommitInfo::WaitingForRevocation { next, .. } = &self.commitments.remote_next else {
            return close("revoke_and_ack while no commitment is awaiting revocation");
        };
        let next = next.clone();
        let secret = SecretKey::from_slice(&msg.per_commitment_secret)
            .map_err(|_| ChannelError::Close("revoke_and_ack secret is not a valid key".into()))?;
        let revoked = &self.commitments.remote_commit;
        if PublicKey::from_secret_key(secp_ctx, &secret) != revoked.per_commitment_point {
            return close("revoke_and_ack secret does not match the revoked commitment's point");
        }
        self.signer
            .validate_counterparty_revocation(revoked.index, &secret)
            .map_err(|e| ChannelError::Close(format!("revoke_and_ack refused: {e}")))?;
        self.last_counterparty_secret = msg.per_commitment_secret;
        let c = &mut self.commitments;
        let old = core::mem::replace(&mut c.remote_commit, next);
        c.remote_next = RemoteNextCommitInfo::NextPoint(msg.next_per_commitment_point);
        let signed = core::mem::take(&mut c.local_changes.signed);
        c.local_changes.acked.extend(signed);
        let completed = core::mem::take(&mut c.remote_changes.signed);
        let mut committed_incoming = Vec::new();
        let mut failed_outgoing = Vec::new();
        let mut fulfilled_outgoing = Vec::new();
        for update in completed {
            let (htlc_id, failure) = match update {
                Update::Add(add) => {
                    committed_incoming.push(add);
                    continue;
                }
                Update::Fee { .. } => continue,
                Update::Fulfill { htlc_id, payment_preimage } => {
                    if let Some(source) = c.origins.remove(&htlc_id) {
                        fulfilled_outgoing.push((source, payment_preimage));
                    }
                    continue;
                }
                Update::Fail { htlc_id, reason } => (htlc_id, OutgoingFailure::Reason(reason)),
                Update::FailMalformed { htlc_id, sha256_of_onion, failure_code } => {
                    (htlc_id, OutgoingFailure::Malformed { failure_code, sha256_of_onion })
                }
            };
            let htlc = old.contents.htlcs.iter().find(|h| h.outgoing && h.htlc_id == htlc_id);
            if let (Some(htlc), Some(source)) = (htlc, c.origins.remove(&htlc_id)) {
                failed_outgoing.push(FailedOutgoingHtlc {
                    source,
                    payment_hash: htlc.payment_hash,
                    amount_msat: htlc.amount_msat,
                    failure,
                });
            }
        }
        let over_dust_limit = self.incoming_over_dust_limit(&committed_incoming);
        let monitor_update = self.next_monitor_update(vec![ChannelMonitorUpdateStep::CommitmentSecret {
            commitment_number: old.index,
            secret: msg.per_commitment_secret,
        }]);
        Ok(RevocationOutcome {
            committed_incoming,
            over_dust_limit,
            failed_outgoing,
            fulfilled_outgoing,
            monitor_update,
        })
    }
}
