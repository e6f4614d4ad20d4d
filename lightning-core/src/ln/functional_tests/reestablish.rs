//! Disconnection and `channel_reestablish` at every step of a payment's
//! add / commit / revoke / fulfill / commit / revoke exchange, from both
//! sides: the channel continues and the balances match.

use crate::events::{Event, MessageSendEvent};
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::CommitmentUpdate;
use crate::prelude::*;

/// Splits an `UpdateHTLCs` into one event per wire message, so a
/// disconnection can fall between any two messages.
fn split(ev: MessageSendEvent) -> Vec<MessageSendEvent> {
    let MessageSendEvent::UpdateHTLCs { node_id, channel_id, updates } = ev else { return vec![ev] };
    let one = |u: CommitmentUpdate| MessageSendEvent::UpdateHTLCs { node_id, channel_id, updates: u };
    let mut out = Vec::new();
    for m in updates.update_add_htlcs {
        out.push(one(CommitmentUpdate { update_add_htlcs: vec![m], ..Default::default() }));
    }
    for m in updates.update_fulfill_htlcs {
        out.push(one(CommitmentUpdate { update_fulfill_htlcs: vec![m], ..Default::default() }));
    }
    for m in updates.update_fail_htlcs {
        out.push(one(CommitmentUpdate { update_fail_htlcs: vec![m], ..Default::default() }));
    }
    for m in updates.update_fail_malformed_htlcs {
        out.push(one(CommitmentUpdate { update_fail_malformed_htlcs: vec![m], ..Default::default() }));
    }
    if let Some(m) = updates.update_fee {
        out.push(one(CommitmentUpdate { update_fee: Some(m), ..Default::default() }));
    }
    if let Some(m) = updates.commitment_signed {
        out.push(one(CommitmentUpdate { commitment_signed: Some(m), ..Default::default() }));
    }
    out
}

fn claim_if_claimable(net: &Network, payee: usize, claimed: &mut bool, events: &mut Vec<Event>) {
    events.extend(net.nodes[payee].events());
    if !*claimed {
        if let Some(preimage) = events.iter().find_map(|e| match e {
            Event::PaymentClaimable { purpose, .. } => purpose.preimage(),
            _ => None,
        }) {
            net.nodes[payee].node.claim_funds(preimage);
            *claimed = true;
        }
    }
}

/// Runs one payment from `payer`, disconnecting after `disconnect_after`
/// wire messages. Returns false if the exchange finished before that step.
fn payment_with_disconnect(payer: usize, disconnect_after: usize) -> bool {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // Give node 1 something to pay with.
    net.send_and_claim(0, 1, 100_000_000);
    let payee = 1 - payer;
    let before_payer = net.balance_msat(payer, payee, chan);
    let before_payee = net.balance_msat(payee, payer, chan);
    let amount = 12_345_000;
    let _ = net.route_payment(payer, payee, amount);

    let mut queue: VecDeque<(usize, MessageSendEvent)> = VecDeque::new();
    let mut delivered = 0;
    let mut claimed = false;
    let mut payee_events = Vec::new();
    let mut disconnected = false;
    loop {
        for i in 0..2 {
            for ev in net.nodes[i].msgs() {
                queue.extend(split(ev).into_iter().map(|e| (i, e)));
            }
        }
        claim_if_claimable(&net, payee, &mut claimed, &mut payee_events);
        if !disconnected && delivered == disconnect_after {
            queue.clear();
            net.disconnect(0, 1);
            net.connect(0, 1);
            disconnected = true;
            continue;
        }
        let Some((from, ev)) = queue.pop_front() else {
            // Claiming may have queued new messages.
            let mut pending = 0;
            for i in 0..2 {
                for ev in net.nodes[i].msgs() {
                    let parts = split(ev);
                    pending += parts.len();
                    queue.extend(parts.into_iter().map(|e| (i, e)));
                }
            }
            if pending > 0 {
                continue;
            }
            break;
        };
        net.deliver(from, ev);
        delivered += 1;
    }
    net.process_all();
    claim_if_claimable(&net, payee, &mut claimed, &mut payee_events);
    net.process_all();
    assert!(claimed, "payment never became claimable (disconnect after {disconnect_after})");
    assert!(
        payee_events.iter().any(|e| matches!(e, Event::PaymentClaimed { .. }))
            || net.nodes[payee].events().iter().any(|e| matches!(e, Event::PaymentClaimed { .. }))
    );
    let payer_events = net.nodes[payer].events();
    assert!(
        payer_events.iter().any(|e| matches!(e, Event::PaymentSent { .. })),
        "payer did not see PaymentSent (disconnect after {disconnect_after}): {payer_events:?}"
    );
    assert_eq!(
        net.balance_msat(payer, payee, chan),
        before_payer - amount,
        "payer balance (step {disconnect_after})"
    );
    assert_eq!(
        net.balance_msat(payee, payer, chan),
        before_payee + amount,
        "payee balance (step {disconnect_after})"
    );
    for (a, b) in [(0, 1), (1, 0)] {
        net.nodes[a]
            .node
            .with_funded_channel(&net.nodes[b].node_id, &chan, |c| {
                let cm = c.commitments();
                assert!(cm.local_commit.contents.htlcs.is_empty(), "HTLCs left (step {disconnect_after})");
                assert_eq!(cm.local_commit.contents.to_local_msat, cm.remote_commit.contents.to_local_msat);
            })
            .unwrap();
    }
    // The channel keeps working both ways.
    net.send_and_claim(0, 1, 1_000_000);
    net.send_and_claim(1, 0, 1_000_000);
    disconnected
}

#[test]
fn reestablish_at_every_step_payer_is_funder() {
    let mut step = 0;
    while payment_with_disconnect(0, step) {
        step += 1;
    }
    // add, commit, revoke, commit, revoke, fulfill, commit, revoke, commit, revoke.
    assert!(step >= 10, "only {step} steps exercised");
}

#[test]
fn reestablish_at_every_step_payer_is_fundee() {
    let mut step = 0;
    while payment_with_disconnect(1, step) {
        step += 1;
    }
    assert!(step >= 10, "only {step} steps exercised");
}

#[test]
fn reestablish_retransmits_channel_ready() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.open_channel_unconfirmed(0, 1, 500_000, 0);
    net.mine_block(core::slice::from_ref(&funding_tx));
    // Both channel_ready are lost in flight.
    let lost: usize = (0..2).map(|i| net.nodes[i].msgs().len()).sum();
    assert_eq!(lost, 2);
    net.disconnect(0, 1);
    net.connect(0, 1);
    net.process_all();
    for i in 0..2 {
        assert!(net.nodes[i]
            .events()
            .iter()
            .any(|e| matches!(e, Event::ChannelReady { channel_id, .. } if *channel_id == chan)));
    }
    net.send_and_claim(0, 1, 5_000_000);
}
