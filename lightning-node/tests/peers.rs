//! Two `lightning-node` processes over loopback TCP find each other.

mod common;

use common::{node_bin, temp_dir, Running};
use std::process::Command;

#[test]
fn two_node_processes_connect_over_tcp() {
    let listener_dir = temp_dir("listener");
    let dialer_dir = temp_dir("dialer");
    let listener = Running::start(&[
        "--data-dir",
        listener_dir.to_str().unwrap(),
        "--network",
        "regtest",
        "run",
        "--listen",
        "127.0.0.1:0",
    ]);
    let hello = listener.next_json();
    let node_id = hello["node_id"].as_str().unwrap().to_string();
    let addr = hello["listen"].as_str().unwrap().to_string();
    assert_eq!(node_id.len(), 66);

    let out = Command::new(node_bin())
        .args(["--data-dir", dialer_dir.to_str().unwrap(), "--network", "regtest", "connect"])
        .arg(format!("{node_id}@{addr}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "connect failed: {}", String::from_utf8_lossy(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["node_id"], node_id.as_str());
    assert_eq!(reply["pong_received"], true);
    let features: Vec<u64> =
        reply["features"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
    assert!(features.contains(&12), "static_remotekey required: {features:?}");

    // The listener reports the dialer connecting and then leaving.
    let connected = listener.next_json();
    assert_eq!(connected["event"], "peer_connected");
    assert_eq!(connected["inbound"], true);
    let dialer_id = connected["node_id"].as_str().unwrap().to_string();
    let disconnected = listener.next_json();
    assert_eq!(disconnected["event"], "peer_disconnected");
    assert_eq!(disconnected["node_id"], dialer_id.as_str());
    assert_eq!(disconnected["reason"], "socket closed");

    // The dialer's seed is stable: connecting again uses the same node id.
    let out = Command::new(node_bin())
        .args(["--data-dir", dialer_dir.to_str().unwrap(), "connect"])
        .arg(format!("{node_id}@{addr}"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(listener.next_json()["node_id"], dialer_id.as_str());
    let _ = std::fs::remove_dir_all(listener_dir);
    let _ = std::fs::remove_dir_all(dialer_dir);
}

#[test]
fn connect_failures_exit_non_zero_with_a_message() {
    let dir = temp_dir("fail");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let key = "02888f2e3df341d21240f769afd83938fdc1878356769aae64141880d810c61dce";
    for (peer, expect) in [
        (format!("{key}@{closed}"), "cannot connect"),
        ("not-a-peer".to_string(), "NODE_ID@HOST:PORT"),
        (format!("02ab@{closed}"), "invalid node id"),
    ] {
        let out = Command::new(node_bin())
            .args(["--data-dir", dir.to_str().unwrap(), "connect", &peer])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{peer}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn connecting_with_the_wrong_node_id_fails() {
    let listener_dir = temp_dir("wrongid-l");
    let dialer_dir = temp_dir("wrongid-d");
    let listener =
        Running::start(&["--data-dir", listener_dir.to_str().unwrap(), "run", "--listen", "127.0.0.1:0"]);
    let addr = listener.next_json()["listen"].as_str().unwrap().to_string();
    let wrong = "02888f2e3df341d21240f769afd83938fdc1878356769aae64141880d810c61dce";
    let out = Command::new(node_bin())
        .args(["--data-dir", dialer_dir.to_str().unwrap(), "connect"])
        .arg(format!("{wrong}@{addr}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("closed the connection before init"));
    let _ = std::fs::remove_dir_all(listener_dir);
    let _ = std::fs::remove_dir_all(dialer_dir);
}

#[test]
fn connecting_across_networks_names_the_network_problem() {
    let listener_dir = temp_dir("net-l");
    let dialer_dir = temp_dir("net-d");
    let listener = Running::start(&[
        "--data-dir",
        listener_dir.to_str().unwrap(),
        "--network",
        "regtest",
        "run",
        "--listen",
        "127.0.0.1:0",
    ]);
    let hello = listener.next_json();
    let node_id = hello["node_id"].as_str().unwrap().to_string();
    let addr = hello["listen"].as_str().unwrap().to_string();
    let out = Command::new(node_bin())
        .args(["--data-dir", dialer_dir.to_str().unwrap(), "--network", "bitcoin", "connect"])
        .arg(format!("{node_id}@{addr}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not on our network"), "{stderr}");
    assert!(!stderr.contains("right node id"), "{stderr}");
    // The listener reports the failed connection with its reason.
    let failed = listener.next_json();
    assert_eq!(failed["event"], "peer_connection_failed");
    assert_eq!(failed["reason"], "no common network");
    let _ = std::fs::remove_dir_all(listener_dir);
    let _ = std::fs::remove_dir_all(dialer_dir);
}
