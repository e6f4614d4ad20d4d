//! Valid inputs for the targets that have no test vectors: a handful per
//! target, so fuzzing starts past the first checks. `tests/seed_corpus.rs`
//! writes them to `corpus/NAME/seed-N` (run it with `--ignored`).

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::hashes::Hash;
use lightning_core::bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use lightning_core::bitcoin::{OutPoint, ScriptBuf, Txid};
use lightning_core::chain::channelmonitor::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCPreviousHopData, HTLCSource, OutboundPathHop,
};
use lightning_core::ln::chan_utils::{
    ChannelPublicKeys, ChannelSideParameters, ChannelTransactionParameters, CommitmentSpec,
    HTLCOutputInCommitment, HtlcDirection,
};
use lightning_core::ln::features::{ChannelFeatures, ChannelTypeFeatures};
use lightning_core::ln::msgs::UnsignedChannelUpdate;
use lightning_core::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, ShortChannelId};
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use lightning_core::sign::SignerPolicyState;
use lightning_core::util::ser::Writeable;

fn with_prefix(prefix: &[u8], bytes: Vec<u8>) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend(bytes);
    out
}

fn key(b: u8) -> (SecretKey, PublicKey) {
    let sk = SecretKey::from_slice(&[b; 32]).expect("small constant");
    (sk, PublicKey::from_secret_key(&Secp256k1::new(), &sk))
}

fn channel_parameters() -> ChannelTransactionParameters {
    let keys = |b: u8| ChannelPublicKeys {
        funding_pubkey: key(b).1,
        revocation_basepoint: key(b + 1).1,
        payment_point: key(b + 2).1,
        delayed_payment_basepoint: key(b + 3).1,
        htlc_basepoint: key(b + 4).1,
    };
    let mut channel_type = ChannelTypeFeatures::empty();
    channel_type.set_static_remote_key_required();
    channel_type.set_anchors_zero_fee_htlc_tx_required();
    ChannelTransactionParameters::new(
        ChannelSideParameters { pubkeys: keys(1), selected_contest_delay: 144 },
        ChannelSideParameters { pubkeys: keys(10), selected_contest_delay: 2016 },
        false,
        OutPoint { txid: Txid::from_byte_array([9; 32]), vout: 7 },
        1_000_000,
        channel_type,
    )
    .expect("anchors channel type is supported")
}

fn htlc() -> HTLCOutputInCommitment {
    HTLCOutputInCommitment {
        direction: HtlcDirection::Offered,
        amount_msat: 5_000_000,
        cltv_expiry: 500,
        payment_hash: PaymentHash([1; 32]),
        transaction_output_index: Some(2),
    }
}

fn spec() -> CommitmentSpec {
    CommitmentSpec {
        commitment_number: 7,
        to_broadcaster_value_msat: 1,
        to_countersignatory_value_msat: 2,
        feerate_per_kw: 253,
        broadcaster_dust_limit_satoshis: 546,
        htlcs: vec![htlc()],
    }
}

fn monitor_updates() -> Vec<Vec<u8>> {
    let (sk, pk) = key(3);
    let sig = Secp256k1::new().sign_ecdsa(&Message::from_digest([9; 32]), &sk);
    let outbound = HTLCSource::OutboundRoute {
        payment_id: PaymentId([4; 32]),
        session_priv: sk,
        path: vec![OutboundPathHop {
            node_id: pk,
            short_channel_id: ShortChannelId(42),
            fee_msat: 10,
            cltv_expiry_delta: 40,
        }],
    };
    let forwarded = HTLCSource::PreviousHop(HTLCPreviousHopData {
        channel_id: ChannelId([1; 32]),
        counterparty_node_id: pk,
        htlc_id: 9,
        incoming_packet_shared_secret: [2; 32],
    });
    let steps = vec![
        ChannelMonitorUpdateStep::LatestHolderCommitment {
            spec: spec(),
            per_commitment_point: pk,
            counterparty_sig: sig,
            counterparty_htlc_sigs: vec![sig],
            htlc_sources: vec![(htlc(), outbound)],
        },
        ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
            commitment_txid: Txid::from_byte_array([6; 32]),
            spec: spec(),
            their_per_commitment_point: pk,
            htlc_sources: vec![(htlc(), forwarded)],
        },
        ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([7; 32]) },
        ChannelMonitorUpdateStep::CommitmentSecret { commitment_number: 6, secret: [8; 32] },
        ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true },
        ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey: ScriptBuf::from_bytes(vec![0, 20]) },
    ];
    let mut out =
        vec![ChannelMonitorUpdate { update_id: 3, channel_id: ChannelId([5; 32]), updates: steps.clone() }
            .encode()];
    for step in steps {
        out.push(
            ChannelMonitorUpdate { update_id: 4, channel_id: ChannelId([6; 32]), updates: vec![step] }
                .encode(),
        );
    }
    out
}

fn chan_utils_seeds() -> Vec<Vec<u8>> {
    // Secrets at the next index from one seed (op 14), each followed by the
    // u64 of a lookup.
    let mut secrets = vec![0u8, 0];
    for _ in 0..20 {
        secrets.push(14);
        secrets.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }
    let mut policy = SignerPolicyState { highest_validated_holder_commitment: Some(3), ..Default::default() };
    policy.counterparty_points.insert(4, key(2).1);
    vec![
        secrets,
        with_prefix(&[2], channel_parameters().encode()),
        with_prefix(&[3], SignerPolicyState::default().encode()),
        with_prefix(&[3], policy.encode()),
        with_prefix(&[4], htlc().encode()),
        with_prefix(&[5], channel_parameters().holder().pubkeys.encode()),
        with_prefix(&[6], channel_parameters().holder().encode()),
        with_prefix(&[7], spec().encode()),
    ]
}

fn graph_seed() -> Vec<u8> {
    let graph = NetworkGraph::new(ChainHash::BITCOIN);
    let id = |b: u8| NodeId::from_pubkey(&key(b).1);
    let (mut a, mut b, mut c) = (id(1), id(2), id(3));
    let mut ids = [a, b, c];
    ids.sort();
    [a, b, c] = ids;
    for (scid, (x, y)) in [(1u64, (a, b)), (2, (b, c)), (3, (a, c))] {
        graph
            .add_channel_from_partial_announcement(
                scid,
                1_700_000_000,
                ChannelFeatures::empty(),
                x,
                y,
                Some(100_000),
            )
            .expect("fresh channel");
        for direction in 0..2 {
            let update = UnsignedChannelUpdate {
                chain_hash: ChainHash::BITCOIN,
                short_channel_id: ShortChannelId(scid),
                timestamp: 1_700_000_000,
                message_flags: 1,
                channel_flags: direction,
                cltv_expiry_delta: 40,
                htlc_minimum_msat: 1,
                fee_base_msat: 1000,
                fee_proportional_millionths: 100,
                htlc_maximum_msat: 50_000_000,
                excess_data: Vec::new(),
            };
            graph.update_channel_unsigned(&update).expect("known channel");
        }
    }
    graph.channel_spent(9, 1_700_000_000);
    with_prefix(&[0], graph.encode())
}

fn kv_seeds() -> Vec<Vec<u8>> {
    crate::kv::sample_values().into_iter().map(|(mode, input)| with_prefix(&[mode], input)).collect()
}

/// Seeds by target name.
pub fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    vec![
        (
            "peer_crypt",
            vec![
                vec![0, 0, 0],
                vec![0, 1, 50, 0, 2],
                vec![1, 0, 0],
                vec![1, 1, 66, 0],
                vec![2, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 1, 1, 0, 0, 1, 2, 2, 0x04, 0x10, 3, 1, 0, 18],
                vec![3, 0, 3, 1, 2, 3, 50],
            ],
        ),
        (
            "peer_manager",
            vec![
                // init (echoing the manager's features, on bitcoin), deliver,
                // ping, deliver, tick, process, drain.
                vec![1, 1, 1, 4, 0, 0, 2, 0, 10, 0, 4, 0, 4, 0, 0, 6, 7, 10, 0, 0],
                // init, then gossip queries and a timestamp filter.
                vec![
                    1, 1, 1, 11, 0, 0, 0, 0, 0, 0, 0, 100, 0, 12, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 4, 0,
                    0, 7, 10, 0, 0,
                ],
                // A closed socket, a burst of big pings, then a drain.
                vec![1, 1, 1, 4, 0, 0, 8, 0, 0, 2, 0xff, 0xf0, 0, 0, 31, 4, 0, 0, 6, 10, 0, 0],
            ],
        ),
        (
            "gossip_graph",
            vec![
                graph_seed(),
                // Two signed channels, their updates, a node announcement,
                // a prune, then a round trip.
                vec![
                    1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 2, 0, 2, 1, 0, 0, 2, 0, 1, 2, 3, 1, 0, 0, 0, 0x10, 0, 1, 0,
                    0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 1, 0, 0, 1, 0, 5, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 13,
                ],
            ],
        ),
        (
            "router",
            vec![
                vec![
                    6, 5, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 10, 1, 1, 2, 0, 2,
                ],
                vec![8; 200],
            ],
        ),
        ("chan_utils", chan_utils_seeds()),
        ("monitor_update", monitor_updates()),
        ("kv_codec", kv_seeds()),
    ]
}
