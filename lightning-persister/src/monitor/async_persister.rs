//! The asynchronous mode: writes happen on background tasks in the caller's
//! runtime, the `ChainMonitor` hears `InProgress` and learns of completion
//! through [`ChainMonitor::channel_monitor_updated`].
//!
//! Each monitor has a FIFO queue of encoded writes and at most one task
//! draining it, so one monitor's writes reach the store in the order they
//! were made, and completions are reported in that order: reporting id `n`
//! (which the `ChainMonitor` takes as "everything up to `n`") is only ever
//! done once every earlier write of that monitor is durable. Different
//! monitors are written in parallel.
//!
//! A write that fails stays at the head of its queue and stops it (the
//! channel stays paused: nothing later may be reported done before it). The
//! failure is logged and listed by [`AsyncMonitorPersister::failed_writes`];
//! [`AsyncMonitorPersister::retry_failed_writes`] tries again.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use lightning_core::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use lightning_core::chain::chainmonitor::{ChainMonitor, MonitorName, MonitorUpdateCompletionError, Persist};
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::chain::{ChannelMonitorUpdateStatus, Filter};
use lightning_core::ln::types::ChannelId;
use lightning_core::sign::{EcdsaChannelSigner, SignerProvider};
use lightning_core::util::logger::Logger;
use lightning_core::util::persist::KVStore;
use lightning_core::{log_debug, log_error, log_warn};

use super::{MonitorUpdatingPersister, MonitorWrite, ReadError, WriteKind};

/// Runs a [`WriteTask`] somewhere other than the calling thread (a thread
/// pool, a runtime's blocking pool...). It must not run the task on the
/// calling thread before returning: the caller holds the `ChainMonitor`'s
/// locks that the task's completion report needs. Dropping a task without
/// running it marks its monitor's writes as failed (see
/// [`AsyncMonitorPersister::retry_failed_writes`]).
pub type Spawner = Arc<dyn Fn(WriteTask) + Send + Sync>;

/// Told that a monitor is durable up to an update id: usually
/// [`chain_monitor_completion_handler`], which calls
/// [`ChainMonitor::channel_monitor_updated`].
pub type CompletionHandler =
    Arc<dyn Fn(ChannelId, u64) -> Result<(), MonitorUpdateCompletionError> + Send + Sync>;

/// A [`Spawner`] that runs each task on a new OS thread.
pub fn thread_spawner() -> Spawner {
    Arc::new(|task: WriteTask| {
        // If the thread cannot be created the task is dropped unrun, which
        // marks the monitor's writes failed (retryable).
        let _ = std::thread::Builder::new().name("monitor-writer".into()).spawn(move || task.run());
    })
}

/// A [`Spawner`] that runs each task on the blocking pool of a tokio runtime
/// (the store's writes are blocking file system calls).
#[cfg(feature = "tokio")]
pub fn tokio_spawner(handle: tokio::runtime::Handle) -> Spawner {
    Arc::new(move |task: WriteTask| {
        drop(handle.spawn_blocking(move || task.run()));
    })
}

/// A [`CompletionHandler`] reporting to `chain_monitor` (held weakly: once the
/// chain monitor is dropped, completions are ignored).
pub fn chain_monitor_completion_handler<S, C, T, F, L, P>(
    chain_monitor: &Arc<ChainMonitor<S, C, T, F, L, P>>,
) -> CompletionHandler
where
    S: EcdsaChannelSigner + 'static,
    C: Filter + 'static,
    T: BroadcasterInterface + 'static,
    F: FeeEstimator + 'static,
    L: Logger + 'static,
    P: Persist<S> + 'static,
    ChainMonitor<S, C, T, F, L, P>: Send + Sync,
{
    let chain_monitor: Weak<ChainMonitor<S, C, T, F, L, P>> = Arc::downgrade(chain_monitor);
    Arc::new(move |channel_id, update_id| match chain_monitor.upgrade() {
        Some(chain_monitor) => chain_monitor.channel_monitor_updated(channel_id, update_id),
        None => Ok(()),
    })
}

/// The work of draining one monitor's queue of writes; hand it to a runtime
/// and call [`WriteTask::run`] there.
pub struct WriteTask {
    queues: Arc<dyn DrainQueue>,
    name: String,
    ran: bool,
}

impl WriteTask {
    /// Writes the monitor's queued values in order, reporting each as done.
    pub fn run(mut self) {
        self.queues.drain(&self.name);
        self.ran = true;
    }
}

impl Drop for WriteTask {
    fn drop(&mut self) {
        if !self.ran {
            self.queues.abandon(&self.name);
        }
    }
}

/// The type-erased side of the shared state a [`WriteTask`] works on.
trait DrainQueue: Send + Sync {
    fn drain(&self, name: &str);
    fn abandon(&self, name: &str);
}

/// A monitor write that failed and waits to be retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedMonitorWrite {
    /// The monitor's name.
    pub monitor_name: String,
    /// The channel.
    pub channel_id: ChannelId,
    /// What went wrong.
    pub error: String,
    /// Writes of this monitor waiting, the failed one included.
    pub queued_writes: usize,
}

enum Worker {
    /// No task is draining the queue.
    Idle,
    /// A task is draining it.
    Running,
    /// The head write failed; nothing drains until a retry.
    Failed { error: String },
}

struct Queue {
    channel_id: ChannelId,
    writes: VecDeque<MonitorWrite>,
    worker: Worker,
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, Queue>,
    completion_handler: Option<CompletionHandler>,
    /// Completions made before a handler was set.
    undelivered: Vec<(ChannelId, u64)>,
    /// Writes queued or being written.
    unfinished: usize,
}

struct Shared<K: KVStore, L: Logger> {
    persister: MonitorUpdatingPersister<K, L>,
    spawner: Spawner,
    state: Mutex<State>,
    changed: Condvar,
}

impl<K: KVStore, L: Logger> Shared<K, L> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover the data if it did.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K, L> DrainQueue for Shared<K, L>
where
    K: KVStore + Send + Sync,
    L: Logger + Send + Sync,
{
    fn drain(&self, name: &str) {
        loop {
            let write = {
                let mut state = self.lock();
                let Some(queue) = state.queues.get_mut(name) else { return };
                match queue.writes.pop_front() {
                    Some(write) => write,
                    None => {
                        state.queues.remove(name);
                        self.changed.notify_all();
                        return;
                    }
                }
            };
            match self.persister.execute(&write) {
                Ok(()) => {
                    let handler = {
                        let mut state = self.lock();
                        let handler = state.completion_handler.clone();
                        if handler.is_none() {
                            state.undelivered.push((write.channel_id, write.completes_update_id));
                        }
                        handler
                    };
                    if let Some(handler) = handler {
                        report(&self.persister.logger, &handler, write.channel_id, write.completes_update_id);
                    }
                    self.lock().unfinished -= 1;
                    self.changed.notify_all();
                }
                Err(e) => {
                    log_error!(
                        self.persister.logger,
                        channel = Some(write.channel_id),
                        "Monitor write failed, the channel stays paused until it is retried: {e}"
                    );
                    let mut state = self.lock();
                    if let Some(queue) = state.queues.get_mut(name) {
                        queue.writes.push_front(write);
                        queue.worker = Worker::Failed { error: e.to_string() };
                    }
                    self.changed.notify_all();
                    return;
                }
            }
        }
    }

    fn abandon(&self, name: &str) {
        let mut state = self.lock();
        if let Some(queue) = state.queues.get_mut(name) {
            log_error!(
                self.persister.logger,
                channel = Some(queue.channel_id),
                "The spawner dropped the write task of monitor {name} without running it"
            );
            queue.worker =
                Worker::Failed { error: "the spawner dropped the write task without running it".into() };
        }
        self.changed.notify_all();
    }
}

fn report<L: Logger>(logger: &L, handler: &CompletionHandler, channel_id: ChannelId, update_id: u64) {
    match handler(channel_id, update_id) {
        Ok(()) => log_debug!(logger, channel = Some(channel_id), "Monitor durable up to update {update_id}"),
        Err(e) => log_warn!(
            logger,
            channel = Some(channel_id),
            "Completion of monitor update {update_id} not accepted: {e}"
        ),
    }
}

/// A [`Persist`] that writes like [`MonitorUpdatingPersister`] (same layout,
/// same reading) but on background tasks: every call encodes what to write,
/// queues it, and returns `InProgress`; once the write is durable the
/// [`CompletionHandler`] is told (usually
/// [`chain_monitor_completion_handler`], so the `ChainMonitor` releases
/// `MonitorEvent::Completed` and the channel resumes). See the
/// [`crate::monitor`] documentation for ordering and failures.
///
/// The `ChainMonitor` owns its persister, so the handler is set once the
/// chain monitor exists:
///
/// ```
/// # use std::sync::Arc;
/// # use lightning_core::chain::chainmonitor::{ChainMonitor, Persist};
/// # use lightning_core::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
/// # use lightning_core::chain::Filter;
/// # use lightning_core::sign::InMemorySigner;
/// # use lightning_core::util::logger::NullLogger;
/// use lightning_persister::fs_store::FilesystemStore;
/// use lightning_persister::monitor::{
///     chain_monitor_completion_handler, thread_spawner, AsyncMonitorPersister, MonitorUpdatingPersister,
/// };
/// # struct Fees;
/// # impl FeeEstimator for Fees { fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 { 253 } }
/// # struct Broadcaster;
/// # impl BroadcasterInterface for Broadcaster { fn broadcast_transactions(&self, _: &[&bitcoin::Transaction]) {} }
/// # use lightning_core::bitcoin;
///
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FilesystemStore::new(dir.path())?;
/// let persister =
///     Arc::new(AsyncMonitorPersister::new(MonitorUpdatingPersister::new(store, NullLogger), thread_spawner()));
/// let chain_monitor = Arc::new(ChainMonitor::<InMemorySigner, Arc<dyn Filter + Send + Sync>, _, _, _, _>::new(
///     None, Broadcaster, NullLogger, Fees, Arc::clone(&persister),
/// ));
/// persister.set_completion_handler(chain_monitor_completion_handler(&chain_monitor));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncMonitorPersister<K: KVStore, L: Logger> {
    shared: Arc<Shared<K, L>>,
}

impl<K, L> AsyncMonitorPersister<K, L>
where
    K: KVStore + Send + Sync + 'static,
    L: Logger + Send + Sync + 'static,
{
    /// Writes through `persister` on tasks given to `spawner`. Completions
    /// made before [`set_completion_handler`](Self::set_completion_handler)
    /// are kept and delivered when it is called.
    pub fn new(persister: MonitorUpdatingPersister<K, L>, spawner: Spawner) -> Self {
        AsyncMonitorPersister {
            shared: Arc::new(Shared {
                persister,
                spawner,
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            }),
        }
    }

    /// Writes through `persister` on the blocking pool of the tokio runtime
    /// behind `handle`.
    #[cfg(feature = "tokio")]
    pub fn with_tokio_handle(
        persister: MonitorUpdatingPersister<K, L>, handle: tokio::runtime::Handle,
    ) -> Self {
        Self::new(persister, tokio_spawner(handle))
    }

    /// Sets who is told of completed writes, and tells it of those completed
    /// so far.
    pub fn set_completion_handler(&self, handler: CompletionHandler) {
        let undelivered = {
            let mut state = self.shared.lock();
            state.completion_handler = Some(Arc::clone(&handler));
            core::mem::take(&mut state.undelivered)
        };
        for (channel_id, update_id) in undelivered {
            report(&self.shared.persister.logger, &handler, channel_id, update_id);
        }
    }

    /// The synchronous persister writes go through (its store, its
    /// settings).
    pub fn persister(&self) -> &MonitorUpdatingPersister<K, L> {
        &self.shared.persister
    }

    /// Reads every stored monitor and replays its updates (the layout is the
    /// synchronous persister's).
    pub fn read_all_channel_monitors_with_updates<SP: SignerProvider>(
        &self, signer_provider: &SP, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Result<Vec<ChannelMonitor<SP::EcdsaSigner>>, ReadError> {
        self.shared.persister.read_all_channel_monitors_with_updates(
            signer_provider,
            broadcaster,
            fee_estimator,
            logger,
        )
    }

    /// Writes queued or being written, failed ones included.
    pub fn pending_writes(&self) -> usize {
        self.shared.lock().unfinished
    }

    /// Monitors whose writes stopped on a failure.
    pub fn failed_writes(&self) -> Vec<FailedMonitorWrite> {
        self.shared
            .lock()
            .queues
            .iter()
            .filter_map(|(name, queue)| match &queue.worker {
                Worker::Failed { error } => Some(FailedMonitorWrite {
                    monitor_name: name.clone(),
                    channel_id: queue.channel_id,
                    error: error.clone(),
                    queued_writes: queue.writes.len(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Starts draining again every queue stopped by a failure, failed write
    /// first.
    pub fn retry_failed_writes(&self) {
        let names: Vec<String> = {
            let mut state = self.shared.lock();
            state
                .queues
                .iter_mut()
                .filter(|(_, queue)| matches!(queue.worker, Worker::Failed { .. }))
                .map(|(name, queue)| {
                    queue.worker = Worker::Running;
                    name.clone()
                })
                .collect()
        };
        for name in names {
            self.spawn(name);
        }
    }

    /// Waits until every queued write is durable and reported (`true`), or
    /// until `timeout` passes or only failed writes are left (`false`). For
    /// shutdown and tests.
    pub fn wait_for_pending_writes(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.unfinished == 0 {
                return true;
            }
            let any_running = state.queues.values().any(|q| !matches!(q.worker, Worker::Failed { .. }));
            let now = Instant::now();
            if !any_running || now >= deadline {
                return false;
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn spawn(&self, name: String) {
        let queues: Arc<dyn DrainQueue> = Arc::clone(&self.shared) as Arc<dyn DrainQueue>;
        (self.shared.spawner)(WriteTask { queues, name, ran: false });
    }

    /// Queues the write a call asks for and starts a task if none drains the
    /// monitor's queue.
    fn enqueue<S: EcdsaChannelSigner>(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
        new_channel: bool,
    ) -> ChannelMonitorUpdateStatus {
        let logger = &self.shared.persister.logger;
        let write = match self.shared.persister.plan(name, update, monitor, new_channel) {
            Ok(write) => write,
            Err((location, e)) => {
                log_error!(logger, channel = Some(monitor.channel_id()), "Cannot encode {location}: {e}");
                return ChannelMonitorUpdateStatus::UnrecoverableError;
            }
        };
        let mut write = write;
        let key = write.name.clone();
        let start = {
            let mut state = self.shared.lock();
            let queue = state.queues.entry(key.clone()).or_insert_with(|| Queue {
                channel_id: write.channel_id,
                writes: VecDeque::new(),
                worker: Worker::Idle,
            });
            // A full monitor holds everything the writes still queued for it
            // would store (the one being written is no longer in the queue),
            // so it replaces them: a monitor whose writes keep failing holds
            // at most one full copy in memory, not one per block. Its
            // completion reports every replaced update id (completions mean
            // "durable up to").
            let replaced = if write.kind == WriteKind::FullMonitor {
                let replaced = queue.writes.len();
                for earlier in queue.writes.drain(..) {
                    write.remove_updates_up_to = write.remove_updates_up_to.max(earlier.remove_updates_up_to);
                }
                replaced
            } else {
                0
            };
            queue.writes.push_back(write);
            let start = match queue.worker {
                Worker::Idle => {
                    queue.worker = Worker::Running;
                    true
                }
                Worker::Running => false,
                Worker::Failed { .. } => {
                    log_warn!(
                        logger,
                        channel = Some(monitor.channel_id()),
                        "Monitor {key} write queued behind a failed one; retry_failed_writes resumes them"
                    );
                    false
                }
            };
            state.unfinished = state.unfinished + 1 - replaced;
            start
        };
        if start {
            self.spawn(key);
        }
        ChannelMonitorUpdateStatus::InProgress
    }
}

impl<S, K, L> Persist<S> for AsyncMonitorPersister<K, L>
where
    S: EcdsaChannelSigner,
    K: KVStore + Send + Sync + 'static,
    L: Logger + Send + Sync + 'static,
{
    fn persist_new_channel(
        &self, name: MonitorName, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.enqueue(name, None, monitor, true)
    }

    fn update_persisted_channel(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.enqueue(name, update, monitor, false)
    }
}
