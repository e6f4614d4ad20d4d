//! Payments: sending over a route (or a direct channel found by the
//! [`Router`]), idempotent by `PaymentId`; receiving to stateless invoices
//! (`create_inbound_payment`); claiming and failing back; and reporting
//! outcomes as events.

use super::*;
use crate::chain::channelmonitor::{HTLCSource, OutboundPathHop};
use crate::events::PaymentFailureReason;
use crate::ln::channel::commitment::{FailedOutgoingHtlc, OutgoingFailure};
use crate::ln::channel::state::AddHtlc;
use crate::ln::msgs::CommitmentUpdate;
use crate::ln::onion::payload::PaymentData;
use crate::ln::onion::{
    construct_payment_onion, decode_failure_packet, peel_payment_onion, FailureMessage, FailureReason,
    HtlcFailure, IncomingHtlc, NextHop, OutboundHopPayload,
};
use bitcoin::secp256k1::SecretKey;

/// What to do with an incoming HTLC that became irrevocably committed.
enum IncomingAction {
    FailMalformed { sha256_of_onion: [u8; 32], failure_code: u16 },
    Fail { reason: Vec<u8> },
    Claimable,
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
    /// A payment hash and secret for an invoice of at least `min_value_msat`
    /// expiring `invoice_expiry_delta_secs` from the latest block time. No
    /// state is kept: the preimage is derived again when the payment
    /// arrives.
    pub fn create_inbound_payment(
        &self, min_value_msat: Option<u64>, invoice_expiry_delta_secs: u32,
    ) -> (PaymentHash, PaymentSecret) {
        let now = u64::from(*self.highest_seen_timestamp.lock());
        let expiry = now.saturating_add(u64::from(invoice_expiry_delta_secs));
        let (hash, secret, _) = crate::ln::inbound_payment::create(
            &self.inbound_payment_key,
            min_value_msat,
            expiry,
            self.random_bytes(),
        );
        (hash, secret)
    }

    /// The preimage of a payment hash made by [`Self::create_inbound_payment`].
    pub fn get_payment_preimage(
        &self, payment_hash: PaymentHash, payment_secret: PaymentSecret,
    ) -> Result<PaymentPreimage, APIError> {
        crate::ln::inbound_payment::verify(
            &self.inbound_payment_key,
            &payment_hash,
            &payment_secret,
            u64::MAX,
            0,
        )
        .map_err(|e| APIError::APIMisuseError { err: format!("{e:?}") })
    }

    /// Pays `route_params` over a route from the [`Router`], which gets our
    /// usable channels as first hops.
    pub fn send_payment(
        &self, payment_hash: PaymentHash, recipient_onion: RecipientOnionFields, payment_id: PaymentId,
        route_params: RouteParameters,
    ) -> Result<(), PaymentSendFailure> {
        if self.state.lock().outbound_payments.contains_key(&payment_id) {
            return Err(PaymentSendFailure::DuplicatePayment);
        }
        let first_hops: Vec<FirstHop> =
            self.list_usable_channels().iter().filter_map(ChannelDetails::as_first_hop).collect();
        let first_hop_refs: Vec<&FirstHop> = first_hops.iter().collect();
        let payer = crate::routing::gossip::NodeId::from_pubkey(&self.our_node_id);
        let route = self
            .router
            .find_route(&payer, &route_params, Some(&first_hop_refs))
            .map_err(|e| PaymentSendFailure::RouteNotFound(e.to_string()))?;
        self.send_payment_with_route(&route, payment_hash, recipient_onion, payment_id)
    }

    /// Pays along `route` (one HTLC per path). Sending again with the same
    /// `payment_id` is refused, so a retried call never pays twice.
    pub fn send_payment_with_route(
        &self, route: &Route, payment_hash: PaymentHash, recipient_onion: RecipientOnionFields,
        payment_id: PaymentId,
    ) -> Result<(), PaymentSendFailure> {
        if route.paths.is_empty() || route.paths.iter().any(|p| p.hops.is_empty()) {
            return Err(PaymentSendFailure::InvalidRoute("empty route or path".into()));
        }
        let total_msat =
            route.paths.iter().map(|p| p.final_value_msat()).fold(0u64, |a, b| a.saturating_add(b));
        let height = self.best_block.lock().height;
        let mut out = Outbox::default();
        let result = {
            let mut st = self.state.lock();
            if st.outbound_payments.contains_key(&payment_id) {
                return Err(PaymentSendFailure::DuplicatePayment);
            }
            let mut sent = 0usize;
            let mut first_error = None;
            for path in &route.paths {
                match self.send_path(
                    &mut st,
                    &mut out,
                    path,
                    payment_hash,
                    &recipient_onion,
                    payment_id,
                    total_msat,
                    height,
                ) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if sent > 0 {
                st.outbound_payments.insert(
                    payment_id,
                    PendingOutboundPayment {
                        payment_hash,
                        parts_in_flight: sent,
                        fee_msat: route.total_fees_msat(),
                        preimage: None,
                        failed_permanently: false,
                        resolved: false,
                        resolved_ticks: 0,
                    },
                );
            }
            self.flush_msgs(&mut out);
            match first_error {
                Some(e) if sent == 0 => Err(e),
                _ => Ok(()),
            }
        };
        self.flush(out);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn send_path(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, path: &Path, payment_hash: PaymentHash,
        recipient_onion: &RecipientOnionFields, payment_id: PaymentId, total_msat: u64, height: u32,
    ) -> Result<(), PaymentSendFailure> {
        let (Some(first), Some(last)) = (path.hops.first(), path.hops.last()) else {
            return Err(PaymentSendFailure::InvalidRoute("empty path".into()));
        };
        let node_ids = path
            .hops
            .iter()
            .map(|h| h.pubkey.as_pubkey())
            .collect::<Result<Vec<PublicKey>, _>>()
            .map_err(|_| PaymentSendFailure::InvalidRoute("a hop's node id is not a valid key".into()))?;
        let first_node_id = node_ids[0];
        // Payloads from the last hop back: each hop learns what to forward.
        let mut value_msat = path.final_value_msat();
        let mut cltv = height.saturating_add(last.cltv_expiry_delta);
        let mut hops: Vec<(PublicKey, OutboundHopPayload)> = Vec::with_capacity(path.hops.len());
        for (i, (hop, node_id)) in path.hops.iter().zip(&node_ids).enumerate().rev() {
            let payload = if i + 1 == path.hops.len() {
                OutboundHopPayload::Receive {
                    amt_to_forward_msat: value_msat,
                    outgoing_cltv_value: cltv,
                    payment_data: recipient_onion
                        .payment_secret
                        .map(|payment_secret| PaymentData { payment_secret, total_msat }),
                    payment_metadata: recipient_onion.payment_metadata.clone(),
                    custom_records: crate::ln::onion::payload::CustomRecords::new(),
                }
            } else {
                let next = &path.hops[i + 1];
                let payload = OutboundHopPayload::Forward {
                    short_channel_id: ShortChannelId(next.short_channel_id),
                    amt_to_forward_msat: value_msat,
                    outgoing_cltv_value: cltv,
                };
                value_msat = value_msat
                    .checked_add(hop.fee_msat)
                    .ok_or(PaymentSendFailure::InvalidRoute("fees overflow".into()))?;
                cltv = cltv.saturating_add(hop.cltv_expiry_delta);
                payload
            };
            hops.push((*node_id, payload));
        }
        hops.reverse();
        let session_priv = SecretKey::from_slice(&self.random_bytes())
            .map_err(|_| PaymentSendFailure::InvalidRoute("bad session key".into()))?;
        let onion = construct_payment_onion(&self.secp_ctx, &session_priv, &hops, &payment_hash)
            .map_err(|e| PaymentSendFailure::InvalidRoute(format!("onion: {e:?}")))?;
        let source = HTLCSource::OutboundRoute {
            payment_id,
            session_priv,
            path: path
                .hops
                .iter()
                .zip(&node_ids)
                .map(|(h, node_id)| OutboundPathHop {
                    node_id: *node_id,
                    short_channel_id: ShortChannelId(h.short_channel_id),
                    fee_msat: h.fee_msat,
                    cltv_expiry_delta: h.cltv_expiry_delta,
                })
                .collect(),
        };
        let first_scid = ShortChannelId(first.short_channel_id);
        let peer = st
            .peers
            .get_mut(&first_node_id)
            .ok_or(PaymentSendFailure::ChannelUnavailable("no channel with the first hop".into()))?;
        let channel_id = peer
            .channels
            .iter()
            .find_map(|(id, phase)| match phase {
                ChannelPhase::Funded(mc)
                    if mc.chan.short_channel_id() == Some(first_scid)
                        || mc.chan.counterparty_scid_alias() == Some(first_scid)
                        || mc.chan.holder_scid_alias() == first_scid =>
                {
                    Some(*id)
                }
                _ => None,
            })
            .ok_or(PaymentSendFailure::ChannelUnavailable("the first hop's channel is unknown".into()))?;
        let Some(ChannelPhase::Funded(mc)) = peer.channels.get_mut(&channel_id) else {
            return Err(PaymentSendFailure::ChannelUnavailable("channel vanished".into()));
        };
        let add = mc
            .chan
            .send_htlc(value_msat, payment_hash, cltv, onion.packet, source, None)
            .map_err(|e| PaymentSendFailure::ChannelUnavailable(e.to_string()))?;
        let updates = CommitmentUpdate { update_add_htlcs: vec![add], ..Default::default() };
        if let Err(e) = self.send_updates_and_commit(mc, out, updates) {
            self.handle_channel_error(st, out, first_node_id, channel_id, e);
        }
        Ok(())
    }

    /// One path of our payment succeeded. `settled` says whether the HTLC is
    /// gone from both commitments (at the peer's revocation) or just
    /// fulfilled (the preimage arrived).
    pub(crate) fn outbound_part_fulfilled(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, source: HTLCSource,
        preimage: PaymentPreimage, settled: bool,
    ) {
        let HTLCSource::OutboundRoute { payment_id, .. } = source else { return };
        let Some(payment) = st.outbound_payments.get_mut(&payment_id) else { return };
        if payment.preimage.is_none() {
            payment.preimage = Some(preimage);
            out.events.push(Event::PaymentSent {
                payment_id,
                payment_preimage: preimage,
                payment_hash: payment.payment_hash,
                fee_paid_msat: Some(payment.fee_msat),
            });
        }
        if settled {
            payment.parts_in_flight = payment.parts_in_flight.saturating_sub(1);
            if payment.parts_in_flight == 0 {
                payment.resolved = true;
            }
        }
    }

    /// One path of our payment failed (irrevocably removed).
    pub(crate) fn outbound_part_failed(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, failed: FailedOutgoingHtlc,
    ) {
        let HTLCSource::OutboundRoute { payment_id, session_priv, path } = &failed.source else { return };
        let (permanent, failure_code) = match &failed.failure {
            OutgoingFailure::Reason(packet) => {
                let node_ids: Vec<PublicKey> = path.iter().map(|h| h.node_id).collect();
                let secrets =
                    crate::ln::onion::keys::route_hop_secrets(&self.secp_ctx, session_priv, &node_ids)
                        .map(|s| s.into_iter().map(|h| h.shared_secret).collect::<Vec<_>>())
                        .unwrap_or_default();
                match decode_failure_packet(&secrets, packet) {
                    Ok(decoded) => {
                        let code = decoded.failure_code.map(|c| c.0);
                        let is_final = decoded.hop_index + 1 == path.len();
                        (is_final || decoded.failure_code.is_some_and(|c| c.is_perm() && !c.is_node()), code)
                    }
                    Err(_) => (false, None),
                }
            }
            OutgoingFailure::Malformed { failure_code, .. } => (false, Some(*failure_code)),
        };
        let payment_id = *payment_id;
        self.record_part_failure(st, out, payment_id, failed.payment_hash, permanent, failure_code);
    }

    fn record_part_failure(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, payment_id: PaymentId,
        payment_hash: PaymentHash, permanent: bool, failure_code: Option<u16>,
    ) {
        let Some(payment) = st.outbound_payments.get_mut(&payment_id) else { return };
        out.events.push(Event::PaymentPathFailed {
            payment_id,
            payment_hash,
            payment_failed_permanently: permanent,
            failure_code,
        });
        payment.failed_permanently |= permanent;
        payment.parts_in_flight = payment.parts_in_flight.saturating_sub(1);
        if payment.parts_in_flight == 0 && !payment.resolved {
            payment.resolved = true;
            if payment.preimage.is_none() {
                out.events.push(Event::PaymentFailed {
                    payment_id,
                    payment_hash,
                    reason: if payment.failed_permanently {
                        PaymentFailureReason::RecipientRejected
                    } else {
                        PaymentFailureReason::RetriesExhausted
                    },
                });
            }
        }
    }

    /// A path whose HTLC was never committed (dropped after a
    /// reconnection).
    pub(crate) fn fail_unsent_part(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, source: HTLCSource,
        payment_hash: PaymentHash,
    ) {
        if let HTLCSource::OutboundRoute { payment_id, .. } = source {
            self.record_part_failure(st, out, payment_id, payment_hash, false, None);
        }
    }

    /// An HTLC of ours resolved on chain.
    pub(crate) fn resolve_outbound_on_chain(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, source: HTLCSource,
        payment_hash: PaymentHash, preimage: Option<PaymentPreimage>,
    ) {
        match preimage {
            Some(preimage) => self.outbound_part_fulfilled(st, out, source, preimage, true),
            None => self.fail_unsent_part(st, out, source, payment_hash),
        }
    }

    fn fail_reason(shared_secret: [u8; 32], reason: FailureReason) -> Vec<u8> {
        let message = FailureMessage::from(reason);
        crate::ln::onion::build_failure_packet(
            &shared_secret,
            &crate::util::ser::Writeable::encode(&message),
            crate::ln::onion::failure::FAILURE_MESSAGE_PADDED_LEN,
        )
        .unwrap_or_default()
    }

    /// Decides what to do with the counterparty's HTLCs that became
    /// irrevocably committed: payments to us become claimable, anything
    /// else is failed back. Those in `over_dust_limit` (by id) break our
    /// dust exposure limit and are failed with `temporary_channel_failure`.
    pub(crate) fn process_committed_incoming(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId, adds: Vec<AddHtlc>, over_dust_limit: &[u64],
    ) {
        let height = self.best_block.lock().height;
        let now = u64::from(*self.highest_seen_timestamp.lock());
        let mut actions = Vec::with_capacity(adds.len());
        for add in adds {
            let over_dust = over_dust_limit.contains(&add.htlc_id);
            let action = self.decide_incoming(st, out, node_id, channel_id, &add, over_dust, height, now);
            actions.push((add.htlc_id, action));
        }
        let result = match st.peers.get_mut(&node_id).and_then(|p| p.channels.get_mut(&channel_id)) {
            Some(ChannelPhase::Funded(mc)) => {
                let mut updates = CommitmentUpdate::default();
                let mut res = Ok(());
                for (htlc_id, action) in actions {
                    let step = match action {
                        IncomingAction::Claimable => Ok(()),
                        IncomingAction::Fail { reason } => mc
                            .chan
                            .get_update_fail_htlc(htlc_id, reason)
                            .map(|m| updates.update_fail_htlcs.extend(m)),
                        IncomingAction::FailMalformed { sha256_of_onion, failure_code } => mc
                            .chan
                            .get_update_fail_malformed_htlc(htlc_id, sha256_of_onion, failure_code)
                            .map(|m| updates.update_fail_malformed_htlcs.extend(m)),
                    };
                    if let Err(e) = step {
                        log_error!(self.logger, "Cannot fail HTLC {}: {}", htlc_id, e);
                    }
                }
                if !updates.is_empty() {
                    res = self.send_updates_and_commit(mc, out, updates);
                }
                res
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.handle_channel_error(st, out, node_id, channel_id, e);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_incoming(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId, add: &AddHtlc, over_dust_limit: bool, height: u32, now: u64,
    ) -> IncomingAction {
        let htlc = IncomingHtlc {
            onion: &add.onion,
            payment_hash: add.payment_hash,
            amount_msat: add.amount_msat,
            cltv_expiry: add.cltv_expiry,
            path_key: add.blinding_point,
        };
        let peeled = match peel_payment_onion(&self.keys, &self.secp_ctx, &htlc) {
            Ok(p) => p,
            Err(HtlcFailure::Malformed { failure_code, sha256_of_onion }) => {
                return IncomingAction::FailMalformed { sha256_of_onion, failure_code: failure_code.0 }
            }
            Err(f) => {
                return IncomingAction::Fail {
                    reason: f.update_fail_reason().and_then(Result::ok).unwrap_or_default(),
                }
            }
        };
        let secret = peeled.shared_secret.secret_bytes();
        if over_dust_limit {
            log_debug!(
                self.logger,
                channel = Some(channel_id),
                "Failing HTLC {} back: it exceeds our dust exposure limit",
                add.htlc_id
            );
            let reason = FailureReason::TemporaryChannelFailure { channel_update: Vec::new() };
            return IncomingAction::Fail { reason: Self::fail_reason(secret, reason) };
        }
        let unknown = FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat: add.amount_msat, height };
        let (payment_data, amt) = match peeled.next_hop {
            NextHop::Receive { payment_data, amt_to_forward_msat, .. } => (payment_data, amt_to_forward_msat),
            _ => {
                return IncomingAction::Fail {
                    reason: Self::fail_reason(secret, FailureReason::UnknownNextPeer),
                }
            }
        };
        let Some(payment_data) = payment_data else {
            return IncomingAction::Fail { reason: Self::fail_reason(secret, unknown) };
        };
        if add.cltv_expiry < height.saturating_add(MIN_FINAL_CLTV_EXPIRY_DELTA) {
            return IncomingAction::Fail { reason: Self::fail_reason(secret, unknown) };
        }
        let preimage = match crate::ln::inbound_payment::verify(
            &self.inbound_payment_key,
            &add.payment_hash,
            &payment_data.payment_secret,
            payment_data.total_msat,
            now,
        ) {
            Ok(p) => p,
            Err(e) => {
                log_debug!(self.logger, "Refusing payment {}: {:?}", add.payment_hash, e);
                return IncomingAction::Fail { reason: Self::fail_reason(secret, unknown) };
            }
        };
        let _ = amt;
        let entry = st.claimable_payments.entry(add.payment_hash).or_insert_with(|| ClaimablePayment {
            htlcs: Vec::new(),
            purpose: PaymentPurpose::InvoicePayment {
                payment_preimage: Some(preimage),
                payment_secret: payment_data.payment_secret,
            },
            total_msat: payment_data.total_msat,
            notified: false,
        });
        if entry.total_msat != payment_data.total_msat || entry.notified {
            return IncomingAction::Fail { reason: Self::fail_reason(secret, unknown) };
        }
        entry.htlcs.push(ClaimableHtlc {
            counterparty_node_id: node_id,
            channel_id,
            htlc_id: add.htlc_id,
            amount_msat: add.amount_msat,
            cltv_expiry: add.cltv_expiry,
            shared_secret: secret,
        });
        let received = entry.htlcs.iter().fold(0u64, |sum, h| sum.saturating_add(h.amount_msat));
        if received >= entry.total_msat {
            entry.notified = true;
            out.events.push(Event::PaymentClaimable {
                payment_hash: add.payment_hash,
                amount_msat: received,
                purpose: entry.purpose.clone(),
                via_channel_id: channel_id,
                claim_deadline: entry.htlcs.iter().map(|h| h.cltv_expiry).min().unwrap_or(add.cltv_expiry),
            });
        }
        IncomingAction::Claimable
    }

    /// Claims a payment raised as `PaymentClaimable` with its preimage:
    /// every HTLC of it is fulfilled (after the monitor has the preimage).
    /// A `PaymentClaimed` event follows.
    pub fn claim_funds(&self, payment_preimage: PaymentPreimage) {
        let payment_hash = payment_preimage.payment_hash();
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let Some(payment) = st.claimable_payments.remove(&payment_hash) else {
                log_debug!(self.logger, "claim_funds: no claimable payment {}", payment_hash);
                return;
            };
            let mut claimed = 0u64;
            for htlc in &payment.htlcs {
                let node_id = htlc.counterparty_node_id;
                let channel_id = htlc.channel_id;
                let result = match st.peers.get_mut(&node_id).and_then(|p| p.channels.get_mut(&channel_id)) {
                    Some(ChannelPhase::Funded(mc)) => {
                        match mc.chan.get_update_fulfill_htlc(htlc.htlc_id, payment_preimage) {
                            Ok(Some((msg, update))) => {
                                claimed = claimed.saturating_add(htlc.amount_msat);
                                self.apply_monitor_update(mc, &update).and_then(|_| {
                                    let updates = CommitmentUpdate {
                                        update_fulfill_htlcs: msg.into_iter().collect(),
                                        ..Default::default()
                                    };
                                    self.send_updates_and_commit(mc, &mut out, updates)
                                })
                            }
                            Ok(None) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    _ => Ok(()),
                };
                match result {
                    Err(ChannelError::Ignore(e)) => log_error!(self.logger, "Cannot claim HTLC: {}", e),
                    Err(e) => self.handle_channel_error(&mut st, &mut out, node_id, channel_id, e),
                    Ok(()) => {}
                }
            }
            out.events.push(Event::PaymentClaimed {
                payment_hash,
                amount_msat: claimed,
                purpose: payment.purpose,
            });
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    /// Fails back every HTLC of a claimable payment
    /// (`incorrect_or_unknown_payment_details`).
    pub fn fail_htlc_backwards(&self, payment_hash: &PaymentHash) {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let Some(payment) = st.claimable_payments.remove(payment_hash) else { return };
            self.fail_claimable_htlcs(&mut st, &mut out, payment.htlcs);
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    pub(crate) fn fail_claimable_htlcs(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, htlcs: Vec<ClaimableHtlc>,
    ) {
        let height = self.best_block.lock().height;
        for htlc in htlcs {
            let reason = Self::fail_reason(
                htlc.shared_secret,
                FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat: htlc.amount_msat, height },
            );
            let (node_id, channel_id) = (htlc.counterparty_node_id, htlc.channel_id);
            let result = match st.peers.get_mut(&node_id).and_then(|p| p.channels.get_mut(&channel_id)) {
                Some(ChannelPhase::Funded(mc)) => {
                    mc.chan.get_update_fail_htlc(htlc.htlc_id, reason).and_then(|msg| {
                        let updates = CommitmentUpdate {
                            update_fail_htlcs: msg.into_iter().collect(),
                            ..Default::default()
                        };
                        self.send_updates_and_commit(mc, out, updates)
                    })
                }
                _ => Ok(()),
            };
            match result {
                Err(ChannelError::Ignore(e)) => log_error!(self.logger, "Cannot fail HTLC: {}", e),
                Err(e) => self.handle_channel_error(st, out, node_id, channel_id, e),
                Ok(()) => {}
            }
        }
    }

    /// Whether the payment with this id is still in flight.
    pub fn has_pending_payment(&self, payment_id: &PaymentId) -> bool {
        self.state.lock().outbound_payments.get(payment_id).is_some_and(|p| !p.resolved)
    }
}
