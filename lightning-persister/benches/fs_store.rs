//! Durable write throughput of `FilesystemStore` on the disk under `target/`.
//!
//! Every write here is durable (temporary file fsynced, renamed, directory
//! fsynced), so the figures measure the disk's flush latency far more than the
//! code. Run with `cargo bench -p lightning-persister --bench fs_store`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lightning_core::util::persist::KVStore;
use lightning_persister::codec::{read_value, write_value};
use lightning_persister::fs_store::FilesystemStore;

fn open_store() -> (tempfile::TempDir, FilesystemStore) {
    // Under target/, on the real disk (not a tmpfs /tmp).
    let dir = tempfile::Builder::new()
        .prefix("fs_store_bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary directory");
    let store = FilesystemStore::new(dir.path().join("data")).expect("open store");
    (dir, store)
}

fn durable_writes(c: &mut Criterion) {
    let (_dir, store) = open_store();
    let value_10k = vec![0xa5u8; 10 * 1024];
    let value_1k = vec![0x5au8; 1024];

    let mut group = c.benchmark_group("durable_write");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30).measurement_time(Duration::from_secs(6)).warm_up_time(Duration::from_secs(1));

    group.bench_function("10KiB_overwrite_same_key", |b| {
        b.iter(|| store.write("monitors", "", "chan", &value_10k).expect("write"))
    });
    group.bench_function("1KiB_overwrite_same_key", |b| {
        b.iter(|| store.write("monitors", "", "chan", &value_1k).expect("write"))
    });
    // A monitor update: a new numbered key in the monitor's update namespace.
    let mut update_id = 0u64;
    group.bench_function("1KiB_new_key", |b| {
        b.iter(|| {
            update_id += 1;
            store.write("monitor_updates", "chan", &update_id.to_string(), &value_1k).expect("write")
        })
    });
    group.bench_function("10KiB_write_value_enveloped", |b| {
        b.iter(|| write_value(&store, "", "", "manager", &value_10k).expect("write"))
    });
    group.finish();

    let mut group = c.benchmark_group("remove");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    for lazy in [false, true] {
        let name = if lazy { "1KiB_lazy" } else { "1KiB_durable" };
        let mut next = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 1;
                    let key = next.to_string();
                    store.write("to_remove", "", &key, &value_1k).expect("write");
                    key
                },
                |key| store.remove("to_remove", "", &key, lazy).expect("remove"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    write_value(&store, "", "", "manager", &value_10k).expect("write");
    group.bench_function("10KiB_read_value_checked", |b| {
        b.iter(|| read_value::<_, Vec<u8>>(&store, "", "", "manager").expect("read"))
    });
    group.finish();
}

criterion_group!(benches, durable_writes);
criterion_main!(benches);
