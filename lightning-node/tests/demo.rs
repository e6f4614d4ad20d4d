//! `lightning-node demo --json`: two nodes over loopback TCP open a channel,
//! make 1,000 payments and close cooperatively.

mod common;

use common::node_bin;
use std::process::Command;

#[test]
fn demo_pays_a_thousand_times_and_closes() {
    let out = Command::new(node_bin()).args(["demo", "--json"]).output().unwrap();
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["payments_attempted"], 1000);
    assert_eq!(v["payments_succeeded"], 1000);
    assert!(v["payments_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["channel_closed"], true);
    assert_eq!(v["closing_txid"].as_str().unwrap().len(), 64);
    // What bob received is exactly what alice lost.
    let alice = v["alice_balance_msat"].as_u64().unwrap();
    let bob = v["bob_balance_msat"].as_u64().unwrap();
    assert_eq!(alice + bob, 2_000_000 * 1000);
    assert_eq!(bob, v["delivered_msat"].as_u64().unwrap());
}
