//! Scoring channels for route finding: how much a payer should be willing to
//! pay (in msat of "penalty", added to fees) to avoid a channel, given what it
//! has learned about it.
//!
//! - [`ScoreLookUp`]: what the router asks for each candidate hop.
//! - [`ScoreUpdate`]: what a payer tells the scorer after a payment or probe.
//! - [`ProbabilisticScorer`]: the default, learning per-direction liquidity
//!   bounds ([`probabilistic`]).
//! - [`FixedPenaltyScorer`]: the same penalty for every hop (tests, or to
//!   minimise fees alone).

mod approx;
pub mod probabilistic;

pub use probabilistic::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};

use crate::routing::gossip::NodeId;
use crate::routing::router::Path;

/// A hop the router considers: a channel direction from `source` to `target`.
#[derive(Clone, Copy, Debug)]
pub struct CandidateHop<'a> {
    /// The channel (or the route hint's, for private channels).
    pub short_channel_id: u64,
    /// The forwarding node.
    pub source: &'a NodeId,
    /// The node the hop leads to.
    pub target: &'a NodeId,
    /// The direction's `htlc_maximum_msat`.
    pub htlc_maximum_msat: u64,
}

impl CandidateHop<'_> {
    /// True if this is the direction from the smaller node id to the larger
    /// (BOLT 7 direction 0).
    pub fn is_direction_one_to_two(&self) -> bool {
        self.source < self.target
    }
}

/// How a route would use a channel direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelUsage {
    /// The amount this path sends over the channel.
    pub amount_msat: u64,
    /// What other paths of the same payment already send over it.
    pub inflight_htlc_msat: u64,
    /// The channel's capacity, or its `htlc_maximum_msat` when the capacity is
    /// unknown.
    pub effective_capacity_msat: u64,
}

/// Penalties for candidate hops, asked for by the router.
pub trait ScoreLookUp {
    /// Parameters of one route search.
    type ScoreParams;
    /// The penalty, in msat, for sending `usage` over `candidate`. Large values
    /// make the hop a last resort; `u64::MAX` excludes it (the router never
    /// takes it, even when nothing else reaches the payee).
    fn channel_penalty_msat(
        &self, candidate: &CandidateHop<'_>, usage: ChannelUsage, score_params: &Self::ScoreParams,
    ) -> u64;
}

/// What a payer learned from a payment or a probe. Times are UNIX seconds
/// passed in by the caller (the core reads no clock).
pub trait ScoreUpdate {
    /// A payment over `path` failed at `short_channel_id`.
    fn payment_path_failed(&mut self, path: &Path, short_channel_id: u64, duration_since_epoch_secs: u64);
    /// A payment over `path` succeeded.
    fn payment_path_successful(&mut self, path: &Path, duration_since_epoch_secs: u64);
    /// A probe over `path` failed at `short_channel_id`.
    fn probe_failed(&mut self, path: &Path, short_channel_id: u64, duration_since_epoch_secs: u64);
    /// A probe over `path` reached the payee (every hop had the liquidity).
    fn probe_successful(&mut self, path: &Path, duration_since_epoch_secs: u64);
    /// Time passed: what was learned fades.
    fn time_passed(&mut self, duration_since_epoch_secs: u64);
}

/// A scorer that gives every hop the same penalty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedPenaltyScorer {
    penalty_msat: u64,
}

impl FixedPenaltyScorer {
    /// A scorer penalising every hop `penalty_msat`.
    pub fn with_penalty(penalty_msat: u64) -> Self {
        FixedPenaltyScorer { penalty_msat }
    }
}

impl ScoreLookUp for FixedPenaltyScorer {
    type ScoreParams = ();
    fn channel_penalty_msat(&self, _: &CandidateHop<'_>, _: ChannelUsage, _: &()) -> u64 {
        self.penalty_msat
    }
}

impl ScoreUpdate for FixedPenaltyScorer {
    fn payment_path_failed(&mut self, _: &Path, _: u64, _: u64) {}
    fn payment_path_successful(&mut self, _: &Path, _: u64) {}
    fn probe_failed(&mut self, _: &Path, _: u64, _: u64) {}
    fn probe_successful(&mut self, _: &Path, _: u64) {}
    fn time_passed(&mut self, _: u64) {}
}
