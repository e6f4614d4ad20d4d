//! `run` (listen and report peer events as JSON lines) and `connect` (connect
//! out, exchange init and a ping, print the peer's features).

use crate::node::{self, feature_bits, Network, NodePeerManager};
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::ln::peer_handler::{DisconnectReason, PeerEvent};
use lightning_net_tokio::PeerManagerDriver;
use serde_json::json;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Ping interval of a running node.
const TICK_INTERVAL: Duration = Duration::from_secs(10);
/// How long `connect` waits for the handshake, `init` and the pong.
const CONNECT_WAIT: Duration = Duration::from_secs(15);

fn event_json(event: &PeerEvent) -> serde_json::Value {
    match event {
        PeerEvent::Connected(details) => json!({
            "event": "peer_connected",
            "node_id": details.counterparty_node_id.to_string(),
            "inbound": details.is_inbound_connection,
            "address": details.socket_address.as_ref().map(|a| a.to_string()),
            "features": feature_bits(&details.init_features),
        }),
        PeerEvent::Disconnected { counterparty_node_id, reason } => json!({
            "event": "peer_disconnected",
            "node_id": counterparty_node_id.to_string(),
            "reason": reason.to_string(),
        }),
        PeerEvent::ConnectionFailed { counterparty_node_id, reason } => json!({
            "event": "peer_connection_failed",
            "node_id": counterparty_node_id.to_string(),
            "reason": reason.to_string(),
        }),
    }
}

/// What `connect` says when the connection ended before `init` completed.
fn connection_failure_message(
    reason: &DisconnectReason, their_node_id: PublicKey, addr: SocketAddr, network: Network,
) -> String {
    match reason {
        DisconnectReason::NoCommonNetwork => format!(
            "{their_node_id} is not on our network ({network:?}): its init lists none of our chains (check --network)"
        ),
        DisconnectReason::IncompatibleFeatures(why) => {
            format!("{their_node_id} has features incompatible with ours: {why}")
        }
        DisconnectReason::PeerSentError => {
            format!("{their_node_id} refused the connection with an error before init")
        }
        DisconnectReason::Transport(e) => {
            format!("handshake with {addr} failed ({e}): is {their_node_id} the right node id?")
        }
        DisconnectReason::SocketClosed => format!(
            "{addr} closed the connection before init (wrong node id {their_node_id}? or it refused our network or features)"
        ),
        other => format!("connection to {their_node_id} failed before init: {other}"),
    }
}

/// The reason reported for `their_node_id` among the pending peer events, if
/// the connection failed or ended.
fn failure_in_events(pm: &NodePeerManager, their_node_id: PublicKey) -> Option<(DisconnectReason, bool)> {
    let mut found = None;
    for event in pm.get_and_clear_peer_events() {
        match event {
            PeerEvent::ConnectionFailed { counterparty_node_id, reason }
                if counterparty_node_id == their_node_id =>
            {
                found.get_or_insert((reason, false));
            }
            PeerEvent::Disconnected { counterparty_node_id, reason }
                if counterparty_node_id == their_node_id =>
            {
                found.get_or_insert((reason, true));
            }
            _ => {}
        }
    }
    found
}

/// `run --listen ADDR`: prints `{"node_id", "listen"}`, then one JSON line per
/// peer event, until interrupted.
pub async fn run(data_dir: &Path, network: Network, listen: &str) -> Result<(), String> {
    let keys = node::keys_from_data_dir(data_dir)?;
    let pm = node::peer_manager(keys, network)?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{}", json!({ "node_id": pm.our_node_id().to_string(), "listen": local.to_string() }));
    let _driver = PeerManagerDriver::spawn(pm.clone(), TICK_INTERVAL, Duration::from_millis(100));

    let accept_pm = pm.clone();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    if let Ok(std_stream) = stream.into_std() {
                        tokio::spawn(lightning_net_tokio::setup_inbound(accept_pm.clone(), std_stream));
                    }
                }
                Err(e) => eprintln!("accept failed: {e}"),
            }
        }
    });

    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = poll.tick() => print_events(&pm),
            _ = tokio::signal::ctrl_c() => {
                pm.disconnect_all_peers();
                print_events(&pm);
                return Ok(());
            }
        }
    }
}

fn print_events(pm: &NodePeerManager) {
    for event in pm.get_and_clear_peer_events() {
        println!("{}", event_json(&event));
    }
}

/// Parses `NODE_ID@HOST:PORT`.
pub fn parse_peer(s: &str) -> Result<(PublicKey, SocketAddr), String> {
    let (id, addr) = s.split_once('@').ok_or_else(|| format!("expected NODE_ID@HOST:PORT, got {s:?}"))?;
    let node_id: PublicKey = id.parse().map_err(|e| format!("invalid node id {id:?}: {e}"))?;
    let addr = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr:?} resolves to no address"))?;
    Ok((node_id, addr))
}

/// `connect NODE_ID@HOST:PORT`: connects, waits for `init`, pings, prints the
/// peer's features as JSON.
pub async fn connect(data_dir: &Path, network: Network, peer: &str) -> Result<(), String> {
    let (their_node_id, addr) = parse_peer(peer)?;
    let keys = node::keys_from_data_dir(data_dir)?;
    let pm = node::peer_manager(keys, network)?;
    let _driver = PeerManagerDriver::spawn(pm.clone(), TICK_INTERVAL, Duration::from_millis(20));
    let connection = lightning_net_tokio::connect_outbound(pm.clone(), their_node_id, addr)
        .await
        .ok_or_else(|| format!("cannot connect to {addr}"))?;
    let mut connection = tokio::spawn(connection);

    let wait = tokio::time::timeout(CONNECT_WAIT, wait_for_init_and_pong(&pm, their_node_id));
    let describe = |failure: (DisconnectReason, bool)| match failure {
        (reason, false) => connection_failure_message(&reason, their_node_id, addr, network),
        (reason, true) => format!("peer disconnected: {reason}"),
    };
    let result = tokio::select! {
        outcome = wait => match outcome {
            Err(_) => Err(format!("no init and pong from {their_node_id} within {}s", CONNECT_WAIT.as_secs())),
            Ok(r) => r.map_err(describe),
        },
        _ = &mut connection => {
            // The connection is over: the peer manager has recorded why.
            let failure = failure_in_events(&pm, their_node_id)
                .unwrap_or((DisconnectReason::SocketClosed, false));
            Err(describe(failure))
        }
    };
    pm.disconnect_all_peers();
    let details = result?;
    println!(
        "{}",
        json!({
            "node_id": details.counterparty_node_id.to_string(),
            "address": addr.to_string(),
            "features": feature_bits(&details.init_features),
            "features_hex": hex::encode(details.init_features.to_be_bytes()),
            "pong_received": true,
        })
    );
    Ok(())
}

/// Waits until the peer finished `init` and answered a ping; on failure the
/// reason, and whether the peer had finished `init`.
async fn wait_for_init_and_pong(
    pm: &Arc<NodePeerManager>, their_node_id: PublicKey,
) -> Result<lightning_core::ln::peer_handler::PeerDetails, (DisconnectReason, bool)> {
    let mut pinged = false;
    loop {
        if let Some(failure) = failure_in_events(pm, their_node_id) {
            return Err(failure);
        }
        match pm.peer_by_node_id(&their_node_id) {
            Some(details) if details.pongs_received > 0 => return Ok(details),
            Some(_) if !pinged => pinged = pm.send_ping(&their_node_id, 16),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
