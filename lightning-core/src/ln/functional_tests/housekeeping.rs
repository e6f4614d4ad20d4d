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
