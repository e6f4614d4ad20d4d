//! Time-driven behaviour and the less common flows: HTLC expiry, manual
//! acceptance of inbound channels, disconnection while a monitor update is
//! in progress.

use crate::chain::ChannelMonitorUpdateStatus;
use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::functional_test_utils::*;
use crate::prelude::*;

#[test]
fn unclaimed_payment_is_failed_back_before_it_expires() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (_, hash, id) = net.send_payment(0, 1, 3_000_000);
    // The HTLC expires 40 blocks from now; the recipient gives up 6 before.
    net.mine_blocks(33);
    assert!(net.nodes[0].events().is_empty());
    net.process_all();
    assert!(net.nodes[0].events().is_empty(), "not yet failed back");
    net.mine_blocks(1);
    net.process_all();
    let events = net.nodes[0].events();
    assert!(events.iter().any(|e| matches!(e, Event::PaymentFailed { payment_id, payment_hash, .. } if *payment_id == id && *payment_hash == hash)), "{events:?}");
    assert_eq!(net.balance_msat(0, 1, chan), 1_000_000_000);
}

#[test]
fn expired_outgoing_htlc_force_closes_and_the_monitor_broadcasts() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = net.route_payment(0, 1, 3_000_000);
    // Deliver the add and commitment, but let the rest be lost: the HTLC
    // stays in both commitments.
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    for ev in net.nodes[1].msgs() {
        net.deliver(1, ev);
    }
    net.disconnect(0, 1);
    let expiry = net.height() + 40;
    net.mine_blocks(expiry - net.height());
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } if *channel_id == chan && err.contains("expired"))),
        "{events:?}"
    );
    let txs = net.nodes[0].broadcaster.take();
    assert!(!txs.is_empty(), "the monitor broadcasts our commitment");
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    let out = funding_tx.output[0].clone();
    txs[0].verify(|o| (*o == outpoint).then(|| out.clone())).expect("valid commitment");
}

#[test]
fn manual_acceptance_raises_an_open_channel_request() {
    let mut manual = test_config();
    manual.manual_accept_inbound_channels = true;
    let mut net = Network::with_configs(vec![test_config(), manual]);
    net.connect(0, 1);
    net.nodes[0].node.create_channel(net.nodes[1].node_id, 400_000, 10_000, 7, None).unwrap();
    net.process_all();
    let events = net.nodes[1].events();
    let temp = match &events[..] {
        [Event::OpenChannelRequest {
            temporary_channel_id,
            funding_satoshis: 400_000,
            push_msat: 10_000,
            channel_type,
            ..
        }] => {
            assert!(channel_type.requires_static_remote_key());
            *temporary_channel_id
        }
        other => panic!("{other:?}"),
    };
    assert!(net.nodes[0].events().is_empty(), "nothing until bob accepts");
    net.nodes[1].node.accept_inbound_channel(&temp, &net.nodes[0].node_id, 99).unwrap();
    net.process_all();
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::FundingGenerationReady { .. })));
    // A request that is not pending cannot be accepted.
    assert!(net.nodes[1].node.accept_inbound_channel(&temp, &net.nodes[0].node_id, 99).is_err());
    let _ = &mut net;
}

#[test]
fn disconnection_while_the_monitor_is_persisting() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, _, _) = net.route_payment(0, 1, 4_000_000);
    *net.nodes[1].watch.next_status.lock() = ChannelMonitorUpdateStatus::InProgress;
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    assert!(net.nodes[1].msgs().is_empty());
    net.disconnect(0, 1);
    net.connect(0, 1);
    // Reestablishment while paused: the retransmitted revoke_and_ack is held
    // too; node 1 only sends its channel_reestablish.
    let msgs = net.nodes[1].msgs();
    assert!(msgs.iter().all(|m| matches!(m, MessageSendEvent::SendChannelReestablish { .. })), "{msgs:?}");
    for ev in msgs {
        net.deliver(1, ev);
    }
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    assert!(
        net.nodes[1].msgs().iter().all(|m| !matches!(m, MessageSendEvent::SendRevokeAndACK { .. })),
        "no revoke_and_ack while the monitor is persisting"
    );
    *net.nodes[1].watch.next_status.lock() = ChannelMonitorUpdateStatus::Completed;
    net.nodes[1].watch.complete_all(chan);
    net.process_all();
    assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::PaymentClaimable { .. })));
    net.claim_payment(0, 1, preimage);
    assert_eq!(net.balance_msat(1, 0, chan), 4_000_000);
}

#[test]
fn reestablish_for_an_unknown_channel_gets_an_error() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 500_000, 0);
    net.disconnect(0, 1);
    net.connect(0, 1);
    let Some(MessageSendEvent::SendChannelReestablish { mut msg, .. }) = net.nodes[0].msgs().pop() else {
        panic!()
    };
    let _ = net.nodes[1].msgs();
    msg.channel_id = crate::ln::types::ChannelId([9; 32]);
    crate::ln::msgs::ChannelMessageHandler::handle_channel_reestablish(
        &net.nodes[1].node,
        net.nodes[0].node_id,
        &msg,
    );
    let msgs = net.nodes[1].msgs();
    assert!(
        matches!(&msgs[..], [MessageSendEvent::HandleError { action: crate::ln::msgs::ErrorAction::SendErrorMessage { msg }, .. }] if msg.channel_id == crate::ln::types::ChannelId([9; 32])),
        "{msgs:?}"
    );
    let _ = chan;
}
