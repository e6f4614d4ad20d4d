//! HTLC and fee updates (BOLT 2 "Normal Operation"): `update_add_htlc`,
//! `update_fulfill_htlc`, `update_fail_htlc`, `update_fail_malformed_htlc`
//! and `update_fee`, sent and received, with every limit enforced. A peer's
//! update that breaks a rule is a [`ChannelError::Close`]; a request of ours
//! that would break one is refused with [`ChannelError::Ignore`].

use super::state::{AddHtlc, CommitmentContents, Update};
use super::{close, ChannelError, ChannelState, FundedChannel, MAX_CLTV_EXPIRY};
use crate::chain::chaininterface::FeeEstimator;
use crate::chain::channelmonitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCSource};
use crate::ln::msgs::{
    CommitmentUpdate, UpdateAddHTLC, UpdateFailHTLC, UpdateFailMalformedHTLC, UpdateFee, UpdateFulfillHTLC,
};
use crate::ln::onion::OnionPacket;
use crate::ln::types::{PaymentHash, PaymentPreimage};
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use bitcoin::secp256k1::PublicKey;

/// BOLT 4: the `BADONION` bit every malformed failure code must have.
pub const BADONION: u16 = 0x8000;

fn ignore<T>(text: impl Into<String>) -> Result<T, ChannelError> {
    Err(ChannelError::Ignore(text.into()))
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// The counterparty's latest commitment with our proposed updates and
    /// `extra` applied: what our next `commitment_signed` would sign.
    fn next_remote_contents(&self, extra: Option<&Update>) -> Result<CommitmentContents, ChannelError> {
        let c = &self.commitments;
        c.latest_remote_commit()
            .contents
            .reduce(c.local_changes.proposed.iter().chain(extra), c.remote_changes.acked.iter())
            .map_err(|e| ChannelError::Ignore(format!("cannot apply update: {e:?}")))
    }

    /// Our current commitment with the counterparty's proposed updates and
    /// `extra` applied: what its next `commitment_signed` would sign.
    fn next_local_contents(
        &self, extra: Option<&Update>,
    ) -> Result<CommitmentContents, super::state::ReduceError> {
        let c = &self.commitments;
        c.local_commit
            .contents
            .reduce(c.local_changes.acked.iter(), c.remote_changes.proposed.iter().chain(extra))
    }

    /// Offers an HTLC: checks every limit the counterparty set and that we
    /// can afford it, and returns the `update_add_htlc` to send (the
    /// `commitment_signed` follows from `send_commitment`).
    #[allow(clippy::too_many_arguments)]
    pub fn send_htlc(
        &mut self, amount_msat: u64, payment_hash: PaymentHash, cltv_expiry: u32, onion: OnionPacket,
        source: HTLCSource, blinding_point: Option<PublicKey>,
    ) -> Result<UpdateAddHTLC, ChannelError> {
        if !self.is_usable() {
            return ignore("channel is not usable (not ready, shutting down or peer disconnected)");
        }
        let add = AddHtlc {
            htlc_id: self.commitments.local_next_htlc_id,
            amount_msat,
            payment_hash,
            cltv_expiry,
            onion: Box::new(onion),
            blinding_point,
        };
        self.check_outbound_add(&add)?;
        let msg = self.add_message(&add);
        self.commitments.local_next_htlc_id += 1;
        self.commitments.origins.insert(add.htlc_id, source);
        self.commitments.local_changes.proposed.push(Update::Add(add));
        Ok(msg)
    }

    pub(crate) fn check_outbound_add(&self, add: &AddHtlc) -> Result<(), ChannelError> {
        let theirs = &self.counterparty_params;
        if add.amount_msat == 0 {
            return ignore("cannot send a 0-msat HTLC");
        }
        if add.amount_msat < theirs.htlc_minimum_msat {
            return ignore(format!(
                "amount below the counterparty's htlc_minimum_msat {}",
                theirs.htlc_minimum_msat
            ));
        }
        if add.cltv_expiry >= MAX_CLTV_EXPIRY {
            return ignore("cltv_expiry must be below 500000000");
        }
        let update = Update::Add(add.clone());
        let next = self.next_remote_contents(Some(&update))?;
        let (outgoing_count, _) = next.htlc_counts();
        if outgoing_count > usize::from(theirs.max_accepted_htlcs) {
            return ignore(format!("the counterparty accepts at most {} HTLCs", theirs.max_accepted_htlcs));
        }
        let (out_flight, _) = next.in_flight_msat();
        if out_flight > theirs.max_htlc_value_in_flight_msat {
            return ignore(format!(
                "would exceed the counterparty's max_htlc_value_in_flight_msat {}",
                theirs.max_htlc_value_in_flight_msat
            ));
        }
        // Our balance must keep the reserve the counterparty asked for and,
        // as funder, pay the commitment fee on both commitments.
        let mut required = theirs.channel_reserve_satoshis.saturating_mul(1000);
        if self.is_outbound {
            let fee = self.commit_fee_sat(&next, false, 0).max(self.commit_fee_sat(&next, true, 0));
            required = required.saturating_add(fee.saturating_mul(1000));
        }
        if next.to_local_msat < required {
            return ignore("insufficient balance: the HTLC would breach the reserve or the commitment fee");
        }
        // As fundee, do not add an HTLC whose output the funder could not
        // pay the fee of (BOLT 2: the sender SHOULD NOT).
        if !self.is_outbound {
            let fee = self.commit_fee_sat(&next, false, 0).max(self.commit_fee_sat(&next, true, 0));
            if next.to_remote_msat < fee.saturating_mul(1000) {
                return ignore("the funder could not pay the commitment fee with one more HTLC");
            }
        }
        if self.outbound_add_exceeds_dust_limit(add) {
            return ignore("the HTLC would exceed our maximum dust exposure");
        }
        Ok(())
    }

    pub(crate) fn add_message(&self, add: &AddHtlc) -> UpdateAddHTLC {
        UpdateAddHTLC {
            channel_id: self.channel_id,
            htlc_id: add.htlc_id,
            amount_msat: add.amount_msat,
            payment_hash: add.payment_hash,
            cltv_expiry: add.cltv_expiry,
            onion_routing_packet: (*add.onion).clone(),
            blinding_point: add.blinding_point,
        }
    }

    /// Handles `update_add_htlc`: the id must be the next one, and the HTLC
    /// must respect every limit we set.
    pub fn update_add_htlc(&mut self, msg: &UpdateAddHTLC) -> Result<(), ChannelError> {
        if self.close_state.remote_shutdown.is_some() {
            return close("update_add_htlc after the counterparty's shutdown");
        }
        if !matches!(self.state, ChannelState::Normal | ChannelState::ShuttingDown) {
            return close("update_add_htlc while the channel is not in normal operation");
        }
        if !self.peer_connected {
            return close("update_add_htlc before channel_reestablish");
        }
        let ours = &self.holder_params;
        if msg.htlc_id != self.commitments.remote_next_htlc_id {
            return close(format!(
                "update_add_htlc id {} is not the next id {}",
                msg.htlc_id, self.commitments.remote_next_htlc_id
            ));
        }
        if msg.amount_msat == 0 {
            return close("update_add_htlc of 0 msat");
        }
        if msg.amount_msat < ours.htlc_minimum_msat {
            return close(format!("update_add_htlc below our htlc_minimum_msat {}", ours.htlc_minimum_msat));
        }
        if msg.cltv_expiry >= MAX_CLTV_EXPIRY {
            return close("update_add_htlc cltv_expiry is not below 500000000");
        }
        let add = AddHtlc {
            htlc_id: msg.htlc_id,
            amount_msat: msg.amount_msat,
            payment_hash: msg.payment_hash,
            cltv_expiry: msg.cltv_expiry,
            onion: Box::new(msg.onion_routing_packet.clone()),
            blinding_point: msg.blinding_point,
        };
        let update = Update::Add(add);
        let next = self.next_local_contents(Some(&update)).map_err(|_| {
            ChannelError::Close("update_add_htlc amount exceeds the counterparty's balance".into())
        })?;
        let (_, incoming_count) = next.htlc_counts();
        if incoming_count > usize::from(ours.max_accepted_htlcs) {
            return close(format!(
                "more than our max_accepted_htlcs {} HTLCs offered",
                ours.max_accepted_htlcs
            ));
        }
        let (_, in_flight) = next.in_flight_msat();
        if in_flight > ours.max_htlc_value_in_flight_msat {
            return close(format!(
                "HTLCs in flight exceed our max_htlc_value_in_flight_msat {}",
                ours.max_htlc_value_in_flight_msat
            ));
        }
        let mut required = ours.channel_reserve_satoshis.saturating_mul(1000);
        if !self.is_outbound {
            let fee = self.commit_fee_sat(&next, true, 0);
            required = required.saturating_add(fee.saturating_mul(1000));
        }
        if next.to_remote_msat < required {
            return close("update_add_htlc the counterparty cannot afford with its reserve and fees");
        }
        self.commitments.remote_next_htlc_id += 1;
        self.commitments.remote_changes.proposed.push(update);
        Ok(())
    }

    /// Claims the counterparty's HTLC `htlc_id` with `payment_preimage`.
    /// Returns the monitor update (with the preimage) that must be persisted
    /// before the `update_fulfill_htlc` is sent, and that message (none while
    /// disconnected: it is queued for after reconnection). `None` if a
    /// removal of the HTLC is already under way.
    pub fn get_update_fulfill_htlc(
        &mut self, htlc_id: u64, payment_preimage: PaymentPreimage,
    ) -> Result<Option<(Option<UpdateFulfillHTLC>, ChannelMonitorUpdate)>, ChannelError> {
        let htlc = match self.removable_htlc(htlc_id)? {
            Some(h) => h,
            None => return Ok(None),
        };
        if payment_preimage.payment_hash() != htlc.payment_hash {
            return ignore("the preimage does not match the HTLC's payment hash");
        }
        let monitor_update =
            self.next_monitor_update(vec![ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage }]);
        let msg =
            self.queue_removal(Update::Fulfill { htlc_id, payment_preimage }).then_some(UpdateFulfillHTLC {
                channel_id: self.channel_id,
                htlc_id,
                payment_preimage,
                attribution_data: None,
            });
        Ok(Some((msg, monitor_update)))
    }

    fn holding_cell_removes(&self, htlc_id: u64) -> bool {
        self.holding_cell.iter().any(|u| u.removed_htlc_id() == Some(htlc_id))
    }

    /// The counterparty's HTLC `htlc_id` if we may remove it now; `None` if
    /// a removal is already under way.
    fn removable_htlc(&self, htlc_id: u64) -> Result<Option<super::state::CommittedHtlc>, ChannelError> {
        if self.state == ChannelState::Closed {
            return ignore("channel is closed");
        }
        if self.commitments.local_removal_pending(htlc_id) || self.holding_cell_removes(htlc_id) {
            return Ok(None);
        }
        self.commitments
            .cross_signed_htlc(false, htlc_id)
            .map(Some)
            .ok_or(ChannelError::Ignore(format!("no irrevocably committed incoming HTLC {htlc_id}")))
    }

    /// Fails the counterparty's HTLC `htlc_id` with an encrypted `reason`.
    /// Returns the message to send; `None` if a removal is already under way
    /// or, while disconnected, the failure was queued for after
    /// reconnection.
    pub fn get_update_fail_htlc(
        &mut self, htlc_id: u64, reason: Vec<u8>,
    ) -> Result<Option<UpdateFailHTLC>, ChannelError> {
        if self.removable_htlc(htlc_id)?.is_none() {
            return Ok(None);
        }
        let sent = self.queue_removal(Update::Fail { htlc_id, reason: reason.clone() });
        Ok(sent.then_some(UpdateFailHTLC {
            channel_id: self.channel_id,
            htlc_id,
            reason,
            attribution_data: None,
        }))
    }

    /// Fails the counterparty's HTLC `htlc_id` as malformed.
    pub fn get_update_fail_malformed_htlc(
        &mut self, htlc_id: u64, sha256_of_onion: [u8; 32], failure_code: u16,
    ) -> Result<Option<UpdateFailMalformedHTLC>, ChannelError> {
        if failure_code & BADONION == 0 {
            return ignore("a malformed failure code must have the BADONION bit");
        }
        if self.removable_htlc(htlc_id)?.is_none() {
            return Ok(None);
        }
        let sent = self.queue_removal(Update::FailMalformed { htlc_id, sha256_of_onion, failure_code });
        Ok(sent.then_some(UpdateFailMalformedHTLC {
            channel_id: self.channel_id,
            htlc_id,
            sha256_of_onion,
            failure_code,
        }))
    }

    /// Proposes a removal now (true) or, while disconnected, keeps it in the
    /// holding cell for after reconnection (false).
    fn queue_removal(&mut self, update: Update) -> bool {
        if self.peer_connected {
            self.commitments.local_changes.proposed.push(update);
            true
        } else {
            self.holding_cell.push(update);
            false
        }
    }

    /// Checks a removal the counterparty sent of our HTLC `htlc_id`.
    fn check_remote_removal(
        &self, htlc_id: u64, what: &str,
    ) -> Result<super::state::CommittedHtlc, ChannelError> {
        if !self.peer_connected {
            return close(format!("{what} before channel_reestablish"));
        }
        let htlc = self.commitments.cross_signed_htlc(true, htlc_id).ok_or(ChannelError::Close(format!(
            "{what} for HTLC {htlc_id}, which is not irrevocably committed"
        )))?;
        if self.commitments.remote_removal_pending(htlc_id) {
            return close(format!("{what} for HTLC {htlc_id}, which is already being removed"));
        }
        Ok(htlc)
    }

    /// Handles `update_fulfill_htlc`: returns where the HTLC came from, its
    /// amount and hash (the payment succeeded: the preimage is proof).
    pub fn update_fulfill_htlc(
        &mut self, msg: &UpdateFulfillHTLC,
    ) -> Result<(HTLCSource, u64, PaymentHash), ChannelError> {
        let htlc = self.check_remote_removal(msg.htlc_id, "update_fulfill_htlc")?;
        if msg.payment_preimage.payment_hash() != htlc.payment_hash {
            return close("update_fulfill_htlc preimage does not match the payment hash");
        }
        let source = self
            .commitments
            .origins
            .get(&msg.htlc_id)
            .cloned()
            .ok_or(ChannelError::Close("no origin for a committed outgoing HTLC".into()))?;
        self.commitments
            .remote_changes
            .proposed
            .push(Update::Fulfill { htlc_id: msg.htlc_id, payment_preimage: msg.payment_preimage });
        Ok((source, htlc.amount_msat, htlc.payment_hash))
    }

    /// Handles `update_fail_htlc` (the failure is reported once it is
    /// irrevocably committed, after the counterparty's `revoke_and_ack`).
    pub fn update_fail_htlc(&mut self, msg: &UpdateFailHTLC) -> Result<(), ChannelError> {
        self.check_remote_removal(msg.htlc_id, "update_fail_htlc")?;
        self.commitments
            .remote_changes
            .proposed
            .push(Update::Fail { htlc_id: msg.htlc_id, reason: msg.reason.clone() });
        Ok(())
    }

    /// Handles `update_fail_malformed_htlc`; the code must have `BADONION`.
    pub fn update_fail_malformed_htlc(&mut self, msg: &UpdateFailMalformedHTLC) -> Result<(), ChannelError> {
        self.check_remote_removal(msg.htlc_id, "update_fail_malformed_htlc")?;
        if msg.failure_code & BADONION == 0 {
            return close("update_fail_malformed_htlc without the BADONION bit");
        }
        self.commitments.remote_changes.proposed.push(Update::FailMalformed {
            htlc_id: msg.htlc_id,
            sha256_of_onion: msg.sha256_of_onion,
            failure_code: msg.failure_code,
        });
        Ok(())
    }

    /// As funder, proposes a new commitment feerate. `None` if the feerate
    /// is unchanged.
    pub fn send_update_fee(&mut self, feerate_per_kw: u32) -> Result<Option<UpdateFee>, ChannelError> {
        if !self.is_outbound {
            return ignore("only the funder sends update_fee");
        }
        if !self.peer_connected || !matches!(self.state, ChannelState::Normal | ChannelState::ShuttingDown) {
            return ignore("channel is not in normal operation");
        }
        let current = self.next_remote_contents(None)?.feerate_per_kw;
        if current == feerate_per_kw {
            return Ok(None);
        }
        let update = Update::Fee { feerate_per_kw };
        let next = self.next_remote_contents(Some(&update))?;
        let fee = self.commit_fee_sat(&next, false, 0).max(self.commit_fee_sat(&next, true, 0));
        if next.to_local_msat < fee.saturating_mul(1000) {
            return ignore("we cannot afford that feerate");
        }
        if let Some(why) = self.feerate_dust_violation(feerate_per_kw) {
            return ignore(why);
        }
        // A newer fee replaces an unsigned older one.
        self.commitments.local_changes.proposed.retain(|u| !matches!(u, Update::Fee { .. }));
        self.commitments.local_changes.proposed.push(update);
        Ok(Some(UpdateFee { channel_id: self.channel_id, feerate_per_kw }))
    }

    /// Handles `update_fee`: only from the funder, at a sane feerate it can
    /// afford.
    pub fn update_fee<F: FeeEstimator + ?Sized>(
        &mut self, fee_estimator: &F, msg: &UpdateFee,
    ) -> Result<(), ChannelError> {
        if self.is_outbound {
            return close("update_fee from the fundee");
        }
        if !self.peer_connected {
            return close("update_fee before channel_reestablish");
        }
        if !matches!(self.state, ChannelState::Normal | ChannelState::ShuttingDown) {
            return close("update_fee while the channel is not in normal operation");
        }
        self.check_remote_feerate(fee_estimator, msg.feerate_per_kw)?;
        let update = Update::Fee { feerate_per_kw: msg.feerate_per_kw };
        let next = self
            .next_local_contents(Some(&update))
            .map_err(|e| ChannelError::Close(format!("update_fee cannot be applied: {e:?}")))?;
        let fee = self.commit_fee_sat(&next, true, 0);
        if next.to_remote_msat < fee.saturating_mul(1000) {
            return close("the funder cannot afford the feerate it proposed");
        }
        if let Some(why) = self.feerate_dust_violation(msg.feerate_per_kw) {
            return close(format!("update_fee refused: {why}"));
        }
        // BOLT 2: "Unlike an HTLC, `update_fee` is never closed but simply
        // replaced": only the latest feerate counts, so a newer fee replaces
        // an older one not yet covered by a `commitment_signed` (as ours do
        // in `send_update_fee`). Keeping them all would let the peer grow
        // this list without bound (past the u16 counts of our serialized
        // state) while each new one is checked against all the previous.
        self.commitments.remote_changes.proposed.retain(|u| !matches!(u, Update::Fee { .. }));
        self.commitments.remote_changes.proposed.push(update);
        Ok(())
    }

    /// Appends the message of `update` (one of ours) to `out`.
    pub(crate) fn push_update_message(&self, update: &Update, out: &mut CommitmentUpdate) {
        let channel_id = self.channel_id;
        match update {
            Update::Add(add) => out.update_add_htlcs.push(self.add_message(add)),
            Update::Fulfill { htlc_id, payment_preimage } => {
                out.update_fulfill_htlcs.push(UpdateFulfillHTLC {
                    channel_id,
                    htlc_id: *htlc_id,
                    payment_preimage: *payment_preimage,
                    attribution_data: None,
                })
            }
            Update::Fail { htlc_id, reason } => out.update_fail_htlcs.push(UpdateFailHTLC {
                channel_id,
                htlc_id: *htlc_id,
                reason: reason.clone(),
                attribution_data: None,
            }),
            Update::FailMalformed { htlc_id, sha256_of_onion, failure_code } => {
                out.update_fail_malformed_htlcs.push(UpdateFailMalformedHTLC {
                    channel_id,
                    htlc_id: *htlc_id,
                    sha256_of_onion: *sha256_of_onion,
                    failure_code: *failure_code,
                })
            }
            Update::Fee { feerate_per_kw } => {
                out.update_fee = Some(UpdateFee { channel_id, feerate_per_kw: *feerate_per_kw })
            }
        }
    }
}
