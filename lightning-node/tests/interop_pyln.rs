//! Cross-implementation tests over real TCP against Core Lightning's Python
//! protocol package `pyln-proto` (ci/interop/pyln_peer.py).
//!
//! They need a Python with pyln-proto: `ci/check.sh` creates one and points
//! `LN_INTEROP_PYTHON` at it. Without that variable the tests say so and
//! return early, so a plain `cargo test` works offline, unless `CI` is set
//! (`ci/check.sh` sets it): in CI a missing interpreter fails the tests
//! rather than letting them pass without running.

mod common;

use common::{node_bin, temp_dir, Running};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// True when running in CI (`CI` set to anything but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn interop_python() -> Option<String> {
    match std::env::var("LN_INTEROP_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                !in_ci(),
                "CI is set but LN_INTEROP_PYTHON is not: the pyln-proto interop tests must run in CI \
                 (ci/check.sh creates the virtualenv and sets it)"
            );
            eprintln!("LN_INTEROP_PYTHON not set: skipping pyln-proto interop (ci/check.sh sets it)");
            None
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ci/interop/pyln_peer.py")
}

#[test]
fn pyln_proto_dials_our_node() {
    let Some(python) = interop_python() else { return };
    let dir = temp_dir("pyln-dial");
    let node = Running::start(&["--data-dir", dir.to_str().unwrap(), "run", "--listen", "127.0.0.1:0"]);
    let hello = node.next_json();
    let node_id = hello["node_id"].as_str().unwrap();
    let (host, port) = hello["listen"].as_str().unwrap().rsplit_once(':').unwrap();
    let out = Command::new(&python).arg(script()).args(["dial", node_id, host, port]).output().unwrap();
    assert!(
        out.status.success(),
        "pyln dial failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    // Our init names regtest in `networks`: TLV type 1, length 32.
    assert!(report["their_tlvs"].as_str().unwrap().starts_with("0120"), "{report}");
    let connected = node.next_json();
    assert_eq!(connected["event"], "peer_connected");
    assert_eq!(
        connected["node_id"], "0324653eac434488002cc06bbfb7f10fe18991e35f9fe4302dbea6d2353dc0ab1c",
        "pyln's key 0x42..42"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn our_node_dials_pyln_proto() {
    let Some(python) = interop_python() else { return };
    let mut pyln = Command::new(&python)
        .arg(script())
        .arg("listen")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(pyln.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let hello: serde_json::Value = serde_json::from_str(&line).unwrap();
    let peer = format!("{}@127.0.0.1:{}", hello["node_id"].as_str().unwrap(), hello["port"]);

    let dir = temp_dir("pyln-listen");
    let out = Command::new(node_bin())
        .args(["--data-dir", dir.to_str().unwrap(), "connect", &peer])
        .output()
        .unwrap();
    assert!(out.status.success(), "connect failed: {}", String::from_utf8_lossy(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["node_id"], hello["node_id"]);
    // pyln's init: bits 9 and 13.
    assert_eq!(reply["features"], serde_json::json!([9, 13]));

    let mut report = String::new();
    stdout.read_line(&mut report).unwrap();
    assert!(pyln.wait().unwrap().success());
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["ok"], true);
    assert!(report["pings_answered"].as_u64().unwrap() >= 1);
    let _ = std::fs::remove_dir_all(dir);
}
