//! Property tests: random valid invoices, built and signed, print to a string
//! that parses back to the same invoice with the same fields; and no data part,
//! however malformed, makes the parser panic or print something else.

use bitcoin::bech32::primitives::encode::Encoder;
use bitcoin::bech32::{Fe32, Hrp};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion};
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentSecret, ShortChannelId};
use lightning_invoice::{
    Bolt11Bech32, Bolt11Invoice, Bolt11InvoiceDescription, Currency, Fallback, InvoiceBuilder, RouteHint,
    RouteHintHop, SignedRawBolt11Invoice,
};
use proptest::prelude::*;

fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid secret key", |b| SecretKey::from_slice(&b).ok())
}

fn public_key() -> impl Strategy<Value = PublicKey> {
    secret_key().prop_map(|k| PublicKey::from_secret_key(&Secp256k1::signing_only(), &k))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

fn fallback() -> impl Strategy<Value = Fallback> {
    prop_oneof![
        any::<[u8; 20]>().prop_map(|h| Fallback::PubKeyHash(PubkeyHash::from_byte_array(h))),
        any::<[u8; 20]>().prop_map(|h| Fallback::ScriptHash(ScriptHash::from_byte_array(h))),
        any::<[u8; 20]>()
            .prop_map(|p| Fallback::SegWit(WitnessProgram::new(WitnessVersion::V0, &p).unwrap())),
        any::<[u8; 32]>()
            .prop_map(|p| Fallback::SegWit(WitnessProgram::new(WitnessVersion::V0, &p).unwrap())),
        any::<[u8; 32]>()
            .prop_map(|p| Fallback::SegWit(WitnessProgram::new(WitnessVersion::V1, &p).unwrap())),
        (2u8..=16, prop::collection::vec(any::<u8>(), 2..=40)).prop_map(|(v, p)| {
            Fallback::SegWit(WitnessProgram::new(WitnessVersion::try_from(v).unwrap(), &p).unwrap())
        }),
    ]
}

fn route_hint() -> impl Strategy<Value = RouteHint> {
    let hop = (public_key(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u16>()).prop_map(
        |(src_node_id, scid, fee_base_msat, fee_proportional_millionths, cltv_expiry_delta)| RouteHintHop {
            src_node_id,
            short_channel_id: ShortChannelId(scid),
            fee_base_msat,
            fee_proportional_millionths,
            cltv_expiry_delta,
        },
    );
    prop::collection::vec(hop, 1..=RouteHint::MAX_HOPS).prop_map(|hops| RouteHint::new(hops).unwrap())
}

fn description() -> impl Strategy<Value = Bolt11InvoiceDescription> {
    prop_oneof![
        // Up to 150 chars of up to 4 bytes each stays within 639 bytes.
        "\\PC{0,150}".prop_map(Bolt11InvoiceDescription::Direct),
        any::<[u8; 32]>().prop_map(|h| Bolt11InvoiceDescription::Hash(sha256::Hash::from_byte_array(h))),
    ]
}

/// Every optional input of the builder.
#[derive(Debug, Clone)]
struct Extras {
    amount_msat: Option<u64>,
    with_n: bool,
    expiry_time_secs: Option<u64>,
    min_final_cltv_expiry_delta: Option<u32>,
    fallbacks: Vec<Fallback>,
    route_hints: Vec<RouteHint>,
    basic_mpp: bool,
    odd_feature_bits: Vec<usize>,
    payment_metadata: Option<Vec<u8>>,
}

fn extras() -> impl Strategy<Value = Extras> {
    (
        prop::option::of(1..=u64::MAX),
        any::<bool>(),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u32>()),
        prop::collection::vec(fallback(), 0..3),
        prop::collection::vec(route_hint(), 0..3),
        any::<bool>(),
        // Odd bits above the ones the builder sets itself (8, 14, 16, 48).
        prop::collection::vec((50usize..300).prop_map(|b| b | 1), 0..4),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..100)),
    )
        .prop_map(
            |(
                amount_msat,
                with_n,
                expiry_time_secs,
                min_final_cltv_expiry_delta,
                fallbacks,
                route_hints,
                basic_mpp,
                odd_feature_bits,
                payment_metadata,
            )| Extras {
                amount_msat,
                with_n,
                expiry_time_secs,
                min_final_cltv_expiry_delta,
                fallbacks,
                route_hints,
                basic_mpp,
                odd_feature_bits,
                payment_metadata,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn built_invoices_round_trip(
        key in secret_key(),
        currency in currency(),
        desc in description(),
        payment_hash in any::<[u8; 32]>(),
        payment_secret in any::<[u8; 32]>(),
        timestamp_secs in 0u64..(1 << 35),
        x in extras(),
    ) {
        let secp = Secp256k1::new();
        let payee = PublicKey::from_secret_key(&secp, &key);
        let builder = InvoiceBuilder::new(currency);
        let builder = match desc.clone() {
            Bolt11InvoiceDescription::Direct(text) => builder.description(text),
            Bolt11InvoiceDescription::Hash(hash) => builder.description_hash(hash),
        };
        let mut builder = builder
            .payment_hash(PaymentHash(payment_hash))
            .payment_secret(PaymentSecret(payment_secret))
            .timestamp_secs(timestamp_secs);
        if let Some(a) = x.amount_msat { builder = builder.amount_msat(a); }
        if x.with_n { builder = builder.payee_pub_key(payee); }
        if let Some(e) = x.expiry_time_secs { builder = builder.expiry_time_secs(e); }
        if let Some(c) = x.min_final_cltv_expiry_delta { builder = builder.min_final_cltv_expiry_delta(c); }
        for f in &x.fallbacks { builder = builder.fallback(f.clone()); }
        for r in &x.route_hints { builder = builder.route_hint(r.clone()); }
        if x.basic_mpp { builder = builder.basic_mpp(); }
        let mut odd = Bolt11InvoiceFeatures::empty();
        for b in &x.odd_feature_bits { odd.set_bit(*b); }
        builder = builder.features(&odd);
        if let Some(m) = &x.payment_metadata { builder = builder.payment_metadata(m.clone()); }

        let invoice = builder.build_signed(|msg| secp.sign_ecdsa_recoverable(msg, &key)).unwrap();
        let string = invoice.to_string();
        let parsed: Bolt11Invoice = string.parse().unwrap();
        prop_assert_eq!(&parsed, &invoice);
        prop_assert_eq!(parsed.to_string(), string.clone());
        // Upper case (as in QR codes) reads the same.
        prop_assert_eq!(&string.to_uppercase().parse::<Bolt11Invoice>().unwrap(), &invoice);

        // And the fields are the ones given.
        prop_assert_eq!(parsed.currency(), currency);
        prop_assert_eq!(parsed.amount_msat(), x.amount_msat);
        prop_assert_eq!(parsed.timestamp_secs(), timestamp_secs);
        prop_assert_eq!(parsed.payment_hash(), &PaymentHash(payment_hash));
        prop_assert_eq!(parsed.payment_secret(), &PaymentSecret(payment_secret));
        prop_assert_eq!(parsed.description(), &desc);
        prop_assert_eq!(parsed.payee_pub_key(), &payee);
        prop_assert_eq!(parsed.payee_pub_key_from_n_field(), x.with_n);
        prop_assert_eq!(parsed.expiry_time_secs(), x.expiry_time_secs.unwrap_or(3600));
        prop_assert_eq!(parsed.min_final_cltv_expiry_delta(), x.min_final_cltv_expiry_delta.unwrap_or(18));
        prop_assert_eq!(parsed.fallbacks(), &x.fallbacks[..]);
        prop_assert_eq!(parsed.route_hints(), &x.route_hints[..]);
        prop_assert_eq!(parsed.payment_metadata(), x.payment_metadata.as_deref());
        prop_assert_eq!(parsed.supports_basic_mpp(), x.basic_mpp);
        let features = parsed.features().unwrap();
        prop_assert!(features.requires_variable_length_onion() && features.requires_payment_secret());
        for b in &x.odd_feature_bits { prop_assert!(features.is_set(*b)); }
    }

    #[test]
    fn arbitrary_data_never_panics(
        hrp in prop::sample::select(vec!["lnbc", "lntb20m", "lnbcrt1p", "lnsb2500u", "lnbc0", "ln"]),
        data in prop::collection::vec(0u8..32, 0..400),
    ) {
        let hrp = Hrp::parse(hrp).unwrap();
        let fes = data.iter().map(|v| Fe32::try_from(*v).unwrap());
        let string: String = Encoder::<_, Bolt11Bech32>::new(fes, &hrp).chars().collect();
        if let Ok(raw) = string.parse::<SignedRawBolt11Invoice>() {
            prop_assert_eq!(raw.to_string(), string.clone());
        }
        if let Ok(invoice) = string.parse::<Bolt11Invoice>() {
            prop_assert_eq!(invoice.to_string(), string);
        }
    }

    #[test]
    fn mutated_invoices_never_panic(pos in 0usize..400, c in prop::sample::select(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l1QB".to_vec()), cut in 0usize..400) {
        let valid = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0";
        let mut bytes = valid.as_bytes().to_vec();
        let pos = pos % bytes.len();
        bytes[pos] = c;
        bytes.truncate(cut.max(pos + 1));
        let s = String::from_utf8(bytes).unwrap();
        let parsed = s.parse::<Bolt11Invoice>();
        if s != valid {
            // A single substitution or a truncation never keeps the checksum.
            prop_assert!(parsed.is_err());
        }
    }
}
