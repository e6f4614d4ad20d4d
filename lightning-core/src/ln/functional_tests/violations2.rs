//! More counterparty violations (continuing `violations.rs`): limits that
//! only fire with custom `ChannelHandshakeLimits`, messages in the wrong
//! state or before `channel_reestablish`, revocation, shutdown, closing and
//! reestablish checks, the manager's own checks, and a malicious funder
//! built by hand. Each asserts the specific reason.

use super::violations::{
    assert_closed, assert_error_sent, channel_with_add, dummy_ready, init_of, open_channel_msg,
};
use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::{self, BaseMessageHandler, ChannelMessageHandler, ErrorAction};
use crate::ln::types::{ChannelId, PaymentPreimage};
use crate::prelude::*;
use crate::util::config::{ChannelHandshakeLimits, UserConfig};
use bitcoin::hashes::Hash;
use bitcoin::ScriptBuf;

/// A change made to a message before delivering it.
type Mutation<M> = Box<dyn Fn(&mut M)>;

/// Node `node` sent a warning whose text contains `why`.
fn assert_warning_sent(net: &Network, node: usize, why: &str) {
    let msgs = net.nodes[node].msgs();
    let found = msgs.iter().any(|m| match m {
        MessageSendEvent::HandleError { action: ErrorAction::SendWarningMessage { msg, .. }, .. } => {
            msg.printable_data().contains(why)
        }
        _ => false,
    });
    assert!(found, "expected a warning containing {why:?}, got {msgs:?}");
}

/// Whether node `node` still has channel `chan`, usable.
fn is_usable(net: &Network, node: usize, chan: ChannelId) -> bool {
    net.nodes[node].node.list_usable_channels().iter().any(|c| c.channel_id == chan)
}

fn p2wpkh(byte: u8) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([byte; 20]))
}

fn static_remote_key_only() -> crate::ln::features::ChannelTypeFeatures {
    let mut ct = crate::ln::features::ChannelTypeFeatures::empty();
    ct.set_static_remote_key_required();
    ct
}

fn anchors_config() -> UserConfig {
    let mut config = test_config();
    config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = true;
    config
}

#[test]
fn open_channel_refused_under_custom_limits() {
    type Limits = Box<dyn Fn(&mut ChannelHandshakeLimits)>;
    let cases: Vec<(&str, Limits, Mutation<msgs::OpenChannel>)> = vec![
        (
            "max_accepted_htlcs 50 is below our minimum",
            Box::new(|l| l.min_max_accepted_htlcs = 51),
            Box::new(|m| assert_eq!(m.max_accepted_htlcs, 50)),
        ),
        (
            "htlc_minimum_msat 1000 exceeds our max_htlc_minimum_msat",
            Box::new(|l| l.max_htlc_minimum_msat = 999),
            Box::new(|m| m.htlc_minimum_msat = 1000),
        ),
        (
            "max_htlc_value_in_flight_msat is below our minimum",
            Box::new(|l| l.min_max_htlc_value_in_flight_msat = 500_000_001),
            Box::new(|m| m.max_htlc_value_in_flight_msat = 500_000_000),
        ),
        (
            "channel_reserve_satoshis 5000 exceeds our max_channel_reserve_satoshis",
            Box::new(|l| l.max_channel_reserve_satoshis = 4999),
            Box::new(|m| m.channel_reserve_satoshis = 5000),
        ),
        (
            "dust_limit_satoshis 600 exceeds our max_dust_limit_satoshis",
            Box::new(|l| l.max_dust_limit_satoshis = 599),
            Box::new(|m| m.dust_limit_satoshis = 600),
        ),
    ];
    for (why, limits, mutate) in cases {
        let mut fundee = test_config();
        limits(&mut fundee.channel_handshake_limits);
        let net = Network::with_configs(vec![test_config(), fundee]);
        net.connect(0, 1);
        let mut open = open_channel_msg(&net);
        // The untouched message passes under default limits.
        mutate(&mut open);
        net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
        assert_error_sent(&net, 1, why);
        assert!(net.nodes[1].node.list_channels().is_empty(), "{why}");

        let control = Network::new(2);
        control.connect(0, 1);
        let mut open = open_channel_msg(&control);
        mutate(&mut open);
        control.nodes[1].node.handle_open_channel(control.nodes[0].node_id, &open);
        assert!(
            matches!(control.nodes[1].msgs()[..], [MessageSendEvent::SendAcceptChannel { .. }]),
            "{why}: accepted under default limits"
        );
    }
}

#[test]
fn open_channel_type_and_feerate_refusals() {
    let cases: Vec<(&str, u32, Mutation<msgs::OpenChannel>)> = vec![
        (
            "option_scid_alias is only for unannounced channels",
            TEST_FEERATE,
            Box::new(|m| {
                let mut ct = static_remote_key_only();
                ct.set_required(crate::ln::features::bits::SCID_ALIAS);
                m.channel_type = Some(ct);
                m.channel_flags = 1;
            }),
        ),
        (
            "feerate_per_kw 300 is too low (our estimate 5000)",
            5000,
            Box::new(|m| {
                m.channel_type = Some(static_remote_key_only());
                m.feerate_per_kw = 300;
            }),
        ),
    ];
    for (why, estimate, mutate) in cases {
        let net = Network::new(2);
        net.connect(0, 1);
        let mut open = open_channel_msg(&net);
        mutate(&mut open);
        *net.nodes[1].fee_estimator.feerate.lock() = estimate;
        net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
        assert_error_sent(&net, 1, why);
        assert!(net.nodes[1].node.list_channels().is_empty(), "{why}");
    }
    // An unannounced scid_alias channel is fine.
    let net = Network::new(2);
    net.connect(0, 1);
    let mut open = open_channel_msg(&net);
    let mut ct = static_remote_key_only();
    ct.set_required(crate::ln::features::bits::SCID_ALIAS);
    open.channel_type = Some(ct);
    open.channel_flags = 0;
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
    assert!(matches!(net.nodes[1].msgs()[..], [MessageSendEvent::SendAcceptChannel { .. }]));
}

/// Node 0 opens to node 1; returns node 1's `accept_channel` (not
/// delivered).
fn accept_for(net: &Network) -> msgs::AcceptChannel {
    let open = open_channel_msg(net);
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
    match net.nodes[1].msgs().pop() {
        Some(MessageSendEvent::SendAcceptChannel { msg, .. }) => msg,
        other => panic!("expected accept_channel, got {other:?}"),
    }
}

fn assert_funder_closed(net: &Network, temporary_channel_id: ChannelId, why: &str) {
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } if *channel_id == temporary_channel_id && err.contains(why))),
        "{why}: {events:?}"
    );
    assert_error_sent(net, 0, why);
    assert!(net.nodes[0].node.list_channels().is_empty(), "{why}");
}

#[test]
fn accept_channel_refusals_beyond_the_limits() {
    // Sent twice.
    let net = Network::new(2);
    net.connect(0, 1);
    let accept = accept_for(&net);
    net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &accept);
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));
    net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &accept);
    assert_funder_closed(&net, accept.temporary_channel_id, "accept_channel received twice");

    // No channel_type while we proposed anchors.
    let net = Network::with_configs(vec![anchors_config(), anchors_config()]);
    net.connect(0, 1);
    let mut accept = accept_for(&net);
    assert!(accept.channel_type.as_ref().is_some_and(|ct| ct.supports_anchors_zero_fee_htlc_tx()));
    accept.channel_type = None;
    net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &accept);
    assert_funder_closed(
        &net,
        accept.temporary_channel_id,
        "accept_channel has no channel_type but we proposed option_anchors",
    );
    // Without anchors, no channel_type is fine (the default type).
    let net = Network::new(2);
    net.connect(0, 1);
    let mut accept = accept_for(&net);
    accept.channel_type = None;
    net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &accept);
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));

    let cases: Vec<(&str, Mutation<msgs::AcceptChannel>)> = vec![
        (
            "upfront_shutdown_script is not a standard script",
            Box::new(|m| m.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x6a, 1, 2]))),
        ),
        // The whole channel as the funder's reserve: no side is above its
        // reserve.
        ("neither side's balance is above its reserve", Box::new(|m| m.channel_reserve_satoshis = 500_000)),
    ];
    for (why, mutate) in cases {
        let net = Network::new(2);
        net.connect(0, 1);
        let mut accept = accept_for(&net);
        mutate(&mut accept);
        net.nodes[0].node.handle_accept_channel(net.nodes[1].node_id, &accept);
        assert_funder_closed(&net, accept.temporary_channel_id, why);
    }
}

#[test]
fn channel_ready_retransmitted_with_another_point_closes() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // The genuine retransmission is harmless.
    let genuine = net.nodes[1]
        .node
        .with_funded_channel(&net.nodes[0].node_id, &chan, |c| c.get_channel_ready())
        .expect("channel")
        .expect("channel_ready");
    net.nodes[0].node.handle_channel_ready(net.nodes[1].node_id, &genuine);
    assert!(net.nodes[0].msgs().is_empty());
    assert!(is_usable(&net, 0, chan));
    let mut other = genuine;
    other.second_per_commitment_point = dummy_ready().second_per_commitment_point;
    net.nodes[0].node.handle_channel_ready(net.nodes[1].node_id, &other);
    assert_closed(&net, 0, chan, "channel_ready retransmitted with another per-commitment point");
}

#[test]
fn channel_ready_after_shutdown_is_warned_about() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
    // Node 0 starts a mutual close before the funding confirms; node 1
    // answers (its reply is not delivered).
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    let shutdown = match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendShutdown { msg, .. }) => msg,
        other => panic!("expected shutdown, got {other:?}"),
    };
    net.nodes[1].node.handle_shutdown(net.nodes[0].node_id, &shutdown);
    let _ = net.nodes[1].msgs();
    let ready = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| c.get_channel_ready())
        .expect("channel")
        .expect("channel_ready");
    net.nodes[1].node.handle_channel_ready(net.nodes[0].node_id, &ready);
    assert_warning_sent(&net, 1, "unexpected channel_ready");
    // A warning only: the channel is kept.
    assert!(net.nodes[1].node.list_channels().iter().any(|c| c.channel_id == chan));
}

/// A channel 0 → 1 with an `update_add_htlc` and its `commitment_signed`
/// from node 0 (not delivered), then a disconnection and node 0
/// reconnecting to node 1 without sending `channel_reestablish` yet.
fn reconnected_before_reestablish() -> (Network, ChannelId, msgs::UpdateAddHTLC, msgs::CommitmentSigned) {
    let (net, chan, add, cs) = channel_with_add(test_config());
    net.disconnect(0, 1);
    net.nodes[1].node.peer_connected(net.nodes[0].node_id, &init_of(&net, 0), true).unwrap();
    assert!(matches!(net.nodes[1].msgs()[..], [MessageSendEvent::SendChannelReestablish { .. }]));
    (net, chan, add, cs)
}

#[test]
fn channel_messages_before_reestablish_close_the_channel() {
    type Send = Box<dyn Fn(&Network, ChannelId, &msgs::UpdateAddHTLC, &msgs::CommitmentSigned)>;
    let cases: Vec<(&str, Send)> = vec![
        (
            "update_add_htlc before channel_reestablish",
            Box::new(|net, _, add, _| net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, add)),
        ),
        (
            "update_fulfill_htlc before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::UpdateFulfillHTLC {
                    channel_id: chan,
                    htlc_id: 0,
                    payment_preimage: PaymentPreimage([1; 32]),
                    attribution_data: None,
                };
                net.nodes[1].node.handle_update_fulfill_htlc(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "update_fail_htlc before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::UpdateFailHTLC {
                    channel_id: chan,
                    htlc_id: 0,
                    reason: vec![0; 300],
                    attribution_data: None,
                };
                net.nodes[1].node.handle_update_fail_htlc(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "update_fail_malformed_htlc before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::UpdateFailMalformedHTLC {
                    channel_id: chan,
                    htlc_id: 0,
                    sha256_of_onion: [0; 32],
                    failure_code: 0x8000 | 0x4000 | 5,
                };
                net.nodes[1].node.handle_update_fail_malformed_htlc(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "update_fee before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::UpdateFee { channel_id: chan, feerate_per_kw: TEST_FEERATE + 1 };
                net.nodes[1].node.handle_update_fee(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "commitment_signed before channel_reestablish",
            Box::new(|net, _, _, cs| net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, cs)),
        ),
        (
            "revoke_and_ack before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::RevokeAndACK {
                    channel_id: chan,
                    per_commitment_secret: [1; 32],
                    next_per_commitment_point: dummy_ready().second_per_commitment_point,
                };
                net.nodes[1].node.handle_revoke_and_ack(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "shutdown before channel_reestablish",
            Box::new(|net, chan, _, _| {
                let msg = msgs::Shutdown { channel_id: chan, scriptpubkey: p2wpkh(3) };
                net.nodes[1].node.handle_shutdown(net.nodes[0].node_id, &msg)
            }),
        ),
    ];
    for (why, send) in cases {
        let (net, chan, add, cs) = reconnected_before_reestablish();
        send(&net, chan, &add, &cs);
        assert_closed(&net, 1, chan, why);
    }
}

#[test]
fn channel_messages_before_channel_ready_close_the_channel() {
    // Messages taken from a normal channel, readdressed.
    let (_other, _, add, cs) = channel_with_add(test_config());
    type Send = Box<dyn Fn(&Network, ChannelId)>;
    let cases: Vec<(&str, Send)> = vec![
        (
            "update_add_htlc while the channel is not in normal operation",
            Box::new(move |net, chan| {
                let msg = msgs::UpdateAddHTLC { channel_id: chan, ..add.clone() };
                net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "update_fee while the channel is not in normal operation",
            Box::new(|net, chan| {
                let msg = msgs::UpdateFee { channel_id: chan, feerate_per_kw: TEST_FEERATE + 1 };
                net.nodes[1].node.handle_update_fee(net.nodes[0].node_id, &msg)
            }),
        ),
        (
            "commitment_signed in the wrong state",
            Box::new(move |net, chan| {
                let msg = msgs::CommitmentSigned { channel_id: chan, ..cs.clone() };
                net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, &msg)
            }),
        ),
    ];
    for (why, send) in cases {
        let mut net = Network::new(2);
        net.connect(0, 1);
        let (chan, _) = net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
        send(&net, chan);
        assert_closed(&net, 1, chan, why);
    }
}

#[test]
fn funder_that_cannot_pay_the_next_commitment_fee_is_caught() {
    // An anchor channel at 60,000 sat/kw, where one more HTLC output costs
    // the funder 10,320 sat of fee, more than the 10,000 sat reserve it
    // must keep: node 0 (the funder) has 100,000 sat.
    let mut net = Network::with_configs(vec![anchors_config(), anchors_config()]);
    for n in &net.nodes {
        *n.fee_estimator.feerate.lock() = 60_000;
    }
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 900_000_000);
    let node_0 = net.nodes[0].node_id;
    let node_1 = net.nodes[1].node_id;
    // Node 1 offers an HTLC (held) ...
    let _ = net.route_payment(1, 0, 20_000_000);
    let Some(MessageSendEvent::UpdateHTLCs { updates: from_1, .. }) = net.nodes[1].msgs().pop() else {
        panic!()
    };
    // ... while node 0 offers all it can, fee included, without it.
    let limit =
        net.nodes[0].node.with_funded_channel(&node_1, &chan, |c| c.next_outbound_htlc_limit_msat()).unwrap();
    let _ = net.route_payment(0, 1, limit);
    let Some(MessageSendEvent::UpdateHTLCs { updates: from_0, .. }) = net.nodes[0].msgs().pop() else {
        panic!()
    };
    // Each add is fine on its own.
    net.nodes[1].node.handle_update_add_htlc(node_0, &from_0.update_add_htlcs[0]);
    assert!(net.nodes[1].msgs().is_empty());
    net.nodes[0].node.handle_update_add_htlc(node_1, &from_1.update_add_htlcs[0]);
    net.nodes[0].node.handle_commitment_signed(node_1, from_1.commitment_signed.as_ref().unwrap());
    let raa = net.nodes[0]
        .msgs()
        .into_iter()
        .find_map(|m| match m {
            MessageSendEvent::SendRevokeAndACK { msg, .. } => Some(msg),
            _ => None,
        })
        .expect("node 0 revokes");
    net.nodes[1].node.handle_revoke_and_ack(node_0, &raa);
    let _ = net.nodes[1].msgs();
    // Both HTLCs in node 1's next commitment: the funder cannot pay its fee.
    net.nodes[1].node.handle_commitment_signed(node_0, from_0.commitment_signed.as_ref().unwrap());
    assert_closed(&net, 1, chan, "the funder cannot pay our next commitment's fee");
}

#[test]
fn revocation_secret_that_is_not_a_key_closes() {
    let (net, chan, add, cs) = channel_with_add(test_config());
    net.nodes[1].node.handle_update_add_htlc(net.nodes[0].node_id, &add);
    net.nodes[1].node.handle_commitment_signed(net.nodes[0].node_id, &cs);
    let mut raa = net.nodes[1]
        .msgs()
        .into_iter()
        .find_map(|m| match m {
            MessageSendEvent::SendRevokeAndACK { msg, .. } => Some(msg),
            _ => None,
        })
        .expect("revoke_and_ack");
    // Above the curve order: not a secret key.
    raa.per_commitment_secret = [0xff; 32];
    net.nodes[0].node.handle_revoke_and_ack(net.nodes[1].node_id, &raa);
    assert_closed(&net, 0, chan, "revoke_and_ack secret is not a valid key");
}

#[test]
fn revocation_secret_outside_the_shachain_is_refused() {
    use crate::sign::{ChannelSigner, SignerProvider};
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
    let node_0 = net.nodes[0].node_id;
    let node_1 = net.nodes[1].node_id;
    net.mine_block(core::slice::from_ref(&funding_tx));
    // Node 1's channel_ready announces the point of a secret it chose
    // outside its shachain for commitment 1.
    let forged = bitcoin::secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
    for ev in net.nodes[1].msgs() {
        match ev {
            MessageSendEvent::SendChannelReady { mut msg, .. } => {
                msg.second_per_commitment_point =
                    bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &forged);
                net.nodes[0].node.handle_channel_ready(node_1, &msg);
            }
            other => net.deliver(1, other),
        }
    }
    net.process_all();
    assert!(is_usable(&net, 0, chan));
    // Node 1's genuine secret of its commitment 0, from its keys.
    let (keys_id, value) = net.nodes[1]
        .node
        .with_funded_channel(&node_0, &chan, |c| (c.signer().channel_keys_id(), c.channel_value_satoshis()))
        .unwrap();
    let mut twin =
        crate::sign::KeysManager::new(&net.nodes[1].seed, 42, 1).derive_channel_signer(value, keys_id);
    twin.restore_policy_state(crate::sign::SignerPolicyState {
        highest_validated_holder_commitment: Some(1),
        ..Default::default()
    });
    let secret_0 = twin.release_commitment_secret(0).unwrap();
    let next_point = dummy_ready().second_per_commitment_point;

    // Node 0 signs node 1's commitment 1 (on the forged point); node 1
    // "revokes" commitment 0 with its genuine secret: accepted.
    let _ = net.route_payment(0, 1, 2_000_000);
    let _ = net.nodes[0].msgs();
    let raa = msgs::RevokeAndACK {
        channel_id: chan,
        per_commitment_secret: secret_0,
        next_per_commitment_point: next_point,
    };
    net.nodes[0].node.handle_revoke_and_ack(node_1, &raa);
    assert!(is_usable(&net, 0, chan), "commitment 0 revoked with the genuine secret");
    let _ = net.nodes[0].msgs();
    // Node 0 signs commitment 2; node 1 revokes commitment 1 with the forged
    // secret: it matches the point, but does not derive secret 0.
    let _ = net.route_payment(0, 1, 2_000_000);
    assert!(net.nodes[0].msgs().iter().any(
        |m| matches!(m, MessageSendEvent::UpdateHTLCs { updates, .. } if updates.commitment_signed.is_some())
    ));
    let raa = msgs::RevokeAndACK {
        channel_id: chan,
        per_commitment_secret: forged.secret_bytes(),
        next_per_commitment_point: next_point,
    };
    net.nodes[0].node.handle_revoke_and_ack(node_1, &raa);
    assert_closed(
        &net,
        0,
        chan,
        "revoke_and_ack refused: signer refused: revocation secret does not derive the earlier ones",
    );
}
