//! `ChannelManager`: every channel of the node, the payments through them,
//! and the glue between peers (as a `ChannelMessageHandler`), the chain
//! (`chain::Listen` / `chain::Confirm`), the monitors (`chain::Watch`) and
//! the user (`Event`s).
//!
//! Before any message that moves a channel forward leaves, the
//! `ChannelMonitorUpdate` it depends on is handed to the [`Watch`]. If the
//! watch answers `InProgress`, the channel's outgoing messages (and events
//! and broadcasts that depend on the update) are held until the watch
//! reports the update persisted (`MonitorEvent::Completed`), then released
//! in order.
//!
//! Payments are routed by a [`Router`] (`routing::router`): usually a
//! [`DefaultRouter`] over the network graph and a scorer, which also pays
//! a peer directly; [`crate::routing::router::DirectRouter`] for a node
//! without a graph. Our usable channels are handed to it as first hops.
//!
//! Every update the watch answered `InProgress` for is kept until it is
//! reported persisted, and written with the manager; a cooperative close
//! sends the monitor a closing update too. At start-up the monitors get back
//! what they missed (see `startup`).
//!
//! Modules: `handlers` (peer messages), `payments` (sending, receiving and
//! claiming), `chain` (blocks and timers), `ser` (persistence), `startup`
//! (in-flight monitor updates handed back to the monitors at start-up).

mod chain;
mod handlers;
mod payments;
mod ser;
mod startup;

pub use ser::ChannelManagerReadArgs;
pub use startup::{InFlightMonitorUpdates, MonitorReplayError};

use crate::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use crate::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use crate::chain::{BestBlock, ChannelMonitorUpdateStatus, Watch};
use crate::events::{ClosureReason, Event, MessageSendEvent, PaymentPurpose};
use crate::ln::channel::{ChannelError, FundedChannel, InboundV1Channel, OutboundV1Channel};
use crate::ln::features::{ChannelTypeFeatures, InitFeatures, NodeFeatures};
use crate::ln::inbound_payment::ExpandedKey;
use crate::ln::msgs::{self, ErrorAction, ErrorMessage};
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, PaymentSecret, ShortChannelId};
use crate::prelude::*;
use crate::routing::router::{DefaultRouter, FirstHop, Path, Route, RouteParameters, Router};
use crate::routing::scoring::ProbabilisticScorer;
use crate::sign::{ChannelSigner, EcdsaChannelSigner, KeysInterface, Recipient, SignerProvider};
use crate::sync::Mutex;
use crate::util::config::UserConfig;
use crate::util::logger::Logger;
use crate::{log_debug, log_error, log_info};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{Network, OutPoint, Transaction};

/// The signer type of a keys provider.
pub type SignerOf<K> = <K as SignerProvider>::EcdsaSigner;

/// The usual router: a [`DefaultRouter`] over a shared network graph and a
/// shared, locked [`ProbabilisticScorer`].
pub type SimpleDefaultRouter = DefaultRouter<
    alloc::sync::Arc<crate::routing::gossip::NetworkGraph>,
    alloc::sync::Arc<Mutex<ProbabilisticScorer>>,
    ProbabilisticScorer,
>;

/// The usual setup in one name: a `ChannelManager` over a
/// [`SimpleDefaultRouter`] and a [`crate::sign::KeysManager`].
pub type SimpleChannelManager<M, T, F, L> =
    ChannelManager<M, T, F, SimpleDefaultRouter, L, crate::sign::KeysManager>;

/// What the node learns about the chain it runs on at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainParameters {
    /// The network.
    pub network: Network,
    /// The best block when the manager is created.
    pub best_block: BestBlock,
}

/// Why a request of the user was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum APIError {
    /// A parameter was invalid.
    APIMisuseError {
        /// What was wrong.
        err: String,
    },
    /// No such channel (or not with that peer).
    ChannelUnavailable {
        /// What was wrong.
        err: String,
    },
    /// The channel cannot do this now (not ready, limits, peer offline...).
    ChannelRefused {
        /// Why.
        err: String,
    },
}

/// Why a payment could not be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentSendFailure {
    /// A payment with this id was already sent (idempotency).
    DuplicatePayment,
    /// No route was found.
    RouteNotFound(String),
    /// The route's first hop is not a usable channel of ours, or the channel
    /// refused the HTLC.
    ChannelUnavailable(String),
    /// The route is invalid (empty, or too long for an onion).
    InvalidRoute(String),
}

/// The recipient's data to put in the final onion payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientOnionFields {
    /// The invoice's payment secret.
    pub payment_secret: Option<PaymentSecret>,
    /// The invoice's metadata.
    pub payment_metadata: Option<Vec<u8>>,
}

impl RecipientOnionFields {
    /// Fields with just a payment secret (the usual BOLT 11 case).
    pub fn secret_only(payment_secret: PaymentSecret) -> Self {
        RecipientOnionFields { payment_secret: Some(payment_secret), payment_metadata: None }
    }
}

/// A channel as [`ChannelManager::list_channels`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDetails {
    /// The channel id (temporary until funded).
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// The funding output, once known.
    pub funding_txo: Option<OutPoint>,
    /// The real short channel id, once confirmed.
    pub short_channel_id: Option<ShortChannelId>,
    /// Our alias for the channel.
    pub inbound_scid_alias: Option<ShortChannelId>,
    /// The counterparty's alias for the channel (to use in routes).
    pub outbound_scid_alias: Option<ShortChannelId>,
    /// The channel's value.
    pub channel_value_satoshis: u64,
    /// Our balance in our current commitment, not counting HTLCs.
    pub balance_msat: u64,
    /// About how much we can send in one HTLC now.
    pub next_outbound_htlc_limit_msat: u64,
    /// The smallest HTLC the counterparty accepts.
    pub next_outbound_htlc_minimum_msat: u64,
    /// The counterparty's balance, not counting HTLCs.
    pub inbound_capacity_msat: u64,
    /// Whether we opened the channel.
    pub is_outbound: bool,
    /// Whether both `channel_ready`s were exchanged.
    pub is_channel_ready: bool,
    /// Whether the channel can carry a payment now.
    pub is_usable: bool,
    /// The user's id for it.
    pub user_channel_id: u128,
    /// The channel type, once negotiated.
    pub channel_type: Option<ChannelTypeFeatures>,
    /// Confirmations of the funding transaction.
    pub confirmations: Option<u32>,
    /// HTLCs in flight in our current commitment.
    pub pending_htlcs: usize,
}

impl ChannelDetails {
    /// The channel as a router's first hop, if it can carry a payment now
    /// (usable, with a short channel id or an alias the peer knows).
    pub fn as_first_hop(&self) -> Option<FirstHop> {
        if !self.is_usable {
            return None;
        }
        Some(FirstHop {
            counterparty_node_id: crate::routing::gossip::NodeId::from_pubkey(&self.counterparty_node_id),
            short_channel_id: self.short_channel_id.or(self.outbound_scid_alias)?.0,
            outbound_capacity_msat: self.next_outbound_htlc_limit_msat,
            next_outbound_htlc_limit_msat: self.next_outbound_htlc_limit_msat,
            next_outbound_htlc_minimum_msat: self.next_outbound_htlc_minimum_msat,
            is_announced: false,
        })
    }
}

/// Holds a channel's outgoing messages, events and broadcasts while a
/// monitor update it depends on is being persisted, and remembers those
/// updates until the watch reports them persisted.
///
/// The in-flight updates are written with the channel: if the manager is
/// saved while they are being persisted and the process stops before they
/// are, start-up hands them to the monitor again
/// ([`ChannelManager::replay_in_flight_monitor_updates`]).
#[derive(Default)]
pub(crate) struct MonitorGate {
    /// The channel's new monitor is being persisted (`watch_channel`
    /// answered `InProgress`).
    pub(crate) initial_persist_in_flight: bool,
    /// Updates the watch answered `InProgress` for and has not reported
    /// persisted, oldest first.
    pub(crate) in_flight: Vec<ChannelMonitorUpdate>,
    pub(crate) held_msgs: Vec<MessageSendEvent>,
    pub(crate) held_events: Vec<Event>,
    pub(crate) held_broadcasts: Vec<Transaction>,
}

impl MonitorGate {
    /// Whether the channel waits for its monitor.
    pub(crate) fn is_blocked(&self) -> bool {
        self.initial_persist_in_flight || !self.in_flight.is_empty()
    }

    /// The monitor is persisted up to `update_id` (the new monitor itself
    /// included). Returns true if this opened the gate.
    pub(crate) fn completed(&mut self, update_id: u64) -> bool {
        let was_blocked = self.is_blocked();
        self.initial_persist_in_flight = false;
        self.in_flight.retain(|u| u.update_id > update_id);
        was_blocked && !self.is_blocked()
    }

    /// Takes what the gate held, to send now.
    pub(crate) fn release(&mut self, out: &mut Outbox) {
        out.msgs.append(&mut self.held_msgs);
        out.events.append(&mut self.held_events);
        out.broadcasts.append(&mut self.held_broadcasts);
    }
}

/// Monitor updates of a channel the manager closed (and forgot) that the
/// watch has not reported persisted: the updates in flight when it closed
/// and the closing update itself. Kept (and written with the manager) until
/// they are persisted, so start-up can give them to a monitor that missed
/// them: a monitor the manager forgot is then always either closed or
/// covered by one of these records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClosedChannelMonitorUpdates {
    pub(crate) counterparty_node_id: PublicKey,
    /// Oldest first; the last one closes the channel
    /// ([`crate::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID`]).
    pub(crate) updates: Vec<ChannelMonitorUpdate>,
}

/// A funded channel with its monitor gate.
pub(crate) struct ManagedChannel<S: EcdsaChannelSigner> {
    pub(crate) chan: FundedChannel<S>,
    pub(crate) gate: MonitorGate,
    /// The best height when the channel was funded, or when the manager
    /// was read back (not saved: a restart gives the funding a new
    /// [`FUNDING_CONF_DEADLINE_BLOCKS`] window, never a shorter one).
    pub(crate) funded_at_height: u32,
}

/// A channel in any phase.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ChannelPhase<S: EcdsaChannelSigner> {
    UnfundedOutbound(OutboundV1Channel<S>),
    UnfundedInbound(InboundV1Channel<S>),
    Funded(Box<ManagedChannel<S>>),
}

pub(crate) struct PeerState<S: EcdsaChannelSigner> {
    pub(crate) connected: bool,
    pub(crate) features: Option<InitFeatures>,
    pub(crate) channels: BTreeMap<ChannelId, ChannelPhase<S>>,
    /// Inbound channel requests waiting for manual acceptance.
    pub(crate) open_requests: BTreeMap<ChannelId, msgs::OpenChannel>,
}

impl<S: EcdsaChannelSigner> PeerState<S> {
    fn new() -> Self {
        PeerState {
            connected: false,
            features: None,
            channels: BTreeMap::new(),
            open_requests: BTreeMap::new(),
        }
    }
}

/// An outbound payment in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingOutboundPayment {
    pub(crate) payment_hash: PaymentHash,
    pub(crate) parts_in_flight: usize,
    pub(crate) fee_msat: u64,
    pub(crate) preimage: Option<PaymentPreimage>,
    pub(crate) failed_permanently: bool,
    /// Resolved (succeeded or failed): kept to refuse a reused id.
    pub(crate) resolved: bool,
    /// Timer ticks seen since it was resolved (not saved: counting restarts
    /// after a reload); forgotten at [`IDEMPOTENCY_TIMEOUT_TICKS`].
    pub(crate) resolved_ticks: u8,
}

/// One HTLC of a payment to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClaimableHtlc {
    pub(crate) counterparty_node_id: PublicKey,
    pub(crate) channel_id: ChannelId,
    pub(crate) htlc_id: u64,
    pub(crate) amount_msat: u64,
    pub(crate) cltv_expiry: u32,
    pub(crate) shared_secret: [u8; 32],
}

/// A payment to us, waiting for all its parts or for the user to claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClaimablePayment {
    pub(crate) htlcs: Vec<ClaimableHtlc>,
    pub(crate) purpose: PaymentPurpose,
    pub(crate) total_msat: u64,
    pub(crate) notified: bool,
}

pub(crate) struct ManagerState<S: EcdsaChannelSigner> {
    pub(crate) peers: BTreeMap<PublicKey, PeerState<S>>,
    pub(crate) outbound_payments: BTreeMap<PaymentId, PendingOutboundPayment>,
    pub(crate) claimable_payments: BTreeMap<PaymentHash, ClaimablePayment>,
    /// In-flight monitor updates of channels closed since, by channel.
    pub(crate) closed_channel_monitor_updates: BTreeMap<ChannelId, ClosedChannelMonitorUpdates>,
}

/// What one call produced, flushed to the shared queues at its end.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) msgs: Vec<MessageSendEvent>,
    pub(crate) events: Vec<Event>,
    pub(crate) broadcasts: Vec<Transaction>,
}

impl<S: EcdsaChannelSigner> ManagedChannel<S> {
    /// Sends `ev` now, or holds it while a monitor update is in progress.
    pub(crate) fn send(&mut self, out: &mut Outbox, ev: MessageSendEvent) {
        if self.gate.is_blocked() {
            self.gate.held_msgs.push(ev);
        } else {
            out.msgs.push(ev);
        }
    }
    /// Raises `event` now, or holds it while a monitor update is in progress.
    pub(crate) fn event(&mut self, out: &mut Outbox, event: Event) {
        if self.gate.is_blocked() {
            self.gate.held_events.push(event);
        } else {
            out.events.push(event);
        }
    }
    pub(crate) fn node_id(&self) -> PublicKey {
        self.chan.counterparty_node_id()
    }
}

/// The node's channels and payments. See the module documentation.
pub struct ChannelManager<M, T, F, R, L, K: KeysInterface> {
    pub(crate) chain_hash: ChainHash,
    pub(crate) config: UserConfig,
    pub(crate) chain_monitor: M,
    pub(crate) tx_broadcaster: T,
    pub(crate) fee_estimator: F,
    pub(crate) router: R,
    pub(crate) logger: L,
    pub(crate) keys: K,
    pub(crate) secp_ctx: Secp256k1<All>,
    pub(crate) our_node_id: PublicKey,
    pub(crate) inbound_payment_key: ExpandedKey,
    pub(crate) best_block: Mutex<BestBlock>,
    /// The latest block header time seen (for invoice expiry).
    pub(crate) highest_seen_timestamp: Mutex<u32>,
    pub(crate) state: Mutex<ManagerState<SignerOf<K>>>,
    pub(crate) pending_events: Mutex<Vec<Event>>,
    pub(crate) pending_msg_events: Mutex<Vec<MessageSendEvent>>,
    /// Whether every channel this manager closed left a trace its monitor
    /// can be checked against (a closed monitor, or a recorded in-flight
    /// closing update). False only for a manager read from a version that
    /// did not record cooperative closes.
    pub(crate) records_every_close: bool,
}

/// The minimum final CLTV delta we accept for payments to us.
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u32 = 18;

/// The most inbound channels a peer may have waiting for funding (accepted
/// or awaiting manual acceptance) at once; more `open_channel`s are refused,
/// so a peer cannot make us hold unbounded state (LDK uses the same bound).
pub const MAX_UNFUNDED_CHANNELS_PER_PEER: usize = 4;

/// Blocks an inbound channel waits for its funding transaction to confirm
/// before we give up on it (`ChannelClosed` with
/// [`ClosureReason::FundingTimedOut`]); BOLT 2 suggests 2016 for the fundee.
/// Channels we fund never time out: the funds are ours and the user decides.
pub const FUNDING_CONF_DEADLINE_BLOCKS: u32 = 2016;

/// Why a channel closes when the watch reports a monitor update it can never
/// persist (closed with [`ClosureReason::MonitorPersistenceFailed`]).
const MONITOR_FAILURE_TEXT: &str = "monitor update failed irrecoverably";
/// The same for the first monitor of a channel.
const NEW_MONITOR_FAILURE_TEXT: &str = "persisting the new monitor failed";

/// How many [`ChannelManager::timer_tick_occurred`] calls a resolved outbound
/// payment is remembered for: until then, sending again with its
/// `PaymentId` is refused as a duplicate; after, the id is forgotten (so the
/// manager does not grow with every payment ever sent).
pub const IDEMPOTENCY_TIMEOUT_TICKS: u8 = 7;

impl<S: EcdsaChannelSigner> PeerState<S> {
    /// Inbound channels of the peer not funded yet, and requests waiting
    /// for manual acceptance.
    pub(crate) fn unfunded_inbound_count(&self) -> usize {
        let accepted =
            self.channels.values().filter(|p| matches!(p, ChannelPhase::UnfundedInbound(_))).count();
        accepted.saturating_add(self.open_requests.len())
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
    /// A manager with no channels.
    ///
    /// `inbound_payment_key_material` derives payment secrets and preimages
    /// (`KeysManager::get_inbound_payment_key_material`). Fails if the
    /// signer cannot give our node id.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        fee_estimator: F, chain_monitor: M, tx_broadcaster: T, router: R, logger: L, keys: K,
        config: UserConfig, params: ChainParameters, inbound_payment_key_material: [u8; 32],
        current_timestamp: u32,
    ) -> Result<Self, crate::sign::SignError> {
        let our_node_id = keys.get_node_id(Recipient::Node)?;
        Ok(ChannelManager {
            chain_hash: ChainHash::using_genesis_block(params.network),
            config,
            chain_monitor,
            tx_broadcaster,
            fee_estimator,
            router,
            logger,
            keys,
            secp_ctx: Secp256k1::new(),
            our_node_id,
            inbound_payment_key: ExpandedKey::new(&inbound_payment_key_material),
            best_block: Mutex::new(params.best_block),
            highest_seen_timestamp: Mutex::new(current_timestamp),
            state: Mutex::new(ManagerState {
                peers: BTreeMap::new(),
                outbound_payments: BTreeMap::new(),
                claimable_payments: BTreeMap::new(),
                closed_channel_monitor_updates: BTreeMap::new(),
            }),
            pending_events: Mutex::new(Vec::new()),
            pending_msg_events: Mutex::new(Vec::new()),
            records_every_close: true,
        })
    }

    /// Our node id.
    pub fn get_our_node_id(&self) -> PublicKey {
        self.our_node_id
    }

    /// The best block the manager has seen.
    pub fn current_best_block(&self) -> BestBlock {
        *self.best_block.lock()
    }

    /// The configuration.
    pub fn get_current_config(&self) -> UserConfig {
        self.config
    }

    /// The keys provider.
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The features we offer in `init`.
    pub fn init_features(&self) -> InitFeatures {
        let mut f = InitFeatures::empty();
        f.set_data_loss_protect_optional();
        f.set_static_remote_key_required();
        f.set_payment_secret_required();
        f.set_variable_length_onion_required();
        f.set_basic_mpp_optional();
        f.set_optional(crate::ln::features::bits::CHANNEL_TYPE_FEATURE);
        f.set_optional(crate::ln::features::bits::SHUTDOWN_ANYSEGWIT);
        if self.config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx {
            f.set_anchors_zero_fee_htlc_tx_optional();
        }
        f
    }

    /// The features we offer in `node_announcement`.
    pub fn node_features(&self) -> NodeFeatures {
        self.init_features().to_context()
    }

    fn random_bytes(&self) -> [u8; 32] {
        self.keys.get_secure_random_bytes()
    }

    fn random_scid_alias(&self) -> ShortChannelId {
        let bytes = self.random_bytes();
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        // Keep the block-height part in a range no real block reaches soon,
        // so an alias never collides with a real short channel id.
        ShortChannelId((u64::from_be_bytes(b) & 0x003f_ffff_ffff_ffff) | (0x0080_0000u64 << 40))
    }

    /// Queues the messages `out` collected. Called while the state lock is
    /// held, so messages leave in the order the channel state produced them
    /// even when several threads drive the manager.
    pub(crate) fn flush_msgs(&self, out: &mut Outbox) {
        if !out.msgs.is_empty() {
            self.pending_msg_events.lock().append(&mut out.msgs);
        }
    }

    /// Hands out what `out` collected: messages and events to their queues,
    /// transactions to the broadcaster.
    pub(crate) fn flush(&self, out: Outbox) {
        if !out.msgs.is_empty() {
            self.pending_msg_events.lock().extend(out.msgs);
        }
        if !out.events.is_empty() {
            self.pending_events.lock().extend(out.events);
        }
        if !out.broadcasts.is_empty() {
            let txs: Vec<&Transaction> = out.broadcasts.iter().collect();
            for tx in &txs {
                log_info!(self.logger, "Broadcasting transaction {}", tx.compute_txid());
            }
            for tx in txs {
                self.tx_broadcaster.broadcast_transactions(&[tx]);
            }
        }
    }

    /// Hands `update` to the watch; on `InProgress` the channel's outgoing
    /// messages are held until it completes, and the update is kept (and
    /// persisted with the channel) until then.
    pub(crate) fn apply_monitor_update(
        &self, mc: &mut ManagedChannel<SignerOf<K>>, update: &ChannelMonitorUpdate,
    ) -> Result<(), ChannelError> {
        match self.chain_monitor.update_channel(mc.chan.channel_id(), update) {
            ChannelMonitorUpdateStatus::Completed => Ok(()),
            ChannelMonitorUpdateStatus::InProgress => {
                log_debug!(
                    self.logger,
                    channel = Some(mc.chan.channel_id()),
                    "Monitor update {} in progress: pausing the channel",
                    update.update_id
                );
                mc.gate.in_flight.push(update.clone());
                Ok(())
            }
            ChannelMonitorUpdateStatus::UnrecoverableError => {
                Err(ChannelError::MonitorFailed(MONITOR_FAILURE_TEXT.into()))
            }
        }
    }

    /// Builds the monitor of a newly funded channel and hands it to the
    /// watch.
    pub(crate) fn watch_new_channel(
        &self, mc: &mut ManagedChannel<SignerOf<K>>, steps: Vec<ChannelMonitorUpdateStep>,
    ) -> Result<(), ChannelError> {
        let chan = &mc.chan;
        let mut signer =
            self.keys.derive_channel_signer(chan.channel_value_satoshis(), chan.signer().channel_keys_id());
        signer
            .provide_channel_parameters(chan.channel_parameters())
            .map_err(|e| ChannelError::Close(format!("monitor signer: {e}")))?;
        let destination = self
            .keys
            .get_destination_script(chan.signer().channel_keys_id())
            .map_err(|e| ChannelError::Close(format!("destination script: {e}")))?;
        let monitor = ChannelMonitor::new(
            signer,
            chan.channel_id(),
            chan.counterparty_node_id(),
            chan.channel_parameters().clone(),
            destination,
            *self.best_block.lock(),
            steps,
        );
        match self.chain_monitor.watch_channel(chan.channel_id(), monitor) {
            Ok(ChannelMonitorUpdateStatus::Completed) => Ok(()),
            Ok(ChannelMonitorUpdateStatus::InProgress) => {
                mc.gate.initial_persist_in_flight = true;
                Ok(())
            }
            Ok(ChannelMonitorUpdateStatus::UnrecoverableError) => {
                Err(ChannelError::MonitorFailed(NEW_MONITOR_FAILURE_TEXT.into()))
            }
            Err(()) => Err(ChannelError::Close("a monitor for this channel already exists".into())),
        }
    }

    /// The monitor of `channel_id` is persisted up to `update_id`: forgets
    /// the updates that covers and releases what the channel held once none
    /// is left (for a closed channel, forgets its record).
    pub(crate) fn monitor_updated(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, channel_id: ChannelId, update_id: u64,
    ) {
        for peer in st.peers.values_mut() {
            if let Some(ChannelPhase::Funded(mc)) = peer.channels.get_mut(&channel_id) {
                if mc.gate.completed(update_id) {
                    log_debug!(
                        self.logger,
                        channel = Some(channel_id),
                        "Monitor caught up: resuming the channel"
                    );
                    mc.gate.release(out);
                }
                return;
            }
        }
        if let Some(record) = st.closed_channel_monitor_updates.get_mut(&channel_id) {
            record.updates.retain(|u| u.update_id > update_id);
            if record.updates.is_empty() {
                st.closed_channel_monitor_updates.remove(&channel_id);
            }
        }
    }

    /// Hands a closed channel's closing `update` to the watch and records it
    /// (after `earlier`, the channel's updates still in flight) unless the
    /// watch reports it persisted. A closing update that could not be
    /// persisted is recorded too, so start-up gives it to the monitor again.
    pub(crate) fn send_closing_monitor_update(
        &self, st: &mut ManagerState<SignerOf<K>>, node_id: PublicKey, channel_id: ChannelId,
        mut earlier: Vec<ChannelMonitorUpdate>, update: ChannelMonitorUpdate,
    ) {
        match self.chain_monitor.update_channel(channel_id, &update) {
            ChannelMonitorUpdateStatus::Completed => {}
            ChannelMonitorUpdateStatus::InProgress => earlier.push(update),
            ChannelMonitorUpdateStatus::UnrecoverableError => {
                log_error!(
                    self.logger,
                    channel = Some(channel_id),
                    "The monitor did not take or persist the closing update; start-up will hand it over again"
                );
                earlier.push(update);
            }
        }
        if !earlier.is_empty() {
            let record =
                st.closed_channel_monitor_updates.entry(channel_id).or_insert(ClosedChannelMonitorUpdates {
                    counterparty_node_id: node_id,
                    updates: Vec::new(),
                });
            record.updates.append(&mut earlier);
        }
    }

    /// Polls the watch for monitor events and acts on them.
    pub(crate) fn process_monitor_events(&self) {
        let batches = self.chain_monitor.release_pending_monitor_events();
        if batches.is_empty() {
            return;
        }
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            for batch in batches {
                for event in batch.events {
                    use crate::chain::channelmonitor::MonitorEvent;
                    match event {
                        MonitorEvent::Completed { monitor_update_id } => {
                            self.monitor_updated(&mut st, &mut out, batch.channel_id, monitor_update_id)
                        }
                        MonitorEvent::HolderForceClosed | MonitorEvent::CommitmentTxConfirmed => {
                            let reason = ClosureReason::CommitmentTxConfirmed;
                            self.force_close_locked(
                                &mut st,
                                &mut out,
                                batch.counterparty_node_id,
                                batch.channel_id,
                                reason,
                                None,
                                false,
                            );
                        }
                        MonitorEvent::HTLCEvent { source, payment_hash, payment_preimage, .. } => {
                            self.resolve_outbound_on_chain(
                                &mut st,
                                &mut out,
                                *source,
                                payment_hash,
                                payment_preimage,
                            );
                        }
                    }
                }
            }
            self.flush_msgs(&mut out);
        }
        self.flush(out);
    }

    /// Closes a channel by force (or gives up an unfunded one): tells its
    /// monitor, which broadcasts our latest commitment if `broadcast` (and
    /// we did not lose state), sends `error_msg` to the peer if given, and raises
    /// `ChannelClosed`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn force_close_locked(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId, reason: ClosureReason, error_msg: Option<String>, broadcast: bool,
    ) {
        let Some(peer) = st.peers.get_mut(&node_id) else { return };
        let Some(phase) = peer.channels.remove(&channel_id) else { return };
        log_error!(self.logger, channel = Some(channel_id), "Closing channel: {}", reason);
        let (user_channel_id, capacity) = match phase {
            ChannelPhase::Funded(mut mc) => {
                // Our funding transaction may still be held for the first
                // monitor write: then we never broadcast it, and the user
                // learns it can reuse the inputs (`DiscardFunding`). The
                // monitor still broadcasts our commitment: "held" may be
                // stale after a restart (the funding went out before the
                // manager was saved again), and should the funding confirm
                // after all, only our commitment gets the funds back; if it
                // never confirms, the broadcast is refused and harmless.
                let unbroadcast_funding = mc
                    .chan
                    .funding_transaction()
                    .filter(|tx| {
                        mc.gate.held_broadcasts.contains(tx) && mc.chan.funding_confirmed_at.is_none()
                    })
                    .cloned();
                mc.gate.held_broadcasts.clear();
                if let Some(tx) = &unbroadcast_funding {
                    out.events.push(Event::DiscardFunding {
                        channel_id,
                        funding_txid: tx.compute_txid(),
                        transaction: Some(tx.clone()),
                    });
                }
                // The monitor signs and broadcasts our latest commitment
                // (never after we lost state).
                let broadcast = broadcast && !mc.chan.lost_state();
                let update = mc.chan.force_close(broadcast);
                let in_flight = core::mem::take(&mut mc.gate.in_flight);
                self.send_closing_monitor_update(st, node_id, channel_id, in_flight, update);
                // Whatever the monitor gate held is moot now, except events.
                out.events.append(&mut mc.gate.held_events);
                (mc.chan.user_channel_id(), mc.chan.channel_value_satoshis())
            }
            ChannelPhase::UnfundedOutbound(chan) => {
                if let Some(tx) = chan.funding_transaction() {
                    out.events.push(Event::DiscardFunding {
                        channel_id,
                        funding_txid: tx.compute_txid(),
                        transaction: Some(tx.clone()),
                    });
                }
                (chan.user_channel_id(), chan.channel_value_satoshis())
            }
            ChannelPhase::UnfundedInbound(chan) => (chan.user_channel_id(), chan.channel_value_satoshis()),
        };
        if let Some(text) = error_msg {
            out.msgs.push(MessageSendEvent::HandleError {
                node_id,
                action: ErrorAction::SendErrorMessage { msg: ErrorMessage::new(channel_id, &text) },
            });
        }
        out.events.push(Event::ChannelClosed {
            channel_id,
            user_channel_id,
            reason,
            counterparty_node_id: Some(node_id),
            channel_capacity_sats: Some(capacity),
        });
    }

    /// Acts on an error a channel returned while handling a message from
    /// `node_id`.
    pub(crate) fn handle_channel_error(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        channel_id: ChannelId, err: ChannelError,
    ) {
        match err {
            ChannelError::Ignore(text) => {
                log_debug!(self.logger, channel = Some(channel_id), "Ignoring: {}", text);
            }
            ChannelError::Warn(text) => out.msgs.push(MessageSendEvent::HandleError {
                node_id,
                action: ErrorAction::SendWarningMessage {
                    msg: msgs::WarningMessage::new(channel_id, &text),
                    log_level: crate::util::logger::Level::Warn,
                },
            }),
            ChannelError::Close(_) | ChannelError::MonitorFailed(_) => {
                let lost = matches!(
                    st.peers.get(&node_id).and_then(|p| p.channels.get(&channel_id)),
                    Some(ChannelPhase::Funded(mc)) if mc.chan.lost_state()
                );
                let reason = err.closure_reason();
                let text = err.text().to_owned();
                self.force_close_locked(st, out, node_id, channel_id, reason, Some(text), !lost);
            }
        }
    }

    /// Opens a channel of `channel_value_satoshis` to a connected peer,
    /// pushing `push_msat` to it. Returns the temporary channel id; a
    /// `FundingGenerationReady` event follows once the peer accepts.
    pub fn create_channel(
        &self, their_network_key: PublicKey, channel_value_satoshis: u64, push_msat: u64,
        user_channel_id: u128, override_config: Option<UserConfig>,
    ) -> Result<ChannelId, APIError> {
        let config = override_config.unwrap_or(self.config);
        let mut st = self.state.lock();
        let peer = st
            .peers
            .get_mut(&their_network_key)
            .filter(|p| p.connected)
            .ok_or(APIError::APIMisuseError { err: "peer is not connected".into() })?;
        let features = peer.features.clone().unwrap_or_else(InitFeatures::empty);
        let keys_id = self.keys.generate_channel_keys_id(false, channel_value_satoshis, user_channel_id);
        let signer = self.keys.derive_channel_signer(channel_value_satoshis, keys_id);
        let temporary_channel_id = ChannelId(self.random_bytes());
        let chan = OutboundV1Channel::new(
            &self.fee_estimator,
            signer,
            their_network_key,
            &features,
            channel_value_satoshis,
            push_msat,
            user_channel_id,
            &config,
            temporary_channel_id,
        )
        .map_err(|e| APIError::APIMisuseError { err: e.to_string() })?;
        let msg = chan
            .get_open_channel(self.chain_hash)
            .map_err(|e| APIError::APIMisuseError { err: e.to_string() })?;
        peer.channels.insert(temporary_channel_id, ChannelPhase::UnfundedOutbound(chan));
        self.pending_msg_events
            .lock()
            .push(MessageSendEvent::SendOpenChannel { node_id: their_network_key, msg });
        drop(st);
        Ok(temporary_channel_id)
    }

    /// Accepts an inbound channel raised as `OpenChannelRequest` (when
    /// manual acceptance is configured).
    pub fn accept_inbound_channel(
        &self, temporary_channel_id: &ChannelId, counterparty_node_id: &PublicKey, user_channel_id: u128,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let peer = st
                .peers
                .get_mut(counterparty_node_id)
                .ok_or(APIError::ChannelUnavailable { err: "unknown peer".into() })?;
            let msg = peer
                .open_requests
                .remove(temporary_channel_id)
                .ok_or(APIError::ChannelUnavailable { err: "no such channel request".into() })?;
            if !peer.connected {
                return Err(APIError::ChannelUnavailable { err: "peer disconnected".into() });
            }
            self.accept_open_channel(&mut st, &mut out, *counterparty_node_id, &msg, user_channel_id);
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }

    /// Refuses an inbound channel raised as `OpenChannelRequest` (when
    /// manual acceptance is configured): forgets the request and sends the
    /// peer an `error` for its temporary channel id, so it can give up the
    /// channel. Errs if there is no such pending request from that peer
    /// (never raised, already accepted or rejected, or the peer
    /// disconnected, which drops its requests).
    pub fn reject_inbound_channel(
        &self, temporary_channel_id: &ChannelId, counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let peer = st
                .peers
                .get_mut(counterparty_node_id)
                .ok_or(APIError::ChannelUnavailable { err: "unknown peer".into() })?;
            peer.open_requests
                .remove(temporary_channel_id)
                .ok_or(APIError::ChannelUnavailable { err: "no such channel request".into() })?;
            log_debug!(self.logger, peer = Some(*counterparty_node_id), "Rejecting an inbound channel");
            out.msgs.push(MessageSendEvent::HandleError {
                node_id: *counterparty_node_id,
                action: ErrorAction::SendErrorMessage {
                    msg: ErrorMessage::new(*temporary_channel_id, "channel request rejected"),
                },
            });
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }

    /// Accepts (or refuses with an `error`) an `open_channel`.
    pub(crate) fn accept_open_channel(
        &self, st: &mut ManagerState<SignerOf<K>>, out: &mut Outbox, node_id: PublicKey,
        msg: &msgs::OpenChannel, user_channel_id: u128,
    ) {
        let keys_id = self.keys.generate_channel_keys_id(true, msg.funding_satoshis, user_channel_id);
        let signer = self.keys.derive_channel_signer(msg.funding_satoshis, keys_id);
        let result = InboundV1Channel::new(
            &self.fee_estimator,
            signer,
            node_id,
            msg,
            self.chain_hash,
            user_channel_id,
            &self.config,
        )
        .and_then(|chan| Ok((chan.get_accept_channel()?, chan)));
        let Some(peer) = st.peers.get_mut(&node_id) else { return };
        match result {
            Ok((accept, chan)) => {
                if peer.unfunded_inbound_count() >= MAX_UNFUNDED_CHANNELS_PER_PEER {
                    out.msgs.push(MessageSendEvent::HandleError {
                        node_id,
                        action: ErrorAction::SendErrorMessage {
                            msg: ErrorMessage::new(
                                msg.temporary_channel_id,
                                "too many unfunded channels: fund the ones you opened first",
                            ),
                        },
                    });
                    return;
                }
                if peer.channels.contains_key(&msg.temporary_channel_id) {
                    out.msgs.push(MessageSendEvent::HandleError {
                        node_id,
                        action: ErrorAction::SendErrorMessage {
                            msg: ErrorMessage::new(
                                msg.temporary_channel_id,
                                "temporary channel id already used",
                            ),
                        },
                    });
                    return;
                }
                peer.channels.insert(msg.temporary_channel_id, ChannelPhase::UnfundedInbound(chan));
                out.msgs.push(MessageSendEvent::SendAcceptChannel { node_id, msg: accept });
            }
            Err(e) => {
                log_debug!(self.logger, peer = Some(node_id), "Refusing open_channel: {}", e);
                out.msgs.push(MessageSendEvent::HandleError {
                    node_id,
                    action: ErrorAction::SendErrorMessage {
                        msg: ErrorMessage::new(msg.temporary_channel_id, e.text()),
                    },
                });
            }
        }
    }

    /// The user built (and signed) the funding transaction of a channel we
    /// are opening: we sign the peer's first commitment and send
    /// `funding_created`. We broadcast the transaction once the peer's
    /// `funding_signed` is checked and the monitor persisted.
    pub fn funding_transaction_generated(
        &self, temporary_channel_id: &ChannelId, counterparty_node_id: &PublicKey,
        funding_transaction: Transaction,
    ) -> Result<(), APIError> {
        let mut st = self.state.lock();
        let peer = st
            .peers
            .get_mut(counterparty_node_id)
            .ok_or(APIError::ChannelUnavailable { err: "unknown peer".into() })?;
        let Some(ChannelPhase::UnfundedOutbound(chan)) = peer.channels.get(temporary_channel_id) else {
            return Err(APIError::ChannelUnavailable { err: "no such channel awaiting funding".into() });
        };
        // The channel id is the funding outpoint: one already in use (the
        // same output given twice) must not replace a live channel.
        let script = chan.funding_output_script();
        let vout = funding_transaction.output.iter().position(|o| Some(&o.script_pubkey) == script.as_ref());
        if let Some(vout) = vout.and_then(|v| u16::try_from(v).ok()) {
            let txid = funding_transaction.compute_txid();
            if peer.channels.contains_key(&ChannelId::v1_from_funding_outpoint(txid, vout)) {
                return Err(APIError::APIMisuseError {
                    err: "this funding output already funds a channel with this peer".into(),
                });
            }
        }
        let Some(ChannelPhase::UnfundedOutbound(chan)) = peer.channels.get_mut(temporary_channel_id) else {
            return Err(APIError::ChannelUnavailable { err: "no such channel awaiting funding".into() });
        };
        let msg = chan
            .funding_transaction_generated(&self.secp_ctx, funding_transaction)
            .map_err(|e| APIError::APIMisuseError { err: e.to_string() })?;
        let channel_id = ChannelId::v1_from_funding_outpoint(msg.funding_txid, msg.funding_output_index);
        if let Some(phase) = peer.channels.remove(temporary_channel_id) {
            peer.channels.insert(channel_id, phase);
        }
        self.pending_msg_events
            .lock()
            .push(MessageSendEvent::SendFundingCreated { node_id: *counterparty_node_id, msg });
        drop(st);
        Ok(())
    }

    /// Starts a cooperative close: signs anything pending, then sends
    /// `shutdown`. The closing transaction is broadcast once the fee is
    /// agreed (a `ChannelClosed` event follows).
    pub fn close_channel(
        &self, channel_id: &ChannelId, counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        let script = self
            .keys
            .get_shutdown_scriptpubkey()
            .map_err(|e| APIError::APIMisuseError { err: format!("no shutdown script: {e}") })?;
        let mut out = Outbox::default();
        let result = {
            let mut st = self.state.lock();
            let result =
                match st.peers.get_mut(counterparty_node_id).and_then(|p| p.channels.get_mut(channel_id)) {
                    Some(ChannelPhase::Funded(mc)) => {
                        let res = self.sign_and_send_commitment(mc, &mut out).and_then(|_| {
                            let msg = mc.chan.get_shutdown(script)?;
                            let node_id = mc.node_id();
                            mc.send(&mut out, MessageSendEvent::SendShutdown { node_id, msg });
                            Ok(())
                        });
                        match res {
                            Err(ChannelError::Ignore(err)) => Err(APIError::ChannelRefused { err }),
                            Err(e) => {
                                let text = e.to_string();
                                self.handle_channel_error(
                                    &mut st,
                                    &mut out,
                                    *counterparty_node_id,
                                    *channel_id,
                                    e,
                                );
                                Err(APIError::ChannelRefused { err: text })
                            }
                            Ok(()) => Ok(()),
                        }
                    }
                    Some(_) => {
                        let reason = ClosureReason::HolderForceClosed;
                        let text = Some("channel closed before funding".to_string());
                        self.force_close_locked(
                            &mut st,
                            &mut out,
                            *counterparty_node_id,
                            *channel_id,
                            reason,
                            text,
                            false,
                        );
                        Ok(())
                    }
                    None => Err(APIError::ChannelUnavailable { err: "no such channel".into() }),
                };
            self.flush_msgs(&mut out);
            result
        };
        self.flush(out);
        result
    }

    /// Force-closes a channel: our latest commitment is broadcast and the
    /// peer gets an `error`.
    pub fn force_close_broadcasting_latest_txn(
        &self, channel_id: &ChannelId, counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            if st.peers.get(counterparty_node_id).and_then(|p| p.channels.get(channel_id)).is_none() {
                return Err(APIError::ChannelUnavailable { err: "no such channel".into() });
            }
            self.force_close_locked(
                &mut st,
                &mut out,
                *counterparty_node_id,
                *channel_id,
                ClosureReason::HolderForceClosed,
                Some("Channel force-closed".into()),
                true,
            );
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }

    /// Signs a new commitment for the peer if there is something to sign,
    /// handing the monitor update to the watch first. Any unsent updates
    /// go out with it in one `UpdateHTLCs`.
    pub(crate) fn sign_and_send_commitment(
        &self, mc: &mut ManagedChannel<SignerOf<K>>, out: &mut Outbox,
    ) -> Result<(), ChannelError> {
        if let Some((commitment_signed, update)) = mc.chan.send_commitment()? {
            self.apply_monitor_update(mc, &update)?;
            let node_id = mc.node_id();
            let channel_id = mc.chan.channel_id();
            let updates =
                msgs::CommitmentUpdate { commitment_signed: Some(commitment_signed), ..Default::default() };
            mc.send(out, MessageSendEvent::UpdateHTLCs { node_id, channel_id, updates });
        }
        Ok(())
    }

    /// How many peers the manager keeps state for (tests of its housekeeping).
    #[cfg(test)]
    pub(crate) fn known_peer_count(&self) -> usize {
        self.state.lock().peers.len()
    }

    /// Every channel.
    pub fn list_channels(&self) -> Vec<ChannelDetails> {
        let st = self.state.lock();
        let height = self.best_block.lock().height;
        let mut out = Vec::new();
        for (node_id, peer) in st.peers.iter() {
            for (id, phase) in peer.channels.iter() {
                out.push(match phase {
                    ChannelPhase::Funded(mc) => {
                        let c = &mc.chan;
                        let contents = &c.commitments().local_commit.contents;
                        ChannelDetails {
                            channel_id: *id,
                            counterparty_node_id: *node_id,
                            funding_txo: Some(c.channel_parameters().funding_outpoint()),
                            short_channel_id: c.short_channel_id(),
                            inbound_scid_alias: Some(c.holder_scid_alias()),
                            outbound_scid_alias: c.counterparty_scid_alias(),
                            channel_value_satoshis: c.channel_value_satoshis(),
                            balance_msat: c.balance_msat(),
                            next_outbound_htlc_limit_msat: if c.is_usable() {
                                c.next_outbound_htlc_limit_msat()
                            } else {
                                0
                            },
                            next_outbound_htlc_minimum_msat: c.counterparty_params().htlc_minimum_msat,
                            inbound_capacity_msat: contents.to_remote_msat,
                            is_outbound: c.is_outbound(),
                            is_channel_ready: !matches!(
                                c.state(),
                                crate::ln::channel::ChannelState::AwaitingChannelReady
                            ),
                            is_usable: c.is_usable() && peer.connected,
                            user_channel_id: c.user_channel_id(),
                            channel_type: Some(c.channel_type().clone()),
                            confirmations: Some(c.funding_depth(height)),
                            pending_htlcs: contents.htlcs.len(),
                        }
                    }
                    ChannelPhase::UnfundedOutbound(c) => {
                        unfunded_details(*id, *node_id, c.channel_value_satoshis(), true, c.user_channel_id())
                    }
                    ChannelPhase::UnfundedInbound(c) => {
                        unfunded_details(*id, *node_id, c.channel_value_satoshis(), false, 0)
                    }
                });
            }
        }
        out
    }

    /// The channels that can carry a payment now.
    pub fn list_usable_channels(&self) -> Vec<ChannelDetails> {
        self.list_channels().into_iter().filter(|c| c.is_usable).collect()
    }

    /// Runs `f` on a funded channel (for tests and tools that inspect
    /// channel state).
    pub fn with_funded_channel<Ret>(
        &self, counterparty_node_id: &PublicKey, channel_id: &ChannelId,
        f: impl FnOnce(&FundedChannel<SignerOf<K>>) -> Ret,
    ) -> Option<Ret> {
        let st = self.state.lock();
        match st.peers.get(counterparty_node_id)?.channels.get(channel_id)? {
            ChannelPhase::Funded(mc) => Some(f(&mc.chan)),
            _ => None,
        }
    }

    /// Whether a channel is paused waiting for a monitor update.
    pub fn is_channel_paused(&self, counterparty_node_id: &PublicKey, channel_id: &ChannelId) -> bool {
        let st = self.state.lock();
        matches!(
            st.peers.get(counterparty_node_id).and_then(|p| p.channels.get(channel_id)),
            Some(ChannelPhase::Funded(mc)) if mc.gate.is_blocked()
        )
    }
}

fn unfunded_details(
    channel_id: ChannelId, counterparty_node_id: PublicKey, channel_value_satoshis: u64, is_outbound: bool,
    user_channel_id: u128,
) -> ChannelDetails {
    ChannelDetails {
        channel_id,
        counterparty_node_id,
        funding_txo: None,
        short_channel_id: None,
        inbound_scid_alias: None,
        outbound_scid_alias: None,
        channel_value_satoshis,
        balance_msat: 0,
        next_outbound_htlc_limit_msat: 0,
        next_outbound_htlc_minimum_msat: 0,
        inbound_capacity_msat: 0,
        is_outbound,
        is_channel_ready: false,
        is_usable: false,
        user_channel_id,
        channel_type: None,
        confirmations: None,
        pending_htlcs: 0,
    }
}
