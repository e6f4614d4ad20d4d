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
