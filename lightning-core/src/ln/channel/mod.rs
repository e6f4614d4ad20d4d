//! One channel's BOLT 2 state machine.
//!
//! A channel's life is split into types, so an operation that makes no sense
//! in a phase cannot be called in it:
//! - [`OutboundV1Channel`]: we sent `open_channel`; after `accept_channel`
//!   the user builds the funding transaction, we send `funding_created`,
//!   and `funding_signed` turns it into a [`FundedChannel`].
//! - [`InboundV1Channel`]: we received `open_channel` and sent
//!   `accept_channel`; `funding_created` turns it into a [`FundedChannel`]
//!   (and gives the `funding_signed` to send).
//! - [`FundedChannel`]: the funding is signed by both sides. Its
//!   [`ChannelState`] says where it is: waiting for `channel_ready`, in
//!   normal operation, shutting down, negotiating the closing fee, or
//!   closed.
//!
//! The funded channel's commitments follow the model of [`state`]: each
//! update is tracked through the add → commit → revoke exchange exactly as
//! BOLT 2 orders it. The modules:
//! - [`establishment`]: v1 channel opening and every check of
//!   `open_channel`/`accept_channel` against our limits;
//! - [`updates`]: adding, fulfilling and failing HTLCs and `update_fee`, with
//!   every limit enforced;
//! - [`commitment`]: `commitment_signed` and `revoke_and_ack`, each producing
//!   the `ChannelMonitorUpdate` that must be persisted before the message
//!   that depends on it is sent;
//! - [`dust`]: the dust exposure limit on both commitments;
//! - [`close`]: `shutdown` and `closing_signed` fee negotiation;
//! - [`reestablish`]: disconnection and `channel_reestablish`.
//!
//! The channel never sends anything itself: every method returns the
//! messages (and monitor updates) for the `ChannelManager` to deliver.

pub mod close;
pub mod commitment;
pub mod dust;
pub mod establishment;
pub mod reestablish;
pub(crate) mod ser;
pub mod state;
pub mod updates;

pub use establishment::{InboundV1Channel, OutboundV1Channel};

use crate::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use crate::chain::channelmonitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use crate::events::ClosureReason;
use crate::ln::chan_utils::signing::build_funding_witness;
use crate::ln::chan_utils::{
    commit_tx_fee_sat, ChannelTransactionParameters, CommitmentTransaction, HolderCommitmentTransaction,
    ANCHOR_OUTPUT_VALUE_SATOSHI,
};
use crate::ln::features::ChannelTypeFeatures;
use crate::ln::types::{ChannelId, ShortChannelId};
use crate::prelude::*;
use crate::sign::{EcdsaChannelSigner, SignError};
use crate::util::config::ChannelConfig;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{ScriptBuf, Transaction};
use state::{CommitmentContents, Commitments};

/// BOLT 2: the largest `cltv_expiry` (500,000,000 is a timestamp).
pub const MAX_CLTV_EXPIRY: u32 = 500_000_000;
/// BOLT 2: the smallest reserve we ask for, so a cheater always loses
/// something.
pub const MIN_CHANNEL_RESERVE_SATOSHIS: u64 = 1000;
/// BOLT 3: the smallest dust limit that keeps outputs relayable.
pub const MIN_DUST_LIMIT_SATOSHIS: u64 = 354;
/// The largest channel without `option_support_large_channel`.
pub const MAX_FUNDING_SATOSHIS_NO_WUMBO: u64 = (1 << 24) - 1;

/// What went wrong handling a message or a request, and what to do about
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// Nothing to do with the peer: the request was refused (or the message
    /// harmlessly ignored). The text says why.
    Ignore(String),
    /// Send a `warning` and carry on.
    Warn(String),
    /// The channel must be failed: send an `error` and force-close.
    Close(String),
    /// The channel's monitor could not be persisted (the [`Watch`] said
    /// the failure is unrecoverable): the channel must be failed as for
    /// [`ChannelError::Close`], and the closure names the persistence
    /// failure.
    ///
    /// [`Watch`]: crate::chain::Watch
    MonitorFailed(String),
}

impl ChannelError {
    /// The explanation.
    pub fn text(&self) -> &str {
        match self {
            ChannelError::Ignore(s)
            | ChannelError::Warn(s)
            | ChannelError::Close(s)
            | ChannelError::MonitorFailed(s) => s,
        }
    }

    /// Why the channel closed, for a failure that closes it.
    pub fn closure_reason(&self) -> ClosureReason {
        match self {
            ChannelError::MonitorFailed(_) => ClosureReason::MonitorPersistenceFailed,
            other => ClosureReason::ProcessingError { err: other.text().into() },
        }
    }
}

impl core::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.text())
    }
}

pub(crate) fn close<T>(text: impl Into<String>) -> Result<T, ChannelError> {
    Err(ChannelError::Close(text.into()))
}

pub(crate) fn signer_error(e: SignError) -> ChannelError {
    ChannelError::Close(format!("signer: {e}"))
}

/// One side's announced limits, as sent in `open_channel`/`accept_channel`.
/// For [`FundedChannel::holder_params`] they are ours (they constrain the
/// counterparty); for `counterparty_params` the counterparty's (they
/// constrain us).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SideParams {
    /// The side's dust limit (applies to its own commitment).
    pub dust_limit_satoshis: u64,
    /// The most the side lets the other have in flight towards it.
    pub max_htlc_value_in_flight_msat: u64,
    /// The reserve the side requires the *other* side to keep.
    pub channel_reserve_satoshis: u64,
    /// The smallest HTLC the side accepts.
    pub htlc_minimum_msat: u64,
    /// The most HTLCs the side accepts at once.
    pub max_accepted_htlcs: u16,
    /// The delay the side imposes on the other's outputs.
    pub to_self_delay: u16,
}

/// Where a funded channel is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// Funded, waiting for the funding to confirm and for both
    /// `channel_ready`s.
    AwaitingChannelReady,
    /// Normal operation: HTLCs may be added.
    Normal,
    /// A `shutdown` was sent or received: no new HTLC; waiting for both
    /// shutdowns and for every HTLC to settle.
    ShuttingDown,
    /// Both shutdowns exchanged and no HTLC left: `closing_signed` fee
    /// negotiation.
    Negotiating,
    /// Closed (mutually or by force): nothing more happens off chain.
    Closed,
}

/// A funded channel: both sides signed the first commitments.
pub struct FundedChannel<S: EcdsaChannelSigner> {
    pub(crate) channel_id: ChannelId,
    pub(crate) temporary_channel_id: ChannelId,
    pub(crate) user_channel_id: u128,
    pub(crate) counterparty_node_id: PublicKey,
    pub(crate) is_outbound: bool,
    pub(crate) channel_value_satoshis: u64,
    pub(crate) signer: S,
    pub(crate) params: ChannelTransactionParameters,
    pub(crate) holder_params: SideParams,
    pub(crate) counterparty_params: SideParams,
    pub(crate) channel_type: ChannelTypeFeatures,
    pub(crate) minimum_depth: u32,
    pub(crate) config: ChannelConfig,
    pub(crate) announce_for_forwarding: bool,
    /// Our shutdown script (given upfront or chosen at shutdown).
    pub(crate) holder_shutdown_script: Option<ScriptBuf>,
    /// The counterparty's `upfront_shutdown_script`, binding if non-empty.
    pub(crate) counterparty_upfront_shutdown_script: Option<ScriptBuf>,
    /// The funding transaction, if we built it (we broadcast it).
    pub(crate) funding_transaction: Option<Transaction>,
    /// Height and position of the funding transaction once confirmed.
    pub(crate) funding_confirmed_at: Option<(u32, u32)>,
    pub(crate) short_channel_id: Option<ShortChannelId>,
    pub(crate) holder_scid_alias: ShortChannelId,
    pub(crate) counterparty_scid_alias: Option<ShortChannelId>,
    pub(crate) holder_channel_ready_sent: bool,
    pub(crate) counterparty_channel_ready_received: bool,
    pub(crate) state: ChannelState,
    pub(crate) commitments: Commitments,
    pub(crate) close_state: close::CloseState,
    /// Updates of ours that were not signed when the peer disconnected,
    /// re-proposed after `channel_reestablish`.
    pub(crate) holding_cell: Vec<state::Update>,
    /// False from a disconnection until the peer's `channel_reestablish`.
    pub(crate) peer_connected: bool,
    /// The id of the last monitor update issued.
    pub(crate) latest_monitor_update_id: u64,
    /// The last per-commitment secret the counterparty revealed (zeros
    /// before the first), sent back in `channel_reestablish`.
    pub(crate) last_counterparty_secret: [u8; 32],
    /// Set when the peer proved we lost state: never broadcast our
    /// commitment then.
    pub(crate) lost_state: bool,
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// The channel id.
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }
    /// The id the user gave when creating or accepting the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.user_channel_id
    }
    /// The peer.
    pub fn counterparty_node_id(&self) -> PublicKey {
        self.counterparty_node_id
    }
    /// Whether we opened (funded) the channel.
    pub fn is_outbound(&self) -> bool {
        self.is_outbound
    }
    /// The channel's value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.channel_value_satoshis
    }
    /// Where the channel is in its life.
    pub fn state(&self) -> &ChannelState {
        &self.state
    }
    /// The channel's transaction parameters.
    pub fn channel_parameters(&self) -> &ChannelTransactionParameters {
        &self.params
    }
    /// The negotiated channel type.
    pub fn channel_type(&self) -> &ChannelTypeFeatures {
        &self.channel_type
    }
    /// The real short channel id, once the funding confirmed.
    pub fn short_channel_id(&self) -> Option<ShortChannelId> {
        self.short_channel_id
    }
    /// Our alias for the channel (what we accept in onions).
    pub fn holder_scid_alias(&self) -> ShortChannelId {
        self.holder_scid_alias
    }
    /// The counterparty's alias for the channel, from its `channel_ready`.
    pub fn counterparty_scid_alias(&self) -> Option<ShortChannelId> {
        self.counterparty_scid_alias
    }
    /// The signer.
    pub fn signer(&self) -> &S {
        &self.signer
    }
    /// The commitment state.
    pub fn commitments(&self) -> &Commitments {
        &self.commitments
    }
    /// Our limits (constraining the counterparty).
    pub fn holder_params(&self) -> &SideParams {
        &self.holder_params
    }
    /// The counterparty's limits (constraining us).
    pub fn counterparty_params(&self) -> &SideParams {
        &self.counterparty_params
    }
    /// The id of the last monitor update issued.
    pub fn latest_monitor_update_id(&self) -> u64 {
        self.latest_monitor_update_id
    }
    /// The funding transaction we built, if we are the funder.
    pub fn funding_transaction(&self) -> Option<&Transaction> {
        self.funding_transaction.as_ref()
    }
    /// Whether the peer is connected and the channel reestablished.
    pub fn is_peer_connected(&self) -> bool {
        self.peer_connected
    }

    /// Whether the channel can carry a new HTLC now: normal operation and
    /// peer connected.
    pub fn is_usable(&self) -> bool {
        self.state == ChannelState::Normal && self.peer_connected
    }

    /// Our balance in our current commitment, not counting HTLCs.
    pub fn balance_msat(&self) -> u64 {
        self.commitments.local_commit.contents.to_local_msat
    }

    /// How much we could send in one HTLC now, roughly: our balance in the
    /// counterparty's latest commitment, minus the reserve it requires and,
    /// if we fund, the commitment fee with one more HTLC.
    pub fn next_outbound_htlc_limit_msat(&self) -> u64 {
        let contents = &self.commitments.latest_remote_commit().contents;
        let pending: u64 = self
            .commitments
            .local_changes
            .proposed
            .iter()
            .map(|u| match u {
                state::Update::Add(a) => a.amount_msat,
                _ => 0,
            })
            .sum();
        let mut available = contents.to_local_msat.saturating_sub(pending);
        available = available.saturating_sub(self.counterparty_params.channel_reserve_satoshis * 1000);
        if self.is_outbound {
            let fee = self.commit_fee_sat(contents, false, 1) * 1000;
            available = available.saturating_sub(fee);
        }
        let (out_flight, _) = contents.in_flight_msat();
        let in_flight_room =
            self.counterparty_params.max_htlc_value_in_flight_msat.saturating_sub(out_flight);
        available.min(in_flight_room)
    }

    /// The commitment fee (plus anchors) of the commitment of `contents`
    /// broadcast by us (`holder_is_broadcaster`) or the counterparty, with
    /// `extra_htlcs` more untrimmed HTLCs.
    pub(crate) fn commit_fee_sat(
        &self, contents: &CommitmentContents, holder_is_broadcaster: bool, extra_htlcs: usize,
    ) -> u64 {
        let format = self.params.commitment_format();
        let dust = if holder_is_broadcaster {
            self.holder_params.dust_limit_satoshis
        } else {
            self.counterparty_params.dust_limit_satoshis
        };
        let untrimmed = contents
            .htlcs
            .iter()
            .filter(|h| {
                !h.in_commitment(holder_is_broadcaster).is_trimmed(contents.feerate_per_kw, dust, format)
            })
            .count();
        let anchors = if format.has_anchors() { 2 * ANCHOR_OUTPUT_VALUE_SATOSHI } else { 0 };
        commit_tx_fee_sat(contents.feerate_per_kw, untrimmed + extra_htlcs, format).saturating_add(anchors)
    }

    /// Builds our commitment `index` on the keys our signer derives for it
    /// (and keeps, so its own check of the commitment derives nothing
    /// again).
    pub(crate) fn build_holder_commitment(
        &self, contents: &CommitmentContents, index: u64,
    ) -> Result<CommitmentTransaction, ChannelError> {
        let keys = self.signer.get_holder_tx_keys(index).map_err(signer_error)?;
        let spec = contents.to_spec(index, true, self.holder_params.dust_limit_satoshis);
        Ok(CommitmentTransaction::build(spec, keys, &self.params.as_holder_broadcastable()))
    }

    /// Builds the counterparty's commitment `index` on its
    /// `per_commitment_point`.
    pub(crate) fn build_counterparty_commitment(
        &self, contents: &CommitmentContents, index: u64, per_commitment_point: &PublicKey,
    ) -> Result<CommitmentTransaction, ChannelError> {
        // The signer derives (and keeps) the keys, so its own check of them
        // before countersigning costs no second derivation.
        let keys = self.signer.get_counterparty_tx_keys(per_commitment_point).map_err(signer_error)?;
        let spec = contents.to_spec(index, false, self.counterparty_params.dust_limit_satoshis);
        Ok(CommitmentTransaction::build(spec, keys, &self.params.as_counterparty_broadcastable()))
    }

    /// Our current commitment with the counterparty's signatures.
    pub fn holder_commitment(&self) -> Result<HolderCommitmentTransaction, ChannelError> {
        let local = &self.commitments.local_commit;
        let tx = self.build_holder_commitment(&local.contents, local.index)?;
        HolderCommitmentTransaction::new(tx, local.counterparty_sig, local.counterparty_htlc_sigs.clone())
            .map_err(|e| ChannelError::Close(format!("stored commitment inconsistent: {e}")))
    }

    /// Our current commitment transaction, fully signed, ready to broadcast
    /// (a force-close).
    pub fn get_signed_holder_commitment_tx(&self) -> Result<Transaction, ChannelError> {
        let holder = self.holder_commitment()?;
        let our_sig = self.signer.sign_holder_commitment(&holder).map_err(signer_error)?;
        let mut tx = holder.commitment().transaction().clone();
        let witness = build_funding_witness(
            &our_sig,
            &self.params.holder().pubkeys.funding_pubkey,
            holder.counterparty_sig(),
            &self.params.counterparty().pubkeys.funding_pubkey,
            &self.params.funding_redeemscript(),
        );
        if let Some(input) = tx.input.first_mut() {
            input.witness = witness;
        }
        Ok(tx)
    }

    /// Marks the channel closed by force and returns the monitor update
    /// telling the monitor to broadcast (unless `should_broadcast` is false,
    /// e.g. when we lost data).
    pub fn force_close(&mut self, should_broadcast: bool) -> ChannelMonitorUpdate {
        self.state = ChannelState::Closed;
        ChannelMonitorUpdate {
            update_id: crate::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID,
            channel_id: self.channel_id,
            updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast }],
        }
    }

    /// A new monitor update with the next id.
    pub(crate) fn next_monitor_update(
        &mut self, updates: Vec<ChannelMonitorUpdateStep>,
    ) -> ChannelMonitorUpdate {
        self.latest_monitor_update_id += 1;
        ChannelMonitorUpdate {
            update_id: self.latest_monitor_update_id,
            channel_id: self.channel_id,
            updates,
        }
    }

    /// Records that the funding transaction confirmed at `height`, at
    /// `tx_index` in its block, and sets the short channel id. Fails the
    /// channel if the output does not pay the channel.
    pub fn funding_transaction_confirmed(
        &mut self, tx: &Transaction, height: u32, tx_index: u32,
    ) -> Result<(), ChannelError> {
        if self.funding_confirmed_at.is_some() {
            return Ok(());
        }
        let outpoint = self.params.funding_outpoint();
        let expected_script = self.params.funding_redeemscript().to_p2wsh();
        match tx.output.get(outpoint.vout as usize) {
            Some(out)
                if out.script_pubkey == expected_script
                    && out.value.to_sat() == self.channel_value_satoshis => {}
            _ => return close("funding transaction does not pay the channel's funding output"),
        }
        let vout =
            u16::try_from(outpoint.vout).map_err(|_| ChannelError::Close("funding output index".into()))?;
        self.short_channel_id = ShortChannelId::new(height, tx_index, vout).ok();
        self.funding_confirmed_at = Some((height, tx_index));
        Ok(())
    }

    /// The funding transaction was reorged out.
    pub fn funding_transaction_unconfirmed(&mut self) {
        self.funding_confirmed_at = None;
    }

    /// Confirmations of the funding at `best_height`.
    pub fn funding_depth(&self, best_height: u32) -> u32 {
        match self.funding_confirmed_at {
            Some((height, _)) if best_height >= height => best_height - height + 1,
            _ => 0,
        }
    }

    /// Called on every new best block: returns our `channel_ready` when the
    /// funding is deep enough and we have not sent it yet.
    pub fn check_funding_depth(
        &mut self, best_height: u32,
    ) -> Result<Option<crate::ln::msgs::ChannelReady>, ChannelError> {
        if self.holder_channel_ready_sent || self.state != ChannelState::AwaitingChannelReady {
            return Ok(None);
        }
        if self.funding_depth(best_height) < self.minimum_depth.max(1) {
            return Ok(None);
        }
        self.holder_channel_ready_sent = true;
        self.maybe_become_normal();
        Ok(Some(self.get_channel_ready()?))
    }

    /// Our `channel_ready` (also retransmitted on reconnection).
    pub(crate) fn get_channel_ready(&self) -> Result<crate::ln::msgs::ChannelReady, ChannelError> {
        Ok(crate::ln::msgs::ChannelReady {
            channel_id: self.channel_id,
            second_per_commitment_point: self.signer.get_per_commitment_point(1).map_err(signer_error)?,
            short_channel_id_alias: Some(self.holder_scid_alias),
        })
    }

    /// Handles the counterparty's `channel_ready`. Returns true when the
    /// channel just became usable.
    pub fn channel_ready(&mut self, msg: &crate::ln::msgs::ChannelReady) -> Result<bool, ChannelError> {
        if self.counterparty_channel_ready_received {
            // A retransmission: the point must not change.
            let expected = match &self.commitments.remote_next {
                state::RemoteNextCommitInfo::NextPoint(p) if self.commitments.remote_commit.index == 0 => {
                    Some(*p)
                }
                _ => None,
            };
            if expected.is_some_and(|p| p != msg.second_per_commitment_point) {
                return close("channel_ready retransmitted with another per-commitment point");
            }
            return Ok(false);
        }
        if self.state != ChannelState::AwaitingChannelReady {
            return Err(ChannelError::Warn("unexpected channel_ready".into()));
        }
        self.counterparty_channel_ready_received = true;
        self.counterparty_scid_alias = msg.short_channel_id_alias;
        self.commitments.remote_next =
            state::RemoteNextCommitInfo::NextPoint(msg.second_per_commitment_point);
        Ok(self.maybe_become_normal())
    }

    fn maybe_become_normal(&mut self) -> bool {
        if self.state == ChannelState::AwaitingChannelReady
            && self.holder_channel_ready_sent
            && self.counterparty_channel_ready_received
        {
            self.state = ChannelState::Normal;
            return true;
        }
        false
    }

    /// Checks a feerate the counterparty proposed (`update_fee`) against our
    /// estimates and config.
    pub(crate) fn check_remote_feerate<F: FeeEstimator + ?Sized>(
        &self, fee_estimator: &F, feerate_per_kw: u32,
    ) -> Result<(), ChannelError> {
        if feerate_per_kw < crate::chain::chaininterface::FEERATE_FLOOR_SATS_PER_KW {
            return close(format!("feerate {feerate_per_kw} is below the relay floor"));
        }
        let min_target = if self.params.commitment_format().has_anchors() {
            ConfirmationTarget::AnchorChannelFee
        } else {
            ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee
        };
        let min = fee_estimator.get_est_sat_per_1000_weight(min_target);
        let floor = (u64::from(min) * u64::from(100 - self.config.max_feerate_undershoot_percent.min(100))
            / 100) as u32;
        if !self.params.commitment_format().has_anchors() && feerate_per_kw < floor {
            return close(format!("feerate {feerate_per_kw} is far below our estimate {min}"));
        }
        let max = fee_estimator.get_est_sat_per_1000_weight(ConfirmationTarget::MaximumFeeEstimate);
        let ceiling =
            u64::from(max).saturating_mul(u64::from(self.config.max_feerate_overshoot_multiplier.max(1)));
        if u64::from(feerate_per_kw) > ceiling {
            return close(format!("feerate {feerate_per_kw} is far above our estimate {max}"));
        }
        Ok(())
    }
}
