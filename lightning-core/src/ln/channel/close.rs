//! Mutual close (BOLT 2 "Channel Close"): `shutdown`, then once no HTLC is
//! left, `closing_signed` fee negotiation with the `fee_range` TLV.
//!
//! BOLT 3 ("Legacy Closing Transaction") lets each signer remove the
//! outputs below its own dust limit and eliminate its own output, so there
//! are several variants of the transaction. We sign the one with outputs
//! below the larger of the two dust limits removed: it is always either our
//! own-limit variant or the peer's own-limit one. (A strict peer with the
//! larger limit may refuse it when its own output lies between the two
//! limits: that variant is not one BOLT 3 names for us; the close then
//! fails and the channel is force-closed.) We accept the peer's signature
//! on any variant the spec allows it to sign (see [`ClosingVariant`]), and
//! the transaction we broadcast is the one its signature is valid for,
//! which we sign too.
//!
//! Fees: the funder proposes first, with a range from the relay floor to
//! three times its estimate (capped at its balance); the fundee, who pays
//! nothing, accepts anything from the floor to the funder's balance. With
//! `fee_range`, the
//! fundee's first answer is the proposal if it lies in the overlap of both
//! ranges (agreement) or the nearest fee in it. Once we sent a range, a fee
//! inside it is taken, with or without a range from the peer (BOLT 2's
//! order); otherwise the funder fails the channel on a fee outside the
//! overlap of the range it sent, and the fundee on any fee but its own.
//! Without `fee_range` (legacy), a fee not strictly between the two last
//! proposals fails the channel, otherwise we counter strictly between them
//! but never outside our range, and fail the channel once we stand at our
//! bound and the peer still asks beyond it. A negotiation in which no
//! message of the peer moves things on for
//! [`MAX_CLOSING_NEGOTIATION_TICKS`] timer ticks (not counting ticks while
//! our own messages are held for a monitor update) fails the channel.

use super::establishment::is_valid_shutdown_script;
use super::{close, signer_error, ChannelError, ChannelState, FundedChannel};
use crate::chain::chaininterface::{ConfirmationTarget, FeeEstimator, FEERATE_FLOOR_SATS_PER_KW};
use crate::chain::channelmonitor::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, CLOSED_CHANNEL_UPDATE_ID,
};
use crate::io::{self, Read, Write};
use crate::ln::chan_utils::signing::{build_funding_witness, verify_p2wsh_input};
use crate::ln::chan_utils::ClosingTransaction;
use crate::ln::msgs::{ClosingSigned, ClosingSignedFeeRange, DecodeError, Shutdown};
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{ScriptBuf, Transaction};

/// Weight a 2-of-2 funding input's witness and the segwit marker add to a
/// closing transaction: marker and flag (2), item count (1), the empty item
/// (1), two signatures (2 × 74) and the 71-byte script with its length (72).
const CLOSING_WITNESS_WEIGHT: u64 = 2 + 1 + 1 + 2 * 74 + 72;

/// Which outputs a legacy closing transaction keeps. Our own output is only
/// ever removed when it is below one side's dust limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosingVariant {
    /// Outputs below the larger of both dust limits removed: what we sign
    /// when we propose a fee.
    BothLimits,
    /// Outputs below the counterparty's dust limit removed: the variant BOLT
    /// 3 has it sign ("MUST remove any output below its own
    /// `dust_limit_satoshis`").
    CounterpartyLimit,
    /// As [`Self::CounterpartyLimit`], with the counterparty's own output
    /// eliminated too (BOLT 3: it "MAY eliminate its own output").
    CounterpartyLimitWithoutItsOutput,
    /// Outputs below our dust limit removed: our own variant, which a peer
    /// that accepted our signature on it signs back.
    HolderLimit,
}

impl ClosingVariant {
    /// The variants a counterparty signature is checked against, in order.
    pub const ACCEPTED: [ClosingVariant; 4] = [
        ClosingVariant::BothLimits,
        ClosingVariant::CounterpartyLimit,
        ClosingVariant::CounterpartyLimitWithoutItsOutput,
        ClosingVariant::HolderLimit,
    ];
}

/// Timer ticks fee negotiation may go without a `closing_signed` from the
/// peer that moves it on (one we answer or accept) before the channel is
/// failed.
pub const MAX_CLOSING_NEGOTIATION_TICKS: u8 = 3;

/// Where the mutual close stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseState {
    /// The script we sent in `shutdown`.
    pub local_shutdown: Option<ScriptBuf>,
    /// The script the counterparty sent in `shutdown`.
    pub remote_shutdown: Option<ScriptBuf>,
    /// The last fee we proposed in `closing_signed`.
    pub last_sent_fee_satoshis: Option<u64>,
    /// The `fee_range` we sent with it: the peer's answer is judged against
    /// what we sent, not against a range recomputed from a fee estimate
    /// that may have moved since. Not saved: negotiation restarts on every
    /// reconnection (BOLT 2), which clears both.
    pub last_sent_fee_range: Option<ClosingSignedFeeRange>,
    /// The last fee the peer proposed on this connection (legacy
    /// negotiation checks each new one lies strictly between it and ours).
    /// Not saved, reset on reconnection.
    pub last_received_fee_satoshis: Option<u64>,
    /// Timer ticks in fee negotiation without a `closing_signed` from the
    /// peer that moved it on. Not saved.
    pub ticks_without_progress: u8,
    /// The agreed, fully signed closing transaction.
    pub closing_tx: Option<Transaction>,
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// Starts a mutual close: our `shutdown` paying to `script`. Refused
    /// while we have unsigned updates (sign them first) or after a shutdown
    /// was already sent.
    pub fn get_shutdown(&mut self, script: ScriptBuf) -> Result<Shutdown, ChannelError> {
        if self.close_state.local_shutdown.is_some() {
            return Err(ChannelError::Ignore("shutdown already sent".into()));
        }
        if self.state == ChannelState::Closed {
            return Err(ChannelError::Ignore("channel is closed".into()));
        }
        if !self.peer_connected {
            return Err(ChannelError::Ignore("peer is disconnected".into()));
        }
        if !self.commitments.local_changes.proposed.is_empty() {
            return Err(ChannelError::Ignore("unsigned updates pending: sign them before shutdown".into()));
        }
        if !is_valid_shutdown_script(&script) {
            return Err(ChannelError::Ignore("shutdown script is not standard".into()));
        }
        self.close_state.local_shutdown = Some(script.clone());
        self.holder_shutdown_script = Some(script.clone());
        self.state = ChannelState::ShuttingDown;
        Ok(Shutdown { channel_id: self.channel_id, scriptpubkey: script })
    }

    /// Handles `shutdown`. Returns our own `shutdown` if we had not sent one
    /// (paying to `our_script`).
    pub fn shutdown(
        &mut self, msg: &Shutdown, our_script: ScriptBuf,
    ) -> Result<Option<Shutdown>, ChannelError> {
        if self.state == ChannelState::Closed {
            return Err(ChannelError::Ignore("channel is closed".into()));
        }
        if !self.peer_connected {
            return close("shutdown before channel_reestablish");
        }
        if !is_valid_shutdown_script(&msg.scriptpubkey) {
            return close("shutdown scriptpubkey is not a standard script");
        }
        if let Some(upfront) = &self.counterparty_upfront_shutdown_script {
            if *upfront != msg.scriptpubkey {
                return close("shutdown scriptpubkey differs from the upfront_shutdown_script");
            }
        }
        if let Some(previous) = &self.close_state.remote_shutdown {
            if *previous != msg.scriptpubkey {
                return close("shutdown retransmitted with another scriptpubkey");
            }
        }
        if !self.commitments.remote_changes.proposed.is_empty() {
            return close("shutdown with unsigned updates of its own pending");
        }
        self.close_state.remote_shutdown = Some(msg.scriptpubkey.clone());
        if self.state == ChannelState::Normal || self.state == ChannelState::AwaitingChannelReady {
            self.state = ChannelState::ShuttingDown;
        }
        if self.close_state.local_shutdown.is_some() {
            return Ok(None);
        }
        if !is_valid_shutdown_script(&our_script) {
            return close("our shutdown script is not standard");
        }
        self.close_state.local_shutdown = Some(our_script.clone());
        self.holder_shutdown_script = Some(our_script.clone());
        Ok(Some(Shutdown { channel_id: self.channel_id, scriptpubkey: our_script }))
    }

    /// Builds the closing transaction we sign, paying `fee_satoshis` out of
    /// the funder's balance.
    fn closing_transaction(&self, fee_satoshis: u64) -> Result<ClosingTransaction, ChannelError> {
        self.closing_transaction_variant(fee_satoshis, ClosingVariant::BothLimits)
    }

    /// Builds one variant of the closing transaction paying `fee_satoshis`
    /// out of the funder's balance.
    pub fn closing_transaction_variant(
        &self, fee_satoshis: u64, variant: ClosingVariant,
    ) -> Result<ClosingTransaction, ChannelError> {
        let (Some(ours), Some(theirs)) =
            (&self.close_state.local_shutdown, &self.close_state.remote_shutdown)
        else {
            return close("closing before both shutdowns");
        };
        let contents = &self.commitments.local_commit.contents;
        let mut to_holder = contents.to_local_msat / 1000;
        let mut to_counterparty = contents.to_remote_msat / 1000;
        let funder = if self.is_outbound { &mut to_holder } else { &mut to_counterparty };
        *funder = funder
            .checked_sub(fee_satoshis)
            .ok_or(ChannelError::Close(format!("closing fee {fee_satoshis} exceeds the funder's balance")))?;
        let holder_dust = self.holder_params.dust_limit_satoshis;
        let counterparty_dust = self.counterparty_params.dust_limit_satoshis;
        let dust = match variant {
            ClosingVariant::BothLimits => holder_dust.max(counterparty_dust),
            ClosingVariant::CounterpartyLimit => counterparty_dust,
            ClosingVariant::CounterpartyLimitWithoutItsOutput => {
                to_counterparty = 0;
                counterparty_dust
            }
            ClosingVariant::HolderLimit => holder_dust,
        };
        ClosingTransaction::new(
            to_holder,
            to_counterparty,
            ours.clone(),
            theirs.clone(),
            self.params.funding_outpoint(),
            dust,
        )
        .map_err(|e| ChannelError::Close(format!("{e}")))
    }

    fn funder_balance_sat(&self) -> u64 {
        let contents = &self.commitments.local_commit.contents;
        (if self.is_outbound { contents.to_local_msat } else { contents.to_remote_msat }) / 1000
    }

    /// The fee for `feerate_per_kw` and the range we accept.
    fn closing_fees<F: FeeEstimator + ?Sized>(
        &self, fee_estimator: &F,
    ) -> Result<(u64, ClosingSignedFeeRange), ChannelError> {
        let weight = self.closing_transaction(0)?.transaction().weight().to_wu() + CLOSING_WITNESS_WEIGHT;
        let fee_at = |feerate: u32| u64::from(feerate) * weight / 1000;
        let estimate = fee_at(
            fee_estimator
                .get_est_sat_per_1000_weight(ConfirmationTarget::ChannelCloseMinimum)
                .max(FEERATE_FLOOR_SATS_PER_KW),
        );
        let cap = self.funder_balance_sat();
        let min_fee_satoshis = fee_at(FEERATE_FLOOR_SATS_PER_KW).min(cap);
        // The funder pays, and bounds what it pays; the fundee pays nothing
        // and has "no reason ... to have a maximum feerate" (BOLT 2): it
        // accepts up to the funder's whole balance.
        let max_fee_satoshis = if self.is_outbound { estimate.saturating_mul(3).min(cap) } else { cap };
        let max_fee_satoshis = max_fee_satoshis.max(min_fee_satoshis);
        Ok((
            estimate.clamp(min_fee_satoshis, max_fee_satoshis),
            ClosingSignedFeeRange { min_fee_satoshis, max_fee_satoshis },
        ))
    }

    fn sign_closing(
        &self, fee_satoshis: u64, fee_range: ClosingSignedFeeRange,
    ) -> Result<ClosingSigned, ChannelError> {
        let tx = self.closing_transaction(fee_satoshis)?;
        self.sign_closing_tx(&tx, fee_satoshis, fee_range)
    }

    fn sign_closing_tx(
        &self, tx: &ClosingTransaction, fee_satoshis: u64, fee_range: ClosingSignedFeeRange,
    ) -> Result<ClosingSigned, ChannelError> {
        let signature = self.signer.sign_closing_transaction(tx).map_err(signer_error)?;
        Ok(ClosingSigned { channel_id: self.channel_id, fee_satoshis, signature, fee_range: Some(fee_range) })
    }

    /// Called on every timer tick: fails the channel when fee negotiation
    /// saw no `closing_signed` from the peer that moved it on for
    /// [`MAX_CLOSING_NEGOTIATION_TICKS`] ticks (BOLT 2: "if it doesn't
    /// receive a `closing_signed` response after a reasonable amount of
    /// time: MUST fail the channel"; also a peer whose range never overlaps
    /// ours). `messages_held` says our own messages are held until a
    /// monitor update is persisted: the peer cannot answer what it has not
    /// received, so the count starts again once they leave.
    pub fn closing_negotiation_timer_tick(&mut self, messages_held: bool) -> Result<(), ChannelError> {
        if self.state != ChannelState::Negotiating || !self.peer_connected {
            return Ok(());
        }
        if messages_held {
            self.close_state.ticks_without_progress = 0;
            return Ok(());
        }
        self.close_state.ticks_without_progress = self.close_state.ticks_without_progress.saturating_add(1);
        if self.close_state.ticks_without_progress > MAX_CLOSING_NEGOTIATION_TICKS {
            return close("closing fee negotiation made no progress");
        }
        Ok(())
    }

    /// Whether both shutdowns were exchanged and nothing is in flight.
    fn ready_to_negotiate(&self) -> bool {
        self.close_state.local_shutdown.is_some()
            && self.close_state.remote_shutdown.is_some()
            && self.commitments.is_quiescent_and_empty()
            && self.peer_connected
    }

    /// Moves to fee negotiation when both shutdowns are exchanged and no HTLC
    /// is left; as funder, returns our first `closing_signed`.
    pub fn maybe_propose_closing_signed<F: FeeEstimator + ?Sized>(
        &mut self, fee_estimator: &F,
    ) -> Result<Option<ClosingSigned>, ChannelError> {
        if self.state == ChannelState::ShuttingDown && self.ready_to_negotiate() {
            self.state = ChannelState::Negotiating;
        }
        if self.state != ChannelState::Negotiating
            || !self.is_outbound
            || self.close_state.last_sent_fee_satoshis.is_some()
        {
            return Ok(None);
        }
        let (fee, range) = self.closing_fees(fee_estimator)?;
        let msg = self.sign_closing(fee, range)?;
        self.close_state.last_sent_fee_satoshis = Some(fee);
        self.close_state.last_sent_fee_range = Some(range);
        Ok(Some(msg))
    }

    /// Handles `closing_signed`. Returns our answer (if any) and, once the
    /// fee is agreed, the signed closing transaction to broadcast (the
    /// channel is then closed).
    pub fn closing_signed<F: FeeEstimator + ?Sized>(
        &mut self, fee_estimator: &F, secp_ctx: &Secp256k1<All>, msg: &ClosingSigned,
    ) -> Result<(Option<ClosingSigned>, Option<Transaction>), ChannelError> {
        if self.state == ChannelState::ShuttingDown && self.ready_to_negotiate() {
            self.state = ChannelState::Negotiating;
        }
        if self.state != ChannelState::Negotiating {
            return close("closing_signed before shutdown completed and HTLCs settled");
        }
        if msg.fee_satoshis > self.funder_balance_sat() {
            return close("closing_signed fee exceeds the funder's balance");
        }
        let script = self.params.funding_redeemscript();
        let their_key = self.params.counterparty().pubkeys.funding_pubkey;
        let sig = bitcoin::ecdsa::Signature::sighash_all(msg.signature);
        // BOLT 2: the receiving node fails the channel "if the `signature`
        // is not valid for either variant of closing transaction specified
        // in BOLT 3". The transaction to broadcast is the variant the
        // signature is valid for (we sign that one too).
        let mut tx = None;
        let mut tried: Vec<Transaction> = Vec::with_capacity(ClosingVariant::ACCEPTED.len());
        for variant in ClosingVariant::ACCEPTED {
            let candidate = match self.closing_transaction_variant(msg.fee_satoshis, variant) {
                Ok(candidate) => candidate,
                // A variant without any output is not a transaction.
                Err(_) if variant != ClosingVariant::BothLimits => continue,
                Err(e) => return Err(e),
            };
            if tried.contains(candidate.transaction()) {
                continue;
            }
            if verify_p2wsh_input(
                secp_ctx,
                candidate.transaction(),
                0,
                &script,
                self.channel_value_satoshis,
                &sig,
                &their_key,
            ) {
                tx = Some(candidate);
                break;
            }
            tried.push(candidate.transaction().clone());
        }
        let Some(tx) = tx else {
            return close("closing_signed signature is invalid");
        };
        // BOLT 2: "if one of the outputs in the closing transaction is below
        // the dust limit for its `scriptpubkey`: MUST fail the channel" (it
        // would never relay).
        if tx.transaction().output.iter().any(|o| o.value < script_dust_limit(&o.script_pubkey)) {
            return close("closing transaction output below the dust limit of its script");
        }
        let (our_fee, estimated_range) = self.closing_fees(fee_estimator)?;
        // Judge the answer by the range we sent, if we sent one on this
        // connection; otherwise by what we would send now.
        let sent_range = self.close_state.last_sent_fee_range;
        let our_range = sent_range.unwrap_or(estimated_range);
        let last_sent = self.close_state.last_sent_fee_satoshis;
        let agreed = last_sent == Some(msg.fee_satoshis);
        let in_our_range =
            (our_range.min_fee_satoshis..=our_range.max_fee_satoshis).contains(&msg.fee_satoshis);
        let previously_received = self.close_state.last_received_fee_satoshis;
        // The rules in BOLT 2's order: the first that applies decides.
        let (accept, counter) = match msg.fee_range {
            // "if `fee_satoshis` is equal to its previously sent
            // `fee_satoshis`": agreement, whatever range comes with it.
            _ if agreed => (true, msg.fee_satoshis),
            // "if `fee_satoshis` matches its previously sent `fee_range`:
            // SHOULD use `fee_satoshis` to sign and broadcast", with or
            // without a range from the peer.
            _ if sent_range.is_some() && in_our_range => (true, msg.fee_satoshis),
            Some(theirs) => {
                let low = theirs.min_fee_satoshis.max(our_range.min_fee_satoshis);
                let high = theirs.max_fee_satoshis.min(our_range.max_fee_satoshis);
                if low > high {
                    // Nothing recorded: a peer repeating a range that never
                    // overlaps ours makes no progress, and the timer fails
                    // the channel.
                    return Err(ChannelError::Warn("closing_signed fee ranges do not overlap".into()));
                }
                let in_overlap = (low..=high).contains(&msg.fee_satoshis);
                if self.is_outbound {
                    // BOLT 2, the funder: "if `fee_satoshis` is not in the
                    // overlap between the sent and received `fee_range`: MUST
                    // fail the channel; otherwise: MUST reply with the same
                    // `fee_satoshis`".
                    if !in_overlap {
                        return close("closing_signed fee is outside the overlap of both fee ranges");
                    }
                    (true, msg.fee_satoshis)
                } else if last_sent.is_some() {
                    // The fundee, having proposed: "if `fee_satoshis` is not
                    // the same as the value it sent: MUST fail the channel"
                    // (a fee in the range we sent was taken above).
                    return close("closing_signed fee differs from the one we proposed");
                } else {
                    // The fundee's first answer: a fee in the overlap (theirs
                    // if it is in it, which agrees).
                    (in_overlap, msg.fee_satoshis.clamp(low, high))
                }
            }
            None => {
                // Legacy negotiation (a fee in the range we sent was taken
                // above): a fee in the range we would send is accepted;
                // otherwise we move toward theirs, strictly between the two
                // last proposals, but never out of our own range (the funder
                // pays: a fundee asking for its whole balance as fee must
                // not walk us there). Once we stand at our bound and they
                // still ask for more (or less), no agreement is possible.
                // "if `fee_satoshis` is not strictly between its last-sent
                // `fee_satoshis` and its previously-received `fee_satoshis`
                // [...]: SHOULD [...] fail the channel": a peer bouncing
                // around cannot keep us signing for ever.
                if let (Some(sent), Some(received)) = (last_sent, previously_received) {
                    let (low, high) = (sent.min(received), sent.max(received));
                    if !(low < msg.fee_satoshis && msg.fee_satoshis < high) {
                        return close("closing_signed fee is not between the two last proposals");
                    }
                }
                let previous = last_sent.unwrap_or(our_fee);
                let mid = previous / 2 + msg.fee_satoshis / 2 + (previous % 2 + msg.fee_satoshis % 2) / 2;
                let counter = mid.clamp(our_range.min_fee_satoshis, our_range.max_fee_satoshis);
                if !in_our_range && last_sent == Some(counter) {
                    return close("closing_signed fee stays outside the range we accept");
                }
                (in_our_range, counter)
            }
        };
        // The message moved the negotiation on: remember it, and the
        // no-progress clock starts again.
        self.close_state.last_received_fee_satoshis = Some(msg.fee_satoshis);
        self.close_state.ticks_without_progress = 0;
        if accept {
            let reply =
                if agreed { None } else { Some(self.sign_closing_tx(&tx, msg.fee_satoshis, our_range)?) };
            let our_sig = self.signer.sign_closing_transaction(&tx).map_err(signer_error)?;
            let mut signed = tx.transaction().clone();
            if let Some(input) = signed.input.first_mut() {
                input.witness = build_funding_witness(
                    &our_sig,
                    &self.params.holder().pubkeys.funding_pubkey,
                    &msg.signature,
                    &their_key,
                    &script,
                );
            }
            self.close_state.last_sent_fee_satoshis = Some(msg.fee_satoshis);
            self.close_state.closing_tx = Some(signed.clone());
            self.state = ChannelState::Closed;
            return Ok((reply, Some(signed)));
        }
        let reply = self.sign_closing(counter, our_range)?;
        self.close_state.last_sent_fee_satoshis = Some(counter);
        self.close_state.last_sent_fee_range = Some(our_range);
        Ok((Some(reply), None))
    }
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// Once the closing transaction is signed by both sides: the monitor
    /// update telling the monitor the channel closed cooperatively
    /// ([`ChannelMonitorUpdateStep::CooperativeClose`], with
    /// [`CLOSED_CHANNEL_UPDATE_ID`]).
    pub fn cooperative_close_monitor_update(&self) -> Option<ChannelMonitorUpdate> {
        let closing_tx = self.close_state.closing_tx.clone()?;
        Some(ChannelMonitorUpdate {
            update_id: CLOSED_CHANNEL_UPDATE_ID,
            channel_id: self.channel_id,
            updates: vec![ChannelMonitorUpdateStep::CooperativeClose { closing_tx }],
        })
    }
}

/// The smallest output value a closing transaction may pay to `script` and
/// still relay (BOLT 3 "Dust Limits", Bitcoin Core's policy): 546 for P2PKH,
/// 540 for P2SH, 294 for P2WPKH, 330 for P2WSH and P2TR, none for
/// `OP_RETURN`.
fn script_dust_limit(script: &bitcoin::Script) -> bitcoin::Amount {
    if script.is_op_return() {
        bitcoin::Amount::ZERO
    } else {
        script.minimal_non_dust()
    }
}

impl Writeable for CloseState {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        for script in [&self.local_shutdown, &self.remote_shutdown] {
            script.is_some().write(w)?;
            if let Some(s) = script {
                write_u16_len_bytes(w, s.as_bytes())?;
            }
        }
        self.last_sent_fee_satoshis.is_some().write(w)?;
        if let Some(fee) = self.last_sent_fee_satoshis {
            fee.write(w)?;
        }
        self.closing_tx.is_some().write(w)?;
        if let Some(tx) = &self.closing_tx {
            let bytes = bitcoin::consensus::serialize(tx);
            (bytes.len() as u32).write(w)?;
            w.write_all(&bytes)?;
        }
        Ok(())
    }
}

impl Readable for CloseState {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let script = |r: &mut R| -> Result<Option<ScriptBuf>, DecodeError> {
            Ok(if bool::read(r)? { Some(ScriptBuf::from_bytes(read_u16_len_bytes(r)?)) } else { None })
        };
        let local_shutdown = script(r)?;
        let remote_shutdown = script(r)?;
        let last_sent_fee_satoshis = if bool::read(r)? { Some(u64::read(r)?) } else { None };
        let closing_tx = if bool::read(r)? { Some(super::ser::read_transaction(r)?) } else { None };
        Ok(CloseState {
            local_shutdown,
            remote_shutdown,
            last_sent_fee_satoshis,
            last_sent_fee_range: None,
            last_received_fee_satoshis: None,
            ticks_without_progress: 0,
            closing_tx,
        })
    }
}
