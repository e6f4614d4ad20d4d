//! BOLT 8 transport and PeerManager throughput.
//!
//! `cargo bench -p lightning-core --bench transport`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning_core::ln::msgs::{ErroringMessageHandler, IgnoringMessageHandler};
use lightning_core::ln::peer_channel_encryptor::{PeerChannelEncryptor, MESSAGE_HEADER_LEN};
use lightning_core::ln::peer_handler::{MessageHandler, PeerManager, SocketDescriptor};
use lightning_core::sign::{KeysManager, NodeSigner, Recipient};
use lightning_core::sync::Mutex;
use lightning_core::util::logger::NullLogger;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

fn handshake_pair(
    initiator: &KeysManager, responder: &KeysManager,
) -> (PeerChannelEncryptor, PeerChannelEncryptor) {
    let secp = Secp256k1::new();
    let responder_id = responder.get_node_id(Recipient::Node).unwrap();
    let mut out = PeerChannelEncryptor::new_outbound(responder_id, SecretKey::from_slice(&[3; 32]).unwrap());
    let mut inb = PeerChannelEncryptor::new_inbound(&responder_id);
    let act1 = out.get_act_one(&secp).unwrap();
    let act2 =
        inb.process_act_one(&act1, responder, SecretKey::from_slice(&[4; 32]).unwrap(), &secp).unwrap();
    let act3 = out.process_act_two(&act2, initiator).unwrap();
    inb.process_act_three(&act3).unwrap();
    (out, inb)
}

fn bench_handshake(c: &mut Criterion) {
    let a = KeysManager::new(&[1; 32], 0, 0);
    let b = KeysManager::new(&[2; 32], 0, 0);
    c.bench_function("bolt8_handshake_both_sides", |bench| bench.iter(|| handshake_pair(&a, &b)));
}

fn bench_encryption(c: &mut Criterion) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
    let a = KeysManager::new(&[1; 32], 0, 0);
    let b = KeysManager::new(&[2; 32], 0, 0);
    let mut group = c.benchmark_group("encrypt_decrypt");
    for size in [100usize, 65535] {
        let message = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        let (mut sender, mut receiver) = handshake_pair(&a, &b);
        let mut wire = Vec::with_capacity(size + 34);
        group.bench_with_input(BenchmarkId::new("bolt8_framing", size), &message, |bench, message| {
            bench.iter(|| {
                wire.clear();
                sender.encrypt_message_into(message, &mut wire).unwrap();
                let len = receiver.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]).unwrap();
                let body = &mut wire[MESSAGE_HEADER_LEN..];
                assert_eq!(receiver.decrypt_message_in_place(body).unwrap().len(), len as usize);
            })
        });
        // The raw AEAD on the same sizes: one encryption and one decryption.
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
        let nonce = Nonce::from_slice(&[0; 12]);
        let mut buf = message.clone();
        group.bench_with_input(BenchmarkId::new("raw_chacha20poly1305", size), &size, |bench, _| {
            bench.iter(|| {
                let tag = cipher.encrypt_in_place_detached(nonce, &[], &mut buf).unwrap();
                cipher.decrypt_in_place_detached(nonce, &[], &mut buf, &tag).unwrap();
            })
        });
    }
    group.finish();
}

/// A socket that hands what it is sent to a shared buffer.
#[derive(Clone)]
struct Pipe {
    id: u8,
    out: Arc<Mutex<Vec<u8>>>,
}
impl PartialEq for Pipe {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for Pipe {}
impl Hash for Pipe {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}
impl SocketDescriptor for Pipe {
    fn send_data(&mut self, data: &[u8], _: bool) -> usize {
        self.out.lock().extend_from_slice(data);
        data.len()
    }
    fn disconnect_socket(&mut self) {}
}

type BenchPm = PeerManager<
    Pipe,
    Arc<ErroringMessageHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

fn pm(seed: u8) -> BenchPm {
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: IgnoringMessageHandler,
        custom_message_handler: IgnoringMessageHandler,
    };
    PeerManager::new(handlers, ChainHash::REGTEST, KeysManager::new(&[seed; 32], 0, 0), NullLogger).unwrap()
}

fn bench_ping_pong(c: &mut Criterion) {
    let a = pm(1);
    let b = pm(2);
    let mut pa = Pipe { id: 1, out: Arc::new(Mutex::new(Vec::new())) };
    let mut pb = Pipe { id: 2, out: Arc::new(Mutex::new(Vec::new())) };
    let act1 = a.new_outbound_connection(b.our_node_id(), pa.clone(), None).unwrap();
    b.new_inbound_connection(pb.clone(), None).unwrap();
    b.read_event(&mut pb, &act1).unwrap();
    let shuttle = |a: &BenchPm, pa: &mut Pipe, b: &BenchPm, pb: &mut Pipe| loop {
        let to_b = std::mem::take(&mut *pa.out.lock());
        let to_a = std::mem::take(&mut *pb.out.lock());
        if to_a.is_empty() && to_b.is_empty() {
            break;
        }
        if !to_b.is_empty() {
            b.read_event(pb, &to_b).unwrap();
        }
        if !to_a.is_empty() {
            a.read_event(pa, &to_a).unwrap();
        }
    };
    shuttle(&a, &mut pa, &b, &mut pb);
    assert_eq!(a.list_peers().len(), 1);
    let bob = b.our_node_id();
    c.bench_function("peer_manager_ping_pong_round_trip", |bench| {
        bench.iter(|| {
            a.send_ping(&bob, 0);
            shuttle(&a, &mut pa, &b, &mut pb);
        })
    });
    assert!(a.list_peers()[0].pongs_received > 0);
}

criterion_group!(benches, bench_handshake, bench_encryption, bench_ping_pong);
criterion_main!(benches);
