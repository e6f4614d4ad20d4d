//! Finding routes: [`find_route`] and the [`Router`] trait the
//! `ChannelManager` pays through.
//!
//! Two routers come with the crate: [`DefaultRouter`] (the usual one: a
//! peer over our direct channel with it, anyone else by [`find_route`] over
//! the network graph with a scorer) and [`DirectRouter`] (direct channels
//! only, for nodes without a graph).
//!
//! The search runs backwards from the payee (Dijkstra over fees plus scorer
//! penalties), so the amount each hop forwards is known exactly when the hop
//! is considered: fees are computed as BOLT 7 says, on the amount the hop
//! forwards, and `htlc_minimum_msat`/`htlc_maximum_msat`, capacity, disabled
//! directions, CLTV and fee limits are checked with the real amount. Our own
//! channels ([`FirstHop`]) replace the payer's graph channels, with their real
//! balances. Private channels reach the payee through [`RouteHint`]s.
//!
//! If no single path can carry the amount and the payee supports `basic_mpp`,
//! the amount is split over several paths ([`PaymentParameters::max_path_count`]),
//! each search seeing the liquidity the previous paths already use.
//!
//! `random_seed_bytes` adds noise to path selection and a shadow route CLTV
//! offset to the final hop ([`random`]); a given seed always gives the same
//! route.
//!
//! - [`types`]: route parameters, routes and errors.
//! - [`search`]: the path search and the MPP splitting.
//! - [`random`]: what the random seed changes.
//! - [`direct`]: routes over a direct channel with the payee.

pub mod direct;
pub mod random;
pub mod search;
pub mod types;

pub use direct::{find_direct_route, DirectRouter};

pub use types::{
    FirstHop, Path, PaymentParameters, Route, RouteError, RouteHint, RouteHintHop, RouteHop, RouteParameters,
    DEFAULT_MAX_CHANNEL_SATURATION_POWER_OF_HALF, DEFAULT_MAX_PATH_COUNT,
    DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA, MAX_PATH_LENGTH,
};

use crate::log_debug;
use crate::routing::gossip::{NetworkGraph, NodeId, ReadOnlyNetworkGraph};
use crate::routing::scoring::ScoreLookUp;
use crate::sync::Mutex;
use crate::util::logger::{Logger, NullLogger};
use core::ops::Deref;

/// Finds a route from `payer` for `route_params` over `network_graph`.
///
/// `first_hops` are our own usable channels; when given they replace the
/// payer's channels in the graph. `scorer` ranks channels (with
/// `score_params`). `random_seed_bytes` (fresh randomness for each payment)
/// adds noise of up to 5 % to each hop's cost, so that near-equal paths are
/// picked at random, and a shadow route CLTV offset to each path's final hop
/// (see [`random`]); the same seed always gives the same route.
///
/// Each search logs one line to `logger` at [`Level::Debug`]: the route found
/// (paths, hops, fee, CLTV) or why none was.
///
/// [`Level::Debug`]: crate::util::logger::Level::Debug
#[allow(clippy::too_many_arguments)]
pub fn find_route<S: ScoreLookUp, L: Logger + ?Sized>(
    payer: &NodeId, route_params: &RouteParameters, network_graph: &ReadOnlyNetworkGraph<'_>,
    first_hops: Option<&[&FirstHop]>, logger: &L, scorer: &S, score_params: &S::ScoreParams,
    random_seed_bytes: &[u8; 32],
) -> Result<Route, RouteError> {
    let data = network_graph.data();
    let noise_key = random::noise_key(random_seed_bytes);
    let payee = &route_params.payment_params.payee_pubkey;
    let amount_msat = route_params.final_value_msat;
    let mut route = match search::find_route_inner(
        payer,
        route_params,
        data,
        first_hops,
        scorer,
        score_params,
        noise_key,
    ) {
        Ok(route) => route,
        Err(e) => {
            log_debug!(logger, "No route from {} to {} for {} msat: {}", payer, payee, amount_msat, e);
            return Err(e);
        }
    };
    random::add_shadow_cltv_offset(&mut route, route_params, data, random_seed_bytes);
    log_debug!(
        logger,
        "Found a route from {} to {} for {} msat: {} path(s), {} hop(s), {} msat fee, CLTV delta {}",
        payer,
        payee,
        amount_msat,
        route.paths.len(),
        route.paths.iter().map(|p| p.hops.len()).sum::<usize>(),
        route.total_fees_msat(),
        route.paths.iter().map(|p| p.total_cltv_expiry_delta()).max().unwrap_or(0)
    );
    Ok(route)
}

/// Something that finds routes for payments: what the `ChannelManager`
/// asks when it pays (`send_payment`).
pub trait Router {
    /// A route from `payer` for `route_params`, using `first_hops` (our
    /// usable channels, with their real balances) if given.
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError>;
}

impl<R: Router + ?Sized> Router for &R {
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError> {
        (**self).find_route(payer, route_params, first_hops)
    }
}

impl<R: Router + ?Sized> Router for alloc::sync::Arc<R> {
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError> {
        (**self).find_route(payer, route_params, first_hops)
    }
}

/// The default [`Router`]: [`find_route`] over a graph with a scorer behind a
/// lock (the same lock a payment handler takes to update the scorer). Each
/// search gets its own seed, derived from the router's seed and a call
/// counter, so repeated payments do not all take the same randomised path.
///
/// A peer is paid over our channel with it when one can carry the whole
/// amount ([`find_direct_route`]: no fee, no search, whatever the graph
/// knows); anyone else, or an amount only several paths can carry (our
/// channels with the peer included), goes through [`find_route`].
///
/// `G` and `SP` are anything that dereferences to the graph and the locked
/// scorer: references (`&NetworkGraph`) or shared pointers
/// (`Arc<NetworkGraph>`), as the owner needs. Searches log to `L`
/// ([`NullLogger`] unless [`DefaultRouter::with_logger`] gives one).
pub struct DefaultRouter<G, SP, S, L = NullLogger>
where
    G: Deref<Target = NetworkGraph>,
    SP: Deref<Target = Mutex<S>>,
    S: ScoreLookUp,
    L: Logger,
{
    network_graph: G,
    scorer: SP,
    score_params: S::ScoreParams,
    random_seed_bytes: [u8; 32],
    calls: Mutex<u64>,
    logger: L,
}

impl<G, SP, S> DefaultRouter<G, SP, S, NullLogger>
where
    G: Deref<Target = NetworkGraph>,
    SP: Deref<Target = Mutex<S>>,
    S: ScoreLookUp,
{
    /// A router over `network_graph` scoring with `scorer` and `score_params`,
    /// logging nothing.
    pub fn new(
        network_graph: G, scorer: SP, score_params: S::ScoreParams, random_seed_bytes: [u8; 32],
    ) -> Self {
        DefaultRouter {
            network_graph,
            scorer,
            score_params,
            random_seed_bytes,
            calls: Mutex::new(0),
            logger: NullLogger,
        }
    }

    /// The same router, logging each search to `logger`.
    pub fn with_logger<L: Logger>(self, logger: L) -> DefaultRouter<G, SP, S, L> {
        let DefaultRouter { network_graph, scorer, score_params, random_seed_bytes, calls, .. } = self;
        DefaultRouter { network_graph, scorer, score_params, random_seed_bytes, calls, logger }
    }
}

impl<G, SP, S, L> DefaultRouter<G, SP, S, L>
where
    G: Deref<Target = NetworkGraph>,
    SP: Deref<Target = Mutex<S>>,
    S: ScoreLookUp,
    L: Logger,
{
    /// The graph the router searches.
    pub fn network_graph(&self) -> &NetworkGraph {
        &self.network_graph
    }

    /// The seed of the next search: SHA-256 of the router's seed and the
    /// number of searches made so far.
    fn next_seed(&self) -> [u8; 32] {
        use bitcoin::hashes::{sha256, Hash, HashEngine};
        let call = {
            let mut calls = self.calls.lock();
            let call = *calls;
            *calls = calls.wrapping_add(1);
            call
        };
        let mut engine = sha256::Hash::engine();
        engine.input(&self.random_seed_bytes);
        engine.input(&call.to_be_bytes());
        sha256::Hash::from_engine(engine).to_byte_array()
    }
}

impl<G, SP, S, L> Router for DefaultRouter<G, SP, S, L>
where
    G: Deref<Target = NetworkGraph>,
    SP: Deref<Target = Mutex<S>>,
    S: ScoreLookUp,
    L: Logger,
{
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError> {
        if let Ok(direct) = find_direct_route(payer, route_params, first_hops) {
            return Ok(direct);
        }
        let seed = self.next_seed();
        let graph = self.network_graph.read_only();
        let scorer = self.scorer.lock();
        find_route(payer, route_params, &graph, first_hops, &self.logger, &*scorer, &self.score_params, &seed)
    }
}
