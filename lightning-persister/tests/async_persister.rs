//! `AsyncMonitorPersister`: the `ChainMonitor` hears `InProgress`, the write
//! happens on a background task, and `MonitorEvent::Completed` only appears
//! once the write is durable.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::monitors::{encoded, Chan};
use common::test_dir;
use lightning_core::chain::chainmonitor::ChainMonitor;
use lightning_core::chain::channelmonitor::{MonitorEvent, MonitorEventBatch};
use lightning_core::chain::test_utils::{TestBroadcaster, TestFeeEstimator, TestFilter, TestLogger};
use lightning_core::chain::{ChannelMonitorUpdateStatus, Watch};
use lightning_core::io;
use lightning_core::ln::types::ChannelId;
use lightning_core::sign::InMemorySigner;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_persister::fs_store::FilesystemStore;
use lightning_persister::monitor::{
    chain_monitor_completion_handler, thread_spawner, AsyncMonitorPersister, MonitorUpdatingPersister,
    Spawner, WriteTask,
};

const MONITORS: &str = CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE;
const UPDATES: &str = CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE;

/// A filesystem store whose writes can be made to fail.
struct FlakyStore {
    inner: FilesystemStore,
    fail_writes: AtomicBool,
}

impl KVStore for FlakyStore {
    fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, io::Error> {
        self.inner.read(p, s, k)
    }
    fn write(&self, p: &str, s: &str, k: &str, buf: &[u8]) -> Result<(), io::Error> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Other, "disk full"));
        }
        self.inner.write(p, s, k, buf)
    }
    fn remove(&self, p: &str, s: &str, k: &str, lazy: bool) -> Result<(), io::Error> {
        self.inner.remove(p, s, k, lazy)
    }
    fn list(&self, p: &str, s: &str) -> Result<Vec<String>, io::Error> {
        self.inner.list(p, s)
    }
}

type Persister = AsyncMonitorPersister<FlakyStore, Arc<TestLogger>>;
type TestChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<TestFilter>,
    Arc<TestBroadcaster>,
    Arc<TestFeeEstimator>,
    Arc<TestLogger>,
    Arc<Persister>,
>;

/// Holds spawned tasks until the test runs them.
#[derive(Clone, Default)]
struct ManualSpawner(Arc<Mutex<Vec<WriteTask>>>);

impl ManualSpawner {
    fn spawner(&self) -> Spawner {
        let tasks = Arc::clone(&self.0);
        Arc::new(move |task| tasks.lock().expect("lock").push(task))
    }
    fn queued(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
    fn run_all(&self) {
        loop {
            let tasks = std::mem::take(&mut *self.0.lock().expect("lock"));
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                task.run();
            }
        }
    }
    fn drop_all(&self) {
        self.0.lock().expect("lock").clear();
    }
}

struct Node {
    _dir: tempfile::TempDir,
    persister: Arc<Persister>,
    chain_monitor: Arc<TestChainMonitor>,
    logger: Arc<TestLogger>,
}

impl Node {
    fn new(spawner: Spawner, maximum_pending_updates: u64) -> Node {
        let dir = test_dir("async_persister");
        let store = FlakyStore {
            inner: FilesystemStore::new(dir.path()).expect("open"),
            fail_writes: AtomicBool::new(false),
        };
        let logger = Arc::new(TestLogger::default());
        let persister = Arc::new(AsyncMonitorPersister::new(
            MonitorUpdatingPersister::new(store, Arc::clone(&logger))
                .with_maximum_pending_updates(maximum_pending_updates),
            spawner,
        ));
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::new(TestBroadcaster::default()),
            Arc::clone(&logger),
            Arc::new(TestFeeEstimator::default()),
            Arc::clone(&persister),
        ));
        persister.set_completion_handler(chain_monitor_completion_handler(&chain_monitor));
        Node { _dir: dir, persister, chain_monitor, logger }
    }

    fn store(&self) -> &FlakyStore {
        self.persister.persister().kv_store()
    }

    fn update_keys(&self, chan: &Chan) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .store()
            .list(UPDATES, &chan.name().to_string())
            .expect("list")
            .iter()
            .map(|k| k.parse().expect("id"))
            .collect();
        ids.sort_unstable();
        ids
    }

    fn completed(&self) -> Vec<(ChannelId, Vec<MonitorEvent>)> {
        self.chain_monitor
            .release_pending_monitor_events()
            .into_iter()
            .map(|b: MonitorEventBatch| (b.channel_id, b.events))
            .collect()
    }

    fn reads_back_live_state(&self, chan: &Chan) {
        let keys = &chan.chan.holder_keys;
        let env = common::monitors::Env::default();
        let read = self
            .persister
            .read_all_channel_monitors_with_updates(keys, &env.broadcaster, &env.fees, &env.logger)
            .unwrap_or_else(|e| panic!("reads back: {e}"));
        for monitor in read {
            let live = self.chain_monitor.get_monitor(monitor.channel_id()).expect("watched");
            assert_eq!(encoded(&monitor), encoded(&live));
        }
    }
}

fn completed_ids(ids: impl IntoIterator<Item = u64>) -> Vec<MonitorEvent> {
    ids.into_iter().map(|monitor_update_id| MonitorEvent::Completed { monitor_update_id }).collect()
}

#[test]
fn completed_events_appear_only_after_the_write() {
    let spawner = ManualSpawner::default();
    let node = Node::new(spawner.spawner(), 100);
    let (mut chan, monitor) = Chan::numbered(1);
    let id = chan.chan.channel_id;
    let name = chan.name().to_string();

    assert_eq!(node.chain_monitor.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::InProgress));
    assert_eq!(spawner.queued(), 1);
    assert!(node.store().list(MONITORS, "").expect("list").is_empty(), "not written yet");
    assert!(node.completed().is_empty(), "nothing completes before the write");
    spawner.run_all();
    assert_eq!(node.store().list(MONITORS, "").expect("list"), vec![name.clone()]);
    assert_eq!(node.completed(), vec![(id, completed_ids([0]))]);

    for _ in 0..3 {
        assert_eq!(
            node.chain_monitor.update_channel(id, &chan.next_update(1)),
            ChannelMonitorUpdateStatus::InProgress
        );
    }
    assert_eq!(spawner.queued(), 1, "one task drains the monitor's queue");
    assert_eq!(node.persister.pending_writes(), 3);
    assert!(node.update_keys(&chan).is_empty());
    assert!(node.completed().is_empty());
    assert_eq!(node.chain_monitor.list_pending_monitor_updates().get(&id), Some(&vec![1, 2, 3]));

    spawner.run_all();
    assert_eq!(node.update_keys(&chan), vec![1, 2, 3]);
    assert_eq!(node.completed(), vec![(id, completed_ids([1, 2, 3]))]);
    assert!(node.chain_monitor.list_pending_monitor_updates().is_empty());
    assert_eq!(node.persister.pending_writes(), 0);
    assert!(node.persister.wait_for_pending_writes(Duration::ZERO));
    node.reads_back_live_state(&chan);
}

#[test]
fn background_threads_write_many_monitors_in_order() {
    let node = Node::new(thread_spawner(), 7);
    let mut chans = Vec::new();
    for i in 0..3u32 {
        let (chan, monitor) = Chan::numbered(20 + i);
        assert_eq!(
            node.chain_monitor.watch_channel(chan.chan.channel_id, monitor),
            Ok(ChannelMonitorUpdateStatus::InProgress)
        );
        chans.push(chan);
    }
    for _ in 0..30 {
        for chan in chans.iter_mut() {
            let update = chan.next_update(2);
            assert_eq!(
                node.chain_monitor.update_channel(chan.chan.channel_id, &update),
                ChannelMonitorUpdateStatus::InProgress
            );
        }
    }
    assert!(node.persister.wait_for_pending_writes(Duration::from_secs(60)), "writes finish");
    assert!(node.chain_monitor.list_pending_monitor_updates().is_empty());
    // Every channel's completions arrived in order and reached update 30.
    let mut last = std::collections::BTreeMap::new();
    for (channel_id, events) in node.completed() {
        for event in events {
            let MonitorEvent::Completed { monitor_update_id } = event else { panic!("unexpected {event:?}") };
            let previous = last.insert(channel_id, monitor_update_id);
            assert!(previous.map_or(true, |p| p < monitor_update_id), "completions in order");
        }
    }
    for chan in &chans {
        assert_eq!(last.get(&chan.chan.channel_id), Some(&30));
        // 30 updates, a full monitor every 7: 29..=30 remain.
        assert_eq!(node.update_keys(chan), vec![29, 30]);
    }
    node.reads_back_live_state(&chans[0]);
}

#[test]
fn a_failed_write_pauses_the_channel_until_retried() {
    let spawner = ManualSpawner::default();
    let node = Node::new(spawner.spawner(), 100);
    let (mut chan, monitor) = Chan::numbered(2);
    let id = chan.chan.channel_id;
    node.chain_monitor.watch_channel(id, monitor).expect("watched");
    spawner.run_all();
    assert_eq!(node.completed(), vec![(id, completed_ids([0]))]);

    node.store().fail_writes.store(true, Ordering::SeqCst);
    node.chain_monitor.update_channel(id, &chan.next_update(0));
    spawner.run_all();
    let failed = node.persister.failed_writes();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].channel_id, id);
    assert!(failed[0].error.contains("disk full"), "{}", failed[0].error);
    assert!(failed[0].error.contains(&format!("{UPDATES}/{}/1", chan.name())), "{}", failed[0].error);
    assert!(node.completed().is_empty(), "a failed write completes nothing");
    assert!(!node.persister.wait_for_pending_writes(Duration::from_secs(5)), "only a failed write is left");

    // A later write waits behind the failed one, even once the disk is back.
    node.store().fail_writes.store(false, Ordering::SeqCst);
    node.chain_monitor.update_channel(id, &chan.next_update(0));
    assert_eq!(spawner.queued(), 0);
    assert_eq!(node.persister.failed_writes()[0].queued_writes, 2);
    assert!(node.completed().is_empty());

    node.persister.retry_failed_writes();
    spawner.run_all();
    assert!(node.persister.failed_writes().is_empty());
    assert_eq!(node.update_keys(&chan), vec![1, 2]);
    assert_eq!(node.completed(), vec![(id, completed_ids([1, 2]))]);
    node.reads_back_live_state(&chan);
}

#[test]
fn full_monitor_writes_replace_the_writes_queued_behind_a_failure() {
    let spawner = ManualSpawner::default();
    // Every update writes the full monitor.
    let node = Node::new(spawner.spawner(), 1);
    let (mut chan, monitor) = Chan::numbered(4);
    let id = chan.chan.channel_id;
    node.chain_monitor.watch_channel(id, monitor).expect("watched");
    spawner.run_all();
    assert_eq!(node.completed(), vec![(id, completed_ids([0]))]);

    node.store().fail_writes.store(true, Ordering::SeqCst);
    for _ in 0..20 {
        node.chain_monitor.update_channel(id, &chan.next_update(0));
        spawner.run_all();
    }
    // One full copy is held, whatever the number of writes that failed.
    assert_eq!(node.persister.failed_writes()[0].queued_writes, 1);
    assert_eq!(node.persister.pending_writes(), 1);
    assert!(node.completed().is_empty());

    node.store().fail_writes.store(false, Ordering::SeqCst);
    node.persister.retry_failed_writes();
    spawner.run_all();
    assert!(node.persister.wait_for_pending_writes(Duration::from_secs(5)));
    assert_eq!(node.completed(), vec![(id, completed_ids([20]))]);
    assert!(node.chain_monitor.list_pending_monitor_updates().is_empty());
    node.reads_back_live_state(&chan);
}

#[test]
fn a_task_dropped_by_the_runtime_is_a_failure_to_retry() {
    let spawner = ManualSpawner::default();
    let node = Node::new(spawner.spawner(), 100);
    let (chan, monitor) = Chan::numbered(3);
    let id = chan.chan.channel_id;
    node.chain_monitor.watch_channel(id, monitor).expect("watched");
    spawner.drop_all();
    let failed = node.persister.failed_writes();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].error.contains("without running it"));
    assert_eq!(node.logger.count(lightning_core::util::logger::Level::Error, "without running it"), 1);
    node.persister.retry_failed_writes();
    spawner.run_all();
    assert_eq!(node.completed(), vec![(id, completed_ids([0]))]);
}

#[test]
fn completions_before_the_handler_is_set_are_delivered_later() {
    let spawner = ManualSpawner::default();
    let node = Node::new(spawner.spawner(), 100);
    let (chan, monitor) = Chan::numbered(4);
    let id = chan.chan.channel_id;
    // A second persister over the same store, with no handler yet.
    let late = Arc::new(AsyncMonitorPersister::new(
        MonitorUpdatingPersister::new(
            FlakyStore {
                inner: FilesystemStore::new(node.store().inner.data_dir()).expect("open"),
                fail_writes: AtomicBool::new(false),
            },
            Arc::clone(&node.logger),
        ),
        spawner.spawner(),
    ));
    let chain_monitor: Arc<TestChainMonitor> = Arc::new(ChainMonitor::new(
        None,
        Arc::new(TestBroadcaster::default()),
        Arc::clone(&node.logger),
        Arc::new(TestFeeEstimator::default()),
        Arc::clone(&late),
    ));
    assert_eq!(chain_monitor.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::InProgress));
    spawner.run_all();
    assert!(chain_monitor.release_pending_monitor_events().is_empty());
    late.set_completion_handler(chain_monitor_completion_handler(&chain_monitor));
    let events: Vec<_> =
        chain_monitor.release_pending_monitor_events().into_iter().map(|b| b.events).collect();
    assert_eq!(events, vec![completed_ids([0])]);
}

#[cfg(feature = "tokio")]
#[test]
fn writes_run_on_a_tokio_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let dir = test_dir("async_tokio");
    let store = FlakyStore {
        inner: FilesystemStore::new(dir.path()).expect("open"),
        fail_writes: AtomicBool::new(false),
    };
    let logger = Arc::new(TestLogger::default());
    let persister = Arc::new(AsyncMonitorPersister::with_tokio_handle(
        MonitorUpdatingPersister::new(store, Arc::clone(&logger)).with_maximum_pending_updates(4),
        runtime.handle().clone(),
    ));
    let chain_monitor: Arc<TestChainMonitor> = Arc::new(ChainMonitor::new(
        None,
        Arc::new(TestBroadcaster::default()),
        Arc::clone(&logger),
        Arc::new(TestFeeEstimator::default()),
        Arc::clone(&persister),
    ));
    persister.set_completion_handler(chain_monitor_completion_handler(&chain_monitor));
    let (mut chan, monitor) = Chan::numbered(5);
    let id = chan.chan.channel_id;
    assert_eq!(chain_monitor.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::InProgress));
    for _ in 0..10 {
        assert_eq!(
            chain_monitor.update_channel(id, &chan.next_update(1)),
            ChannelMonitorUpdateStatus::InProgress
        );
    }
    assert!(persister.wait_for_pending_writes(Duration::from_secs(60)));
    assert!(chain_monitor.list_pending_monitor_updates().is_empty());
    let last = chain_monitor
        .release_pending_monitor_events()
        .into_iter()
        .flat_map(|b| b.events)
        .last()
        .expect("completions");
    assert_eq!(last, MonitorEvent::Completed { monitor_update_id: 10 });
    let mut ids = persister.persister().kv_store().list(UPDATES, &chan.name().to_string()).expect("list");
    ids.sort();
    assert_eq!(ids, vec!["10", "9"]);
}
