//! Invoices from other implementations' test suites and from the real world
//! (`shared/data/bolt11_other_impls.json` and `shared/data/bolt11_real.json`;
//! see `shared/data/README.md`): each decodes to what the data says, prints
//! back to the same string, and each one its source rejects is rejected for
//! the source's reason.

use bitcoin::hashes::Hash;
use lightning_invoice::{Bolt11Error, Bolt11Invoice, SignedRawBolt11Invoice};
use serde_json::Value;
use std::path::PathBuf;

/// Loads a file of `shared/data/`, found beside the checkout.
fn load_data(name: &str) -> Value {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = manifest
        .ancestors()
        .map(|dir| dir.join("shared/data").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found in a shared/data/ above {}", manifest.display()));
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Collects mismatches so one run shows them all.
#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    fn finish(self, total: usize) {
        assert!(
            self.0.is_empty(),
            "{} mismatches over {total} invoices:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// The fields both data files give for a decodable invoice, under their names.
fn check_common(m: &mut Mismatches, id: &str, raw: &SignedRawBolt11Invoice, e: &Value, currency_key: &str) {
    if let Some(c) = e.get(currency_key).and_then(Value::as_str) {
        m.check(&format!("{id} currency"), raw.currency().prefix(), c);
    }
    if let Some(v) = e.get("amount_msat") {
        m.check(&format!("{id} amount_msat"), raw.amount_msat(), v.as_u64());
    }
    if let Some(v) = e.get("timestamp").and_then(Value::as_u64) {
        m.check(&format!("{id} timestamp"), raw.timestamp_secs(), v);
    }
    if let Some(v) = e.get("payment_hash").and_then(Value::as_str) {
        m.check(&format!("{id} payment_hash"), raw.payment_hash().map(|h| h.to_string()), Some(v.to_owned()));
    }
    if let Some(v) = e.get("payee").and_then(Value::as_str) {
        m.check(&format!("{id} payee"), raw.payee_pub_key().to_string(), v.to_owned());
    }
    if let Some(v) = e.get("payment_secret") {
        m.check(
            &format!("{id} payment_secret"),
            raw.payment_secret().map(|s| s.to_string()),
            v.as_str().map(str::to_owned),
        );
    }
    if let Some(v) = e.get("description") {
        m.check(&format!("{id} description"), raw.description(), v.as_str());
    }
    if let Some(v) = e.get("description_hash") {
        let got = raw.description_hash().map(|h| hex(h.as_byte_array()));
        m.check(&format!("{id} description_hash"), got, v.as_str().map(str::to_owned));
    }
    if let Some(v) = e.get("expiry").and_then(Value::as_u64) {
        m.check(&format!("{id} expiry"), raw.expiry_time_secs().unwrap_or(3600), v);
    }
    if let Some(v) = e.get("min_final_cltv_expiry").and_then(Value::as_u64) {
        m.check(
            &format!("{id} min_final_cltv_expiry"),
            raw.min_final_cltv_expiry_delta().map_or(18, u64::from),
            v,
        );
    }
}

/// Strict parsing agrees with the raw parse: it succeeds with the same invoice,
/// or fails only because the invoice has no payment secret (pre-2020
/// invoices: readable, but BOLT 11 forbids paying them).
fn check_strict(m: &mut Mismatches, id: &str, s: &str, raw: &SignedRawBolt11Invoice) {
    let strict = s.parse::<Bolt11Invoice>();
    match raw.payment_secret() {
        Some(_) => {
            m.check(&format!("{id} strict parse"), strict.map(Bolt11Invoice::into_raw).as_ref(), Ok(raw))
        }
        None => m.check(&format!("{id} strict parse"), strict.err(), Some(Bolt11Error::MissingPaymentSecret)),
    }
    m.check(&format!("{id} re-encoding"), raw.to_string(), s.to_lowercase());
}

/// The error each source-rejected invoice must fail with: the source's stated
/// reason, except where the string is broken at an earlier layer than the one
/// the source's reason names (then the earlier problem is what we report, and
/// the comment says why).
fn expected_rejection(invoice: &str, reason: &str) -> Bolt11Error {
    let earlier = [
        // lnd "too short": 'b' is not a bech32 character, found first.
        ("lnbc1abcde", Bolt11Error::InvalidChar('b')),
        // lnd "hrp too short": its checksum does not match either.
        ("ln1asdsaddnv4wudz", Bolt11Error::BadChecksum),
        // lnd "invalid amount": nothing follows the last '1', so there is no
        // data part at all.
        ("lnbc1000000000m1", Bolt11Error::TooShort),
        // eclair "Missing payment secret": its recovery id is 4, so the
        // signature fails before the fields are checked as a whole.
        ("lnbc1qqygh9qpp5s7zxqqqqqqqqqqqqpjqqqq", Bolt11Error::InvalidRecoveryId(4)),
        // eclair "Invalid signature public key recovery id": its `n` field is
        // not a valid point, found while reading the fields.
        ("lnbc1qqqqpqqnp4qqqlftcw9", Bolt11Error::InvalidPubKey('n')),
        // bitcoinjs "Not a proper lightning payment request": bad checksum.
        ("m1jg3xv8", Bolt11Error::BadChecksum),
        // bitcoinjs "signature pubkey does not match payee pubkey": the altered
        // `n` key is not a valid point.
        ("lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaqnp4q0n326hr8v9zprg8gsvezcch06gfaqqhde2aj730yg0durllllll", Bolt11Error::InvalidPubKey('n')),
    ];
    if let Some((_, e)) = earlier.iter().find(|(prefix, _)| invoice.starts_with(prefix)) {
        return e.clone();
    }
    match reason {
        "no hrp" => Bolt11Error::NoSeparator,
        "empty hrp" => Bolt11Error::InvalidHrp,
        "Signature is missing or incorrect" => Bolt11Error::TooShort,
        "Not a proper lightning payment request" | "invalid segwit prefix" | "Unknown coin bech32 prefix" => {
            Bolt11Error::UnknownCurrency(String::new())
        }
        "no \"ln\" prefix" => Bolt11Error::NotLightning,
        "invalid amount" => Bolt11Error::InvalidAmount,
        "empty fallback address field" | "Invalid fallback address." | "eclair: invalid fallback address" => {
            Bolt11Error::InvalidFallback
        }
        "invalid routing info length: not a multiple of 51"
        | "Empty routing hint field."
        | "eclair: empty routing hint field"
        | "lnd: valid=false" => Bolt11Error::InvalidRouteHintLength,
        "no payment hash set" => Bolt11Error::MissingPaymentHash,
        "Both Description and DescriptionHash set." => Bolt11Error::BothDescriptionAndHash,
        "Neither Description nor DescriptionHash set." => Bolt11Error::MissingDescription,
        "eclair: missing payment secret"
        | "An invoice that sets the payment secret feature bit must provide a payment secret." => {
            Bolt11Error::MissingPaymentSecret
        }
        "Invalid min_final_expiry_delta_blocks." | "eclair: invalid min_final_expiry_delta_blocks" => {
            Bolt11Error::IntegerOverflow('c')
        }
        "CLN: r: hop 0 pubkey invalid" => Bolt11Error::InvalidPubKey('r'),
        other => panic!("unmapped reason {other:?}"),
    }
}

/// Compares the error kind (variant), and the payload where the reason pins it.
fn same_reason(got: &Bolt11Error, want: &Bolt11Error) -> bool {
    match (got, want) {
        (Bolt11Error::UnknownCurrency(_), Bolt11Error::UnknownCurrency(_)) => true,
        _ => got == want,
    }
}

#[test]
fn other_implementations_invoices() {
    let doc = load_data("bolt11_other_impls.json");
    let invoices = doc["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), doc["count"].as_u64().unwrap() as usize);
    let mut m = Mismatches::default();
    let (mut valid, mut invalid, mut without_secret) = (0, 0, 0);
    for (i, case) in invoices.iter().enumerate() {
        let s = case["invoice"].as_str().unwrap();
        let id = format!("#{i} {}:{}", case["source"]["repo"].as_str().unwrap(), case["source"]["line"]);
        if case["note"].as_str() == Some("Ignore fields with unknown lengths.") {
            // lnd's test (written before bolts PR #1243) has p, h and n fields of
            // data_length 49 beside the real ones and expects them skipped. The
            // current reader rule is that a p/h/s/n field of the wrong length
            // MUST fail the invoice, so we do (the same decision as for the spec
            // example "including fields which must be ignored").
            valid += 1;
            let want = Bolt11Error::WrongFieldLength { tag: 'p', data_length: 49, expected: 52 };
            m.check(
                &format!("{id} wrong-length fields"),
                s.parse::<SignedRawBolt11Invoice>().err(),
                Some(want),
            );
            continue;
        }
        if case["valid"].as_bool().unwrap() {
            valid += 1;
            match s.parse::<SignedRawBolt11Invoice>() {
                Ok(raw) => {
                    check_common(&mut m, &id, &raw, case, "network");
                    check_strict(&mut m, &id, s, &raw);
                    without_secret += usize::from(raw.payment_secret().is_none());
                }
                Err(e) => m.0.push(format!("{id}: valid invoice rejected: {e:?}")),
            }
        } else {
            invalid += 1;
            let reason = case["reason"].as_str().unwrap();
            let want = expected_rejection(s, reason);
            match s.parse::<Bolt11Invoice>() {
                Err(got) if same_reason(&got, &want) => {}
                other => m.0.push(format!("{id} ({reason}): got {other:?}, want {want:?}")),
            }
        }
    }
    m.finish(invoices.len());
    assert_eq!((valid, invalid), (124, 25));
    // 76 valid invoices have no payment secret; one of them is the lnd one
    // above, rejected for its wrong-length fields.
    assert_eq!(without_secret, 75);
}

/// BOLT 9 names of the features eclair lists as activated.
fn feature_bit(name: &str) -> usize {
    match name {
        "var_onion_optin" => 8,
        "payment_secret" => 14,
        "basic_mpp" => 16,
        other => panic!("unmapped feature {other}"),
    }
}

/// Checks the values the source test itself asserts.
fn check_source_expected(m: &mut Mismatches, id: &str, raw: &SignedRawBolt11Invoice, se: &Value) {
    for key in ["payee", "destination", "nodeId"] {
        if let Some(v) = se.get(key).and_then(Value::as_str) {
            m.check(&format!("{id} source {key}"), raw.payee_pub_key().to_string(), v.to_owned());
        }
    }
    for key in ["payment_hash", "paymentHash"] {
        if let Some(v) = se.get(key).and_then(Value::as_str) {
            m.check(
                &format!("{id} source {key}"),
                raw.payment_hash().map(|h| h.to_string()),
                Some(v.to_owned()),
            );
        }
    }
    for key in ["amount_msat", "amount"] {
        if let Some(v) = se.get(key).and_then(Value::as_u64) {
            m.check(&format!("{id} source {key}"), raw.amount_msat(), Some(v));
        }
    }
    if let Some(v) = se.get("description").and_then(Value::as_str) {
        m.check(&format!("{id} source description"), raw.description(), Some(v));
    }
    if let Some(v) = se.get("expiry").and_then(Value::as_u64) {
        m.check(&format!("{id} source expiry"), raw.expiry_time_secs().unwrap_or(3600), v);
    }
    if let Some(v) = se.get("timestamp").and_then(Value::as_u64) {
        m.check(&format!("{id} source timestamp"), raw.timestamp_secs(), v);
    }
    if let Some(v) = se.get("min_final_cltv_expiry").and_then(Value::as_u64) {
        m.check(
            &format!("{id} source min_final_cltv"),
            raw.min_final_cltv_expiry_delta().map_or(18, u64::from),
            v,
        );
    }
    if let Some(v) = se.get("payment_secret").and_then(Value::as_str) {
        m.check(
            &format!("{id} source payment_secret"),
            raw.payment_secret().map(|s| s.to_string()),
            Some(v.to_owned()),
        );
    }
    if let Some(v) = se.get("currency").and_then(Value::as_str) {
        m.check(&format!("{id} source currency"), raw.currency().prefix(), v);
    }
    if let Some(v) = se.get("prefix").and_then(Value::as_str) {
        m.check(&format!("{id} source prefix"), format!("ln{}", raw.currency().prefix()), v.to_owned());
    }
    if let Some(v) = se.get("serialized").and_then(Value::as_str) {
        m.check(&format!("{id} source serialized"), raw.to_string(), v.to_owned());
    }
    if let Some(v) = se.get("expires_at").and_then(Value::as_u64) {
        let got = raw.timestamp_secs() + raw.expiry_time_secs().unwrap_or(3600);
        m.check(&format!("{id} source expires_at"), got, v);
    }
    match se.get("features") {
        // CLN: the big-endian feature bytes in hex.
        Some(Value::String(v)) => {
            let got = raw.features().map(|f| hex(&f.to_be_bytes())).unwrap_or_default();
            m.check(&format!("{id} source features"), got, v.clone());
        }
        // eclair: the activated features by name.
        Some(Value::Object(v)) => {
            for (name, support) in v["activated"].as_object().unwrap() {
                let bit = feature_bit(name) + usize::from(support == "optional");
                let set = raw.features().is_some_and(|f| f.is_set(bit));
                m.check(&format!("{id} source feature {name}"), set, true);
            }
        }
        _ => {}
    }
    for key in ["routes", "routingInfo"] {
        let Some(routes) = se.get(key).and_then(Value::as_array) else { continue };
        m.check(&format!("{id} source {key} count"), raw.route_hints().len(), routes.len());
        for (hint, want) in raw.route_hints().iter().zip(routes) {
            let want = want.as_array().unwrap();
            m.check(&format!("{id} source {key} hops"), hint.hops().len(), want.len());
            for (hop, w) in hint.hops().iter().zip(want) {
                let node = w.get("pubkey").or_else(|| w.get("nodeId")).and_then(Value::as_str).unwrap();
                let scid =
                    w.get("short_channel_id").or_else(|| w.get("shortChannelId")).and_then(Value::as_str);
                let base = w.get("fee_base_msat").or_else(|| w.get("feeBase")).and_then(Value::as_u64);
                let ppm = w["fee_proportional_millionths"]
                    .as_u64()
                    .or_else(|| w["feeProportionalMillionths"].as_u64());
                let cltv = w["cltv_expiry_delta"].as_u64().or_else(|| w["cltvExpiryDelta"].as_u64());
                m.check(&format!("{id} source hop node"), hop.src_node_id.to_string(), node.to_owned());
                m.check(
                    &format!("{id} source hop scid"),
                    Some(hop.short_channel_id.to_string()),
                    scid.map(str::to_owned),
                );
                m.check(&format!("{id} source hop fee base"), Some(u64::from(hop.fee_base_msat)), base);
                m.check(
                    &format!("{id} source hop ppm"),
                    Some(u64::from(hop.fee_proportional_millionths)),
                    ppm,
                );
                m.check(&format!("{id} source hop cltv"), Some(u64::from(hop.cltv_expiry_delta)), cltv);
            }
        }
    }
}

#[test]
fn real_world_invoices() {
    let doc = load_data("bolt11_real.json");
    let invoices = doc["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), doc["count"].as_u64().unwrap() as usize);
    let mut m = Mismatches::default();
    let (mut decoded, mut rejected, mut genuine) = (0, 0, 0);
    for (i, case) in invoices.iter().enumerate() {
        let s = case["invoice"].as_str().unwrap();
        let id = format!("#{i} {}:{}", case["source"]["repo"].as_str().unwrap(), case["source"]["line"]);
        if let Some(reason) = case.get("source_says_invalid").and_then(Value::as_str) {
            rejected += 1;
            let want = expected_rejection(s, reason);
            match s.parse::<Bolt11Invoice>() {
                Err(got) if same_reason(&got, &want) => {}
                other => m.0.push(format!("{id} ({reason}): got {other:?}, want {want:?}")),
            }
            continue;
        }
        let raw = match s.parse::<SignedRawBolt11Invoice>() {
            Ok(raw) => raw,
            Err(e) => {
                m.0.push(format!("{id}: rejected: {e:?}"));
                continue;
            }
        };
        decoded += 1;
        genuine += usize::from(case.get("genuine_real_world").is_some());
        let e = &case["expected"];
        check_common(&mut m, &id, &raw, e, "currency");
        let bits: Vec<u64> =
            e["feature_bits"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
        let got: Vec<u64> =
            raw.features().map(|f| f.set_bits().map(|b| b as u64).collect()).unwrap_or_default();
        m.check(&format!("{id} feature bits"), got, bits);
        let first_fallback =
            raw.fallbacks().first().and_then(|f| Some(f.to_address(raw.currency().network()?).to_string()));
        m.check(&format!("{id} fallback"), first_fallback, e["fallback"].as_str().map(str::to_owned));
        m.check(
            &format!("{id} metadata"),
            raw.payment_metadata().map(hex),
            e["metadata"].as_str().map(str::to_owned),
        );
        let hints = e["route_hints"].as_array().unwrap();
        m.check(&format!("{id} route hint count"), raw.route_hints().len(), hints.len());
        for (hint, want) in raw.route_hints().iter().zip(hints) {
            let want = want.as_array().unwrap();
            m.check(&format!("{id} hops"), hint.hops().len(), want.len());
            for (hop, w) in hint.hops().iter().zip(want) {
                m.check(
                    &format!("{id} hop node"),
                    hop.src_node_id.to_string(),
                    w["pubkey"].as_str().unwrap().to_owned(),
                );
                m.check(
                    &format!("{id} hop scid"),
                    hop.short_channel_id.to_string(),
                    w["short_channel_id"].as_str().unwrap().to_owned(),
                );
                m.check(
                    &format!("{id} hop fee base"),
                    u64::from(hop.fee_base_msat),
                    w["fee_base_msat"].as_u64().unwrap(),
                );
                m.check(
                    &format!("{id} hop ppm"),
                    u64::from(hop.fee_proportional_millionths),
                    w["fee_proportional_millionths"].as_u64().unwrap(),
                );
                m.check(
                    &format!("{id} hop cltv"),
                    u64::from(hop.cltv_expiry_delta),
                    w["cltv_expiry_delta"].as_u64().unwrap(),
                );
            }
        }
        if let Some(se) = case.get("source_expected") {
            check_source_expected(&mut m, &id, &raw, se);
        }
        check_strict(&mut m, &id, s, &raw);
    }
    m.finish(invoices.len());
    assert_eq!((decoded, rejected, genuine), (162, 6, 61));
}
