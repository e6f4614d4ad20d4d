//! `closing_signed` fee negotiation across two nodes: the BOLT 2 receiver
//! rules in their order (a fee in the range we sent is taken, legacy peers
//! included), and the no-progress timer, which counts only while the peer
//! has something to answer.

use super::review_fixes::{closing_signed_from, start_close, twin_signer};
use super::violations::assert_closed;
use crate::chain::ChannelMonitorUpdateStatus;
use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::channel::close::MAX_CLOSING_NEGOTIATION_TICKS;
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::{self, ChannelMessageHandler};
use crate::ln::types::ChannelId;

fn only_closing_signed(net: &Network, node: usize) -> msgs::ClosingSigned {
    match &net.nodes[node].msgs()[..] {
        [MessageSendEvent::SendClosingSigned { msg, .. }] => msg.clone(),
        other => panic!("expected one closing_signed, got {other:?}"),
    }
}

/// `node` broadcast one closing transaction of the 1,000,000 sat channel
/// `chan`, paying `fee_satoshis`, and reports a cooperative close.
fn assert_closed_at_fee(net: &Network, node: usize, chan: ChannelId, fee_satoshis: u64) {
    let broadcast = net.nodes[node].broadcaster.take();
    assert_eq!(broadcast.len(), 1, "one closing transaction");
    let paid_out: u64 = broadcast[0].output.iter().map(|o| o.value.to_sat()).sum();
    assert_eq!(1_000_000 - paid_out, fee_satoshis);
    assert!(closed_cooperatively(net, node, chan));
}

fn closed_cooperatively(net: &Network, node: usize, chan: ChannelId) -> bool {
    net.nodes[node].events().iter().any(|e| {
        matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::CooperativeClosure, .. }
            if *channel_id == chan)
    })
}

/// The funder countered a legacy fundee asking too much with its own bound;
/// the fundee then comes down to a fee inside the range the funder sent,
/// though not strictly between the two last proposals: BOLT 2 takes it
/// ("if `fee_satoshis` matches its previously sent `fee_range`: SHOULD use
/// `fee_satoshis`"), it is not a violation.
#[test]
fn funder_takes_a_legacy_fee_inside_the_range_it_sent() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let sent = start_close(&net, chan).fee_range.expect("fee_range");
    let twin = twin_signer(&net, 1, 0, chan);
    let node_1 = net.nodes[1].node_id;
    net.nodes[0]
        .node
        .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, 500_000, None));
    let counter = only_closing_signed(&net, 0).fee_satoshis;
    assert_eq!(counter, sent.max_fee_satoshis);
    let fee = counter - 1;
    net.nodes[0].node.handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, fee, None));
    let reply = only_closing_signed(&net, 0);
    assert_eq!(reply.fee_satoshis, fee, "the funder replies with the same fee");
    assert_closed_at_fee(&net, 0, chan, fee);
}

/// The same for the fundee: a legacy funder proposed below the relay floor,
/// the fundee countered; the funder then offers more than the counter. The
/// funder pays: the fundee takes it rather than fail the channel.
#[test]
fn fundee_takes_a_legacy_fee_inside_the_range_it_sent() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = start_close(&net, chan);
    let twin = twin_signer(&net, 0, 1, chan);
    let node_0 = net.nodes[0].node_id;
    net.nodes[1].node.handle_closing_signed(node_0, &closing_signed_from(&net, &twin, 1, 0, chan, 1, None));
    let counter = only_closing_signed(&net, 1);
    let range = counter.fee_range.expect("we always send a fee_range");
    assert!(counter.fee_satoshis > 1 && counter.fee_satoshis < range.max_fee_satoshis);
    let fee = counter.fee_satoshis + 50;
    net.nodes[1].node.handle_closing_signed(node_0, &closing_signed_from(&net, &twin, 1, 0, chan, fee, None));
    assert_eq!(only_closing_signed(&net, 1).fee_satoshis, fee);
    assert_closed_at_fee(&net, 1, chan, fee);
}

/// The no-progress timer starts again at every answer: a negotiation that
/// moves on lives longer than the bound, one that stalls does not.
#[test]
fn an_answer_restarts_the_negotiation_timer() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = start_close(&net, chan);
    let twin = twin_signer(&net, 1, 0, chan);
    let node_1 = net.nodes[1].node_id;
    let open = |net: &Network| net.nodes[0].node.list_channels().iter().any(|c| c.channel_id == chan);
    for _ in 0..MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
    }
    assert!(open(&net));
    net.nodes[0]
        .node
        .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, 500_000, None));
    let _ = only_closing_signed(&net, 0);
    for _ in 0..MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
        assert!(open(&net), "the answer restarted the clock");
    }
    net.nodes[0].node.timer_tick_occurred();
    assert_closed(&net, 0, chan, "closing fee negotiation made no progress");
}

/// The timer does nothing outside fee negotiation, nor while the peer is
/// disconnected; a reconnection starts negotiation (and its clock) afresh.
#[test]
fn the_negotiation_timer_spares_other_states_and_restarts_on_reconnection() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let open = |net: &Network, node: usize| {
        net.nodes[node].node.list_channels().iter().any(|c| c.channel_id == chan)
    };
    for _ in 0..2 * MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
        net.nodes[1].node.timer_tick_occurred();
    }
    assert!(open(&net, 0) && open(&net, 1), "normal channels are no business of the timer");
    let _ = start_close(&net, chan);
    for _ in 0..MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
    }
    net.disconnect(0, 1);
    for _ in 0..2 * MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
    }
    assert!(open(&net, 0), "no answer can come while disconnected");
    net.connect(0, 1);
    net.process_all();
    // Negotiation restarted on reconnection and completed.
    assert!(closed_cooperatively(&net, 0, chan));
    assert!(closed_cooperatively(&net, 1, chan));
}

/// Our first `closing_signed` held until a monitor update is persisted:
/// the peer cannot answer it, so the timer waits for it to leave.
#[test]
fn the_negotiation_timer_waits_while_our_messages_are_held() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, _, _) = net.send_payment(0, 1, 5_000_000);
    // Both shutdowns while the HTLC is still there.
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    net.process_all();
    // Node 1 claims; node 0's monitor update for node 1's last
    // revoke_and_ack (which leaves the channel empty, so node 0 proposes a
    // closing fee at once) stays in progress.
    net.nodes[1].node.claim_funds(preimage);
    loop {
        let mut any = false;
        for i in 0..2 {
            for ev in net.nodes[i].msgs() {
                any = true;
                if i == 1 && matches!(ev, MessageSendEvent::SendRevokeAndACK { .. }) {
                    *net.nodes[0].watch.next_status.lock() = ChannelMonitorUpdateStatus::InProgress;
                }
                net.deliver(i, ev);
            }
        }
        if !any {
            break;
        }
    }
    let in_flight = net.nodes[0].watch.in_progress().get(&chan).is_some_and(|ids| !ids.is_empty());
    assert!(in_flight, "node 0 must have a monitor update in flight");
    for _ in 0..2 * MAX_CLOSING_NEGOTIATION_TICKS {
        net.nodes[0].node.timer_tick_occurred();
        net.process_all();
    }
    assert!(net.nodes[0].node.list_channels().iter().any(|c| c.channel_id == chan));
    *net.nodes[0].watch.next_status.lock() = ChannelMonitorUpdateStatus::Completed;
    net.nodes[0].watch.complete_all(chan);
    net.process_all();
    assert!(closed_cooperatively(&net, 0, chan));
    assert!(closed_cooperatively(&net, 1, chan));
}
