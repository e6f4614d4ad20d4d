//! The node's other state (the `ChannelManager`, the `NetworkGraph`, the
//! scorer) in the same store as the monitors, and the start-up routine that
//! reads everything back in the right order.
//!
//! # Start-up order
//!
//! [`read_channel_manager_and_monitors`]:
//!
//! 1. reads every `ChannelMonitor` and replays its stored updates: the
//!    monitors are the source of truth for what is safe on chain;
//! 2. reads the `ChannelManager` (with the components in its
//!    [`ChannelManagerReadArgs`]), with the monitor updates it had handed to
//!    the watch and not heard persisted (`ChannelManager::list_in_flight_monitor_updates`);
//! 3. reconciles the manager against the monitors, channel by channel,
//!    before changing anything:
//!    - a channel the manager has but no monitor covers: refuse to start
//!      ([`StartupError::MissingMonitor`]), unless the channel's first
//!      monitor was itself still being written when the manager was saved:
//!      then nothing depends on it (the funding was not broadcast, or
//!      `funding_signed` not sent) and the channel is discarded (step 6);
//!    - a monitor *behind* the manager: the manager's record of in-flight
//!      updates must hold every update between them, which step 5 hands to
//!      the monitor; otherwise updates the manager counted on were lost and
//!      start-up refuses ([`StartupError::MonitorBehindManager`]);
//!    - a monitor *ahead* of the manager (the manager was saved before later
//!      updates): the manager's copy of the channel is stale and must never
//!      sign again, so the channel is force-closed with the monitor's latest
//!      commitment (step 8);
//!    - a closed channel the manager still has in-flight updates for (the
//!      closing one last): its monitor must be there, and gets them in step 5;
//!    - an open monitor the manager has neither a channel nor a record for:
//!      if the manager records every close (`ChannelManager::records_every_close`:
//!      every cooperative close sends the monitor a closing update, which is
//!      recorded until persisted), it cannot be a cooperative close waiting
//!      to confirm, so it is a channel opened after the manager was saved,
//!      which the manager cannot run: it is force-closed (step 7), its latest
//!      commitment being safe to broadcast (a commitment is revoked only once
//!      the monitor has the next one). With a manager from a version that did
//!      not record closes it could be either, so it is only loaded, watched
//!      and listed in [`StartedNode::monitors_without_channel`] for the user
//!      to decide. Closed monitors are loaded and watched;
//! 4. hands every monitor to the chain monitor with
//!    `ChainMonitor::load_existing_monitor` (without writing them again);
//! 5. hands each monitor, through the chain monitor (so they are persisted
//!    again), the recorded in-flight updates newer than what the store had
//!    (`ChannelManager::replay_in_flight_monitor_updates`); updates the
//!    monitor already has are skipped. A channel waits (paused) while they
//!    are written;
//! 6. discards the channels whose first monitor never reached the store;
//! 7. force-closes the open monitors without a channel (see step 3) with a
//!    closed-channel `ChannelForceClosed` update through the chain monitor;
//! 8. force-closes the stale channels through the manager, which sends the
//!    monitor its close update: the monitor broadcasts its latest commitment.
//!    A stale channel whose monitor holds a cooperative closing transaction
//!    (the manager was saved before the close was signed) is only forgotten
//!    as cooperatively closed: broadcasting our commitment would race the
//!    agreed closing transaction.
//!
//! After it returns, the user connects the chain from the monitors' and the
//! manager's best blocks, and reconnects peers.

use core::fmt;

use lightning_core::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use lightning_core::chain::chainmonitor::{ChainMonitor, Persist};
use lightning_core::chain::channelmonitor::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, CLOSED_CHANNEL_UPDATE_ID,
};
use lightning_core::chain::{ChannelMonitorUpdateStatus, Filter, Watch};
use lightning_core::ln::channelmanager::{
    ChannelManager, ChannelManagerReadArgs, InFlightMonitorUpdates, MonitorReplayError, SignerOf,
};
use lightning_core::ln::msgs::DecodeError;
use lightning_core::ln::types::ChannelId;
use lightning_core::routing::gossip::NetworkGraph;
use lightning_core::routing::router::Router;
use lightning_core::routing::scoring::ProbabilisticScorer;
use lightning_core::sign::{EcdsaChannelSigner, KeysInterface};
use lightning_core::util::logger::Logger;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, NETWORK_GRAPH_PERSISTENCE_KEY,
    NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE, NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
    SCORER_PERSISTENCE_KEY, SCORER_PERSISTENCE_PRIMARY_NAMESPACE, SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning_core::util::ser::{Readable, Writeable};

use lightning_core::bitcoin::OutPoint;

use crate::codec::{read_record, write_writeable, CodecError, ValueKind, ValueLocation};
use crate::monitor::{read_channel_monitors_with_updates, ReadError};

/// Writes the `ChannelManager` (any `Writeable`, in fact) to its key,
/// durably. Call it after the manager changed (LDK's background processor does
/// it whenever the manager says it needs persisting) and at shutdown.
pub fn persist_manager<K: KVStore + ?Sized, M: Writeable + ?Sized>(
    store: &K, manager: &M,
) -> Result<(), CodecError> {
    write_writeable(
        store,
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
        ValueKind::ChannelManager,
        manager,
    )
}

/// Writes the network graph to its key, durably.
pub fn persist_graph<K: KVStore + ?Sized>(store: &K, network_graph: &NetworkGraph) -> Result<(), CodecError> {
    write_writeable(
        store,
        NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_KEY,
        ValueKind::NetworkGraph,
        network_graph,
    )
}

/// Writes the scorer (any `Writeable` scorer) to its key, durably.
pub fn persist_scorer<K: KVStore + ?Sized, S: Writeable + ?Sized>(
    store: &K, scorer: &S,
) -> Result<(), CodecError> {
    write_writeable(
        store,
        SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
        SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
        SCORER_PERSISTENCE_KEY,
        ValueKind::Scorer,
        scorer,
    )
}

/// Reads `key`, which must hold a value of `kind`, and decodes it with `read`,
/// which must use every byte; `Ok(None)` if the key holds nothing.
fn read_optional<K: KVStore + ?Sized, T>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, kind: ValueKind,
    read: impl FnOnce(&mut &[u8]) -> Result<T, DecodeError>,
) -> Result<Option<T>, ReadError> {
    let body = match read_record(store, primary_namespace, secondary_namespace, key, kind) {
        Ok(body) => body,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut reader = &body[..];
    let value = read(&mut reader).and_then(|value| {
        if reader.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::BadLengthDescriptor)
        }
    });
    value.map(Some).map_err(|error| ReadError::Decode {
        location: ValueLocation::new(primary_namespace, secondary_namespace, key),
        error,
    })
}

/// Reads the network graph, `Ok(None)` if none was stored (a first start).
pub fn read_network_graph<K: KVStore + ?Sized>(store: &K) -> Result<Option<NetworkGraph>, ReadError> {
    read_optional(
        store,
        NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_KEY,
        ValueKind::NetworkGraph,
        |r| NetworkGraph::read(r),
    )
}

/// Reads the probabilistic scorer, `Ok(None)` if none was stored.
pub fn read_scorer<K: KVStore + ?Sized>(store: &K) -> Result<Option<ProbabilisticScorer>, ReadError> {
    read_optional(
        store,
        SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
        SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
        SCORER_PERSISTENCE_KEY,
        ValueKind::Scorer,
        |r| ProbabilisticScorer::read(r),
    )
}

/// What can take monitors read back at start-up without persisting them
/// again: a [`ChainMonitor`] (its `load_existing_monitor`), or a reference or
/// `Arc` to one.
pub trait LoadExistingMonitor<S: EcdsaChannelSigner> {
    /// Starts watching `monitor`; `Err(())` if refused (see
    /// `ChainMonitor::load_existing_monitor`, whose signature this mirrors).
    #[allow(clippy::result_unit_err)]
    fn load_existing_monitor(&self, channel_id: ChannelId, monitor: ChannelMonitor<S>) -> Result<(), ()>;
}

impl<S, C, T, F, L, P> LoadExistingMonitor<S> for ChainMonitor<S, C, T, F, L, P>
where
    S: EcdsaChannelSigner,
    C: Filter,
    T: BroadcasterInterface,
    F: FeeEstimator,
    L: Logger,
    P: Persist<S>,
{
    fn load_existing_monitor(&self, channel_id: ChannelId, monitor: ChannelMonitor<S>) -> Result<(), ()> {
        ChainMonitor::load_existing_monitor(self, channel_id, monitor)
    }
}

impl<S: EcdsaChannelSigner, W: LoadExistingMonitor<S> + ?Sized> LoadExistingMonitor<S> for &W {
    fn load_existing_monitor(&self, channel_id: ChannelId, monitor: ChannelMonitor<S>) -> Result<(), ()> {
        (**self).load_existing_monitor(channel_id, monitor)
    }
}

impl<S: EcdsaChannelSigner, W: LoadExistingMonitor<S> + ?Sized> LoadExistingMonitor<S> for std::sync::Arc<W> {
    fn load_existing_monitor(&self, channel_id: ChannelId, monitor: ChannelMonitor<S>) -> Result<(), ()> {
        (**self).load_existing_monitor(channel_id, monitor)
    }
}

/// Why the node's state could not be brought back.
#[derive(Debug)]
pub enum StartupError {
    /// A stored value could not be read (names it).
    Read(ReadError),
    /// The manager has a funded channel whose monitor is not in the store.
    MissingMonitor {
        /// The channel.
        channel_id: ChannelId,
        /// Its funding outpoint (the monitor's name).
        funding_outpoint: OutPoint,
    },
    /// A monitor has fewer updates than the manager handed it, and the
    /// manager's record of in-flight updates does not hold the missing ones:
    /// updates the manager counts as persisted were lost. (For a channel the
    /// manager closed, `manager_update_id` is `CLOSED_CHANNEL_UPDATE_ID`.)
    MonitorBehindManager {
        /// The channel.
        channel_id: ChannelId,
        /// The monitor's latest update id.
        monitor_update_id: u64,
        /// The manager's latest update id for the channel.
        manager_update_id: u64,
    },
    /// The manager closed a channel whose closing monitor update was still
    /// being written, and the channel's monitor is not in the store.
    MissingClosedChannelMonitor {
        /// The channel.
        channel_id: ChannelId,
    },
    /// Monitors are stored but no manager: its channels cannot be run.
    MonitorsWithoutManager {
        /// How many monitors.
        monitor_count: usize,
    },
    /// The chain monitor refused a monitor (it already holds one for the
    /// channel, or the monitor is invalid).
    MonitorNotLoaded {
        /// The channel.
        channel_id: ChannelId,
    },
    /// A recorded in-flight update could not be handed back to its monitor:
    /// the chain monitor refused it or could not persist it.
    MonitorUpdateReplayFailed {
        /// The channel.
        channel_id: ChannelId,
        /// The update.
        update_id: u64,
    },
}

impl From<ReadError> for StartupError {
    fn from(e: ReadError) -> Self {
        StartupError::Read(e)
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Read(e) => write!(f, "{e}"),
            StartupError::MissingMonitor { channel_id, funding_outpoint } => write!(
                f,
                "channel {channel_id} has no stored monitor (expected monitors/{}_{})",
                funding_outpoint.txid, funding_outpoint.vout
            ),
            StartupError::MonitorBehindManager { channel_id, monitor_update_id, manager_update_id } => write!(
                f,
                "the monitor of channel {channel_id} is at update {monitor_update_id} but the manager at {manager_update_id}: monitor updates were lost"
            ),
            StartupError::MissingClosedChannelMonitor { channel_id } => write!(
                f,
                "channel {channel_id} was closed with monitor updates still being written, and its monitor is not stored"
            ),
            StartupError::MonitorsWithoutManager { monitor_count } => {
                write!(f, "{monitor_count} monitors are stored but no channel manager ({CHANNEL_MANAGER_PERSISTENCE_KEY})")
            }
            StartupError::MonitorNotLoaded { channel_id } => {
                write!(f, "the chain monitor refused the monitor of channel {channel_id}")
            }
            StartupError::MonitorUpdateReplayFailed { channel_id, update_id } => write!(
                f,
                "update {update_id} of channel {channel_id}, in flight when the manager was saved, could not be handed to its monitor again"
            ),
        }
    }
}

impl std::error::Error for StartupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartupError::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// A manager brought back by [`read_channel_manager_and_monitors`], with what
/// reconciling it against the monitors found.
pub struct StartedNode<CM> {
    /// The channel manager, its monitors loaded in the chain monitor.
    pub channel_manager: CM,
    /// Channels the manager's copy was stale for (the monitor had later
    /// updates): force-closed with the monitor's latest commitment.
    pub stale_channels_force_closed: Vec<ChannelId>,
    /// Channels the manager's copy was stale for whose monitor holds the
    /// cooperative closing transaction (the manager was saved before the
    /// close was signed): forgotten as cooperatively closed, nothing
    /// broadcast (the monitor rebroadcasts the closing transaction).
    pub stale_channels_closed_cooperatively: Vec<ChannelId>,
    /// The monitor updates that were in flight when the manager was saved and
    /// that the stored monitors lacked, handed to them again (persisted
    /// again): `(channel, update id)` in the order given.
    pub monitor_updates_replayed: Vec<(ChannelId, u64)>,
    /// Channels whose first monitor was still being written when the manager
    /// was saved and never reached the store: discarded (nothing had been
    /// signed or broadcast that depends on them).
    pub channels_without_persisted_monitor_discarded: Vec<ChannelId>,
    /// Open monitors the manager had neither a channel nor a record for,
    /// with a manager that records every close: channels opened after the
    /// manager was saved. Force-closed (their latest commitment broadcast).
    pub monitors_without_channel_force_closed: Vec<ChannelId>,
    /// Monitors still open on chain that the manager has no channel for and
    /// that could not be closed safely (the manager is from a version that
    /// did not record cooperative closes, or the close was refused); they are
    /// watched. Force-close them
    /// (`ChannelMonitor::broadcast_latest_holder_commitment_txn`) unless they
    /// are cooperative closes waiting to confirm.
    pub monitors_without_channel: Vec<ChannelId>,
    /// How many monitors were loaded into the chain monitor.
    pub monitors_loaded: usize,
}

impl<CM> StartedNode<CM> {
    /// Splits the manager from the start-up report (to keep the report after
    /// the manager moved into the node).
    pub fn into_parts(self) -> (CM, StartedNode<()>) {
        let StartedNode {
            channel_manager,
            stale_channels_force_closed,
            stale_channels_closed_cooperatively,
            monitor_updates_replayed,
            channels_without_persisted_monitor_discarded,
            monitors_without_channel_force_closed,
            monitors_without_channel,
            monitors_loaded,
        } = self;
        let report = StartedNode {
            channel_manager: (),
            stale_channels_force_closed,
            stale_channels_closed_cooperatively,
            monitor_updates_replayed,
            channels_without_persisted_monitor_discarded,
            monitors_without_channel_force_closed,
            monitors_without_channel,
            monitors_loaded,
        };
        (channel_manager, report)
    }
}

/// What [`read_channel_manager_and_monitors`] returns: the started manager,
/// `None` on a first start, or why the node cannot start.
pub type StartupResult<M, T, F, R, L, K> =
    Result<Option<StartedNode<ChannelManager<M, T, F, R, L, K>>>, StartupError>;

/// Reads the monitors and the `ChannelManager` from `store`, reconciles them
/// and loads the monitors into the chain monitor, in the order described in
/// the [module documentation](self). `args.chain_monitor` is the watch the
/// manager will use; it must be empty and able to take monitors
/// ([`LoadExistingMonitor`], e.g. an `Arc<ChainMonitor<..>>`).
///
/// `Ok(None)` if the store holds neither a manager nor a monitor: a first
/// start, where the caller creates a new manager.
pub fn read_channel_manager_and_monitors<KV, M, T, F, R, L, K>(
    store: &KV, args: ChannelManagerReadArgs<M, T, F, R, L, K>,
) -> StartupResult<M, T, F, R, L, K>
where
    KV: KVStore + ?Sized,
    M: Watch<SignerOf<K>> + LoadExistingMonitor<SignerOf<K>> + Clone,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    // 1. The monitors, with their updates replayed.
    let monitors = read_channel_monitors_with_updates(
        store,
        &args.keys,
        &args.tx_broadcaster,
        &args.fee_estimator,
        &args.logger,
    )?;

    // 2. The manager.
    let (primary, secondary, key) = (
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
    );
    let body = match read_record(store, primary, secondary, key, ValueKind::ChannelManager) {
        Ok(body) => body,
        Err(e) if e.is_not_found() => {
            return if monitors.is_empty() {
                Ok(None)
            } else {
                Err(StartupError::MonitorsWithoutManager { monitor_count: monitors.len() })
            };
        }
        Err(e) => return Err(ReadError::from(e).into()),
    };
    let watch = args.chain_monitor.clone();
    let mut reader = &body[..];
    let manager = ChannelManager::read(&mut reader, args).and_then(|manager| {
        if reader.is_empty() {
            Ok(manager)
        } else {
            Err(DecodeError::BadLengthDescriptor)
        }
    });
    let manager = manager.map_err(|error| ReadError::Decode {
        location: ValueLocation::new(primary, secondary, key),
        error,
    })?;

    // 3. Reconcile, channel by channel, before changing anything.
    let mut records: Vec<InFlightMonitorUpdates> = manager.list_in_flight_monitor_updates();
    let monitor_ids: Vec<(ChannelId, u64, bool)> =
        monitors.iter().map(|m| (m.channel_id(), m.latest_update_id(), m.is_closed())).collect();
    let closed_cooperatively: Vec<ChannelId> =
        monitors.iter().filter(|m| m.cooperative_closing_tx().is_some()).map(|m| m.channel_id()).collect();
    let monitor_of = |channel_id: ChannelId| monitor_ids.iter().find(|(id, _, _)| *id == channel_id);
    let mut stale = Vec::new();
    let mut discard = Vec::new();
    let mut replay: Vec<(ChannelId, u64)> = Vec::new();
    let mut covered = Vec::new();
    for details in manager.list_channels() {
        let Some(funding_outpoint) = details.funding_txo else { continue };
        let channel_id = details.channel_id;
        let manager_update_id = manager
            .with_funded_channel(&details.counterparty_node_id, &channel_id, |c| c.latest_monitor_update_id())
            .ok_or(StartupError::MissingMonitor { channel_id, funding_outpoint })?;
        let record = records.iter().find(|r| r.channel_id == channel_id);
        let Some(&(_, monitor_update_id, _)) = monitor_of(channel_id) else {
            if record.is_some_and(|r| r.initial_monitor_in_flight) {
                discard.push((channel_id, details.counterparty_node_id));
                continue;
            }
            return Err(StartupError::MissingMonitor { channel_id, funding_outpoint });
        };
        covered.push(channel_id);
        if let Some(record) = record {
            record.updates_to_replay(monitor_update_id).map_err(|_| StartupError::MonitorBehindManager {
                channel_id,
                monitor_update_id,
                manager_update_id,
            })?;
            replay.push((channel_id, monitor_update_id));
        } else if monitor_update_id < manager_update_id {
            return Err(StartupError::MonitorBehindManager {
                channel_id,
                monitor_update_id,
                manager_update_id,
            });
        }
        if monitor_update_id > manager_update_id {
            // The manager logs the closure (step 8) with its reason.
            stale.push((channel_id, details.counterparty_node_id));
        }
    }
    records.retain(|r| !r.channel_open);
    for record in &records {
        let channel_id = record.channel_id;
        let Some(&(_, monitor_update_id, _)) = monitor_of(channel_id) else {
            return Err(StartupError::MissingClosedChannelMonitor { channel_id });
        };
        record.updates_to_replay(monitor_update_id).map_err(|_| StartupError::MonitorBehindManager {
            channel_id,
            monitor_update_id,
            manager_update_id: CLOSED_CHANNEL_UPDATE_ID,
        })?;
        covered.push(channel_id);
        replay.push((channel_id, monitor_update_id));
    }
    let mut close_unknown = Vec::new();
    let mut monitors_without_channel = Vec::new();
    for &(channel_id, _, closed) in &monitor_ids {
        if covered.contains(&channel_id) || closed {
            continue;
        }
        if manager.records_every_close() {
            close_unknown.push(channel_id);
        } else {
            monitors_without_channel.push(channel_id);
        }
    }

    // 4. The monitors go to the chain monitor.
    let monitors_loaded = monitors.len();
    for monitor in monitors {
        let channel_id = monitor.channel_id();
        watch
            .load_existing_monitor(channel_id, monitor)
            .map_err(|()| StartupError::MonitorNotLoaded { channel_id })?;
    }

    // 5. The monitors get the in-flight updates they lack, persisted again.
    let mut monitor_updates_replayed = Vec::new();
    for (channel_id, monitor_update_id) in replay {
        match manager.replay_in_flight_monitor_updates(&channel_id, monitor_update_id) {
            Ok(ids) => monitor_updates_replayed.extend(ids.into_iter().map(|id| (channel_id, id))),
            Err(MonitorReplayError::UpdateFailed { update_id }) => {
                return Err(StartupError::MonitorUpdateReplayFailed { channel_id, update_id })
            }
            Err(MonitorReplayError::MissingUpdates { monitor_update_id, manager_update_id }) => {
                return Err(StartupError::MonitorBehindManager {
                    channel_id,
                    monitor_update_id,
                    manager_update_id,
                })
            }
            Err(MonitorReplayError::UnknownChannel) => {
                return Err(StartupError::MonitorUpdateReplayFailed {
                    channel_id,
                    update_id: monitor_update_id,
                })
            }
        }
    }

    // 6. Channels whose first monitor never reached the store.
    let mut channels_without_persisted_monitor_discarded = Vec::new();
    for (channel_id, counterparty_node_id) in discard {
        if manager.discard_channel_without_persisted_monitor(&counterparty_node_id, &channel_id).is_ok() {
            channels_without_persisted_monitor_discarded.push(channel_id);
        }
    }

    // 7. Open monitors of channels the manager never saw are closed.
    let mut monitors_without_channel_force_closed = Vec::new();
    for channel_id in close_unknown {
        let update = ChannelMonitorUpdate {
            update_id: CLOSED_CHANNEL_UPDATE_ID,
            channel_id,
            updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }],
        };
        match watch.update_channel(channel_id, &update) {
            ChannelMonitorUpdateStatus::UnrecoverableError => monitors_without_channel.push(channel_id),
            _ => monitors_without_channel_force_closed.push(channel_id),
        }
    }

    // 8. Stale channels close with the monitor's latest commitment, unless
    // the monitor shows they already closed cooperatively.
    let mut stale_channels_force_closed = Vec::with_capacity(stale.len());
    let mut stale_channels_closed_cooperatively = Vec::new();
    for (channel_id, counterparty_node_id) in stale {
        if closed_cooperatively.contains(&channel_id) {
            if manager.forget_cooperatively_closed_channel(&counterparty_node_id, &channel_id).is_ok() {
                stale_channels_closed_cooperatively.push(channel_id);
            }
        } else if manager.force_close_broadcasting_latest_txn(&channel_id, &counterparty_node_id).is_ok() {
            stale_channels_force_closed.push(channel_id);
        }
    }
    Ok(Some(StartedNode {
        channel_manager: manager,
        stale_channels_force_closed,
        stale_channels_closed_cooperatively,
        monitor_updates_replayed,
        channels_without_persisted_monitor_discarded,
        monitors_without_channel_force_closed,
        monitors_without_channel,
        monitors_loaded,
    }))
}
