//! Routing over a direct channel: the payee is one of our peers, so the
//! route is one hop over our channel with it (no fee, no intermediate node
//! to hide the final CLTV from). [`DirectRouter`] does only this (no graph
//! needed); [`super::DefaultRouter`] tries it first and searches the graph
//! when the payee is not a peer or no single channel with it can carry the
//! amount.

use super::types::{FirstHop, Path, Route, RouteError, RouteHop, RouteParameters};
use super::Router;
use crate::ln::features::{ChannelFeatures, NodeFeatures};
use crate::prelude::*;
use crate::routing::gossip::NodeId;

/// A one-hop route from `payer` to the payee of `route_params` over the
/// first hop to the payee that can carry the whole amount (the one with the
/// most room if several can), skipping the channels the parameters list as
/// failed. Fails with [`RouteError::PayeeUnreachable`] if no first hop
/// reaches the payee, [`RouteError::InsufficientLiquidity`] if none can
/// carry the amount, [`RouteError::CltvLimitTooLow`] if the final CLTV
/// delta alone exceeds the limit.
pub fn find_direct_route(
    payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
) -> Result<Route, RouteError> {
    let p = &route_params.payment_params;
    let payee = p.payee_pubkey;
    let amount_msat = route_params.final_value_msat;
    if *payer == payee {
        return Err(RouteError::PayerIsPayee);
    }
    if amount_msat == 0 {
        return Err(RouteError::ZeroAmount);
    }
    if p.final_cltv_expiry_delta > p.max_total_cltv_expiry_delta {
        return Err(RouteError::CltvLimitTooLow);
    }
    let to_payee: Vec<&FirstHop> = first_hops
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|h| h.counterparty_node_id == payee)
        .filter(|h| !p.previously_failed_channels.contains(&h.short_channel_id))
        .collect();
    if to_payee.is_empty() {
        return Err(RouteError::PayeeUnreachable);
    }
    let hop = to_payee
        .into_iter()
        .filter(|h| {
            h.next_outbound_htlc_limit_msat >= amount_msat && h.next_outbound_htlc_minimum_msat <= amount_msat
        })
        .max_by_key(|h| h.next_outbound_htlc_limit_msat)
        .ok_or(RouteError::InsufficientLiquidity)?;
    Ok(Route {
        paths: vec![Path {
            payer: *payer,
            hops: vec![RouteHop {
                pubkey: payee,
                node_features: NodeFeatures::empty(),
                short_channel_id: hop.short_channel_id,
                channel_features: ChannelFeatures::empty(),
                fee_msat: amount_msat,
                cltv_expiry_delta: route_params.payment_params.final_cltv_expiry_delta,
                maybe_announced_channel: hop.is_announced,
            }],
        }],
        route_params: Some(route_params.clone()),
    })
}

/// Routes only over a direct channel with the payee
/// ([`find_direct_route`]): for nodes that pay their peers only and keep no
/// network graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectRouter;

impl Router for DirectRouter {
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError> {
        find_direct_route(payer, route_params, first_hops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::router::PaymentParameters;

    fn node(b: u8) -> NodeId {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let sk = bitcoin::secp256k1::SecretKey::from_slice(&[b; 32]).unwrap();
        NodeId::from_pubkey(&bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &sk))
    }

    fn hop(to: NodeId, scid: u64, limit_msat: u64) -> FirstHop {
        FirstHop {
            counterparty_node_id: to,
            short_channel_id: scid,
            outbound_capacity_msat: limit_msat,
            next_outbound_htlc_limit_msat: limit_msat,
            next_outbound_htlc_minimum_msat: 1000,
            is_announced: false,
        }
    }

    #[test]
    fn picks_the_direct_channel_with_the_most_room() {
        let (us, payee, other) = (node(1), node(2), node(3));
        let hops = [hop(other, 1, 10_000_000), hop(payee, 2, 6_000_000), hop(payee, 3, 8_000_000)];
        let refs: Vec<&FirstHop> = hops.iter().collect();
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(payee, 40),
            5_000_000,
        );
        let route = DirectRouter.find_route(&us, &params, Some(&refs)).unwrap();
        assert_eq!(route.paths.len(), 1);
        let h = &route.paths[0].hops[0];
        assert_eq!(
            (h.pubkey, h.short_channel_id, h.fee_msat, h.cltv_expiry_delta),
            (payee, 3, 5_000_000, 40)
        );
        assert_eq!(route.total_fees_msat(), 0);
        // Too much for any channel, below the peer's minimum, nobody to pay,
        // or paying ourselves: each refused for its reason.
        let big = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(payee, 40),
            9_000_000,
        );
        assert_eq!(DirectRouter.find_route(&us, &big, Some(&refs)), Err(RouteError::InsufficientLiquidity));
        let tiny =
            RouteParameters::from_payment_params_and_value(PaymentParameters::from_node_id(payee, 40), 999);
        assert_eq!(DirectRouter.find_route(&us, &tiny, Some(&refs)), Err(RouteError::InsufficientLiquidity));
        assert_eq!(DirectRouter.find_route(&us, &params, None), Err(RouteError::PayeeUnreachable));
        let to_self = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(us, 40),
            5_000_000,
        );
        assert_eq!(DirectRouter.find_route(&us, &to_self, Some(&refs)), Err(RouteError::PayerIsPayee));
        // A channel that failed this payment before is not used again; a
        // final CLTV delta over the limit is refused.
        let mut retry = params.clone();
        retry.payment_params.previously_failed_channels = vec![3];
        let route = DirectRouter.find_route(&us, &retry, Some(&refs)).unwrap();
        assert_eq!(route.paths[0].hops[0].short_channel_id, 2);
        let mut slow = params.clone();
        slow.payment_params.final_cltv_expiry_delta = slow.payment_params.max_total_cltv_expiry_delta + 1;
        assert_eq!(DirectRouter.find_route(&us, &slow, Some(&refs)), Err(RouteError::CltvLimitTooLow));
    }

    #[test]
    fn default_router_pays_a_peer_directly_and_splits_when_no_channel_can() {
        use crate::ln::features::Bolt11InvoiceFeatures;
        use crate::routing::gossip::NetworkGraph;
        use crate::routing::router::DefaultRouter;
        use crate::routing::scoring::FixedPenaltyScorer;
        use crate::sync::Mutex;
        let (us, payee) = (node(1), node(2));
        let graph = NetworkGraph::new(bitcoin::blockdata::constants::ChainHash::REGTEST);
        let scorer = Mutex::new(FixedPenaltyScorer::with_penalty(0));
        let router = DefaultRouter::new(&graph, &scorer, (), [5; 32]);
        let hops = [hop(payee, 2, 6_000_000), hop(payee, 3, 6_000_000)];
        let refs: Vec<&FirstHop> = hops.iter().collect();
        let mut features = Bolt11InvoiceFeatures::empty();
        features.set_variable_length_onion_required();
        features.set_payment_secret_required();
        features.set_basic_mpp_optional();
        let payment_params = PaymentParameters::from_node_id(payee, 40).with_bolt11_features(features);
        // One channel can carry it: the direct route, exactly as DirectRouter
        // gives it (no search, so no shadow CLTV offset).
        let one = RouteParameters::from_payment_params_and_value(payment_params.clone(), 5_000_000);
        let route = router.find_route(&us, &one, Some(&refs)).unwrap();
        assert_eq!(route, DirectRouter.find_route(&us, &one, Some(&refs)).unwrap());
        // None can: the graph search splits it over both channels.
        let split = RouteParameters::from_payment_params_and_value(payment_params, 10_000_000);
        assert_eq!(DirectRouter.find_route(&us, &split, Some(&refs)), Err(RouteError::InsufficientLiquidity));
        let route = router.find_route(&us, &split, Some(&refs)).unwrap();
        assert_eq!(route.paths.len(), 2);
        assert_eq!(route.total_amount_msat(), 10_000_000);
        assert!(route.paths.iter().all(|p| p.hops.len() == 1 && p.hops[0].pubkey == payee));
        // Not a peer and not in the graph: unreachable.
        let stranger = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(node(9), 40),
            1_000,
        );
        assert_eq!(router.find_route(&us, &stranger, Some(&refs)), Err(RouteError::PayeeUnreachable));
    }
}
