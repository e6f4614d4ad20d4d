//! The dust exposure limit (BOLT 2 `max_dust_htlc_exposure_msat`): counted
//! over HTLCs of both directions, refused before sending, failed back (not
//! a force-close) when received, and an `update_fee` that would push it
//! over is refused.

use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::channelmanager::{PaymentSendFailure, RecipientOnionFields};
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::ErrorAction;
use crate::ln::types::{ChannelId, PaymentId};
use crate::prelude::*;
use crate::util::config::UserConfig;

/// `temporary_channel_failure` (UPDATE | 7).
const TEMPORARY_CHANNEL_FAILURE: u16 = 0x1007;

fn config_with_dust_limit(max_dust_htlc_exposure_msat: u64) -> UserConfig {
    let mut config = test_config();
    config.channel_config.max_dust_htlc_exposure_msat = max_dust_htlc_exposure_msat;
    config
}

/// Tries to pay `amount_msat` from `from` to `to`; returns the refusal, if
/// any.
fn try_pay(
    net: &Network, from: usize, to: usize, amount_msat: u64, id: u8,
) -> Result<(), PaymentSendFailure> {
    let (hash, secret) = net.nodes[to].node.create_inbound_payment(None, 3600);
    let params = crate::routing::router::RouteParameters::for_payee(&net.nodes[to].node_id, amount_msat, 40);
    net.nodes[from].node.send_payment(
        hash,
        RecipientOnionFields::secret_only(secret),
        PaymentId([id; 32]),
        params,
    )
}

fn dust_exposure_msat(net: &Network, node: usize, peer: usize, chan: ChannelId) -> u64 {
    net.nodes[node]
        .node
        .with_funded_channel(&net.nodes[peer].node_id, &chan, |c| c.dust_exposure().max_msat())
        .expect("channel open")
}

#[test]
fn outgoing_dust_is_refused_at_the_limit_counting_both_directions() {
    // Node 0 allows 5,000 sat of dust; node 1 much more.
    let mut net = Network::with_configs(vec![config_with_dust_limit(5_000_000), test_config()]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 500_000_000);
    // Node 1 sends node 0 three dust HTLCs (500 sat each, below the 546-sat
    // dust limit alone), left unclaimed: they count on node 0's side too.
    for _ in 0..3 {
        let _ = net.route_payment(1, 0, 500_000);
    }
    net.process_all();
    assert_eq!(net.nodes[0].events().len(), 3, "the incoming dust is within the limit and claimable");
    assert_eq!(dust_exposure_msat(&net, 0, 1, chan), 1_500_000);
    // Node 0 can add 3,500 sat more of dust, exactly up to the limit...
    for i in 0..7 {
        try_pay(&net, 0, 1, 500_000, i).expect("within the dust limit");
    }
    net.process_all();
    assert_eq!(dust_exposure_msat(&net, 0, 1, chan), 5_000_000);
    // ...and not one msat more: the HTLC is refused before it is sent.
    let refused = try_pay(&net, 0, 1, 1_000, 100);
    assert!(
        matches!(&refused, Err(PaymentSendFailure::ChannelUnavailable(e)) if e.contains("dust exposure")),
        "{refused:?}"
    );
    assert!(net.nodes[0].msgs().is_empty(), "nothing was sent for the refused HTLC");
    // An HTLC that is not dust is never refused for dust exposure.
    try_pay(&net, 0, 1, 20_000_000, 101).expect("not dust");
    net.process_all();
    assert_eq!(dust_exposure_msat(&net, 0, 1, chan), 5_000_000);
    assert!(net.nodes[0].node.list_channels()[0].is_usable);
}

#[test]
fn outgoing_dust_is_judged_against_a_feerate_increase() {
    // A 2,000-sat HTLC is not trimmed at 253 sat/kw (threshold 546 + 177
    // sat) but would be after an increase to ~2,800 sat/kw: the sender
    // counts it as dust already.
    let mut net = Network::with_configs(vec![config_with_dust_limit(5_000_000), test_config()]);
    net.connect(0, 1);
    let (_chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    try_pay(&net, 0, 1, 2_000_000, 1).expect("first");
    try_pay(&net, 0, 1, 2_000_000, 2).expect("second");
    let refused = try_pay(&net, 0, 1, 2_000_000, 3);
    assert!(
        matches!(&refused, Err(PaymentSendFailure::ChannelUnavailable(e)) if e.contains("dust exposure")),
        "{refused:?}"
    );
    // Well above any plausible second-stage fee, it is not dust.
    try_pay(&net, 0, 1, 10_000_000, 4).expect("not dust");
}

#[test]
fn incoming_dust_over_the_limit_is_failed_back_without_closing() {
    // The sender allows plenty of dust; the receiver 5,000 sat.
    let mut net = Network::with_configs(vec![test_config(), config_with_dust_limit(5_000_000)]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // Ten 600-sat HTLCs, dust on node 1's commitment (threshold 546 + 177
    // sat at 253 sat/kw): eight fit in 5,000 sat, the last two do not.
    let payments: Vec<_> = (0..10).map(|_| net.route_payment(0, 1, 600_000)).collect();
    net.process_all();
    let claimable: Vec<_> = net.nodes[1]
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::PaymentClaimable { payment_hash, .. } => Some(payment_hash),
            _ => None,
        })
        .collect();
    assert_eq!(claimable, payments[..8].iter().map(|p| p.1).collect::<Vec<_>>());
    // The last two came back as temporary_channel_failure, after being
    // committed: the channel stays open.
    let events = net.nodes[0].events();
    for (_, hash, _) in &payments[8..] {
        assert!(
            events.iter().any(|e| matches!(e, Event::PaymentPathFailed { payment_hash, failure_code: Some(TEMPORARY_CHANNEL_FAILURE), .. } if payment_hash == hash)),
            "{events:?}"
        );
    }
    assert!(!events.iter().any(|e| matches!(e, Event::ChannelClosed { .. })));
    assert_eq!(net.nodes[1].node.list_channels()[0].pending_htlcs, 8);
    assert_eq!(dust_exposure_msat(&net, 1, 0, chan), 4_800_000);
    // The accepted ones are claimed as usual, and the channel carries on.
    for (preimage, _, _) in &payments[..8] {
        net.claim_payment(0, 1, *preimage);
    }
    assert_eq!(dust_exposure_msat(&net, 1, 0, chan), 0);
    net.send_and_claim(0, 1, 600_000);
}

#[test]
fn update_fee_that_turns_htlcs_into_dust_over_the_limit_is_refused() {
    // Node 1 (fundee) allows 5,000 sat of dust. Five 1,200-sat HTLCs are not
    // dust at 253 sat/kw but are at 2,000 sat/kw (threshold 546 + 1,406).
    let mut net = Network::with_configs(vec![test_config(), config_with_dust_limit(5_000_000)]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    for _ in 0..5 {
        let _ = net.route_payment(0, 1, 1_200_000);
    }
    net.process_all();
    assert_eq!(net.nodes[1].events().len(), 5);
    assert_eq!(dust_exposure_msat(&net, 1, 0, chan), 0);
    // A raise that trims nothing new over the limit is fine.
    net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 300).expect("harmless raise");
    net.process_all();
    assert!(net.nodes[1].node.list_channels()[0].is_usable);
    // One that turns the five into 6,000 sat of dust: node 1 closes (BOLT
    // 2: MAY fail the channel; LDK does).
    net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 2000).expect("node 0 allows it");
    net.process_all();
    let events = net.nodes[1].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. } if err.contains("update_fee refused") && err.contains("dust exposure of our commitment"))),
        "{events:?}"
    );
    assert!(net.nodes[1].node.list_channels().is_empty());
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::CounterpartyForceClosed { .. }, .. }
    )));
}

#[test]
fn funder_does_not_send_an_update_fee_that_breaks_its_own_dust_limit() {
    let mut net = Network::with_configs(vec![config_with_dust_limit(5_000_000), test_config()]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 500_000_000);
    // Node 1 sends five 1,200-sat HTLCs (node 0 counts them: not dust now).
    for _ in 0..5 {
        let _ = net.route_payment(1, 0, 1_200_000);
    }
    net.process_all();
    assert_eq!(net.nodes[0].events().len(), 5);
    let refused = net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 2000);
    assert!(
        matches!(&refused, Err(crate::ln::channelmanager::APIError::ChannelRefused { err }) if err.contains("dust exposure")),
        "{refused:?}"
    );
    assert!(net.nodes[0].msgs().is_empty(), "no update_fee sent");
    // The timer, seeing the same estimate, does not send it either and the
    // channel stays usable.
    *net.nodes[0].fee_estimator.feerate.lock() = 2000;
    net.nodes[0].node.timer_tick_occurred();
    let msgs = net.nodes[0].msgs();
    assert!(!msgs.iter().any(|m| matches!(m, MessageSendEvent::UpdateHTLCs { .. })), "{msgs:?}");
    assert!(!msgs.iter().any(|m| matches!(
        m,
        MessageSendEvent::HandleError { action: ErrorAction::SendErrorMessage { .. }, .. }
    )));
    assert!(net.nodes[0].node.list_channels()[0].is_usable);
}
