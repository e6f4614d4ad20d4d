//! Onion benchmarks: building a 20-hop payment onion, peeling one hop (what a
//! forwarding node does once per HTLC), and decoding a failure that comes back
//! from the 20th hop.
//!
//! Run with `cargo bench -p lightning-core --bench onion`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use lightning_core::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning_core::ln::onion::failure::{
    build_failure_packet, decode_failure_packet, obfuscate_failure_packet, FailureMessage, FailureReason,
    FAILURE_MESSAGE_PADDED_LEN,
};
use lightning_core::ln::onion::payload::{CustomRecords, OutboundHopPayload, PaymentData};
use lightning_core::ln::onion::{construct_onion_packet, peel_payment_onion, IncomingHtlc};
use lightning_core::ln::types::{PaymentHash, PaymentSecret, ShortChannelId};
use lightning_core::sign::{KeysManager, NodeSigner, Recipient};
use lightning_core::util::ser::Writeable;

const HOPS: usize = 20;

fn route() -> (Vec<KeysManager>, Vec<PublicKey>, Vec<Vec<u8>>) {
    let nodes: Vec<KeysManager> = (0..HOPS).map(|i| KeysManager::new(&[i as u8 + 1; 32], 0, 0)).collect();
    let ids = nodes.iter().map(|n| n.get_node_id(Recipient::Node).expect("node id")).collect();
    let mut payloads: Vec<Vec<u8>> = (0..HOPS - 1)
        .map(|i| {
            OutboundHopPayload::Forward {
                short_channel_id: ShortChannelId(0x0008_0000_0001_0000 + i as u64),
                amt_to_forward_msat: 1_000_000 + 1_000 * (HOPS - i) as u64,
                outgoing_cltv_value: 800_000 + 40 * (HOPS - i) as u32,
            }
            .encode()
        })
        .collect();
    payloads.push(
        OutboundHopPayload::Receive {
            amt_to_forward_msat: 1_000_000,
            outgoing_cltv_value: 800_000,
            payment_data: Some(PaymentData { payment_secret: PaymentSecret([7; 32]), total_msat: 1_000_000 }),
            payment_metadata: None,
            custom_records: CustomRecords::new(),
        }
        .encode(),
    );
    (nodes, ids, payloads)
}

fn bench_onion(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let (nodes, ids, payloads) = route();
    let session_key = SecretKey::from_slice(&[0x41; 32]).expect("valid key");
    let payment_hash = PaymentHash([0x42; 32]);

    c.bench_function("construct 20-hop onion", |b| {
        b.iter(|| {
            construct_onion_packet(&secp, black_box(&session_key), &ids, &payloads, &payment_hash.0)
                .expect("fits")
        })
    });

    let onion = construct_onion_packet(&secp, &session_key, &ids, &payloads, &payment_hash.0).expect("fits");
    let htlc = IncomingHtlc {
        onion: &onion.packet,
        payment_hash,
        amount_msat: 1_020_000,
        cltv_expiry: 800_800,
        path_key: None,
    };
    c.bench_function("peel one hop (KeysManager ECDH, payload decode)", |b| {
        b.iter(|| peel_payment_onion(&nodes[0], &secp, black_box(&htlc)).expect("valid onion"))
    });

    let msg =
        FailureMessage::from(FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat: 1, height: 2 });
    let secrets = &onion.hop_shared_secrets;
    let mut packet =
        build_failure_packet(&secrets[HOPS - 1].secret_bytes(), &msg.encode(), FAILURE_MESSAGE_PADDED_LEN)
            .expect("small message");
    for s in secrets[..HOPS - 1].iter().rev() {
        obfuscate_failure_packet(&s.secret_bytes(), &mut packet);
    }
    assert_eq!(decode_failure_packet(secrets, &packet).expect("attributable").hop_index, HOPS - 1);
    c.bench_function("decode failure from hop 20", |b| {
        b.iter(|| decode_failure_packet(secrets, black_box(&packet)).expect("attributable"))
    });
}

criterion_group!(benches, bench_onion);
criterion_main!(benches);
