//! Two peer managers over real loopback TCP: handshake, init, ping/pong and
//! disconnection, through the tokio adapter.

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::msgs::{ErroringMessageHandler, IgnoringMessageHandler};
use lightning_core::ln::peer_handler::{DisconnectReason, MessageHandler, PeerEvent, PeerManager};
use lightning_core::sign::KeysManager;
use lightning_core::util::logger::NullLogger;
use lightning_net_tokio::{connect_outbound, setup_inbound, PeerManagerDriver, SocketDescriptor};
use std::sync::Arc;
use std::time::Duration;

type Pm = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

fn node(seed: u8) -> Arc<Pm> {
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: IgnoringMessageHandler,
        custom_message_handler: IgnoringMessageHandler,
    };
    Arc::new(
        PeerManager::new(handlers, ChainHash::REGTEST, KeysManager::new(&[seed; 32], 1, 0), NullLogger)
            .unwrap(),
    )
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Accepts connections for `pm` forever.
async fn listen(pm: Arc<Pm>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(setup_inbound(pm.clone(), stream.into_std().unwrap()));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_ping_and_disconnect_over_tcp() {
    let alice = node(1);
    let bob = node(2);
    let addr = listen(bob.clone()).await;
    let conn = connect_outbound(alice.clone(), bob.our_node_id(), addr).await.expect("tcp connect");
    tokio::spawn(conn);

    wait_for("both sides connected", || alice.list_peers().len() == 1 && bob.list_peers().len() == 1).await;
    assert_eq!(alice.list_peers()[0].counterparty_node_id, bob.our_node_id());
    assert_eq!(bob.list_peers()[0].counterparty_node_id, alice.our_node_id());
    assert!(bob.list_peers()[0].is_inbound_connection);

    assert!(alice.send_ping(&bob.our_node_id(), 500));
    wait_for("pong", || alice.list_peers()[0].pongs_received == 1).await;

    alice.disconnect_by_node_id(bob.our_node_id());
    wait_for("bob sees the disconnect", || bob.list_peers().is_empty()).await;
    let events = bob.get_and_clear_peer_events();
    assert!(matches!(
        events.last(),
        Some(PeerEvent::Disconnected { reason: DisconnectReason::SocketClosed, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_keeps_peers_alive_with_pings() {
    let alice = node(3);
    let bob = node(4);
    let addr = listen(bob.clone()).await;
    let _da = PeerManagerDriver::spawn(alice.clone(), Duration::from_millis(50), Duration::from_millis(10));
    let _db = PeerManagerDriver::spawn(bob.clone(), Duration::from_millis(50), Duration::from_millis(10));
    tokio::spawn(connect_outbound(alice.clone(), bob.our_node_id(), addr).await.unwrap());
    wait_for("connected", || alice.list_peers().len() == 1).await;
    // Many ticks pass; pings are answered, nobody is disconnected.
    wait_for("several pongs", || alice.list_peers().first().is_some_and(|p| p.pongs_received >= 5)).await;
    assert_eq!(bob.list_peers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_closed_port_fails_cleanly() {
    let alice = node(5);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    assert!(connect_outbound(alice, node(6).our_node_id(), port).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_node_id_fails_the_handshake() {
    let alice = node(7);
    let bob = node(8);
    let addr = listen(bob.clone()).await;
    // Alice expects someone else's key: act one fails at bob.
    tokio::spawn(connect_outbound(alice.clone(), node(9).our_node_id(), addr).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(alice.list_peers().is_empty());
    assert!(bob.list_peers().is_empty());
}

/// The setup functions only build futures: creating them outside a runtime
/// must not panic (registering the socket happens when they are polled).
#[test]
fn setup_futures_can_be_created_outside_a_runtime() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let alice = node(1);
    let bob = node(2);
    let inbound = setup_inbound(bob.clone(), server);
    let outbound = lightning_net_tokio::setup_outbound(alice.clone(), bob.our_node_id(), client);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        tokio::spawn(inbound);
        tokio::spawn(outbound);
        wait_for("both sides connected", || alice.list_peers().len() == 1 && bob.list_peers().len() == 1)
            .await;
    });
}
