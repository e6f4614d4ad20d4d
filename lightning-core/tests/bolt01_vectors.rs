//! Every vector of `shared/specs/vectors/bolt01/`, byte for byte, each failure
//! rejected for its stated reason.

mod common;

use common::{hex_field, load_vectors};
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::ln::msgs::DecodeError;
use lightning_core::ln::types::ShortChannelId;
use lightning_core::ln::wire::{self, Message};
use lightning_core::tlv_stream;
use lightning_core::util::ser::{decode_exact, BigSize, Readable, Writeable};
use lightning_core::util::tlv::{Tu32, Tu64};

#[test]
fn bigsize_decoding() {
    let doc = load_vectors("bolt01/bigsize.json");
    let cases = doc["decoding"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let bytes = hex_field(case, "bytes");
        let got = BigSize::read(&mut &bytes[..]);
        match case["exp_error"].as_str() {
            None => {
                assert_eq!(got, Ok(BigSize(case["value"].as_u64().unwrap())), "{name}");
                assert_eq!(BigSize::read(&mut &bytes[..]).unwrap().encode(), bytes, "{name}");
            }
            Some("decoded bigsize is not canonical") => {
                assert_eq!(got, Err(DecodeError::NonCanonicalBigSize), "{name}")
            }
            Some("unexpected EOF") | Some("EOF") => assert_eq!(got, Err(DecodeError::ShortRead), "{name}"),
            Some(other) => panic!("unmapped error {other}"),
        }
    }
}

#[test]
fn bigsize_encoding() {
    let doc = load_vectors("bolt01/bigsize.json");
    let cases = doc["encoding"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let value = case["value"].as_u64().unwrap();
        assert_eq!(BigSize(value).encode(), hex_field(case, "bytes"), "{}", case["name"]);
    }
}

#[test]
fn signed_integers() {
    let doc = load_vectors("bolt01/signed_integers.json");
    let cases = doc["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 23);
    for case in cases {
        let value = case["value"].as_i64().unwrap();
        let bytes = hex_field(case, "bytes");
        let (encoded, decoded) = match case["type"].as_str().unwrap() {
            "s8" => (i8::try_from(value).unwrap().encode(), decode_exact::<i8>(&bytes).map(i64::from)),
            "s16" => (i16::try_from(value).unwrap().encode(), decode_exact::<i16>(&bytes).map(i64::from)),
            "s32" => (i32::try_from(value).unwrap().encode(), decode_exact::<i32>(&bytes).map(i64::from)),
            "s64" => (value.encode(), decode_exact::<i64>(&bytes)),
            t => panic!("unknown type {t}"),
        };
        assert_eq!(encoded, bytes, "encode {value}");
        assert_eq!(decoded, Ok(value), "decode {value}");
    }
}

tlv_stream! {
    /// Test namespace `n1` of BOLT 1 Appendix B.
    pub struct N1 {
        /// tlv1: amount_msat.
        (1, tlv1: Tu64),
        /// tlv2: scid.
        (2, tlv2: ShortChannelId),
        /// tlv3: node_id, amount_msat_1, amount_msat_2.
        (3, tlv3: (PublicKey, u64, u64)),
        /// tlv4: cltv_delta.
        (254, tlv4: u16),
    }
}

tlv_stream! {
    /// Test namespace `n2` of BOLT 1 Appendix B.
    pub struct N2 {
        /// tlv1: amount_msat.
        (0, tlv1: Tu64),
        /// tlv2: cltv_expiry.
        (11, tlv2: Tu32),
    }
}

fn decode_in(ns: &str, stream: &[u8]) -> Result<(), DecodeError> {
    match ns {
        "n1" => N1::decode_stream(stream).map(|_| ()),
        "n2" => N2::decode_stream(stream).map(|_| ()),
        other => panic!("unknown namespace {other}"),
    }
}

/// The error each stated reason must produce.
fn expected_error(reason: &str, stream: &[u8]) -> DecodeError {
    let first_type = || BigSize::read(&mut &stream[..]).unwrap().0;
    if reason.contains("truncated") || reason.contains("missing") {
        DecodeError::ShortRead
    } else if reason.starts_with("not minimally encoded") {
        DecodeError::NonCanonicalBigSize
    } else if reason.starts_with("unknown even") {
        DecodeError::UnknownRequiredTlv(first_type())
    } else if reason.contains("encoding length") {
        DecodeError::BadLengthDescriptor
    } else if reason.contains("is not minimal") {
        DecodeError::NonMinimalInteger
    } else if reason.contains("not a valid point") {
        DecodeError::InvalidValue
    } else {
        panic!("unmapped reason {reason}")
    }
}

#[test]
fn tlv_decoding_failures() {
    let doc = load_vectors("bolt01/tlv.json");
    let cases = doc["decoding_failures"].as_array().unwrap();
    assert_eq!(cases.len(), 33);
    for case in cases {
        let stream = hex_field(case, "stream");
        let reason = case["reason"].as_str().unwrap();
        let want = expected_error(reason, &stream);
        for ns in case["namespaces"].as_array().unwrap() {
            let ns = ns.as_str().unwrap();
            assert_eq!(decode_in(ns, &stream), Err(want), "{} in {ns}: {reason}", case["stream_as_written"]);
        }
    }
}

#[test]
fn tlv_stream_decoding_failures() {
    let doc = load_vectors("bolt01/tlv.json");
    let cases = doc["stream_decoding_failures"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let stream = hex_field(case, "stream");
        let reason = case["reason"].as_str().unwrap();
        for ns in case["namespaces"].as_array().unwrap() {
            let got = decode_in(ns.as_str().unwrap(), &stream);
            let ok = match got {
                Err(DecodeError::DuplicateTlvType(_)) => reason.starts_with("duplicate"),
                Err(DecodeError::TlvTypeOutOfOrder(_)) => reason.contains("invalid ordering"),
                _ => false,
            };
            assert!(ok, "{}: {reason}: got {got:?}", case["stream_as_written"]);
        }
    }
}

#[test]
fn tlv_decoding_successes() {
    let doc = load_vectors("bolt01/tlv.json");
    let cases = doc["decoding_successes"].as_array().unwrap();
    assert_eq!(cases.len(), 19);
    for case in cases {
        let stream = hex_field(case, "stream");
        let namespaces: Vec<&str> =
            case["namespaces"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        let Some(values) = case["values"].as_object() else {
            // "either namespace": unknown odd records only, nothing known decoded.
            for ns in &namespaces {
                match *ns {
                    "n1" => assert!(N1::decode_stream(&stream).unwrap().is_empty()),
                    "n2" => assert!(N2::decode_stream(&stream).unwrap().is_empty()),
                    _ => unreachable!(),
                }
            }
            continue;
        };
        assert_eq!(namespaces, ["n1"]);
        let n1 = N1::decode_stream(&stream).unwrap();
        let mut expected = N1::default();
        if let Some(v) = values.get("tlv1") {
            expected.tlv1 = Some(Tu64(v["amount_msat"].as_u64().unwrap()));
        }
        if let Some(v) = values.get("tlv2") {
            let parts: Vec<u32> =
                v["scid"].as_str().unwrap().split('x').map(|p| p.parse().unwrap()).collect();
            expected.tlv2 = Some(ShortChannelId::new(parts[0], parts[1], parts[2] as u16).unwrap());
        }
        if let Some(v) = values.get("tlv3") {
            let key = PublicKey::from_slice(&hex_field(v, "node_id")).unwrap();
            expected.tlv3 =
                Some((key, v["amount_msat_1"].as_u64().unwrap(), v["amount_msat_2"].as_u64().unwrap()));
        }
        if let Some(v) = values.get("tlv4") {
            expected.tlv4 = Some(v["cltv_delta"].as_u64().unwrap() as u16);
        }
        assert_eq!(n1, expected, "{}", case["stream_as_written"]);
        // Known records re-encode to exactly the stream.
        assert_eq!(n1.encode(), stream);
    }
}

#[test]
fn tlv_stream_appending_rules() {
    // BOLT 1: appending an invalid stream to a valid one fails; appending a
    // higher-numbered valid stream to a lower-numbered one succeeds.
    let doc = load_vectors("bolt01/tlv.json");
    let valid: Vec<Vec<u8>> = doc["decoding_successes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["values"].is_object())
        .map(|c| hex_field(c, "stream"))
        .collect();
    let invalid: Vec<Vec<u8>> = doc["decoding_failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["namespaces"].as_array().unwrap().iter().any(|n| n == "n1"))
        .map(|c| hex_field(c, "stream"))
        .collect();
    for v in &valid {
        for i in &invalid {
            let joined = [v.clone(), i.clone()].concat();
            assert!(N1::decode_stream(&joined).is_err(), "{} + {}", hex::encode(v), hex::encode(i));
        }
    }
    let first = |s: &Vec<u8>| BigSize::read(&mut &s[..]).unwrap().0;
    for a in &valid {
        for b in &valid {
            if first(a) < first(b) {
                let joined = [a.clone(), b.clone()].concat();
                assert!(N1::decode_stream(&joined).is_ok(), "{} + {}", hex::encode(a), hex::encode(b));
            }
        }
    }
}

#[test]
fn init_message_extension() {
    let doc = load_vectors("bolt01/message_extension.json");
    for case in doc["valid"].as_array().unwrap() {
        let bytes = hex_field(case, "message");
        let msg = wire::read_message(&bytes);
        assert!(matches!(msg, Ok(Message::Init(_))), "{}: {msg:?}", case["explanation"]);
    }
    let invalid = doc["invalid"].as_array().unwrap();
    let expected =
        [DecodeError::ShortRead, DecodeError::UnknownRequiredTlv(0xca), DecodeError::DuplicateTlvType(0xc9)];
    assert_eq!(invalid.len(), expected.len());
    for (case, want) in invalid.iter().zip(expected) {
        let bytes = hex_field(case, "message");
        assert_eq!(wire::read_message(&bytes), Err(want), "{}", case["explanation"]);
    }
    // The base message re-encodes byte for byte.
    let base = hex::decode(doc["base_message"].as_str().unwrap()).unwrap();
    let Ok(Message::Init(init)) = wire::read_message(&base) else { panic!("base init") };
    assert_eq!(wire::encode(&init), base);
}
