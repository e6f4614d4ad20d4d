//! PeerManager tests with in-memory sockets: handshake and `init`, ping/pong and
//! timeouts, feature and network checks, back-pressure, and hostile input.

use super::*;
use crate::events::MessageSendEventsProvider;
use crate::ln::features::NodeFeatures;
use crate::ln::msgs::{BaseMessageHandler, ErrorMessage, IgnoringMessageHandler, Ping, Pong, WarningMessage};
use crate::ln::peer_channel_encryptor::MESSAGE_HEADER_LEN;
use crate::sign::KeysManager;
use crate::util::logger::NullLogger;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A socket in memory: what the manager sends accumulates in `sent`.
#[derive(Clone)]
struct TestSocket {
    id: u64,
    sent: Arc<Mutex<Vec<u8>>>,
    /// How many more bytes the socket accepts (simulates a full kernel buffer).
    capacity: Arc<AtomicUsize>,
    disconnected: Arc<AtomicBool>,
    resume_read_calls: Arc<AtomicUsize>,
    /// Extra bytes `send_data` claims to have taken (a buggy I/O layer).
    over_report: Arc<AtomicUsize>,
}

impl TestSocket {
    fn new(id: u64) -> Self {
        TestSocket {
            id,
            sent: Arc::new(Mutex::new(Vec::new())),
            capacity: Arc::new(AtomicUsize::new(usize::MAX)),
            disconnected: Arc::new(AtomicBool::new(false)),
            resume_read_calls: Arc::new(AtomicUsize::new(0)),
            over_report: Arc::new(AtomicUsize::new(0)),
        }
    }
    fn take_sent(&self) -> Vec<u8> {
        core::mem::take(&mut *self.sent.lock())
    }
}

impl PartialEq for TestSocket {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for TestSocket {}
impl Hash for TestSocket {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl SocketDescriptor for TestSocket {
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize {
        if resume_read {
            self.resume_read_calls.fetch_add(1, Ordering::SeqCst);
        }
        let n = data.len().min(self.capacity.load(Ordering::SeqCst));
        self.capacity.fetch_sub(n.min(self.capacity.load(Ordering::SeqCst)), Ordering::SeqCst);
        self.sent.lock().extend_from_slice(&data[..n]);
        n + self.over_report.load(Ordering::SeqCst)
    }
    fn disconnect_socket(&mut self) {
        self.disconnected.store(true, Ordering::SeqCst);
    }
}

/// A channel handler that records what it saw and offers configurable features.
#[derive(Default)]
struct TestChanHandler {
    features: Mutex<InitFeatures>,
    chains: Option<Vec<ChainHash>>,
    connected: Mutex<Vec<PublicKey>>,
    disconnected: Mutex<Vec<PublicKey>>,
    errors: Mutex<Vec<ErrorMessage>>,
}

impl MessageSendEventsProvider for TestChanHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        Vec::new()
    }
}

impl BaseMessageHandler for TestChanHandler {
    fn peer_connected(&self, id: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        self.connected.lock().push(id);
        Ok(())
    }
    fn peer_disconnected(&self, id: PublicKey) {
        self.disconnected.lock().push(id);
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        self.features.lock().clone()
    }
}

impl ChannelMessageHandler for TestChanHandler {
    fn handle_error(&self, _: PublicKey, msg: &ErrorMessage) {
        self.errors.lock().push(msg.clone());
    }
    fn handle_open_channel(&self, _: PublicKey, _: &crate::ln::msgs::OpenChannel) {}
    fn handle_accept_channel(&self, _: PublicKey, _: &crate::ln::msgs::AcceptChannel) {}
    fn handle_funding_created(&self, _: PublicKey, _: &crate::ln::msgs::FundingCreated) {}
    fn handle_funding_signed(&self, _: PublicKey, _: &crate::ln::msgs::FundingSigned) {}
    fn handle_channel_ready(&self, _: PublicKey, _: &crate::ln::msgs::ChannelReady) {}
    fn handle_shutdown(&self, _: PublicKey, _: &crate::ln::msgs::Shutdown) {}
    fn handle_closing_signed(&self, _: PublicKey, _: &crate::ln::msgs::ClosingSigned) {}
    fn handle_update_add_htlc(&self, _: PublicKey, _: &crate::ln::msgs::UpdateAddHTLC) {}
    fn handle_update_fulfill_htlc(&self, _: PublicKey, _: &crate::ln::msgs::UpdateFulfillHTLC) {}
    fn handle_update_fail_htlc(&self, _: PublicKey, _: &crate::ln::msgs::UpdateFailHTLC) {}
    fn handle_update_fail_malformed_htlc(&self, _: PublicKey, _: &crate::ln::msgs::UpdateFailMalformedHTLC) {}
    fn handle_commitment_signed(&self, _: PublicKey, _: &crate::ln::msgs::CommitmentSigned) {}
    fn handle_revoke_and_ack(&self, _: PublicKey, _: &crate::ln::msgs::RevokeAndACK) {}
    fn handle_update_fee(&self, _: PublicKey, _: &crate::ln::msgs::UpdateFee) {}
    fn handle_channel_reestablish(&self, _: PublicKey, _: &crate::ln::msgs::ChannelReestablish) {}
    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        self.chains.clone()
    }
}

/// A routing handler that ignores gossip and whose backlog the test sets.
#[derive(Default)]
struct TestRouteHandler {
    queue_high: AtomicBool,
}

impl MessageSendEventsProvider for TestRouteHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        Vec::new()
    }
}

impl BaseMessageHandler for TestRouteHandler {
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

impl RoutingMessageHandler for TestRouteHandler {
    fn handle_gossip_message(&self, _: PublicKey, _: GossipMessage) -> Result<(), LightningError> {
        Ok(())
    }
    fn get_next_channel_announcement(
        &self, _: u64,
    ) -> Option<(msgs::ChannelAnnouncement, Option<msgs::ChannelUpdate>, Option<msgs::ChannelUpdate>)> {
        None
    }
    fn get_next_node_announcement(&self, _: Option<&PublicKey>) -> Option<msgs::NodeAnnouncement> {
        None
    }
    fn should_forward_to(&self, _: &PublicKey, _: &GossipMessage) -> bool {
        false
    }
    fn processing_queue_high(&self) -> bool {
        self.queue_high.load(Ordering::SeqCst)
    }
}

type TestPeerManager = PeerManager<
    TestSocket,
    Arc<TestChanHandler>,
    Arc<TestRouteHandler>,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

fn default_features() -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_static_remote_key_required();
    f.set_variable_length_onion_required();
    f.set_payment_secret_optional();
    f
}

fn node(seed: u8, chan: Arc<TestChanHandler>) -> TestPeerManager {
    *chan.features.lock() = default_features();
    let handlers = MessageHandler {
        chan_handler: chan,
        route_handler: Arc::new(TestRouteHandler::default()),
        custom_message_handler: IgnoringMessageHandler,
    };
    PeerManager::new(handlers, ChainHash::REGTEST, KeysManager::new(&[seed; 32], 0, 0), NullLogger).unwrap()
}

/// Moves bytes both ways until nothing is left in flight. Returns false if a
/// side disconnected.
fn pump(a: &TestPeerManager, sa: &mut TestSocket, b: &TestPeerManager, sb: &mut TestSocket) -> bool {
    for _ in 0..100 {
        let to_b = sa.take_sent();
        let to_a = sb.take_sent();
        if to_a.is_empty() && to_b.is_empty() {
            return true;
        }
        if !to_b.is_empty() && b.read_event(sb, &to_b).is_err() {
            return false;
        }
        if !to_a.is_empty() && a.read_event(sa, &to_a).is_err() {
            return false;
        }
        a.process_events();
        b.process_events();
    }
    panic!("messages kept flowing");
}

struct Pair {
    a: TestPeerManager,
    b: TestPeerManager,
    sa: TestSocket,
    sb: TestSocket,
    chan_a: Arc<TestChanHandler>,
    chan_b: Arc<TestChanHandler>,
}

/// A connects out to B; returns both with the handshake and init done (or not,
/// if `complete` is false: only the sockets are set up and act one is sent).
fn connect(chan_a: TestChanHandler, chan_b: TestChanHandler) -> (Pair, bool) {
    let chan_a = Arc::new(chan_a);
    let chan_b = Arc::new(chan_b);
    let a = node(1, chan_a.clone());
    let b = node(2, chan_b.clone());
    let mut sa = TestSocket::new(1);
    let mut sb = TestSocket::new(2);
    let act_one = a.new_outbound_connection(b.our_node_id(), sa.clone(), None).unwrap();
    b.new_inbound_connection(sb.clone(), None).unwrap();
    let ok = b.read_event(&mut sb, &act_one).is_ok() && pump(&a, &mut sa, &b, &mut sb);
    (Pair { a, b, sa, sb, chan_a, chan_b }, ok)
}

#[test]
fn handshake_and_init_connect_both_sides() {
    let (p, ok) = connect(TestChanHandler::default(), TestChanHandler::default());
    assert!(ok);
    let a_peers = p.a.list_peers();
    let b_peers = p.b.list_peers();
    assert_eq!(a_peers.len(), 1);
    assert_eq!(a_peers[0].counterparty_node_id, p.b.our_node_id());
    assert!(!a_peers[0].is_inbound_connection);
    assert_eq!(a_peers[0].init_features, default_features());
    assert_eq!(b_peers[0].counterparty_node_id, p.a.our_node_id());
    assert!(b_peers[0].is_inbound_connection);
    assert_eq!(*p.chan_a.connected.lock(), vec![p.b.our_node_id()]);
    assert_eq!(*p.chan_b.connected.lock(), vec![p.a.our_node_id()]);
    assert_eq!(p.a.get_and_clear_peer_events(), vec![PeerEvent::Connected(a_peers[0].clone())]);
    assert!(p.a.get_and_clear_peer_events().is_empty());
}

#[test]
fn send_ping_counts_pongs_and_events_report_disconnect_reasons() {
    let (mut p, ok) = connect(TestChanHandler::default(), TestChanHandler::default());
    assert!(ok);
    assert!(p.a.send_ping(&p.b.our_node_id(), 12));
    assert!(pump(&p.a, &mut p.sa, &p.b, &mut p.sb));
    assert_eq!(p.a.list_peers()[0].pongs_received, 1);
    p.b.get_and_clear_peer_events();
    p.b.socket_disconnected(&p.sb);
    assert_eq!(
        p.b.get_and_clear_peer_events(),
        vec![PeerEvent::Disconnected {
            counterparty_node_id: p.a.our_node_id(),
            reason: DisconnectReason::SocketClosed
        }]
    );
    assert!(!p.b.send_ping(&p.a.our_node_id(), 0));
}

#[test]
fn ping_is_answered_and_peer_stays_connected() {
    let (mut p, ok) = connect(TestChanHandler::default(), TestChanHandler::default());
    assert!(ok);
    for _ in 0..5 {
        p.a.timer_tick_occurred();
        p.b.timer_tick_occurred();
        assert!(pump(&p.a, &mut p.sa, &p.b, &mut p.sb));
    }
    assert_eq!(p.a.list_peers().len(), 1);
    assert_eq!(p.b.list_peers().len(), 1);
    assert!(!p.sa.disconnected.load(Ordering::SeqCst));
}

#[test]
fn unanswered_ping_disconnects_at_next_tick() {
    let (p, ok) = connect(TestChanHandler::default(), TestChanHandler::default());
    assert!(ok);
    p.a.timer_tick_occurred();
    // B never answers: nothing is delivered.
    p.sa.take_sent();
    assert_eq!(p.a.list_peers().len(), 1);
    p.a.timer_tick_occurred();
    assert!(p.a.list_peers().is_empty());
    assert!(p.sa.disconnected.load(Ordering::SeqCst));
    assert_eq!(*p.chan_a.disconnected.lock(), vec![p.b.our_node_id()]);
}

#[test]
fn unfinished_handshake_times_out() {
    let chan = Arc::new(TestChanHandler::default());
    let b = node(2, chan);
    let sb = TestSocket::new(2);
    b.new_inbound_connection(sb.clone(), None).unwrap();
    b.timer_tick_occurred();
    assert!(!sb.disconnected.load(Ordering::SeqCst));
    b.timer_tick_occurred();
    assert!(sb.disconnected.load(Ordering::SeqCst));
}

#[test]
fn unknown_required_feature_disconnects() {
    let chan_a = TestChanHandler::default();
    let (p, _) = {
        let chan_a = Arc::new(chan_a);
        let chan_b = Arc::new(TestChanHandler::default());
        let a = node(1, chan_a.clone());
        let b = node(2, chan_b.clone());
        // A requires a feature nobody knows.
        chan_a.features.lock().set_bit(100);
        let mut sa = TestSocket::new(1);
        let mut sb = TestSocket::new(2);
        let act_one = a.new_outbound_connection(b.our_node_id(), sa.clone(), None).unwrap();
        b.new_inbound_connection(sb.clone(), None).unwrap();
        b.read_event(&mut sb, &act_one).unwrap();
        a.read_event(&mut sa, &sb.take_sent()).unwrap();
        // Act three and A's init reach B, which refuses the init.
        let err = b.read_event(&mut sb, &sa.take_sent()).unwrap_err();
        assert!(matches!(err.reason, DisconnectReason::IncompatibleFeatures(_)), "{err:?}");
        (Pair { a, b, sa, sb, chan_a, chan_b }, ())
    };
    assert!(p.b.list_peers().is_empty());
    assert!(p.chan_b.connected.lock().is_empty());
}

#[test]
fn no_common_network_disconnects() {
    let chan_a = Arc::new(TestChanHandler::default());
    let chan_b = Arc::new(TestChanHandler { chains: Some(vec![ChainHash::BITCOIN]), ..Default::default() });
    let a = node(1, chan_a.clone());
    let b = node(2, chan_b.clone());
    let mut sa = TestSocket::new(1);
    let mut sb = TestSocket::new(2);
    let act_one = a.new_outbound_connection(b.our_node_id(), sa.clone(), None).unwrap();
    b.new_inbound_connection(sb.clone(), None).unwrap();
    b.read_event(&mut sb, &act_one).unwrap();
    a.read_event(&mut sa, &sb.take_sent()).unwrap();
    // Act three and A's regtest init reach B, which is on bitcoin only.
    let err = b.read_event(&mut sb, &sa.take_sent()).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::NoCommonNetwork);
    assert_eq!(
        b.get_and_clear_peer_events(),
        vec![PeerEvent::ConnectionFailed {
            counterparty_node_id: a.our_node_id(),
            reason: DisconnectReason::NoCommonNetwork
        }]
    );
    // B still sent its init and a warning saying why; A refuses B's init for
    // the same reason and reports it.
    let err = a.read_event(&mut sa, &sb.take_sent()).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::NoCommonNetwork);
    assert_eq!(
        a.get_and_clear_peer_events(),
        vec![PeerEvent::ConnectionFailed {
            counterparty_node_id: b.our_node_id(),
            reason: DisconnectReason::NoCommonNetwork
        }]
    );
    assert!(a.list_peers().is_empty() && b.list_peers().is_empty());
    assert!(chan_a.connected.lock().is_empty() && chan_b.connected.lock().is_empty());
    assert!(chan_a.disconnected.lock().is_empty(), "handlers never saw the peer");
}

#[test]
fn error_before_init_is_reported_as_peer_error() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect(&pm, &mut socket);
    pm.get_and_clear_peer_events();
    let err =
        raw.send(&pm, &mut socket, &ErrorMessage::new(ChannelId::ALL_CHANNELS, "wrong network")).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::PeerSentError);
    let raw_id = raw.keys.get_node_id(Recipient::Node).unwrap();
    assert_eq!(
        pm.get_and_clear_peer_events(),
        vec![PeerEvent::ConnectionFailed {
            counterparty_node_id: raw_id,
            reason: DisconnectReason::PeerSentError
        }]
    );
}

#[test]
fn outbound_connection_closed_before_init_reports_connection_failed() {
    let a = node(1, Arc::new(TestChanHandler::default()));
    let b = node(2, Arc::new(TestChanHandler::default()));
    let sa = TestSocket::new(1);
    a.new_outbound_connection(b.our_node_id(), sa.clone(), None).unwrap();
    a.socket_disconnected(&sa);
    assert_eq!(
        a.get_and_clear_peer_events(),
        vec![PeerEvent::ConnectionFailed {
            counterparty_node_id: b.our_node_id(),
            reason: DisconnectReason::SocketClosed
        }]
    );
    // An inbound connection whose node id is still unknown reports nothing.
    let sb = TestSocket::new(2);
    b.new_inbound_connection(sb.clone(), None).unwrap();
    b.socket_disconnected(&sb);
    assert!(b.get_and_clear_peer_events().is_empty());
}

/// The other end of a connection, driven by hand so tests can send anything.
struct RawPeer {
    enc: PeerChannelEncryptor,
    keys: KeysManager,
}

impl RawPeer {
    /// Connects to `pm` on `socket` and completes the handshake (no init yet).
    fn connect(pm: &TestPeerManager, socket: &mut TestSocket) -> RawPeer {
        let secp = Secp256k1::new();
        let keys = KeysManager::new(&[9; 32], 0, 0);
        let mut enc =
            PeerChannelEncryptor::new_outbound(pm.our_node_id(), SecretKey::from_slice(&[5; 32]).unwrap());
        pm.new_inbound_connection(socket.clone(), None).unwrap();
        pm.read_event(socket, &enc.get_act_one(&secp).unwrap()).unwrap();
        let act_three = enc.process_act_two(&socket.take_sent(), &keys).unwrap();
        pm.read_event(socket, &act_three).unwrap();
        RawPeer { enc, keys }
    }

    fn encrypt(&mut self, plaintext: &[u8]) -> Vec<u8> {
        self.enc.encrypt_message(plaintext).unwrap()
    }

    fn send<M: Type + Writeable>(
        &mut self, pm: &TestPeerManager, socket: &mut TestSocket, msg: &M,
    ) -> Result<bool, PeerHandleError> {
        let bytes = self.encrypt(&wire::encode(msg));
        pm.read_event(socket, &bytes)
    }

    /// Decrypts every message in `bytes`.
    fn receive(&mut self, mut bytes: &[u8]) -> Vec<Message<wire::NoCustomMessage>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = self.enc.decrypt_length_header(&bytes[..MESSAGE_HEADER_LEN]).unwrap() as usize;
            let mut body = bytes[MESSAGE_HEADER_LEN..MESSAGE_HEADER_LEN + len + 16].to_vec();
            let plain = self.enc.decrypt_message_in_place(&mut body).unwrap();
            out.push(wire::read_message(plain).unwrap());
            bytes = &bytes[MESSAGE_HEADER_LEN + len + 16..];
        }
        out
    }

    fn init(&self) -> Init {
        Init { features: default_features(), networks: None, remote_network_address: None }
    }

    /// Connects to `pm`, exchanges `init` both ways and checks `pm`'s.
    fn connect_and_init(pm: &TestPeerManager, socket: &mut TestSocket) -> RawPeer {
        let mut raw = RawPeer::connect(pm, socket);
        let init = raw.init();
        raw.send(pm, socket, &init).unwrap();
        assert!(matches!(raw.receive(&socket.take_sent())[..], [Message::Init(_)]));
        raw
    }
}

#[test]
fn message_before_init_disconnects() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect(&pm, &mut socket);
    let err = raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 1, byteslen: 0 }).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::BadInit);
}

#[test]
fn ping_pong_rules() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);

    raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 100, byteslen: 3 }).unwrap();
    assert_eq!(raw.receive(&socket.take_sent()), vec![Message::Pong(Pong { byteslen: 100 })]);
    // num_pong_bytes >= 65532: no answer.
    raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 65532, byteslen: 0 }).unwrap();
    assert!(socket.take_sent().is_empty());
    raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 65531, byteslen: 0 }).unwrap();
    assert_eq!(raw.receive(&socket.take_sent()), vec![Message::Pong(Pong { byteslen: 65531 })]);
}

#[test]
fn unknown_odd_message_ignored_and_unknown_even_disconnects() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    let odd = raw.encrypt(&[0x80, 0x01, 1, 2, 3]);
    assert!(pm.read_event(&mut socket, &odd).is_ok());
    assert_eq!(pm.list_peers().len(), 1);
    let even = raw.encrypt(&[0x80, 0x02]);
    let err = pm.read_event(&mut socket, &even).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::Decode(DecodeError::UnknownRequiredMessage(0x8002)));
    assert!(pm.list_peers().is_empty());
}

#[test]
fn error_for_all_channels_disconnects_and_reaches_the_handler() {
    let chan = Arc::new(TestChanHandler::default());
    let pm = node(2, chan.clone());
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    raw.send(&pm, &mut socket, &WarningMessage::new(ChannelId([1; 32]), "careful")).unwrap();
    raw.send(&pm, &mut socket, &ErrorMessage::new(ChannelId([1; 32]), "one channel")).unwrap();
    assert_eq!(pm.list_peers().len(), 1);
    let err = raw.send(&pm, &mut socket, &ErrorMessage::new(ChannelId::ALL_CHANNELS, "all")).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::PeerSentError);
    assert_eq!(chan.errors.lock().len(), 2);
}

#[test]
fn garbage_after_handshake_disconnects_without_panic() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    for garbage in [vec![0u8; 18], vec![0xff; 100], (0..=255u8).collect::<Vec<_>>()] {
        let mut socket = TestSocket::new(7);
        let _raw = RawPeer::connect(&pm, &mut socket);
        let err = pm.read_event(&mut socket, &garbage).unwrap_err();
        assert_eq!(err.reason, DisconnectReason::Transport(NoiseError::BadLengthMac));
        assert!(pm.read_event(&mut socket, &[1]).is_err(), "forgotten peer");
    }
    // Garbage instead of act one.
    let mut socket = TestSocket::new(8);
    pm.new_inbound_connection(socket.clone(), None).unwrap();
    assert!(pm.read_event(&mut socket, &[0x42; 50]).is_err());
}

#[test]
fn full_socket_pauses_reading_then_resumes() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    // The socket stops taking data; every ping queues a pong.
    socket.capacity.store(0, Ordering::SeqCst);
    let mut paused_at = None;
    for i in 0..OUTBOUND_BUFFER_LIMIT_READ_PAUSE + 2 {
        let pause = raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 10, byteslen: 0 }).unwrap();
        if pause && paused_at.is_none() {
            paused_at = Some(i);
        }
    }
    assert!(paused_at.is_some(), "read never paused");
    assert!(socket.take_sent().is_empty());
    // Space again: the queue drains and reading is resumed.
    socket.capacity.store(usize::MAX, Ordering::SeqCst);
    pm.write_buffer_space_avail(&mut socket).unwrap();
    assert!(socket.resume_read_calls.load(Ordering::SeqCst) >= 1);
    let pongs = raw.receive(&socket.take_sent());
    assert_eq!(pongs.len(), OUTBOUND_BUFFER_LIMIT_READ_PAUSE + 2);
}

#[test]
fn routing_backlog_keeps_reading_paused_until_it_clears() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    let route_handler = pm.handlers().route_handler.clone();
    route_handler.queue_high.store(true, Ordering::SeqCst);
    // A peer sending gossip while the handler is backlogged is paused.
    assert!(raw.send(&pm, &mut socket, &some_channel_update()).unwrap());
    let resumes_before = socket.resume_read_calls.load(Ordering::SeqCst);
    // Writes, event processing and ticks while the backlog lasts must not
    // resume it, nor time it out for a pong we are not reading.
    pm.write_buffer_space_avail(&mut socket).unwrap();
    pm.process_events();
    for _ in 0..5 {
        pm.timer_tick_occurred();
    }
    assert_eq!(pm.list_peers().len(), 1, "paused by us, not timed out");
    assert_eq!(socket.resume_read_calls.load(Ordering::SeqCst), resumes_before);
    // The backlog clears: the next process_events resumes reading.
    route_handler.queue_high.store(false, Ordering::SeqCst);
    pm.process_events();
    assert_eq!(socket.resume_read_calls.load(Ordering::SeqCst), resumes_before + 1);
    assert!(!raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 10, byteslen: 0 }).unwrap());
}

/// A channel_update (any content: the test route handler takes anything).
fn some_channel_update() -> msgs::ChannelUpdate {
    msgs::ChannelUpdate {
        signature: bitcoin::secp256k1::ecdsa::Signature::from_compact(&[1; 64]).unwrap(),
        contents: msgs::UnsignedChannelUpdate {
            chain_hash: ChainHash::REGTEST,
            short_channel_id: crate::ln::types::ShortChannelId::new(1, 0, 0).unwrap(),
            timestamp: 1,
            message_flags: 1,
            channel_flags: 0,
            cltv_expiry_delta: 40,
            htlc_minimum_msat: 1,
            fee_base_msat: 0,
            fee_proportional_millionths: 0,
            htlc_maximum_msat: 1_000,
            excess_data: Vec::new(),
        },
    }
}

#[test]
fn routing_backlog_does_not_pause_peers_that_send_no_gossip() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    pm.handlers().route_handler.queue_high.store(true, Ordering::SeqCst);
    // Channel traffic (here pings) keeps flowing during a gossip backlog.
    for _ in 0..3 {
        assert!(!raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 10, byteslen: 0 }).unwrap());
    }
    assert_eq!(raw.receive(&socket.take_sent()), vec![Message::Pong(Pong { byteslen: 10 }); 3]);
}

#[test]
fn descriptor_claiming_more_than_offered_does_not_panic() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    socket.over_report.store(1000, Ordering::SeqCst);
    for _ in 0..3 {
        raw.send(&pm, &mut socket, &Ping { num_pong_bytes: 10, byteslen: 0 }).unwrap();
    }
    socket.over_report.store(0, Ordering::SeqCst);
    let pongs = raw.receive(&socket.take_sent());
    assert_eq!(pongs, vec![Message::Pong(Pong { byteslen: 10 }); 3]);
    assert_eq!(pm.peers.read().values().map(|p| p.lock().outbound_bytes).sum::<usize>(), 0);
}

#[test]
fn warnings_for_undecodable_messages_respect_the_byte_limit() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    socket.capacity.store(0, Ordering::SeqCst);
    // channel_reestablish whose keys are all zero: well framed, invalid value.
    let mut bad = vec![0x00, 0x88];
    bad.extend_from_slice(&[0u8; 113]);
    let mut burst = Vec::new();
    for _ in 0..600 {
        burst.extend(raw.encrypt(&bad));
    }
    // Repeat so the queue would pass the limit several times over.
    for _ in 0..40 {
        pm.read_event(&mut socket, &burst).unwrap();
        burst.clear();
        for _ in 0..600 {
            burst.extend(raw.encrypt(&bad));
        }
    }
    let queued: usize = pm.peers.read().values().map(|p| p.lock().outbound_bytes).sum();
    assert!(queued > 0, "warnings were queued");
    assert!(queued <= OUTBOUND_BUFFER_HARD_LIMIT_BYTES + 200, "{queued} bytes queued");
    assert_eq!(pm.list_peers().len(), 1, "bad values warn, not disconnect");
}

#[test]
fn ping_flood_cannot_grow_the_queue_without_bound() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    socket.capacity.store(0, Ordering::SeqCst);
    // One read carrying many pings that each ask for the largest pong.
    let mut burst = Vec::new();
    for _ in 0..200 {
        burst.extend(raw.encrypt(&wire::encode(&Ping { num_pong_bytes: 65531, byteslen: 0 })));
    }
    pm.read_event(&mut socket, &burst).unwrap();
    let queued: usize = pm.peers.read().values().map(|p| p.lock().outbound_bytes).sum();
    assert!(queued <= OUTBOUND_BUFFER_HARD_LIMIT_BYTES + 65535 + 34, "{queued} bytes queued");
}

#[test]
fn duplicate_connection_from_same_node_is_refused() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut s1 = TestSocket::new(1);
    let _r1 = RawPeer::connect(&pm, &mut s1);
    let mut s2 = TestSocket::new(2);
    let secp = Secp256k1::new();
    let keys = KeysManager::new(&[9; 32], 0, 0);
    let mut enc =
        PeerChannelEncryptor::new_outbound(pm.our_node_id(), SecretKey::from_slice(&[6; 32]).unwrap());
    pm.new_inbound_connection(s2.clone(), None).unwrap();
    pm.read_event(&mut s2, &enc.get_act_one(&secp).unwrap()).unwrap();
    let act_three = enc.process_act_two(&s2.take_sent(), &keys).unwrap();
    pm.get_and_clear_peer_events();
    assert_eq!(pm.read_event(&mut s2, &act_three).unwrap_err().reason, DisconnectReason::DuplicateConnection);
    // The refused duplicate is not reported as a failed connection: the
    // peer is connected.
    assert_eq!(pm.get_and_clear_peer_events(), vec![]);
}

#[test]
fn disconnect_by_node_id_closes_the_socket_and_tells_handlers() {
    let (p, ok) = connect(TestChanHandler::default(), TestChanHandler::default());
    assert!(ok);
    p.a.disconnect_by_node_id(p.b.our_node_id());
    assert!(p.sa.disconnected.load(Ordering::SeqCst));
    assert!(p.a.list_peers().is_empty());
    assert_eq!(*p.chan_a.disconnected.lock(), vec![p.b.our_node_id()]);
    p.b.socket_disconnected(&p.sb);
    assert!(p.b.list_peers().is_empty());
    assert_eq!(*p.chan_b.disconnected.lock(), vec![p.a.our_node_id()]);
}

#[test]
fn remote_addr_only_for_public_addresses() {
    assert!(!is_publicly_routable(&SocketAddress::TcpIpV4 { addr: [127, 0, 0, 1], port: 1 }));
    assert!(!is_publicly_routable(&SocketAddress::TcpIpV4 { addr: [192, 168, 1, 1], port: 1 }));
    assert!(is_publicly_routable(&SocketAddress::TcpIpV4 { addr: [8, 8, 8, 8], port: 1 }));
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    assert!(!is_publicly_routable(&SocketAddress::TcpIpV6 { addr: v6, port: 1 }));
    v6[0] = 0x20;
    assert!(is_publicly_routable(&SocketAddress::TcpIpV6 { addr: v6, port: 1 }));
}

#[test]
fn gossip_is_dropped_first_under_back_pressure() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    socket.capacity.store(0, Ordering::SeqCst);
    let gossip = wire::encode(&WarningMessage::new(ChannelId::ALL_CHANNELS, "pretend gossip"));
    let queued: usize = (0..100).map(|_| pm.broadcast_gossip(&gossip, None)).sum();
    assert!(queued <= OUTBOUND_BUFFER_LIMIT_DROP_GOSSIP + 1, "{queued} queued");
    // The origin peer never gets its own gossip back.
    socket.capacity.store(usize::MAX, Ordering::SeqCst);
    pm.write_buffer_space_avail(&mut socket).unwrap();
    let before = raw.receive(&socket.take_sent()).len();
    assert_eq!(before, queued);
    assert_eq!(pm.broadcast_gossip(&gossip, Some(raw.keys.get_node_id(Recipient::Node).unwrap())), 0);
}

#[test]
fn init_echoes_a_routable_remote_address_only() {
    let secp = Secp256k1::new();
    let keys = KeysManager::new(&[9; 32], 0, 0);
    for (addr, echoed) in [
        (SocketAddress::TcpIpV4 { addr: [8, 8, 8, 8], port: 9735 }, true),
        (SocketAddress::TcpIpV4 { addr: [192, 168, 1, 1], port: 9735 }, false),
    ] {
        let pm = node(2, Arc::new(TestChanHandler::default()));
        let mut socket = TestSocket::new(7);
        let mut enc =
            PeerChannelEncryptor::new_outbound(pm.our_node_id(), SecretKey::from_slice(&[5; 32]).unwrap());
        pm.new_inbound_connection(socket.clone(), Some(addr.clone())).unwrap();
        pm.read_event(&mut socket, &enc.get_act_one(&secp).unwrap()).unwrap();
        let act_three = enc.process_act_two(&socket.take_sent(), &keys).unwrap();
        pm.read_event(&mut socket, &act_three).unwrap();
        let mut raw = RawPeer { enc, keys: KeysManager::new(&[9; 32], 0, 0) };
        let init = raw.init();
        raw.send(&pm, &mut socket, &init).unwrap();
        let received = raw.receive(&socket.take_sent());
        let [Message::Init(theirs)] = &received[..] else { panic!("expected init, got {received:?}") };
        let expected = if echoed { Some(addr) } else { None };
        assert_eq!(theirs.remote_network_address, expected);
    }
}

/// Refusing a peer's `init` says why in a `warning`, never an `error`: an
/// `error` for all channels would make the peer fail every channel it has
/// with us (BOLT 1).
#[test]
fn refused_init_is_answered_with_a_warning_not_an_error() {
    let chan = Arc::new(TestChanHandler { chains: Some(vec![ChainHash::BITCOIN]), ..Default::default() });
    let pm = node(2, chan);
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect(&pm, &mut socket);
    let init = Init {
        features: default_features(),
        networks: Some(vec![ChainHash::REGTEST]),
        remote_network_address: None,
    };
    let err = raw.send(&pm, &mut socket, &init).unwrap_err();
    assert_eq!(err.reason, DisconnectReason::NoCommonNetwork);
    let received = raw.receive(&socket.take_sent());
    match &received[..] {
        [Message::Init(_), Message::Warning(w)] => {
            assert_eq!(w.channel_id, ChannelId::ALL_CHANNELS);
            assert!(w.printable_data().contains("network"), "{}", w.printable_data());
        }
        other => panic!("expected init and a warning, got {other:?}"),
    }
}

/// The grace for a peer we paused for our gossip backlog is bounded: a
/// backlog that never clears does not keep a silent peer forever.
#[test]
fn paused_peer_grace_for_an_unread_pong_is_bounded() {
    let pm = node(2, Arc::new(TestChanHandler::default()));
    let mut socket = TestSocket::new(7);
    let mut raw = RawPeer::connect_and_init(&pm, &mut socket);
    pm.handlers().route_handler.queue_high.store(true, Ordering::SeqCst);
    assert!(raw.send(&pm, &mut socket, &some_channel_update()).unwrap());
    // The first tick sends the ping; each later one is a tick of grace.
    for _ in 0..MAX_PING_TICKS_WHILE_PAUSED {
        pm.timer_tick_occurred();
        assert_eq!(pm.list_peers().len(), 1);
    }
    pm.timer_tick_occurred();
    assert!(pm.list_peers().is_empty(), "disconnected once the grace is used up");
}
