//! `lightning-node decode-invoice`, run as a user would: the spec's route-hint
//! example decodes to its fields as JSON; invalid invoices fail with a clear
//! message and a non-zero exit.

use serde_json::Value;
use std::process::{Command, Output};

fn decode(invoice: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lightning-node"))
        .args(["decode-invoice", invoice])
        .output()
        .expect("runs the binary")
}

/// BOLT 11 example "On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with
/// extra routing info to go via nodes 029e03a9... then 039e03a9...".
const ROUTE_HINT_EXAMPLE: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0";

#[test]
fn prints_every_field_as_json() {
    let out = decode(&format!("lightning:{}", ROUTE_HINT_EXAMPLE.to_uppercase()));
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["currency"], "bc");
    assert_eq!(v["network"], "bitcoin");
    assert_eq!(v["amount_msat"], 2_000_000_000u64);
    assert_eq!(v["timestamp"], 1_496_314_658u64);
    assert_eq!(v["payment_hash"], "0001020304050607080900010203040506070809000102030405060708090102");
    assert_eq!(v["payment_secret"], "1111111111111111111111111111111111111111111111111111111111111111");
    assert_eq!(v["description"], Value::Null);
    assert_eq!(v["description_hash"], "3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1");
    assert_eq!(v["payee"], "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad");
    assert_eq!(v["payee_from_n_field"], false);
    assert_eq!(v["expiry_secs"], 3600);
    assert_eq!(v["expires_at"], 1_496_314_658u64 + 3600);
    assert_eq!(v["min_final_cltv_expiry_delta"], 18);
    assert_eq!(v["fallbacks"], serde_json::json!(["1RustyRX2oai4EYYDpQGWvEL62BBGqN9T"]));
    assert_eq!(v["features"], serde_json::json!([8, 14]));
    assert_eq!(v["metadata"], Value::Null);
    let hops = v["route_hints"][0].as_array().unwrap();
    assert_eq!(v["route_hints"].as_array().unwrap().len(), 1);
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["src_node_id"], "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255");
    assert_eq!(hops[0]["short_channel_id"], "66051x263430x1800");
    assert_eq!(hops[0]["fee_base_msat"], 1);
    assert_eq!(hops[0]["fee_proportional_millionths"], 20);
    assert_eq!(hops[0]["cltv_expiry_delta"], 3);
    assert_eq!(hops[1]["src_node_id"], "039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255");
    assert_eq!(hops[1]["short_channel_id"], "197637x395016x2314");
    assert_eq!(hops[1]["fee_base_msat"], 2);
    assert_eq!(hops[1]["fee_proportional_millionths"], 30);
    assert_eq!(hops[1]["cltv_expiry_delta"], 4);
}

#[test]
fn metadata_is_hex() {
    let out = decode("lnbc10m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdp9wpshjmt9de6zqmt9w3skgct5vysxjmnnd9jx2mq8q8a04uqsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q2gqqqqqqsgq7hf8he7ecf7n4ffphs6awl9t6676rrclv9ckg3d3ncn7fct63p6s365duk5wrk202cfy3aj5xnnp5gs3vrdvruverwwq7yzhkf5a3xqpd05wjc");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metadata"], "01fafaf0");
    assert_eq!(v["description"], "payment metadata inside");
    assert_eq!(v["features"], serde_json::json!([8, 14, 48]));
}

#[test]
fn invalid_invoices_fail_clearly() {
    // The spec's "Bech32 checksum is invalid." example.
    let bad_checksum = "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt";
    // The spec's "Missing required `s` field." example.
    let no_secret = "lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqs9qrsgq7ea976txfraylvgzuxs8kgcw23ezlrszfnh8r6qtfpr6cxga50aj6txm9rxrydzd06dfeawfk6swupvz4erwnyutnjq7x39ymw6j38gp49qdkj";
    for (invoice, message) in [
        (bad_checksum, "error: invalid invoice: bech32 checksum is invalid"),
        (no_secret, "error: invalid invoice: missing required payment secret ('s' field)"),
        ("not an invoice", "error: invalid invoice: malformed bech32 string"),
    ] {
        let out = decode(invoice);
        assert_eq!(out.status.code(), Some(1), "{invoice}");
        assert!(out.stdout.is_empty(), "{invoice}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(message), "{invoice}: {stderr}");
    }
}

/// Simnet fallbacks have no address we can encode: no regtest address is
/// claimed, the fallback is shown as version and program.
#[test]
fn simnet_fallbacks_are_version_and_program() {
    use lightning_core::ln::types::{PaymentHash, PaymentSecret};
    use lightning_core::sign::{KeysManager, Recipient};
    use lightning_invoice::{Currency, Fallback, InvoiceBuilder};
    let address = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        .parse::<bitcoin::Address<_>>()
        .unwrap()
        .require_network(bitcoin::Network::Regtest)
        .unwrap();
    let invoice = InvoiceBuilder::new(Currency::Simnet)
        .description("simnet".into())
        .payment_hash(PaymentHash([7; 32]))
        .payment_secret(PaymentSecret([8; 32]))
        .timestamp_secs(1_700_000_000)
        .fallback(Fallback::from_address(&address).unwrap())
        .build_signed_by(&KeysManager::new(&[9; 32], 1, 2), Recipient::Node)
        .unwrap();
    let out = decode(&invoice.to_string());
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["currency"], "sb");
    assert_eq!(v["network"], Value::Null);
    assert_eq!(
        v["fallbacks"],
        serde_json::json!([{ "version": 0, "program": "751e76e8199196d454941c45d1b3a323f1433bd6" }])
    );
    assert_eq!(v["features"], serde_json::json!([8, 14]));
}
