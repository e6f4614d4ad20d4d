//! More counterparty violations (continuing `violations.rs`): limits that
//! only fire with custom `ChannelHandshakeLimits`, messages in the wrong
//! state or before `channel_reestablish`, revocation, shutdown, closing and
//! reestablish checks, the manager's own checks, and a malicious funder
//! built by hand. Each asserts the specific reason.

use super::violations::{
    assert_closed, assert_error_sent, channel_with_add, dummy_ready, init_of, open_channel_msg, PipeSig,
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

/// Node 0 opens to node 1 with its `open_channel` changed by `mutate`, and
/// the channel is taken to normal operation. Returns the channel id.
fn create_chan_with_open(net: &mut Network, mutate: impl Fn(&mut msgs::OpenChannel)) -> ChannelId {
    let mut open = open_channel_msg(net);
    mutate(&mut open);
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
    net.process_all();
    let script = net.nodes[0]
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .expect("accepted");
    let tx = funding_transaction(script, open.funding_satoshis, 11);
    net.nodes[0]
        .node
        .funding_transaction_generated(&open.temporary_channel_id, &net.nodes[1].node_id, tx.clone())
        .unwrap();
    net.process_all();
    net.mine_block(core::slice::from_ref(&tx));
    net.process_all();
    let _ = (net.nodes[0].events(), net.nodes[1].events(), net.nodes[0].broadcaster.take());
    let chan = ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    assert!(is_usable(net, 0, chan) && is_usable(net, 1, chan));
    chan
}

#[test]
fn shutdown_must_pay_the_upfront_shutdown_script() {
    use crate::sign::SignerProvider;
    let ours = |net: &Network| net.nodes[0].node.keys().get_shutdown_scriptpubkey().unwrap();
    // Node 0 committed to its real shutdown script: the close goes through.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let script = ours(&net);
    let chan = create_chan_with_open(&mut net, |m| m.shutdown_scriptpubkey = Some(script.clone()));
    net.close_channel(0, 1, chan);

    // Node 0 committed to another script.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let chan = create_chan_with_open(&mut net, |m| m.shutdown_scriptpubkey = Some(p2wpkh(4)));
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    let shutdown = match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendShutdown { msg, .. }) => msg,
        other => panic!("expected shutdown, got {other:?}"),
    };
    assert_eq!(shutdown.scriptpubkey, ours(&net));
    net.nodes[1].node.handle_shutdown(net.nodes[0].node_id, &shutdown);
    assert_closed(&net, 1, chan, "shutdown scriptpubkey differs from the upfront_shutdown_script");
}

#[test]
fn shutdown_retransmitted_with_another_script_closes() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let node_0 = net.nodes[0].node_id;
    let first = msgs::Shutdown { channel_id: chan, scriptpubkey: p2wpkh(3) };
    net.nodes[1].node.handle_shutdown(node_0, &first);
    assert!(matches!(net.nodes[1].msgs()[..], [MessageSendEvent::SendShutdown { .. }]));
    // The same again is a harmless retransmission.
    net.nodes[1].node.handle_shutdown(node_0, &first);
    assert!(net.nodes[1].msgs().is_empty());
    net.nodes[1].node.handle_shutdown(node_0, &msgs::Shutdown { channel_id: chan, scriptpubkey: p2wpkh(4) });
    assert_closed(&net, 1, chan, "shutdown retransmitted with another scriptpubkey");
}

#[test]
fn shutdown_with_unsigned_updates_of_the_sender_closes() {
    // BOLT 2: a node MUST NOT send shutdown while updates it sent are
    // pending on the receiver's commitment.
    let (net, chan, add, _) = channel_with_add(test_config());
    let node_0 = net.nodes[0].node_id;
    net.nodes[1].node.handle_update_add_htlc(node_0, &add);
    net.nodes[1].node.handle_shutdown(node_0, &msgs::Shutdown { channel_id: chan, scriptpubkey: p2wpkh(3) });
    assert_closed(&net, 1, chan, "shutdown with unsigned updates of its own pending");
}

#[test]
fn closing_fee_ranges_that_do_not_overlap_are_warned_about() {
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
    // Signed as sent; only the range is narrowed below the relay floor,
    // under anything node 1 accepts.
    msg.fee_range = Some(msgs::ClosingSignedFeeRange { min_fee_satoshis: 0, max_fee_satoshis: 1 });
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &msg);
    assert_warning_sent(&net, 1, "closing_signed fee ranges do not overlap");
    assert!(net.nodes[1].node.list_channels().iter().any(|c| c.channel_id == chan));
    assert!(net.nodes[1].broadcaster.take().is_empty());
    // No satisfying range follows, only the same one again at every tick:
    // after a few ticks the channel is failed (BOLT 2: "MUST fail the channel
    // if it doesn't receive a satisfying `fee_range` after a reasonable
    // amount of time"); repeating the bad range is no progress.
    for _ in 0..crate::ln::channel::close::MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[1].node.timer_tick_occurred();
        assert!(net.nodes[1].node.list_channels().iter().any(|c| c.channel_id == chan));
        net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &msg);
        assert_warning_sent(&net, 1, "closing_signed fee ranges do not overlap");
    }
    net.nodes[1].node.timer_tick_occurred();
    assert!(net.nodes[1].node.list_channels().is_empty());
    assert!(net.nodes[1].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
            if err.contains("closing fee negotiation made no progress")
    )));
}

/// Disconnects and reconnects nodes 0 and 1; returns node 1's
/// `channel_reestablish` (not delivered; node 0's is dropped).
fn reconnect_and_take_reestablish(net: &Network) -> msgs::ChannelReestablish {
    net.disconnect(0, 1);
    net.nodes[0].node.peer_connected(net.nodes[1].node_id, &init_of(net, 1), false).unwrap();
    let _ = net.nodes[0].msgs();
    net.nodes[1].node.peer_connected(net.nodes[0].node_id, &init_of(net, 0), true).unwrap();
    match net.nodes[1].msgs().pop() {
        Some(MessageSendEvent::SendChannelReestablish { msg, .. }) => msg,
        other => panic!("expected channel_reestablish, got {other:?}"),
    }
}

#[test]
fn channel_reestablish_while_connected_is_warned_about() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let msg = net.nodes[1]
        .node
        .with_funded_channel(&net.nodes[0].node_id, &chan, |c| c.get_channel_reestablish(&secp))
        .unwrap()
        .unwrap();
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &msg);
    assert_warning_sent(&net, 0, "unexpected channel_reestablish");
    assert!(is_usable(&net, 0, chan));
    net.send_and_claim(0, 1, 1_000_000);
}

#[test]
fn channel_reestablish_numbers_behind_ours_close() {
    // next_revocation_number two or more behind our commitment.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    let local = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| c.commitments().local_commit.index)
        .unwrap();
    assert!(local >= 2);
    let mut msg = reconnect_and_take_reestablish(&net);
    msg.next_revocation_number = 0;
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &msg);
    assert_closed(
        &net,
        0,
        chan,
        &format!("channel_reestablish next_revocation_number 0 is behind our {local}"),
    );

    // next_commitment_number behind ours, nothing awaiting revocation.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    let mut msg = reconnect_and_take_reestablish(&net);
    let expected = msg.next_commitment_number;
    msg.next_commitment_number -= 1;
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &msg);
    let why =
        format!("channel_reestablish next_commitment_number {} does not match our {expected}", expected - 1);
    assert_closed(&net, 0, chan, &why);

    // next_commitment_number behind ours while our next commitment awaits
    // its revocation.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    let _ = net.route_payment(0, 1, 10_000_000);
    let _ = net.nodes[0].msgs();
    let waiting = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| match &c.commitments().remote_next {
            crate::ln::channel::state::RemoteNextCommitInfo::WaitingForRevocation { next, .. } => {
                Some(next.index)
            }
            _ => None,
        })
        .unwrap()
        .expect("awaiting revocation");
    let mut msg = reconnect_and_take_reestablish(&net);
    assert_eq!(msg.next_commitment_number, waiting, "node 1 never got the commitment");
    msg.next_commitment_number -= 1;
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &msg);
    let why =
        format!("channel_reestablish next_commitment_number {} does not match our {waiting}", waiting - 1);
    assert_closed(&net, 0, chan, &why);
}

/// Node 0 opens a 300,000 sat channel to node 1 and gives the funding
/// transaction: returns the temporary id, the funding transaction and the
/// `funding_created` (not delivered).
fn funding_created_msg(net: &Network) -> (ChannelId, bitcoin::Transaction, msgs::FundingCreated) {
    let (temp, tx) = net.start_funding(0, 1, 300_000, 0);
    match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendFundingCreated { msg, .. }) => (temp, tx, msg),
        other => panic!("expected funding_created, got {other:?}"),
    }
}

#[test]
fn manager_refuses_messages_for_the_wrong_channel_phase() {
    // A channel message for a channel still being opened.
    let net = Network::new(2);
    net.connect(0, 1);
    let accept = accept_for(&net);
    let ready = msgs::ChannelReady { channel_id: accept.temporary_channel_id, ..dummy_ready() };
    net.nodes[1].node.handle_channel_ready(net.nodes[0].node_id, &ready);
    assert_error_sent(&net, 1, "channel message for a channel that is not funded");
    assert!(net.nodes[1].node.list_channels().is_empty());

    // accept_channel for a channel the peer opened.
    let net = Network::new(2);
    net.connect(0, 1);
    let accept = accept_for(&net);
    net.nodes[1].node.handle_accept_channel(net.nodes[0].node_id, &accept);
    assert_error_sent(&net, 1, "accept_channel for a channel we did not open");
    assert!(net.nodes[1].node.list_channels().is_empty());

    // funding_created sent to the funder (of a channel accepted, not yet
    // funded).
    let net = Network::new(2);
    net.connect(0, 1);
    let temp = net.nodes[0].node.create_channel(net.nodes[1].node_id, 300_000, 0, 1, None).unwrap();
    net.process_all();
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));
    let funding_created = msgs::FundingCreated {
        temporary_channel_id: temp,
        funding_txid: bitcoin::Txid::from_byte_array([1; 32]),
        funding_output_index: 0,
        signature: dummy_ready().pipe_sig(),
    };
    net.nodes[0].node.handle_funding_created(net.nodes[1].node_id, &funding_created);
    assert_error_sent(&net, 0, "unexpected funding_created");
    assert!(net.nodes[0].node.list_channels().is_empty());

    // funding_signed sent to the fundee.
    let net = Network::new(2);
    net.connect(0, 1);
    let (_, tx, funding_created) = funding_created_msg(&net);
    net.nodes[1].node.handle_funding_created(net.nodes[0].node_id, &funding_created);
    let funding_signed = match net.nodes[1].msgs().pop() {
        Some(MessageSendEvent::SendFundingSigned { msg, .. }) => msg,
        other => panic!("expected funding_signed, got {other:?}"),
    };
    net.nodes[1].node.handle_funding_signed(net.nodes[0].node_id, &funding_signed);
    let chan = ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    assert_closed(&net, 1, chan, "unexpected funding_signed");
}

#[test]
fn open_channel_reusing_a_temporary_channel_id_is_refused() {
    let net = Network::new(2);
    net.connect(0, 1);
    let open = open_channel_msg(&net);
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
    assert!(matches!(net.nodes[1].msgs()[..], [MessageSendEvent::SendAcceptChannel { .. }]));
    net.nodes[1].node.handle_open_channel(net.nodes[0].node_id, &open);
    assert_error_sent(&net, 1, "temporary channel id already used");
    assert_eq!(net.nodes[1].node.list_channels().len(), 1, "the first channel is kept");
}

/// A funder played by the test with keys of its own, impersonating node 0
/// towards node 1: it signs node 1's first commitment on any funding
/// outpoint it likes. Returns node 1's answer to its `funding_created`.
fn malicious_funding(net: &Network, temp: ChannelId, outpoint: bitcoin::OutPoint) -> Vec<MessageSendEvent> {
    use crate::ln::chan_utils::{
        ChannelPublicKeys, ChannelSideParameters, ChannelTransactionParameters, CommitmentTransaction,
        TxCreationKeys,
    };
    use crate::sign::{ChannelSigner, EcdsaChannelSigner, SignerProvider};
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let node_0 = net.nodes[0].node_id;
    let template = open_channel_msg(net);
    let mut signer = crate::sign::KeysManager::new(&[0x77; 32], 42, 0)
        .derive_channel_signer(template.funding_satoshis, [temp.0[0]; 32]);
    let ours = *signer.pubkeys();
    let open = msgs::OpenChannel {
        temporary_channel_id: temp,
        funding_pubkey: ours.funding_pubkey,
        revocation_basepoint: ours.revocation_basepoint,
        payment_basepoint: ours.payment_point,
        delayed_payment_basepoint: ours.delayed_payment_basepoint,
        htlc_basepoint: ours.htlc_basepoint,
        first_per_commitment_point: signer.get_per_commitment_point(0).unwrap(),
        ..template
    };
    net.nodes[1].node.handle_open_channel(node_0, &open);
    let accept = match net.nodes[1].msgs().pop() {
        Some(MessageSendEvent::SendAcceptChannel { msg, .. }) => msg,
        other => panic!("expected accept_channel, got {other:?}"),
    };
    let theirs = ChannelPublicKeys {
        funding_pubkey: accept.funding_pubkey,
        revocation_basepoint: accept.revocation_basepoint,
        payment_point: accept.payment_basepoint,
        delayed_payment_basepoint: accept.delayed_payment_basepoint,
        htlc_basepoint: accept.htlc_basepoint,
    };
    let params = ChannelTransactionParameters::new(
        ChannelSideParameters { pubkeys: ours, selected_contest_delay: open.to_self_delay },
        ChannelSideParameters { pubkeys: theirs, selected_contest_delay: accept.to_self_delay },
        true,
        outpoint,
        open.funding_satoshis,
        accept.channel_type.clone().expect("channel_type"),
    )
    .unwrap();
    signer.provide_channel_parameters(&params).unwrap();
    let keys = TxCreationKeys::derive_new(&secp, &accept.first_per_commitment_point, &theirs, &ours);
    let contents = crate::ln::channel::state::CommitmentContents {
        to_local_msat: open.funding_satoshis * 1000 - open.push_msat,
        to_remote_msat: open.push_msat,
        feerate_per_kw: open.feerate_per_kw,
        htlcs: Vec::new(),
    };
    let spec = contents.to_spec(0, false, accept.dust_limit_satoshis);
    let tx = CommitmentTransaction::build(spec, keys, &params.as_counterparty_broadcastable());
    let (signature, _) = signer.sign_counterparty_commitment(&tx).unwrap();
    let funding_created = msgs::FundingCreated {
        temporary_channel_id: temp,
        funding_txid: outpoint.txid,
        funding_output_index: outpoint.vout as u16,
        signature,
    };
    net.nodes[1].node.handle_funding_created(node_0, &funding_created);
    net.nodes[1].msgs()
}

#[test]
fn funding_transaction_that_does_not_pay_the_channel_closes() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    // The funder names a transaction whose output 0 pays someone else.
    let elsewhere = funding_transaction(p2wpkh(9), 500_000, 77);
    let outpoint = bitcoin::OutPoint { txid: elsewhere.compute_txid(), vout: 0 };
    let answer = malicious_funding(&net, ChannelId([0x42; 32]), outpoint);
    assert!(
        answer.iter().any(|m| matches!(m, MessageSendEvent::SendFundingSigned { .. })),
        "the signature itself is valid: {answer:?}"
    );
    let chan = ChannelId::v1_from_funding_outpoint(outpoint.txid, 0);
    assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::ChannelPending { .. })));
    net.mine_block(&[elsewhere]);
    assert_closed(&net, 1, chan, "funding transaction does not pay the channel's funding output");
}

#[test]
fn funding_created_reusing_a_live_channel_id_is_refused() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // A second channel "funded" by the first one's output.
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    let answer = malicious_funding(&net, ChannelId([0x43; 32]), outpoint);
    let refused = answer.iter().any(|m| match m {
        MessageSendEvent::HandleError { action: ErrorAction::SendErrorMessage { msg }, .. } => {
            msg.channel_id == ChannelId([0x43; 32])
                && msg.printable_data().contains("channel id already in use")
        }
        _ => false,
    });
    assert!(refused, "{answer:?}");
    // The live channel is untouched.
    assert!(net.nodes[1].broadcaster.take().is_empty());
    assert!(is_usable(&net, 1, chan));
    net.send_and_claim(0, 1, 1_000_000);
}

#[test]
fn events_are_handed_to_an_event_handler() {
    use crate::events::EventsProvider;
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, hash, _) = net.send_payment(0, 1, 5_000_000);
    net.nodes[1].node.claim_funds(preimage);
    net.process_all();
    let seen = core::cell::RefCell::new(Vec::new());
    net.nodes[1].node.process_pending_events(|e| seen.borrow_mut().push(e));
    let seen = seen.into_inner();
    assert!(
        seen.iter().any(|e| matches!(e, Event::PaymentClaimed { payment_hash, amount_msat: 5_000_000, .. } if *payment_hash == hash)),
        "{seen:?}"
    );
    // Each event is handed once.
    net.nodes[1].node.process_pending_events(|e| panic!("handed twice: {e:?}"));
    let sent = core::cell::RefCell::new(Vec::new());
    net.nodes[0].node.process_pending_events(|e| sent.borrow_mut().push(e));
    assert!(sent
        .into_inner()
        .iter()
        .any(|e| matches!(e, Event::PaymentSent { payment_preimage, .. } if *payment_preimage == preimage)));
    assert_eq!(net.balance_msat(1, 0, chan), 5_000_000);
}

#[test]
fn funding_confirmed_through_the_confirm_interface() {
    use crate::chain::Confirm;
    let mut config = test_config();
    config.channel_handshake_config.minimum_depth = 3;
    let mut net = Network::with_configs(vec![config, config]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
    let txid = funding_tx.compute_txid();
    let mut headers = vec![*net.headers.last().unwrap()];
    let next_header = |headers: &mut Vec<bitcoin::block::Header>| {
        let height = net.headers.len() as u32 - 1 + headers.len() as u32;
        let header = header_after(headers.last().unwrap(), height);
        headers.push(header);
        (header, height)
    };
    let (h1, height_1) = next_header(&mut headers);
    for n in &net.nodes {
        assert!(n.node.get_relevant_txids().is_empty());
        n.node.transactions_confirmed(&h1, &[(1, &funding_tx)], height_1);
        n.node.best_block_updated(&h1, height_1);
        assert_eq!(n.node.get_relevant_txids(), vec![(txid, height_1, None)]);
    }
    // Reorged out, then confirmed again one block later.
    for n in &net.nodes {
        n.node.transaction_unconfirmed(&txid);
        assert!(n.node.get_relevant_txids().is_empty());
    }
    let (h2, height_2) = next_header(&mut headers);
    for n in &net.nodes {
        n.node.transactions_confirmed(&h2, &[(2, &funding_tx)], height_2);
        n.node.best_block_updated(&h2, height_2);
    }
    let (h3, height_3) = next_header(&mut headers);
    for n in &net.nodes {
        n.node.best_block_updated(&h3, height_3);
    }
    net.process_all();
    assert!(net.nodes.iter().all(|n| n.events().is_empty()), "2 confirmations of 3");
    assert!(!is_usable(&net, 0, chan));
    let (h4, height_4) = next_header(&mut headers);
    for n in &net.nodes {
        n.node.best_block_updated(&h4, height_4);
    }
    net.process_all();
    for n in &net.nodes {
        assert!(n
            .events()
            .iter()
            .any(|e| matches!(e, Event::ChannelReady { channel_id, .. } if *channel_id == chan)));
    }
    let scid = crate::ln::types::ShortChannelId::new(height_2, 2, 0).unwrap();
    for i in 0..2 {
        let details = net.nodes[i].node.list_usable_channels();
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].short_channel_id, Some(scid));
    }
    net.send_and_claim(0, 1, 1_000_000);
}

#[test]
fn funding_signed_before_funding_created_closes() {
    let net = Network::new(2);
    net.connect(0, 1);
    let temp = net.nodes[0].node.create_channel(net.nodes[1].node_id, 300_000, 0, 1, None).unwrap();
    net.process_all();
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));
    let msg = msgs::FundingSigned { channel_id: temp, signature: dummy_ready().pipe_sig() };
    net.nodes[0].node.handle_funding_signed(net.nodes[1].node_id, &msg);
    assert_error_sent(&net, 0, "funding_signed before funding_created");
    assert!(net.nodes[0].node.list_channels().is_empty());
}

#[test]
fn closing_signed_leaving_no_output_closes() {
    // Node 1 has nothing; the funder offers its whole balance as fee.
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
    msg.fee_satoshis = 1_000_000;
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &msg);
    assert_closed(&net, 1, chan, "closing transaction would have no output");
}
