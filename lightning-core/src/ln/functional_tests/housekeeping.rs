//! What the manager forgets on its timer: resolved payments after the
//! idempotency window, and disconnected peers with nothing left.

use crate::ln::channelmanager::{PaymentSendFailure, RecipientOnionFields, IDEMPOTENCY_TIMEOUT_TICKS};
use crate::ln::functional_test_utils::*;
use crate::routing::router::RouteParameters;

#[test]
fn resolved_payment_ids_are_refused_until_the_idempotency_window_ends() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, hash, id) = net.send_payment(0, 1, 2_000_000);
    net.claim_payment(0, 1, preimage);

    let retry = || {
        let (_, secret) = net.nodes[1].node.create_inbound_payment(None, 3600);
        let params = RouteParameters::for_payee(&net.nodes[1].node_id, 1_000, 40);
        net.nodes[0].node.send_payment(hash, RecipientOnionFields::secret_only(secret), id, params)
    };
    for _ in 0..IDEMPOTENCY_TIMEOUT_TICKS - 1 {
        net.nodes[0].node.timer_tick_occurred();
        assert_eq!(retry(), Err(PaymentSendFailure::DuplicatePayment));
    }
    net.nodes[0].node.timer_tick_occurred();
    // Forgotten: the id may be used again (here the payee refuses the reused
    // hash, which is the user's business, but nothing stops the send).
    assert_eq!(retry(), Ok(()));
}

#[test]
fn a_payment_in_flight_is_never_forgotten() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (preimage, _, _) = net.send_payment(0, 1, 2_000_000);
    for _ in 0..2 * IDEMPOTENCY_TIMEOUT_TICKS {
        net.nodes[0].node.timer_tick_occurred();
    }
    // The success still reaches the payer as PaymentSent.
    net.claim_payment(0, 1, preimage);
}

#[test]
fn disconnected_peers_without_channels_are_forgotten() {
    let mut net = Network::new(3);
    net.connect(0, 1);
    net.connect(0, 2);
    net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    assert_eq!(net.nodes[0].node.known_peer_count(), 2);
    net.disconnect(0, 1);
    net.disconnect(0, 2);
    net.nodes[0].node.timer_tick_occurred();
    // The peer we have a channel with stays; the other one is gone.
    assert_eq!(net.nodes[0].node.known_peer_count(), 1);
    net.connect(0, 2);
    assert_eq!(net.nodes[0].node.known_peer_count(), 2);
}

#[test]
fn an_inbound_channel_whose_funding_never_confirms_is_forgotten() {
    use crate::events::{ClosureReason, Event};
    use crate::ln::channelmanager::FUNDING_CONF_DEADLINE_BLOCKS;

    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _funding_tx) = net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
    // The funding is never mined.
    net.mine_blocks(FUNDING_CONF_DEADLINE_BLOCKS - 1);
    net.process_all();
    assert_eq!(net.nodes[1].node.list_channels().len(), 1, "closed before the deadline");
    assert!(net.nodes[1].events().is_empty());

    net.mine_blocks(1);
    assert!(net.nodes[1].node.list_channels().is_empty());
    let events = net.nodes[1].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::FundingTimedOut, .. } if *channel_id == chan)),
        "{events:?}"
    );
    // The fundee broadcasts nothing (there is nothing on chain), and tells
    // the funder, whose own funds are its business: it keeps the channel
    // until it hears of it, then closes it too.
    assert!(net.nodes[1].broadcaster.take().is_empty());
    net.process_all();
    assert!(net.nodes[0].node.list_channels().is_empty());
}

#[test]
fn a_channel_we_fund_never_times_out() {
    use crate::chain::Listen;
    use crate::ln::channelmanager::FUNDING_CONF_DEADLINE_BLOCKS;

    let mut net = Network::new(2);
    net.connect(0, 1);
    net.open_channel_unconfirmed(0, 1, 1_000_000, 0);
    // Only the funder sees the blocks (so the fundee does not give up and
    // tell it): it waits as long as it takes.
    let mut header = *net.headers.last().expect("tip");
    for height in net.height() + 1..=net.height() + FUNDING_CONF_DEADLINE_BLOCKS + 10 {
        header = header_after(&header, height);
        net.nodes[0].node.filtered_block_connected(&header, &[], height);
    }
    net.process_all();
    assert_eq!(net.nodes[0].node.list_channels().len(), 1, "{:?}", net.nodes[0].events());
}

/// A route whose first hop names the channel by its scid alias (as a payee's
/// invoice hint for an unannounced channel would) pays over that channel,
/// and one naming an unknown scid is refused.
#[test]
fn a_route_may_name_the_first_channel_by_its_alias() {
    use crate::events::Event;
    use crate::ln::features::{ChannelFeatures, NodeFeatures};
    use crate::ln::types::PaymentId;
    use crate::prelude::*;
    use crate::routing::gossip::NodeId;
    use crate::routing::router::{Path, Route, RouteHop};

    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let details = net.nodes[0].node.list_channels();
    let alias = details[0].outbound_scid_alias.expect("an alias");
    assert_ne!(Some(alias), details[0].short_channel_id);
    let route_over = |scid: u64| Route {
        paths: vec![Path {
            payer: NodeId::from_pubkey(&net.nodes[0].node_id),
            hops: vec![RouteHop {
                pubkey: NodeId::from_pubkey(&net.nodes[1].node_id),
                node_features: NodeFeatures::empty(),
                short_channel_id: scid,
                channel_features: ChannelFeatures::empty(),
                fee_msat: 3_000_000,
                cltv_expiry_delta: 40,
                maybe_announced_channel: false,
            }],
        }],
        route_params: None,
    };
    let (hash, secret) = net.nodes[1].node.create_inbound_payment(Some(3_000_000), 3600);
    let preimage = net.nodes[1].node.get_payment_preimage(hash, secret).expect("ours");
    let onion = RecipientOnionFields::secret_only(secret);
    assert!(matches!(
        net.nodes[0].node.send_payment_with_route(
            &route_over(alias.0 ^ 1),
            hash,
            onion.clone(),
            PaymentId([1; 32])
        ),
        Err(PaymentSendFailure::ChannelUnavailable(_))
    ));
    net.nodes[0]
        .node
        .send_payment_with_route(&route_over(alias.0), hash, onion, PaymentId([2; 32]))
        .expect("sent");
    net.process_all();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash)));
    net.claim_payment(0, 1, preimage);
    assert_eq!(net.balance_msat(1, 0, chan), 3_000_000);
}
