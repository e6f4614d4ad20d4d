//! Unit tests of the write decisions, over an in-memory store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use lightning_core::chain::chainmonitor::{MonitorName, Persist};
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, CLOSED_CHANNEL_UPDATE_ID};
use lightning_core::chain::test_utils::{TestChain, TestChannel, TestLogger};
use lightning_core::chain::ChannelMonitorUpdateStatus;
use lightning_core::io;
use lightning_core::sign::InMemorySigner;
use lightning_core::util::logger::Level;
use lightning_core::util::persist::{validate_key, validate_namespace, KVStore};

use super::*;

/// Keys to values; counts writes; can refuse to list.
#[derive(Default)]
struct MemStore {
    values: Mutex<BTreeMap<(String, String, String), Vec<u8>>>,
    writes: Mutex<Vec<String>>,
    fail_list: bool,
}

impl KVStore for MemStore {
    fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, io::Error> {
        validate_key(p, s, k)?;
        let values = self.values.lock().expect("lock");
        values.get(&(p.into(), s.into(), k.into())).cloned().ok_or(io::ErrorKind::NotFound.into())
    }
    fn write(&self, p: &str, s: &str, k: &str, buf: &[u8]) -> Result<(), io::Error> {
        validate_key(p, s, k)?;
        self.writes.lock().expect("lock").push(ValueLocation::new(p, s, k).to_string());
        self.values.lock().expect("lock").insert((p.into(), s.into(), k.into()), buf.to_vec());
        Ok(())
    }
    fn remove(&self, p: &str, s: &str, k: &str, _lazy: bool) -> Result<(), io::Error> {
        validate_key(p, s, k)?;
        self.values.lock().expect("lock").remove(&(p.into(), s.into(), k.into()));
        Ok(())
    }
    fn list(&self, p: &str, s: &str) -> Result<Vec<String>, io::Error> {
        validate_namespace(p, s)?;
        if self.fail_list {
            return Err(io::Error::new(io::ErrorKind::Other, "list refused"));
        }
        let values = self.values.lock().expect("lock");
        Ok(values.keys().filter(|(kp, ks, _)| kp == p && ks == s).map(|(_, _, k)| k.clone()).collect())
    }
}

impl MemStore {
    fn take_writes(&self) -> Vec<String> {
        std::mem::take(&mut *self.writes.lock().expect("lock"))
    }
}

fn channel() -> (TestChannel, ChannelMonitor<InMemorySigner>) {
    let mut chan = TestChannel::new(false, 3);
    let steps = chan.initial_steps();
    let monitor = chan.monitor(TestChain::new(100).best_block(), steps);
    (chan, monitor)
}

/// An update with just an id (its steps do not matter to the persister).
fn update(chan: &TestChannel, update_id: u64) -> ChannelMonitorUpdate {
    ChannelMonitorUpdate { update_id, channel_id: chan.channel_id, updates: Vec::new() }
}

#[test]
fn which_updates_are_written_alone() {
    let persister = |n| {
        MonitorUpdatingPersister::new(MemStore::default(), TestLogger::default())
            .with_maximum_pending_updates(n)
    };
    let default = MonitorUpdatingPersister::new(MemStore::default(), TestLogger::default());
    assert_eq!(default.maximum_pending_updates(), DEFAULT_MAXIMUM_PENDING_UPDATES);
    for id in [1, 2, 99, 101, 199] {
        assert!(default.writes_update_alone(id), "{id}");
    }
    for id in [0, 100, 200, CLOSED_CHANNEL_UPDATE_ID] {
        assert!(!default.writes_update_alone(id), "{id}");
    }
    // 0 and 1: every update is a full monitor.
    for n in [0, 1] {
        assert!((0..10).chain([CLOSED_CHANNEL_UPDATE_ID]).all(|id| !persister(n).writes_update_alone(id)));
    }
    assert!(persister(2).writes_update_alone(3));
    assert!(!persister(2).writes_update_alone(4));
}

#[test]
fn writes_go_where_the_layout_says() {
    let (chan, monitor) = channel();
    let name = MonitorName::new(chan.funding_outpoint());
    let persister = MonitorUpdatingPersister::new(MemStore::default(), TestLogger::default())
        .with_maximum_pending_updates(3);
    let store = persister.kv_store();
    assert_eq!(persister.persist_new_channel(name, &monitor), ChannelMonitorUpdateStatus::Completed);
    assert_eq!(store.take_writes(), vec![format!("monitors/{name}")]);
    for id in 1..=4 {
        let status = persister.update_persisted_channel(name, Some(&update(&chan, id)), &monitor);
        assert_eq!(status, ChannelMonitorUpdateStatus::Completed);
    }
    // 3 is a multiple of N: the full monitor.
    assert_eq!(
        store.take_writes(),
        vec![
            format!("monitor_updates/{name}/1"),
            format!("monitor_updates/{name}/2"),
            format!("monitors/{name}"),
            format!("monitor_updates/{name}/4"),
        ]
    );
    assert_eq!(
        persister.update_persisted_channel(name, None, &monitor),
        ChannelMonitorUpdateStatus::Completed
    );
    assert_eq!(
        persister.update_persisted_channel(name, Some(&update(&chan, CLOSED_CHANNEL_UPDATE_ID)), &monitor),
        ChannelMonitorUpdateStatus::Completed
    );
    assert_eq!(store.take_writes(), vec![format!("monitors/{name}"), format!("monitors/{name}")]);
}

#[test]
fn a_new_monitor_removes_leftover_updates_of_its_name() {
    let (chan, monitor) = channel();
    let name = MonitorName::new(chan.funding_outpoint());
    let persister = MonitorUpdatingPersister::new(MemStore::default(), TestLogger::default());
    let store = persister.kv_store();
    for key in ["3", "250"] {
        store
            .write(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, &name.to_string(), key, b"old")
            .expect("write");
    }
    // A full write at id 0 of a live channel would keep them (ids above 0);
    // a new channel's monitor clears them.
    assert_eq!(persister.persist_new_channel(name, &monitor), ChannelMonitorUpdateStatus::Completed);
    assert!(store
        .list(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, &name.to_string())
        .expect("list")
        .is_empty());
}

#[test]
fn a_failed_cleanup_is_logged_not_fatal() {
    let (chan, monitor) = channel();
    let name = MonitorName::new(chan.funding_outpoint());
    let store = MemStore { fail_list: true, ..MemStore::default() };
    let persister = MonitorUpdatingPersister::new(store, TestLogger::default());
    assert_eq!(persister.persist_new_channel(name, &monitor), ChannelMonitorUpdateStatus::Completed);
    assert_eq!(persister.logger.count(Level::Warn, "list refused"), 1);
}

#[test]
fn a_monitor_that_cannot_serialize_is_unrecoverable() {
    let (chan, _) = channel();
    // A monitor whose initial steps were refused refuses to serialize.
    let poisoned = chan.monitor(
        TestChain::new(100).best_block(),
        vec![lightning_core::chain::channelmonitor::ChannelMonitorUpdateStep::ChannelForceClosed {
            should_broadcast: true,
        }],
    );
    assert!(poisoned.initial_steps_error().is_some());
    let name = MonitorName::new(chan.funding_outpoint());
    let persister = MonitorUpdatingPersister::new(MemStore::default(), TestLogger::default());
    assert_eq!(
        persister.persist_new_channel(name, &poisoned),
        ChannelMonitorUpdateStatus::UnrecoverableError
    );
    assert!(persister.kv_store().take_writes().is_empty());
    assert_eq!(persister.logger.count(Level::Error, "cannot serialize"), 1);
}
