//! Several threads writing, reading and removing the same key of one
//! `FilesystemStore`: every read sees one whole value, the key ends with one
//! whole value, a write is never undone by one that had finished before it
//! started, and nothing is left behind (temporary files, version table entries).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::{body_for, files_under, is_temp_file, test_dir};
use lightning_core::util::persist::KVStore;
use lightning_persister::codec::{read_value, write_value};
use lightning_persister::fs_store::FilesystemStore;
use serde::{Deserialize, Serialize};

const WRITERS: u32 = 6;
const WRITES_PER_THREAD: u64 = 30;

/// A value that identifies its write: thread, sequence number, and a body
/// derived from both (different lengths, so a mix of two is detectable even
/// without the checksum).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Written {
    thread: u32,
    seq: u64,
    body: Vec<u8>,
}

fn written(thread: u32, seq: u64) -> Written {
    Written { thread, seq, body: body_for(thread, seq) }
}

fn id(thread: u32, seq: u64) -> usize {
    (thread as u64 * WRITES_PER_THREAD + seq) as usize
}

fn check_whole(value: &Written) {
    assert!(value.thread < WRITERS && value.seq < WRITES_PER_THREAD, "{} {}", value.thread, value.seq);
    assert!(
        value.body == body_for(value.thread, value.seq),
        "body of t{} s{} is mixed",
        value.thread,
        value.seq
    );
}

#[test]
fn concurrent_writers_of_one_key_leave_one_whole_value() {
    let dir = test_dir("concurrency");
    let store = Arc::new(FilesystemStore::new(dir.path()).expect("open store"));
    // A logical clock: each write takes a tick before it is called and one after
    // it returns.
    let clock = Arc::new(AtomicU64::new(0));
    let finished_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..WRITERS as u64 * WRITES_PER_THREAD).map(|_| AtomicU64::new(u64::MAX)).collect());
    // (tick at which a write was called, the value read right after it returned)
    let observations = Arc::new(Mutex::new(Vec::<(u64, u32, u64)>::new()));
    let writers_done = Arc::new(AtomicBool::new(false));
    // The writers, the two readers and this thread start together.
    let barrier = Arc::new(Barrier::new(WRITERS as usize + 3));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done, barrier) =
                (Arc::clone(&store), Arc::clone(&writers_done), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut reads = 0u64;
                // Bounded even if a writer dies without setting `done`.
                let deadline = Instant::now() + Duration::from_secs(120);
                while !done.load(Ordering::Acquire) && Instant::now() < deadline {
                    match read_value::<_, Written>(&*store, "p", "s", "key") {
                        Ok(value) => {
                            check_whole(&value);
                            reads += 1;
                        }
                        Err(e) if e.is_not_found() => {}
                        Err(e) => panic!("a reader saw a bad value: {e}"),
                    }
                }
                reads
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|thread| {
            let (store, clock, finished_at, observations, barrier) = (
                Arc::clone(&store),
                Arc::clone(&clock),
                Arc::clone(&finished_at),
                Arc::clone(&observations),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let mut last_own_seen = None;
                for seq in 0..WRITES_PER_THREAD {
                    let called_at = clock.fetch_add(1, Ordering::SeqCst);
                    write_value(&*store, "p", "s", "key", &written(thread, seq)).expect("write");
                    finished_at[id(thread, seq)]
                        .store(clock.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
                    let seen: Written = read_value(&*store, "p", "s", "key").expect("read after write");
                    check_whole(&seen);
                    if seen.thread == thread {
                        // A thread's own writes are sequential: it never sees an
                        // older one of its own come back.
                        assert!(
                            Some(seen.seq) >= last_own_seen,
                            "t{thread} saw its s{} after s{seq}",
                            seen.seq
                        );
                        last_own_seen = Some(seen.seq);
                    }
                    observations.lock().expect("observations").push((called_at, seen.thread, seen.seq));
                }
            })
        })
        .collect();

    barrier.wait();
    for writer in writers {
        writer.join().expect("writer thread");
    }
    writers_done.store(true, Ordering::Release);
    let reads: u64 = readers.into_iter().map(|r| r.join().expect("reader thread")).sum();

    // After a write returns, no value whose write had returned before that
    // write was even called may be read back: it was overwritten in order.
    for &(called_at, thread, seq) in observations.lock().expect("observations").iter() {
        let seen_finished_at = finished_at[id(thread, seq)].load(Ordering::SeqCst);
        assert!(
            seen_finished_at > called_at,
            "read t{thread} s{seq} (done at tick {seen_finished_at}) after a write called at tick {called_at}"
        );
    }

    let last: Written = read_value(&*store, "p", "s", "key").expect("final value");
    check_whole(&last);
    assert_eq!(store.list("p", "s").expect("list"), vec!["key"]);
    let files = files_under(dir.path());
    assert!(files.iter().all(|p| !is_temp_file(p)), "temporary files left: {files:?}");
    assert_eq!(files, vec![std::path::PathBuf::from("p/s/key")]);
    assert_eq!(store.keys_in_flight(), 0, "the version table forgets idle keys");
    println!("{} durable writes, {reads} concurrent reads", WRITERS as u64 * WRITES_PER_THREAD);
}

#[test]
fn concurrent_writes_and_removals_of_many_keys() {
    let dir = test_dir("concurrency_mixed");
    let store = Arc::new(FilesystemStore::new(dir.path()).expect("open store"));
    let threads: Vec<_> = (0..4u32)
        .map(|thread| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for round in 0..20u64 {
                    let key = format!("k{}", (thread as u64 + round) % 5);
                    if round % 3 == 2 {
                        store.remove("mixed", "", &key, round % 2 == 0).expect("remove");
                    } else {
                        write_value(&*store, "mixed", "", &key, &written(thread, round)).expect("write");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let listed = store.list("mixed", "").expect("list");
    for key in &listed {
        let value: Written = read_value(&*store, "mixed", "", key).expect("whole value");
        check_whole(&value);
    }
    for k in 0..5 {
        let key = format!("k{k}");
        let present = store.read("mixed", "", &key).is_ok();
        assert_eq!(present, listed.contains(&key), "{key}: list and read agree");
    }
    assert!(files_under(dir.path()).iter().all(|p| !is_temp_file(p)));
    assert_eq!(store.keys_in_flight(), 0);
}
