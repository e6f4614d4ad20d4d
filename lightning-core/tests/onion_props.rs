//! Property tests of the onion: random routes of 1 to 27 hops with random
//! payload sizes that fit are peeled hop by hop back to every payload; a
//! flipped bit anywhere in a packet is caught at the hop that gets it; a
//! failure from any hop is attributed to that hop and a garbled one to none.

mod onion_support;

use onion_support::RawKeySigner;
use proptest::prelude::*;

use lightning_core::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning_core::ln::onion::failure::{
    build_failure_packet, decode_failure_packet, obfuscate_failure_packet, FailureDecodeError,
    FailureMessage, FailureReason,
};
use lightning_core::ln::onion::packet::{
    construct_onion_packet, hop_payload_shift, peel_onion_with_shared_secret, OnionPacket, OnionPeelError,
    HOP_PAYLOADS_LEN, MAX_HOPS,
};
use lightning_core::ln::onion::payload::{CustomRecords, InboundHopPayload, OutboundHopPayload, PaymentData};
use lightning_core::ln::types::{PaymentSecret, ShortChannelId};
use lightning_core::sign::{NodeSigner, Recipient};
use lightning_core::util::ser::{decode_exact, Writeable};

fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid secret key", |b| SecretKey::from_slice(&b).ok())
}

/// A route: node keys and payloads whose total fits in 1300 bytes.
fn route() -> impl Strategy<Value = (Vec<SecretKey>, Vec<Vec<u8>>)> {
    (1..=MAX_HOPS)
        .prop_flat_map(|n| {
            (prop::collection::vec(secret_key(), n), prop::collection::vec((2usize..=700, any::<u8>()), n))
        })
        .prop_map(|(keys, wanted)| {
            let n = wanted.len();
            let mut budget = HOP_PAYLOADS_LEN;
            let mut payloads = Vec::with_capacity(n);
            for (i, (len, seed)) in wanted.into_iter().enumerate() {
                // Keep room for every later hop's smallest payload.
                let reserve = (n - i - 1) * hop_payload_shift(2);
                let mut len = len;
                while hop_payload_shift(len) > budget - reserve {
                    len -= 1;
                }
                budget -= hop_payload_shift(len);
                payloads.push((0..len).map(|j| seed.wrapping_add(j as u8).wrapping_mul(31)).collect());
            }
            (keys, payloads)
        })
}

fn node_ids(keys: &[SecretKey]) -> Vec<PublicKey> {
    let secp = Secp256k1::new();
    keys.iter().map(|k| PublicKey::from_secret_key(&secp, k)).collect()
}

/// Peels `packet` as node `key` would: ECDH through the signer, then one layer.
fn peel(
    key: &SecretKey, packet: &OnionPacket, ad: &[u8],
) -> Result<(Vec<u8>, Option<OnionPacket>), OnionPeelError> {
    let secp = Secp256k1::verification_only();
    let signer = RawKeySigner::new(*key);
    let Some(pk) = packet.parsed_public_key() else { return Err(OnionPeelError::InvalidKey) };
    let ss = signer.ecdh(Recipient::Node, &pk, None).expect("ECDH with a valid key");
    peel_onion_with_shared_secret(&secp, ss, packet, ad).map(|p| (p.payload, p.next_packet))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_hop_gets_its_payload((keys, payloads) in route(), session in secret_key(), ad in any::<[u8; 32]>()) {
        let secp = Secp256k1::new();
        let onion = construct_onion_packet(&secp, &session, &node_ids(&keys), &payloads, &ad).unwrap();
        let mut packet = onion.packet;
        for (i, key) in keys.iter().enumerate() {
            let (payload, next) = peel(key, &packet, &ad).unwrap();
            prop_assert_eq!(&payload, &payloads[i]);
            match next {
                Some(next) => {
                    prop_assert!(i + 1 < keys.len(), "final hop must see an all-zero HMAC");
                    packet = next;
                }
                None => prop_assert_eq!(i + 1, keys.len()),
            }
        }
    }

    #[test]
    fn a_flipped_bit_is_caught_where_it_lands(
        (keys, payloads) in route(), session in secret_key(), hop_sel in any::<prop::sample::Index>(),
        bit in 0..(1366 * 8usize),
    ) {
        let secp = Secp256k1::new();
        let onion = construct_onion_packet(&secp, &session, &node_ids(&keys), &payloads, b"ad").unwrap();
        let at = hop_sel.index(keys.len());
        let mut packet = onion.packet;
        for key in &keys[..at] {
            packet = peel(key, &packet, b"ad").unwrap().1.unwrap();
        }
        let mut bytes = packet.encode();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let bad: OnionPacket = decode_exact(&bytes).unwrap();
        let result = peel(&keys[at], &bad, b"ad");
        let expected_kind = match bit / 8 {
            0 => matches!(result, Err(OnionPeelError::InvalidVersion)),
            1..=33 => matches!(result, Err(OnionPeelError::InvalidKey) | Err(OnionPeelError::InvalidHmac)),
            _ => matches!(result, Err(OnionPeelError::InvalidHmac)),
        };
        prop_assert!(expected_kind, "bit {} at hop {}: {:?}", bit, at, result.map(|r| r.0));
    }

    // Routes of every length a packet can carry: the HMAC-based failure
    // packet has no hop limit of its own (only the separate attribution_data
    // TLV stops at ATTRIBUTION_MAX_HOPS = 20, and it is not used here).
    #[test]
    fn failures_are_attributed_to_the_right_hop_or_to_none(
        secrets in prop::collection::vec(any::<[u8; 32]>(), 1..=MAX_HOPS), erring_sel in any::<prop::sample::Index>(),
        htlc_msat in any::<u64>(), height in any::<u32>(), flip in any::<prop::sample::Index>(),
    ) {
        let shared: Vec<_> = secrets.iter().map(|s| lightning_core::bitcoin::secp256k1::ecdh::SharedSecret::from_bytes(*s)).collect();
        let erring = erring_sel.index(shared.len());
        let msg = FailureMessage::from(FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat, height });
        let mut packet = build_failure_packet(&secrets[erring], &msg.encode(), 256).unwrap();
        for s in secrets[..erring].iter().rev() {
            obfuscate_failure_packet(s, &mut packet);
        }
        let decoded = decode_failure_packet(&shared, &packet).unwrap();
        // Two hops with the same secret are the same hop to the origin.
        prop_assume!(secrets[..erring].iter().all(|s| *s != secrets[erring]));
        prop_assert_eq!(decoded.hop_index, erring);
        prop_assert_eq!(decoded.message.unwrap(), msg);
        let byte = flip.index(packet.len());
        packet[byte] ^= 0x01;
        prop_assert_eq!(decode_failure_packet(&shared, &packet), Err(FailureDecodeError::Unattributable));
    }

    #[test]
    fn typed_payloads_round_trip(
        scid in any::<u64>(), amt in any::<u64>(), cltv in any::<u32>(), total in any::<u64>(),
        secret in any::<[u8; 32]>(), metadata in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        custom in prop::collection::btree_map((1u64 << 16)..u64::MAX, prop::collection::vec(any::<u8>(), 0..16), 0..4),
    ) {
        let forward = OutboundHopPayload::Forward {
            short_channel_id: ShortChannelId(scid), amt_to_forward_msat: amt, outgoing_cltv_value: cltv,
        };
        prop_assert_eq!(
            InboundHopPayload::decode(&forward.encode(), false, false).unwrap(),
            InboundHopPayload::Forward { short_channel_id: ShortChannelId(scid), amt_to_forward_msat: amt, outgoing_cltv_value: cltv }
        );
        // Only odd custom types are passed through; even ones must be rejected.
        let mut records = CustomRecords::new();
        for (t, v) in &custom {
            records.insert(*t | 1, v.clone()).unwrap();
        }
        let payment_data = Some(PaymentData { payment_secret: PaymentSecret(secret), total_msat: total });
        let receive = OutboundHopPayload::Receive {
            amt_to_forward_msat: amt, outgoing_cltv_value: cltv, payment_data,
            payment_metadata: metadata.clone(), custom_records: records.clone(),
        };
        prop_assert_eq!(
            InboundHopPayload::decode(&receive.encode(), true, false).unwrap(),
            InboundHopPayload::Receive {
                amt_to_forward_msat: amt, outgoing_cltv_value: cltv, payment_data, payment_metadata: metadata,
                total_msat: total, custom_records: records,
            }
        );
        if let Some((t, v)) = custom.iter().next() {
            let mut even = CustomRecords::new();
            even.insert(*t & !1 | (1 << 16), v.clone()).unwrap();
            let bad = OutboundHopPayload::Receive {
                amt_to_forward_msat: amt, outgoing_cltv_value: cltv, payment_data: None,
                payment_metadata: None, custom_records: even,
            };
            prop_assert!(InboundHopPayload::decode(&bad.encode(), true, false).is_err());
        }
    }
}
