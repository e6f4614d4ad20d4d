//! Target over the persister's on-disk envelope and value codec.

use crate::input::FuzzInput;
use lightning_persister::codec::{decode_envelope, decode_value, encode_envelope, encode_value};
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

/// Decodes `payload` (wrapped in a valid envelope) as `T`; an accepted value
/// re-encodes to a value that decodes the same.
fn value_round_trip<T>(payload: &[u8])
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let envelope = encode_envelope(payload).expect("small payload");
    if let Ok(value) = decode_value::<T>(&envelope) {
        let again = encode_value(&value).expect("a decoded value encodes");
        assert_eq!(decode_value::<T>(&again).expect("a re-encoded value decodes"), value);
    }
}

/// `decode_envelope` on arbitrary bytes: an accepted envelope is exactly the
/// encoding of its payload. Then `decode_value` of several types on the bytes
/// wrapped in a valid envelope (so the payload decoder is reached past the
/// checksum): nothing panics or allocates without bound, and accepted values
/// round-trip.
pub fn kv_codec(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let mode = input.u8();
    let rest = input.rest();
    match mode % 4 {
        0 => {
            if let Ok(payload) = decode_envelope(rest) {
                assert_eq!(encode_envelope(payload).expect("fits"), rest, "envelope has two encodings");
            }
            let _ = decode_value::<FuzzValue>(rest);
        }
        1 => value_round_trip::<FuzzValue>(rest),
        2 => value_round_trip::<Vec<String>>(rest),
        _ => value_round_trip::<(u64, Option<Vec<u8>>, BTreeMap<u32, String>)>(rest),
    }
}

/// A few valid envelopes, with the mode of `kv_codec` that decodes each.
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
    vec![
        (1, encode_value(&value).expect("encodes")),
        (2, encode_value(&strings).expect("encodes")),
        (3, encode_value(&tuple).expect("encodes")),
    ]
}
