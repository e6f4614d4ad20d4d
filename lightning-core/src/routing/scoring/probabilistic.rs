//! [`ProbabilisticScorer`]: penalties from the probability that a channel
//! direction has the liquidity for an amount.
//!
//! For each channel direction the scorer keeps bounds on its liquidity
//! (what the forwarding node can send), learned from payments and probes: a
//! failure at a hop means its liquidity is below the amount, a success that
//! it was at least the amount (and is now that much less). With no history the
//! bounds are 0 and the capacity. The liquidity is taken as uniformly
//! distributed between the bounds, so the success probability of amount `a`
//! is `(max - a) / (max - min)` (1 below `min`, 0 above `max`).
//!
//! The penalty of a hop is `base_penalty_msat + base_penalty_amount_multiplier_msat
//! * a / 2^30 + (liquidity_penalty_multiplier_msat + liquidity_penalty_amount_multiplier_msat
//! * a / 2^20) * min(-log10(p), 2)`, plus `anti_probing_penalty_msat` when the
//! direction's `htlc_maximum_msat` is at least half the capacity, and
//! `considered_impossible_penalty_msat` when `p` is 0.
//!
//! What was learned fades with time the caller passes in
//! ([`ScoreUpdate::time_passed`]): every `liquidity_offset_half_life_secs` the
//! lower bound halves and the upper bound doubles (so it drifts back to the
//! capacity). Bounds are stored as absolute amounts, so updating them needs no
//! graph lookup.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::routing::router::Path;
use crate::routing::scoring::approx::negative_log10;
use crate::routing::scoring::{CandidateHop, ChannelUsage, ScoreLookUp, ScoreUpdate};
use crate::util::ser::{Readable, Writeable};

/// Penalty parameters of one route search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbabilisticScoringFeeParameters {
    /// Fixed penalty per hop, so shorter routes win among equals.
    pub base_penalty_msat: u64,
    /// Penalty per hop per 2^30 msat sent.
    pub base_penalty_amount_multiplier_msat: u64,
    /// Penalty per unit of `-log10(success probability)`.
    pub liquidity_penalty_multiplier_msat: u64,
    /// Penalty per unit of `-log10(p)` per 2^20 msat sent.
    pub liquidity_penalty_amount_multiplier_msat: u64,
    /// Added when `htlc_maximum_msat` is at least half the capacity (a
    /// channel that lets one HTLC probe its whole balance).
    pub anti_probing_penalty_msat: u64,
    /// Penalty of a hop that cannot carry the amount as far as we know.
    pub considered_impossible_penalty_msat: u64,
    /// Channels to avoid entirely (penalty `u64::MAX`).
    pub manual_avoid_channels: BTreeSet<u64>,
}

impl Default for ProbabilisticScoringFeeParameters {
    fn default() -> Self {
        ProbabilisticScoringFeeParameters {
            base_penalty_msat: 500,
            base_penalty_amount_multiplier_msat: 8192,
            liquidity_penalty_multiplier_msat: 30_000,
            liquidity_penalty_amount_multiplier_msat: 192,
            anti_probing_penalty_msat: 250,
            considered_impossible_penalty_msat: 1_000_000_000_000,
            manual_avoid_channels: BTreeSet::new(),
        }
    }
}

/// How fast learned bounds fade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbabilisticScoringDecayParameters {
    /// Every this many seconds, the lower bound halves and the upper doubles.
    pub liquidity_offset_half_life_secs: u64,
}

impl Default for ProbabilisticScoringDecayParameters {
    fn default() -> Self {
        ProbabilisticScoringDecayParameters { liquidity_offset_half_life_secs: 6 * 60 * 60 }
    }
}

/// Learned liquidity bounds of one channel direction, in msat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectedLiquidity {
    /// The direction can send at least this much.
    pub min_liquidity_msat: u64,
    /// The direction can send at most this much (`u64::MAX`: the capacity).
    pub max_liquidity_msat: u64,
    /// When the bounds were last changed or decayed (caller's UNIX seconds).
    pub last_updated_secs: u64,
}

impl DirectedLiquidity {
    fn unknown(now: u64) -> Self {
        DirectedLiquidity { min_liquidity_msat: 0, max_liquidity_msat: u64::MAX, last_updated_secs: now }
    }
    fn is_unknown(&self) -> bool {
        self.min_liquidity_msat == 0 && self.max_liquidity_msat == u64::MAX
    }
}

/// The default scorer: see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbabilisticScorer {
    decay_params: ProbabilisticScoringDecayParameters,
    /// Keyed by short channel id; `[one_to_two, two_to_one]`.
    liquidity: BTreeMap<u64, [Option<DirectedLiquidity>; 2]>,
}

impl ProbabilisticScorer {
    /// A scorer with no history.
    pub fn new(decay_params: ProbabilisticScoringDecayParameters) -> Self {
        ProbabilisticScorer { decay_params, liquidity: BTreeMap::new() }
    }

    /// The learned bounds of a channel direction (`one_to_two`: from the
    /// smaller node id), if any.
    pub fn estimated_liquidity(&self, short_channel_id: u64, one_to_two: bool) -> Option<DirectedLiquidity> {
        self.liquidity.get(&short_channel_id).and_then(|d| d[!one_to_two as usize])
    }

    /// Number of channels with learned bounds.
    pub fn tracked_channel_count(&self) -> usize {
        self.liquidity.len()
    }

    fn entry(&mut self, scid: u64, one_to_two: bool, now: u64) -> &mut DirectedLiquidity {
        self.liquidity.entry(scid).or_insert([None, None])[!one_to_two as usize]
            .get_or_insert_with(|| DirectedLiquidity::unknown(now))
    }

    /// Walks a path with the amount each hop's channel carries and its direction.
    fn for_each_hop(path: &Path, mut f: impl FnMut(u64, bool, u64) -> bool) {
        let amounts = path.amounts_per_hop();
        let mut source = path.payer;
        for (hop, amount) in path.hops.iter().zip(amounts) {
            if !f(hop.short_channel_id, source < hop.pubkey, amount) {
                break;
            }
            source = hop.pubkey;
        }
    }

    fn failed_at(&mut self, path: &Path, failed_scid: u64, now: u64) {
        let mut updates = Vec::new();
        Self::for_each_hop(path, |scid, dir, amount| {
            updates.push((scid, dir, amount, scid == failed_scid));
            scid != failed_scid
        });
        for (scid, dir, amount, failed) in updates {
            let e = self.entry(scid, dir, now);
            if failed {
                // Liquidity is below the amount.
                e.max_liquidity_msat = e.max_liquidity_msat.min(amount.saturating_sub(1));
                if e.min_liquidity_msat > e.max_liquidity_msat {
                    e.min_liquidity_msat = 0;
                }
            } else {
                // The hop forwarded: it had at least the amount.
                e.min_liquidity_msat = e.min_liquidity_msat.max(amount);
                if e.max_liquidity_msat < e.min_liquidity_msat {
                    e.max_liquidity_msat = u64::MAX;
                }
            }
            e.last_updated_secs = now;
        }
    }

    fn all_forwarded(&mut self, path: &Path, spent: bool, now: u64) {
        let mut updates = Vec::new();
        Self::for_each_hop(path, |scid, dir, amount| {
            updates.push((scid, dir, amount));
            true
        });
        for (scid, dir, amount) in updates {
            let e = self.entry(scid, dir, now);
            if spent {
                // The amount moved to the other side.
                e.min_liquidity_msat = e.min_liquidity_msat.saturating_sub(amount);
                if e.max_liquidity_msat != u64::MAX {
                    e.max_liquidity_msat = e.max_liquidity_msat.saturating_sub(amount);
                }
            } else {
                e.min_liquidity_msat = e.min_liquidity_msat.max(amount);
                if e.max_liquidity_msat < e.min_liquidity_msat {
                    e.max_liquidity_msat = u64::MAX;
                }
            }
            e.last_updated_secs = now;
        }
    }
}

impl ScoreLookUp for ProbabilisticScorer {
    type ScoreParams = ProbabilisticScoringFeeParameters;

    fn channel_penalty_msat(
        &self, candidate: &CandidateHop<'_>, usage: ChannelUsage, params: &ProbabilisticScoringFeeParameters,
    ) -> u64 {
        if !params.manual_avoid_channels.is_empty()
            && params.manual_avoid_channels.contains(&candidate.short_channel_id)
        {
            return u64::MAX;
        }
        let amount = usage.amount_msat.saturating_add(usage.inflight_htlc_msat);
        let capacity = usage.effective_capacity_msat;
        let mut penalty = params
            .base_penalty_msat
            .saturating_add(params.base_penalty_amount_multiplier_msat.saturating_mul(amount) >> 30);
        if candidate.htlc_maximum_msat >= capacity / 2 {
            penalty = penalty.saturating_add(params.anti_probing_penalty_msat);
        }
        let (mut lo, mut hi) = (0, capacity);
        if !self.liquidity.is_empty() {
            if let Some(l) =
                self.estimated_liquidity(candidate.short_channel_id, candidate.is_direction_one_to_two())
            {
                lo = l.min_liquidity_msat.min(capacity);
                hi = l.max_liquidity_msat.min(capacity).max(lo);
            }
        }
        if amount <= lo {
            return penalty;
        }
        if amount >= hi {
            return penalty.saturating_add(params.considered_impossible_penalty_msat);
        }
        let neg_log10 = negative_log10(hi - amount, hi - lo).min(2.0);
        let multiplier = params
            .liquidity_penalty_multiplier_msat
            .saturating_add(params.liquidity_penalty_amount_multiplier_msat.saturating_mul(amount) >> 20);
        penalty.saturating_add((multiplier as f32 * neg_log10) as u64)
    }
}

impl ScoreUpdate for ProbabilisticScorer {
    fn payment_path_failed(&mut self, path: &Path, short_channel_id: u64, now: u64) {
        self.failed_at(path, short_channel_id, now);
    }
    fn payment_path_successful(&mut self, path: &Path, now: u64) {
        self.all_forwarded(path, true, now);
    }
    fn probe_failed(&mut self, path: &Path, short_channel_id: u64, now: u64) {
        self.failed_at(path, short_channel_id, now);
    }
    fn probe_successful(&mut self, path: &Path, now: u64) {
        self.all_forwarded(path, false, now);
    }
    fn time_passed(&mut self, now: u64) {
        let half_life = self.decay_params.liquidity_offset_half_life_secs.max(1);
        self.liquidity.retain(|_, dirs| {
            for slot in dirs.iter_mut() {
                let Some(l) = slot else { continue };
                let halvings = now.saturating_sub(l.last_updated_secs) / half_life;
                if halvings == 0 {
                    continue;
                }
                l.min_liquidity_msat = if halvings >= 64 { 0 } else { l.min_liquidity_msat >> halvings };
                l.max_liquidity_msat =
                    if halvings >= 64 || l.max_liquidity_msat.leading_zeros() < halvings as u32 {
                        u64::MAX
                    } else {
                        l.max_liquidity_msat << halvings
                    };
                l.last_updated_secs = l.last_updated_secs.saturating_add(halvings.saturating_mul(half_life));
                if l.is_unknown() {
                    *slot = None;
                }
            }
            dirs.iter().any(|d| d.is_some())
        });
    }
}

/// Version byte of a serialized scorer.
const SCORER_SERIALIZATION_VERSION: u8 = 1;

impl Writeable for ProbabilisticScorer {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        SCORER_SERIALIZATION_VERSION.write(w)?;
        self.decay_params.liquidity_offset_half_life_secs.write(w)?;
        let entries: Vec<(u64, u8, &DirectedLiquidity)> = self
            .liquidity
            .iter()
            .flat_map(|(scid, dirs)| {
                dirs.iter().enumerate().filter_map(move |(d, l)| l.as_ref().map(|l| (*scid, d as u8, l)))
            })
            .collect();
        (entries.len() as u32).write(w)?;
        for (scid, dir, l) in entries {
            scid.write(w)?;
            dir.write(w)?;
            l.min_liquidity_msat.write(w)?;
            l.max_liquidity_msat.write(w)?;
            l.last_updated_secs.write(w)?;
        }
        Ok(())
    }
}

impl Readable for ProbabilisticScorer {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        if u8::read(r)? != SCORER_SERIALIZATION_VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        let decay_params =
            ProbabilisticScoringDecayParameters { liquidity_offset_half_life_secs: u64::read(r)? };
        let mut scorer = ProbabilisticScorer::new(decay_params);
        for _ in 0..u32::read(r)? {
            let scid = u64::read(r)?;
            let dir = u8::read(r)?;
            if dir > 1 {
                return Err(DecodeError::InvalidValue);
            }
            let l = DirectedLiquidity {
                min_liquidity_msat: u64::read(r)?,
                max_liquidity_msat: u64::read(r)?,
                last_updated_secs: u64::read(r)?,
            };
            scorer.liquidity.entry(scid).or_insert([None, None])[dir as usize] = Some(l);
        }
        Ok(scorer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::gossip::NodeId;
    use crate::routing::router::RouteHop;

    fn id(b: u8) -> NodeId {
        NodeId::from_array([b; 33])
    }

    fn usage(amount_msat: u64, capacity_msat: u64) -> ChannelUsage {
        ChannelUsage { amount_msat, inflight_htlc_msat: 0, effective_capacity_msat: capacity_msat }
    }

    fn penalty(s: &ProbabilisticScorer, scid: u64, from: u8, to: u8, amount: u64, htlc_max: u64) -> u64 {
        let (source, target) = (id(from), id(to));
        let c = CandidateHop {
            short_channel_id: scid,
            source: &source,
            target: &target,
            htlc_maximum_msat: htlc_max,
        };
        s.channel_penalty_msat(
            &c,
            usage(amount, 1_000_000_000),
            &ProbabilisticScoringFeeParameters::default(),
        )
    }

    #[test]
    fn penalty_follows_the_uniform_model() {
        let s = ProbabilisticScorer::default();
        // A quarter of the capacity: p = 0.75, -log10(p) = 0.1249.
        // base 500 + 8192 * 2.5e8 / 2^30 = 1907; liquidity 30000 * 0.1249 = 3748;
        // amount 192 * 2.5e8 / 2^20 * 0.1249 = 5718.
        let p = penalty(&s, 1, 1, 2, 250_000_000, 100_000_000);
        assert!((11_820..11_930).contains(&p), "{p}");
        // Anti-probing: htlc_maximum_msat of at least half the capacity.
        assert_eq!(penalty(&s, 1, 1, 2, 250_000_000, 500_000_000), p + 250);
        // Larger amounts cost more; the whole capacity is impossible.
        assert!(penalty(&s, 1, 1, 2, 500_000_000, 1) > p);
        assert!(penalty(&s, 1, 1, 2, 1_000_000_000, 1) >= 1_000_000_000_000);
        // Avoided channels are never worth it.
        let mut params = ProbabilisticScoringFeeParameters::default();
        params.manual_avoid_channels.insert(1);
        let (a, b) = (id(1), id(2));
        let c = CandidateHop { short_channel_id: 1, source: &a, target: &b, htlc_maximum_msat: 1 };
        assert_eq!(s.channel_penalty_msat(&c, usage(1, 1_000_000_000), &params), u64::MAX);
    }

    fn path(amount: u64) -> Path {
        // id(1) -> id(2) over scid 10, then id(2) -> id(3) over scid 20.
        let hop = |b: u8, scid: u64, fee_msat: u64| RouteHop {
            pubkey: id(b),
            node_features: Default::default(),
            short_channel_id: scid,
            channel_features: Default::default(),
            fee_msat,
            cltv_expiry_delta: 40,
            maybe_announced_channel: true,
        };
        Path { payer: id(1), hops: vec![hop(2, 10, 100), hop(3, 20, amount)] }
    }

    #[test]
    fn failures_and_successes_move_the_bounds_of_the_right_direction() {
        let mut s = ProbabilisticScorer::new(ProbabilisticScoringDecayParameters {
            liquidity_offset_half_life_secs: 100,
        });
        s.payment_path_failed(&path(400_000_000), 20, 0);
        // Hop 1 forwarded 400,000,100: at least that much; hop 2 failed: less
        // than 400,000,000, in the direction from id(2) to id(3) only.
        assert_eq!(s.estimated_liquidity(10, true).unwrap().min_liquidity_msat, 400_000_100);
        assert_eq!(s.estimated_liquidity(20, true).unwrap().max_liquidity_msat, 399_999_999);
        assert_eq!(s.estimated_liquidity(20, false), None);
        assert!(penalty(&s, 20, 2, 3, 400_000_000, 1) >= 1_000_000_000_000);
        // Below the lower bound only the base penalties remain.
        assert_eq!(penalty(&s, 10, 1, 2, 400_000_000, 1), 500 + ((8192 * 400_000_000) >> 30));
        // One half-life: the lower bound halves, the upper doubles.
        s.time_passed(100);
        assert_eq!(s.estimated_liquidity(10, true).unwrap().min_liquidity_msat, 200_000_050);
        assert_eq!(s.estimated_liquidity(20, true).unwrap().max_liquidity_msat, 799_999_998);
        // A success moves the amount out of every hop.
        s.payment_path_successful(&path(100_000_000), 100);
        assert_eq!(s.estimated_liquidity(10, true).unwrap().min_liquidity_msat, 100_000_000 - 50);
        assert_eq!(s.estimated_liquidity(20, true).unwrap().max_liquidity_msat, 699_999_998);
        // A successful probe proves liquidity without moving it.
        s.probe_successful(&path(300_000_000), 100);
        assert_eq!(s.estimated_liquidity(20, true).unwrap().min_liquidity_msat, 300_000_000);
    }
}
