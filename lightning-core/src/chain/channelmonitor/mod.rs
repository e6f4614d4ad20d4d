//! `ChannelMonitor`: everything needed to enforce one channel on chain, kept
//! current by a stream of [`ChannelMonitorUpdate`]s from the channel.
//!
//! The channel never moves forward before the monitor has the update that
//! makes it safe to (see `chain::Watch`). Each update carries a strictly
//! increasing `update_id`; a monitor applies them in order and refuses a gap.
//! Commitment transactions are not stored: a monitor keeps what they are built
//! from ([`CommitmentSpec`], the per-commitment point and the counterparty's
//! signatures) and rebuilds them from the channel parameters when needed.
//!
//! What a monitor holds (see [`ChannelMonitor`]):
//! - our latest commitment (and the one before it, which may not be revoked
//!   yet), rebuilt and checked when each update arrives;
//! - the counterparty's unrevoked commitments by txid, and for each revoked
//!   one its number and HTLC outputs (what a justice transaction will need);
//! - the counterparty's revocation secrets in compact shachain storage, each
//!   checked before it is stored;
//! - payment preimages and the sources of the HTLCs we offered.
//!
//! Submodules (private, one job each): `state` applies updates
//! (all-or-nothing), `blocks` follows the chain (funding spend, HTLC
//! deadlines), `onchain` builds and broadcasts what the monitor puts on chain
//! and documents the seam for the claims a later version adds, `ser`
//! (de)serializes everything.

mod blocks;
mod onchain;
#[cfg(test)]
mod props;
mod ser;
mod state;
#[cfg(test)]
mod tests;

pub use ser::MONITOR_SERIALIZATION_VERSION;
pub use state::{FundingSpend, FundingSpendKind, RevocationSecretError};

use crate::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use crate::chain::{BestBlock, Filter, WatchedOutput};
use crate::ln::chan_utils::commitment::CommitmentSpec;
use crate::ln::chan_utils::ChannelTransactionParameters;
use crate::ln::chan_utils::HTLCOutputInCommitment;
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, ShortChannelId};
use crate::prelude::*;
use crate::sign::{EcdsaChannelSigner, SignError};
use crate::util::logger::Logger;
use bitcoin::block::Header;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid};

use state::MonitorState;

/// `update_id` of the update a monitor is created at (its initial state).
pub const INITIAL_UPDATE_ID: u64 = 0;
/// `update_id` of updates issued after the channel closed: always applied,
/// whatever the monitor's current id.
pub const CLOSED_CHANNEL_UPDATE_ID: u64 = u64::MAX;
/// One hop of an outbound payment path, as the monitor remembers it to report
/// a resolution back to the payer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutboundPathHop {
    /// The hop's node id.
    pub node_id: PublicKey,
    /// The channel into the hop.
    pub short_channel_id: ShortChannelId,
    /// The fee paid to this hop (for the last hop: the amount delivered).
    pub fee_msat: u64,
    /// The CLTV delta of this hop (for the last hop: the final CLTV delta).
    pub cltv_expiry_delta: u32,
}

/// The incoming HTLC an outgoing one was forwarded from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HTLCPreviousHopData {
    /// The channel it came in on.
    pub channel_id: ChannelId,
    /// The peer it came from.
    pub counterparty_node_id: PublicKey,
    /// Its id in that channel.
    pub htlc_id: u64,
    /// The onion shared secret, to encrypt a failure back.
    pub incoming_packet_shared_secret: [u8; 32],
}

/// Where an HTLC we offered came from: a forward or our own payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HTLCSource {
    /// Forwarded from another channel.
    PreviousHop(HTLCPreviousHopData),
    /// Our own payment.
    OutboundRoute {
        /// The payment's idempotency id.
        payment_id: PaymentId,
        /// The onion session key, to decrypt failures.
        session_priv: SecretKey,
        /// The path the HTLC takes.
        path: Vec<OutboundPathHop>,
    },
}

/// One change to a monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelMonitorUpdateStep {
    /// Our new commitment, with the counterparty's signatures: what we would
    /// broadcast from now on.
    LatestHolderCommitment {
        /// What the commitment commits to (rebuilt with the channel
        /// parameters and `per_commitment_point`).
        spec: CommitmentSpec,
        /// Our per-commitment point for it.
        per_commitment_point: PublicKey,
        /// The counterparty's signature on the commitment.
        counterparty_sig: Signature,
        /// The counterparty's signatures on our HTLC transactions, in output
        /// order.
        counterparty_htlc_sigs: Vec<Signature>,
        /// The source of each HTLC we offered in it, by payment hash and
        /// amount (HTLCs we received have no source here).
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    },
    /// The counterparty's new commitment, which we signed.
    LatestCounterpartyCommitment {
        /// Its txid.
        commitment_txid: Txid,
        /// What it commits to.
        spec: CommitmentSpec,
        /// Their per-commitment point for it.
        their_per_commitment_point: PublicKey,
        /// The source of each HTLC we offered in it.
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    },
    /// We learned a preimage: claim HTLCs with this hash on chain if needed.
    PaymentPreimage {
        /// The preimage.
        payment_preimage: PaymentPreimage,
    },
    /// The counterparty revoked a commitment.
    CommitmentSecret {
        /// The revoked commitment's number (counting up from 0).
        commitment_number: u64,
        /// Its per-commitment secret.
        secret: [u8; 32],
    },
    /// The channel was force-closed; broadcast our latest commitment if
    /// `should_broadcast`.
    ChannelForceClosed {
        /// Whether we broadcast (false when the counterparty's commitment is
        /// already on chain, or we must not, e.g. after data loss).
        should_broadcast: bool,
    },
    /// The counterparty's shutdown script, once known.
    ShutdownScript {
        /// The script.
        scriptpubkey: ScriptBuf,
    },
    /// Both sides signed the closing transaction of a cooperative close
    /// (the `closing_signed` fee was agreed): the channel is closed off
    /// chain and will never have another commitment.
    ///
    /// Sent with [`CLOSED_CHANNEL_UPDATE_ID`], like
    /// [`Self::ChannelForceClosed`], and closes the monitor the same way
    /// (commitment updates are refused from then on) but broadcasts nothing:
    /// the manager broadcasts the closing transaction itself. The monitor
    /// keeps it and rebroadcasts it
    /// ([`ChannelMonitor::rebroadcast_pending_claims`]) until something
    /// spends the funding output, so a closing transaction that was lost
    /// before it reached the network is not forgotten with the channel; it
    /// never broadcasts our commitment on its own (there is no HTLC left to
    /// protect, and it would race the closing transaction). A monitor with
    /// this step is closed, so at start-up it is known as a cooperative close
    /// rather than a channel the manager forgot.
    CooperativeClose {
        /// The fully signed closing transaction (it must spend the funding
        /// output).
        closing_tx: Transaction,
    },
}

impl ChannelMonitorUpdateStep {
    /// Whether the step closes the channel
    /// ([`Self::ChannelForceClosed`] or [`Self::CooperativeClose`]): such a
    /// step is sent with [`CLOSED_CHANNEL_UPDATE_ID`].
    pub fn closes_channel(&self) -> bool {
        matches!(
            self,
            ChannelMonitorUpdateStep::ChannelForceClosed { .. }
                | ChannelMonitorUpdateStep::CooperativeClose { .. }
        )
    }
}

/// An ordered batch of changes to one channel's monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMonitorUpdate {
    /// Strictly increasing per channel ([`CLOSED_CHANNEL_UPDATE_ID`] after
    /// close).
    pub update_id: u64,
    /// The channel.
    pub channel_id: ChannelId,
    /// The changes, applied in order.
    pub updates: Vec<ChannelMonitorUpdateStep>,
}

/// Something a monitor reports back to the channel manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorEvent {
    /// An HTLC we offered was resolved on chain: claimed with its preimage or
    /// timed out.
    HTLCEvent {
        /// Where the HTLC came from.
        source: Box<HTLCSource>,
        /// Its payment hash.
        payment_hash: PaymentHash,
        /// The preimage if claimed, `None` if it timed out.
        payment_preimage: Option<PaymentPreimage>,
        /// Its amount.
        htlc_value_msat: u64,
    },
    /// We broadcast our commitment: the channel is closed.
    HolderForceClosed,
    /// A commitment transaction confirmed: the channel is closed on chain.
    CommitmentTxConfirmed,
    /// Updates up to `monitor_update_id` are persisted (asynchronous
    /// persistence completed).
    Completed {
        /// The latest persisted update.
        monitor_update_id: u64,
    },
}

/// A monitor's events, with the channel they are about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorEventBatch {
    /// The channel's funding outpoint.
    pub funding_outpoint: OutPoint,
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// The events, oldest first.
    pub events: Vec<MonitorEvent>,
}

/// Outputs of a confirmed transaction that the monitor will need to watch
/// (for example a commitment's outputs, which later claims spend): the txid
/// and each `(output index, output)`.
pub type TransactionOutputs = (Txid, Vec<(u32, TxOut)>);

/// BOLT 2 "the deadline for offered HTLCs": the number of blocks `G` after an
/// HTLC we offered expires that we wait for the peer to fail it off chain
/// before we broadcast our commitment to time it out on chain (the spec
/// suggests 1 or 2).
pub const OFFERED_HTLC_GRACE_BLOCKS: u32 = 2;

/// BOLT 2 "the deadline for received HTLCs this node has fulfilled": if an
/// HTLC we know the preimage of is still in a commitment this many blocks
/// before its `cltv_expiry`, we broadcast our commitment to claim it on chain
/// in time (`2R+G+S`; the spec suggests 18).
pub const FULFILLED_HTLC_DEADLINE_BLOCKS: u32 = 18;

/// Why a monitor refused an update. A refused update changes nothing: the
/// monitor applies an update entirely or not at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorUpdateError {
    /// The update's id is not the next one: `expected`, got `got`.
    OutOfOrder {
        /// The id the monitor expected.
        expected: u64,
        /// The id it got.
        got: u64,
    },
    /// The update is for another channel.
    WrongChannel,
    /// The update changes a commitment after the channel closed (force-closed,
    /// our commitment broadcast, or the funding output spent on chain). We
    /// may already have broadcast the commitment it would replace, so the
    /// channel must not move on.
    CommitmentAfterClose,
    /// A revocation secret from the counterparty was refused.
    InvalidRevocationSecret(RevocationSecretError),
    /// The update is inconsistent with what the monitor holds; the text says
    /// how.
    Invalid(&'static str),
}

impl core::fmt::Display for MonitorUpdateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MonitorUpdateError::OutOfOrder { expected, got } => {
                write!(f, "monitor update out of order: expected id {expected}, got {got}")
            }
            MonitorUpdateError::WrongChannel => f.write_str("monitor update for another channel"),
            MonitorUpdateError::CommitmentAfterClose => {
                f.write_str("commitment update after the channel closed")
            }
            MonitorUpdateError::InvalidRevocationSecret(e) => write!(f, "revocation secret refused: {e}"),
            MonitorUpdateError::Invalid(why) => write!(f, "invalid monitor update: {why}"),
        }
    }
}

/// Why the monitor could not produce our signed commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HolderBroadcastError {
    /// The monitor never received a holder commitment.
    NoHolderCommitment,
    /// The signer refused or failed to sign it.
    Signer(SignError),
}

impl core::fmt::Display for HolderBroadcastError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HolderBroadcastError::NoHolderCommitment => f.write_str("no holder commitment to broadcast"),
            HolderBroadcastError::Signer(e) => write!(f, "cannot sign holder commitment: {e}"),
        }
    }
}

/// Watches one channel on chain. Kept current through
/// [`ChannelMonitor::update_monitor`], fed blocks through
/// [`ChannelMonitor::block_connected`] and friends (usually by
/// `chainmonitor::ChainMonitor`, which also persists it).
///
/// All methods take `&self`: the state sits behind one lock, so a monitor can
/// be shared between the thread that applies updates and the one that
/// connects blocks.
pub struct ChannelMonitor<Signer> {
    inner: crate::sync::Mutex<MonitorState<Signer>>,
}

impl<Signer> ChannelMonitor<Signer> {
    /// A monitor for a newly funded channel, at [`INITIAL_UPDATE_ID`].
    ///
    /// `initial_steps` hold the first commitments: a
    /// [`ChannelMonitorUpdateStep::LatestHolderCommitment`] (our commitment 0,
    /// signed by the counterparty in `funding_created`/`funding_signed`) and a
    /// [`ChannelMonitorUpdateStep::LatestCounterpartyCommitment`] (theirs).
    /// `destination_script` receives whatever we sweep on chain.
    ///
    /// The steps are checked like any update. If they are inconsistent (a bug
    /// in the caller) none is applied, [`Self::initial_steps_error`] says why,
    /// the monitor refuses every update, `ChainMonitor` refuses to watch it and
    /// it cannot be serialized. [`Self::try_new`] reports the error instead.
    pub fn new(
        signer: Signer, channel_id: ChannelId, counterparty_node_id: PublicKey,
        channel_parameters: ChannelTransactionParameters, destination_script: ScriptBuf,
        best_block: BestBlock, initial_steps: Vec<ChannelMonitorUpdateStep>,
    ) -> Self {
        let mut state = MonitorState::new(
            signer,
            channel_id,
            counterparty_node_id,
            channel_parameters,
            destination_script,
            best_block,
        );
        if let Err(e) = state.apply_initial_steps(&initial_steps) {
            state.initial_steps_error = Some(e);
        }
        ChannelMonitor { inner: crate::sync::Mutex::new(state) }
    }

    /// Like [`Self::new`], but fails if the initial steps are inconsistent.
    pub fn try_new(
        signer: Signer, channel_id: ChannelId, counterparty_node_id: PublicKey,
        channel_parameters: ChannelTransactionParameters, destination_script: ScriptBuf,
        best_block: BestBlock, initial_steps: Vec<ChannelMonitorUpdateStep>,
    ) -> Result<Self, MonitorUpdateError> {
        let monitor = Self::new(
            signer,
            channel_id,
            counterparty_node_id,
            channel_parameters,
            destination_script,
            best_block,
            initial_steps,
        );
        match monitor.initial_steps_error() {
            Some(e) => Err(e),
            None => Ok(monitor),
        }
    }

    pub(crate) fn from_state(state: MonitorState<Signer>) -> Self {
        ChannelMonitor { inner: crate::sync::Mutex::new(state) }
    }

    /// Why the initial steps given to [`Self::new`] were refused, if they
    /// were.
    pub fn initial_steps_error(&self) -> Option<MonitorUpdateError> {
        self.inner.lock().initial_steps_error.clone()
    }

    /// The channel this monitor watches.
    pub fn channel_id(&self) -> ChannelId {
        self.inner.lock().channel_id
    }

    /// The peer.
    pub fn counterparty_node_id(&self) -> PublicKey {
        self.inner.lock().counterparty_node_id
    }

    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.inner.lock().channel_parameters.funding_outpoint()
    }

    /// The funding output's script (P2WSH of the 2-of-2).
    pub fn funding_script_pubkey(&self) -> ScriptBuf {
        self.inner.lock().channel_parameters.funding_redeemscript().to_p2wsh()
    }

    /// The channel's transaction parameters.
    pub fn channel_parameters(&self) -> ChannelTransactionParameters {
        self.inner.lock().channel_parameters.clone()
    }

    /// The script our on-chain claims pay to.
    pub fn destination_script(&self) -> ScriptBuf {
        self.inner.lock().destination_script.clone()
    }

    /// The best block the monitor has seen.
    pub fn current_best_block(&self) -> BestBlock {
        self.inner.lock().best_block
    }

    /// The id of the last update applied ([`CLOSED_CHANNEL_UPDATE_ID`] once a
    /// closed-channel update was applied).
    pub fn latest_update_id(&self) -> u64 {
        self.inner.lock().latest_update_id
    }

    /// Whether the channel is closed as far as the monitor knows: it was
    /// force-closed or cooperatively closed, we broadcast our commitment, or
    /// the funding output was spent on chain. A closed monitor refuses
    /// commitment updates.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().is_closed()
    }

    /// The confirmed transaction spending the funding output, if one is in
    /// the chain the monitor follows.
    pub fn funding_spend(&self) -> Option<FundingSpend> {
        self.inner.lock().funding_spend.clone()
    }

    /// The txid of our latest commitment (the one we would broadcast).
    pub fn latest_holder_commitment_txid(&self) -> Option<Txid> {
        self.inner.lock().holder_txid(false)
    }

    /// The number of our latest commitment.
    pub fn latest_holder_commitment_number(&self) -> Option<u64> {
        self.inner.lock().holder_commitment.as_ref().map(|c| c.spec.commitment_number)
    }

    /// The txid of our previous commitment, kept because it may not be
    /// revoked yet.
    pub fn previous_holder_commitment_txid(&self) -> Option<Txid> {
        self.inner.lock().holder_txid(true)
    }

    /// The counterparty's unrevoked commitments: `(txid, commitment number)`,
    /// oldest first.
    pub fn counterparty_commitment_txids(&self) -> Vec<(Txid, u64)> {
        let state = self.inner.lock();
        let mut out: Vec<(Txid, u64)> = state
            .counterparty_commitments
            .iter()
            .map(|(txid, c)| (*txid, c.spec.commitment_number))
            .collect();
        out.sort_by_key(|(_, n)| *n);
        out
    }

    /// The number of the counterparty's commitments revoked so far (all
    /// numbers below it are revoked).
    pub fn counterparty_revoked_commitment_count(&self) -> u64 {
        self.inner.lock().counterparty_revoked_count()
    }

    /// The counterparty's revoked commitment with this txid, if it is one:
    /// its commitment number.
    pub fn revoked_counterparty_commitment_number(&self, txid: &Txid) -> Option<u64> {
        self.inner.lock().revoked_counterparty_commitments.get(txid).map(|r| r.commitment_number)
    }

    /// The per-commitment secret the counterparty revealed for its commitment
    /// `commitment_number`, if it did.
    pub fn counterparty_commitment_secret(&self, commitment_number: u64) -> Option<[u8; 32]> {
        let index = crate::ln::chan_utils::commitment_secret_index(commitment_number)?;
        self.inner.lock().counterparty_secrets.get_secret(index)
    }

    /// The preimage of `payment_hash`, if the monitor was given it.
    pub fn payment_preimage(&self, payment_hash: &PaymentHash) -> Option<PaymentPreimage> {
        self.inner.lock().payment_preimages.get(payment_hash).copied()
    }

    /// The counterparty's shutdown script, once known.
    pub fn counterparty_shutdown_script(&self) -> Option<ScriptBuf> {
        self.inner.lock().counterparty_shutdown_script.clone()
    }

    /// The closing transaction of the cooperative close the channel ended
    /// with, once a [`ChannelMonitorUpdateStep::CooperativeClose`] was
    /// applied.
    pub fn cooperative_closing_tx(&self) -> Option<Transaction> {
        self.inner.lock().cooperative_closing_tx.clone()
    }

    /// Takes the events produced since the last call.
    pub fn get_and_clear_pending_monitor_events(&self) -> Vec<MonitorEvent> {
        core::mem::take(&mut self.inner.lock().pending_events)
    }

    /// Runs `f` with the monitor's signer.
    pub fn with_signer<T>(&self, f: impl FnOnce(&Signer) -> T) -> T {
        f(&self.inner.lock().signer)
    }

    /// The outputs and transactions a filtering chain source must report for
    /// this monitor: the funding output (its spend closes the channel) and
    /// the funding transaction.
    pub fn get_outputs_to_watch(&self) -> (WatchedOutput, Txid) {
        let state = self.inner.lock();
        let outpoint = state.channel_parameters.funding_outpoint();
        let script_pubkey = state.channel_parameters.funding_redeemscript().to_p2wsh();
        (WatchedOutput { block_hash: None, outpoint, script_pubkey }, outpoint.txid)
    }

    /// Registers [`Self::get_outputs_to_watch`] with `filter`.
    pub fn load_outputs_to_watch(&self, filter: &dyn Filter) {
        let (output, funding_txid) = self.get_outputs_to_watch();
        filter.register_tx(&funding_txid, &output.script_pubkey);
        filter.register_output(output);
    }

    /// Transactions whose confirmation the monitor relies on (the funding
    /// spend), for `chain::Confirm::get_relevant_txids`.
    pub fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        self.inner
            .lock()
            .funding_spend
            .as_ref()
            .map(|s| (s.txid, s.height, Some(s.block_hash)))
            .into_iter()
            .collect()
    }

    /// Whether the chain data processed since the last call changed what the
    /// monitor must keep across a restart (a funding spend, a broadcast, new
    /// events), so it should be persisted again. Clears the flag.
    pub(crate) fn take_chain_sync_dirty(&self) -> bool {
        core::mem::take(&mut self.inner.lock().chain_sync_dirty)
    }
}

impl<Signer: EcdsaChannelSigner> ChannelMonitor<Signer> {
    /// Applies `update`, which must be the next in order, or a
    /// [`CLOSED_CHANNEL_UPDATE_ID`] update once the channel is closed (or
    /// one that closes it). All steps apply or none does.
    ///
    /// A [`ChannelMonitorUpdateStep::ChannelForceClosed`] with
    /// `should_broadcast` signs and broadcasts our latest commitment and
    /// queues [`MonitorEvent::HolderForceClosed`]. A
    /// [`ChannelMonitorUpdateStep::CooperativeClose`] closes the monitor
    /// without broadcasting anything. After the channel closed,
    /// commitment updates are refused ([`MonitorUpdateError::CommitmentAfterClose`]);
    /// preimages and revocation secrets are still taken.
    pub fn update_monitor(
        &self, update: &ChannelMonitorUpdate, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Result<(), MonitorUpdateError> {
        self.inner.lock().update_monitor(update, broadcaster, fee_estimator, logger)
    }

    /// Signs our latest commitment (our signature from the signer, the
    /// counterparty's from its `commitment_signed`, the 2-of-2 funding
    /// witness) and broadcasts it. The first time, this closes the monitor
    /// and queues [`MonitorEvent::HolderForceClosed`]; calling it again
    /// rebroadcasts. Returns the commitment's txid.
    ///
    /// This is for the user's explicit decision (for example after learning
    /// that the channel manager's state is stale); the channel reaches it
    /// through [`ChannelMonitorUpdateStep::ChannelForceClosed`].
    pub fn broadcast_latest_holder_commitment_txn(
        &self, broadcaster: &dyn BroadcasterInterface, fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Result<Txid, HolderBroadcastError> {
        let mut state = self.inner.lock();
        let txid = state.broadcast_latest_holder_commitment(broadcaster, fee_estimator, logger)?;
        state.chain_sync_dirty = true;
        Ok(txid)
    }

    /// Broadcasts again what the monitor has put on chain and is not
    /// confirmed yet (today: our commitment if we broadcast it, and the
    /// cooperative closing transaction if the channel closed that way, while
    /// the funding output is not spent). Call it now and then, e.g. on each
    /// new block or after a restart.
    pub fn rebroadcast_pending_claims(
        &self, broadcaster: &dyn BroadcasterInterface, fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) {
        self.inner.lock().rebroadcast_pending_claims(broadcaster, fee_estimator, logger)
    }

    /// A block was connected at `height`: processes `txdata` (all or the
    /// relevant transactions of the block) as confirmed, then moves the best
    /// block to it. Returns the outputs of newly confirmed relevant
    /// transactions, for a filtering chain source to watch.
    pub fn block_connected(
        &self, header: &Header, txdata: &crate::chain::TransactionData, height: u32,
        broadcaster: &dyn BroadcasterInterface, fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Vec<TransactionOutputs> {
        let mut state = self.inner.lock();
        let outputs = state.transactions_confirmed(header, txdata, height, logger);
        state.best_block_updated(header, height, broadcaster, fee_estimator, logger);
        outputs
    }

    /// The block at `height` was disconnected (a reorg): the best block goes
    /// back to its parent and anything the monitor saw confirmed in it is
    /// forgotten.
    pub fn block_disconnected(&self, header: &Header, height: u32, logger: &dyn Logger) {
        self.inner.lock().block_disconnected(header, height, logger)
    }

    /// `txdata` confirmed in the block at `height` (for chain sources that
    /// report confirmations rather than whole blocks). Returns the outputs to
    /// watch, as [`Self::block_connected`].
    pub fn transactions_confirmed(
        &self, header: &Header, txdata: &crate::chain::TransactionData, height: u32, logger: &dyn Logger,
    ) -> Vec<TransactionOutputs> {
        self.inner.lock().transactions_confirmed(header, txdata, height, logger)
    }

    /// A transaction reported confirmed is no longer in the chain.
    pub fn transaction_unconfirmed(&self, txid: &Txid, logger: &dyn Logger) {
        self.inner.lock().transaction_unconfirmed(txid, logger)
    }

    /// The best block is now at `height`: checks HTLC deadlines and
    /// broadcasts our commitment if one is reached (see
    /// [`OFFERED_HTLC_GRACE_BLOCKS`] and [`FULFILLED_HTLC_DEADLINE_BLOCKS`]).
    pub fn best_block_updated(
        &self, header: &Header, height: u32, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) {
        self.inner.lock().best_block_updated(header, height, broadcaster, fee_estimator, logger)
    }
}
