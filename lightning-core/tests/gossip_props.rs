//! Property tests for the BOLT 7 messages: every message round-trips through
//! the wire dispatcher, the signed part of an announcement is exactly the
//! bytes after its signatures, signed gossip as received (non-minimal feature
//! vectors included) re-encodes byte for byte, and arbitrary bytes never panic
//! the decoder.

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, SecretKey};
use lightning_core::ln::features::{ChannelFeatures, NodeFeatures};
use lightning_core::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, GossipTimestampFilter, NodeAlias, NodeAnnouncement,
    QueryChannelRange, QueryShortChannelIds, ReplyChannelRange, SocketAddress, UnsignedChannelAnnouncement,
    UnsignedChannelUpdate, UnsignedNodeAnnouncement,
};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::ln::wire::{self, Message};
use lightning_core::util::ser::{decode_exact, Writeable};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = PublicKey> {
    (1u8..=200).prop_map(|b| {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    })
}

fn sig() -> impl Strategy<Value = Signature> {
    any::<[u8; 32]>().prop_map(|mut r| {
        r[0] &= 0x7f;
        r[31] |= 1;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r);
        bytes[32..].copy_from_slice(&r);
        Signature::from_compact(&bytes).unwrap()
    })
}

fn chain() -> impl Strategy<Value = ChainHash> {
    any::<[u8; 32]>().prop_map(ChainHash::from)
}

fn excess() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..40)
}

fn check(msg: Message<wire::NoCustomMessage>) {
    let bytes = msg.encode();
    assert_eq!(wire::read_message(&bytes), Ok(msg));
}

proptest! {
    #[test]
    fn channel_announcements_round_trip(
        sigs in proptest::array::uniform4(sig()), keys in proptest::array::uniform4(key()),
        features in proptest::collection::vec(any::<u8>(), 0..6), chain in chain(), scid in any::<u64>(), excess in excess(),
    ) {
        let contents = UnsignedChannelAnnouncement {
            features: ChannelFeatures::from_le_bytes(features), chain_hash: chain, short_channel_id: ShortChannelId(scid),
            node_id_1: keys[0], node_id_2: keys[1], bitcoin_key_1: keys[2], bitcoin_key_2: keys[3], excess_data: excess,
        };
        let msg = ChannelAnnouncement {
            node_signature_1: sigs[0], node_signature_2: sigs[1], bitcoin_signature_1: sigs[2], bitcoin_signature_2: sigs[3],
            contents: contents.clone(),
        };
        let bytes = wire::encode(&msg);
        prop_assert_eq!(&bytes[2 + 256..], &contents.encode()[..]);
        check(Message::ChannelAnnouncement(msg));
    }

    #[test]
    fn node_announcements_round_trip(
        s in sig(), k in key(), ts in any::<u32>(), rgb in any::<[u8; 3]>(), alias in any::<[u8; 32]>(),
        ports in proptest::collection::vec(any::<u16>(), 0..4), unknown in proptest::option::of(excess()), excess in excess(),
    ) {
        let addresses = ports.iter().map(|p| SocketAddress::TcpIpV4 { addr: [10, 0, 0, 1], port: *p }).collect();
        let excess_address_data = unknown.map(|mut u| { u.insert(0, 200); u }).unwrap_or_default();
        let contents = UnsignedNodeAnnouncement {
            features: NodeFeatures::empty(), timestamp: ts, node_id: k, rgb, alias: NodeAlias(alias),
            addresses, excess_address_data, excess_data: excess,
        };
        check(Message::NodeAnnouncement(NodeAnnouncement { signature: s, contents }));
    }

    #[test]
    fn channel_updates_round_trip(
        s in sig(), chain in chain(), scid in any::<u64>(), ts in any::<u32>(), mf in any::<u8>(), cf in any::<u8>(),
        cltv in any::<u16>(), min in any::<u64>(), base in any::<u32>(), ppm in any::<u32>(), max in any::<u64>(), excess in excess(),
    ) {
        let contents = UnsignedChannelUpdate {
            chain_hash: chain, short_channel_id: ShortChannelId(scid), timestamp: ts, message_flags: mf, channel_flags: cf,
            cltv_expiry_delta: cltv, htlc_minimum_msat: min, fee_base_msat: base, fee_proportional_millionths: ppm,
            htlc_maximum_msat: max, excess_data: excess,
        };
        check(Message::ChannelUpdate(ChannelUpdate { signature: s, contents }));
    }

    #[test]
    fn queries_round_trip(
        chain in chain(), ids in proptest::collection::vec(any::<u64>(), 0..50), with_flags in any::<bool>(),
        first in any::<u32>(), n in any::<u32>(), option in proptest::option::of(any::<u64>()), complete in any::<bool>(),
        with_ts in any::<bool>(), with_cs in any::<bool>(),
    ) {
        let short_channel_ids: Vec<ShortChannelId> = ids.iter().map(|i| ShortChannelId(*i)).collect();
        let query_flags = with_flags.then(|| ids.iter().map(|i| i % 300).collect());
        check(Message::QueryShortChannelIds(QueryShortChannelIds { chain_hash: chain, short_channel_ids: short_channel_ids.clone(), query_flags }));
        check(Message::QueryChannelRange(QueryChannelRange { chain_hash: chain, first_blocknum: first, number_of_blocks: n, query_option: option }));
        let pairs: Vec<(u32, u32)> = ids.iter().map(|i| (*i as u32, (*i >> 32) as u32)).collect();
        check(Message::ReplyChannelRange(ReplyChannelRange {
            chain_hash: chain, first_blocknum: first, number_of_blocks: n, sync_complete: complete, short_channel_ids,
            timestamps: with_ts.then(|| pairs.clone()), checksums: with_cs.then_some(pairs),
        }));
        check(Message::GossipTimestampFilter(GossipTimestampFilter { chain_hash: chain, first_timestamp: first, timestamp_range: n }));
    }

    #[test]
    fn arbitrary_gossip_bytes_never_panic(kind in 256u16..=265, body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = kind.to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        if let Ok(msg) = wire::read_message(&bytes) {
            if !matches!(msg, Message::UnknownOdd(_)) {
                prop_assert_eq!(wire::read_message(&msg.encode()), Ok(msg));
            }
        }
    }

    /// The signatures cover the bytes as sent, so what decodes must encode to
    /// the same bytes (what is verified and relayed), however the features
    /// are padded.
    #[test]
    fn signed_gossip_re_encodes_byte_for_byte(
        sigs in proptest::array::uniform4(sig()), keys in proptest::array::uniform4(key()), pad in 0usize..4,
        features in proptest::collection::vec(any::<u8>(), 0..6), chain in chain(), scid in any::<u64>(),
        excess in excess(), ts in any::<u32>(), host in "[a-z0-9.]{1,20}", port in any::<u16>(),
        update in proptest::collection::vec(any::<u8>(), 72..120),
    ) {
        let mut flags = vec![0u8; pad];
        flags.extend_from_slice(&features);
        let mut feature_bytes = (flags.len() as u16).to_be_bytes().to_vec();
        feature_bytes.extend_from_slice(&flags);

        let mut ann: Vec<u8> = sigs.iter().flat_map(|s| s.serialize_compact()).collect();
        ann.extend_from_slice(&feature_bytes);
        ann.extend_from_slice(chain.as_bytes());
        ann.extend_from_slice(&scid.to_be_bytes());
        keys.iter().for_each(|k| ann.extend_from_slice(&k.serialize()));
        ann.extend_from_slice(&excess);
        let decoded: ChannelAnnouncement = decode_exact(&ann).unwrap();
        prop_assert_eq!(decoded.encode(), ann.clone());
        prop_assert_eq!(&decoded.contents.encode()[..], &ann[256..]);

        let mut addresses = vec![5u8, host.len() as u8];
        addresses.extend_from_slice(host.as_bytes());
        addresses.extend_from_slice(&port.to_be_bytes());
        addresses.extend_from_slice(&[1, 10, 0, 0, 1, 0x26, 0x07]);
        let mut node = sigs[0].serialize_compact().to_vec();
        node.extend_from_slice(&feature_bytes);
        node.extend_from_slice(&ts.to_be_bytes());
        node.extend_from_slice(&keys[0].serialize());
        node.extend_from_slice(&[1, 2, 3]);
        node.extend_from_slice(&[b'a'; 32]);
        node.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
        node.extend_from_slice(&addresses);
        node.extend_from_slice(&excess);
        let decoded: NodeAnnouncement = decode_exact(&node).unwrap();
        prop_assert_eq!(decoded.encode(), node);

        let mut upd = sigs[1].serialize_compact().to_vec();
        upd.extend_from_slice(&update);
        let decoded: ChannelUpdate = decode_exact(&upd).unwrap();
        prop_assert_eq!(decoded.encode(), upd);
    }
}
