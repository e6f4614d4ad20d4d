//! Targets over the BOLT 8 transport and the `PeerManager` that sits on it.

use crate::input::FuzzInput;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use lightning_core::ln::features::InitFeatures;
use lightning_core::ln::msgs::{
    ErroringMessageHandler, GossipTimestampFilter, IgnoringMessageHandler, Init, Ping, Pong,
    QueryChannelRange, QueryShortChannelIds, ReplyChannelRange,
};
use lightning_core::ln::peer_channel_encryptor::{
    NoiseError, PeerChannelEncryptor, ACT_ONE_LEN, ACT_THREE_LEN, MESSAGE_HEADER_LEN, TAG_LEN,
};
use lightning_core::ln::peer_handler::{
    MessageHandler, PeerManager, SocketDescriptor, OUTBOUND_BUFFER_HARD_LIMIT_BYTES,
};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::ln::wire::{self, Message};
use lightning_core::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning_core::routing::utxo::NoUtxoLookup;
use lightning_core::sign::{KeysManager, NodeSigner, Recipient};
use lightning_core::util::logger::NullLogger;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// Keys shared by every run: building them is the slow part of a run.
struct Fixture {
    secp: Secp256k1<All>,
    responder: KeysManager,
    responder_id: PublicKey,
    initiator: KeysManager,
    initiator_id: PublicKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let responder = KeysManager::new(&[1; 32], 0, 0);
        let initiator = KeysManager::new(&[2; 32], 0, 0);
        Fixture {
            secp: Secp256k1::new(),
            responder_id: responder.get_node_id(Recipient::Node).expect("KeysManager has a node key"),
            initiator_id: initiator.get_node_id(Recipient::Node).expect("KeysManager has a node key"),
            responder,
            initiator,
        }
    })
}

fn ephemeral(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("a constant below the curve order")
}

/// XORs fuzz-chosen bytes into `buf` (position, mask pairs); returns whether
/// anything changed.
fn corrupt(input: &mut FuzzInput<'_>, buf: &mut [u8]) -> bool {
    let mut changed = false;
    for _ in 0..input.u8() % 4 {
        let pos = input.u16() as usize;
        let mask = input.u8();
        if !buf.is_empty() && mask != 0 {
            let len = buf.len();
            buf[pos % len] ^= mask;
            changed = true;
        }
    }
    changed
}

/// An initiator and a responder after a completed handshake.
fn handshake(f: &Fixture) -> (PeerChannelEncryptor, PeerChannelEncryptor) {
    let mut initiator = PeerChannelEncryptor::new_outbound(f.responder_id, ephemeral(0x11));
    let mut responder = PeerChannelEncryptor::new_inbound(&f.responder_id);
    let act_one = initiator.get_act_one(&f.secp).expect("fresh outbound");
    let act_two =
        responder.process_act_one(&act_one, &f.responder, ephemeral(0x22), &f.secp).expect("valid act one");
    let act_three = initiator.process_act_two(&act_two, &f.initiator).expect("valid act two");
    assert_eq!(responder.process_act_three(&act_three), Ok(f.initiator_id));
    (initiator, responder)
}

/// Sends `plain` from `from` to `to`, possibly corrupted on the way. An
/// unmodified message must decrypt to exactly `plain`; a modified one must
/// fail. Returns false once the link is dead (after a failure).
fn transfer(
    input: &mut FuzzInput<'_>, from: &mut PeerChannelEncryptor, to: &mut PeerChannelEncryptor, plain: &[u8],
) -> bool {
    let mut wire = from.encrypt_message(plain).expect("handshake done, length fits u16");
    assert_eq!(wire.len(), MESSAGE_HEADER_LEN + plain.len() + TAG_LEN);
    let corrupt_it = input.u8() & 3 == 0;
    let original = wire.clone();
    // Corruptions may cancel out: what counts is whether the bytes differ.
    let changed = corrupt_it && corrupt(input, &mut wire) && wire != original;
    let header = to.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]);
    let len = match header {
        Ok(len) => len as usize,
        Err(e) => {
            assert!(changed, "an unmodified header failed: {e:?}");
            assert_eq!(e, NoiseError::BadLengthMac);
            return false;
        }
    };
    if !changed {
        assert_eq!(len, plain.len(), "header decrypted to the wrong length");
    }
    let mut body = wire[MESSAGE_HEADER_LEN..].to_vec();
    body.truncate(len + TAG_LEN);
    match to.decrypt_message_in_place(&mut body) {
        Ok(text) => {
            assert!(!changed, "a modified message passed its MACs");
            assert_eq!(text, plain, "message decrypted to other bytes");
            true
        }
        Err(e) => {
            assert!(changed, "an unmodified body failed: {e:?}");
            false
        }
    }
}

/// BOLT 8 as the responder: arbitrary or corrupted acts one and three, then
/// arbitrary or corrupted ciphertext after a completed handshake, through key
/// rotation. Unmodified data must always go through; modified data must fail
/// and leave a failed transport failing.
pub fn peer_crypt(data: &[u8]) {
    let f = fixture();
    let mut input = FuzzInput::new(data);
    match input.u8() % 4 {
        0 => {
            // Act one: arbitrary bytes of arbitrary length, or a valid act
            // one with corruptions.
            let mut responder = PeerChannelEncryptor::new_inbound(&f.responder_id);
            let (act, changed) = if input.bool() {
                let len = input.u8() as usize;
                (input.bytes(len).to_vec(), true)
            } else {
                let mut initiator = PeerChannelEncryptor::new_outbound(f.responder_id, ephemeral(0x11));
                let mut act = initiator.get_act_one(&f.secp).expect("fresh outbound").to_vec();
                let changed = corrupt(&mut input, &mut act);
                (act, changed)
            };
            let result = responder.process_act_one(&act, &f.responder, ephemeral(0x22), &f.secp);
            if result.is_err() {
                assert!(changed, "a valid act one was refused: {result:?}");
                assert_eq!(act.len() == ACT_ONE_LEN, result != Err(NoiseError::ActReadFailed(Act::One)));
                assert!(!responder.is_ready_for_encryption());
                assert!(responder.process_act_three(&[0; ACT_THREE_LEN]).is_err());
                assert_eq!(
                    responder.decrypt_length_header(&[0; MESSAGE_HEADER_LEN]),
                    Err(NoiseError::HandshakeNotComplete)
                );
            } else if changed {
                // Only a corruption that left the act intact may pass.
                let mut initiator = PeerChannelEncryptor::new_outbound(f.responder_id, ephemeral(0x11));
                let valid = initiator.get_act_one(&f.secp).expect("fresh outbound");
                assert_eq!(&act[..], &valid[..], "a forged act one was accepted");
            }
        }
        1 => {
            // Act three: arbitrary, or a valid one with corruptions.
            let mut initiator = PeerChannelEncryptor::new_outbound(f.responder_id, ephemeral(0x11));
            let mut responder = PeerChannelEncryptor::new_inbound(&f.responder_id);
            let act_one = initiator.get_act_one(&f.secp).expect("fresh outbound");
            let act_two = responder
                .process_act_one(&act_one, &f.responder, ephemeral(0x22), &f.secp)
                .expect("valid act one");
            let valid = initiator.process_act_two(&act_two, &f.initiator).expect("valid act two");
            let (act, changed) = if input.bool() {
                let len = input.u8() as usize;
                let act = input.bytes(len).to_vec();
                let changed = act[..] != valid[..];
                (act, changed)
            } else {
                let mut act = valid.to_vec();
                let changed = corrupt(&mut input, &mut act) && act[..] != valid[..];
                (act, changed)
            };
            match responder.process_act_three(&act) {
                Ok(id) => {
                    assert!(!changed, "a forged act three was accepted");
                    assert_eq!(id, f.initiator_id);
                }
                Err(e) => {
                    assert!(changed, "a valid act three was refused: {e:?}");
                    assert!(!responder.is_ready_for_encryption());
                    assert_eq!(responder.their_node_id(), None);
                    assert!(responder.encrypt_message(b"x").is_err());
                }
            }
        }
        2 => {
            // Messages both ways, through key rotation (every 500 messages).
            let (mut initiator, mut responder) = handshake(f);
            while !input.is_empty() {
                let op = input.u8();
                let alive = match op % 4 {
                    0 => {
                        let plain = input.u16_len_bytes().to_vec();
                        transfer(&mut input, &mut initiator, &mut responder, &plain)
                    }
                    1 => {
                        let plain = input.u16_len_bytes().to_vec();
                        transfer(&mut input, &mut responder, &mut initiator, &plain)
                    }
                    2 => {
                        // A burst of small messages crossing a key rotation.
                        let count = input.u16() % 1100;
                        (0..count).all(|i| {
                            let plain = i.to_be_bytes();
                            let wire = initiator.encrypt_message(&plain).expect("ready");
                            let len = responder.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]);
                            assert_eq!(len, Ok(2));
                            let mut body = wire[MESSAGE_HEADER_LEN..].to_vec();
                            let text = responder.decrypt_message_in_place(&mut body).expect("unmodified");
                            assert_eq!(text, &plain[..]);
                            true
                        })
                    }
                    _ => {
                        // Arbitrary ciphertext cannot pass the MACs.
                        let header_len = input.u8() as usize % 40;
                        let header = input.bytes(header_len);
                        let header_result = responder.decrypt_length_header(header);
                        assert!(header_result.is_err(), "a forged length header passed its MAC");
                        let mut body = input.u16_len_bytes().to_vec();
                        assert!(
                            responder.decrypt_message_in_place(&mut body).is_err(),
                            "a forged body passed"
                        );
                        false
                    }
                };
                if !alive {
                    break;
                }
            }
        }
        _ => {
            // Calls out of order never panic and never succeed.
            let mut responder = PeerChannelEncryptor::new_inbound(&f.responder_id);
            assert!(responder.get_act_one(&f.secp).is_err());
            assert!(responder.process_act_two(&[0; ACT_ONE_LEN], &f.responder).is_err());
            let mut body = input.u16_len_bytes().to_vec();
            assert_eq!(
                responder.decrypt_message_in_place(&mut body).err(),
                Some(NoiseError::HandshakeNotComplete)
            );
            let mut initiator = PeerChannelEncryptor::new_outbound(f.responder_id, ephemeral(0x11));
            let act_two_len = input.u8() as usize;
            let act_two = input.bytes(act_two_len).to_vec();
            assert!(initiator.process_act_two(&act_two, &f.initiator).is_err(), "act two before act one");
            assert!(initiator.get_act_one(&f.secp).is_err(), "failed transport produced an act");
        }
    }
}

use lightning_core::ln::peer_channel_encryptor::Act;

/// What the in-memory socket saw.
#[derive(Default)]
struct SocketState {
    sent: Vec<u8>,
    /// Bytes the socket still takes.
    capacity: usize,
    /// The manager asked to resume reading.
    resumed: bool,
    disconnected: bool,
}

/// An in-memory connection.
#[derive(Clone)]
struct FuzzSocket {
    id: u64,
    state: Arc<Mutex<SocketState>>,
}

impl PartialEq for FuzzSocket {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for FuzzSocket {}
impl Hash for FuzzSocket {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl SocketDescriptor for FuzzSocket {
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize {
        let mut s = self.state.lock().expect("not poisoned");
        s.resumed |= resume_read;
        let n = data.len().min(s.capacity);
        s.capacity -= n;
        s.sent.extend_from_slice(&data[..n]);
        n
    }
    fn disconnect_socket(&mut self) {
        self.state.lock().expect("not poisoned").disconnected = true;
    }
}

type FuzzGossip = P2PGossipSync<Arc<NetworkGraph>, NoUtxoLookup>;
type FuzzPeerManager = PeerManager<
    FuzzSocket,
    ErroringMessageHandler,
    Arc<FuzzGossip>,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

/// The largest encrypted message on the wire.
const MAX_ENCRYPTED_MESSAGE: usize = MESSAGE_HEADER_LEN + 65535 + TAG_LEN;

/// The peer's side of the connection: the initiator's transport, bytes not yet
/// delivered, and a decoder of what the manager sends.
struct RemotePeer {
    transport: PeerChannelEncryptor,
    to_deliver: Vec<u8>,
    received: Vec<u8>,
    /// Length of the message whose header was decrypted, waiting for its body.
    pending_len: Option<usize>,
    manager_init: Option<InitFeatures>,
    last_ping: Option<u16>,
}

impl RemotePeer {
    fn send(&mut self, plain: &[u8]) {
        let plain = &plain[..plain.len().min(65535)];
        let wire = self.transport.encrypt_message(plain).expect("handshake done");
        self.to_deliver.extend_from_slice(&wire);
    }

    /// Decrypts everything the manager wrote so far: every message must pass
    /// its MACs and decode.
    fn read_from(&mut self, socket: &FuzzSocket) {
        let sent = core::mem::take(&mut socket.state.lock().expect("not poisoned").sent);
        self.received.extend_from_slice(&sent);
        loop {
            let len = match self.pending_len {
                Some(len) => len,
                None => {
                    if self.received.len() < MESSAGE_HEADER_LEN {
                        return;
                    }
                    let header = &self.received[..MESSAGE_HEADER_LEN];
                    let len =
                        self.transport.decrypt_length_header(header).expect("manager sent a bad length MAC");
                    self.received.drain(..MESSAGE_HEADER_LEN);
                    self.pending_len = Some(len as usize);
                    len as usize
                }
            };
            if self.received.len() < len + TAG_LEN {
                return;
            }
            self.pending_len = None;
            let mut body: Vec<u8> = self.received.drain(..len + TAG_LEN).collect();
            let plain = self.transport.decrypt_message_in_place(&mut body).expect("manager sent a bad MAC");
            let msg = wire::read_message(plain).expect("manager sent an undecodable message");
            match msg {
                Message::Init(init) => self.manager_init = Some(init.features),
                Message::Ping(ping) => self.last_ping = ping.expected_pong_len(),
                _ => {}
            }
        }
    }
}

fn new_manager() -> FuzzPeerManager {
    let graph = Arc::new(NetworkGraph::new(ChainHash::BITCOIN));
    let gossip = Arc::new(P2PGossipSync::new(graph, None::<NoUtxoLookup>));
    let handlers = MessageHandler {
        chan_handler: ErroringMessageHandler::new(),
        route_handler: gossip,
        custom_message_handler: IgnoringMessageHandler,
    };
    PeerManager::new(handlers, ChainHash::BITCOIN, KeysManager::new(&[1; 32], 0, 0), NullLogger)
        .expect("KeysManager has a node key")
}

/// Bytes still queued in the manager for `socket`: opens the socket wide,
/// lets the manager flush, and counts what comes out.
fn drain(pm: &FuzzPeerManager, socket: &mut FuzzSocket, remote: &mut RemotePeer) -> Option<usize> {
    let before = {
        let mut s = socket.state.lock().expect("not poisoned");
        s.capacity = usize::MAX;
        s.sent.len()
    };
    pm.write_buffer_space_avail(socket).ok()?;
    let after = socket.state.lock().expect("not poisoned").sent.len();
    remote.read_from(socket);
    Some(after - before)
}

/// A `PeerManager` with an empty gossip graph, fed by a remote peer that
/// completed the handshake with fixed keys and then sends fuzz-chosen
/// plaintext (encrypted so it passes the MACs), chunked arbitrarily,
/// interleaved with timer ticks, event processing and a socket that takes a
/// fuzz-chosen number of bytes. The remote honours read pauses, as the I/O
/// adapters do.
///
/// Invariants: no panic; everything the manager writes decrypts and decodes;
/// the bytes queued for the peer never exceed
/// [`OUTBOUND_BUFFER_HARD_LIMIT_BYTES`] plus one message (and our own
/// keep-alive ping), measured by opening the socket and counting what is
/// flushed.
pub fn peer_manager(data: &[u8]) {
    let f = fixture();
    let mut input = FuzzInput::new(data);
    let pm = new_manager();
    let mut socket = FuzzSocket {
        id: 1,
        state: Arc::new(Mutex::new(SocketState { capacity: usize::MAX, ..Default::default() })),
    };
    pm.new_inbound_connection(socket.clone(), None).expect("fresh descriptor");

    let mut transport = PeerChannelEncryptor::new_outbound(pm.our_node_id(), ephemeral(0x33));
    let act_one = transport.get_act_one(&f.secp).expect("fresh outbound");
    assert_eq!(pm.read_event(&mut socket, &act_one), Ok(false));
    let act_two = core::mem::take(&mut socket.state.lock().expect("not poisoned").sent);
    let act_three = transport.process_act_two(&act_two, &f.initiator).expect("manager's act two");
    assert!(pm.read_event(&mut socket, &act_three).is_ok());
    let mut remote = RemotePeer {
        transport,
        to_deliver: Vec::new(),
        received: Vec::new(),
        pending_len: None,
        manager_init: None,
        last_ping: None,
    };
    remote.read_from(&socket);
    assert!(remote.manager_init.is_some(), "manager did not send init after the handshake");

    let mut paused = false;
    // The documented bound, plus room for our own keep-alive ping (queued by
    // the timer whatever the queue holds).
    let bound = OUTBOUND_BUFFER_HARD_LIMIT_BYTES + MAX_ENCRYPTED_MESSAGE + 1024;
    while !input.is_empty() {
        match input.u8() % 16 {
            0 => {
                let plain = input.u16_len_bytes().to_vec();
                remote.send(&plain);
            }
            1 => {
                let features = if input.bool() {
                    remote.manager_init.clone().unwrap_or_else(InitFeatures::empty)
                } else {
                    InitFeatures::from_le_bytes(input.u16_len_bytes().to_vec())
                };
                let networks = match input.u8() % 3 {
                    0 => None,
                    1 => Some(vec![ChainHash::BITCOIN]),
                    _ => Some(vec![ChainHash::TESTNET3]),
                };
                remote.send(&wire::encode(&Init { features, networks, remote_network_address: None }));
            }
            2 => {
                let ping = Ping { num_pong_bytes: input.u16(), byteslen: input.u16() % 1024 };
                for _ in 0..=input.u8() % 32 {
                    remote.send(&wire::encode(&ping));
                }
            }
            3 => {
                let byteslen = remote.last_ping.take().unwrap_or(0);
                remote.send(&wire::encode(&Pong { byteslen }));
            }
            4 | 5 => {
                if paused {
                    let resumed = core::mem::take(&mut socket.state.lock().expect("not poisoned").resumed);
                    if !resumed {
                        continue;
                    }
                }
                let n = match input.u16() as usize {
                    0 => remote.to_deliver.len(),
                    n => n.min(remote.to_deliver.len()),
                };
                let chunk: Vec<u8> = remote.to_deliver.drain(..n).collect();
                socket.state.lock().expect("not poisoned").resumed = false;
                match pm.read_event(&mut socket, &chunk) {
                    Ok(pause) => paused = pause,
                    Err(_) => {
                        assert!(pm.list_peers().is_empty(), "a failed peer is still listed");
                        return;
                    }
                }
            }
            6 => pm.timer_tick_occurred(),
            7 => pm.process_events(),
            8 => socket.state.lock().expect("not poisoned").capacity = input.u16() as usize * 8,
            9 => {
                if pm.write_buffer_space_avail(&mut socket).is_err() {
                    return;
                }
            }
            10 => {
                let Some(queued) = drain(&pm, &mut socket, &mut remote) else { return };
                assert!(queued <= bound, "{queued} bytes were queued for one peer (bound {bound})");
                socket.state.lock().expect("not poisoned").capacity = input.u16() as usize;
            }
            11 => {
                let msg = QueryChannelRange {
                    chain_hash: ChainHash::BITCOIN,
                    first_blocknum: input.u32(),
                    number_of_blocks: input.u32(),
                    query_option: input.bool().then(|| input.u8() as u64),
                };
                remote.send(&wire::encode(&msg));
            }
            12 => {
                let msg = GossipTimestampFilter {
                    chain_hash: ChainHash::BITCOIN,
                    first_timestamp: input.u32(),
                    timestamp_range: input.u32(),
                };
                remote.send(&wire::encode(&msg));
            }
            13 => {
                let count = input.u8() as usize;
                let short_channel_ids: Vec<ShortChannelId> =
                    (0..count).map(|_| ShortChannelId(input.u64())).collect();
                let with_timestamps = input.bool();
                let msg = ReplyChannelRange {
                    chain_hash: ChainHash::BITCOIN,
                    first_blocknum: input.u32(),
                    number_of_blocks: input.u32(),
                    sync_complete: input.bool(),
                    timestamps: with_timestamps.then(|| vec![(1, 2); count]),
                    checksums: None,
                    short_channel_ids,
                };
                remote.send(&wire::encode(&msg));
            }
            14 => {
                let count = input.u8() as usize;
                let msg = QueryShortChannelIds {
                    chain_hash: ChainHash::BITCOIN,
                    short_channel_ids: (0..count).map(|_| ShortChannelId(input.u64())).collect(),
                    query_flags: None,
                };
                remote.send(&wire::encode(&msg));
            }
            _ => {
                pm.socket_disconnected(&socket);
                assert!(pm.list_peers().is_empty());
                return;
            }
        }
        if socket.state.lock().expect("not poisoned").disconnected {
            assert!(pm.list_peers().is_empty(), "a disconnected peer is still listed");
            return;
        }
        remote.read_from(&socket);
    }
    if let Some(queued) = drain(&pm, &mut socket, &mut remote) {
        assert!(queued <= bound, "{queued} bytes were queued for one peer (bound {bound})");
    }
}
