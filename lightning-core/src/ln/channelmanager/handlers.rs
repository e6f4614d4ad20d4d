//! The `ChannelManager` as a `ChannelMessageHandler`: every BOLT 2 message
//! from a peer, peer connections, and the event queues.

use super::*;
use crate::events::{EventHandler, EventsProvider, MessageSendEventsProvider};
use crate::ln::channel::ChannelState;
use crate::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, CommitmentUpdate, Init};

/// Follow-up work a handler leaves for after the channel borrow ends.
enum FollowUp {
    None,
    Revoked { outcome: crate::ln::channel::commitment::RevocationOutcome },
    Fulfilled { source: crate::chain::channelmonitor::HTLCSource, preimage: PaymentPreimage },
    Reestablished { failed_adds: Vec<(crate::chain::channelmonitor::HTLCSource, PaymentHash)> },
    Closed { closing_tx: Transaction },
}

impl<M, T, F, R, L, K> ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    /// Runs `f` on the funded channel `channel_id` of `node_id`, acting on
    /// any error it returns.
    fn with_funded_mut(
        &self, node_id: PublicKey, channel_id: ChannelId,
        f: impl FnOnce(&Self, &mut ManagedChannel<SignerOf<K>>, &mut Outbox) -> Result<FollowUp, ChannelError>,
    ) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let result = match st.peers.get_mut(&node_id).and_then(|p| p.channels.get_mut(&channel_id)) {
                Some(ChannelPhase::Funded(mc)) => f(self, mc, &mut out),
                Some(_) => {
                    Err(ChannelError::Close("channel message for a channel that is not funded".into()))
                }
                None => {
                    out.msgs.push(MessageSendEvent::HandleError {
                        node_id,
                        action: ErrorAction::SendWarningMessage {
                            msg: msgs::WarningMessage::new(channel_id, "unknown channel"),
                            log_level: crate::util::logger::Level::Debug,
                        },
                    });
                    Ok(FollowUp::None)
                }
            };
            match result {
                Ok(follow_up) => self.follow_up(&mut st, &mut out, node_id, channel_id, follow_up),
                Err(e) => self.handle_channel_error(&mut st, &mut out, node_id, channel_id, e),
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    fn follow_up(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId, follow_up: FollowUp,
    ) {
        match follow_up {
            FollowUp::None => {}
            FollowUp::Revoked { outcome } => {
                for (source, preimage) in outcome.fulfilled_outgoing {
                    self.outbound_part_fulfilled(st, out, source, preimage, true);
                }
                for failed in outcome.failed_outgoing {
                    self.outbound_part_failed(st, out, failed);
                }
                if !outcome.committed_incoming.is_empty() {
                    self.process_committed_incoming(
                        st,
                        out,
                        node_id,
                        channel_id,
                        outcome.committed_incoming,
                        &outcome.over_dust_limit,
                    );
                }
                self.after_channel_step(st, out, node_id, channel_id);
            }
            FollowUp::Fulfilled { source, preimage } => {
                self.outbound_part_fulfilled(st, out, source, preimage, false);
            }
            FollowUp::Reestablished { failed_adds } => {
                for (source, payment_hash) in failed_adds {
                    self.fail_unsent_part(st, out, source, payment_hash);
                }
                self.after_channel_step(st, out, node_id, channel_id);
            }
            FollowUp::Closed { closing_tx } => {
                // The closing transaction is final and the peer holds it too:
                // it goes out now, whatever the monitor's persistence does.
                out.broadcasts.push(closing_tx);
                let removed = st.peers.get_mut(&node_id).and_then(|peer| peer.channels.remove(&channel_id));
                if let Some(ChannelPhase::Funded(mut mc)) = removed {
                    out.msgs.append(&mut mc.gate.held_msgs);
                    out.events.append(&mut mc.gate.held_events);
                    // The monitor learns of the close (and keeps the closing
                    // transaction), so a monitor without a channel at
                    // start-up is never a cooperative close.
                    let in_flight = core::mem::take(&mut mc.gate.in_flight);
                    if let Some(update) = mc.chan.cooperative_close_monitor_update() {
                        self.send_closing_monitor_update(st, node_id, channel_id, in_flight, update);
                    }
                    out.events.push(Event::ChannelClosed {
                        channel_id,
                        user_channel_id: mc.chan.user_channel_id(),
                        reason: ClosureReason::CooperativeClosure,
                        counterparty_node_id: Some(node_id),
                        channel_capacity_sats: Some(mc.chan.channel_value_satoshis()),
                    });
                }
            }
        }
    }

    /// After a step that may have left something to sign or a close to
    /// start: signs pending updates and proposes a closing fee if due.
    pub(crate) fn after_channel_step(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId,
    ) {
        let result = match st.peers.get_mut(&node_id).and_then(|p| p.channels.get_mut(&channel_id)) {
            Some(ChannelPhase::Funded(mc)) => self.sign_and_send_commitment(mc, out).and_then(|_| {
                if let Some(msg) = mc.chan.maybe_propose_closing_signed(&self.fee_estimator)? {
                    mc.send(out, MessageSendEvent::SendClosingSigned { node_id, msg });
                }
                Ok(())
            }),
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.handle_channel_error(st, out, node_id, channel_id, e);
        }
    }

    /// Sends `updates` (ours, already proposed) with a `commitment_signed`
    /// covering them when we may sign.
    pub(crate) fn send_updates_and_commit(
        &self, mc: &mut ManagedChannel<SignerOf<K>>, out: &mut Outbox, mut updates: CommitmentUpdate,
    ) -> Result<(), ChannelError> {
        if let Some((commitment_signed, update)) = mc.chan.send_commitment()? {
            self.apply_monitor_update(mc, &update)?;
            updates.commitment_signed = Some(commitment_signed);
        }
        if !updates.is_empty() {
            let node_id = mc.node_id();
            let channel_id = mc.chan.channel_id();
            mc.send(out, MessageSendEvent::UpdateHTLCs { node_id, channel_id, updates });
        }
        Ok(())
    }

    fn handle_unfunded_error(&self, node_id: PublicKey, channel_id: ChannelId, err: ChannelError) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            self.handle_channel_error(&mut st, &mut out, node_id, channel_id, err);
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }
}

impl<M, T, F, R, L, K> MessageSendEventsProvider for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.process_monitor_events();
        core::mem::take(&mut *self.pending_msg_events.lock())
    }
}

impl<M, T, F, R, L, K> EventsProvider for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn process_pending_events<H: EventHandler>(&self, handler: H) {
        self.process_monitor_events();
        let events = core::mem::take(&mut *self.pending_events.lock());
        for event in events {
            handler.handle_event(event);
        }
    }
}

impl<M, T, F, R, L, K> ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    /// Takes the pending events without a handler (convenience for tests and
    /// simple loops).
    pub fn get_and_clear_pending_events(&self) -> Vec<Event> {
        self.process_monitor_events();
        core::mem::take(&mut *self.pending_events.lock())
    }
}

impl<M, T, F, R, L, K> BaseMessageHandler for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn peer_connected(&self, their_node_id: PublicKey, init: &Init, _inbound: bool) -> Result<(), ()> {
        if !init.features.supports_static_remote_key() {
            log_debug!(self.logger, peer = Some(their_node_id), "Peer lacks option_static_remotekey");
            return Err(());
        }
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let peer = st.peers.entry(their_node_id).or_insert_with(PeerState::new);
            peer.connected = true;
            peer.features = Some(init.features.clone());
            for phase in peer.channels.values_mut() {
                if let ChannelPhase::Funded(mc) = phase {
                    match mc.chan.get_channel_reestablish(&self.secp_ctx) {
                        Ok(msg) => out
                            .msgs
                            .push(MessageSendEvent::SendChannelReestablish { node_id: their_node_id, msg }),
                        Err(e) => log_error!(self.logger, "Cannot build channel_reestablish: {}", e),
                    }
                }
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let Some(peer) = st.peers.get_mut(&their_node_id) else { return };
            peer.connected = false;
            peer.open_requests.clear();
            let unfunded: Vec<ChannelId> = peer
                .channels
                .iter()
                .filter(|(_, p)| !matches!(p, ChannelPhase::Funded(_)))
                .map(|(id, _)| *id)
                .collect();
            for phase in peer.channels.values_mut() {
                if let ChannelPhase::Funded(mc) = phase {
                    mc.chan.peer_disconnected();
                    // Messages held for the monitor are moot: the
                    // reestablishment retransmits what the peer misses.
                    mc.gate.held_msgs.clear();
                }
            }
            for id in unfunded {
                self.force_close_locked(
                    &mut st,
                    &mut out,
                    their_node_id,
                    id,
                    ClosureReason::DisconnectedPeer,
                    None,
                    false,
                );
            }
            self.flush_msgs(&mut out);
        }
        self.pending_msg_events.lock().retain(|ev| ev.node_id() != Some(&their_node_id));
        self.flush(out);
    }

    fn provided_node_features(&self) -> NodeFeatures {
        self.node_features()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        self.init_features()
    }
}

impl<M, T, F, R, L, K> ChannelMessageHandler for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    fn handle_error(&self, their_node_id: PublicKey, msg: &ErrorMessage) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let ids: Vec<ChannelId> = match st.peers.get(&their_node_id) {
                Some(peer) if msg.channel_id.is_all_channels() => peer.channels.keys().copied().collect(),
                Some(peer) if peer.channels.contains_key(&msg.channel_id) => vec![msg.channel_id],
                // A fundee refusing our `funding_created` names the temporary
                // id, but the channel is already keyed by its real id.
                Some(peer) => peer
                    .channels
                    .iter()
                    .filter(|(_, phase)| {
                        matches!(phase, ChannelPhase::UnfundedOutbound(chan)
                            if chan.temporary_channel_id() == msg.channel_id)
                    })
                    .map(|(id, _)| *id)
                    .collect(),
                None => Vec::new(),
            };
            for id in ids {
                let reason = ClosureReason::CounterpartyForceClosed { peer_msg: msg.printable_data() };
                self.force_close_locked(&mut st, &mut out, their_node_id, id, reason, None, true);
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    fn handle_open_channel(&self, their_node_id: PublicKey, msg: &msgs::OpenChannel) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let Some(peer) = st.peers.get_mut(&their_node_id) else { return };
            let retried = peer.open_requests.contains_key(&msg.temporary_channel_id);
            if !retried && peer.unfunded_inbound_count() >= MAX_UNFUNDED_CHANNELS_PER_PEER {
                log_debug!(
                    self.logger,
                    peer = Some(their_node_id),
                    "Refusing open_channel: too many unfunded"
                );
                out.msgs.push(MessageSendEvent::HandleError {
                    node_id: their_node_id,
                    action: ErrorAction::SendErrorMessage {
                        msg: ErrorMessage::new(
                            msg.temporary_channel_id,
                            "too many unfunded channels: fund the ones you opened first",
                        ),
                    },
                });
            } else if self.config.manual_accept_inbound_channels {
                let channel_type = msg.channel_type.clone().unwrap_or_else(|| {
                    let mut ct = ChannelTypeFeatures::empty();
                    ct.set_static_remote_key_required();
                    ct
                });
                peer.open_requests.insert(msg.temporary_channel_id, msg.clone());
                out.events.push(Event::OpenChannelRequest {
                    temporary_channel_id: msg.temporary_channel_id,
                    counterparty_node_id: their_node_id,
                    funding_satoshis: msg.funding_satoshis,
                    push_msat: msg.push_msat,
                    channel_type,
                });
            } else {
                let user_channel_id =
                    u128::from_be_bytes(self.random_bytes()[..16].try_into().unwrap_or([0; 16]));
                self.accept_open_channel(&mut st, &mut out, their_node_id, msg, user_channel_id);
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    fn handle_accept_channel(&self, their_node_id: PublicKey, msg: &msgs::AcceptChannel) {
        let mut out = Outbox::default();
        let result = {
            let mut st = self.state.lock();
            let limits = self.config.channel_handshake_limits;
            let result = match st
                .peers
                .get_mut(&their_node_id)
                .and_then(|p| p.channels.get_mut(&msg.temporary_channel_id))
            {
                Some(ChannelPhase::UnfundedOutbound(chan)) => chan.accept_channel(msg, &limits).map(|_| {
                    if let Some(output_script) = chan.funding_output_script() {
                        out.events.push(Event::FundingGenerationReady {
                            temporary_channel_id: msg.temporary_channel_id,
                            counterparty_node_id: their_node_id,
                            channel_value_satoshis: chan.channel_value_satoshis(),
                            output_script,
                            user_channel_id: chan.user_channel_id(),
                        });
                    }
                }),
                Some(_) => Err(ChannelError::Close("accept_channel for a channel we did not open".into())),
                None => Err(ChannelError::Ignore("accept_channel for an unknown channel".into())),
            };
            self.flush_msgs(&mut out);
            result
        };
        self.flush(out);
        if let Err(e) = result {
            self.handle_unfunded_error(their_node_id, msg.temporary_channel_id, e);
        }
    }

    #[allow(clippy::map_entry)]
    fn handle_funding_created(&self, their_node_id: PublicKey, msg: &msgs::FundingCreated) {
        let mut out = Outbox::default();
        let mut error = None;
        {
            let mut st = self.state.lock();
            let alias = self.random_scid_alias();
            let Some(peer) = st.peers.get_mut(&their_node_id) else { return };
            match peer.channels.remove(&msg.temporary_channel_id) {
                Some(ChannelPhase::UnfundedInbound(chan)) => {
                    let value = chan.channel_value_satoshis();
                    let user_channel_id = chan.user_channel_id();
                    match chan.funding_created(&self.secp_ctx, msg, alias) {
                        Ok((chan, funding_signed, steps)) => {
                            let channel_id = chan.channel_id();
                            let mut mc = Box::new(ManagedChannel {
                                chan,
                                gate: MonitorGate::default(),
                                funded_at_height: self.best_block.lock().height,
                            });
                            // Refuse the new channel only: the error names its
                            // temporary id, so a live channel with the same
                            // id is left alone.
                            let refused = if peer.channels.contains_key(&channel_id) {
                                Some(ChannelError::Close("channel id already in use".into()))
                            } else {
                                self.watch_new_channel(&mut mc, steps).err()
                            };
                            if let Some(e) = refused {
                                refuse_funding_created(
                                    &mut out,
                                    their_node_id,
                                    msg,
                                    (user_channel_id, value),
                                    &e,
                                );
                            } else {
                                mc.send(
                                    &mut out,
                                    MessageSendEvent::SendFundingSigned {
                                        node_id: their_node_id,
                                        msg: funding_signed,
                                    },
                                );
                                let event = Event::ChannelPending {
                                    channel_id,
                                    user_channel_id: mc.chan.user_channel_id(),
                                    counterparty_node_id: their_node_id,
                                    funding_txo: mc.chan.channel_parameters().funding_outpoint(),
                                };
                                mc.event(&mut out, event);
                                peer.channels.insert(channel_id, ChannelPhase::Funded(mc));
                            }
                        }
                        Err(e) => {
                            refuse_funding_created(&mut out, their_node_id, msg, (user_channel_id, value), &e)
                        }
                    }
                }
                Some(other) => {
                    peer.channels.insert(msg.temporary_channel_id, other);
                    error = Some((
                        msg.temporary_channel_id,
                        ChannelError::Close("unexpected funding_created".into()),
                    ));
                }
                None => {
                    error = Some((
                        msg.temporary_channel_id,
                        ChannelError::Ignore("funding_created for an unknown channel".into()),
                    ))
                }
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        if let Some((id, e)) = error {
            self.handle_unfunded_error(their_node_id, id, e);
        }
    }

    fn handle_funding_signed(&self, their_node_id: PublicKey, msg: &msgs::FundingSigned) {
        let mut out = Outbox::default();
        let mut error = None;
        {
            let mut st = self.state.lock();
            let alias = self.random_scid_alias();
            let Some(peer) = st.peers.get_mut(&their_node_id) else { return };
            match peer.channels.remove(&msg.channel_id) {
                Some(ChannelPhase::UnfundedOutbound(chan)) => {
                    match chan.funding_signed(&self.secp_ctx, msg, alias) {
                        Ok((chan, steps)) => {
                            let mut mc = Box::new(ManagedChannel {
                                chan,
                                gate: MonitorGate::default(),
                                funded_at_height: self.best_block.lock().height,
                            });
                            match self.watch_new_channel(&mut mc, steps) {
                                Ok(()) => {
                                    if let Some(tx) = mc.chan.funding_transaction().cloned() {
                                        if mc.gate.is_blocked() {
                                            mc.gate.held_broadcasts.push(tx);
                                        } else {
                                            out.broadcasts.push(tx);
                                        }
                                    }
                                    let event = Event::ChannelPending {
                                        channel_id: msg.channel_id,
                                        user_channel_id: mc.chan.user_channel_id(),
                                        counterparty_node_id: their_node_id,
                                        funding_txo: mc.chan.channel_parameters().funding_outpoint(),
                                    };
                                    mc.event(&mut out, event);
                                    peer.channels.insert(msg.channel_id, ChannelPhase::Funded(mc));
                                }
                                Err(e) => {
                                    // Never broadcast: the force-close tells
                                    // the user to reuse the inputs
                                    // (`DiscardFunding`).
                                    if let Some(tx) = mc.chan.funding_transaction().cloned() {
                                        mc.gate.held_broadcasts.push(tx);
                                    }
                                    peer.channels.insert(msg.channel_id, ChannelPhase::Funded(mc));
                                    error = Some(e);
                                }
                            }
                        }
                        Err(boxed) => {
                            let (chan, e) = *boxed;
                            peer.channels.insert(msg.channel_id, ChannelPhase::UnfundedOutbound(chan));
                            error = Some(e);
                        }
                    }
                }
                Some(other) => {
                    peer.channels.insert(msg.channel_id, other);
                    error = Some(ChannelError::Close("unexpected funding_signed".into()));
                }
                None => error = Some(ChannelError::Ignore("funding_signed for an unknown channel".into())),
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        if let Some(e) = error {
            self.handle_unfunded_error(their_node_id, msg.channel_id, e);
        }
    }

    fn handle_channel_ready(&self, their_node_id: PublicKey, msg: &msgs::ChannelReady) {
        self.with_funded_mut(their_node_id, msg.channel_id, |_, mc, out| {
            if mc.chan.channel_ready(msg)? {
                let event = Event::ChannelReady {
                    channel_id: mc.chan.channel_id(),
                    user_channel_id: mc.chan.user_channel_id(),
                    counterparty_node_id: their_node_id,
                };
                mc.event(out, event);
            }
            Ok(FollowUp::None)
        });
    }

    fn handle_shutdown(&self, their_node_id: PublicKey, msg: &msgs::Shutdown) {
        let script = match self.keys.get_shutdown_scriptpubkey() {
            Ok(s) => s,
            Err(e) => {
                log_error!(self.logger, "No shutdown script: {}", e);
                return;
            }
        };
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, out| {
            // Our unsigned updates go out signed before our shutdown.
            this.sign_and_send_commitment(mc, out)?;
            if let Some(reply) = mc.chan.shutdown(msg, script)? {
                mc.send(out, MessageSendEvent::SendShutdown { node_id: their_node_id, msg: reply });
            }
            if let Some(closing) = mc.chan.maybe_propose_closing_signed(&this.fee_estimator)? {
                mc.send(out, MessageSendEvent::SendClosingSigned { node_id: their_node_id, msg: closing });
            }
            Ok(FollowUp::None)
        });
    }

    fn handle_closing_signed(&self, their_node_id: PublicKey, msg: &msgs::ClosingSigned) {
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, out| {
            let (reply, tx) = mc.chan.closing_signed(&this.fee_estimator, &this.secp_ctx, msg)?;
            if let Some(reply) = reply {
                mc.send(out, MessageSendEvent::SendClosingSigned { node_id: their_node_id, msg: reply });
            }
            Ok(match tx {
                Some(closing_tx) => FollowUp::Closed { closing_tx },
                None => FollowUp::None,
            })
        });
    }

    fn handle_update_add_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateAddHTLC) {
        self.with_funded_mut(their_node_id, msg.channel_id, |_, mc, _| {
            mc.chan.update_add_htlc(msg)?;
            Ok(FollowUp::None)
        });
    }

    fn handle_update_fulfill_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateFulfillHTLC) {
        self.with_funded_mut(their_node_id, msg.channel_id, |_, mc, _| {
            let (source, _, _) = mc.chan.update_fulfill_htlc(msg)?;
            Ok(FollowUp::Fulfilled { source, preimage: msg.payment_preimage })
        });
    }

    fn handle_update_fail_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateFailHTLC) {
        self.with_funded_mut(their_node_id, msg.channel_id, |_, mc, _| {
            mc.chan.update_fail_htlc(msg)?;
            Ok(FollowUp::None)
        });
    }

    fn handle_update_fail_malformed_htlc(
        &self, their_node_id: PublicKey, msg: &msgs::UpdateFailMalformedHTLC,
    ) {
        self.with_funded_mut(their_node_id, msg.channel_id, |_, mc, _| {
            mc.chan.update_fail_malformed_htlc(msg)?;
            Ok(FollowUp::None)
        });
    }

    fn handle_commitment_signed(&self, their_node_id: PublicKey, msg: &msgs::CommitmentSigned) {
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, out| {
            let (raa, update) = mc.chan.commitment_signed(msg)?;
            this.apply_monitor_update(mc, &update)?;
            mc.send(out, MessageSendEvent::SendRevokeAndACK { node_id: their_node_id, msg: raa });
            this.sign_and_send_commitment(mc, out)?;
            if let Some(closing) = mc.chan.maybe_propose_closing_signed(&this.fee_estimator)? {
                mc.send(out, MessageSendEvent::SendClosingSigned { node_id: their_node_id, msg: closing });
            }
            Ok(FollowUp::None)
        });
    }

    fn handle_revoke_and_ack(&self, their_node_id: PublicKey, msg: &msgs::RevokeAndACK) {
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, _| {
            let outcome = mc.chan.revoke_and_ack(&this.secp_ctx, msg)?;
            this.apply_monitor_update(mc, &outcome.monitor_update)?;
            Ok(FollowUp::Revoked { outcome })
        });
    }

    fn handle_update_fee(&self, their_node_id: PublicKey, msg: &msgs::UpdateFee) {
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, _| {
            mc.chan.update_fee(&this.fee_estimator, msg)?;
            Ok(FollowUp::None)
        });
    }

    fn handle_channel_reestablish(&self, their_node_id: PublicKey, msg: &msgs::ChannelReestablish) {
        let known = {
            let st = self.state.lock();
            st.peers.get(&their_node_id).is_some_and(|p| p.channels.contains_key(&msg.channel_id))
        };
        if !known {
            // A channel we do not know (closed, or lost): an error makes the
            // peer close its side on chain rather than wait for us forever.
            self.pending_msg_events.lock().push(MessageSendEvent::HandleError {
                node_id: their_node_id,
                action: ErrorAction::SendErrorMessage {
                    msg: ErrorMessage::new(msg.channel_id, "unknown channel"),
                },
            });
            return;
        }
        self.with_funded_mut(their_node_id, msg.channel_id, |this, mc, out| {
            let response = mc.chan.channel_reestablish(&this.secp_ctx, msg)?;
            let node_id = their_node_id;
            let channel_id = mc.chan.channel_id();
            if let Some(msg) = response.channel_ready {
                mc.send(out, MessageSendEvent::SendChannelReady { node_id, msg });
            }
            let raa = response.revoke_and_ack.map(|msg| MessageSendEvent::SendRevokeAndACK { node_id, msg });
            let cu = response.commitment_update.map(|updates| MessageSendEvent::UpdateHTLCs {
                node_id,
                channel_id,
                updates,
            });
            let ordered = match response.order {
                crate::ln::channel::reestablish::RetransmitOrder::RevokeAndACKFirst => [raa, cu],
                crate::ln::channel::reestablish::RetransmitOrder::CommitmentFirst => [cu, raa],
            };
            for ev in ordered.into_iter().flatten() {
                mc.send(out, ev);
            }
            if let Some(msg) = response.shutdown {
                mc.send(out, MessageSendEvent::SendShutdown { node_id, msg });
            }
            let freed = mc.chan.free_holding_cell();
            if !freed.updates.is_empty() && mc.chan.state() != &ChannelState::Closed {
                this.send_updates_and_commit(mc, out, freed.updates)?;
            }
            Ok(FollowUp::Reestablished { failed_adds: freed.failed_adds })
        });
    }

    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        Some(vec![self.chain_hash])
    }
}

/// Answers a `funding_created` whose channel we do not keep: an `error`
/// naming its temporary id, and a `ChannelClosed` event for the inbound
/// channel that ends there.
fn refuse_funding_created(
    out: &mut Outbox, node_id: PublicKey, msg: &msgs::FundingCreated,
    (user_channel_id, channel_value_satoshis): (u128, u64), err: &ChannelError,
) {
    out.msgs.push(MessageSendEvent::HandleError {
        node_id,
        action: ErrorAction::SendErrorMessage {
            msg: ErrorMessage::new(msg.temporary_channel_id, err.text()),
        },
    });
    out.events.push(Event::ChannelClosed {
        channel_id: msg.temporary_channel_id,
        user_channel_id,
        reason: err.closure_reason(),
        counterparty_node_id: Some(node_id),
        channel_capacity_sats: Some(channel_value_satoshis),
    });
}
