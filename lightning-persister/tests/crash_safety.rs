//! Crash safety with real processes: a child process writes versioned values to
//! many keys through `FilesystemStore` and reports each write on stdout; the
//! test kills it with SIGKILL at random moments, and after every kill checks
//! that each key holds a whole, checksummed value of the right version and that
//! no temporary file is listed as a key.
//!
//! The child is this test binary run again with `--ignored --exact
//! crash_child_process` and the data directory in `CHILD_DIR_ENV`.
//!
//! A SIGKILL ends the process but not the kernel, so this proves the write path
//! atomic against process crashes at any instruction; durability against power
//! loss rests on the fsync of the file and of its directory, which a test on a
//! live kernel cannot observe.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{body_for, files_under, is_temp_file, seed_from_env, test_dir, Rng};
use lightning_core::util::persist::KVStore;
use lightning_persister::codec::{read_value, write_value};
use lightning_persister::fs_store::FilesystemStore;
use serde::{Deserialize, Serialize};

const CHILD_DIR_ENV: &str = "LIGHTNING_PERSISTER_CRASH_CHILD_DIR";
const CHILD_SEED_ENV: &str = "LIGHTNING_PERSISTER_CRASH_CHILD_SEED";
/// Set to replay a run: the seed the failing run printed.
const SEED_ENV: &str = "LIGHTNING_PERSISTER_CRASH_SEED";

const PRIMARY_NAMESPACE: &str = "crash";
const SECONDARY_NAMESPACES: [&str; 3] = ["", "a", "b"];
const KEYS: u32 = 24;
const KILLS: usize = 220;
const REQUIRED_KILLS: usize = 200;
/// The run fails if it cannot make its kills in this time.
const TIME_LIMIT: Duration = Duration::from_secs(45);
const SIGKILL: i32 = 9;

/// One stored value: which key and version it is, and a body derived from both.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    key_index: u32,
    version: u64,
    body: Vec<u8>,
}

fn location(key_index: u32) -> (&'static str, String) {
    (SECONDARY_NAMESPACES[key_index as usize % SECONDARY_NAMESPACES.len()], format!("key{key_index}"))
}

/// The child: continue every key from the version on disk, then write random
/// keys forever, printing `B key version` before and `D key version` after each
/// write.
#[test]
#[ignore = "the child process of crash_safety_under_sigkill, which runs it itself"]
fn crash_child_process() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else { return };
    let store = FilesystemStore::new(dir).expect("child opens the store");
    let mut versions = Vec::new();
    for key_index in 0..KEYS {
        let (secondary, key) = location(key_index);
        match read_value::<_, Record>(&store, PRIMARY_NAMESPACE, secondary, &key) {
            Ok(record) => versions.push(record.version),
            Err(e) if e.is_not_found() => versions.push(0),
            Err(e) => panic!("child found a bad value: {e}"),
        }
    }
    let mut rng = Rng(seed_from_env(CHILD_SEED_ENV));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "READY").and_then(|_| out.flush()).expect("stdout");
    loop {
        let key_index = rng.below(KEYS as u64) as u32;
        let version = versions[key_index as usize] + 1;
        let (secondary, key) = location(key_index);
        let record = Record { key_index, version, body: body_for(key_index, version) };
        writeln!(out, "B {key_index} {version}").and_then(|_| out.flush()).expect("stdout");
        write_value(&store, PRIMARY_NAMESPACE, secondary, &key, &record).expect("child write");
        writeln!(out, "D {key_index} {version}").and_then(|_| out.flush()).expect("stdout");
        versions[key_index as usize] = version;
    }
}

/// What the parent knows of one key from the child's reports.
#[derive(Clone, Copy, Default)]
struct KeyModel {
    /// The version on disk as of the last check or `D` report (0: none).
    done: u64,
    /// The version of the last `B` report (`done` or `done + 1`).
    begun: u64,
}

#[derive(Default)]
struct Stats {
    writes_reported: u64,
    kills_mid_write: usize,
    unreported_writes_landed: usize,
    temp_files_seen: usize,
    kills_before_ready: usize,
}

fn spawn_child(dir: &Path, seed: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["crash_child_process", "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_SEED_ENV, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Applies the child's report lines to the model; returns whether it got ready.
fn apply_reports(lines: &[String], model: &mut [KeyModel], stats: &mut Stats) -> bool {
    let mut ready = false;
    for line in lines {
        let mut parts = line.split(' ');
        let (kind, key, version) = (parts.next(), parts.next(), parts.next());
        let (Some(kind @ ("B" | "D")), Some(key), Some(version)) = (kind, key, version) else {
            ready |= line == "READY";
            continue;
        };
        let key: usize = key.parse().expect("key index");
        let version: u64 = version.parse().expect("version");
        let m = &mut model[key];
        if kind == "B" {
            assert_eq!(version, m.done + 1, "child began key{key} v{version} after v{}", m.done);
            m.begun = version;
        } else {
            assert_eq!(version, m.begun, "child finished key{key} v{version} but began v{}", m.begun);
            m.done = version;
            stats.writes_reported += 1;
        }
    }
    ready
}

/// Checks the directory after a kill and brings the model to what is on disk.
fn check_after_kill(observer: &FilesystemStore, model: &mut [KeyModel], stats: &mut Stats, seed: u64) {
    let temp_files = files_under(observer.data_dir()).iter().filter(|p| is_temp_file(p)).count();
    stats.temp_files_seen += temp_files;

    for (i, m) in model.iter_mut().enumerate() {
        let key_index = i as u32;
        let (secondary, key) = location(key_index);
        let on_disk = match read_value::<_, Record>(observer, PRIMARY_NAMESPACE, secondary, &key) {
            Ok(record) => {
                assert_eq!(
                    record.key_index, key_index,
                    "seed {seed}: {secondary}/{key} holds another key's value"
                );
                assert!(
                    record.body == body_for(key_index, record.version),
                    "seed {seed}: {secondary}/{key} v{} has a body of another version",
                    record.version
                );
                record.version
            }
            Err(e) if e.is_not_found() => 0,
            Err(e) => panic!("seed {seed}: after a kill: {e}"),
        };
        if m.begun > m.done {
            stats.kills_mid_write += 1;
        }
        assert!(
            on_disk == m.done || on_disk == m.begun,
            "seed {seed}: {secondary}/{key} holds v{on_disk}; the child reported v{} written and v{} begun",
            m.done,
            m.begun
        );
        if on_disk > m.done {
            stats.unreported_writes_landed += 1;
        }
        *m = KeyModel { done: on_disk, begun: on_disk };
    }

    // `list` returns exactly the keys that hold a value: never a temporary file.
    for secondary in SECONDARY_NAMESPACES {
        let listed = observer.list(PRIMARY_NAMESPACE, secondary).expect("list");
        let mut expected: Vec<String> = (0..KEYS)
            .filter(|&k| location(k).0 == secondary && model[k as usize].done > 0)
            .map(|k| location(k).1)
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "seed {seed}: list of {PRIMARY_NAMESPACE}/{secondary}");
    }
}

#[test]
fn crash_safety_under_sigkill() {
    let seed = seed_from_env(SEED_ENV);
    println!("crash_safety seed {seed} (replay with {SEED_ENV}={seed})");
    let mut rng = Rng(seed);
    let dir = test_dir("crash_safety");
    let data_dir = dir.path().join("data");
    // The parent's own view of the directory; it never writes, and opening it
    // before any child runs means it never cleans up after one either.
    let observer = FilesystemStore::new(&data_dir).expect("open store");
    let mut model = vec![KeyModel::default(); KEYS as usize];
    let mut stats = Stats::default();
    let start = Instant::now();

    let mut kills = 0;
    while kills < KILLS {
        assert!(
            start.elapsed() < TIME_LIMIT || kills >= REQUIRED_KILLS,
            "seed {seed}: only {kills} kills in {TIME_LIMIT:?}"
        );
        let mut child = spawn_child(&data_dir, rng.next_u64());
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.expect("child stdout");
                if line == "READY" || line.starts_with("D ") {
                    let _ = tx.send(line.starts_with('D'));
                }
                lines.push(line);
            }
            lines
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        // One kill in four lands at a random moment of start-up (opening the
        // store, cleaning temporary files, reading every key); the others at a
        // random moment of the write loop, half of them only after at least one
        // write completed, so the run makes progress however slow the disk.
        if kills % 4 == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        } else {
            let want_write = kills % 2 == 1;
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(is_write) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                if is_write || !want_write {
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(50_000)));
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        let lines = reader.join().expect("stdout reader");
        let child_stderr = stderr_reader.join().expect("stderr reader");
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "seed {seed}: the child ended by itself ({status}) before kill {kills}:\n{child_stderr}"
        );
        kills += 1;

        if !apply_reports(&lines, &mut model, &mut stats) {
            stats.kills_before_ready += 1;
        }
        check_after_kill(&observer, &mut model, &mut stats, seed);
    }

    // A fresh store cleans up every temporary file the kills left.
    drop(FilesystemStore::new(&data_dir).expect("reopen"));
    let left: Vec<_> = files_under(&data_dir).into_iter().filter(|p| is_temp_file(p)).collect();
    assert!(left.is_empty(), "temporary files left after reopening: {left:?}");

    let elapsed = start.elapsed();
    println!(
        "{kills} kills in {elapsed:?}: {} writes reported, {} keys caught mid-write, {} unreported writes \
         found landed, {} temporary files seen, {} kills before the child was ready",
        stats.writes_reported,
        stats.kills_mid_write,
        stats.unreported_writes_landed,
        stats.temp_files_seen,
        stats.kills_before_ready
    );
    assert!(kills >= REQUIRED_KILLS);
    // The run must actually have exercised writes cut short, not only idle
    // children.
    assert!(
        stats.writes_reported >= KILLS as u64 / 2,
        "only {} writes in the whole run",
        stats.writes_reported
    );
    assert!(stats.kills_mid_write >= KILLS / 4, "only {} kills landed mid-write", stats.kills_mid_write);
}
