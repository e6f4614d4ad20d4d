//! The BOLT 4 vectors of `shared/specs/vectors/bolt04/`, byte for byte:
//! onion construction and every hop's peel, failure creation and obfuscation
//! at every hop and its attribution at the origin, route blinding, and a
//! payment onion through a blinded path.

mod common;
mod onion_support;

use common::{hex_field, load_vectors};
use onion_support::{strip_length_prefix, RawKeySigner};

use lightning_core::bitcoin::hashes::{sha256, Hash};
use lightning_core::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning_core::ln::onion::blinding::{
    self, build_blinded_path, unblind_hop, BlindedPath, EncryptedDataTlvs, IntroductionNode,
    PaymentConstraints, PaymentRelay,
};
use lightning_core::ln::onion::failure::{
    build_failure_packet, decode_failure_packet, obfuscate_failure_packet, FailureCode, FailureMessage,
    FailureReason,
};
use lightning_core::ln::onion::keys::{self, KeyType};
use lightning_core::ln::onion::payload::OutboundHopPayload;
use lightning_core::ln::onion::process::{BlindedNextHop, NextHop};
use lightning_core::ln::onion::{
    blinded_path_hops, construct_onion_packet, construct_payment_onion, peel_payment_onion, HtlcFailure,
    IncomingHtlc, OnionPacket, ONION_PACKET_LEN,
};
use lightning_core::ln::types::{PaymentHash, ShortChannelId};
use lightning_core::util::ser::{decode_exact, Writeable};
use lightning_core::util::tlv::RawBytes;
use serde_json::Value;

fn secret(v: &Value, key: &str) -> SecretKey {
    SecretKey::from_slice(&hex_field(v, key)).expect("valid secret key")
}

fn pubkey(v: &Value, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(v, key)).expect("valid public key")
}

fn hex32(v: &Value, key: &str) -> [u8; 32] {
    hex_field(v, key).try_into().expect("32 bytes")
}

fn packet(bytes: &[u8]) -> OnionPacket {
    assert_eq!(bytes.len(), ONION_PACKET_LEN);
    decode_exact(bytes).expect("1366-byte onion")
}

#[test]
fn onion_construction_and_every_hop_peel() {
    let doc = load_vectors("bolt04/onion-test.json");
    let gen = &doc["generate"];
    let hops = gen["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 5);
    let node_ids: Vec<PublicKey> = hops.iter().map(|h| pubkey(h, "pubkey")).collect();
    let payloads: Vec<Vec<u8>> = hops.iter().map(|h| strip_length_prefix(&hex_field(h, "payload"))).collect();
    assert_eq!(payloads[2].len(), 18);
    assert_eq!(payloads[1].len(), 82);
    let associated_data = hex32(gen, "associated_data");
    let secp = Secp256k1::new();

    let onion =
        construct_onion_packet(&secp, &secret(gen, "session_key"), &node_ids, &payloads, &associated_data)
            .unwrap();
    assert_eq!(onion.packet.encode(), hex_field(&doc, "onion"));

    // Every hop peels with its own key through the NodeSigner.
    let privkeys = doc["decode"].as_array().unwrap();
    let mut current = onion.packet.clone();
    for (i, privkey) in privkeys.iter().enumerate() {
        let signer = RawKeySigner::new(
            SecretKey::from_slice(&hex::decode(privkey.as_str().unwrap()).unwrap()).unwrap(),
        );
        assert_eq!(signer.node_id(), node_ids[i]);
        let htlc = IncomingHtlc {
            onion: &current,
            payment_hash: PaymentHash(associated_data),
            amount_msat: 10_000,
            cltv_expiry: 1_000,
            path_key: None,
        };
        let peeled = peel_payment_onion(&signer, &secp, &htlc).unwrap_or_else(|e| panic!("hop {i}: {e:?}"));
        assert_eq!(peeled.shared_secret, onion.hop_shared_secrets[i], "hop {i}");
        // The raw layer carries exactly the payload the sender put in.
        let raw = lightning_core::ln::onion::peel_onion_with_shared_secret(
            &secp,
            peeled.shared_secret,
            &current,
            &associated_data,
        )
        .unwrap();
        assert_eq!(raw.payload, payloads[i], "hop {i}");
        match (i, peeled.next_hop) {
            (0..=3, NextHop::Forward { short_channel_id, next_packet, amt_to_forward_msat, .. }) => {
                assert_eq!(short_channel_id, ShortChannelId(i as u64 + 1));
                assert_eq!(amt_to_forward_msat, [15000, 14000, 12500, 10000][i]);
                assert_eq!(Some(&next_packet), raw.next_packet.as_ref());
                current = next_packet;
            }
            (
                4,
                NextHop::Receive {
                    amt_to_forward_msat, outgoing_cltv_value, payment_data, total_msat, ..
                },
            ) => {
                assert_eq!((amt_to_forward_msat, outgoing_cltv_value), (10000, 1000));
                let pd = payment_data.unwrap();
                assert_eq!(pd.payment_secret.0[..4], [0x24, 0xa3, 0x35, 0x62]);
                assert_eq!(total_msat, 10000);
                assert!(raw.next_packet.is_none());
            }
            (i, other) => panic!("hop {i}: unexpected {other:?}"),
        }
    }
}

#[test]
fn failure_creation_obfuscation_and_attribution() {
    let doc = load_vectors("bolt04/onion-error-test.json");
    let gen = &doc["generate"];
    let hops = gen["hops"].as_array().unwrap();
    let node_ids: Vec<PublicKey> = hops.iter().map(|h| pubkey(h, "pubkey")).collect();
    let secp = Secp256k1::new();

    // The shared secrets are those of the onion built from the same session key.
    let secrets = keys::route_hop_secrets(&secp, &secret(gen, "session_key"), &node_ids).unwrap();
    let shared: Vec<_> = secrets.iter().map(|s| s.shared_secret).collect();
    for (hop, s) in hops.iter().zip(&shared) {
        assert_eq!(s.secret_bytes(), hex32(hop, "hop_shared_secret"));
        assert_eq!(keys::derive_key(KeyType::Ammag, &s.secret_bytes()), hex32(hop, "ammag_key"));
    }
    let erring = &hops[4];
    assert_eq!(keys::derive_key(KeyType::Um, &shared[4].secret_bytes()), hex32(erring, "um_key"));

    // hops[4] builds the failure: temporary_node_failure, padded to 256.
    let message = hex_field(gen, "failure_message");
    assert_eq!(message, FailureMessage::from(FailureReason::TemporaryNodeFailure).encode());
    let mut packet = build_failure_packet(&shared[4].secret_bytes(), &message, 256).unwrap();
    let mut plain = packet.clone();
    obfuscate_failure_packet(&shared[4].secret_bytes(), &mut plain);
    assert_eq!(plain[32..], hex_field(erring, "payload")[..]);
    let um = keys::derive_key(KeyType::Um, &shared[4].secret_bytes());
    assert_eq!(plain[..32], keys::hmac_sha256(&um, &[&plain[32..]]));

    // Each hop back adds its layer; the result is the vector's packet.
    for hop in (0..4).rev() {
        obfuscate_failure_packet(&shared[hop].secret_bytes(), &mut packet);
    }
    assert_eq!(packet, hex_field(&doc, "errorpacket"));

    // The origin finds hops[4] and reads the message.
    let decoded = decode_failure_packet(&shared, &packet).unwrap();
    assert_eq!(decoded.hop_index, 4);
    assert_eq!(decoded.failure_code, Some(FailureCode::TEMPORARY_NODE_FAILURE));
    assert_eq!(decoded.message.unwrap().reason, FailureReason::TemporaryNodeFailure);

    // A garbled packet (any single byte) is never blamed on a hop.
    for i in (0..packet.len()).step_by(13) {
        let mut bad = packet.clone();
        bad[i] ^= 0x20;
        assert_eq!(
            decode_failure_packet(&shared, &bad),
            Err(lightning_core::ln::onion::failure::FailureDecodeError::Unattributable),
            "byte {i}"
        );
    }
    // With one hop missing from the route, nobody matches either.
    assert!(decode_failure_packet(&shared[..4], &packet).is_err());
}

/// The failure part of `failure_attribution.json` (1024-byte padding, a
/// message with an extra TLV): the erring node's packet and the packet after
/// every hop back, byte for byte. The attribution data itself is not built.
#[test]
fn failure_packets_at_every_hop_of_the_attribution_vector() {
    let doc = load_vectors("bolt04/failure_attribution.json");
    let creation = &doc["creation"];
    // The vector's encoded message runs on into pad_len and the padding.
    let encoded = hex_field(creation, "encoded_failure_message");
    let message = encoded[..320].to_vec();
    assert_eq!(encoded[320..322], [0x02, 0xc0]);
    assert!(encoded[322..].iter().all(|b| *b == 0) && encoded.len() == 322 + 0x2c0);
    let parsed: FailureMessage = decode_exact(&message).unwrap();
    assert_eq!(
        parsed.reason,
        FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat: 100, height: 800000 }
    );
    let mut expected_tlv = vec![0xfd, 0x84, 0xd1, 0xfd, 0x01, 0x2c];
    expected_tlv.extend_from_slice(&[0x80; 300]);
    assert_eq!(parsed.extra_tlvs, expected_tlv);
    assert_eq!(parsed.encode(), message);

    let ss = hex32(creation, "shared_secret");
    let mut packet = build_failure_packet(&ss, &message, 1024).unwrap();
    let mut raw = packet.clone();
    obfuscate_failure_packet(&ss, &mut raw);
    assert_eq!(raw, hex_field(creation, "raw_error_packet"));
    assert_eq!(raw[32..], hex_field(creation, "payload")[..]);

    let forwarding = doc["forwarding"].as_array().unwrap();
    assert_eq!(forwarding.len(), 5);
    assert_eq!(packet, hex_field(&forwarding[0], "error_packet"));
    let mut secrets = vec![ss];
    for step in &forwarding[1..] {
        let ss = hex32(step, "shared_secret");
        assert_eq!(keys::derive_key(KeyType::Ammag, &ss), hex32(step, "ammag_key"));
        obfuscate_failure_packet(&ss, &mut packet);
        assert_eq!(packet, hex_field(step, "error_packet"), "node {}", step["node"]);
        secrets.push(ss);
    }
    secrets.reverse();
    let route: Vec<_> = secrets
        .iter()
        .map(|s| lightning_core::bitcoin::secp256k1::ecdh::SharedSecret::from_bytes(*s))
        .collect();
    let decoded = decode_failure_packet(&route, &packet).unwrap();
    assert_eq!(decoded.hop_index, 4);
    assert_eq!(decoded.message.unwrap(), parsed);
}

fn node_key_ss(signer: &RawKeySigner, point: &PublicKey) -> [u8; 32] {
    use lightning_core::sign::{NodeSigner, Recipient};
    signer.ecdh(Recipient::Node, point, None).unwrap().secret_bytes()
}

fn scid(v: &Value) -> ShortChannelId {
    let s = v.as_str().unwrap();
    let parts: Vec<u32> = s.split('x').map(|p| p.parse().unwrap()).collect();
    ShortChannelId::new(parts[0], parts[1], parts[2] as u16).unwrap()
}

#[test]
fn route_blinding_build_and_unblind() {
    let doc = load_vectors("bolt04/route-blinding-test.json");
    let hops = doc["generate"]["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 4);
    let secp = Secp256k1::new();

    // Bob builds Bob -> Carol and joins Eve's Dave -> Eve path to it.
    let mut built: Vec<BlindedPath> = Vec::new();
    for segment in [&hops[0..2], &hops[2..4]] {
        let session_key = secret(&segment[0], "session_key");
        let spec: Vec<(PublicKey, Vec<u8>)> =
            segment.iter().map(|h| (pubkey(h, "node_id"), hex_field(h, "encoded_tlvs"))).collect();
        let node_ids: Vec<PublicKey> = spec.iter().map(|s| s.0).collect();
        let secrets = keys::route_hop_secrets(&secp, &session_key, &node_ids).unwrap();
        for (h, s) in segment.iter().zip(&secrets) {
            assert_eq!(s.ephemeral_pubkey, pubkey(h, "path_key"));
            assert_eq!(s.shared_secret.secret_bytes(), hex32(h, "shared_secret"));
            assert_eq!(keys::derive_key(KeyType::Rho, &s.shared_secret.secret_bytes()), hex32(h, "rho"));
        }
        built.push(build_blinded_path(&secp, &session_key, &spec).unwrap());
    }
    // Carol's data points at Dave's path key.
    assert_eq!(
        EncryptedDataTlvs::decode_stream(&hex_field(&hops[1], "encoded_tlvs"))
            .unwrap()
            .next_path_key_override,
        Some(built[1].first_path_key)
    );
    let mut path = built[0].clone();
    path.hops.extend(built[1].hops.iter().cloned());

    let route = &doc["route"];
    assert_eq!(path.introduction_node, IntroductionNode::NodeId(pubkey(route, "first_node_id")));
    assert_eq!(path.first_path_key, pubkey(route, "first_path_key"));
    for ((hop, expected), gen) in path.hops.iter().zip(route["hops"].as_array().unwrap()).zip(hops) {
        assert_eq!(hop.blinded_node_id, pubkey(expected, "blinded_node_id"));
        assert_eq!(hop.encrypted_recipient_data, hex_field(expected, "encrypted_data"));
        assert_eq!(hop.blinded_node_id, pubkey(gen, "blinded_node_id"));
    }
    // The blinded_path encoding round-trips.
    assert_eq!(decode_exact::<BlindedPath>(&path.encode()).unwrap(), path);

    // Each node unblinds with its own key.
    let unblind = doc["unblind"]["hops"].as_array().unwrap();
    for (i, u) in unblind.iter().enumerate() {
        let node_key = secret(u, "node_privkey");
        let signer = RawKeySigner::new(node_key);
        let hop = unblind_hop(&signer, &secp, &pubkey(u, "path_key"), &path.hops[i].encrypted_recipient_data)
            .unwrap_or_else(|e| panic!("{}: {e}", u["alias"]));
        assert_eq!(hop.decrypted_data, hex_field(u, "decrypted_data"));
        // The vector gives the derived key, and the override where there is one
        // (which is what must be sent on).
        let derived = keys::next_ephemeral_pubkey(
            &secp,
            &pubkey(u, "path_key"),
            &node_key_ss(&signer, &pubkey(u, "path_key")),
        )
        .unwrap();
        assert_eq!(derived, pubkey(u, "next_path_key"), "{}", u["alias"]);
        match u.get("next_path_key_override") {
            Some(_) => assert_eq!(hop.next_path_key, pubkey(u, "next_path_key_override")),
            None => assert_eq!(hop.next_path_key, derived),
        }
        let blinded_privkey = node_key.mul_tweak(&hop.onion_key_tweak).unwrap();
        assert_eq!(blinded_privkey.secret_bytes(), hex32(u, "blinded_privkey"));
        assert_eq!(PublicKey::from_secret_key(&secp, &blinded_privkey), path.hops[i].blinded_node_id);
        // A different node cannot open it.
        let other = RawKeySigner::new(SecretKey::from_slice(&[0x55; 32]).unwrap());
        assert_eq!(
            unblind_hop(&other, &secp, &pubkey(u, "path_key"), &path.hops[i].encrypted_recipient_data),
            Err(blinding::BlindingError::DecryptionFailed)
        );
    }

    // The typed view of the decrypted data.
    let bob = EncryptedDataTlvs::decode_stream(&hex_field(&hops[0], "encoded_tlvs")).unwrap();
    let t = &hops[0]["tlvs"];
    assert_eq!(bob.padding, Some(RawBytes(vec![0; 26])));
    assert_eq!(bob.short_channel_id, Some(scid(&t["short_channel_id"])));
    assert_eq!(
        bob.payment_relay,
        Some(PaymentRelay { cltv_expiry_delta: 36, fee_proportional_millionths: 150, fee_base_msat: 10000 })
    );
    assert_eq!(
        bob.payment_constraints,
        Some(PaymentConstraints { max_cltv_expiry: 748005, htlc_minimum_msat: 1500 })
    );
    assert!(bob.allowed_features().set_bits().next().is_none());
    let dave = EncryptedDataTlvs::decode_stream(&hex_field(&hops[2], "encoded_tlvs")).unwrap();
    assert_eq!(dave.payment_relay.unwrap().fee_base_msat, 0);
    // Records we know re-encode byte for byte (Bob's and Eve's carry unknown odd ones).
    for h in [&hops[1], &hops[2]] {
        let enc = hex_field(h, "encoded_tlvs");
        assert_eq!(EncryptedDataTlvs::decode_stream(&enc).unwrap().encode(), enc);
    }
    let eve = EncryptedDataTlvs::decode_stream(&hex_field(&hops[3], "encoded_tlvs")).unwrap();
    assert_eq!(eve.path_id, Some(RawBytes(vec![0xde, 0xad, 0xbe, 0xef])));
    assert_eq!(eve.allowed_features().set_bits().collect::<Vec<_>>(), vec![113]);
}

#[test]
fn payment_onion_through_a_blinded_path() {
    let doc = load_vectors("bolt04/blinded-payment-onion-test.json");
    let gen = &doc["generate"];
    let full = gen["full_route"]["hops"].as_array().unwrap();
    let blinded = gen["blinded_route"]["hops"].as_array().unwrap();
    let secp = Secp256k1::new();
    let associated_data = hex32(gen, "associated_data");

    // The typed payloads encode to the vector's payloads.
    let enc = |i: usize| hex_field(&blinded[i], "encrypted_data");
    let typed = [
        OutboundHopPayload::Forward {
            short_channel_id: scid(&full[0]["tlvs"]["outgoing_channel_id"]),
            amt_to_forward_msat: 110125,
            outgoing_cltv_value: 749150,
        },
        OutboundHopPayload::BlindedForward {
            encrypted_recipient_data: enc(0),
            current_path_key: Some(pubkey(&gen["blinded_route"], "first_path_key")),
        },
        OutboundHopPayload::BlindedForward { encrypted_recipient_data: enc(1), current_path_key: None },
        OutboundHopPayload::BlindedForward { encrypted_recipient_data: enc(2), current_path_key: None },
        OutboundHopPayload::BlindedReceive {
            amt_to_forward_msat: 100000,
            total_amount_msat: 150000,
            outgoing_cltv_value: 749000,
            encrypted_recipient_data: enc(3),
            current_path_key: None,
            custom_records: Default::default(),
        },
    ];
    let payloads: Vec<Vec<u8>> = full.iter().map(|h| strip_length_prefix(&hex_field(h, "payload"))).collect();
    for (i, p) in typed.iter().enumerate() {
        assert_eq!(p.encode(), payloads[i], "{}", full[i]["alias"]);
    }
    let node_ids: Vec<PublicKey> = full.iter().map(|h| pubkey(h, "pubkey")).collect();
    let onion =
        construct_onion_packet(&secp, &secret(gen, "session_key"), &node_ids, &payloads, &associated_data)
            .unwrap();
    assert_eq!(onion.packet.encode(), hex_field(gen, "onion"));

    // The same onion from the blinded path as a BOLT 12 invoice gives it.
    let route = &gen["blinded_route"];
    let path = BlindedPath {
        introduction_node: IntroductionNode::NodeId(pubkey(route, "first_node_id")),
        first_path_key: pubkey(route, "first_path_key"),
        hops: blinded
            .iter()
            .map(|h| blinding::BlindedHop {
                blinded_node_id: pubkey(h, "blinded_node_id"),
                encrypted_recipient_data: hex_field(h, "encrypted_data"),
            })
            .collect(),
    };
    let mut hops = vec![(node_ids[0], typed[0].clone())];
    hops.extend(blinded_path_hops(&path, 100000, 150000, 749000).unwrap());
    assert_eq!(hops.iter().map(|h| h.0).collect::<Vec<_>>(), node_ids);
    let again =
        construct_payment_onion(&secp, &secret(gen, "session_key"), &hops, &PaymentHash(associated_data))
            .unwrap();
    assert_eq!(again, onion);

    // Every hop peels the onion it receives into the next one.
    let decrypt = doc["decrypt"]["hops"].as_array().unwrap();
    let mut amount_msat = 110125u64;
    let mut cltv_expiry = 749150u32;
    let mut path_key: Option<PublicKey> = None;
    for (i, d) in decrypt.iter().enumerate() {
        let received = packet(&hex_field(d, "onion"));
        let signer = RawKeySigner::new(secret(d, "node_privkey"));
        let htlc = IncomingHtlc {
            onion: &received,
            payment_hash: PaymentHash(associated_data),
            amount_msat,
            cltv_expiry,
            path_key,
        };
        let peeled =
            peel_payment_onion(&signer, &secp, &htlc).unwrap_or_else(|e| panic!("{}: {e:?}", d["alias"]));
        assert_eq!(peeled.shared_secret, onion.hop_shared_secrets[i]);
        match peeled.next_hop {
            NextHop::Forward { next_packet, amt_to_forward_msat, outgoing_cltv_value, short_channel_id } => {
                assert_eq!(i, 0);
                assert_eq!(short_channel_id, ShortChannelId(10));
                assert_eq!(next_packet.encode(), hex_field(&decrypt[i + 1], "onion"));
                (amount_msat, cltv_expiry) = (amt_to_forward_msat, outgoing_cltv_value);
            }
            NextHop::BlindedForward {
                next_hop,
                amt_to_forward_msat,
                outgoing_cltv_value,
                next_packet,
                next_path_key,
                is_introduction_node,
            } => {
                assert_eq!(is_introduction_node, i == 1);
                assert_eq!(next_hop, BlindedNextHop::ShortChannelId(ShortChannelId(i as u64)));
                assert_eq!(next_path_key, pubkey(d, "next_path_key"));
                assert_eq!(next_packet.encode(), hex_field(&decrypt[i + 1], "onion"));
                (amount_msat, cltv_expiry, path_key) =
                    (amt_to_forward_msat, outgoing_cltv_value, Some(next_path_key));
            }
            NextHop::BlindedReceive {
                amt_to_forward_msat,
                total_amount_msat,
                outgoing_cltv_value,
                path_id,
                ..
            } => {
                assert_eq!(i, 4);
                assert_eq!(
                    (amt_to_forward_msat, total_amount_msat, outgoing_cltv_value),
                    (100000, 150000, 749000)
                );
                assert_eq!(
                    path_id,
                    Some(hex::decode("c9cf92f45ade68345bc20ae672e2012f4af487ed4415").unwrap())
                );
                assert!(amount_msat >= 100000, "the relays deliver at least the final amount");
                assert_eq!(cltv_expiry, 749000);
            }
            other => panic!("{}: unexpected {other:?}", d["alias"]),
        }
    }

    // Inside the path, any failure is invalid_onion_blinding, malformed.
    let carol = &decrypt[2];
    let received = packet(&hex_field(carol, "onion"));
    let signer = RawKeySigner::new(secret(carol, "node_privkey"));
    let mut htlc = IncomingHtlc {
        onion: &received,
        payment_hash: PaymentHash(associated_data),
        amount_msat: 100125,
        cltv_expiry: 749100,
        path_key: Some(pubkey(&decrypt[1], "next_path_key")),
    };
    // Too low for Carol's fee: still only invalid_onion_blinding.
    htlc.amount_msat = 99;
    let sha = sha256::Hash::hash(&received.encode()).to_byte_array();
    assert_eq!(
        peel_payment_onion(&signer, &secp, &htlc).unwrap_err(),
        HtlcFailure::Malformed { failure_code: FailureCode::INVALID_ONION_BLINDING, sha256_of_onion: sha }
    );
    // Without the path key Carol cannot even check the HMAC.
    htlc.amount_msat = 100125;
    htlc.path_key = None;
    assert_eq!(
        peel_payment_onion(&signer, &secp, &htlc).unwrap_err(),
        HtlcFailure::Malformed { failure_code: FailureCode::INVALID_ONION_HMAC, sha256_of_onion: sha }
    );
    // At the introduction node a bad HTLC fails back encrypted as invalid_onion_blinding.
    let bob = &decrypt[1];
    let received = packet(&hex_field(bob, "onion"));
    let signer = RawKeySigner::new(secret(bob, "node_privkey"));
    let htlc = IncomingHtlc {
        onion: &received,
        payment_hash: PaymentHash(associated_data),
        amount_msat: 110125,
        cltv_expiry: 750151, // above max_cltv_expiry 750150
        path_key: None,
    };
    match peel_payment_onion(&signer, &secp, &htlc).unwrap_err() {
        HtlcFailure::Fail { message, .. } => assert_eq!(
            message.reason,
            FailureReason::InvalidOnionBlinding {
                sha256_of_onion: sha256::Hash::hash(&received.encode()).to_byte_array()
            }
        ),
        other => panic!("{other:?}"),
    }
}

/// `failure_attribution.json`: attribution data added at every hop on the
/// way back, byte for byte, for a failure and for a success, and the origin's
/// check of every hop's HMACs and hold times.
#[test]
fn attribution_data_at_every_hop() {
    use lightning_core::bitcoin::secp256k1::ecdh::SharedSecret;
    use lightning_core::ln::onion::attribution::{verify_attribution_data, AttributionData};

    let doc = load_vectors("bolt04/failure_attribution.json");
    // The hold times are listed by position on the way back: the erring
    // node 4 reports htlc_hold_time[0], node 0 reports htlc_hold_time[4].
    let hold_time =
        |node: u64| doc["params"]["hops"][4 - node as usize]["htlc_hold_time"].as_u64().unwrap() as u32;
    let ss_of = |step: &Value| hex32(step, "shared_secret");
    let forwarding = doc["forwarding"].as_array().unwrap();

    // Failure: each node covers the packet it received (the erring node its
    // packet before obfuscation).
    let mut packet = hex_field(&doc["creation"], "raw_error_packet");
    let mut data = AttributionData::new();
    for step in forwarding {
        let ss = ss_of(step);
        data.add_hop(&ss, hold_time(step["node"].as_u64().unwrap()), &packet);
        obfuscate_failure_packet(&ss, &mut packet);
        assert_eq!(packet, hex_field(step, "error_packet"));
        assert_eq!(data.0.to_vec(), hex_field(step, "attribution_data"), "failure, node {}", step["node"]);
    }
    let mut route: Vec<SharedSecret> =
        forwarding.iter().map(|s| SharedSecret::from_bytes(ss_of(s))).collect();
    route.reverse();
    let decoded = decode_failure_packet(&route, &packet).unwrap();
    let attribution = verify_attribution_data(&route, &data, Some(&packet), Some(decoded.hop_index));
    assert_eq!(attribution.first_invalid_hop, None);
    assert_eq!(attribution.hold_times, vec![5, 4, 3, 2, 1]);

    // Attribution data changed after hop 0 sent it (here a hold time) fails
    // hop 0's HMAC; slots beyond a 5-hop route are covered by nobody.
    let mut tampered = data.clone();
    tampered.0[8] ^= 1;
    let a = verify_attribution_data(&route, &tampered, Some(&packet), Some(4));
    assert_eq!(a.first_invalid_hop, Some(0));
    let mut unused = data.clone();
    unused.0[80 + 4 * 105] ^= 1; // block of a 7th hop
    assert_eq!(verify_attribution_data(&route, &unused, Some(&packet), Some(4)).first_invalid_hop, None);
    // A failure packet flipped on the link between hops 2 and 1 (route order)
    // matches no hop's failure HMAC, but the attribution data pins it: hops 0
    // and 1 vouch for what they received, hop 2's HMACs do not match it.
    let mut packet = hex_field(&doc["creation"], "raw_error_packet");
    let mut data = AttributionData::new();
    for step in forwarding {
        let ss = ss_of(step);
        data.add_hop(&ss, hold_time(step["node"].as_u64().unwrap()), &packet);
        obfuscate_failure_packet(&ss, &mut packet);
        if step["node"] == 2 {
            packet[100] ^= 1;
        }
    }
    assert!(decode_failure_packet(&route, &packet).is_err());
    let a = verify_attribution_data(&route, &data, Some(&packet), None);
    assert_eq!(a.first_invalid_hop, Some(2));
    assert_eq!(a.hold_times, vec![5, 4]);

    // Success: no message.
    let mut data = AttributionData::new();
    for (step, expected) in forwarding.iter().zip(doc["success_attribution"].as_array().unwrap()) {
        assert_eq!(step["node"], expected["node"]);
        data.add_hop(&ss_of(step), hold_time(step["node"].as_u64().unwrap()), &[]);
        assert_eq!(
            data.0.to_vec(),
            hex_field(expected, "attribution_data"),
            "success, node {}",
            step["node"]
        );
    }
    let attribution = verify_attribution_data(&route, &data, None, None);
    assert_eq!(
        attribution,
        lightning_core::ln::onion::attribution::Attribution {
            hold_times: vec![5, 4, 3, 2, 1],
            first_invalid_hop: None
        }
    );
}

/// A one-hop onion to `signer` carrying `payload`, and the HTLC delivering it.
fn one_hop_onion(signer: &RawKeySigner, payload: &[u8]) -> OnionPacket {
    let secp = Secp256k1::new();
    let session_key = SecretKey::from_slice(&[0x41; 32]).unwrap();
    construct_onion_packet(&secp, &session_key, &[signer.node_id()], &[payload], &[0x42; 32]).unwrap().packet
}

fn htlc_for(onion: &OnionPacket) -> IncomingHtlc<'_> {
    IncomingHtlc {
        onion,
        payment_hash: PaymentHash([0x42; 32]),
        amount_msat: 256,
        cltv_expiry: 256,
        path_key: None,
    }
}

#[test]
fn peel_refuses_bad_version_and_bad_ephemeral_key_as_malformed() {
    let secp = Secp256k1::new();
    let signer = RawKeySigner::new(SecretKey::from_slice(&[0x11; 32]).unwrap());
    // amt_to_forward 256, outgoing_cltv_value 256, payment_data.
    let mut payload = vec![0x02, 0x02, 0x01, 0x00, 0x04, 0x02, 0x01, 0x00, 0x08, 0x22];
    payload.extend_from_slice(&[0x33; 32]);
    payload.extend_from_slice(&[0x01, 0x00]);
    let good = one_hop_onion(&signer, &payload);
    assert!(peel_payment_onion(&signer, &secp, &htlc_for(&good)).is_ok(), "the unmodified onion peels");

    let mut bad_version = good.clone();
    bad_version.version = 1;
    assert_eq!(
        peel_payment_onion(&signer, &secp, &htlc_for(&bad_version)).unwrap_err(),
        HtlcFailure::Malformed {
            failure_code: FailureCode::INVALID_ONION_VERSION,
            sha256_of_onion: sha256::Hash::hash(&bad_version.encode()).to_byte_array(),
        }
    );

    // Not a point: 0x04 is no compressed-key prefix.
    let mut bad_key = good.clone();
    bad_key.public_key = [0x04; 33];
    assert_eq!(
        peel_payment_onion(&signer, &secp, &htlc_for(&bad_key)).unwrap_err(),
        HtlcFailure::Malformed {
            failure_code: FailureCode::INVALID_ONION_KEY,
            sha256_of_onion: sha256::Hash::hash(&bad_key.encode()).to_byte_array(),
        }
    );
    // A valid point the sender did not use: the HMAC no longer matches.
    let mut other_key = good.clone();
    other_key.public_key = signer.node_id().serialize();
    assert_eq!(
        peel_payment_onion(&signer, &secp, &htlc_for(&other_key)).unwrap_err(),
        HtlcFailure::Malformed {
            failure_code: FailureCode::INVALID_ONION_HMAC,
            sha256_of_onion: sha256::Hash::hash(&other_key.encode()).to_byte_array(),
        }
    );
}

#[test]
fn peel_names_the_bad_record_in_invalid_onion_payload() {
    let secp = Secp256k1::new();
    let signer = RawKeySigner::new(SecretKey::from_slice(&[0x11; 32]).unwrap());
    // Records 2 (at 0) and 4 (at 4) are fine; unknown even type 64 at byte 8.
    let payload = [0x02, 0x02, 0x01, 0x00, 0x04, 0x02, 0x01, 0x00, 0x40, 0x00];
    let onion = one_hop_onion(&signer, &payload);
    match peel_payment_onion(&signer, &secp, &htlc_for(&onion)).unwrap_err() {
        HtlcFailure::Fail { message, .. } => {
            assert_eq!(message.reason, FailureReason::InvalidOnionPayload { tlv: Some((64, 8)) })
        }
        other => panic!("{other:?}"),
    }
    // A final payload without outgoing_cltv_value: record 4 missing (offset 0
    // for a missing record).
    let mut payload = vec![0x02, 0x02, 0x01, 0x00, 0x08, 0x22];
    payload.extend_from_slice(&[0x33; 32]);
    payload.extend_from_slice(&[0x01, 0x00]);
    let onion = one_hop_onion(&signer, &payload);
    match peel_payment_onion(&signer, &secp, &htlc_for(&onion)).unwrap_err() {
        HtlcFailure::Fail { message, .. } => {
            assert_eq!(message.reason, FailureReason::InvalidOnionPayload { tlv: Some((4, 0)) })
        }
        other => panic!("{other:?}"),
    }
}
