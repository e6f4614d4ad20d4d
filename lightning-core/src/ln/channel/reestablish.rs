//! Disconnection and `channel_reestablish` (BOLT 2 "Message
//! Retransmission").
//!
//! On disconnection both sides forget the updates not yet covered by a
//! `commitment_signed`; ours go to the holding cell and are proposed again
//! once the channel is reestablished (with the same HTLC ids, so their
//! origins stay valid). On `channel_reestablish` we compare the peer's
//! `next_commitment_number` / `next_revocation_number` with our state and
//! retransmit, in the order we first sent them, the `revoke_and_ack` and the
//! updates + `commitment_signed` it missed. A peer that proves (with
//! `your_last_per_commitment_secret`, option_data_loss_protect) that we are
//! behind makes us stop without broadcasting our stale commitment.

use super::state::{RemoteNextCommitInfo, Update};
use super::{close, signer_error, ChannelError, ChannelState, FundedChannel};
use crate::chain::channelmonitor::HTLCSource;
use crate::ln::chan_utils::per_commitment_point_from_secret;
use crate::ln::msgs::{ChannelReady, ChannelReestablish, CommitmentUpdate, RevokeAndACK, Shutdown};
use crate::ln::types::PaymentHash;
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use bitcoin::secp256k1::{All, Secp256k1};

/// In which order to send the retransmitted `revoke_and_ack` and
/// `commitment_signed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetransmitOrder {
    /// `revoke_and_ack` first.
    RevokeAndACKFirst,
    /// Updates and `commitment_signed` first.
    CommitmentFirst,
}

/// What to send after the peer's `channel_reestablish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReestablishResponse {
    /// `channel_ready` again, if the peer may have missed it.
    pub channel_ready: Option<ChannelReady>,
    /// Our last `revoke_and_ack`, if the peer missed it.
    pub revoke_and_ack: Option<RevokeAndACK>,
    /// Our signed updates and `commitment_signed`, if the peer missed them.
    pub commitment_update: Option<CommitmentUpdate>,
    /// The order of the two above.
    pub order: RetransmitOrder,
    /// Our `shutdown` again, if we sent one.
    pub shutdown: Option<Shutdown>,
}

/// What came out of re-proposing the holding cell after a reconnection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldingCellOutcome {
    /// The updates proposed again (without `commitment_signed`).
    pub updates: CommitmentUpdate,
    /// HTLCs of ours that no longer fit and were dropped: fail them back.
    pub failed_adds: Vec<(HTLCSource, PaymentHash)>,
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// The peer disconnected: forget uncommitted updates (ours wait in the
    /// holding cell) and restart any closing negotiation.
    pub fn peer_disconnected(&mut self) {
        let c = &mut self.commitments;
        let remote_adds =
            c.remote_changes.proposed.iter().filter(|u| matches!(u, Update::Add(_))).count() as u64;
        c.remote_next_htlc_id = c.remote_next_htlc_id.saturating_sub(remote_adds);
        c.remote_changes.proposed.clear();
        let ours = core::mem::take(&mut c.local_changes.proposed);
        let local_adds = ours.iter().filter(|u| matches!(u, Update::Add(_))).count() as u64;
        c.local_next_htlc_id = c.local_next_htlc_id.saturating_sub(local_adds);
        // Fee updates are proposed again from current estimates.
        let mut cell: Vec<Update> = ours.into_iter().filter(|u| !matches!(u, Update::Fee { .. })).collect();
        cell.append(&mut self.holding_cell);
        self.holding_cell = cell;
        self.close_state.last_sent_fee_satoshis = None;
        self.close_state.last_sent_fee_range = None;
        self.close_state.last_received_fee_satoshis = None;
        self.close_state.ticks_without_progress = 0;
        self.peer_connected = false;
    }

    /// Our `channel_reestablish`.
    pub fn get_channel_reestablish(
        &self, secp_ctx: &Secp256k1<All>,
    ) -> Result<ChannelReestablish, ChannelError> {
        let _ = secp_ctx;
        let c = &self.commitments;
        Ok(ChannelReestablish {
            channel_id: self.channel_id,
            next_commitment_number: c.local_commit.index + 1,
            next_revocation_number: c.remote_commit.index,
            your_last_per_commitment_secret: self.last_counterparty_secret,
            my_current_per_commitment_point: self
                .signer
                .get_per_commitment_point(c.local_commit.index)
                .map_err(signer_error)?,
            next_funding: None,
            my_current_funding_locked: None,
        })
    }

    /// Handles the peer's `channel_reestablish`: checks its numbers against
    /// ours and says what to retransmit. An error with
    /// [`Self::lost_state`] set means the peer proved (with a valid
    /// `your_last_per_commitment_secret` for a `next_revocation_number`
    /// beyond ours) that we are behind: do not broadcast. Any other mismatch
    /// is an ordinary failure (our latest commitment is broadcast).
    pub fn channel_reestablish(
        &mut self, secp_ctx: &Secp256k1<All>, msg: &ChannelReestablish,
    ) -> Result<ReestablishResponse, ChannelError> {
        if self.peer_connected {
            return Err(ChannelError::Warn("unexpected channel_reestablish".into()));
        }
        if self.state == ChannelState::Closed {
            return close("channel is closed");
        }
        let local_index = self.commitments.local_commit.index;
        let latest_remote_index = self.commitments.latest_remote_commit().index;

        // option_data_loss_protect: the secret must be the one of our
        // commitment `next_revocation_number - 1`.
        if msg.next_revocation_number > 0 {
            let expected =
                self.signer.get_per_commitment_point(msg.next_revocation_number - 1).map_err(signer_error)?;
            let claimed =
                per_commitment_point_from_secret(secp_ctx, &msg.your_last_per_commitment_secret).ok();
            if claimed != Some(expected) {
                return close("channel_reestablish your_last_per_commitment_secret is wrong");
            }
        }
        // BOLT 2 "Message Retransmission", receiving node:
        //   "if `next_revocation_number` is greater than expected above, AND
        //    `your_last_per_commitment_secret` is correct for that
        //    `next_revocation_number` minus 1:
        //      - MUST NOT broadcast its commitment transaction.
        //      - SHOULD send an `error` to request the peer to fail the channel."
        // The secret was checked just above, so a `next_revocation_number`
        // beyond ours is proven. Only that proof switches our broadcast off:
        // a peer could otherwise stop our on-chain enforcement by lying.
        if msg.next_revocation_number > local_index {
            self.lost_state = true;
            return close("the peer is ahead of us: we lost channel state and must not broadcast");
        }
        // A `next_commitment_number` beyond the commitments we signed proves
        // nothing (anyone can write a number). BOLT 2: "if
        // `next_commitment_number` is not equal to the commitment number of
        // the next `commitment_signed` that the receiving node would send:
        // SHOULD send an `error` and fail the channel": an ordinary failure,
        // which broadcasts our latest commitment.
        if msg.next_commitment_number > latest_remote_index + 1 {
            return close(format!(
                "channel_reestablish next_commitment_number {} is ahead of our next {} without proof",
                msg.next_commitment_number,
                latest_remote_index + 1
            ));
        }

        let revoke_and_ack = if msg.next_revocation_number == local_index {
            None
        } else if msg.next_revocation_number + 1 == local_index {
            Some(self.get_last_revoke_and_ack()?)
        } else {
            return close(format!(
                "channel_reestablish next_revocation_number {} is behind our {}",
                msg.next_revocation_number, local_index
            ));
        };

        let mut order = RetransmitOrder::RevokeAndACKFirst;
        let commitment_update = match &self.commitments.remote_next {
            RemoteNextCommitInfo::WaitingForRevocation { next, sent_after_local_commit_index } => {
                if msg.next_commitment_number == next.index {
                    if *sent_after_local_commit_index < local_index {
                        order = RetransmitOrder::CommitmentFirst;
                    }
                    let mut updates = CommitmentUpdate::default();
                    for u in &self.commitments.local_changes.signed {
                        self.push_update_message(u, &mut updates);
                    }
                    updates.commitment_signed = Some(self.resign_pending_commitment()?);
                    Some(updates)
                } else if msg.next_commitment_number == next.index + 1 {
                    None
                } else {
                    return close(format!(
                        "channel_reestablish next_commitment_number {} does not match our {}",
                        msg.next_commitment_number, next.index
                    ));
                }
            }
            _ => {
                if msg.next_commitment_number == self.commitments.remote_commit.index + 1 {
                    None
                } else {
                    return close(format!(
                        "channel_reestablish next_commitment_number {} does not match our {}",
                        msg.next_commitment_number,
                        self.commitments.remote_commit.index + 1
                    ));
                }
            }
        };

        let channel_ready =
            if msg.next_commitment_number == 1 && local_index == 0 && self.holder_channel_ready_sent {
                Some(self.get_channel_ready()?)
            } else {
                None
            };
        let shutdown = self
            .close_state
            .local_shutdown
            .clone()
            .map(|scriptpubkey| Shutdown { channel_id: self.channel_id, scriptpubkey });
        self.peer_connected = true;
        Ok(ReestablishResponse { channel_ready, revoke_and_ack, commitment_update, order, shutdown })
    }

    /// Whether the peer proved we lost state (we must not broadcast).
    pub fn lost_state(&self) -> bool {
        self.lost_state
    }

    /// Proposes again the updates kept while the peer was away. HTLCs that
    /// no longer fit are dropped and returned to be failed back.
    pub fn free_holding_cell(&mut self) -> HoldingCellOutcome {
        let mut out = HoldingCellOutcome::default();
        if !self.peer_connected {
            return out;
        }
        for update in core::mem::take(&mut self.holding_cell) {
            match update {
                Update::Add(mut add) => {
                    let old_id = add.htlc_id;
                    add.htlc_id = self.commitments.local_next_htlc_id;
                    let usable = matches!(self.state, ChannelState::Normal);
                    let source = self.commitments.origins.remove(&old_id);
                    match (usable.then(|| self.check_outbound_add(&add)), source) {
                        (Some(Ok(())), Some(source)) => {
                            self.commitments.origins.insert(add.htlc_id, source);
                            self.commitments.local_next_htlc_id += 1;
                            out.updates.update_add_htlcs.push(self.add_message(&add));
                            self.commitments.local_changes.proposed.push(Update::Add(add));
                        }
                        (_, Some(source)) => out.failed_adds.push((source, add.payment_hash)),
                        (_, None) => {}
                    }
                }
                removal => {
                    let Some(htlc_id) = removal.removed_htlc_id() else { continue };
                    if self.commitments.local_removal_pending(htlc_id)
                        || self.commitments.cross_signed_htlc(false, htlc_id).is_none()
                    {
                        continue;
                    }
                    self.push_update_message(&removal, &mut out.updates);
                    self.commitments.local_changes.proposed.push(removal);
                }
            }
        }
        out
    }
}
