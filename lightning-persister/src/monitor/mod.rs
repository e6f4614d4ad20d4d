//! Persisting channel monitors as a full snapshot plus a numbered tail of
//! updates, through any [`KVStore`].
//!
//! # Layout
//!
//! - A monitor's name is its funding outpoint, [`MonitorName`]: `TXID_INDEX`
//!   (64 hex digits, `_`, the output index in decimal).
//! - The full monitor lives at
//!   `(CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, "", name)`, i.e.
//!   `monitors/NAME`.
//! - Each update not yet folded into a full monitor lives at
//!   `(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, name, update_id)`,
//!   i.e. `monitor_updates/NAME/ID`, the id in decimal without leading zeros.
//! - Every value is a core `Writeable` encoding, the body of a
//!   [`crate::codec`] record of kind `ChannelMonitor` or
//!   `ChannelMonitorUpdate` inside the envelope (magic, version, length,
//!   CRC-32). A value of another kind under these keys is refused by name.
//!
//! # Writing ([`MonitorUpdatingPersister`], a [`Persist`])
//!
//! - `persist_new_channel` writes the full monitor.
//! - `update_persisted_channel` with an update whose id is not a multiple of
//!   [`maximum_pending_updates`](MonitorUpdatingPersister::maximum_pending_updates)
//!   (default [`DEFAULT_MAXIMUM_PENDING_UPDATES`]) writes just the update, a
//!   small value under a new key.
//! - Otherwise a full monitor is written: every N-th update (compaction), any
//!   [`CLOSED_CHANNEL_UPDATE_ID`] update (all updates after close share that
//!   id, so they cannot be numbered keys), and every re-write the chain asks
//!   for (`update: None`).
//! - After a full monitor is durable, the updates it covers (ids up to its
//!   `latest_update_id`) are removed *lazily*: a crash may leave some behind,
//!   which is harmless because reading skips and removes them.
//!
//! A write returns `Completed` only once the store reported it durable. A
//! store error returns `UnrecoverableError` (the channel force-closes: it
//! cannot move on without its update on disk).
//! [`AsyncMonitorPersister`] does the same writes on a background task and
//! returns `InProgress`.
//!
//! # Reading ([`read_channel_monitors_with_updates`])
//!
//! Each full monitor is read and checked against its name; its update keys are
//! listed and parsed as numbers (never sorted as strings). Ids at or below the
//! monitor's `latest_update_id` are stale (already in the snapshot) and are
//! removed. The others must be exactly `latest + 1, latest + 2, ...`; each must
//! decode, carry the id of its key and the monitor's channel, and apply. Any
//! failure is a [`ReadError`] naming the key; nothing is skipped silently.

mod async_persister;
mod error;
mod read;

#[cfg(feature = "tokio")]
pub use async_persister::tokio_spawner;
pub use async_persister::{
    chain_monitor_completion_handler, thread_spawner, AsyncMonitorPersister, CompletionHandler,
    FailedMonitorWrite, Spawner, WriteTask,
};
pub use error::ReadError;
pub use read::{
    parse_monitor_name, parse_update_key, read_channel_monitor_with_updates,
    read_channel_monitors_with_updates,
};

use lightning_core::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use lightning_core::chain::chainmonitor::{MonitorName, Persist};
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, CLOSED_CHANNEL_UPDATE_ID};
use lightning_core::chain::ChannelMonitorUpdateStatus;
use lightning_core::ln::types::ChannelId;
use lightning_core::sign::{EcdsaChannelSigner, SignerProvider};
use lightning_core::util::logger::Logger;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_core::{log_error, log_warn};

use crate::codec::{encode_writeable, CodecError, FormatError, ValueKind, ValueLocation};

/// How many updates a monitor collects before they are folded into a new full
/// monitor, unless configured otherwise.
pub const DEFAULT_MAXIMUM_PENDING_UPDATES: u64 = 100;

/// What one call to the persister writes, already encoded: built on the
/// caller's thread (which holds the monitor), carried out there (synchronous
/// mode) or on a background task (asynchronous mode).
pub(crate) struct MonitorWrite {
    /// The monitor's key.
    name: String,
    /// The channel, to report completion for.
    channel_id: ChannelId,
    /// The update id this write makes durable (with everything before it).
    completes_update_id: u64,
    kind: WriteKind,
    /// After a full monitor: remove the stored updates with ids up to this.
    remove_updates_up_to: Option<u64>,
    /// The enveloped value.
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteKind {
    /// One update, under its id.
    Update,
    /// The full monitor, then lazy removal of the updates it covers.
    FullMonitor,
}

impl MonitorWrite {
    /// Where the value goes.
    fn location(&self) -> ValueLocation {
        match self.kind {
            WriteKind::Update => ValueLocation::new(
                CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                &self.name,
                &self.completes_update_id.to_string(),
            ),
            WriteKind::FullMonitor => ValueLocation::new(
                CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                &self.name,
            ),
        }
    }
}

/// A [`Persist`] over any [`KVStore`] that writes each monitor update as its
/// own small value and folds them into a full monitor every
/// [`maximum_pending_updates`](Self::maximum_pending_updates). Synchronous:
/// every call returns `Completed` after the store made the write durable. See
/// the [module documentation](self) for the layout and the rules.
///
/// ```
/// use lightning_core::util::logger::NullLogger;
/// use lightning_persister::fs_store::FilesystemStore;
/// use lightning_persister::monitor::MonitorUpdatingPersister;
///
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FilesystemStore::new(dir.path())?;
/// let persister = MonitorUpdatingPersister::new(store, NullLogger).with_maximum_pending_updates(50);
/// assert_eq!(persister.maximum_pending_updates(), 50);
/// // Hand `persister` to `ChainMonitor::new`; at start-up, read the monitors
/// // back with `persister.read_all_channel_monitors_with_updates(..)`.
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct MonitorUpdatingPersister<K: KVStore, L: Logger> {
    kv_store: K,
    logger: L,
    maximum_pending_updates: u64,
}

impl<K: KVStore, L: Logger> MonitorUpdatingPersister<K, L> {
    /// A persister writing to `kv_store`, folding updates into a full monitor
    /// every [`DEFAULT_MAXIMUM_PENDING_UPDATES`].
    pub fn new(kv_store: K, logger: L) -> Self {
        MonitorUpdatingPersister {
            kv_store,
            logger,
            maximum_pending_updates: DEFAULT_MAXIMUM_PENDING_UPDATES,
        }
    }

    /// Folds updates into a full monitor every `maximum_pending_updates`
    /// updates instead (`0` or `1`: every update writes the full monitor).
    /// The setting may change between runs: reading does not depend on it.
    pub fn with_maximum_pending_updates(mut self, maximum_pending_updates: u64) -> Self {
        self.maximum_pending_updates = maximum_pending_updates;
        self
    }

    /// How many updates a monitor collects before a full monitor is written.
    pub fn maximum_pending_updates(&self) -> u64 {
        self.maximum_pending_updates
    }

    /// The store written to.
    pub fn kv_store(&self) -> &K {
        &self.kv_store
    }

    /// Reads every stored monitor and replays its pending updates (see
    /// [`read_channel_monitors_with_updates`]). Call it once at start-up,
    /// before handing the monitors to the channel manager and the
    /// `ChainMonitor`.
    pub fn read_all_channel_monitors_with_updates<SP: SignerProvider>(
        &self, signer_provider: &SP, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Result<Vec<ChannelMonitor<SP::EcdsaSigner>>, ReadError> {
        read_channel_monitors_with_updates(
            &self.kv_store,
            signer_provider,
            broadcaster,
            fee_estimator,
            logger,
        )
    }

    /// Whether an update with this id is written on its own rather than as a
    /// full monitor.
    fn writes_update_alone(&self, update_id: u64) -> bool {
        update_id != CLOSED_CHANNEL_UPDATE_ID
            && self.maximum_pending_updates > 1
            && update_id % self.maximum_pending_updates != 0
    }

    /// Encodes what a call must write.
    /// `new_channel`: the monitor is new, so any update stored under its name
    /// is a leftover to remove whatever its id.
    pub(crate) fn plan<S: EcdsaChannelSigner>(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
        new_channel: bool,
    ) -> Result<MonitorWrite, (ValueLocation, FormatError)> {
        let name = name.to_string();
        let channel_id = monitor.channel_id();
        let write = match update {
            Some(update) if !new_channel && self.writes_update_alone(update.update_id) => MonitorWrite {
                name,
                channel_id,
                completes_update_id: update.update_id,
                kind: WriteKind::Update,
                remove_updates_up_to: None,
                bytes: Vec::new(),
            },
            _ => {
                let latest_update_id = monitor.latest_update_id();
                MonitorWrite {
                    name,
                    channel_id,
                    completes_update_id: latest_update_id,
                    kind: WriteKind::FullMonitor,
                    remove_updates_up_to: Some(if new_channel { u64::MAX } else { latest_update_id }),
                    bytes: Vec::new(),
                }
            }
        };
        let encoded = match (write.kind, update) {
            (WriteKind::Update, Some(update)) => encode_writeable(ValueKind::ChannelMonitorUpdate, update),
            _ => encode_writeable(ValueKind::ChannelMonitor, monitor),
        };
        match encoded {
            Ok(bytes) => Ok(MonitorWrite { bytes, ..write }),
            Err(e) => Err((write.location(), e)),
        }
    }

    /// Makes `write` durable; for a full monitor, then removes the updates it
    /// covers (lazily; a failure there is only logged).
    pub(crate) fn execute(&self, write: &MonitorWrite) -> Result<(), CodecError> {
        let location = write.location();
        self.kv_store
            .write(&location.primary_namespace, &location.secondary_namespace, &location.key, &write.bytes)
            .map_err(|error| CodecError::Store { location: location.clone(), error })?;
        if let Some(up_to) = write.remove_updates_up_to {
            self.remove_updates_up_to(&write.name, up_to);
        }
        Ok(())
    }

    /// Lazily removes the stored updates of `name` with ids up to
    /// `latest_update_id` (all of them for a closed channel's monitor, whose
    /// id is [`CLOSED_CHANNEL_UPDATE_ID`]).
    fn remove_updates_up_to(&self, name: &str, latest_update_id: u64) {
        let ns = CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE;
        let keys = match self.kv_store.list(ns, name) {
            Ok(keys) => keys,
            Err(e) => {
                log_warn!(self.logger, "Cannot list the updates of monitor {name} to remove them: {e}");
                return;
            }
        };
        for key in keys {
            if parse_update_key(&key).is_some_and(|id| id <= latest_update_id) {
                if let Err(e) = self.kv_store.remove(ns, name, &key, true) {
                    log_warn!(
                        self.logger,
                        "Cannot remove {ns}/{name}/{key}, already in the full monitor: {e}"
                    );
                }
            }
        }
    }

    /// Plans and carries out a write on the caller's thread.
    fn persist_now<S: EcdsaChannelSigner>(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
        new_channel: bool,
    ) -> ChannelMonitorUpdateStatus {
        let write = match self.plan(name, update, monitor, new_channel) {
            Ok(write) => write,
            Err((location, e)) => {
                log_error!(
                    self.logger,
                    channel = Some(monitor.channel_id()),
                    "Cannot encode {location}: {e}"
                );
                return ChannelMonitorUpdateStatus::UnrecoverableError;
            }
        };
        match self.execute(&write) {
            Ok(()) => ChannelMonitorUpdateStatus::Completed,
            Err(e) => {
                log_error!(self.logger, channel = Some(monitor.channel_id()), "Monitor write failed: {e}");
                ChannelMonitorUpdateStatus::UnrecoverableError
            }
        }
    }
}

impl<S: EcdsaChannelSigner, K: KVStore, L: Logger> Persist<S> for MonitorUpdatingPersister<K, L> {
    fn persist_new_channel(
        &self, name: MonitorName, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.persist_now(name, None, monitor, true)
    }

    fn update_persisted_channel(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.persist_now(name, update, monitor, false)
    }
}

#[cfg(test)]
mod tests;
