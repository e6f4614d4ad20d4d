//! The `ChannelManager` following the chain (`chain::Listen`,
//! `chain::Confirm`) and the clock (`timer_tick_occurred`): funding
//! confirmations and `channel_ready`, HTLC timeouts, and commitment feerate
//! updates.

use super::*;
use crate::chain::chaininterface::ConfirmationTarget;
use crate::chain::{Confirm, Listen, TransactionData};
use crate::ln::channel::ChannelState;
use bitcoin::block::Header;
use bitcoin::{BlockHash, Txid};

/// Incoming HTLCs of unclaimed payments are failed back this many blocks
/// before they expire.
pub const HTLC_FAIL_BACK_BUFFER: u32 = 6;

impl<M, T, F, R, L, K> ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn funding_confirmed(&self, txdata: &TransactionData, height: u32) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let mut errors = Vec::new();
            for (node_id, peer) in st.peers.iter_mut() {
                for (id, phase) in peer.channels.iter_mut() {
                    let ChannelPhase::Funded(mc) = phase else { continue };
                    let funding_txid = mc.chan.channel_parameters().funding_outpoint().txid;
                    for (index, tx) in txdata.iter() {
                        if tx.compute_txid() == funding_txid {
                            let index = u32::try_from(*index).unwrap_or(u32::MAX);
                            if let Err(e) = mc.chan.funding_transaction_confirmed(tx, height, index) {
                                errors.push((*node_id, *id, e));
                            }
                        }
                    }
                }
            }
            for (node_id, id, e) in errors {
                self.handle_channel_error(&mut st, &mut out, node_id, id, e);
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    fn new_best_block(&self, header: &Header, height: u32) {
        *self.best_block.lock() = BestBlock::new(header.block_hash(), height);
        {
            let mut ts = self.highest_seen_timestamp.lock();
            *ts = (*ts).max(header.time);
        }
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let mut to_close = Vec::new();
            let mut timed_out = Vec::new();
            for (node_id, peer) in st.peers.iter_mut() {
                for (id, phase) in peer.channels.iter_mut() {
                    let ChannelPhase::Funded(mc) = phase else { continue };
                    let was_ready = mc.chan.state() != &ChannelState::AwaitingChannelReady;
                    match mc.chan.check_funding_depth(height) {
                        Ok(Some(msg)) => {
                            if peer.connected && mc.chan.is_peer_connected() {
                                mc.send(
                                    &mut out,
                                    MessageSendEvent::SendChannelReady { node_id: *node_id, msg },
                                );
                            }
                            if !was_ready && mc.chan.state() == &ChannelState::Normal {
                                let event = Event::ChannelReady {
                                    channel_id: *id,
                                    user_channel_id: mc.chan.user_channel_id(),
                                    counterparty_node_id: *node_id,
                                };
                                mc.event(&mut out, event);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => to_close.push((*node_id, *id, e)),
                    }
                    // BOLT 2: the fundee may forget a channel whose funding
                    // never confirmed (SHOULD after 2016 blocks).
                    if !mc.chan.is_outbound()
                        && mc.chan.state() == &ChannelState::AwaitingChannelReady
                        && mc.chan.funding_depth(height) == 0
                        && height.saturating_sub(mc.funded_at_height) >= super::FUNDING_CONF_DEADLINE_BLOCKS
                    {
                        timed_out.push((*node_id, *id));
                        continue;
                    }
                    // An HTLC we offered that expired must be enforced on
                    // chain before the counterparty can claim it late.
                    let expired = mc
                        .chan
                        .commitments()
                        .local_commit
                        .contents
                        .htlcs
                        .iter()
                        .any(|h| h.outgoing && h.cltv_expiry <= height);
                    if expired {
                        to_close.push((
                            *node_id,
                            *id,
                            ChannelError::Close("an outgoing HTLC expired".into()),
                        ));
                    }
                }
            }
            for (node_id, id, e) in to_close {
                self.handle_channel_error(&mut st, &mut out, node_id, id, e);
            }
            for (node_id, id) in timed_out {
                // Nothing is on chain to enforce: no commitment broadcast.
                let text = format!(
                    "funding transaction not confirmed within {} blocks",
                    super::FUNDING_CONF_DEADLINE_BLOCKS
                );
                self.force_close_locked(
                    &mut st,
                    &mut out,
                    node_id,
                    id,
                    ClosureReason::FundingTimedOut,
                    Some(text),
                    false,
                );
            }
            // Unclaimed payments whose HTLCs near expiry are failed back.
            let expiring: Vec<PaymentHash> = st
                .claimable_payments
                .iter()
                .filter(|(_, p)| {
                    p.htlcs.iter().any(|h| h.cltv_expiry <= height.saturating_add(HTLC_FAIL_BACK_BUFFER))
                })
                .map(|(h, _)| *h)
                .collect();
            for hash in expiring {
                if let Some(payment) = st.claimable_payments.remove(&hash) {
                    self.fail_claimable_htlcs(&mut st, &mut out, payment.htlcs);
                }
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    /// Called about once a minute: as funder, moves each channel's
    /// commitment feerate to the current estimate when it drifted by more
    /// than 20%; forgets resolved payments after
    /// [`IDEMPOTENCY_TIMEOUT_TICKS`] ticks
    /// and disconnected peers with nothing left (no channel, no request).
    pub fn timer_tick_occurred(&self) {
        self.process_monitor_events();
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            st.outbound_payments.retain(|_, payment| {
                if payment.resolved {
                    payment.resolved_ticks = payment.resolved_ticks.saturating_add(1);
                }
                payment.resolved_ticks < super::IDEMPOTENCY_TIMEOUT_TICKS
            });
            st.peers.retain(|_, peer| {
                peer.connected || !peer.channels.is_empty() || !peer.open_requests.is_empty()
            });
            let mut errors = Vec::new();
            for (node_id, peer) in st.peers.iter_mut() {
                if !peer.connected {
                    continue;
                }
                for (id, phase) in peer.channels.iter_mut() {
                    let ChannelPhase::Funded(mc) = phase else { continue };
                    if let Err(e) = mc.chan.closing_negotiation_timer_tick(mc.gate.is_blocked()) {
                        errors.push((*node_id, *id, e));
                        continue;
                    }
                    if !mc.chan.is_outbound() || !mc.chan.is_usable() {
                        continue;
                    }
                    let target = if mc.chan.channel_parameters().commitment_format().has_anchors() {
                        ConfirmationTarget::AnchorChannelFee
                    } else {
                        ConfirmationTarget::NonAnchorChannelFee
                    };
                    let estimate = crate::chain::chaininterface::clamp_to_floor(
                        self.fee_estimator.get_est_sat_per_1000_weight(target),
                    );
                    let current = mc.chan.commitments().latest_remote_commit().contents.feerate_per_kw;
                    let drift = u64::from(current.abs_diff(estimate)) * 100;
                    if drift <= u64::from(current) * 20 {
                        continue;
                    }
                    let result = mc.chan.send_update_fee(estimate).and_then(|msg| {
                        let updates = msgs::CommitmentUpdate { update_fee: msg, ..Default::default() };
                        self.send_updates_and_commit(mc, &mut out, updates)
                    });
                    if let Err(e) = result {
                        errors.push((*node_id, *id, e));
                    }
                }
            }
            for (node_id, id, e) in errors {
                self.handle_channel_error(&mut st, &mut out, node_id, id, e);
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    /// Proposes `feerate_per_kw` on a channel we fund (tests and tools; the
    /// timer does this from estimates).
    pub fn update_channel_fee(
        &self, channel_id: &ChannelId, counterparty_node_id: &PublicKey, feerate_per_kw: u32,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        let result = {
            let mut st = self.state.lock();
            let result =
                match st.peers.get_mut(counterparty_node_id).and_then(|p| p.channels.get_mut(channel_id)) {
                    Some(ChannelPhase::Funded(mc)) => {
                        mc.chan.send_update_fee(feerate_per_kw).and_then(|msg| {
                            let updates = msgs::CommitmentUpdate { update_fee: msg, ..Default::default() };
                            self.send_updates_and_commit(mc, &mut out, updates)
                        })
                    }
                    _ => return Err(APIError::ChannelUnavailable { err: "no such funded channel".into() }),
                };
            let result = match result {
                Ok(()) => Ok(()),
                Err(ChannelError::Ignore(err)) => Err(APIError::ChannelRefused { err }),
                // The channel may have moved on without its monitor update
                // or its `commitment_signed` leaving: it cannot continue.
                Err(e) => {
                    let err = e.to_string();
                    self.handle_channel_error(&mut st, &mut out, *counterparty_node_id, *channel_id, e);
                    Err(APIError::ChannelRefused { err })
                }
            };
            self.flush_msgs(&mut out);
            result
        };
        self.flush(out);
        result
    }
}

impl<M, T, F, R, L, K> Listen for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        self.funding_confirmed(txdata, height);
        self.new_best_block(header, height);
    }

    fn block_disconnected(&self, header: &Header, height: u32) {
        *self.best_block.lock() = BestBlock::new(header.prev_blockhash, height.saturating_sub(1));
        let mut st = self.state.lock();
        for peer in st.peers.values_mut() {
            for phase in peer.channels.values_mut() {
                if let ChannelPhase::Funded(mc) = phase {
                    if mc.chan.funding_depth(height) > 0
                        && mc.chan.funding_depth(height.saturating_sub(1)) == 0
                    {
                        mc.chan.funding_transaction_unconfirmed();
                    }
                }
            }
        }
    }
}

impl<M, T, F, R, L, K> Confirm for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn transactions_confirmed(&self, _header: &Header, txdata: &TransactionData, height: u32) {
        self.funding_confirmed(txdata, height);
    }

    fn transaction_unconfirmed(&self, txid: &Txid) {
        let mut st = self.state.lock();
        for peer in st.peers.values_mut() {
            for phase in peer.channels.values_mut() {
                if let ChannelPhase::Funded(mc) = phase {
                    if mc.chan.channel_parameters().funding_outpoint().txid == *txid {
                        mc.chan.funding_transaction_unconfirmed();
                    }
                }
            }
        }
    }

    fn best_block_updated(&self, header: &Header, height: u32) {
        self.new_best_block(header, height);
    }

    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        let st = self.state.lock();
        let height = self.best_block.lock().height;
        let mut out = Vec::new();
        for peer in st.peers.values() {
            for phase in peer.channels.values() {
                if let ChannelPhase::Funded(mc) = phase {
                    let depth = mc.chan.funding_depth(height);
                    if depth > 0 {
                        out.push((
                            mc.chan.channel_parameters().funding_outpoint().txid,
                            height + 1 - depth,
                            None,
                        ));
                    }
                }
            }
        }
        out
    }
}
