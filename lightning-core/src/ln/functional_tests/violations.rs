//! Counterparty protocol violations: each check we enforce, triggered by a
//! tampered message, is caught for its stated reason (an `error` is sent and
//! the channel, if any, is closed).

use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::{self, BaseMessageHandler, ChannelMessageHandler, ErrorAction};
use crate::ln::types::{ChannelId, PaymentPreimage};
use crate::prelude::*;
use crate::util::config::UserConfig;
use bitcoin::ScriptBuf;

/// Node `node` answered with an `error` whose text contains `why`.
pub(super) fn assert_error_sent(net: &Network, node: usize, why: &str) {
    let msgs = net.nodes[node].msgs();
    let found = msgs.iter().any(|m| match m {
        MessageSendEvent::HandleError { action: ErrorAction::SendErrorMessage { msg }, .. } => {
            msg.printable_data().contains(why)
        }
        _ => false,
    });
    assert!(found, "expected an error containing {why:?}, got {msgs:?}");
}

/// Node `node` closed `chan` for a reason containing `why`, and told the
/// peer.
pub(super) fn assert_closed(net: &Network, node: usize, chan: ChannelId, why: &str) {
    let events = net.nodes[node].events();
    let closed = events.iter().any(|e| match e {
        Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } => {
            *channel_id == chan && err.contains(why)
        }
        _ => false,
    });
    assert!(closed, "expected channel closed for {why:?}, got {events:?}");
    assert_error_sent(net, node, why);
    assert!(net.nodes[node].node.list_channels().iter().all(|c| c.channel_id != chan));
}

/// A change made to a message before delivering it.
type Mutation<M> = Box<dyn Fn(&mut M)>;

pub(super) fn open_channel_msg(net: &Network) -> msgs::OpenChannel {
    net.nodes[0].node.create_channel(net.nodes[1].node_id, 500_000, 0, 1, None).unwrap();
    match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendOpenChannel { msg, .. }) => msg,
        other => panic!("expected open_channel, got {other:?}"),
    }
}

#[test]
fn open_channel_violations_are_refused() {
    let net = Network::new(2);
    net.connect(0, 1);
    let base = open_channel_msg(&net);
    let cases: Vec<(&str, Mutation<msgs::OpenChannel>)> = vec![
        ("another chain", Box::new(|m| m.chain_hash = bitcoin::blockdata::constants::ChainHash::BITCOIN)),
        ("below our minimum", Box::new(|m| m.funding_satoshis = 999)),
        ("exceeds our maximum", Box::new(|m| m.funding_satoshis = 1 << 24)),
        ("push_msat exceeds", Box::new(|m| m.push_msat = m.funding_satoshis * 1000 + 1)),
        ("to_self_delay", Box::new(|m| m.to_self_delay = 2017)),
        ("max_accepted_htlcs 484", Box::new(|m| m.max_accepted_htlcs = 484)),
        ("max_accepted_htlcs 0", Box::new(|m| m.max_accepted_htlcs = 0)),
        ("below 354", Box::new(|m| m.dust_limit_satoshis = 353)),
        (
            "greater than channel_reserve",
            Box::new(|m| m.dust_limit_satoshis = m.channel_reserve_satoshis + 1),
        ),
        (
            "dust_limit_satoshis 30000 exceeds our max_dust_limit_satoshis",
            Box::new(|m| {
                m.dust_limit_satoshis = 30_000;
                m.channel_reserve_satoshis = 40_000;
            }),
        ),
        ("below the relay floor", Box::new(|m| m.feerate_per_kw = 252)),
        ("too high", Box::new(|m| m.feerate_per_kw = 253 * 11)),
        ("htlc_minimum_msat is not below", Box::new(|m| m.htlc_minimum_msat = m.funding_satoshis * 1000)),
        ("exceeds the channel value", Box::new(|m| m.channel_reserve_satoshis = m.funding_satoshis + 1)),
        (
            "must require option_static_remotekey",
            Box::new(|m| {
                m.channel_type = Some(crate::ln::features::ChannelTypeFeatures::empty());
            }),
        ),
        (
            "unknown bits",
            Box::new(|m| {
                m.channel_type = Some(crate::ln::features::ChannelTypeFeatures::from_le_bytes(vec![
                    0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                ]));
            }),
        ),
        (
            "zero-conf",
            Box::new(|m| {
                let mut ct = crate::ln::features::ChannelTypeFeatures::empty();
                ct.set_static_remote_key_required();
                ct.set_required(crate::ln::features::bits::SCID_ALIAS);
                ct.set_required(crate::ln::features::bits::ZERO_CONF);
                m.channel_type = Some(ct);
            }),
        ),
        (
            "we do not accept option_anchors",
            Box::new(|m| {
                let mut ct = crate::ln::features::ChannelTypeFeatures::empty();
                ct.set_static_remote_key_required();
                ct.set_anchors_zero_fee_htlc_tx_required();
                m.channel_type = Some(ct);
            }),
        ),
        (
            "upfront_shutdown_script is not a standard",
            Box::new(|m| m.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x6a, 1, 2]))),
        ),
        (
            "neither side's balance",
            Box::new(|m| {
                m.funding_satoshis = 2_000;
                m.channel_reserve_satoshis = 1_000;
                m.feerate_per_kw = 2000;
            }),
        ),
        (
            "cannot pay the first commitment's fee",
            Box::new(|m| {
                m.funding_satoshis = 1_000;
                m.channel_reserve_satoshis = 1_000;
                m.feerate_per_kw = 2500;
            }),
        ),
    ];
    for (why, mutate) in cases {
        let mut msg = base.clone();
        msg.temporary_channel_id = ChannelId([why.len() as u8; 32]);
        mutate(&mut msg);
        net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &msg);
        let why = why.trim_end_matches(" 484").trim_end_matches(" 0");
        assert_error_sent(&net, 1, why);
        assert!(net.nodes[1].node.list_channels().is_empty(), "{why}: no channel kept");
    }
    // The untouched message is accepted.
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &base);
    assert!(matches!(net.nodes[1].msgs()[..], [MessageSendEvent::SendAcceptChannel { .. }]));
}

#[test]
fn accept_channel_violations_are_refused() {
    let mut anchors = test_config();
    anchors.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = true;
    let cases: Vec<(&str, Mutation<msgs::AcceptChannel>)> = vec![
        ("minimum_depth", Box::new(|m| m.minimum_depth = 145)),
        ("to_self_delay", Box::new(|m| m.to_self_delay = 5000)),
        ("max_accepted_htlcs", Box::new(|m| m.max_accepted_htlcs = 500)),
        (
            "channel_type differs",
            Box::new(|m| {
                let mut ct = crate::ln::features::ChannelTypeFeatures::empty();
                ct.set_static_remote_key_required();
                ct.set_anchors_zero_fee_htlc_tx_required();
                m.channel_type = Some(ct);
            }),
        ),
        ("below 354", Box::new(|m| m.dust_limit_satoshis = 100)),
        ("exceeds the reserve we require", Box::new(|m| m.dust_limit_satoshis = 6000)),
        ("below our dust_limit", Box::new(|m| m.channel_reserve_satoshis = 500)),
    ];
    for (why, mutate) in cases {
        let net = Network::with_configs(vec![test_config(), anchors]);
        net.connect(0, 1);
        let open = open_channel_msg(&net);
        net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
        let Some(MessageSendEvent::SendAcceptChannel { mut msg, .. }) = net.nodes[1].msgs().pop() else {
            panic!()
        };
        mutate(&mut msg);
        net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &msg);
        let events = net.nodes[0].events();
        assert!(
            events.iter().any(|e| matches!(e, Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. } if err.contains(why))),
            "{why}: {events:?}"
        );
        assert_error_sent(&net, 0, why);
    }
}

#[test]
fn bad_funding_signatures_are_refused() {
    let net = Network::new(2);
    net.connect(0, 1);
    let _ = net.start_funding(0, 1, 300_000, 0);
    let Some(MessageSendEvent::SendFundingCreated { mut msg, .. }) = net.nodes[0].msgs().pop() else {
        panic!()
    };
    msg.signature = msgs::ChannelReady { ..dummy_ready() }.pipe_sig();
    net.nodes[1].node.handle_funding_created(net.nodes[0].node_id, &msg);
    assert_error_sent(&net, 1, "invalid funding signature");
    // A correct funding_created with a tampered funding_signed back.
    let net2 = {
        let n = Network::new(2);
        n.connect(0, 1);
        n
    };
    let net = net2;
    let (_, tx) = net.start_funding(0, 1, 300_000, 0);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    let Some(MessageSendEvent::SendFundingSigned { mut msg, .. }) = net.nodes[1].msgs().pop() else {
        panic!()
    };
    msg.signature = dummy_ready().pipe_sig();
    net.nodes[0].node.handle_funding_signed(net.nodes[1].node_id, &msg);
    let chan = ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    assert_closed(&net, 0, chan, "invalid funding signature");
    assert!(net.nodes[0].broadcaster.take().is_empty(), "funding never broadcast");
}

pub(super) fn dummy_ready() -> msgs::ChannelReady {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let sk = bitcoin::secp256k1::SecretKey::from_slice(&[5; 32]).unwrap();
    msgs::ChannelReady {
        channel_id: ChannelId([0; 32]),
        second_per_commitment_point: bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &sk),
        short_channel_id_alias: None,
    }
}

pub(super) trait PipeSig {
    fn pipe_sig(&self) -> bitcoin::secp256k1::ecdsa::Signature;
}
impl PipeSig for msgs::ChannelReady {
    fn pipe_sig(&self) -> bitcoin::secp256k1::ecdsa::Signature {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let sk = bitcoin::secp256k1::SecretKey::from_slice(&[6; 32]).unwrap();
        secp.sign_ecdsa(&bitcoin::secp256k1::Message::from_digest([1; 32]), &sk)
    }
}

/// A channel 0 → 1 with 100k sat on node 1's side, and an `update_add_htlc`
/// from node 0 (not delivered) to tamper with.
pub(super) fn channel_with_add(
    fundee: UserConfig,
) -> (Network, ChannelId, msgs::UpdateAddHTLC, msgs::CommitmentSigned) {
    let mut net = Network::with_configs(vec![test_config(), fundee]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 100_000_000);
    let _ = net.route_payment(0, 1, 2_000_000);
    let Some(MessageSendEvent::UpdateHTLCs { updates, .. }) = net.nodes[0].msgs().pop() else { panic!() };
    (net, chan, updates.update_add_htlcs[0].clone(), updates.commitment_signed.unwrap())
}

#[test]
fn update_add_htlc_violations_close_the_channel() {
    let mut small_inflight = test_config();
    small_inflight.channel_handshake_config.max_inbound_htlc_value_in_flight_percent_of_channel = 1;
    let mut min_htlc = test_config();
    min_htlc.channel_handshake_config.our_htlc_minimum_msat = 5000;
    let cases: Vec<(&str, UserConfig, Mutation<msgs::UpdateAddHTLC>)> = vec![
        ("is not the next id", test_config(), Box::new(|m| m.htlc_id = 5)),
        ("of 0 msat", test_config(), Box::new(|m| m.amount_msat = 0)),
        ("below our htlc_minimum_msat", min_htlc, Box::new(|m| m.amount_msat = 4999)),
        ("500000000", test_config(), Box::new(|m| m.cltv_expiry = 500_000_000)),
        ("max_htlc_value_in_flight_msat", small_inflight, Box::new(|m| m.amount_msat = 10_000_001)),
        (
            "update_add_htlc the counterparty cannot afford with its reserve and fees",
            test_config(),
            Box::new(|m| m.amount_msat = 895_000_000),
        ),
        (
            "update_add_htlc amount exceeds the counterparty's balance",
            test_config(),
            Box::new(|m| m.amount_msat = 900_000_001),
        ),
    ];
    for (why, config, mutate) in cases {
        let (net, chan, mut add, _) = channel_with_add(config);
        mutate(&mut add);
        net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
        assert_closed(&net, 1, chan, why);
    }
}

#[test]
fn too_many_htlcs_close_the_channel() {
    let mut fundee = test_config();
    fundee.channel_handshake_config.our_max_accepted_htlcs = 2;
    let (net, chan, add, _) = channel_with_add(fundee);
    for id in 0..3 {
        let mut m = add.clone();
        m.htlc_id = id;
        net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &m);
    }
    assert_closed(&net, 1, chan, "max_accepted_htlcs");
}

#[test]
fn commitment_signed_violations_close_the_channel() {
    let (net, chan, add, mut cs) = channel_with_add(test_config());
    net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
    cs.signature = dummy_ready().pipe_sig();
    net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, &cs);
    assert_closed(&net, 1, chan, "invalid commitment signature");

    let (net, chan, add, mut cs) = channel_with_add(test_config());
    net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
    cs.htlc_signatures.push(cs.signature);
    net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, &cs);
    assert_closed(&net, 1, chan, "HTLC signatures");
}

#[test]
fn revoke_and_ack_violations_close_the_channel() {
    // Unexpected: nothing awaits revocation.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let raa = msgs::RevokeAndACK {
        channel_id: chan,
        per_commitment_secret: [1; 32],
        next_per_commitment_point: dummy_ready().second_per_commitment_point,
    };
    net.nodes[0].node.handle_revoke_and_ack(net.nodes[1].node_id, &raa);
    assert_closed(&net, 0, chan, "no commitment is awaiting revocation");

    // A wrong secret.
    let (net, chan, add, cs) = channel_with_add(test_config());
    net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
    net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, &cs);
    let mut raa = match net.nodes[1]
        .msgs()
        .into_iter()
        .find(|m| matches!(m, MessageSendEvent::SendRevokeAndACK { .. }))
    {
        Some(MessageSendEvent::SendRevokeAndACK { msg, .. }) => msg,
        _ => panic!(),
    };
    raa.per_commitment_secret[0] ^= 1;
    net.nodes[0].node.handle_revoke_and_ack(net.nodes[1].node_id, &raa);
    assert_closed(&net, 0, chan, "does not match the revoked commitment's point");
}

#[test]
fn removal_violations_close_the_channel() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (_, _, _) = net.send_payment(0, 1, 5_000_000);
    let node_1 = net.nodes[1].node_id;
    // Wrong preimage.
    net.nodes[0].node.handle_update_fulfill_htlc(
        node_1,
        &msgs::UpdateFulfillHTLC {
            channel_id: chan,
            htlc_id: 0,
            payment_preimage: PaymentPreimage([0; 32]),
            attribution_data: None,
        },
    );
    assert_closed(&net, 0, chan, "preimage does not match");

    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = net.send_payment(0, 1, 5_000_000);
    let node_1 = net.nodes[1].node_id;
    net.nodes[0].node.handle_update_fail_htlc(
        node_1,
        &msgs::UpdateFailHTLC { channel_id: chan, htlc_id: 7, reason: vec![0; 300], attribution_data: None },
    );
    assert_closed(&net, 0, chan, "not irrevocably committed");

    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = net.send_payment(0, 1, 5_000_000);
    let node_1 = net.nodes[1].node_id;
    net.nodes[0].node.handle_update_fail_malformed_htlc(
        node_1,
        &msgs::UpdateFailMalformedHTLC {
            channel_id: chan,
            htlc_id: 0,
            sha256_of_onion: [0; 32],
            failure_code: 0x4000 | 5,
        },
    );
    assert_closed(&net, 0, chan, "BADONION");

    // A second removal of the same HTLC.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = net.send_payment(0, 1, 5_000_000);
    let node_1 = net.nodes[1].node_id;
    let fail =
        msgs::UpdateFailHTLC { channel_id: chan, htlc_id: 0, reason: vec![0; 300], attribution_data: None };
    net.nodes[0].node.handle_update_fail_htlc(node_1, &fail);
    net.nodes[0].node.handle_update_fail_htlc(node_1, &fail);
    assert_closed(&net, 0, chan, "already being removed");
}

#[test]
fn update_fee_violations_close_the_channel() {
    let cases: Vec<(&str, bool, u32, u32)> = vec![
        ("update_fee from the fundee", false, 1000, 253),
        ("below the relay floor", true, 200, 253),
        ("far below our estimate", true, 300, 5000),
        ("far above our estimate", true, 253 * 11, 253),
        ("the funder cannot afford the feerate it proposed", true, 20_000_000, 10_000_000),
    ];
    for (why, from_funder, feerate, estimate) in cases {
        let mut net = Network::new(2);
        net.connect(0, 1);
        let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
        let msg = msgs::UpdateFee { channel_id: chan, feerate_per_kw: feerate };
        if from_funder {
            // The fundee (node 1) receives it from the funder.
            *net.nodes[1].fee_estimator.feerate.lock() = estimate;
            net.nodes[1].node.handle_update_fee(net.nodes[0].node_id, &msg);
            assert_closed(&net, 1, chan, why);
        } else {
            net.nodes[0].node.handle_update_fee(net.nodes[1].node_id, &msg);
            assert_closed(&net, 0, chan, why);
        }
    }
}

#[test]
fn shutdown_violations_close_the_channel() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.nodes[1].node.handle_shutdown(
        net.nodes[0].node_id,
        &msgs::Shutdown { channel_id: chan, scriptpubkey: ScriptBuf::from_bytes(vec![0x51]) },
    );
    assert_closed(&net, 1, chan, "not a standard script");

    // An HTLC offered after shutdown.
    let (net, chan, add, _) = channel_with_add(test_config());
    let script = bitcoin::ScriptBuf::new_p2wpkh(
        &<bitcoin::WPubkeyHash as bitcoin::hashes::Hash>::from_byte_array([3; 20]),
    );
    net.nodes[1]
        .node
        .handle_shutdown(net.nodes[0].node_id, &msgs::Shutdown { channel_id: chan, scriptpubkey: script });
    let _ = net.nodes[1].msgs();
    net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
    assert_closed(&net, 1, chan, "after the counterparty's shutdown");
}

#[test]
fn closing_signed_violations_close_the_channel() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // Before any shutdown.
    let closing = msgs::ClosingSigned {
        channel_id: chan,
        fee_satoshis: 500,
        signature: dummy_ready().pipe_sig(),
        fee_range: None,
    };
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &closing);
    assert_closed(&net, 1, chan, "before shutdown completed");

    // A bad signature during negotiation.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    // shutdown 0→1, shutdown 1→0, then node 0's closing_signed.
    for i in 0..2 {
        for ev in net.nodes[i].msgs() {
            net.deliver(i, ev);
        }
    }
    let mut msgs_0 = net.nodes[0].msgs();
    let Some(MessageSendEvent::SendClosingSigned { mut msg, .. }) = msgs_0.pop() else {
        panic!("{msgs_0:?}")
    };
    msg.signature = dummy_ready().pipe_sig();
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &msg);
    assert_closed(&net, 1, chan, "closing_signed signature is invalid");

    // A fee larger than the funder's whole balance (checked before the
    // signature, so a correctly signed one is not needed).
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    for i in 0..2 {
        for ev in net.nodes[i].msgs() {
            net.deliver(i, ev);
        }
    }
    let mut msgs_0 = net.nodes[0].msgs();
    let Some(MessageSendEvent::SendClosingSigned { mut msg, .. }) = msgs_0.pop() else {
        panic!("{msgs_0:?}")
    };
    msg.fee_satoshis = 1_000_001;
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &msg);
    assert_closed(&net, 1, chan, "closing_signed fee exceeds the funder's balance");
}

#[test]
fn reestablish_with_a_wrong_secret_closes_and_data_loss_is_detected() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    net.send_and_claim(0, 1, 10_000_000);
    net.send_and_claim(0, 1, 10_000_000);

    // A tampered channel_reestablish: closed with an error, commitment broadcast.
    net.disconnect(0, 1);
    net.nodes[1].node.peer_connected(net.nodes[0].node_id, &init_of(&net, 0), true).unwrap();
    let Some(MessageSendEvent::SendChannelReestablish { msg: mut bad, .. }) = net.nodes[1].msgs().pop()
    else {
        panic!()
    };
    bad.your_last_per_commitment_secret[3] ^= 1;
    net.nodes[0].node.peer_connected(net.nodes[1].node_id, &init_of(&net, 1), false).unwrap();
    let _ = net.nodes[0].msgs();
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &bad);
    assert_closed(&net, 0, chan, "your_last_per_commitment_secret is wrong");
    assert_eq!(net.nodes[0].broadcaster.take().len(), 1);

    // Node 0 restarts from the stale state: node 1's reestablish proves it
    // is behind; node 0 must not broadcast its revoked commitment.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    // Node 0 saves its state now, then moves on.
    let stale = net.nodes[0].node.encode();
    net.send_and_claim(0, 1, 10_000_000);
    net.send_and_claim(0, 1, 10_000_000);
    net.disconnect(0, 1);
    let n = &net.nodes[0];
    let keys = crate::sign::KeysManager::new(&n.seed, 42, 0);
    let material = keys.get_inbound_payment_key_material();
    let reloaded = crate::ln::channelmanager::ChannelManager::read(
        &mut &stale[..],
        crate::ln::channelmanager::ChannelManagerReadArgs {
            fee_estimator: alloc::sync::Arc::clone(&n.fee_estimator),
            chain_monitor: alloc::sync::Arc::clone(&n.watch),
            tx_broadcaster: alloc::sync::Arc::clone(&n.broadcaster),
            router: test_router(&n.network_graph, &n.scorer),
            logger: alloc::sync::Arc::clone(&n.logger),
            keys,
            config: n.config,
            inbound_payment_key_material: material,
        },
    )
    .unwrap();
    net.nodes[0].node = reloaded;
    net.connect(0, 1);
    net.process_all();
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } if *channel_id == chan && err.contains("lost channel state"))),
        "{events:?}"
    );
    assert!(net.nodes[0].broadcaster.take().is_empty(), "a node that lost state must not broadcast");
    let forced = net.nodes[0].watch.updates.lock().last().cloned().unwrap();
    assert_eq!(
        forced.updates,
        vec![crate::chain::channelmonitor::ChannelMonitorUpdateStep::ChannelForceClosed {
            should_broadcast: false
        }]
    );
    // Node 1 got the error and broadcast its own (current) commitment.
    assert_eq!(net.nodes[1].broadcaster.take().len(), 1);
}

pub(super) fn init_of(net: &Network, i: usize) -> msgs::Init {
    msgs::Init { features: net.nodes[i].node.init_features(), networks: None, remote_network_address: None }
}

#[test]
fn a_peer_cannot_keep_more_than_four_unfunded_channels_with_us() {
    use crate::ln::channelmanager::MAX_UNFUNDED_CHANNELS_PER_PEER;
    for manual in [false, true] {
        let mut fundee = test_config();
        fundee.manual_accept_inbound_channels = manual;
        let net = Network::with_configs(vec![test_config(), fundee]);
        net.connect(0, 1);
        let opens: Vec<msgs::OpenChannel> = (0..MAX_UNFUNDED_CHANNELS_PER_PEER + 2)
            .map(|i| {
                net.nodes[0].node.create_channel(net.nodes[1].node_id, 500_000, 0, i as u128, None).unwrap();
                match net.nodes[0].msgs().pop() {
                    Some(MessageSendEvent::SendOpenChannel { msg, .. }) => msg,
                    other => panic!("expected open_channel, got {other:?}"),
                }
            })
            .collect();
        for msg in &opens {
            net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, msg);
        }
        if manual {
            let requests: Vec<_> = net.nodes[1]
                .events()
                .into_iter()
                .filter_map(|e| match e {
                    Event::OpenChannelRequest { temporary_channel_id, .. } => Some(temporary_channel_id),
                    _ => None,
                })
                .collect();
            assert_eq!(requests.len(), MAX_UNFUNDED_CHANNELS_PER_PEER);
            for id in &requests {
                net.nodes[1].node.accept_inbound_channel(id, &net.nodes[0].node_id, 7).unwrap();
            }
        }
        let answers = net.nodes[1].msgs();
        let accepted =
            answers.iter().filter(|m| matches!(m, MessageSendEvent::SendAcceptChannel { .. })).count();
        let refused: Vec<ChannelId> =
            answers
                .iter()
                .filter_map(|m| match m {
                    MessageSendEvent::HandleError {
                        action: ErrorAction::SendErrorMessage { msg }, ..
                    } if msg.printable_data().contains("too many unfunded channels") => Some(msg.channel_id),
                    _ => None,
                })
                .collect();
        assert_eq!(accepted, MAX_UNFUNDED_CHANNELS_PER_PEER, "manual: {manual}");
        let expected: Vec<ChannelId> =
            opens[MAX_UNFUNDED_CHANNELS_PER_PEER..].iter().map(|m| m.temporary_channel_id).collect();
        assert_eq!(refused, expected, "manual: {manual}");
        for ev in answers {
            net.deliver(1, ev);
        }
        // The opener gave up the refused ones; the others go on.
        let events = net.nodes[0].events();
        let closed = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::ChannelClosed { reason: ClosureReason::CounterpartyForceClosed { .. }, .. }
                )
            })
            .count();
        assert_eq!(closed, 2);
        let ready: Vec<(ChannelId, ScriptBuf)> = events
            .into_iter()
            .filter_map(|e| match e {
                Event::FundingGenerationReady { temporary_channel_id, output_script, .. } => {
                    Some((temporary_channel_id, output_script))
                }
                _ => None,
            })
            .collect();
        assert_eq!(ready.len(), MAX_UNFUNDED_CHANNELS_PER_PEER);
        assert_eq!(net.nodes[1].node.list_channels().len(), MAX_UNFUNDED_CHANNELS_PER_PEER);
        // Funding one of them frees a slot: a new open_channel is accepted.
        let tx = funding_transaction(ready[0].1.clone(), 500_000, 99);
        net.nodes[0].node.funding_transaction_generated(&ready[0].0, &net.nodes[1].node_id, tx).unwrap();
        net.process_all();
        let _ = (net.nodes[0].events(), net.nodes[1].events());
        net.nodes[0].node.create_channel(net.nodes[1].node_id, 500_000, 0, 99, None).unwrap();
        net.process_all();
        if manual {
            assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::OpenChannelRequest { .. })));
        } else {
            assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));
        }
    }
}
