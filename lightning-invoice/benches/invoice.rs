//! Criterion benchmarks: parse + verify one invoice, and build + sign one.
//!
//! `cargo bench -p lightning-invoice --bench invoice`

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lightning_core::ln::types::{PaymentHash, PaymentSecret, ShortChannelId};
use lightning_core::sign::{KeysManager, NodeSigner, Recipient};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, RouteHint, RouteHintHop};

/// The spec's coffee example: a typical small invoice (recovery, no `n`).
const SMALL: &str = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";
/// The spec's example with a fallback and a two-hop route hint.
const ROUTE_HINTS: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0";

fn parse(c: &mut Criterion) {
    c.bench_function("parse_verify/small_recover", |b| {
        b.iter(|| black_box(SMALL).parse::<Bolt11Invoice>().unwrap())
    });
    c.bench_function("parse_verify/route_hints_recover", |b| {
        b.iter(|| black_box(ROUTE_HINTS).parse::<Bolt11Invoice>().unwrap())
    });
    // With an `n` field: verification instead of recovery.
    let keys = KeysManager::new(&[1; 32], 0, 0);
    let with_n = InvoiceBuilder::new(Currency::Bitcoin)
        .amount_msat(250_000_000)
        .description("1 cup coffee".into())
        .payment_hash(PaymentHash([1; 32]))
        .payment_secret(PaymentSecret([2; 32]))
        .timestamp_secs(1_496_314_658)
        .payee_pub_key(keys.get_node_id(Recipient::Node).unwrap())
        .build_signed_by(&keys, Recipient::Node)
        .unwrap()
        .to_string();
    c.bench_function("parse_verify/small_with_n", |b| {
        b.iter(|| black_box(&with_n).parse::<Bolt11Invoice>().unwrap())
    });
}

fn build(c: &mut Criterion) {
    let keys = KeysManager::new(&[1; 32], 0, 0);
    c.bench_function("build_sign/small_node_signer", |b| {
        b.iter(|| {
            InvoiceBuilder::new(Currency::Bitcoin)
                .amount_msat(black_box(250_000_000))
                .description("1 cup coffee".into())
                .payment_hash(PaymentHash([1; 32]))
                .payment_secret(PaymentSecret([2; 32]))
                .timestamp_secs(1_496_314_658)
                .expiry_time_secs(60)
                .build_signed_by(&keys, Recipient::Node)
                .unwrap()
        })
    });
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[3; 32]).unwrap();
    let hop = RouteHintHop {
        src_node_id: keys.get_node_id(Recipient::Node).unwrap(),
        short_channel_id: ShortChannelId(72_623_859_790_382_856),
        fee_base_msat: 1,
        fee_proportional_millionths: 20,
        cltv_expiry_delta: 3,
    };
    let hint = RouteHint::new(vec![hop, hop]).unwrap();
    c.bench_function("build_sign/route_hints_closure", |b| {
        b.iter(|| {
            InvoiceBuilder::new(Currency::Bitcoin)
                .amount_msat(black_box(2_000_000_000))
                .description("coffee beans".into())
                .payment_hash(PaymentHash([1; 32]))
                .payment_secret(PaymentSecret([2; 32]))
                .timestamp_secs(1_496_314_658)
                .route_hint(hint.clone())
                .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
                .unwrap()
        })
    });
    let invoice: Bolt11Invoice = SMALL.parse().unwrap();
    c.bench_function("display/small", |b| b.iter(|| black_box(&invoice).to_string()));
}

criterion_group!(benches, parse, build);
criterion_main!(benches);
