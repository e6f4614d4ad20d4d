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

/// Decodes a `ChannelMonitorUpdate`; an accepted update re-encodes to bytes
/// that decode to the same update.
pub fn channel_monitor_update(data: &[u8]) {
    use lightning_core::chain::channelmonitor::ChannelMonitorUpdate;
    use lightning_core::util::ser::decode_exact;
    let Ok(update) = decode_exact::<ChannelMonitorUpdate>(data) else { return };
    assert_eq!(
        decode_exact::<ChannelMonitorUpdate>(&update.encode()),
        Ok(update),
        "update re-encodes differently"
    );
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
