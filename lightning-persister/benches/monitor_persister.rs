//! The monitor persister over a `FilesystemStore` on the disk under
//! `target/`:
//!
//! - `monitor_update_write`: durable writes of one 1 KiB `ChannelMonitorUpdate`
//!   (a numbered key), alone and with the default compaction every 100;
//! - `compaction`: the full monitor written after 100 updates, and the 99
//!   update files it covers removed;
//! - `reload_1000_monitors`: reading 1,000 monitors back, each replaying 5
//!   stored updates.
//!
//! Run with `cargo bench -p lightning-persister --bench monitor_persister`.
//! Durable writes measure the disk's flush latency more than the code; the
//! machine is shared, so figures are noisy.

#[path = "../tests/common/monitors.rs"]
mod monitors;

use std::fs;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lightning_core::bitcoin::ScriptBuf;
use lightning_core::chain::chainmonitor::Persist;
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use lightning_core::chain::ChannelMonitorUpdateStatus;
use lightning_core::sign::InMemorySigner;
use lightning_core::util::logger::NullLogger;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_core::util::ser::Writeable;
use lightning_persister::codec::{encode_writeable, ValueKind};
use lightning_persister::fs_store::FilesystemStore;
use lightning_persister::monitor::{read_channel_monitors_with_updates, MonitorUpdatingPersister};
use monitors::{Chan, Env};

fn open_store(prefix: &str) -> (tempfile::TempDir, FilesystemStore) {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary directory");
    let store = FilesystemStore::new(dir.path().join("data")).expect("open store");
    (dir, store)
}

/// Writes an enveloped value straight to its file: setup only, not durable.
fn write_fast(store: &FilesystemStore, primary: &str, secondary: &str, key: &str, value: &impl Writeable) {
    let path = store.key_path(primary, secondary, key).expect("valid key");
    fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
    let kind = if primary == CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE {
        ValueKind::ChannelMonitorUpdate
    } else {
        ValueKind::ChannelMonitor
    };
    fs::write(path, encode_writeable(kind, value).expect("encodes")).expect("write");
}

/// A channel whose monitor took `updates` updates, and a template update of
/// about 1 KiB.
fn channel_with_updates(
    index: u32, updates: usize,
) -> (Chan, ChannelMonitor<InMemorySigner>, ChannelMonitorUpdate) {
    let env = Env::default();
    let (mut chan, monitor) = Chan::numbered(index);
    for _ in 0..updates {
        env.apply(&monitor, &chan.next_update(2));
    }
    // Two commitments with one HTLC and its source, a revocation secret, and
    // a shutdown script sized so the update encodes to exactly 1 KiB.
    let mut template = chan.next_update(1);
    let base_len = template.encode().len();
    template.updates.push(ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey: ScriptBuf::new() });
    let padding = 1024 - template.encode().len();
    template.updates.pop();
    template.updates.push(ChannelMonitorUpdateStep::ShutdownScript {
        scriptpubkey: ScriptBuf::from_bytes(vec![0x51; padding]),
    });
    assert!(base_len < 1024);
    assert_eq!(template.encode().len(), 1024);
    (chan, monitor, template)
}

fn monitor_update_write(c: &mut Criterion) {
    let (_dir, store) = open_store("bench_monitor_update");
    let (chan, monitor, template) = channel_with_updates(1, 0);
    let name = chan.name();
    eprintln!(
        "monitor update: {} bytes encoded, {} with its envelope",
        template.encode().len(),
        encode_writeable(ValueKind::ChannelMonitorUpdate, &template).expect("encodes").len()
    );
    let mut group = c.benchmark_group("monitor_update_write");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));

    let alone = MonitorUpdatingPersister::new(&store, NullLogger).with_maximum_pending_updates(u64::MAX);
    assert_eq!(alone.persist_new_channel(name, &monitor), ChannelMonitorUpdateStatus::Completed);
    let mut update = template.clone();
    group.bench_function("1KiB_update_durable", |b| {
        b.iter(|| {
            update.update_id += 1;
            assert_eq!(
                alone.update_persisted_channel(name, Some(&update), &monitor),
                ChannelMonitorUpdateStatus::Completed
            );
        })
    });

    // The default setting: every 100th update writes the full monitor (and
    // removes the 99 before it) instead.
    let (_dir2, store2) = open_store("bench_monitor_update_default");
    let default = MonitorUpdatingPersister::new(&store2, NullLogger);
    assert_eq!(default.persist_new_channel(name, &monitor), ChannelMonitorUpdateStatus::Completed);
    let mut update = template.clone();
    group.bench_function("1KiB_update_durable_compacting_every_100", |b| {
        b.iter(|| {
            update.update_id += 1;
            assert_eq!(
                default.update_persisted_channel(name, Some(&update), &monitor),
                ChannelMonitorUpdateStatus::Completed
            );
        })
    });
    group.finish();
}

fn compaction(c: &mut Criterion) {
    const N: u64 = 100;
    let (_dir, store) = open_store("bench_compaction");
    // A monitor that took 100 updates: the size a compaction writes.
    let (chan, monitor, template) = channel_with_updates(2, N as usize);
    let name = chan.name();
    let key = name.to_string();
    eprintln!("full monitor after {N} updates: {} bytes", monitor.encode().len());
    let persister = MonitorUpdatingPersister::new(&store, NullLogger).with_maximum_pending_updates(N);
    let mut compacting = template.clone();
    compacting.update_id = N;

    let mut group = c.benchmark_group("compaction");
    group.sample_size(20).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    group.bench_function("full_monitor_after_100_updates_and_remove_99", |b| {
        b.iter_batched(
            || {
                let mut update = template.clone();
                for id in 1..N {
                    update.update_id = id;
                    write_fast(
                        &store,
                        CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                        &key,
                        &id.to_string(),
                        &update,
                    );
                }
            },
            |()| {
                assert_eq!(
                    persister.update_persisted_channel(name, Some(&compacting), &monitor),
                    ChannelMonitorUpdateStatus::Completed
                );
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    assert!(store.list(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, &key).expect("list").is_empty());
}

fn reload_1000_monitors(c: &mut Criterion) {
    const MONITORS: u32 = 1_000;
    const UPDATES_EACH: usize = 5;
    let (_dir, store) = open_store("bench_reload");
    let mut keys = None;
    for index in 0..MONITORS {
        let (mut chan, monitor) = Chan::numbered(10_000 + index);
        let name = chan.name().to_string();
        write_fast(&store, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, "", &name, &monitor);
        for _ in 0..UPDATES_EACH {
            let update = chan.next_update(2);
            write_fast(
                &store,
                CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                &name,
                &update.update_id.to_string(),
                &update,
            );
        }
        keys.get_or_insert(chan.chan.holder_keys);
    }
    let keys = keys.expect("at least one channel");
    let env = Env::default();

    let mut group = c.benchmark_group("reload");
    group.throughput(Throughput::Elements(u64::from(MONITORS)));
    group.sample_size(10).measurement_time(Duration::from_secs(30)).warm_up_time(Duration::from_secs(1));
    group.bench_function("1000_monitors_with_5_updates_each", |b| {
        b.iter(|| {
            let monitors =
                read_channel_monitors_with_updates(&store, &keys, &env.broadcaster, &env.fees, &env.logger)
                    .expect("reads back");
            assert_eq!(monitors.len(), MONITORS as usize);
            assert!(monitors.iter().all(|m| m.latest_update_id() == UPDATES_EACH as u64));
        })
    });
    group.finish();
}

criterion_group!(benches, monitor_update_write, compaction, reload_1000_monitors);
criterion_main!(benches);
