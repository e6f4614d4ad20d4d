//! `ChainMonitor`: the usual [`Watch`]. It holds every channel's
//! [`ChannelMonitor`], hands each new monitor and each update to a
//! [`Persist`] implementation, feeds the monitors blocks, and reports back to
//! the channel manager through [`Watch::release_pending_monitor_events`].
//!
//! # Persistence
//!
//! `watch_channel` calls [`Persist::persist_new_channel`] and `update_channel`
//! applies the update to the monitor, then calls
//! [`Persist::update_persisted_channel`] with it. The persister answers:
//! - [`ChannelMonitorUpdateStatus::Completed`]: on disk; the channel moves on.
//! - [`ChannelMonitorUpdateStatus::InProgress`]: being written; the channel
//!   pauses. When the write is done, the user calls
//!   [`ChainMonitor::channel_monitor_updated`] with the update's id (which
//!   also completes every earlier pending id), and a
//!   [`MonitorEvent::Completed`] for that id is queued for the channel
//!   manager. Completions for one channel come out in id order.
//! - [`ChannelMonitorUpdateStatus::UnrecoverableError`]: it will never be
//!   written; the channel force-closes. The monitor keeps the update in memory
//!   (watching the chain with the newest state is still the best we can do).
//!
//! When processing blocks changes what a monitor must remember (the funding
//! output was spent, it broadcast our commitment, it queued events), the
//! monitor is written again with `update_persisted_channel(name, None, ..)`.
//! If that returns `InProgress`, the monitor's events are held back until
//! `channel_monitor_updated` is called with an id at least the monitor's
//! `latest_update_id()` at the time of the write, so the manager never acts
//! on an event the monitor could forget in a crash. Only chain data that
//! changes the monitor triggers a write: the best block on disk may lag,
//! which only means more blocks are replayed after a restart.
//!
//! A [`Persist`] implementation must not call back into the `ChainMonitor`
//! (in particular `channel_monitor_updated`) from inside its methods: report
//! completion after returning `InProgress`, from wherever the write finishes.

use core::fmt;
use core::ops::Deref;

use bitcoin::block::Header;
use bitcoin::{BlockHash, OutPoint, Txid};

use crate::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use crate::chain::channelmonitor::{
    ChannelMonitor, ChannelMonitorUpdate, MonitorEvent, MonitorEventBatch, TransactionOutputs,
};
use crate::chain::{
    ChannelMonitorUpdateStatus, Confirm, Filter, Listen, TransactionData, Watch, WatchedOutput,
};
use crate::ln::types::ChannelId;
use crate::prelude::*;
use crate::sign::{EcdsaChannelSigner, InMemorySigner};
use crate::sync::{Mutex, RwLock, RwLockReadGuard};
use crate::util::logger::Logger;
use crate::{log_debug, log_error, log_info};

/// The name a monitor is stored under: its channel's funding outpoint,
/// written `<txid>_<vout>` (only hex digits, `_` and decimal digits, so it is
/// a safe file name and store key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonitorName(OutPoint);

impl MonitorName {
    /// The name of the monitor of the channel funded by `funding_outpoint`.
    pub fn new(funding_outpoint: OutPoint) -> Self {
        MonitorName(funding_outpoint)
    }

    /// The funding outpoint.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.0
    }
}

impl fmt::Display for MonitorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.0.txid, self.0.vout)
    }
}

/// Writes monitors and their updates somewhere they survive a crash.
///
/// Both methods may return `InProgress` and finish later (then report with
/// [`ChainMonitor::channel_monitor_updated`], never from inside the call).
pub trait Persist<ChannelSigner: EcdsaChannelSigner> {
    /// Persists a new channel's monitor in full.
    fn persist_new_channel(
        &self, monitor_name: MonitorName, monitor: &ChannelMonitor<ChannelSigner>,
    ) -> ChannelMonitorUpdateStatus;

    /// Persists a change to a monitor. `monitor_update` is the update just
    /// applied to `monitor` (store it, or the whole monitor); `None` means
    /// the monitor changed by itself (while processing blocks) and must be
    /// written in full.
    fn update_persisted_channel(
        &self, monitor_name: MonitorName, monitor_update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<ChannelSigner>,
    ) -> ChannelMonitorUpdateStatus;
}

impl<S: EcdsaChannelSigner, P: Persist<S> + ?Sized> Persist<S> for &P {
    fn persist_new_channel(
        &self, name: MonitorName, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        (**self).persist_new_channel(name, monitor)
    }
    fn update_persisted_channel(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        (**self).update_persisted_channel(name, update, monitor)
    }
}

impl<S: EcdsaChannelSigner, P: Persist<S> + ?Sized> Persist<S> for alloc::sync::Arc<P> {
    fn persist_new_channel(
        &self, name: MonitorName, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        (**self).persist_new_channel(name, monitor)
    }
    fn update_persisted_channel(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        (**self).update_persisted_channel(name, update, monitor)
    }
}

/// Why [`ChainMonitor::channel_monitor_updated`] refused a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorUpdateCompletionError {
    /// No monitor for this channel.
    UnknownChannel,
    /// The id is above every update the monitor has applied.
    UnknownUpdateId {
        /// The monitor's latest update id.
        latest_update_id: u64,
    },
}

impl fmt::Display for MonitorUpdateCompletionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorUpdateCompletionError::UnknownChannel => f.write_str("no monitor for this channel"),
            MonitorUpdateCompletionError::UnknownUpdateId { latest_update_id } => {
                write!(f, "update id above the monitor's latest ({latest_update_id})")
            }
        }
    }
}

/// What is being persisted for one monitor.
#[derive(Default)]
struct PendingPersistence {
    /// Update ids handed to the persister that returned `InProgress`, in
    /// order.
    update_ids: Vec<u64>,
    /// A full re-persist after chain data is in progress; it was made when
    /// the monitor's latest update id was this.
    chain_sync_at: Option<u64>,
    /// `MonitorEvent::Completed` ids not yet released.
    completed: Vec<u64>,
}

struct MonitorHolder<ChannelSigner> {
    monitor: ChannelMonitor<ChannelSigner>,
    pending: Mutex<PendingPersistence>,
}

/// A monitor borrowed from a [`ChainMonitor`]; holds a read lock on the set
/// of monitors (no monitor can be added meanwhile), so drop it soon.
pub struct LockedChannelMonitor<'a, ChannelSigner> {
    monitors: RwLockReadGuard<'a, BTreeMap<ChannelId, MonitorHolder<ChannelSigner>>>,
    channel_id: ChannelId,
}

impl<ChannelSigner> Deref for LockedChannelMonitor<'_, ChannelSigner> {
    type Target = ChannelMonitor<ChannelSigner>;
    fn deref(&self) -> &Self::Target {
        &self
            .monitors
            .get(&self.channel_id)
            .expect("the guard is only made for a present channel, and the map cannot change under it")
            .monitor
    }
}

/// Holds the channel monitors, persists them through `P`, and feeds them the
/// chain. See the [module documentation](self).
///
/// `C` is an optional chain source that filters blocks, `T` broadcasts, `F`
/// estimates fees, `L` logs, `P` persists; each may be a reference or an
/// `Arc` (the traits are implemented for both). [`ArcChainMonitor`] names the
/// usual setup in one word.
pub struct ChainMonitor<ChannelSigner, C, T, F, L, P>
where
    ChannelSigner: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<ChannelSigner>,
{
    monitors: RwLock<BTreeMap<ChannelId, MonitorHolder<ChannelSigner>>>,
    chain_source: Option<C>,
    broadcaster: T,
    fee_estimator: F,
    logger: L,
    persister: P,
}

/// A [`ChainMonitor`] of [`InMemorySigner`]s whose components are shared
/// trait objects: `ArcChainMonitor::new(Some(filter), broadcaster, logger,
/// fee_estimator, persister)` with each argument an `Arc<...>`.
pub type ArcChainMonitor = ChainMonitor<
    InMemorySigner,
    alloc::sync::Arc<dyn Filter + Send + Sync>,
    alloc::sync::Arc<dyn BroadcasterInterface + Send + Sync>,
    alloc::sync::Arc<dyn FeeEstimator + Send + Sync>,
    alloc::sync::Arc<dyn Logger + Send + Sync>,
    alloc::sync::Arc<dyn Persist<InMemorySigner> + Send + Sync>,
>;

impl<ChannelSigner, C, T, F, L, P> ChainMonitor<ChannelSigner, C, T, F, L, P>
where
    ChannelSigner: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<ChannelSigner>,
{
    /// A monitor set with no monitors. `chain_source`, if given, is told
    /// which outputs and transactions to report.
    pub fn new(chain_source: Option<C>, broadcaster: T, logger: L, fee_estimator: F, persister: P) -> Self {
        ChainMonitor {
            monitors: RwLock::new(BTreeMap::new()),
            chain_source,
            broadcaster,
            fee_estimator,
            logger,
            persister,
        }
    }

    /// The monitor of `channel_id`, if held.
    pub fn get_monitor(&self, channel_id: ChannelId) -> Option<LockedChannelMonitor<'_, ChannelSigner>> {
        let monitors = self.monitors.read();
        if monitors.contains_key(&channel_id) {
            Some(LockedChannelMonitor { monitors, channel_id })
        } else {
            None
        }
    }

    /// Every monitor held: `(channel id, funding outpoint)`.
    pub fn list_monitors(&self) -> Vec<(ChannelId, OutPoint)> {
        self.monitors.read().iter().map(|(id, h)| (*id, h.monitor.funding_outpoint())).collect()
    }

    /// The update ids whose persistence is in progress, per channel.
    pub fn list_pending_monitor_updates(&self) -> BTreeMap<ChannelId, Vec<u64>> {
        self.monitors
            .read()
            .iter()
            .map(|(id, h)| (*id, h.pending.lock().update_ids.clone()))
            .filter(|(_, ids)| !ids.is_empty())
            .collect()
    }

    /// Reports that the monitor of `channel_id` is persisted up to
    /// `completed_update_id`: every pending update with an id up to it is
    /// done (and a full re-persist made while the monitor was at or below
    /// it). If that completes any pending update, a
    /// [`MonitorEvent::Completed`] for `completed_update_id` is queued.
    /// Reporting an already completed id again is harmless.
    pub fn channel_monitor_updated(
        &self, channel_id: ChannelId, completed_update_id: u64,
    ) -> Result<(), MonitorUpdateCompletionError> {
        let monitors = self.monitors.read();
        let holder = monitors.get(&channel_id).ok_or(MonitorUpdateCompletionError::UnknownChannel)?;
        let latest_update_id = holder.monitor.latest_update_id();
        if completed_update_id > latest_update_id {
            return Err(MonitorUpdateCompletionError::UnknownUpdateId { latest_update_id });
        }
        let mut pending = holder.pending.lock();
        let before = pending.update_ids.len();
        pending.update_ids.retain(|id| *id > completed_update_id);
        if pending.chain_sync_at.is_some_and(|at| at <= completed_update_id) {
            pending.chain_sync_at = None;
        }
        if pending.update_ids.len() < before {
            pending.completed.push(completed_update_id);
        }
        log_debug!(
            self.logger,
            channel = Some(channel_id),
            "Monitor persisted up to update {completed_update_id}; {} still pending",
            pending.update_ids.len()
        );
        Ok(())
    }

    /// Adds a monitor read back from storage without persisting it again
    /// (for start-up). Refused if the channel already has one or the ids
    /// disagree.
    pub fn load_existing_monitor(
        &self, channel_id: ChannelId, monitor: ChannelMonitor<ChannelSigner>,
    ) -> Result<(), ()> {
        if monitor.channel_id() != channel_id || monitor.initial_steps_error().is_some() {
            return Err(());
        }
        let mut monitors = self.monitors.write();
        if monitors.contains_key(&channel_id) {
            return Err(());
        }
        if let Some(filter) = &self.chain_source {
            monitor.load_outputs_to_watch(filter);
        }
        monitors.insert(
            channel_id,
            MonitorHolder { monitor, pending: Mutex::new(PendingPersistence::default()) },
        );
        Ok(())
    }

    /// Has every monitor rebroadcast what it put on chain and is not yet
    /// confirmed (call it now and then, and after a restart).
    pub fn rebroadcast_pending_claims(&self) {
        for holder in self.monitors.read().values() {
            holder.monitor.rebroadcast_pending_claims(&self.broadcaster, &self.fee_estimator, &self.logger);
        }
    }

    /// Registers outputs a monitor wants watched with the chain source.
    fn register_outputs(&self, block_hash: BlockHash, outputs: Vec<TransactionOutputs>) {
        let Some(filter) = &self.chain_source else { return };
        for (txid, outs) in outputs {
            for (vout, txout) in outs {
                filter.register_output(WatchedOutput {
                    block_hash: Some(block_hash),
                    outpoint: OutPoint { txid, vout },
                    script_pubkey: txout.script_pubkey,
                });
            }
        }
    }

    /// Runs `f` on every monitor, then re-persists those whose state it
    /// changed.
    fn process_chain_data(&self, mut f: impl FnMut(&ChannelMonitor<ChannelSigner>)) {
        let monitors = self.monitors.read();
        for (channel_id, holder) in monitors.iter() {
            f(&holder.monitor);
            if !holder.monitor.take_chain_sync_dirty() {
                continue;
            }
            let mut pending = holder.pending.lock();
            let name = MonitorName::new(holder.monitor.funding_outpoint());
            match self.persister.update_persisted_channel(name, None, &holder.monitor) {
                ChannelMonitorUpdateStatus::Completed => pending.chain_sync_at = None,
                ChannelMonitorUpdateStatus::InProgress => {
                    log_debug!(
                        self.logger,
                        channel = Some(*channel_id),
                        "Monitor re-persist after chain data in progress; holding its events"
                    );
                    pending.chain_sync_at = Some(holder.monitor.latest_update_id());
                }
                ChannelMonitorUpdateStatus::UnrecoverableError => {
                    log_error!(
                        self.logger,
                        channel = Some(*channel_id),
                        "Monitor could not be re-persisted after chain data; its events go out anyway"
                    );
                    pending.chain_sync_at = None;
                }
            }
        }
    }
}

impl<ChannelSigner, C, T, F, L, P> Watch<ChannelSigner> for ChainMonitor<ChannelSigner, C, T, F, L, P>
where
    ChannelSigner: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<ChannelSigner>,
{
    /// Persists and starts watching a new monitor. `Err(())` if the channel
    /// already has one, the ids disagree, or the monitor's initial steps were
    /// refused. On `UnrecoverableError` the monitor is still watched.
    fn watch_channel(
        &self, channel_id: ChannelId, monitor: ChannelMonitor<ChannelSigner>,
    ) -> Result<ChannelMonitorUpdateStatus, ()> {
        if monitor.channel_id() != channel_id {
            log_error!(
                self.logger,
                channel = Some(channel_id),
                "watch_channel given another channel's monitor"
            );
            return Err(());
        }
        if let Some(e) = monitor.initial_steps_error() {
            log_error!(
                self.logger,
                channel = Some(channel_id),
                "Refusing a monitor with invalid initial steps: {e}"
            );
            return Err(());
        }
        let mut monitors = self.monitors.write();
        if monitors.contains_key(&channel_id) {
            log_error!(
                self.logger,
                channel = Some(channel_id),
                "A monitor for this channel is already watched"
            );
            return Err(());
        }
        let name = MonitorName::new(monitor.funding_outpoint());
        let status = self.persister.persist_new_channel(name, &monitor);
        let mut pending = PendingPersistence::default();
        match status {
            ChannelMonitorUpdateStatus::Completed => {}
            ChannelMonitorUpdateStatus::InProgress => pending.update_ids.push(monitor.latest_update_id()),
            ChannelMonitorUpdateStatus::UnrecoverableError => log_error!(
                self.logger,
                channel = Some(channel_id),
                "New monitor {name} could not be persisted; watching it in memory only"
            ),
        }
        if let Some(filter) = &self.chain_source {
            monitor.load_outputs_to_watch(filter);
        }
        log_info!(self.logger, channel = Some(channel_id), "Watching channel, monitor {name}");
        monitors.insert(channel_id, MonitorHolder { monitor, pending: Mutex::new(pending) });
        Ok(status)
    }

    /// Applies and persists an update. A refused update (out of order,
    /// inconsistent, a commitment after close) changes nothing, is not
    /// persisted, and returns `UnrecoverableError`, as does an unknown
    /// channel.
    fn update_channel(
        &self, channel_id: ChannelId, update: &ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus {
        let monitors = self.monitors.read();
        let Some(holder) = monitors.get(&channel_id) else {
            log_error!(
                self.logger,
                channel = Some(channel_id),
                "Update {} for an unknown channel",
                update.update_id
            );
            return ChannelMonitorUpdateStatus::UnrecoverableError;
        };
        let mut pending = holder.pending.lock();
        if let Err(e) =
            holder.monitor.update_monitor(update, &self.broadcaster, &self.fee_estimator, &self.logger)
        {
            log_error!(
                self.logger,
                channel = Some(channel_id),
                "Monitor refused update {}: {e}",
                update.update_id
            );
            return ChannelMonitorUpdateStatus::UnrecoverableError;
        }
        let name = MonitorName::new(holder.monitor.funding_outpoint());
        let status = self.persister.update_persisted_channel(name, Some(update), &holder.monitor);
        match status {
            ChannelMonitorUpdateStatus::Completed => {}
            ChannelMonitorUpdateStatus::InProgress => {
                log_debug!(
                    self.logger,
                    channel = Some(channel_id),
                    "Persisting update {} in progress",
                    update.update_id
                );
                pending.update_ids.push(update.update_id);
            }
            ChannelMonitorUpdateStatus::UnrecoverableError => log_error!(
                self.logger,
                channel = Some(channel_id),
                "Update {} could not be persisted; kept in memory only",
                update.update_id
            ),
        }
        status
    }

    fn release_pending_monitor_events(&self) -> Vec<MonitorEventBatch> {
        let monitors = self.monitors.read();
        let mut batches = Vec::new();
        for (channel_id, holder) in monitors.iter() {
            let mut pending = holder.pending.lock();
            let mut events: Vec<MonitorEvent> = pending
                .completed
                .drain(..)
                .map(|monitor_update_id| MonitorEvent::Completed { monitor_update_id })
                .collect();
            if pending.chain_sync_at.is_none() {
                events.extend(holder.monitor.get_and_clear_pending_monitor_events());
            }
            if !events.is_empty() {
                batches.push(MonitorEventBatch {
                    funding_outpoint: holder.monitor.funding_outpoint(),
                    channel_id: *channel_id,
                    counterparty_node_id: holder.monitor.counterparty_node_id(),
                    events,
                });
            }
        }
        batches
    }
}

impl<ChannelSigner, C, T, F, L, P> Listen for ChainMonitor<ChannelSigner, C, T, F, L, P>
where
    ChannelSigner: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<ChannelSigner>,
{
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        log_debug!(self.logger, "Block {} connected at height {height}", header.block_hash());
        self.process_chain_data(|monitor| {
            let outputs = monitor.block_connected(
                header,
                txdata,
                height,
                &self.broadcaster,
                &self.fee_estimator,
                &self.logger,
            );
            self.register_outputs(header.block_hash(), outputs);
        });
    }

    fn block_disconnected(&self, header: &Header, height: u32) {
        log_debug!(self.logger, "Block {} disconnected at height {height}", header.block_hash());
        self.process_chain_data(|monitor| monitor.block_disconnected(header, height, &self.logger));
    }
}

impl<ChannelSigner, C, T, F, L, P> Confirm for ChainMonitor<ChannelSigner, C, T, F, L, P>
where
    ChannelSigner: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<ChannelSigner>,
{
    fn transactions_confirmed(&self, header: &Header, txdata: &TransactionData, height: u32) {
        self.process_chain_data(|monitor| {
            let outputs = monitor.transactions_confirmed(header, txdata, height, &self.logger);
            self.register_outputs(header.block_hash(), outputs);
        });
    }

    fn transaction_unconfirmed(&self, txid: &Txid) {
        self.process_chain_data(|monitor| monitor.transaction_unconfirmed(txid, &self.logger));
    }

    fn best_block_updated(&self, header: &Header, height: u32) {
        self.process_chain_data(|monitor| {
            monitor.best_block_updated(header, height, &self.broadcaster, &self.fee_estimator, &self.logger)
        });
    }

    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        let mut txids: Vec<(Txid, u32, Option<BlockHash>)> =
            self.monitors.read().values().flat_map(|h| h.monitor.get_relevant_txids()).collect();
        txids.sort_unstable_by_key(|a| (a.1, a.0));
        txids.dedup();
        txids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::channelmonitor::{
        ChannelMonitorUpdateStep, FundingSpendKind, OFFERED_HTLC_GRACE_BLOCKS,
    };
    use crate::chain::test_utils::*;
    use crate::ln::types::PaymentPreimage;
    use crate::util::ser::{ReadableArgs, Writeable};
    use alloc::sync::Arc;
    use bitcoin::Transaction;

    type TestChainMonitor<'a> = ChainMonitor<
        InMemorySigner,
        &'a TestFilter,
        &'a TestBroadcaster,
        &'a TestFeeEstimator,
        &'a TestLogger,
        &'a TestPersister,
    >;

    #[derive(Default)]
    struct Node {
        filter: TestFilter,
        broadcaster: TestBroadcaster,
        fees: TestFeeEstimator,
        logger: TestLogger,
        persister: TestPersister,
    }

    impl Node {
        fn chain_monitor(&self) -> TestChainMonitor<'_> {
            ChainMonitor::new(
                Some(&self.filter),
                &self.broadcaster,
                &self.logger,
                &self.fees,
                &self.persister,
            )
        }
    }

    fn htlc(byte: u8, cltv_expiry: u32, offered_by_holder: bool) -> TestHtlc {
        TestHtlc {
            amount_msat: 5_000_000,
            cltv_expiry,
            preimage: PaymentPreimage([byte; 32]),
            offered_by_holder,
        }
    }

    /// Round `k` of a channel: the peer's commitment, its revocation of
    /// `k - 1`, our commitment.
    fn round(chan: &mut TestChannel, k: u64, htlcs: &[TestHtlc]) -> ChannelMonitorUpdate {
        let (theirs_step, _) =
            chan.counterparty_commitment(chan.spec(k, false, 690_000_000, 300_000_000, htlcs));
        let revocation = chan.counterparty_revocation(k - 1);
        let ours_step = chan.holder_commitment(chan.spec(k, true, 690_000_000, 300_000_000, htlcs));
        ChannelMonitorUpdate {
            update_id: k,
            channel_id: chan.channel_id,
            updates: vec![theirs_step, revocation, ours_step],
        }
    }

    fn new_channel(seed: u8, chain: &TestChain) -> (TestChannel, ChannelMonitor<InMemorySigner>) {
        let mut chan = TestChannel::new(seed % 2 == 0, seed);
        let steps = chan.initial_steps();
        let monitor = chan.monitor(chain.best_block(), steps);
        (chan, monitor)
    }

    fn connect(cm: &impl Listen, chain: &mut TestChain, txs: &[&Transaction]) {
        let (header, height) = chain.extend();
        let txdata: Vec<(usize, &Transaction)> = txs.iter().copied().enumerate().collect();
        cm.filtered_block_connected(&header, &txdata, height);
    }

    fn completed(cm: &impl Watch<InMemorySigner>) -> Vec<(ChannelId, Vec<MonitorEvent>)> {
        cm.release_pending_monitor_events().into_iter().map(|b| (b.channel_id, b.events)).collect()
    }

    #[test]
    fn synchronous_persistence() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let chain = TestChain::new(100);
        let (mut chan, monitor) = new_channel(1, &chain);
        let name = MonitorName::new(chan.funding_outpoint());
        assert_eq!(cm.watch_channel(chan.channel_id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
        assert_eq!(node.persister.take_calls(), vec![PersistCall::New(name, 0)]);
        // The funding transaction and output are registered with the filter.
        let script = chan.funding_txout().script_pubkey;
        assert_eq!(*node.filter.txs.lock(), vec![(chan.funding_outpoint().txid, script.clone())]);
        let watched = node.filter.outputs.lock().clone();
        assert_eq!(
            watched,
            vec![WatchedOutput {
                block_hash: None,
                outpoint: chan.funding_outpoint(),
                script_pubkey: script
            }]
        );

        for k in 1..=3 {
            assert_eq!(
                cm.update_channel(chan.channel_id, &round(&mut chan, k, &[])),
                ChannelMonitorUpdateStatus::Completed
            );
        }
        let calls: Vec<PersistCall> = (1..=3).map(|k| PersistCall::Update(name, Some(k))).collect();
        assert_eq!(node.persister.take_calls(), calls);
        assert!(cm.list_pending_monitor_updates().is_empty());
        assert!(
            cm.release_pending_monitor_events().is_empty(),
            "no Completed event for synchronous persistence"
        );
        assert_eq!(cm.get_monitor(chan.channel_id).unwrap().latest_update_id(), 3);
        assert_eq!(cm.list_monitors(), vec![(chan.channel_id, chan.funding_outpoint())]);
        assert!(cm.get_monitor(ChannelId([0; 32])).is_none());

        // What was persisted reads back as the live monitor.
        let stored = node.persister.monitors.lock().get(&name).cloned().unwrap();
        let reread = ChannelMonitor::<InMemorySigner>::read(&mut &stored[..], &chan.holder_keys).unwrap();
        assert_eq!(reread.encode(), cm.get_monitor(chan.channel_id).unwrap().encode());
        assert_eq!(name.to_string(), format!("{}_1", chan.funding_outpoint().txid));
    }

    #[test]
    fn asynchronous_persistence_completes_in_order() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let chain = TestChain::new(100);
        let (mut chan, monitor) = new_channel(2, &chain);
        let (mut other, other_monitor) = new_channel(3, &chain);
        let id = chan.channel_id;
        node.persister.set_status(ChannelMonitorUpdateStatus::InProgress);
        assert_eq!(cm.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::InProgress));
        assert_eq!(
            cm.watch_channel(other.channel_id, other_monitor),
            Ok(ChannelMonitorUpdateStatus::InProgress)
        );
        for k in 1..=3 {
            assert_eq!(
                cm.update_channel(id, &round(&mut chan, k, &[])),
                ChannelMonitorUpdateStatus::InProgress
            );
        }
        assert_eq!(
            cm.update_channel(other.channel_id, &round(&mut other, 1, &[])),
            ChannelMonitorUpdateStatus::InProgress
        );
        assert_eq!(cm.list_pending_monitor_updates().get(&id), Some(&vec![0, 1, 2, 3]));
        // Nothing completes before the user says so.
        assert!(cm.release_pending_monitor_events().is_empty());

        assert_eq!(cm.channel_monitor_updated(id, 0), Ok(()));
        assert_eq!(completed(&cm), vec![(id, vec![MonitorEvent::Completed { monitor_update_id: 0 }])]);
        // Completing 2 completes 1 too; then 3. Re-reporting is harmless.
        assert_eq!(cm.channel_monitor_updated(id, 2), Ok(()));
        assert_eq!(cm.channel_monitor_updated(id, 3), Ok(()));
        assert_eq!(cm.channel_monitor_updated(id, 3), Ok(()));
        assert_eq!(
            completed(&cm),
            vec![(
                id,
                vec![
                    MonitorEvent::Completed { monitor_update_id: 2 },
                    MonitorEvent::Completed { monitor_update_id: 3 }
                ]
            )]
        );
        assert_eq!(cm.list_pending_monitor_updates().get(&id), None);
        assert_eq!(cm.list_pending_monitor_updates().get(&other.channel_id), Some(&vec![0, 1]));
        assert_eq!(
            cm.channel_monitor_updated(id, 4),
            Err(MonitorUpdateCompletionError::UnknownUpdateId { latest_update_id: 3 })
        );
        assert_eq!(
            cm.channel_monitor_updated(ChannelId([0; 32]), 0),
            Err(MonitorUpdateCompletionError::UnknownChannel)
        );
        assert_eq!(cm.channel_monitor_updated(other.channel_id, 1), Ok(()));
        assert_eq!(
            completed(&cm),
            vec![(other.channel_id, vec![MonitorEvent::Completed { monitor_update_id: 1 }])]
        );
    }

    #[test]
    fn unrecoverable_errors_and_refused_updates() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let chain = TestChain::new(100);
        let (mut chan, monitor) = new_channel(4, &chain);
        let id = chan.channel_id;
        assert_eq!(cm.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
        node.persister.take_calls();

        // A gap: refused by the monitor, not persisted.
        let mut two = round(&mut chan, 1, &[]);
        two.update_id = 2;
        assert_eq!(cm.update_channel(id, &two), ChannelMonitorUpdateStatus::UnrecoverableError);
        assert!(node.persister.take_calls().is_empty());
        assert_eq!(cm.get_monitor(id).unwrap().latest_update_id(), 0);
        assert_eq!(node.logger.count(crate::util::logger::Level::Error, "refused update 2"), 1);
        // An unknown channel.
        assert_eq!(
            cm.update_channel(ChannelId([0; 32]), &two),
            ChannelMonitorUpdateStatus::UnrecoverableError
        );

        // The persister fails for good: the update stays applied in memory.
        node.persister.set_status(ChannelMonitorUpdateStatus::UnrecoverableError);
        two.update_id = 1;
        assert_eq!(cm.update_channel(id, &two), ChannelMonitorUpdateStatus::UnrecoverableError);
        assert_eq!(cm.get_monitor(id).unwrap().latest_update_id(), 1);
        assert!(cm.list_pending_monitor_updates().is_empty());

        // Watching twice, another channel's monitor, a poisoned monitor.
        let (other, other_monitor) = new_channel(5, &chain);
        assert_eq!(cm.watch_channel(id, other_monitor), Err(()));
        let (_, again) = new_channel(4, &chain);
        assert_eq!(cm.watch_channel(id, again), Err(()));
        let poisoned = other.monitor(
            chain.best_block(),
            vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }],
        );
        assert_eq!(cm.watch_channel(other.channel_id, poisoned), Err(()));
        // A new monitor the persister cannot write is still watched.
        let (third, third_monitor) = new_channel(6, &chain);
        assert_eq!(
            cm.watch_channel(third.channel_id, third_monitor),
            Ok(ChannelMonitorUpdateStatus::UnrecoverableError)
        );
        assert!(cm.get_monitor(third.channel_id).is_some());
    }

    #[test]
    fn force_close_through_update_channel_broadcasts() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let chain = TestChain::new(100);
        let (chan, monitor) = new_channel(7, &chain);
        assert_eq!(cm.watch_channel(chan.channel_id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
        let close = ChannelMonitorUpdate {
            update_id: 1,
            channel_id: chan.channel_id,
            updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }],
        };
        assert_eq!(cm.update_channel(chan.channel_id, &close), ChannelMonitorUpdateStatus::Completed);
        let txs = node.broadcaster.take();
        assert_eq!(txs.len(), 1);
        let (funding, txout) = (chan.funding_outpoint(), chan.funding_txout());
        txs[0].verify(|o| (*o == funding).then(|| txout.clone())).unwrap();
        assert_eq!(completed(&cm), vec![(chan.channel_id, vec![MonitorEvent::HolderForceClosed])]);
        cm.rebroadcast_pending_claims();
        assert_eq!(node.broadcaster.take(), txs);
    }

    #[test]
    fn blocks_reach_every_monitor() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let mut chain = TestChain::new(100);
        let (mut a, monitor_a) = new_channel(8, &chain);
        let (b, monitor_b) = new_channel(9, &chain);
        assert_eq!(cm.watch_channel(a.channel_id, monitor_a), Ok(ChannelMonitorUpdateStatus::Completed));
        assert_eq!(cm.watch_channel(b.channel_id, monitor_b), Ok(ChannelMonitorUpdateStatus::Completed));
        assert_eq!(
            cm.update_channel(a.channel_id, &round(&mut a, 1, &[htlc(1, 500, true)])),
            ChannelMonitorUpdateStatus::Completed
        );
        node.persister.take_calls();

        for _ in 0..5 {
            connect(&cm, &mut chain, &[]);
        }
        for id in [a.channel_id, b.channel_id] {
            assert_eq!(cm.get_monitor(id).unwrap().current_best_block(), chain.best_block());
        }
        assert!(node.persister.take_calls().is_empty(), "blocks that change nothing are not persisted");

        // The peer of channel a force-closes: only a's monitor reacts.
        let theirs = a.counterparty_signed_commitment(a.spec(
            1,
            false,
            690_000_000,
            300_000_000,
            &[htlc(1, 500, true)],
        ));
        connect(&cm, &mut chain, &[&theirs]);
        let (header, height) = chain.tip();
        let spend = cm.get_monitor(a.channel_id).unwrap().funding_spend().unwrap();
        assert_eq!(spend.kind, FundingSpendKind::CounterpartyCommitment { commitment_number: 1 });
        assert_eq!(cm.get_monitor(b.channel_id).unwrap().funding_spend(), None);
        assert_eq!(completed(&cm), vec![(a.channel_id, vec![MonitorEvent::CommitmentTxConfirmed])]);
        assert_eq!(
            node.persister.take_calls(),
            vec![PersistCall::Update(MonitorName::new(a.funding_outpoint()), None)]
        );
        // Its outputs are registered with the filter, in that block.
        let txid = theirs.compute_txid();
        let registered: Vec<WatchedOutput> =
            node.filter.outputs.lock().iter().filter(|o| o.outpoint.txid == txid).cloned().collect();
        assert_eq!(registered.len(), theirs.output.len());
        assert!(registered.iter().all(|o| o.block_hash == Some(header.block_hash())));
        assert_eq!(cm.get_relevant_txids(), vec![(txid, height, Some(header.block_hash()))]);

        // A reorg removes it; Confirm-style sync brings it back.
        let (header, height) = chain.pop();
        cm.block_disconnected(&header, height);
        assert!(cm.get_relevant_txids().is_empty());
        let (header, height) = chain.extend();
        cm.transactions_confirmed(&header, &[(1, &theirs)], height);
        cm.best_block_updated(&header, height);
        assert_eq!(cm.get_relevant_txids(), vec![(txid, height, Some(header.block_hash()))]);
        cm.transaction_unconfirmed(&txid);
        assert!(cm.get_relevant_txids().is_empty());
        assert!(completed(&cm).is_empty(), "CommitmentTxConfirmed is reported once");
    }

    #[test]
    fn chain_sync_in_progress_holds_events_back() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let mut chain = TestChain::new(100);
        let (mut chan, monitor) = new_channel(10, &chain);
        let id = chan.channel_id;
        assert_eq!(cm.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
        assert_eq!(
            cm.update_channel(id, &round(&mut chan, 1, &[htlc(2, 110, true)])),
            ChannelMonitorUpdateStatus::Completed
        );
        node.persister.take_calls();
        node.persister.set_status(ChannelMonitorUpdateStatus::InProgress);
        // The HTLC expires: the monitor broadcasts and must be re-persisted
        // before its event goes out.
        while chain.tip().1 < 110 + OFFERED_HTLC_GRACE_BLOCKS {
            connect(&cm, &mut chain, &[]);
        }
        assert_eq!(node.broadcaster.take().len(), 1);
        assert_eq!(
            node.persister.take_calls(),
            vec![PersistCall::Update(MonitorName::new(chan.funding_outpoint()), None)]
        );
        assert!(cm.release_pending_monitor_events().is_empty(), "held until the write completes");
        assert_eq!(cm.channel_monitor_updated(id, 1), Ok(()));
        assert_eq!(completed(&cm), vec![(id, vec![MonitorEvent::HolderForceClosed])]);
    }

    #[test]
    fn loads_existing_monitors_without_persisting() {
        let node = Node::default();
        let cm = node.chain_monitor();
        let chain = TestChain::new(100);
        let (chan, monitor) = new_channel(11, &chain);
        let bytes = monitor.encode();
        let reread = ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &chan.holder_keys).unwrap();
        assert_eq!(cm.load_existing_monitor(chan.channel_id, reread), Ok(()));
        assert!(node.persister.take_calls().is_empty());
        assert_eq!(node.filter.outputs.lock().len(), 1);
        let again = ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &chan.holder_keys).unwrap();
        assert_eq!(cm.load_existing_monitor(chan.channel_id, again), Err(()));
    }

    #[test]
    fn the_arc_alias_names_the_usual_setup() {
        let persister = Arc::new(TestPersister::default());
        let broadcaster = Arc::new(TestBroadcaster::default());
        let cm: ArcChainMonitor = ChainMonitor::new(
            Some(Arc::new(TestFilter::default()) as Arc<dyn Filter + Send + Sync>),
            broadcaster.clone() as Arc<dyn BroadcasterInterface + Send + Sync>,
            Arc::new(TestLogger::default()) as Arc<dyn Logger + Send + Sync>,
            Arc::new(TestFeeEstimator::default()) as Arc<dyn FeeEstimator + Send + Sync>,
            persister.clone() as Arc<dyn Persist<InMemorySigner> + Send + Sync>,
        );
        let chain = TestChain::new(100);
        let (chan, monitor) = new_channel(12, &chain);
        assert_eq!(cm.watch_channel(chan.channel_id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
        assert_eq!(persister.take_calls().len(), 1);
        fn shared<T: Send + Sync>(_: &T) {}
        shared(&cm);
    }
}
