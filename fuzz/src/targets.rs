//! The fuzz target functions.

use lightning_core::ln::wire::{self, Message};
use lightning_core::tlv_stream;
use lightning_core::util::ser::{BigSize, Readable, Writeable};
use lightning_core::util::tlv::{RawBytes, TlvStream, Tu32, Tu64};

/// Decodes a whole message; anything accepted must re-encode to bytes that
/// decode to the same message.
pub fn wire_message(data: &[u8]) {
    let Ok(msg) = wire::read_message(data) else { return };
    if let Message::UnknownOdd(_) = msg {
        return;
    }
    let again = msg.encode();
    assert_eq!(wire::read_message(&again).as_ref(), Ok(&msg), "re-encoded message decodes differently");
}

tlv_stream! {
    /// A stream with fixed, truncated and raw records.
    pub struct FuzzTlvs {
        /// tu64.
        (0, amount_msat: Tu64),
        /// tu32.
        (2, cltv: Tu32),
        /// u64.
        (4, fixed: u64),
        /// bytes.
        (7, raw: RawBytes),
    }
}

/// Walks a TLV stream and decodes it as [`FuzzTlvs`]; an accepted stream of
/// known records re-encodes to the same value.
pub fn tlv_stream(data: &[u8]) {
    let records: Result<Vec<_>, _> = TlvStream::new(data).collect();
    let decoded = FuzzTlvs::decode_stream(data);
    if let Ok(tlvs) = decoded {
        assert!(records.is_ok(), "typed decode accepted a stream the walker rejected");
        let again = tlvs.encode();
        assert_eq!(FuzzTlvs::decode_stream(&again), Ok(tlvs));
    }
}

/// Decodes one BigSize; an accepted value re-encodes to exactly the bytes read.
pub fn bigsize(data: &[u8]) {
    let mut reader = data;
    if let Ok(v) = BigSize::read(&mut reader) {
        let consumed = data.len() - reader.len();
        assert_eq!(v.encode(), &data[..consumed], "BigSize is not canonical");
    }
}

/// A fixed shared secret for the onion targets, so fuzzed bytes reach the code
/// behind the HMAC check.
const ONION_FUZZ_SECRET: [u8; 32] = [0x42; 32];

/// Peels a 1300-byte `hop_payloads` built from the input (zero-padded or
/// truncated) under a fixed shared secret, with an HMAC computed to match, then
/// decodes the payload as both a forward and a final one. Nothing may panic;
/// a peel that succeeds takes exactly its payload, length prefix and HMAC.
pub fn onion_peel(data: &[u8]) {
    use lightning_core::ln::onion::keys::{derive_key, hmac_sha256, KeyType};
    use lightning_core::ln::onion::packet::{hop_payload_shift, peel_hop_payloads, HOP_PAYLOADS_LEN};
    use lightning_core::ln::onion::payload::InboundHopPayload;

    let mut hop_payloads = [0u8; HOP_PAYLOADS_LEN];
    let n = data.len().min(HOP_PAYLOADS_LEN);
    hop_payloads[..n].copy_from_slice(&data[..n]);
    let hmac = hmac_sha256(&derive_key(KeyType::Mu, &ONION_FUZZ_SECRET), &[&hop_payloads, b"ad"]);
    if let Ok(peeled) = peel_hop_payloads(&ONION_FUZZ_SECRET, &mut hop_payloads, &hmac, b"ad") {
        assert!(hop_payload_shift(peeled.payload.len()) <= HOP_PAYLOADS_LEN);
        for (is_final, path_key) in [(false, false), (true, false), (false, true), (true, true)] {
            let _ = InboundHopPayload::decode(&peeled.payload, is_final, path_key);
        }
    }
}

/// Decodes a hop payload under every combination of final / path key (the
/// first byte picks them); nothing may panic.
pub fn hop_payload(data: &[u8]) {
    use lightning_core::ln::onion::payload::InboundHopPayload;
    let Some((flags, payload)) = data.split_first() else { return };
    let _ = InboundHopPayload::decode(payload, flags & 1 != 0, flags & 2 != 0);
}

/// Decodes a `failuremsg`; an accepted one re-encodes to exactly the input
/// (extra bytes are kept as they came).
pub fn failure_message(data: &[u8]) {
    use lightning_core::ln::onion::failure::FailureMessage;
    use lightning_core::util::ser::decode_exact;
    if let Ok(msg) = decode_exact::<FailureMessage>(data) {
        assert_eq!(msg.encode(), data, "failure message does not re-encode to its bytes");
    }
}

/// Reads a return packet as an origin with a three-hop route; nothing may
/// panic, and a packet that was not built by one of the hops is unattributable.
pub fn failure_packet(data: &[u8]) {
    use lightning_core::bitcoin::secp256k1::ecdh::SharedSecret;
    use lightning_core::ln::onion::failure::decode_failure_packet;
    let route = [1u8, 2, 3].map(|b| SharedSecret::from_bytes([b; 32]));
    let _ = decode_failure_packet(&route, data);
}

/// Decodes an `encrypted_data_tlv`; an accepted one re-encodes to a stream
/// that decodes the same.
pub fn encrypted_data_tlv(data: &[u8]) {
    use lightning_core::ln::onion::blinding::EncryptedDataTlvs;
    if let Ok(tlvs) = EncryptedDataTlvs::decode_stream(data) {
        assert_eq!(EncryptedDataTlvs::decode_stream(&tlvs.encode()), Ok(tlvs));
    }
}

/// Parses the bytes (as UTF-8) as a BOLT 11 invoice; an accepted invoice prints
/// back to its input in lower case and parses to the same invoice.
pub fn bolt11_invoice(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(raw) = text.parse::<lightning_invoice::SignedRawBolt11Invoice>() {
        let printed = raw.to_string();
        assert_eq!(printed, text.to_lowercase(), "invoice does not print back to its input");
        assert_eq!(printed.parse().as_ref(), Ok(&raw), "printed invoice parses differently");
        let strict = text.parse::<lightning_invoice::Bolt11Invoice>();
        if let Ok(invoice) = strict {
            assert_eq!(invoice.raw(), &raw, "strict and raw parses differ");
        }
    } else {
        assert!(
            text.parse::<lightning_invoice::Bolt11Invoice>().is_err(),
            "strict parse accepted a raw failure"
        );
    }
}

/// Reads a `ChannelMonitor` with the keys of seed `[1; 32]` (those of the
/// corpus monitors, built by `chain::test_utils::TestChannel` with seed 1);
/// an accepted monitor re-encodes to bytes that read back to the same
/// encoding.
pub fn channel_monitor(data: &[u8]) {
    use lightning_core::chain::channelmonitor::ChannelMonitor;
    use lightning_core::sign::{InMemorySigner, KeysManager};
    use lightning_core::util::ser::ReadableArgs;
    use std::sync::OnceLock;
    static KEYS: OnceLock<KeysManager> = OnceLock::new();
    let keys = KEYS.get_or_init(|| KeysManager::new(&[1; 32], 0, 0));
    let Ok(monitor) = ChannelMonitor::<InMemorySigner>::read(&mut &data[..], keys) else { return };
    let again = monitor.encode();
    let reread =
        ChannelMonitor::<InMemorySigner>::read(&mut &again[..], keys).expect("a written monitor reads back");
    assert_eq!(reread.encode(), again, "monitor does not round-trip");
}

/// The BOLT 2 message types, picked by the first input byte.
const CHANNEL_MESSAGE_TYPES: [u16; 15] = [32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136];

/// Decodes the rest of the input as the BOLT 2 message chosen by the first
/// byte; an accepted message must re-encode to bytes that decode to it.
pub fn channel_message(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else { return };
    let message_type = CHANNEL_MESSAGE_TYPES[*first as usize % CHANNEL_MESSAGE_TYPES.len()];
    let mut framed = message_type.to_be_bytes().to_vec();
    framed.extend_from_slice(rest);
    let Ok(msg) = wire::read_message(&framed) else { return };
    assert_eq!(msg.type_id(), message_type);
    let again = msg.encode();
    assert_eq!(
        wire::read_message(&again).as_ref(),
        Ok(&msg),
        "re-encoded channel message decodes differently"
    );
}

/// Drives two real `ChannelManager`s with a channel between them through
/// the operations the input encodes (payments both ways, deliveries one
/// message at a time, dropped messages, disconnections, claims, fails,
/// fee updates), then reconnects, settles everything and checks that no
/// value was created or lost and both sides agree.
pub fn channel_state_machine(data: &[u8]) {
    use lightning_core::events::{Event, MessageSendEvent};
    use lightning_core::ln::functional_test_utils::Network;
    use lightning_core::ln::types::PaymentPreimage;
    use std::collections::VecDeque;

    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 400_000_000);
    let mut queue: VecDeque<(usize, MessageSendEvent)> = VecDeque::new();
    let mut claimable: Vec<(usize, PaymentPreimage)> = Vec::new();
    let mut connected = true;
    let collect = |net: &Network,
                   queue: &mut VecDeque<(usize, MessageSendEvent)>,
                   claimable: &mut Vec<(usize, PaymentPreimage)>| {
        for i in 0..2 {
            for ev in net.nodes[i].msgs() {
                queue.push_back((i, ev));
            }
            for e in net.nodes[i].events() {
                if let Event::PaymentClaimable { purpose, .. } = e {
                    if let Some(p) = purpose.preimage() {
                        claimable.push((i, p));
                    }
                }
            }
        }
    };
    for chunk in data.chunks(2).take(200) {
        let op = chunk[0];
        let arg = chunk.get(1).copied().unwrap_or(0);
        collect(&net, &mut queue, &mut claimable);
        match op % 8 {
            0 | 1 if connected => {
                let from = (op % 2) as usize;
                let to = 1 - from;
                let amount = 1_000 + u64::from(arg) * 97_000;
                let (hash, secret) = net.nodes[to].node.create_inbound_payment(None, 3600);
                let params = lightning_core::routing::router::RouteParameters::for_payee(
                    &net.nodes[to].node_id,
                    amount,
                    40,
                );
                let _ = net.nodes[from].node.send_payment(
                    hash,
                    lightning_core::ln::channelmanager::RecipientOnionFields::secret_only(secret),
                    lightning_core::ln::types::PaymentId(hash.0),
                    params,
                );
            }
            2 | 3 => {
                for _ in 0..=(arg % 4) {
                    if let Some((from, ev)) = queue.pop_front() {
                        if connected {
                            net.deliver(from, ev);
                        }
                    }
                }
            }
            4 => {
                if let Some((node, preimage)) =
                    (!claimable.is_empty()).then(|| claimable.remove(arg as usize % claimable.len()))
                {
                    if arg % 3 == 0 {
                        net.nodes[node].node.fail_htlc_backwards(&preimage.payment_hash());
                    } else {
                        net.nodes[node].node.claim_funds(preimage);
                    }
                }
            }
            5 => {
                // Drop what is in flight and reconnect (or just disconnect).
                queue.clear();
                net.disconnect(0, 1);
                connected = arg % 2 == 0;
                if connected {
                    net.connect(0, 1);
                }
            }
            6 if connected => {
                let feerate = 253 + u32::from(arg) * 10;
                let _ = net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, feerate);
            }
            _ => {
                if !connected {
                    net.connect(0, 1);
                    connected = true;
                }
            }
        }
    }
    // Settle: reconnect, deliver everything, claim what is claimable.
    queue.clear();
    net.disconnect(0, 1);
    net.connect(0, 1);
    for _ in 0..10 {
        net.process_all();
        collect(&net, &mut queue, &mut claimable);
        queue.clear();
        for (node, preimage) in claimable.drain(..) {
            net.nodes[node].node.claim_funds(preimage);
        }
    }
    let views: Vec<Option<(u64, u64, u64, bool)>> = (0..2)
        .map(|i| {
            net.nodes[i].node.with_funded_channel(&net.nodes[1 - i].node_id, &chan, |c| {
                let l = &c.commitments().local_commit.contents;
                let (out, inc) = l.in_flight_msat();
                (l.to_local_msat, l.to_remote_msat, out + inc, l.htlcs.is_empty())
            })
        })
        .collect();
    match (views[0], views[1]) {
        (Some(a), Some(b)) => {
            assert_eq!(a.0 + a.1 + a.2, 1_000_000_000, "value created or lost on node 0");
            assert_eq!(b.0 + b.1 + b.2, 1_000_000_000, "value created or lost on node 1");
            if a.3 && b.3 {
                assert_eq!((a.0, a.1), (b.1, b.0), "the two sides disagree on balances");
            }
        }
        // A side closed the channel (e.g. an HTLC expired): it must be
        // closed on both after settling.
        (None, other) | (other, None) => {
            let _ = other;
        }
    }
}

/// Reads a `ChannelManager` from bytes (as a persister would after a
/// restart); an accepted one must write itself back to bytes that read to
/// the same manager. (A reloaded manager is disconnected, so unsigned
/// updates move to the holding cell: the first re-encoding may differ from
/// the input, the second must not.)
pub fn channel_manager(data: &[u8]) {
    let _ = channel_manager_round_trip(data);
}

/// [`channel_manager`]'s work; returns the number of channels of the
/// manager read, if it was accepted (for checking the seeds).
pub fn channel_manager_round_trip(data: &[u8]) -> Option<usize> {
    use lightning_core::ln::channelmanager::{ChannelManager, ChannelManagerReadArgs};
    use lightning_core::ln::functional_test_utils::{
        TestBroadcaster, TestFeeEstimator, TestLogger, TestWatch,
    };
    use lightning_core::routing::router::DirectRouter;
    use lightning_core::sign::KeysManager;
    use std::sync::Arc;
    let read = |bytes: &[u8]| {
        // The seed of the harness's first node, so corpus entries written
        // from functional tests load with their channels.
        let mut seed = [0u8; 32];
        seed[0] = 1;
        seed[31] = 0x42;
        let keys = KeysManager::new(&seed, 42, 0);
        let material = keys.get_inbound_payment_key_material();
        let broadcaster = Arc::new(TestBroadcaster::default());
        let fees = Arc::new(TestFeeEstimator::new(253));
        let logger = Arc::new(TestLogger::default());
        let watch = Arc::new(TestWatch::new(broadcaster.clone(), fees.clone(), logger.clone()));
        let args = ChannelManagerReadArgs {
            fee_estimator: fees,
            chain_monitor: watch,
            tx_broadcaster: broadcaster,
            router: DirectRouter,
            logger,
            keys,
            config: Default::default(),
            inbound_payment_key_material: material,
        };
        ChannelManager::read(&mut &bytes[..], args)
    };
    let manager = read(data).ok()?;
    let first = manager.encode();
    let again = read(&first).expect("a written manager reads back").encode();
    assert_eq!(first, again, "manager does not round-trip");
    Some(manager.list_channels().len())
}
