//! The minimal routing seam the `ChannelManager` pays through: a [`Route`]
//! of hops and the [`Router`] trait that finds one. [`DirectRouter`] routes
//! over a direct channel to the payee only (no graph needed); a graph-based
//! router plugs in through the same trait.

use super::ChannelDetails;
use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use bitcoin::secp256k1::PublicKey;

/// One hop of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHop {
    /// The node reached.
    pub pubkey: PublicKey,
    /// The channel used to reach it.
    pub short_channel_id: ShortChannelId,
    /// The fee this hop takes; for the last hop, the amount delivered.
    pub fee_msat: u64,
    /// The CLTV delta this hop needs; for the last hop, the final CLTV
    /// delta the recipient asks for.
    pub cltv_expiry_delta: u32,
}

/// A path from us to the recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The hops, first (our peer) to last (the recipient).
    pub hops: Vec<RouteHop>,
}

impl Path {
    /// The amount delivered to the recipient.
    pub fn final_value_msat(&self) -> u64 {
        self.hops.last().map_or(0, |h| h.fee_msat)
    }
    /// The fees paid to intermediate hops.
    pub fn fee_msat(&self) -> u64 {
        let n = self.hops.len();
        self.hops.iter().take(n.saturating_sub(1)).map(|h| h.fee_msat).sum()
    }
}

/// One or more paths (more than one for a multi-part payment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The paths.
    pub paths: Vec<Path>,
}

/// What to route: to whom, how much, with which final CLTV delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteParameters {
    /// The recipient.
    pub payee_pubkey: PublicKey,
    /// The amount to deliver.
    pub final_value_msat: u64,
    /// The recipient's `min_final_cltv_expiry_delta`.
    pub final_cltv_expiry_delta: u32,
}

/// Why no route was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError(pub String);

/// Finds routes.
pub trait Router {
    /// A route from `payer` for `params`; `first_hops` are our usable
    /// channels.
    fn find_route(
        &self, payer: &PublicKey, params: &RouteParameters, first_hops: &[ChannelDetails],
    ) -> Result<Route, RouteError>;
}

impl<R: Router + ?Sized> Router for &R {
    fn find_route(
        &self, payer: &PublicKey, params: &RouteParameters, first_hops: &[ChannelDetails],
    ) -> Result<Route, RouteError> {
        (**self).find_route(payer, params, first_hops)
    }
}

impl<R: Router + ?Sized> Router for alloc::sync::Arc<R> {
    fn find_route(
        &self, payer: &PublicKey, params: &RouteParameters, first_hops: &[ChannelDetails],
    ) -> Result<Route, RouteError> {
        (**self).find_route(payer, params, first_hops)
    }
}

/// Routes only over a direct channel with the payee: the usable channel
/// with the most outbound capacity that can carry the amount.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectRouter;

impl Router for DirectRouter {
    fn find_route(
        &self, _payer: &PublicKey, params: &RouteParameters, first_hops: &[ChannelDetails],
    ) -> Result<Route, RouteError> {
        let chan = first_hops
            .iter()
            .filter(|c| c.counterparty_node_id == params.payee_pubkey && c.is_usable)
            .filter(|c| c.next_outbound_htlc_limit_msat >= params.final_value_msat)
            .max_by_key(|c| c.next_outbound_htlc_limit_msat)
            .ok_or_else(|| RouteError("no usable direct channel to the payee with enough capacity".into()))?;
        let short_channel_id = chan
            .short_channel_id
            .or(chan.outbound_scid_alias)
            .ok_or_else(|| RouteError("channel has no short channel id".into()))?;
        Ok(Route {
            paths: vec![Path {
                hops: vec![RouteHop {
                    pubkey: params.payee_pubkey,
                    short_channel_id,
                    fee_msat: params.final_value_msat,
                    cltv_expiry_delta: params.final_cltv_expiry_delta,
                }],
            }],
        })
    }
}
