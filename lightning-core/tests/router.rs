//! find_route on hand-built graphs: exact fees and CLTV totals, HTLC limits,
//! disabled channels, MPP splitting, route hints to a private payee, our own
//! first hops, limits, clear errors, and the scorer learning from failures.

mod routing_util;

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::routing::gossip::{NetworkGraph, RoutingFees};
use lightning_core::routing::router::random::MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET;
use lightning_core::routing::router::{
    find_route, DefaultRouter, FirstHop, PaymentParameters, Route, RouteError, RouteHint, RouteHintHop,
    RouteParameters, Router,
};
use lightning_core::routing::scoring::{
    FixedPenaltyScorer, ProbabilisticScorer, ProbabilisticScoringDecayParameters,
    ProbabilisticScoringFeeParameters, ScoreUpdate,
};
use lightning_core::sync::Mutex;
use lightning_core::util::logger::{Level, Logger, NullLogger, Record};
use lightning_core::util::ser::{decode_exact, Writeable};
use routing_util::*;

fn n(i: u8) -> TestNode {
    TestNode::new(i)
}

fn pol(base: u32, ppm: u32, cltv: u16) -> Policy {
    Policy {
        fee_base_msat: base,
        fee_ppm: ppm,
        cltv_expiry_delta: cltv,
        htlc_maximum_msat: 1_000_000_000,
        ..Default::default()
    }
}

fn params(payee: TestNode, amount: u64) -> RouteParameters {
    let mut p = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(payee.node_id(), 18),
        amount,
    );
    p.max_total_routing_fee_msat = None;
    p
}

fn route(graph: &NetworkGraph, payer: TestNode, p: &RouteParameters) -> Result<Route, RouteError> {
    find_route(
        &payer.node_id(),
        p,
        &graph.read_only(),
        None,
        &NullLogger,
        &FixedPenaltyScorer::with_penalty(0),
        &(),
        &[0; 32],
    )
}

fn scids(r: &Route) -> Vec<Vec<u64>> {
    r.paths.iter().map(|p| p.hops.iter().map(|h| h.short_channel_id).collect()).collect()
}

/// 1 -> 2 -> 3 -> 4 -> 5, each hop with its own fee and delta.
fn chain_graph() -> NetworkGraph {
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    add_trusted_channel(&g, n(1), n(2), 12, 1_000_000, Some(pol(0, 0, 10)), None);
    add_trusted_channel(&g, n(2), n(3), 23, 1_000_000, Some(pol(1000, 100, 40)), None);
    add_trusted_channel(&g, n(3), n(4), 34, 1_000_000, Some(pol(7, 2500, 144)), None);
    add_trusted_channel(&g, n(4), n(5), 45, 1_000_000, Some(pol(500, 1, 6)), None);
    g
}

#[test]
fn fees_and_cltv_are_exact_per_hop() {
    let g = chain_graph();
    let mut p = params(n(5), 1_234_567);
    // No random shadow offset: the final delta is exactly the payee's.
    p.payment_params.max_shadow_cltv_expiry_delta_offset = 0;
    let r = route(&g, n(1), &p).unwrap();
    assert_eq!(scids(&r), vec![vec![12, 23, 34, 45]]);
    let hops = &r.paths[0].hops;
    // Node 4 forwards 1,234,567 over 4->5: 500 + 1,234,567 * 1 / 1e6 = 501.
    assert_eq!(hops[2].fee_msat, 501);
    // Node 3 forwards 1,235,068 over 3->4: 7 + 1,235,068 * 2500 / 1e6 = 3,094.
    assert_eq!(hops[1].fee_msat, 3_094);
    // Node 2 forwards 1,238,162 over 2->3: 1000 + 123 = 1,123.
    assert_eq!(hops[0].fee_msat, 1_123);
    assert_eq!(hops[3].fee_msat, 1_234_567);
    assert_eq!(r.total_fees_msat(), 501 + 3_094 + 1_123);
    assert_eq!(r.paths[0].first_hop_amount_msat(), 1_234_567 + 4_718);
    // Deltas charged by nodes 2, 3, 4, then the final 18; the payer's own
    // channel adds nothing.
    let deltas: Vec<u32> = hops.iter().map(|h| h.cltv_expiry_delta).collect();
    assert_eq!(deltas, vec![40, 144, 6, 18]);
    assert_eq!(r.paths[0].total_cltv_expiry_delta(), 208);
    assert_eq!(r.paths[0].amounts_per_hop(), vec![1_239_285, 1_238_162, 1_235_068, 1_234_567]);
}

fn route_with_seed(graph: &NetworkGraph, p: &RouteParameters, seed: u8) -> Route {
    let scorer = FixedPenaltyScorer::with_penalty(0);
    find_route(&n(1).node_id(), p, &graph.read_only(), None, &NullLogger, &scorer, &(), &[seed; 32]).unwrap()
}

#[test]
fn shadow_cltv_offset_is_random_bounded_and_fixed_per_seed() {
    let g = chain_graph();
    let p = params(n(5), 1_234_567);
    let mut offsets = std::collections::BTreeSet::new();
    for seed in 0..40u8 {
        let r = route_with_seed(&g, &p, seed);
        assert_eq!(r, route_with_seed(&g, &p, seed), "same seed, same route");
        let deltas: Vec<u32> = r.paths[0].hops.iter().map(|h| h.cltv_expiry_delta).collect();
        // Only the final hop gets the offset; fees are untouched.
        assert_eq!(deltas[..3], [40, 144, 6]);
        assert_eq!(r.total_fees_msat(), 4_718);
        let offset = deltas[3] - 18;
        assert!(offset <= MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET, "{offset}");
        assert!(r.paths[0].total_cltv_expiry_delta() <= p.payment_params.max_total_cltv_expiry_delta);
        offsets.insert(offset);
    }
    assert!(offsets.len() > 2, "the offset varies with the seed: {offsets:?}");
    assert!(!offsets.contains(&0), "a walk of at least one hop: {offsets:?}");

    // The CLTV limit bounds it: 50 blocks of room give a multiple of 40.
    let mut tight = params(n(5), 1_234_567);
    tight.payment_params.max_total_cltv_expiry_delta = 208 + 50;
    for seed in 0..20u8 {
        let total = route_with_seed(&g, &tight, seed).paths[0].total_cltv_expiry_delta();
        assert!(total == 208 || total == 208 + 40, "{total}");
    }
    // No room, no offset; and a cap of its own.
    tight.payment_params.max_total_cltv_expiry_delta = 208;
    assert_eq!(route_with_seed(&g, &tight, 3).paths[0].total_cltv_expiry_delta(), 208);
    let mut capped = params(n(5), 1_234_567);
    capped.payment_params.max_shadow_cltv_expiry_delta_offset = 5;
    for seed in 0..20u8 {
        let total = route_with_seed(&g, &capped, seed).paths[0].total_cltv_expiry_delta();
        assert!((208..=213).contains(&total), "{total}");
    }
}

#[test]
fn the_seed_picks_among_near_equal_paths_but_never_against_a_clear_winner() {
    // Two paths of equal cost: each seed picks one, always the same one, and
    // across seeds both are used.
    let g = diamond(pol(5000, 5000, 10));
    let p = params(n(4), 100_000_000);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40u8 {
        let r = route_with_seed(&g, &p, seed);
        assert_eq!(r, route_with_seed(&g, &p, seed));
        // Fees stay exact whatever the noise.
        assert_eq!(r.total_fees_msat(), 505_000);
        seen.insert(scids(&r));
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Noise is at most 5% of a hop's cost: a path 20% cheaper always wins.
    let g = diamond(pol(5000, 4_000, 10));
    for seed in 0..40u8 {
        assert_eq!(scids(&route_with_seed(&g, &p, seed)), vec![vec![12, 24]], "seed {seed}");
    }
}

/// 1 -> 2 -> 4 (cheap) and 1 -> 3 -> 4 (expensive).
fn diamond(cheap: Policy) -> NetworkGraph {
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    add_trusted_channel(&g, n(1), n(2), 12, 10_000_000, Some(pol(0, 0, 10)), None);
    add_trusted_channel(&g, n(1), n(3), 13, 10_000_000, Some(pol(0, 0, 10)), None);
    add_trusted_channel(&g, n(2), n(4), 24, 10_000_000, Some(cheap), None);
    add_trusted_channel(&g, n(3), n(4), 34, 10_000_000, Some(pol(5000, 5000, 10)), None);
    g
}

#[test]
fn cheapest_path_wins_unless_its_limits_or_state_forbid_it() {
    let amount = 100_000_000;
    let ok = |g: &NetworkGraph| scids(&route(g, n(1), &params(n(4), amount)).unwrap());
    assert_eq!(ok(&diamond(pol(1, 1, 10))), vec![vec![12, 24]]);
    // htlc_minimum_msat above the amount.
    assert_eq!(ok(&diamond(Policy { htlc_minimum_msat: amount + 1, ..pol(1, 1, 10) })), vec![vec![13, 34]]);
    // htlc_maximum_msat below the amount.
    assert_eq!(ok(&diamond(Policy { htlc_maximum_msat: amount - 1, ..pol(1, 1, 10) })), vec![vec![13, 34]]);
    // Disabled.
    assert_eq!(ok(&diamond(Policy { disabled: true, ..pol(1, 1, 10) })), vec![vec![13, 34]]);
    // A CLTV delta that breaks the limit.
    assert_eq!(ok(&diamond(pol(1, 1, 1000))), vec![vec![13, 34]]);
    // Previously failed.
    let g = diamond(pol(1, 1, 10));
    let mut p = params(n(4), amount);
    p.payment_params.previously_failed_channels = vec![24];
    assert_eq!(scids(&route(&g, n(1), &p).unwrap()), vec![vec![13, 34]]);
    // Fee limit: the expensive path costs 5000 + 500,000 msat.
    let g = diamond(Policy { disabled: true, ..pol(1, 1, 10) });
    let mut p = params(n(4), amount);
    p.max_total_routing_fee_msat = Some(504_999);
    assert_eq!(route(&g, n(1), &p), Err(RouteError::NoRouteFound));
    p.max_total_routing_fee_msat = Some(505_000);
    assert_eq!(route(&g, n(1), &p).unwrap().total_fees_msat(), 505_000);
}

#[test]
fn saturation_is_preferred_but_relaxed_when_nothing_else_works() {
    // Only path: a 1,000,000 sat channel; 600,000 sat is over 1/4 of it.
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    add_trusted_channel(&g, n(1), n(2), 12, 1_000_000, Some(pol(0, 0, 10)), None);
    add_trusted_channel(&g, n(2), n(3), 23, 1_000_000, Some(pol(10, 10, 10)), None);
    // A second, dearer path with room to spare.
    add_trusted_channel(&g, n(1), n(4), 14, 10_000_000, Some(pol(0, 0, 10)), None);
    add_trusted_channel(
        &g,
        n(4),
        n(3),
        43,
        10_000_000,
        Some(Policy { htlc_maximum_msat: 5_000_000_000, ..pol(100, 100, 10) }),
        None,
    );
    assert_eq!(scids(&route(&g, n(1), &params(n(3), 100_000_000)).unwrap()), vec![vec![12, 23]]);
    assert_eq!(scids(&route(&g, n(1), &params(n(3), 600_000_000)).unwrap()), vec![vec![14, 43]]);
    g.remove_channel(43);
    assert_eq!(scids(&route(&g, n(1), &params(n(3), 600_000_000)).unwrap()), vec![vec![12, 23]]);
}

#[test]
fn mpp_splits_when_no_single_path_can_carry_the_amount() {
    // Three disjoint paths 1 -> x -> 5, each limited to 400,000 sat per HTLC.
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    for (i, x) in [2u8, 3, 4].into_iter().enumerate() {
        let limit = Policy { htlc_maximum_msat: 400_000_000, ..pol(0, 0, 10) };
        add_trusted_channel(&g, n(1), n(x), 10 + i as u64, 1_000_000, Some(limit), None);
        let fwd = Policy { htlc_maximum_msat: 400_000_000, ..pol(100, 1000, 20) };
        add_trusted_channel(&g, n(x), n(5), 20 + i as u64, 1_000_000, Some(fwd), None);
    }
    let amount = 1_000_000_000;
    // Without basic_mpp, no single path can carry it.
    assert_eq!(route(&g, n(1), &params(n(5), amount)), Err(RouteError::NoRouteFound));
    let mut features = Bolt11InvoiceFeatures::empty();
    features.set_payment_secret_optional();
    features.set_basic_mpp_optional();
    let mut p = params(n(5), amount);
    p.payment_params = p.payment_params.with_bolt11_features(features);
    let r = route(&g, n(1), &p).unwrap();
    assert!(r.paths.len() >= 3, "{:?}", scids(&r));
    assert_eq!(r.total_amount_msat(), amount);
    let mut used_per_channel = std::collections::HashMap::new();
    for path in &r.paths {
        assert_eq!(path.hops.len(), 2);
        let fwd = path.final_value_msat();
        assert!(fwd <= 400_000_000);
        // Exact fee for what this path forwards.
        assert_eq!(path.hops[0].fee_msat, 100 + fwd * 1000 / 1_000_000);
        for (hop, amt) in path.hops.iter().zip(path.amounts_per_hop()) {
            *used_per_channel.entry(hop.short_channel_id).or_insert(0u64) += amt;
        }
    }
    // No channel carries more than its HTLC maximum in total.
    assert!(used_per_channel.values().all(|v| *v <= 400_000_000 + 1_000_000), "{used_per_channel:?}");
    // More than the three paths can carry together is an error.
    p.final_value_msat = 1_300_000_000;
    assert_eq!(route(&g, n(1), &p), Err(RouteError::InsufficientLiquidity));
    // And a path count limit is respected.
    p.final_value_msat = amount;
    p.payment_params.max_path_count = 2;
    assert_eq!(route(&g, n(1), &p), Err(RouteError::InsufficientLiquidity));
}

#[test]
fn no_route_is_a_clear_error() {
    let g = chain_graph();
    add_trusted_channel(&g, n(8), n(9), 89, 1_000_000, Some(pol(0, 0, 10)), Some(pol(0, 0, 10)));
    assert_eq!(route(&g, n(1), &params(n(9), 1000)), Err(RouteError::NoRouteFound));
    // Only the 1 -> 2 direction exists: no way back.
    assert_eq!(route(&g, n(5), &params(n(1), 1000)), Err(RouteError::NoRouteFound));
    assert_eq!(route(&g, n(1), &params(n(42), 1000)), Err(RouteError::PayeeUnreachable));
    assert_eq!(route(&g, n(42), &params(n(1), 1000)), Err(RouteError::PayerHasNoChannels));
    assert_eq!(route(&g, n(1), &params(n(1), 1000)), Err(RouteError::PayerIsPayee));
    assert_eq!(route(&g, n(1), &params(n(5), 0)), Err(RouteError::ZeroAmount));
    let mut p = params(n(5), 1000);
    p.payment_params.final_cltv_expiry_delta = 2000;
    assert_eq!(route(&g, n(1), &p), Err(RouteError::CltvLimitTooLow));
    // The path needs 40 + 144 + 6 + 18 = 208 blocks.
    p.payment_params.final_cltv_expiry_delta = 18;
    p.payment_params.max_total_cltv_expiry_delta = 207;
    assert_eq!(route(&g, n(1), &p), Err(RouteError::NoRouteFound));
    p.payment_params.max_total_cltv_expiry_delta = 208;
    assert!(route(&g, n(1), &p).is_ok());
    // An amount no channel can carry.
    assert_eq!(route(&g, n(1), &params(n(5), u64::MAX)), Err(RouteError::NoRouteFound));
}

#[test]
fn no_route_on_a_cyclic_graph_terminates() {
    // A ring of 200 nodes, one direction only, payee outside the ring.
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    for i in 0..200u16 {
        let (a, b) = (TestNode::new((i % 200 + 1) as u8), TestNode::new(((i + 1) % 200 + 1) as u8));
        add_trusted_channel(&g, a, b, 1000 + i as u64, 1_000_000, Some(pol(1, 1, 10)), None);
    }
    add_trusted_channel(&g, n(250), n(251), 5, 1_000_000, Some(pol(1, 1, 10)), None);
    assert_eq!(route(&g, n(1), &params(n(251), 1000)), Err(RouteError::NoRouteFound));
}

#[test]
fn route_hints_reach_a_private_payee() {
    let g = chain_graph();
    let payee = n(77);
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: n(4).node_id(),
        short_channel_id: 0xdead,
        fees: RoutingFees { base_msat: 10, proportional_millionths: 1000 },
        cltv_expiry_delta: 12,
        htlc_minimum_msat: None,
        htlc_maximum_msat: Some(10_000_000),
    }]);
    let mut p = params(payee, 1_000_000);
    assert_eq!(route(&g, n(1), &p), Err(RouteError::PayeeUnreachable));
    p.payment_params = p.payment_params.with_route_hints(vec![hint.clone()]);
    let r = route(&g, n(1), &p).unwrap();
    assert_eq!(scids(&r), vec![vec![12, 23, 34, 0xdead]]);
    let hops = &r.paths[0].hops;
    // Node 4 charges the hint's fee on 1,000,000: 10 + 1000 = 1,010.
    assert_eq!(hops[2].fee_msat, 1_010);
    assert_eq!(hops[2].cltv_expiry_delta, 12);
    assert!(!hops[3].maybe_announced_channel && hops[2].maybe_announced_channel);
    assert_eq!(hops[3].pubkey, payee.node_id());
    // Above the hint's htlc maximum there is no route.
    p.final_value_msat = 10_000_001;
    assert_eq!(route(&g, n(1), &p), Err(RouteError::NoRouteFound));
    // A hint through the payee itself is malformed.
    let mut bad = hint;
    bad.0[0].src_node_id = payee.node_id();
    p.payment_params.route_hints = vec![bad];
    assert_eq!(route(&g, n(1), &p), Err(RouteError::InvalidRouteHint));
}

#[test]
fn first_hops_replace_the_payers_graph_channels() {
    let g = diamond(pol(1, 1, 10));
    let amount = 1_000_000;
    let via3 = FirstHop {
        counterparty_node_id: n(3).node_id(),
        short_channel_id: 13,
        outbound_capacity_msat: 5_000_000,
        next_outbound_htlc_limit_msat: 5_000_000,
        next_outbound_htlc_minimum_msat: 1,
        is_announced: true,
    };
    // Our channel to 2 has no balance left, whatever the graph says.
    let via2 = FirstHop {
        counterparty_node_id: n(2).node_id(),
        short_channel_id: 12,
        outbound_capacity_msat: 10,
        next_outbound_htlc_limit_msat: 10,
        ..via3.clone()
    };
    let scorer = FixedPenaltyScorer::with_penalty(0);
    let hops = [&via2, &via3];
    let r = find_route(
        &n(1).node_id(),
        &params(n(4), amount),
        &g.read_only(),
        Some(&hops),
        &NullLogger,
        &scorer,
        &(),
        &[0; 32],
    )
    .unwrap();
    assert_eq!(scids(&r), vec![vec![13, 34]]);
    // A private first hop straight to the payee needs no graph at all.
    let direct = FirstHop {
        counterparty_node_id: n(60).node_id(),
        short_channel_id: 999,
        is_announced: false,
        ..via3
    };
    let r = find_route(
        &n(1).node_id(),
        &params(n(60), amount),
        &g.read_only(),
        Some(&[&direct]),
        &NullLogger,
        &scorer,
        &(),
        &[0; 32],
    )
    .unwrap();
    assert_eq!(scids(&r), vec![vec![999]]);
    assert_eq!(r.total_fees_msat(), 0);
    // No usable first hop at all.
    assert_eq!(
        find_route(
            &n(1).node_id(),
            &params(n(4), amount),
            &g.read_only(),
            Some(&[]),
            &NullLogger,
            &scorer,
            &(),
            &[0; 32]
        ),
        Err(RouteError::PayerHasNoChannels)
    );
}

#[test]
fn probabilistic_scorer_learns_from_failures_and_forgets_with_time() {
    // Two equal paths 1 -> 2 -> 4 and 1 -> 3 -> 4.
    let g = diamond(pol(5000, 5000, 10));
    let mut scorer = ProbabilisticScorer::new(ProbabilisticScoringDecayParameters {
        liquidity_offset_half_life_secs: 3600,
    });
    let sp = ProbabilisticScoringFeeParameters::default();
    let p = params(n(4), 50_000_000);
    let find = |s: &ProbabilisticScorer| {
        find_route(&n(1).node_id(), &p, &g.read_only(), None, &NullLogger, s, &sp, &[0; 32]).unwrap()
    };
    let first = find(&scorer);
    let failed_scid = first.paths[0].hops[1].short_channel_id;
    scorer.payment_path_failed(&first.paths[0], failed_scid, 1_000);
    let second = find(&scorer);
    assert_ne!(second.paths[0].hops[1].short_channel_id, failed_scid, "the failed channel is avoided");
    // The failed hop is known to hold less than the amount; the first hop at
    // least the amount it forwarded.
    let one_to_two = |a: TestNode, b: TestNode| a.node_id() < b.node_id();
    let via = if failed_scid == 24 { n(2) } else { n(3) };
    let l = scorer.estimated_liquidity(failed_scid, one_to_two(via, n(4))).unwrap();
    assert_eq!(l.max_liquidity_msat, 50_000_000 - 1);
    // After many half-lives the lesson is forgotten.
    scorer.time_passed(1_000 + 3600 * 70);
    assert_eq!(scorer.estimated_liquidity(failed_scid, one_to_two(via, n(4))), None);
    assert_eq!(scorer.tracked_channel_count(), 0);
    // Serialization round trip of learned state.
    scorer.payment_path_failed(&first.paths[0], failed_scid, 5_000);
    scorer.payment_path_successful(&second.paths[0], 5_000);
    let bytes = scorer.encode();
    assert_eq!(decode_exact::<ProbabilisticScorer>(&bytes), Ok(scorer.clone()));
    assert!(decode_exact::<ProbabilisticScorer>(&bytes[..bytes.len() - 1]).is_err());
}

#[test]
fn default_router_uses_the_locked_scorer() {
    let g = chain_graph();
    let scorer = Mutex::new(ProbabilisticScorer::default());
    let router = DefaultRouter::new(&g, &scorer, ProbabilisticScoringFeeParameters::default(), [7; 32]);
    let r = router.find_route(&n(1).node_id(), &params(n(5), 10_000), None).unwrap();
    assert_eq!(scids(&r), vec![vec![12, 23, 34, 45]]);
}

/// BOLT 7 limits at their exact boundaries: HTLC limits apply to what a
/// channel carries (the payee's amount plus every fee charged after it), the
/// fee limit to the sum of fees, the CLTV limit to the sum of deltas with the
/// final one included.
#[test]
fn limits_hold_at_their_exact_boundaries_on_the_amount_each_hop_carries() {
    let amount = 1_000_000;
    // 3 -> 4 charges 1000 + 1,000,000 * 1000 / 1e6 = 2000, so 2 -> 3
    // carries 1,002,000.
    let carried = amount + 2_000;
    let graph = |mid: Policy| {
        let g = NetworkGraph::new(ChainHash::BITCOIN);
        add_trusted_channel(&g, n(1), n(2), 12, 1_000_000, Some(pol(0, 0, 10)), None);
        add_trusted_channel(&g, n(2), n(3), 23, 1_000_000, Some(mid), None);
        add_trusted_channel(&g, n(3), n(4), 34, 1_000_000, Some(pol(1000, 1000, 30)), None);
        g
    };
    let mut p = params(n(4), amount);
    p.payment_params.max_shadow_cltv_expiry_delta_offset = 0;
    let found = |g: &NetworkGraph, p: &RouteParameters| route(g, n(1), p).map(|r| scids(&r));
    let ok = Ok(vec![vec![12, 23, 34]]);
    let mid = pol(500, 0, 20);
    assert_eq!(found(&graph(Policy { htlc_maximum_msat: carried, ..mid }), &p), ok);
    assert_eq!(
        found(&graph(Policy { htlc_maximum_msat: carried - 1, ..mid }), &p),
        Err(RouteError::NoRouteFound)
    );
    assert_eq!(found(&graph(Policy { htlc_minimum_msat: carried, ..mid }), &p), ok);
    assert_eq!(
        found(&graph(Policy { htlc_minimum_msat: carried + 1, ..mid }), &p),
        Err(RouteError::NoRouteFound)
    );
    // The payer's own first channel carries the amount plus both fees.
    let g = graph(mid);
    let r = route(&g, n(1), &p).unwrap();
    assert_eq!(r.paths[0].amounts_per_hop(), vec![carried + 500, carried, amount]);
    assert_eq!(r.total_fees_msat(), 2_500);
    // Fee limit: exactly the fees, then one below.
    p.max_total_routing_fee_msat = Some(2_500);
    assert_eq!(found(&g, &p), ok);
    p.max_total_routing_fee_msat = Some(2_499);
    assert_eq!(found(&g, &p), Err(RouteError::NoRouteFound));
    p.max_total_routing_fee_msat = None;
    // CLTV limit: 20 + 30 charged by 2 and 3, plus the final 18.
    assert_eq!(r.paths[0].total_cltv_expiry_delta(), 68);
    p.payment_params.max_total_cltv_expiry_delta = 68;
    assert_eq!(found(&g, &p), ok);
    p.payment_params.max_total_cltv_expiry_delta = 67;
    assert_eq!(found(&g, &p), Err(RouteError::NoRouteFound));
    // The shadow offset never takes a route past the limit either.
    p.payment_params.max_total_cltv_expiry_delta = 68;
    p.payment_params.max_shadow_cltv_expiry_delta_offset = 432;
    assert_eq!(route(&g, n(1), &p).unwrap().paths[0].total_cltv_expiry_delta(), 68);
}

#[test]
fn out_of_range_parameters_are_errors_or_clamped_not_panics() {
    let g = chain_graph();
    let mut p = params(n(5), 1_234_567);
    // A saturation power past the width of an amount: nothing is "unsaturated",
    // so the search falls back to whole channels.
    for power in [63u8, 64, 200, 255] {
        p.payment_params.max_channel_saturation_power_of_half = power;
        assert_eq!(scids(&route(&g, n(1), &p).unwrap()), vec![vec![12, 23, 34, 45]], "power {power}");
    }
    p.payment_params.max_channel_saturation_power_of_half = 2;
    // Amounts whose fees overflow u64 find no route rather than wrapping.
    p.final_value_msat = u64::MAX - 10;
    assert_eq!(route(&g, n(1), &p).map(|r| scids(&r)), Err(RouteError::NoRouteFound));
    // No path at all allowed.
    p.final_value_msat = 1_234_567;
    p.payment_params.max_path_count = 0;
    assert_eq!(route(&g, n(1), &p).map(|r| scids(&r)), Err(RouteError::ZeroMaxPathCount));
}

/// Found by the `router` fuzz target: a channel in `manual_avoid_channels`
/// (penalty `u64::MAX`) was still taken when it was the only way to the
/// payee, because costs saturate below the "unreached" mark.
#[test]
fn avoided_channels_are_never_used_even_as_a_last_resort() {
    let scorer = ProbabilisticScorer::new(ProbabilisticScoringDecayParameters::default());
    let mut score_params = ProbabilisticScoringFeeParameters::default();
    score_params.manual_avoid_channels.insert(23);
    let find = |g: &NetworkGraph, p: &RouteParameters, sp: &ProbabilisticScoringFeeParameters| {
        find_route(&n(1).node_id(), p, &g.read_only(), None, &NullLogger, &scorer, sp, &[0; 32])
    };
    // 23 is the only way from 1 to 5.
    assert_eq!(find(&chain_graph(), &params(n(5), 1_000), &score_params), Err(RouteError::NoRouteFound));
    assert!(find(&chain_graph(), &params(n(5), 1_000), &ProbabilisticScoringFeeParameters::default()).is_ok());
    // With a way around, the avoided channel is skipped for a dearer one.
    let mut score_params = ProbabilisticScoringFeeParameters::default();
    score_params.manual_avoid_channels.insert(24);
    let r = find(&diamond(pol(1, 1, 10)), &params(n(4), 100_000), &score_params).unwrap();
    assert_eq!(scids(&r), vec![vec![13, 34]]);
    // A route hint's channel is excluded the same way.
    let g = chain_graph();
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: n(5).node_id(),
        short_channel_id: 56,
        fees: RoutingFees { base_msat: 1, proportional_millionths: 1 },
        cltv_expiry_delta: 10,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }]);
    let mut p = params(n(6), 1_000);
    p.payment_params.route_hints = vec![hint];
    assert!(find(&g, &p, &ProbabilisticScoringFeeParameters::default()).is_ok());
    let mut score_params = ProbabilisticScoringFeeParameters::default();
    score_params.manual_avoid_channels.insert(56);
    assert_eq!(find(&g, &p, &score_params), Err(RouteError::NoRouteFound));
}

/// Keeps every record's level and text.
#[derive(Default)]
struct RecordingLogger(std::sync::Mutex<Vec<(Level, String)>>);
impl Logger for RecordingLogger {
    fn log(&self, record: Record<'_>) {
        self.0.lock().unwrap().push((record.level, record.args.to_string()));
    }
}

#[test]
fn each_search_logs_one_line_with_its_outcome() {
    let g = chain_graph();
    let logger = RecordingLogger::default();
    let scorer = FixedPenaltyScorer::with_penalty(0);
    let mut p = params(n(5), 1_234_567);
    p.payment_params.max_shadow_cltv_expiry_delta_offset = 0;
    find_route(&n(1).node_id(), &p, &g.read_only(), None, &logger, &scorer, &(), &[0; 32]).unwrap();
    let err = find_route(
        &n(1).node_id(),
        &params(n(60), 1_000),
        &g.read_only(),
        None,
        &logger,
        &scorer,
        &(),
        &[0; 32],
    )
    .unwrap_err();
    let records = std::mem::take(&mut *logger.0.lock().unwrap());
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].0, Level::Debug);
    assert!(records[0].1.starts_with("Found a route"), "{}", records[0].1);
    assert!(records[0].1.contains("1 path(s), 4 hop(s), 4718 msat fee, CLTV delta 208"), "{}", records[0].1);
    assert_eq!(records[1].0, Level::Debug);
    assert!(records[1].1.starts_with("No route"), "{}", records[1].1);
    assert!(records[1].1.ends_with(&err.to_string()), "{} / {err}", records[1].1);

    // The default router logs through the logger it is given.
    let locked = Mutex::new(ProbabilisticScorer::default());
    let router = DefaultRouter::new(&g, &locked, ProbabilisticScoringFeeParameters::default(), [7; 32])
        .with_logger(&logger);
    router.find_route(&n(1).node_id(), &params(n(5), 10_000), None).unwrap();
    assert_eq!(logger.0.lock().unwrap().len(), 1);
}
