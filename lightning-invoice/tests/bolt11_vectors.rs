//! Every example of `shared/specs/vectors/bolt11/invoices.json`: the valid ones
//! decode to exactly the expected fields and print back to the same string, the
//! invalid ones fail for their stated reason.

#[path = "../../lightning-core/tests/common/mod.rs"]
mod common;

use bitcoin::hashes::Hash;
use common::load_vectors;
use lightning_invoice::{Bolt11Error, Bolt11Invoice, Bolt11InvoiceDescription, Currency, Fallback};
use serde_json::Value;

fn hex_or_null(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| hex::decode(s).expect("hex"))
}

/// Checks every field `expected` names against `invoice`.
fn check_expected(title: &str, invoice: &Bolt11Invoice, expected: &Value) {
    let currency = match expected["currency_prefix"].as_str().unwrap() {
        "bc" => Currency::Bitcoin,
        "tb" => Currency::BitcoinTestnet,
        "tbs" => Currency::Signet,
        "bcrt" => Currency::Regtest,
        other => panic!("{title}: unmapped currency {other}"),
    };
    assert_eq!(invoice.currency(), currency, "{title}");
    assert_eq!(invoice.network().unwrap().to_string(), expected["network"].as_str().unwrap(), "{title}");
    assert_eq!(invoice.amount_msat(), expected["amount_msat"].as_u64(), "{title}");
    let hrp_amount = expected["hrp_amount"].as_str().unwrap_or("");
    assert_eq!(invoice.raw().hrp(), format!("ln{}{hrp_amount}", currency.prefix()), "{title}");
    assert_eq!(invoice.timestamp_secs(), expected["timestamp"].as_u64().unwrap(), "{title}");
    assert_eq!(invoice.payment_hash().0.to_vec(), hex_or_null(&expected["payment_hash"]).unwrap(), "{title}");
    assert_eq!(
        invoice.payment_secret().0.to_vec(),
        hex_or_null(&expected["payment_secret"]).unwrap(),
        "{title}"
    );
    match invoice.description() {
        Bolt11InvoiceDescription::Direct(text) => {
            assert_eq!(Some(text.as_str()), expected["description"].as_str(), "{title}");
            assert!(expected["description_hash"].is_null(), "{title}");
        }
        Bolt11InvoiceDescription::Hash(hash) => {
            assert_eq!(
                Some(hash.to_byte_array().to_vec()),
                hex_or_null(&expected["description_hash"]),
                "{title}"
            );
            assert!(expected["description"].is_null(), "{title}");
            if let Some(preimage) = expected["description_hash_preimage"].as_str() {
                assert!(invoice.description_matches(preimage), "{title}");
            }
            assert!(!invoice.description_matches("something else"), "{title}");
        }
    }
    assert_eq!(invoice.payee_pub_key().to_string(), expected["payee_pubkey"].as_str().unwrap(), "{title}");
    assert_eq!(
        invoice.payee_pub_key_from_n_field(),
        expected["payee_pubkey_from_n_field"].as_bool().unwrap(),
        "{title}"
    );
    assert_eq!(invoice.raw().expiry_time_secs(), expected["expiry"].as_u64(), "{title}");
    assert_eq!(invoice.expiry_time_secs(), expected["expiry"].as_u64().unwrap_or(3600), "{title}");
    assert_eq!(
        invoice.raw().min_final_cltv_expiry_delta().map(u64::from),
        expected["min_final_cltv_expiry_delta"].as_u64(),
        "{title}"
    );
    assert_eq!(
        u64::from(invoice.min_final_cltv_expiry_delta()),
        expected["min_final_cltv_expiry_delta"].as_u64().unwrap_or(18),
        "{title}"
    );

    let fallbacks = expected["fallbacks"].as_array().unwrap();
    assert_eq!(invoice.fallbacks().len(), fallbacks.len(), "{title}");
    for ((fallback, address), want) in
        invoice.fallbacks().iter().zip(invoice.fallback_addresses().unwrap()).zip(fallbacks)
    {
        assert_eq!(address.to_string(), want["address"].as_str().unwrap(), "{title}");
        assert_eq!(u64::from(fallback.version()), want["version"].as_u64().unwrap(), "{title}");
        let (kind, bytes) = match fallback {
            Fallback::PubKeyHash(h) => ("p2pkh", h.to_byte_array().to_vec()),
            Fallback::ScriptHash(h) => ("p2sh", h.to_byte_array().to_vec()),
            Fallback::SegWit(p) if p.is_p2wpkh() => ("p2wpkh", p.program().as_bytes().to_vec()),
            Fallback::SegWit(p) if p.is_p2wsh() => ("p2wsh", p.program().as_bytes().to_vec()),
            Fallback::SegWit(p) if p.is_p2tr() => ("p2tr", p.program().as_bytes().to_vec()),
            Fallback::SegWit(p) => ("segwit", p.program().as_bytes().to_vec()),
        };
        assert_eq!(kind, want["type"].as_str().unwrap(), "{title}");
        let want_bytes = hex_or_null(&want["hash"]).or_else(|| hex_or_null(&want["program"])).unwrap();
        assert_eq!(bytes, want_bytes, "{title}");
    }

    let hints = expected["route_hints"].as_array().unwrap();
    assert_eq!(invoice.route_hints().len(), hints.len(), "{title}");
    for (hint, want) in invoice.route_hints().iter().zip(hints) {
        let want = want.as_array().unwrap();
        assert_eq!(hint.hops().len(), want.len(), "{title}");
        for (hop, w) in hint.hops().iter().zip(want) {
            assert_eq!(hop.src_node_id.to_string(), w["pubkey"].as_str().unwrap(), "{title}");
            assert_eq!(hop.short_channel_id.to_string(), w["short_channel_id"].as_str().unwrap(), "{title}");
            assert_eq!(hop.short_channel_id.0, w["short_channel_id_u64"].as_u64().unwrap(), "{title}");
            assert_eq!(u64::from(hop.fee_base_msat), w["fee_base_msat"].as_u64().unwrap(), "{title}");
            assert_eq!(
                u64::from(hop.fee_proportional_millionths),
                w["fee_proportional_millionths"].as_u64().unwrap(),
                "{title}"
            );
            assert_eq!(u64::from(hop.cltv_expiry_delta), w["cltv_expiry_delta"].as_u64().unwrap(), "{title}");
        }
    }

    let bits: Vec<u64> =
        expected["features"]["bits"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
    let got: Vec<u64> =
        invoice.features().map(|f| f.set_bits().map(|b| b as u64).collect()).unwrap_or_default();
    assert_eq!(got, bits, "{title}");
    assert_eq!(invoice.payment_metadata().map(<[u8]>::to_vec), hex_or_null(&expected["metadata"]), "{title}");
    let ignored = expected["ignored_fields"].as_array().unwrap().len();
    assert_eq!(invoice.raw().skipped_field_count(), ignored, "{title}");

    let (recovery_id, rs) = invoice.signature().serialize_compact();
    assert_eq!(rs.to_vec(), hex_or_null(&expected["signature"]).unwrap(), "{title}");
    assert_eq!(i64::from(recovery_id.to_i32()), expected["recovery_flag"].as_i64().unwrap(), "{title}");
    assert_eq!(
        invoice.raw().signing_hash().to_vec(),
        hex_or_null(&expected["signing_hash"]).unwrap(),
        "{title}"
    );
}

#[test]
fn valid_examples_decode_and_reencode() {
    let doc = load_vectors("bolt11/invoices.json");
    let cases = doc["valid"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    let mut checked = 0;
    for case in cases {
        let title = case["title"].as_str().unwrap();
        let string = case["invoice"].as_str().unwrap();
        if case.get("spec_conflict").is_some() {
            // Listed as valid by an older example, but carries p/h/s/n fields of
            // the wrong length, which the current reader rules say MUST fail. The
            // first such field is a `p` of data_length 51.
            assert_eq!(
                string.parse::<Bolt11Invoice>(),
                Err(Bolt11Error::WrongFieldLength { tag: 'p', data_length: 51, expected: 52 }),
                "{title}"
            );
            continue;
        }
        let invoice: Bolt11Invoice = string.parse().unwrap_or_else(|e| panic!("{title}: {e}"));
        check_expected(title, &invoice, &case["expected"]);
        assert_eq!(invoice.to_string(), string.to_lowercase(), "{title}");
        assert_eq!(invoice.to_string().parse::<Bolt11Invoice>().as_ref(), Ok(&invoice), "{title}");
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn high_s_example_recovers_the_key_of_the_signature_as_given() {
    let doc = load_vectors("bolt11/invoices.json");
    let case = doc["valid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["expected"]["signature_is_high_s"] == true)
        .unwrap();
    let invoice: Bolt11Invoice = case["invoice"].as_str().unwrap().parse().unwrap();
    // Plain libsecp256k1 recovery (no S normalisation), as Eclair asserts.
    assert_eq!(
        invoice.payee_pub_key().to_string(),
        "02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d"
    );
}

#[test]
fn invalid_examples_fail_for_their_reason() {
    let doc = load_vectors("bolt11/invoices.json");
    let cases = doc["invalid"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let title = case["title"].as_str().unwrap();
        let want = match case["reason_code"].as_str().unwrap() {
            "unknown_required_feature" => Bolt11Error::UnknownRequiredFeature(100),
            "bad_checksum" => Bolt11Error::BadChecksum,
            "no_separator" => Bolt11Error::NoSeparator,
            "mixed_case" => Bolt11Error::MixedCase,
            "unrecoverable_signature" => Bolt11Error::UnrecoverableSignature,
            "too_short" => Bolt11Error::TooShort,
            "invalid_multiplier" => Bolt11Error::InvalidMultiplier('x'),
            "sub_msat_precision" => Bolt11Error::SubMillisatoshiAmount,
            "missing_payment_secret" => Bolt11Error::MissingPaymentSecret,
            "high_s_with_n" => Bolt11Error::HighSWithPayeeKey,
            other => panic!("unmapped reason {other}"),
        };
        assert_eq!(case["invoice"].as_str().unwrap().parse::<Bolt11Invoice>(), Err(want), "{title}");
    }
}
