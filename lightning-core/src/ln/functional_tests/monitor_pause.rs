//! Asynchronous persistence: while a monitor update is `InProgress`, no
//! message (or broadcast, or event) that depends on it leaves; everything
//! resumes, in order, when the watch reports the update persisted.

use crate::chain::channelmonitor::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, CLOSED_CHANNEL_UPDATE_ID,
};
use crate::chain::ChannelMonitorUpdateStatus;
use crate::events::{Event, MessageSendEvent};
use crate::ln::channelmanager::MonitorReplayError;
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
    let (_, tx) = net.start_funding(0, 1, 300_000, 0);
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
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: crate::events::ClosureReason::MonitorPersistenceFailed, .. } if *channel_id == chan)),
        "{events:?}"
    );
}

#[test]
fn a_fundee_that_cannot_persist_its_first_monitor_refuses_the_channel() {
    use crate::events::ClosureReason;
    let net = Network::new(2);
    net.connect(0, 1);
    set_status(&net, 1, ChannelMonitorUpdateStatus::UnrecoverableError);
    let (temp, tx) = net.start_funding(0, 1, 300_000, 0);
    let funding_created = net.nodes[0].msgs();
    assert!(matches!(funding_created.as_slice(), [MessageSendEvent::SendFundingCreated { .. }]));
    for ev in funding_created {
        net.deliver(0, ev);
    }
    // No funding_signed: an error naming the temporary id, and the user
    // learns why the inbound channel ended.
    let answer = net.nodes[1].msgs();
    assert!(
        matches!(answer.as_slice(), [MessageSendEvent::HandleError { .. }]),
        "the fundee must answer with an error only: {answer:?}"
    );
    let events = net.nodes[1].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::MonitorPersistenceFailed, .. } if *channel_id == temp)),
        "{events:?}"
    );
    assert!(net.nodes[1].node.list_channels().is_empty());
    // The funder fails its channel and never broadcasts the funding.
    for ev in answer {
        net.deliver(1, ev);
    }
    let funder_events = net.nodes[0].events();
    assert!(
        funder_events.iter().any(
            |e| matches!(e, Event::DiscardFunding { funding_txid, .. } if *funding_txid == tx.compute_txid())
        ),
        "the funder must learn it can reuse the funding inputs: {funder_events:?}"
    );
    assert!(funder_events.iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::CounterpartyForceClosed { .. }, .. }
    )));
    net.process_all();
    assert!(net.nodes[0].broadcaster.take().is_empty());
    assert!(net.nodes[0].node.list_channels().is_empty());
}

#[test]
fn a_funder_that_cannot_persist_its_first_monitor_discards_the_funding() {
    use crate::events::ClosureReason;
    let net = Network::new(2);
    net.connect(0, 1);
    let (_, tx) = net.start_funding(0, 1, 300_000, 0);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    // The fundee answers with funding_signed; the funder's watch then fails
    // to persist the first monitor.
    set_status(&net, 0, ChannelMonitorUpdateStatus::UnrecoverableError);
    for ev in net.nodes[1].msgs() {
        net.deliver(1, ev);
    }
    let chan = crate::ln::types::ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(
            |e| matches!(e, Event::DiscardFunding { funding_txid, .. } if *funding_txid == tx.compute_txid())
        ),
        "the funding was never broadcast: the user may reuse its inputs: {events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::MonitorPersistenceFailed, .. } if *channel_id == chan)),
        "{events:?}"
    );
    assert!(!net.nodes[0].broadcaster.take().contains(&tx), "the funding must never be broadcast");
    assert!(net.nodes[0].node.list_channels().is_empty());
}

/// An `error` naming a temporary id fails only the channel still awaiting
/// `funding_signed` under it, never one that is funded.
#[test]
fn an_error_naming_an_old_temporary_id_leaves_a_funded_channel_alone() {
    let net = Network::new(2);
    net.connect(0, 1);
    let (temp, tx) = net.start_funding(0, 1, 300_000, 0);
    net.process_all();
    assert_eq!(net.nodes[0].broadcaster.take(), vec![tx.clone()], "funded");
    let chan = crate::ln::types::ChannelId::v1_from_funding_outpoint(tx.compute_txid(), 0);
    let msg = crate::ln::msgs::ErrorMessage::new(temp, "late error for the temporary id");
    crate::ln::msgs::ChannelMessageHandler::handle_error(&net.nodes[0].node, net.nodes[1].node_id, &msg);
    assert!(net.nodes[0].node.list_channels().iter().any(|c| c.channel_id == chan));
    assert!(!net.nodes[0].events().iter().any(|e| matches!(e, Event::ChannelClosed { .. })));
}

/// `update_channel_fee` whose monitor update cannot be persisted: the
/// channel moved on without it, so it is closed, not left half-updated.
#[test]
fn update_fee_whose_monitor_update_fails_closes_the_channel() {
    use crate::events::ClosureReason;
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    set_status(&net, 0, ChannelMonitorUpdateStatus::UnrecoverableError);
    let node_1 = net.nodes[1].node_id;
    assert!(net.nodes[0].node.update_channel_fee(&chan, &node_1, 1_000).is_err());
    assert!(net.nodes[0].node.list_channels().is_empty());
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::MonitorPersistenceFailed, .. } if *channel_id == chan)),
        "{events:?}"
    );
    // A refused fee (not a failure) leaves a channel alone.
    set_status(&net, 0, ChannelMonitorUpdateStatus::Completed);
    let _ = net.nodes[0].broadcaster.take();
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    assert!(net.nodes[1].node.update_channel_fee(&chan, &net.nodes[0].node_id, 1_000).is_err());
    assert!(net.nodes[1].node.list_channels().iter().any(|c| c.channel_id == chan));
}

#[test]
fn in_flight_updates_are_written_with_the_manager_and_handed_back() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 1_000_000);
    let (preimage, _, _) = net.route_payment(0, 1, 8_000_000);
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    let node_0 = net.nodes[0].node_id;
    let records = net.nodes[1].node.list_in_flight_monitor_updates();
    assert_eq!(records.len(), 1);
    let record = records[0].clone();
    assert!(record.channel_open && !record.initial_monitor_in_flight);
    assert_eq!((record.channel_id, record.counterparty_node_id), (chan, node_0));
    // Exactly the updates the watch still has in progress, as handed over.
    let in_progress = net.nodes[1].watch.in_progress().get(&chan).cloned().expect("in progress");
    assert_eq!(record.updates.iter().map(|u| u.update_id).collect::<Vec<_>>(), in_progress);
    let handed: Vec<ChannelMonitorUpdate> = net.nodes[1].watch.updates.lock().clone();
    assert_eq!(record.updates[..], handed[handed.len() - record.updates.len()..]);
    assert_eq!(Some(&record.latest_update_id), in_progress.last());

    // Written with the manager and read back: still paused, same record.
    let bytes = net.nodes[1].node.encode();
    net.disconnect(0, 1);
    net.nodes[1].reload_manager(&bytes);
    assert_eq!(net.nodes[1].node.encode(), bytes, "re-encoding is stable");
    assert!(net.nodes[1].node.is_channel_paused(&node_0, &chan));
    assert_eq!(net.nodes[1].node.list_in_flight_monitor_updates(), records);

    // A monitor further behind than the record: refused, nothing changes.
    let first = record.updates[0].update_id;
    assert_eq!(
        net.nodes[1].node.replay_in_flight_monitor_updates(&chan, first - 2),
        Err(MonitorReplayError::MissingUpdates {
            monitor_update_id: first - 2,
            manager_update_id: record.latest_update_id
        })
    );
    assert!(net.nodes[1].node.is_channel_paused(&node_0, &chan));
    assert_eq!(
        net.nodes[1].node.replay_in_flight_monitor_updates(&crate::ln::types::ChannelId([9; 32]), 0),
        Err(MonitorReplayError::UnknownChannel)
    );
    // This watch's monitor has them (it applies an update before persisting
    // it): nothing is handed over again, and the channel resumes.
    let monitor_id = net.nodes[1].watch.chain_monitor.get_monitor(chan).expect("monitor").latest_update_id();
    assert_eq!(monitor_id, record.latest_update_id);
    let handed_before = net.nodes[1].watch.updates.lock().len();
    assert_eq!(net.nodes[1].node.replay_in_flight_monitor_updates(&chan, monitor_id), Ok(Vec::new()));
    assert_eq!(net.nodes[1].watch.updates.lock().len(), handed_before);
    assert!(!net.nodes[1].node.is_channel_paused(&node_0, &chan));
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());

    set_status(&net, 1, ChannelMonitorUpdateStatus::Completed);
    net.connect(0, 1);
    net.process_all();
    assert!(net.nodes[1].events().iter().any(|e| matches!(e, Event::PaymentClaimable { .. })));
    net.claim_payment(0, 1, preimage);
}

#[test]
fn a_cooperative_close_in_progress_is_recorded_until_persisted() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    let closing_tx = net.close_channel(0, 1, chan);
    // Node 1 forgot the channel; its closing update is recorded.
    let records = net.nodes[1].node.list_in_flight_monitor_updates();
    assert_eq!(records.len(), 1);
    assert!(!records[0].channel_open);
    assert_eq!(records[0].latest_update_id, CLOSED_CHANNEL_UPDATE_ID);
    assert_eq!(
        records[0].updates,
        vec![ChannelMonitorUpdate {
            update_id: CLOSED_CHANNEL_UPDATE_ID,
            channel_id: chan,
            updates: vec![ChannelMonitorUpdateStep::CooperativeClose { closing_tx }],
        }]
    );
    assert!(net.nodes[0].node.list_in_flight_monitor_updates().is_empty(), "node 0 persisted at once");
    // The record is written with the manager.
    let bytes = net.nodes[1].node.encode();
    net.nodes[1].reload_manager(&bytes);
    assert_eq!(net.nodes[1].node.list_in_flight_monitor_updates(), records);
    // Persisted: forgotten.
    net.nodes[1].watch.complete_all(chan);
    let _ = net.nodes[1].msgs();
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());
}

#[test]
fn a_force_close_records_the_updates_still_in_flight() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = net.route_payment(0, 1, 8_000_000);
    set_status(&net, 1, ChannelMonitorUpdateStatus::InProgress);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    let open = net.nodes[1].node.list_in_flight_monitor_updates();
    net.nodes[1].node.force_close_broadcasting_latest_txn(&chan, &net.nodes[0].node_id).unwrap();
    let records = net.nodes[1].node.list_in_flight_monitor_updates();
    assert_eq!(records.len(), 1);
    assert!(!records[0].channel_open);
    let (closing, earlier) = records[0].updates.split_last().expect("updates");
    assert_eq!(earlier, &open[0].updates[..], "the updates in flight, then the close");
    assert_eq!(closing.update_id, CLOSED_CHANNEL_UPDATE_ID);
    assert_eq!(
        closing.updates,
        vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }]
    );
    net.nodes[1].watch.complete_all(chan);
    let _ = net.nodes[1].msgs();
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());
}
