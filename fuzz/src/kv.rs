//! Target over the persister's on-disk envelope, its record and the value
//! codec.

use crate::input::FuzzInput;
use lightning_persister::codec::{
    decode_envelope, decode_record, decode_value, encode_envelope, encode_record, encode_value, ValueKind,
    ENVELOPE_HEADER_LEN, FORMAT_VERSION,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value with every shape serde gives bincode: strings, bytes, options,
/// sequences, maps, enums, nested structs.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct FuzzValue {
    name: String,
    blob: Vec<u8>,
    amount_msat: u64,
    maybe: Option<u32>,
    pairs: Vec<(u16, bool)>,
    map: BTreeMap<String, i64>,
    kind: FuzzKind,
    nested: Vec<Vec<u8>>,
}

/// Not recursive: bincode has no depth limit, so a recursive type lets a
/// corrupt value nest until the stack overflows (see `decode_value`'s docs).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum FuzzKind {
    Unit,
    Tuple(u8, String),
    Struct { a: u64, b: Option<Box<FuzzInner>> },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum FuzzInner {
    Small(u8),
    Text(String),
}

/// Decodes `body` (as the body of a serde record in a valid envelope) as `T`;
/// an accepted value re-encodes to a value that decodes the same.
fn value_round_trip<T>(body: &[u8])
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let envelope = encode_record(ValueKind::Serde, body).expect("small body");
    if let Ok(value) = decode_value::<T>(&envelope) {
        let again = encode_value(&value).expect("a decoded value encodes");
        assert_eq!(decode_value::<T>(&again).expect("a re-encoded value decodes"), value);
    }
}

/// Decodes `payload` (wrapped in a valid version 2 envelope) as a record of
/// each kind: at most one kind accepts it, and its body stored again as a
/// record of that kind reads back the same.
fn record_round_trip(payload: &[u8]) {
    let envelope = encode_envelope(payload).expect("small payload");
    let mut accepted = None;
    for kind in ValueKind::ALL {
        if let Ok(body) = decode_record(&envelope, kind) {
            assert!(accepted.is_none(), "a record of two kinds");
            accepted = Some(kind);
            let again = encode_record(kind, body).expect("a decoded body encodes");
            assert_eq!(decode_record(&again, kind).expect("a re-encoded record decodes"), body);
        }
    }
}

/// Mode 0: `decode_envelope` on arbitrary bytes (an accepted version 2
/// envelope is exactly the encoding of its payload), then `decode_value` and
/// `decode_record` on them. Modes 1 to 3: `decode_value` of several types on
/// the bytes as the body of a serde record in a valid envelope (so the body
/// decoder is reached past the checksum). Mode 4: the bytes as the record of a
/// valid envelope. Nothing panics or allocates without bound, and accepted
/// values round-trip.
pub fn kv_codec(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let mode = input.u8();
    let rest = input.rest();
    match mode % 5 {
        0 => {
            if let Ok((version, payload)) = decode_envelope(rest) {
                if version == FORMAT_VERSION {
                    assert_eq!(encode_envelope(payload).expect("fits"), rest, "envelope has two encodings");
                }
            }
            let _ = decode_value::<FuzzValue>(rest);
            for kind in ValueKind::ALL {
                let _ = decode_record(rest, kind);
            }
        }
        1 => value_round_trip::<FuzzValue>(rest),
        2 => value_round_trip::<Vec<String>>(rest),
        3 => value_round_trip::<(u64, Option<Vec<u8>>, BTreeMap<u32, String>)>(rest),
        _ => record_round_trip(rest),
    }
}

/// A few valid stored values: `(mode, input)` pairs for `kv_codec`, each
/// value as a whole envelope (mode 0), as the body of its serde record (modes
/// 1 to 3, by type) and as the record (mode 4); and records of the core's
/// kinds (modes 0 and 4).
pub fn sample_values() -> Vec<(u8, Vec<u8>)> {
    let mut map = BTreeMap::new();
    map.insert("fee".to_string(), -5i64);
    let value = FuzzValue {
        name: "node".into(),
        blob: vec![1, 2, 3],
        amount_msat: 1_000_000,
        maybe: Some(7),
        pairs: vec![(1, true), (300, false)],
        map,
        kind: FuzzKind::Struct { a: 9, b: Some(Box::new(FuzzInner::Text("x".into()))) },
        nested: vec![vec![], vec![0xff; 3]],
    };
    let strings = vec!["a".to_string(), "bc".to_string()];
    let mut tuple_map = BTreeMap::new();
    tuple_map.insert(1u32, "one".to_string());
    let tuple = (42u64, Some(vec![9u8; 4]), tuple_map);
    let mut out = Vec::new();
    for (mode, envelope) in [
        (1, encode_value(&value).expect("encodes")),
        (2, encode_value(&strings).expect("encodes")),
        (3, encode_value(&tuple).expect("encodes")),
    ] {
        let body = decode_record(&envelope, ValueKind::Serde).expect("a serde record").to_vec();
        out.push((0, envelope.clone()));
        out.push((mode, body));
        out.push((4, envelope[ENVELOPE_HEADER_LEN..].to_vec()));
    }
    // Core values: a short body, and one whose length takes three bytes.
    for (kind, body) in
        [(ValueKind::ChannelMonitorUpdate, vec![0x5a; 40]), (ValueKind::ChannelMonitor, vec![7; 300])]
    {
        let envelope = encode_record(kind, &body).expect("encodes");
        out.push((0, envelope.clone()));
        out.push((4, envelope[ENVELOPE_HEADER_LEN..].to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds are valid version 2 values, so the corpus replay reaches past
    /// every check of the codec, not only its error paths.
    #[test]
    fn every_sample_is_accepted_by_its_mode() {
        let kinds_of = |envelope: &[u8]| -> Vec<ValueKind> {
            ValueKind::ALL.into_iter().filter(|kind| decode_record(envelope, *kind).is_ok()).collect()
        };
        let samples = sample_values();
        assert_eq!(samples.len(), 13);
        for (mode, input) in samples {
            match mode {
                0 => {
                    let (version, _) = decode_envelope(&input).expect("an envelope");
                    assert_eq!(version, FORMAT_VERSION);
                    assert_eq!(kinds_of(&input).len(), 1);
                }
                1 => {
                    let envelope = encode_record(ValueKind::Serde, &input).expect("encodes");
                    decode_value::<FuzzValue>(&envelope).expect("a FuzzValue");
                }
                2 => {
                    let envelope = encode_record(ValueKind::Serde, &input).expect("encodes");
                    decode_value::<Vec<String>>(&envelope).expect("strings");
                }
                3 => {
                    let envelope = encode_record(ValueKind::Serde, &input).expect("encodes");
                    decode_value::<(u64, Option<Vec<u8>>, BTreeMap<u32, String>)>(&envelope)
                        .expect("a tuple");
                }
                4 => assert_eq!(kinds_of(&encode_envelope(&input).expect("fits")).len(), 1),
                other => panic!("mode {other}"),
            }
        }
    }
}
