//! The builder: it reproduces the spec examples byte for byte from their
//! fields and the spec's key, signs through `NodeSigner`, and refuses what
//! readers would refuse.

#[path = "../../lightning-core/tests/common/mod.rs"]
mod common;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Address, Network};
use common::load_vectors;
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentSecret, ShortChannelId};
use lightning_core::sign::{KeysManager, NodeSigner, Recipient, SignError};
use lightning_invoice::{
    Bolt11Error, Bolt11Invoice, CompleteInvoiceBuilder, Currency, Fallback, InvoiceBuilder, RouteHint,
    RouteHintHop, MAX_FIELD_BYTES, MAX_TIMESTAMP_SECS,
};
use serde_json::Value;

const SPEC_KEY: &str = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";

fn spec_key() -> SecretKey {
    SecretKey::from_slice(&hex::decode(SPEC_KEY).unwrap()).unwrap()
}

fn arr32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

/// The tags of an invoice string's fields, in order (read straight from the
/// bech32 characters).
fn tag_order(invoice: &str) -> String {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let s = invoice.to_lowercase();
    let data = &s[s.rfind('1').unwrap() + 1..s.len() - 6 - 104];
    let data: Vec<u8> = data.chars().map(|c| CHARSET.find(c).unwrap() as u8).collect();
    let (mut i, mut tags) = (7, String::new());
    while i < data.len() {
        tags.push(CHARSET.as_bytes()[data[i] as usize] as char);
        i += 3 + ((data[i + 1] as usize) << 5 | data[i + 2] as usize);
    }
    tags
}

/// A builder with the fields of a spec example's `expected`.
fn builder_for(e: &Value) -> CompleteInvoiceBuilder {
    let currency = match e["currency_prefix"].as_str().unwrap() {
        "bc" => Currency::Bitcoin,
        "tb" => Currency::BitcoinTestnet,
        other => panic!("{other}"),
    };
    let b = InvoiceBuilder::new(currency);
    let b = match e["description"].as_str() {
        Some(text) => b.description(text.to_owned()),
        None => b.description_hash(sha256::Hash::from_byte_array(arr32(&e["description_hash"]))),
    };
    let mut b = b
        .payment_hash(PaymentHash(arr32(&e["payment_hash"])))
        .payment_secret(PaymentSecret(arr32(&e["payment_secret"])))
        .timestamp_secs(e["timestamp"].as_u64().unwrap());
    if let Some(a) = e["amount_msat"].as_u64() {
        b = b.amount_msat(a);
    }
    if let Some(x) = e["expiry"].as_u64() {
        b = b.expiry_time_secs(x);
    }
    if let Some(c) = e["min_final_cltv_expiry_delta"].as_u64() {
        b = b.min_final_cltv_expiry_delta(c as u32);
    }
    for f in e["fallbacks"].as_array().unwrap() {
        let address: Address = f["address"].as_str().unwrap().parse::<Address<_>>().unwrap().assume_checked();
        b = b.fallback(Fallback::from_address(&address).unwrap());
    }
    for hint in e["route_hints"].as_array().unwrap() {
        let hops = hint
            .as_array()
            .unwrap()
            .iter()
            .map(|h| RouteHintHop {
                src_node_id: h["pubkey"].as_str().unwrap().parse().unwrap(),
                short_channel_id: ShortChannelId(h["short_channel_id_u64"].as_u64().unwrap()),
                fee_base_msat: h["fee_base_msat"].as_u64().unwrap() as u32,
                fee_proportional_millionths: h["fee_proportional_millionths"].as_u64().unwrap() as u32,
                cltv_expiry_delta: h["cltv_expiry_delta"].as_u64().unwrap() as u16,
            })
            .collect();
        b = b.route_hint(RouteHint::new(hops).unwrap());
    }
    if let Some(m) = e["metadata"].as_str() {
        b = b.payment_metadata(hex::decode(m).unwrap());
    }
    let mut features = Bolt11InvoiceFeatures::empty();
    for bit in e["features"]["bits"].as_array().unwrap() {
        features.set_bit(bit.as_u64().unwrap() as usize);
    }
    b.features(&features)
}

#[test]
fn builder_reproduces_spec_examples() {
    let doc = load_vectors("bolt11/invoices.json");
    let secp = Secp256k1::new();
    let key = spec_key();
    let (mut exact, mut rebuilt) = (0, 0);
    for case in doc["valid"].as_array().unwrap() {
        let e = &case["expected"];
        if case.get("spec_conflict").is_some() || e["signature_is_high_s"] == true {
            continue;
        }
        let title = case["title"].as_str().unwrap();
        let spec_string = case["invoice"].as_str().unwrap();
        let spec: Bolt11Invoice = spec_string.parse().unwrap();
        let built = builder_for(e).build_signed(|m| secp.sign_ecdsa_recoverable(m, &key)).unwrap();
        if tag_order(spec_string) == tag_order(&built.to_string())
            && spec_string == spec_string.to_lowercase()
        {
            // Same fields in the same order: RFC 6979 signing gives the very
            // same string.
            assert_eq!(built.to_string(), spec_string, "{title}");
            assert_eq!(built, spec, "{title}");
            exact += 1;
        } else {
            // Other field orders: the same invoice, field by field.
            assert_eq!(built.amount_msat(), spec.amount_msat(), "{title}");
            assert_eq!(built.payment_hash(), spec.payment_hash(), "{title}");
            assert_eq!(built.payment_secret(), spec.payment_secret(), "{title}");
            assert_eq!(built.description(), spec.description(), "{title}");
            assert_eq!(built.payee_pub_key(), spec.payee_pub_key(), "{title}");
            assert_eq!(built.fallbacks(), spec.fallbacks(), "{title}");
            assert_eq!(built.route_hints(), spec.route_hints(), "{title}");
            assert_eq!(built.features(), spec.features(), "{title}");
            assert_eq!(built.payment_metadata(), spec.payment_metadata(), "{title}");
            assert_eq!(built.expiry_time_secs(), spec.expiry_time_secs(), "{title}");
            assert_eq!(built.min_final_cltv_expiry_delta(), spec.min_final_cltv_expiry_delta(), "{title}");
        }
        rebuilt += 1;
    }
    assert_eq!((exact, rebuilt), (6, 14));
}

fn complete() -> CompleteInvoiceBuilder {
    InvoiceBuilder::new(Currency::Bitcoin)
        .description("test".into())
        .payment_hash(PaymentHash([7; 32]))
        .payment_secret(PaymentSecret([8; 32]))
        .timestamp_secs(1_700_000_000)
}

#[test]
fn signs_through_node_signer() {
    let keys = KeysManager::new(&[9; 32], 1, 2);
    let node_id = keys.get_node_id(Recipient::Node).unwrap();
    let invoice = complete().amount_msat(1).build_signed_by(&keys, Recipient::Node).unwrap();
    assert_eq!(invoice.payee_pub_key(), &node_id);
    assert!(!invoice.payee_pub_key_from_n_field());
    assert!(invoice.to_string().starts_with("lnbc10p1"));
    assert_eq!(invoice.to_string().parse::<Bolt11Invoice>().unwrap(), invoice);

    // With an `n` field, verified against it.
    let with_n = complete().payee_pub_key(node_id).build_signed_by(&keys, Recipient::Node).unwrap();
    assert!(with_n.payee_pub_key_from_n_field());
    assert_eq!(with_n.payee_pub_key(), &node_id);

    // The signer's refusal is passed on.
    assert_eq!(
        complete().build_signed_by(&keys, Recipient::PhantomNode),
        Err(Bolt11Error::Signing(SignError::UnknownRecipient(Recipient::PhantomNode)))
    );
}

#[test]
fn refuses_what_readers_would_refuse() {
    let secp = Secp256k1::new();
    let key = spec_key();
    let sign = |m: &bitcoin::secp256k1::Message| secp.sign_ecdsa_recoverable(m, &key);

    // An `n` field that is not the signing key.
    let other = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[3; 32]).unwrap());
    assert_eq!(complete().payee_pub_key(other).build_signed(sign), Err(Bolt11Error::BadSignature));

    assert_eq!(complete().amount_msat(0).build_signed(sign), Err(Bolt11Error::InvalidAmount));
    assert_eq!(
        InvoiceBuilder::new(Currency::Bitcoin)
            .description("x".repeat(MAX_FIELD_BYTES + 1))
            .payment_hash(PaymentHash([7; 32]))
            .payment_secret(PaymentSecret([8; 32]))
            .timestamp_secs(0)
            .build_signed(sign),
        Err(Bolt11Error::DescriptionTooLong)
    );
    let longest = InvoiceBuilder::new(Currency::Bitcoin)
        .description("x".repeat(MAX_FIELD_BYTES))
        .payment_hash(PaymentHash([7; 32]))
        .payment_secret(PaymentSecret([8; 32]))
        .timestamp_secs(MAX_TIMESTAMP_SECS)
        .payment_metadata(vec![1; MAX_FIELD_BYTES])
        .build_signed(sign)
        .unwrap();
    assert_eq!(longest.timestamp_secs(), MAX_TIMESTAMP_SECS);
    assert_eq!(longest.to_string().parse::<Bolt11Invoice>().unwrap(), longest);
    assert_eq!(
        complete().payment_metadata(vec![1; MAX_FIELD_BYTES + 1]).build_signed(sign),
        Err(Bolt11Error::MetadataTooLong)
    );
    let late = InvoiceBuilder::new(Currency::Bitcoin)
        .description_hash(sha256::Hash::hash(b"x"))
        .payment_hash(PaymentHash([7; 32]))
        .payment_secret(PaymentSecret([8; 32]))
        .timestamp_secs(MAX_TIMESTAMP_SECS + 1);
    assert_eq!(late.build_signed(sign), Err(Bolt11Error::TimestampOutOfRange));

    let mut unknown_even = Bolt11InvoiceFeatures::empty();
    unknown_even.set_bit(100);
    assert_eq!(
        complete().features(&unknown_even).build_signed(sign),
        Err(Bolt11Error::UnknownRequiredFeature(100))
    );
    let hop = RouteHintHop {
        src_node_id: other,
        short_channel_id: ShortChannelId(1),
        fee_base_msat: 0,
        fee_proportional_millionths: 0,
        cltv_expiry_delta: 0,
    };
    assert_eq!(RouteHint::new(vec![]), Err(Bolt11Error::EmptyRouteHint));
    assert_eq!(RouteHint::new(vec![hop; RouteHint::MAX_HOPS + 1]), Err(Bolt11Error::RouteHintTooLong));
    let twelve =
        complete().route_hint(RouteHint::new(vec![hop; RouteHint::MAX_HOPS]).unwrap()).build_signed(sign);
    assert_eq!(twelve.unwrap().route_hints()[0].hops().len(), 12);
}

#[test]
fn fallbacks_convert_to_and_from_addresses() {
    let cases = [
        ("1RustyRX2oai4EYYDpQGWvEL62BBGqN9T", Network::Bitcoin, 17),
        ("3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX", Network::Bitcoin, 18),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", Network::Bitcoin, 0),
        ("bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm", Network::Bitcoin, 1),
        ("mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP", Network::Testnet, 17),
    ];
    for (text, network, version) in cases {
        let address = text.parse::<Address<_>>().unwrap().require_network(network).unwrap();
        let fallback = Fallback::from_address(&address).unwrap();
        assert_eq!(fallback.version(), version, "{text}");
        assert_eq!(fallback.to_address(network).to_string(), text);
    }
}

#[test]
fn simnet_fallbacks_are_not_shown_as_regtest_addresses() {
    let keys = KeysManager::new(&[9; 32], 1, 2);
    let address = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        .parse::<Address<_>>()
        .unwrap()
        .require_network(Network::Regtest)
        .unwrap();
    let fallback = Fallback::from_address(&address).unwrap();
    let build = |currency| {
        InvoiceBuilder::new(currency)
            .description("test".into())
            .payment_hash(PaymentHash([7; 32]))
            .payment_secret(PaymentSecret([8; 32]))
            .timestamp_secs(1_700_000_000)
            .fallback(fallback.clone())
            .build_signed_by(&keys, Recipient::Node)
            .unwrap()
    };
    let simnet: Bolt11Invoice = build(Currency::Simnet).to_string().parse().unwrap();
    assert!(simnet.to_string().starts_with("lnsb1"));
    assert_eq!(simnet.network(), None);
    assert_eq!(simnet.fallback_addresses(), None);
    assert_eq!(simnet.fallbacks(), std::slice::from_ref(&fallback));
    // The same fallback on regtest is the regtest address.
    let regtest = build(Currency::Regtest);
    assert_eq!(regtest.network(), Some(Network::Regtest));
    assert_eq!(regtest.fallback_addresses(), Some(vec![address]));
}
