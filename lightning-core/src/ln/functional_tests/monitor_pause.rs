//! Asynchronous persistence: while a monitor update is `InProgress`, no
//! message (or broadcast, or event) that depends on it leaves; everything
//! resumes, in order, when the watch reports the update persisted.

use crate::chain::ChannelMonitorUpdateStatus;
use crate::events::{Event, MessageSendEvent};
use crate::ln::functional_test_utils::*;
use crate::prelude::*;

fn set_status(net: &Network, node: usize, status: ChannelMonitorUpdateStatus) {
    *net.nodes[node].watch.next_status.lock() = status;
}

#[test]
fn revoke_and_ack_waits_for_the_monitor() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, _, _) = net.route_payment(0, 1, 8_000_000);
    // Node 1 persists asynchronously from now on.
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    assert!(net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    assert!(net.nodes[1].msgs().is_empty(), "no revoke_and_ack before the monitor has our new commitment");
    assert!(!net.nodes[1].watch.in_progress().is_empty());
    // Persisted: the held revoke_and_ack (and commitment_signed) go out, in order.
    set_status(&net, 1, ChannelMonitorUpdateStatus::Completed);
    net.nodes[1].watch.complete_all(chan);
    let released = net.nodes[1].msgs();
    assert!(matches!(released.first(), Some(MessageSendEvent::SendRevokeAndACK { .. })), "{released:?}");
    assert!(
        matches!(released.get(1), Some(MessageSendEvent::UpdateHTLCs { updates, .. }) if updates.commitment_signed.is_some())
    );
    assert!(!net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    for ev in released {
        net.deliver(1, ev);
    }
    net.process_all();
    assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::PaymentClaimable { .. })));
    net.claim_payment(0, 1, preimage);
}

#[test]
fn fulfill_waits_for_the_preimage_to_be_persisted() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, _, _) = net.send_payment(0, 1, 8_000_000);
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    net.nodes[1].node.claim_funds(preimage);
    assert!(net.nodes[1].msgs().is_empty(), "update_fulfill_htlc must wait for the preimage to be persisted");
    let updates = net.nodes[1].watch.updates.lock().clone();
    let preimage_update = updates
        .iter()
        .position(|u| {
            matches!(
                u.updates[0],
                crate::chain::channelmonitor::ChannelMonitorUpdateStep::PaymentPreimage { .. }
            )
        })
        .expect("the preimage goes to the monitor");
    // ... before the commitment that removes the HTLC.
    assert!(updates[preimage_update + 1..].iter().any(|u| matches!(
        u.updates[0],
        crate::chain::channelmonitor::ChannelMonitorUpdateStep::LatestCounterpartyCommitment { .. }
    )));
    set_status(&net, 1, ChannelMonitorUpdateStatus::Completed);
    net.nodes[1].watch.complete_all(chan);
    net.process_all();
    assert!(net.nodes[0]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentSent { payment_preimage, .. } if *payment_preimage == preimage)));
}

#[test]
fn funding_signed_and_broadcast_wait_for_the_first_monitor() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    let temp = net.nodes[0].node.create_channel(net.nodes[1].node_id, 300_000, 0, 1, None).unwrap();
    net.process_all();
    let script = net.nodes[0]
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .unwrap();
    let tx = funding_transaction(script, 300_000, 7);
    net.nodes[0].node.funding_transaction_generated(&temp, &net.nodes[1].node_id, tx.clone()).unwrap();
    net.process_all();
    let chan = crate::ln::types::ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    // The fundee holds funding_signed (and ChannelPending) until its monitor is persisted.
    assert!(net.nodes[0].broadcaster.take().is_empty());
    assert!(net.nodes[1].events().is_empty());
    set_status(&net, 0, ChannelMonitorUpdateStatus::InProgress);
    net.nodes[1].watch.complete_all(chan);
    net.process_all();
    assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::ChannelPending { .. })));
    // The funder got funding_signed, but its own monitor is in progress:
    // no broadcast yet.
    assert!(
        net.nodes[0].broadcaster.take().is_empty(),
        "funding must not be broadcast before the monitor is persisted"
    );
    assert!(net.nodes[0].events().is_empty());
    net.nodes[0].watch.complete_all(chan);
    net.process_all();
    assert_eq!(net.nodes[0].broadcaster.take(), vec![tx.clone()]);
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::ChannelPending { .. })));
    set_status(&net, 0, ChannelMonitorUpdateStatus::Completed);
    set_status(&net, 1, ChannelMonitorUpdateStatus::Completed);
    net.mine_block(core::slice::from_ref(&tx));
    net.process_all();
    net.send_and_claim(0, 1, 1_000_000);
}

#[test]
fn unrecoverable_persistence_failure_closes_the_channel() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    set_status(&net, 0, ChannelMonitorUpdateStatus::UnrecoverableError);
    let _ = net.route_payment(0, 1, 1_000_000);
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, .. } if *channel_id == chan)),
        "{events:?}"
    );
}
