//! Route parameters, routes and route errors.

use crate::ln::features::{Bolt11InvoiceFeatures, ChannelFeatures, NodeFeatures};
use crate::prelude::*;
use crate::routing::gossip::{NodeId, RoutingFees};
use crate::routing::router::random::MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET;
use core::fmt;

/// Default limit on the sum of CLTV deltas of a route (BOLT 4/11 practice:
/// about a week of blocks).
pub const DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA: u32 = 1008;
/// Default number of paths a payment may be split into.
pub const DEFAULT_MAX_PATH_COUNT: u8 = 10;
/// Default: use at most 1/2^2 = 1/4 of a channel's capacity, unless nothing
/// else works.
pub const DEFAULT_MAX_CHANNEL_SATURATION_POWER_OF_HALF: u8 = 2;
/// Most hops in a path (what fits in a 1300-byte onion with plain payloads).
pub const MAX_PATH_LENGTH: usize = 20;

/// One of our own channels, usable as a first hop with its real balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstHop {
    /// The channel peer.
    pub counterparty_node_id: NodeId,
    /// The channel's short channel id (or an alias the peer knows).
    pub short_channel_id: u64,
    /// What we can send over it now in total.
    pub outbound_capacity_msat: u64,
    /// The largest HTLC we can send next.
    pub next_outbound_htlc_limit_msat: u64,
    /// The smallest HTLC the peer accepts.
    pub next_outbound_htlc_minimum_msat: u64,
    /// True if the channel is announced (public).
    pub is_announced: bool,
}

/// One hop of a route hint: a private channel from `src_node_id` towards the
/// payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHintHop {
    /// The node forwarding over the channel.
    pub src_node_id: NodeId,
    /// The channel.
    pub short_channel_id: u64,
    /// Its fees.
    pub fees: RoutingFees,
    /// Its CLTV delta.
    pub cltv_expiry_delta: u16,
    /// Smallest HTLC, if known.
    pub htlc_minimum_msat: Option<u64>,
    /// Largest HTLC, if known.
    pub htlc_maximum_msat: Option<u64>,
}

/// A chain of private hops ending at the payee (BOLT 11 `r` field): hop `i`
/// forwards to hop `i + 1`'s `src_node_id`, the last one to the payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHint(pub Vec<RouteHintHop>);

/// What the payee asks for and how to route to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentParameters {
    /// The payee.
    pub payee_pubkey: NodeId,
    /// The payee's invoice features (MPP needs `basic_mpp`); `None`: unknown.
    pub features: Option<Bolt11InvoiceFeatures>,
    /// Private channels to the payee.
    pub route_hints: Vec<RouteHint>,
    /// The CLTV delta the payee needs on the final hop.
    pub final_cltv_expiry_delta: u32,
    /// Largest total CLTV delta of a path, final delta included.
    pub max_total_cltv_expiry_delta: u32,
    /// Most paths the payment may be split into.
    pub max_path_count: u8,
    /// Prefer using at most `capacity / 2^n` of a channel.
    pub max_channel_saturation_power_of_half: u8,
    /// Channels that failed earlier attempts of this payment: not used.
    pub previously_failed_channels: Vec<u64>,
    /// Largest random shadow route CLTV offset added to the final hop (see
    /// [`super::random`]); 0 adds none.
    pub max_shadow_cltv_expiry_delta_offset: u32,
}

impl PaymentParameters {
    /// Parameters for paying `payee_pubkey` with default limits.
    pub fn from_node_id(payee_pubkey: NodeId, final_cltv_expiry_delta: u32) -> Self {
        PaymentParameters {
            payee_pubkey,
            features: None,
            route_hints: Vec::new(),
            final_cltv_expiry_delta,
            max_total_cltv_expiry_delta: DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA,
            max_path_count: DEFAULT_MAX_PATH_COUNT,
            max_channel_saturation_power_of_half: DEFAULT_MAX_CHANNEL_SATURATION_POWER_OF_HALF,
            previously_failed_channels: Vec::new(),
            max_shadow_cltv_expiry_delta_offset: MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET,
        }
    }

    /// With the payee's invoice features.
    pub fn with_bolt11_features(mut self, features: Bolt11InvoiceFeatures) -> Self {
        self.features = Some(features);
        self
    }

    /// With route hints.
    pub fn with_route_hints(mut self, route_hints: Vec<RouteHint>) -> Self {
        self.route_hints = route_hints;
        self
    }

    /// True if the payment may be split (payee supports `basic_mpp` and more
    /// than one path is allowed).
    pub fn allows_mpp(&self) -> bool {
        self.max_path_count > 1 && self.features.as_ref().is_some_and(|f| f.supports_basic_mpp())
    }
}

/// Everything a route search needs to know about a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteParameters {
    /// Payee and routing limits.
    pub payment_params: PaymentParameters,
    /// The amount the payee must receive.
    pub final_value_msat: u64,
    /// Largest total fee over all paths; `None`: no limit.
    pub max_total_routing_fee_msat: Option<u64>,
}

impl RouteParameters {
    /// Parameters with the default fee limit of 1% of the amount plus
    /// 50,000 msat.
    pub fn from_payment_params_and_value(payment_params: PaymentParameters, final_value_msat: u64) -> Self {
        RouteParameters {
            payment_params,
            final_value_msat,
            max_total_routing_fee_msat: Some((final_value_msat / 100).saturating_add(50_000)),
        }
    }
}

impl RouteParameters {
    /// Parameters for paying `final_value_msat` to the node `payee`, which
    /// asks for `final_cltv_expiry_delta` blocks on the final HTLC, with the
    /// default limits.
    pub fn for_payee(
        payee: &bitcoin::secp256k1::PublicKey, final_value_msat: u64, final_cltv_expiry_delta: u32,
    ) -> Self {
        let payment_params =
            PaymentParameters::from_node_id(NodeId::from_pubkey(payee), final_cltv_expiry_delta);
        Self::from_payment_params_and_value(payment_params, final_value_msat)
    }
}

/// One hop of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHop {
    /// The node this hop reaches.
    pub pubkey: NodeId,
    /// That node's features (empty if unknown).
    pub node_features: NodeFeatures,
    /// The channel used to reach it.
    pub short_channel_id: u64,
    /// The channel's features (empty if unknown).
    pub channel_features: ChannelFeatures,
    /// For every hop but the last, the fee this node charges to forward over
    /// the next hop's channel; for the last hop, the amount delivered.
    pub fee_msat: u64,
    /// For every hop but the last, the CLTV delta of the next hop's channel
    /// (charged by this node); for the last hop, the final CLTV delta plus
    /// the shadow route offset, if any.
    pub cltv_expiry_delta: u32,
    /// False for private channels (route hints, unannounced first hops).
    pub maybe_announced_channel: bool,
}

/// One path of a route, from the payer to the payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The payer (the source of the first hop).
    pub payer: NodeId,
    /// The hops, the last one reaching the payee.
    pub hops: Vec<RouteHop>,
}

impl Path {
    /// Total fees paid along the path.
    pub fn fee_msat(&self) -> u64 {
        let n = self.hops.len();
        self.hops.iter().take(n.saturating_sub(1)).map(|h| h.fee_msat).fold(0, u64::saturating_add)
    }
    /// The amount delivered to the payee.
    pub fn final_value_msat(&self) -> u64 {
        self.hops.last().map_or(0, |h| h.fee_msat)
    }
    /// The amount the payer sends over the first hop (delivered amount plus fees).
    pub fn first_hop_amount_msat(&self) -> u64 {
        self.final_value_msat().saturating_add(self.fee_msat())
    }
    /// The sum of all CLTV deltas, final one included: the first HTLC's expiry
    /// is the current height plus this.
    pub fn total_cltv_expiry_delta(&self) -> u32 {
        self.hops.iter().map(|h| h.cltv_expiry_delta).fold(0, u32::saturating_add)
    }
    /// The amount each hop's channel carries, in hop order.
    pub fn amounts_per_hop(&self) -> Vec<u64> {
        let mut amounts = vec![0; self.hops.len()];
        let mut acc = 0u64;
        for (i, hop) in self.hops.iter().enumerate().rev() {
            acc = acc.saturating_add(hop.fee_msat);
            amounts[i] = acc;
        }
        amounts
    }
}

/// A route: one path, or several for a multi-part payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The paths; their final values add up to the payment amount.
    pub paths: Vec<Path>,
    /// The parameters the route was found for.
    pub route_params: Option<RouteParameters>,
}

impl Route {
    /// Total fees over all paths.
    pub fn total_fees_msat(&self) -> u64 {
        self.paths.iter().map(|p| p.fee_msat()).fold(0, u64::saturating_add)
    }
    /// Total amount delivered over all paths.
    pub fn total_amount_msat(&self) -> u64 {
        self.paths.iter().map(|p| p.final_value_msat()).fold(0, u64::saturating_add)
    }
}

/// Why no route was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The payer and the payee are the same node.
    PayerIsPayee,
    /// The amount is zero.
    ZeroAmount,
    /// `max_path_count` is zero: no path is allowed.
    ZeroMaxPathCount,
    /// The final CLTV delta alone exceeds the CLTV limit.
    CltvLimitTooLow,
    /// A route hint is malformed (empty, or it loops through the payee).
    InvalidRouteHint,
    /// The payee is not in the graph and no route hint or first hop reaches it.
    PayeeUnreachable,
    /// The payer has no usable channel (no first hop, no graph channel).
    PayerHasNoChannels,
    /// No path satisfies the amount, fee, CLTV and HTLC limits.
    NoRouteFound,
    /// Paths exist but together cannot carry the amount (or the payee does not
    /// support multi-part payments and no single path can).
    InsufficientLiquidity,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::PayerIsPayee => "payer is the payee",
            RouteError::ZeroAmount => "zero amount",
            RouteError::ZeroMaxPathCount => "max_path_count is zero",
            RouteError::CltvLimitTooLow => "final CLTV delta exceeds the CLTV limit",
            RouteError::InvalidRouteHint => "invalid route hint",
            RouteError::PayeeUnreachable => "payee unreachable",
            RouteError::PayerHasNoChannels => "payer has no channels",
            RouteError::NoRouteFound => "no route found",
            RouteError::InsufficientLiquidity => "insufficient liquidity",
        })
    }
}
