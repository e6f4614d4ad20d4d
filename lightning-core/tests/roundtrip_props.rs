//! Property tests: every message and TLV stream decodes back to what was
//! encoded, and the message dispatcher agrees with the structs.

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::InitFeatures;
use lightning_core::ln::msgs::{ErrorMessage, Hostname, Init, Ping, Pong, SocketAddress, WarningMessage};
use lightning_core::ln::types::ChannelId;
use lightning_core::ln::wire::{self, Message};
use lightning_core::tlv_stream;
use lightning_core::util::ser::{decode_exact, BigSize, Writeable};
use lightning_core::util::tlv::{RawBytes, TlvStream, Tu16, Tu32, Tu64};
use proptest::prelude::*;

fn features() -> impl Strategy<Value = InitFeatures> {
    proptest::collection::vec(any::<u8>(), 0..12).prop_map(InitFeatures::from_le_bytes)
}

fn chain_hash() -> impl Strategy<Value = ChainHash> {
    any::<[u8; 32]>().prop_map(ChainHash::from)
}

fn socket_address() -> impl Strategy<Value = SocketAddress> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(addr, port)| SocketAddress::TcpIpV4 { addr, port }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(addr, port)| SocketAddress::TcpIpV6 { addr, port }),
        any::<[u8; 12]>().prop_map(SocketAddress::OnionV2),
        (any::<[u8; 32]>(), any::<u16>(), any::<u8>(), any::<u16>()).prop_map(|(k, c, v, p)| {
            SocketAddress::OnionV3 { ed25519_pubkey: k, checksum: c, version: v, port: p }
        }),
        ("[a-z0-9.-]{1,255}", any::<u16>())
            .prop_map(|(h, port)| SocketAddress::Hostname { hostname: Hostname::new(&h).unwrap(), port }),
    ]
}

proptest! {
    #[test]
    fn init_round_trips(
        features in features(),
        networks in proptest::option::of(proptest::collection::vec(chain_hash(), 0..4)),
        remote in proptest::option::of(socket_address()),
    ) {
        let init = Init { features, networks, remote_network_address: remote };
        let bytes = wire::encode(&init);
        prop_assert_eq!(wire::read_message(&bytes), Ok(Message::Init(init)));
    }

    #[test]
    fn error_and_warning_round_trip(id in any::<[u8; 32]>(), data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let err = ErrorMessage { channel_id: ChannelId(id), data: data.clone() };
        prop_assert_eq!(wire::read_message(&wire::encode(&err)), Ok(Message::Error(err)));
        let warn = WarningMessage { channel_id: ChannelId(id), data };
        prop_assert_eq!(wire::read_message(&wire::encode(&warn)), Ok(Message::Warning(warn)));
    }

    #[test]
    fn ping_pong_round_trip(num_pong_bytes in any::<u16>(), byteslen in 0u16..4000) {
        let ping = Ping { num_pong_bytes, byteslen };
        prop_assert_eq!(wire::read_message(&wire::encode(&ping)), Ok(Message::Ping(ping)));
        let pong = Pong { byteslen };
        prop_assert_eq!(wire::read_message(&wire::encode(&pong)), Ok(Message::Pong(pong)));
    }

    #[test]
    fn truncated_messages_never_decode(num_pong_bytes in any::<u16>(), byteslen in 1u16..100, cut in 1usize..100) {
        let bytes = wire::encode(&Ping { num_pong_bytes, byteslen });
        let cut = cut.min(bytes.len() - 1);
        prop_assert!(wire::read_message(&bytes[..bytes.len() - cut]).is_err());
    }

    #[test]
    fn bigsize_round_trips(v in any::<u64>()) {
        let enc = BigSize(v).encode();
        prop_assert_eq!(enc.len(), BigSize::encoded_len(v));
        prop_assert_eq!(decode_exact::<BigSize>(&enc), Ok(BigSize(v)));
    }

    #[test]
    fn tlv_stream_round_trips(
        a in proptest::option::of(any::<u64>()),
        b in proptest::option::of(any::<u32>()),
        c in proptest::option::of(any::<u16>()),
        d in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        e in proptest::option::of(any::<[u8; 32]>()),
    ) {
        let s = Props {
            a: a.map(Tu64),
            b: b.map(Tu32),
            c: c.map(Tu16),
            d: d.map(RawBytes),
            e,
        };
        let bytes = s.encode();
        prop_assert_eq!(bytes.len(), s.serialized_length());
        prop_assert_eq!(Props::decode_stream(&bytes), Ok(s));
        // The generic walker sees strictly increasing types.
        let types: Vec<u64> = TlvStream::new(&bytes).map(|r| r.unwrap().record_type).collect();
        prop_assert!(types.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = wire::read_message(&data);
        let _ = Props::decode_stream(&data);
    }
}

tlv_stream! {
    /// A stream with every kind of value, for the round-trip property.
    pub struct Props {
        /// tu64.
        (1, a: Tu64),
        /// tu32.
        (3, b: Tu32),
        /// tu16.
        (4, c: Tu16),
        /// raw bytes.
        (253, d: RawBytes),
        /// 32 bytes.
        (65537, e: [u8; 32]),
    }
}
