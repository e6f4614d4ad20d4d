//! Finding routes: [`find_route`] and the [`Router`] trait.
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
//! - [`types`]: route parameters, routes and errors.
//! - [`search`]: the path search and the MPP splitting.

pub mod search;
pub mod types;

pub use types::{
    FirstHop, Path, PaymentParameters, Route, RouteError, RouteHint, RouteHintHop, RouteHop, RouteParameters,
    DEFAULT_MAX_CHANNEL_SATURATION_POWER_OF_HALF, DEFAULT_MAX_PATH_COUNT,
    DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA, MAX_PATH_LENGTH,
};

use crate::routing::gossip::{NetworkGraph, NodeId, ReadOnlyNetworkGraph};
use crate::routing::scoring::ScoreLookUp;
use crate::sync::Mutex;

/// Finds a route from `payer` for `route_params` over `network_graph`.
///
/// `first_hops` are our own usable channels; when given they replace the
/// payer's channels in the graph. `scorer` ranks channels (with
/// `score_params`). `random_seed_bytes` is reserved for path randomisation and
/// currently does not change the result (searches are deterministic).
pub fn find_route<S: ScoreLookUp>(
    payer: &NodeId, route_params: &RouteParameters, network_graph: &ReadOnlyNetworkGraph<'_>,
    first_hops: Option<&[&FirstHop]>, scorer: &S, score_params: &S::ScoreParams,
    random_seed_bytes: &[u8; 32],
) -> Result<Route, RouteError> {
    let _ = random_seed_bytes;
    search::find_route_inner(payer, route_params, network_graph.data(), first_hops, scorer, score_params)
}

/// Something that finds routes for payments.
pub trait Router {
    /// A route from `payer` for `route_params`, using `first_hops` (our
    /// channels) if given.
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError>;
}

/// The default [`Router`]: [`find_route`] over a graph with a scorer behind a
/// lock (the same lock a payment handler takes to update the scorer).
pub struct DefaultRouter<'a, S: ScoreLookUp> {
    network_graph: &'a NetworkGraph,
    scorer: &'a Mutex<S>,
    score_params: S::ScoreParams,
    random_seed_bytes: [u8; 32],
}

impl<'a, S: ScoreLookUp> DefaultRouter<'a, S> {
    /// A router over `network_graph` scoring with `scorer` and `score_params`.
    pub fn new(
        network_graph: &'a NetworkGraph, scorer: &'a Mutex<S>, score_params: S::ScoreParams,
        random_seed_bytes: [u8; 32],
    ) -> Self {
        DefaultRouter { network_graph, scorer, score_params, random_seed_bytes }
    }
}

impl<S: ScoreLookUp> Router for DefaultRouter<'_, S> {
    fn find_route(
        &self, payer: &NodeId, route_params: &RouteParameters, first_hops: Option<&[&FirstHop]>,
    ) -> Result<Route, RouteError> {
        let graph = self.network_graph.read_only();
        let scorer = self.scorer.lock();
        find_route(
            payer,
            route_params,
            &graph,
            first_hops,
            &*scorer,
            &self.score_params,
            &self.random_seed_bytes,
        )
    }
}
