//! The path search (backward Dijkstra from the payee) and multi-part splitting.
//!
//! Nodes are the graph's node indices, followed by "extra" nodes that only
//! route hints (or a payer/payee outside the graph) bring in. Each label holds
//! the amount the node must receive to deliver the payment over its best path
//! so far, the fees plus penalties of that path (the Dijkstra key), its CLTV
//! total and hop count, and the edge it takes towards the payee. Every limit is
//! checked when an edge is relaxed, with the exact amount the edge carries.

use crate::prelude::*;
use crate::routing::gossip::graph::{GraphData, NO_NODE};
use crate::routing::gossip::{NodeId, RoutingFees};
use crate::routing::router::random;
use crate::routing::router::types::{
    FirstHop, Path, Route, RouteError, RouteHop, RouteParameters, MAX_PATH_LENGTH,
};
use crate::routing::scoring::{CandidateHop, ChannelUsage, ScoreLookUp};
use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

/// Which kind of edge a label's `next` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeRef {
    None,
    /// A graph channel index; the direction is the one leaving the label's node.
    Graph(u32),
    /// Index into the hint edges.
    Hint(u32),
    /// Index into the first hops.
    FirstHop(u32),
}

#[derive(Clone, Copy, Debug)]
struct Label {
    /// Fees plus penalties from this node to the payee (the Dijkstra key).
    cost: u64,
    /// Amount this node must receive (or, for the payer, send).
    amount_msat: u64,
    /// Sum of CLTV deltas from this node to the payee, final delta included.
    cltv: u32,
    hops: u8,
    next_edge: EdgeRef,
    next_node: u32,
}

const UNREACHED: Label = Label {
    cost: UNREACHED_COST,
    amount_msat: 0,
    cltv: 0,
    hops: 0,
    next_edge: EdgeRef::None,
    next_node: NO_NODE,
};

/// The search keeps each node's best cost in a compact array of its own (what
/// the inner loop reads for every edge), with this bit marking settled nodes.
const DONE: u64 = 1 << 63;
/// The cost of a node not reached yet; real costs are clamped below it.
const UNREACHED_COST: u64 = DONE - 1;
/// A scorer penalty that excludes the hop instead of making it a last resort
/// (see [`ScoreLookUp::channel_penalty_msat`]). Costs are clamped below
/// [`UNREACHED_COST`], so without this check such a hop would still be taken
/// when nothing else reaches the payee.
const NEVER_USE_PENALTY: u64 = u64::MAX;

/// A private edge from a route hint.
#[derive(Clone, Copy, Debug)]
struct HintEdge {
    src: u32,
    dst: u32,
    scid: u64,
    fees: RoutingFees,
    cltv_expiry_delta: u16,
    htlc_minimum_msat: u64,
    htlc_maximum_msat: u64,
}

/// Everything fixed for the duration of one `find_route` call.
struct Context<'a, S: ScoreLookUp> {
    data: &'a GraphData,
    scorer: &'a S,
    score_params: &'a S::ScoreParams,
    params: &'a RouteParameters,
    payer: u32,
    payee: u32,
    extra_nodes: Vec<NodeId>,
    hints: Vec<HintEdge>,
    first_hops: Option<&'a [&'a FirstHop]>,
    /// For each first hop, its counterparty's node index.
    first_hop_targets: Vec<u32>,
    failed: BTreeSet<u64>,
    /// Key of the path noise ([`random::edge_noise`]).
    noise_key: u64,
}

/// Liquidity already used by earlier paths of a multi-part payment, by
/// (short channel id, direction).
type Used = BTreeMap<(u64, bool), u64>;

impl<'a, S: ScoreLookUp> Context<'a, S> {
    fn node_count(&self) -> usize {
        self.data.nodes.len() + self.extra_nodes.len()
    }

    fn node_id(&self, idx: u32) -> &NodeId {
        let n = self.data.nodes.len();
        if (idx as usize) < n {
            &self.data.nodes[idx as usize].node_id
        } else {
            &self.extra_nodes[idx as usize - n]
        }
    }

    /// True if `idx` requires features we do not know (do not route through it).
    fn node_unusable(&self, idx: u32) -> bool {
        let Some(node) = self.data.nodes.get(idx as usize) else { return false };
        node.announcement.as_ref().is_some_and(|a| a.features.requires_unknown_bits())
    }

    /// One backward search for a path delivering `amount_msat`, with at most
    /// `fee_budget_msat` of fees, using at most `capacity >> saturation_shift`
    /// of a channel (less what `used` already takes).
    ///
    /// Returns the path, or `Err(true)` if some channel was passed over only
    /// because of the saturation limit (a search without it might succeed).
    fn search(
        &self, amount_msat: u64, fee_budget_msat: u64, saturation_shift: u8, used: &Used,
    ) -> Result<Path, bool> {
        let mut saturation_blocked = false;
        let p = &self.params.payment_params;
        let mut labels = vec![UNREACHED; self.node_count()];
        let mut best = vec![UNREACHED_COST; self.node_count()];
        best[self.payee as usize] = 0;
        let mut heap = BinaryHeap::new();
        labels[self.payee as usize] = Label {
            cost: 0,
            amount_msat,
            cltv: p.final_cltv_expiry_delta,
            hops: 0,
            next_edge: EdgeRef::None,
            next_node: NO_NODE,
        };
        heap.push(Reverse((0u64, self.payee)));
        let max_amount = amount_msat.saturating_add(fee_budget_msat);
        let use_graph_payer_channels = self.first_hops.is_none();

        while let Some(Reverse((cost, v))) = heap.pop() {
            if best[v as usize] & DONE != 0 || cost > best[v as usize] {
                continue;
            }
            best[v as usize] |= DONE;
            let label = labels[v as usize];
            if v == self.payer {
                return self.build_path(&labels).ok_or(false);
            }
            if label.hops as usize >= MAX_PATH_LENGTH {
                continue;
            }
            let v_id = self.node_id(v);

            // Our own channels into `v`.
            if let Some(first_hops) = self.first_hops {
                for (i, fh) in first_hops.iter().enumerate() {
                    if self.first_hop_targets[i] != v {
                        continue;
                    }
                    let used_here = if used.is_empty() {
                        0
                    } else {
                        used.get(&(fh.short_channel_id, self.payer_id() < v_id)).copied().unwrap_or(0)
                    };
                    let available = fh.next_outbound_htlc_limit_msat.min(fh.outbound_capacity_msat);
                    if label.amount_msat < fh.next_outbound_htlc_minimum_msat
                        || label.amount_msat.saturating_add(used_here) > available
                    {
                        continue;
                    }
                    self.relax(
                        &mut labels,
                        &mut best,
                        &mut heap,
                        self.payer,
                        v,
                        &label,
                        0,
                        0,
                        0,
                        EdgeRef::FirstHop(i as u32),
                    );
                }
            }

            // Route hint edges into `v`.
            for (i, h) in self.hints.iter().enumerate() {
                if h.dst != v || self.failed.contains(&h.scid) {
                    continue;
                }
                if label.amount_msat < h.htlc_minimum_msat || label.amount_msat > h.htlc_maximum_msat {
                    continue;
                }
                let used_here = if used.is_empty() {
                    0
                } else {
                    used.get(&(h.scid, self.node_id(h.src) < v_id)).copied().unwrap_or(0)
                };
                if label.amount_msat.saturating_add(used_here) > h.htlc_maximum_msat {
                    continue;
                }
                let penalty = if h.src == self.payer {
                    0
                } else {
                    let fee = h.fees.fee_msat(label.amount_msat).unwrap_or(u64::MAX);
                    let candidate = CandidateHop {
                        short_channel_id: h.scid,
                        source: self.node_id(h.src),
                        target: v_id,
                        htlc_maximum_msat: h.htlc_maximum_msat,
                    };
                    let usage = ChannelUsage {
                        amount_msat: label.amount_msat,
                        inflight_htlc_msat: used_here,
                        effective_capacity_msat: h.htlc_maximum_msat,
                    };
                    let penalty = self.scorer.channel_penalty_msat(&candidate, usage, self.score_params);
                    let noise =
                        random::edge_noise(self.noise_key, h.scid, h.src > v, fee.saturating_add(penalty));
                    penalty.saturating_add(noise)
                };
                if penalty == NEVER_USE_PENALTY {
                    continue;
                }
                self.relax_forwarding(
                    &mut labels,
                    &mut best,
                    &mut heap,
                    h.src,
                    v,
                    &label,
                    h.fees,
                    h.cltv_expiry_delta,
                    penalty,
                    max_amount,
                    EdgeRef::Hint(i as u32),
                );
            }

            // Public channels into `v`.
            let Some(node) = self.data.nodes.get(v as usize) else { continue };
            for edge in &node.inbound {
                let (u, c) = (edge.src, edge.chan);
                if u == self.payer && !use_graph_payer_channels {
                    continue;
                }
                let policy = &edge.policy;
                if !policy.is_usable() {
                    continue;
                }
                let amt = label.amount_msat;
                if amt < policy.htlc_minimum_msat || amt > policy.htlc_maximum_msat {
                    continue;
                }
                if best[u as usize] & DONE != 0 {
                    continue;
                }
                let used_here = if used.is_empty() {
                    0
                } else {
                    used.get(&(edge.scid, self.data.nodes[u as usize].node_id < *v_id)).copied().unwrap_or(0)
                };
                let in_flight = amt.saturating_add(used_here);
                let (available, effective_capacity) = if edge.capacity_msat == u64::MAX {
                    (policy.htlc_maximum_msat, policy.htlc_maximum_msat)
                } else {
                    (
                        // A shift past 63 leaves nothing (a plain `>>` would
                        // panic or wrap).
                        edge.capacity_msat
                            .checked_shr(saturation_shift as u32)
                            .unwrap_or(0)
                            .min(policy.htlc_maximum_msat),
                        edge.capacity_msat,
                    )
                };
                if in_flight > available {
                    saturation_blocked |= in_flight <= policy.htlc_maximum_msat.min(edge.capacity_msat);
                    continue;
                }
                if !self.failed.is_empty() && self.failed.contains(&edge.scid) {
                    continue;
                }
                // Skip the scorer when even the fee alone cannot improve `u`.
                let fee = if u != self.payer {
                    let fee = policy.fees().fee_msat(amt).unwrap_or(u64::MAX);
                    if label.cost.saturating_add(fee) >= best[u as usize] {
                        continue;
                    }
                    fee
                } else {
                    0
                };
                let penalty = if u == self.payer {
                    0
                } else {
                    let candidate = CandidateHop {
                        short_channel_id: edge.scid,
                        source: &self.data.nodes[u as usize].node_id,
                        target: v_id,
                        htlc_maximum_msat: policy.htlc_maximum_msat,
                    };
                    let usage = ChannelUsage {
                        amount_msat: amt,
                        inflight_htlc_msat: used_here,
                        effective_capacity_msat: effective_capacity,
                    };
                    let penalty = self.scorer.channel_penalty_msat(&candidate, usage, self.score_params);
                    let noise =
                        random::edge_noise(self.noise_key, edge.scid, u > v, fee.saturating_add(penalty));
                    penalty.saturating_add(noise)
                };
                if penalty == NEVER_USE_PENALTY {
                    continue;
                }
                self.relax_forwarding(
                    &mut labels,
                    &mut best,
                    &mut heap,
                    u,
                    v,
                    &label,
                    policy.fees(),
                    policy.cltv_expiry_delta,
                    penalty,
                    max_amount,
                    EdgeRef::Graph(c),
                );
            }
        }
        Err(saturation_blocked)
    }

    fn payer_id(&self) -> &NodeId {
        self.node_id(self.payer)
    }

    /// Relaxes `u -> v` where `u` forwards (charging `fees`), unless `u` is the
    /// payer, which pays no fee to itself and adds no CLTV delta.
    #[allow(clippy::too_many_arguments)]
    fn relax_forwarding(
        &self, labels: &mut [Label], best: &mut [u64], heap: &mut BinaryHeap<Reverse<(u64, u32)>>, u: u32,
        v: u32, label: &Label, fees: RoutingFees, cltv_expiry_delta: u16, penalty: u64, max_amount: u64,
        edge: EdgeRef,
    ) {
        if u == self.payer {
            self.relax(labels, best, heap, u, v, label, 0, 0, penalty, edge);
            return;
        }
        if self.node_unusable(u) {
            return;
        }
        let Some(fee) = fees.fee_msat(label.amount_msat) else { return };
        let Some(amount) = label.amount_msat.checked_add(fee) else { return };
        if amount > max_amount {
            return;
        }
        self.relax(labels, best, heap, u, v, label, fee, cltv_expiry_delta as u32, penalty, edge);
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn relax(
        &self, labels: &mut [Label], best: &mut [u64], heap: &mut BinaryHeap<Reverse<(u64, u32)>>, u: u32,
        v: u32, label: &Label, fee: u64, cltv_delta: u32, penalty: u64, edge: EdgeRef,
    ) {
        let Some(cltv) = label.cltv.checked_add(cltv_delta) else { return };
        let Some(amount_msat) = label.amount_msat.checked_add(fee) else { return };
        if cltv > self.params.payment_params.max_total_cltv_expiry_delta {
            return;
        }
        let cost = label.cost.saturating_add(fee).saturating_add(penalty).min(UNREACHED_COST - 1);
        if best[u as usize] & DONE != 0 || cost >= best[u as usize] {
            return;
        }
        best[u as usize] = cost;
        labels[u as usize] =
            Label { cost, amount_msat, cltv, hops: label.hops + 1, next_edge: edge, next_node: v };
        heap.push(Reverse((cost, u)));
    }

    /// Walks the labels from the payer to the payee, recomputing the amounts
    /// exactly from the payee backwards.
    fn build_path(&self, labels: &[Label]) -> Option<Path> {
        // (edge, node reached) from the payer on.
        let mut steps: Vec<(EdgeRef, u32)> = Vec::new();
        let mut at = self.payer;
        while at != self.payee {
            let l = &labels[at as usize];
            if l.next_node == NO_NODE || steps.len() > MAX_PATH_LENGTH {
                return None;
            }
            steps.push((l.next_edge, l.next_node));
            at = l.next_node;
        }
        let p = &self.params.payment_params;
        let mut hops: Vec<RouteHop> = Vec::with_capacity(steps.len());
        for (i, (edge, node)) in steps.iter().enumerate() {
            let (scid, channel_features, announced) = match edge {
                EdgeRef::Graph(c) => {
                    (self.data.channels[*c as usize].scid, self.data.cold[*c as usize].features.clone(), true)
                }
                EdgeRef::Hint(h) => (self.hints[*h as usize].scid, Default::default(), false),
                EdgeRef::FirstHop(f) => {
                    let fh = self.first_hops?.get(*f as usize)?;
                    (fh.short_channel_id, Default::default(), fh.is_announced)
                }
                EdgeRef::None => return None,
            };
            let node_features = self
                .data
                .nodes
                .get(*node as usize)
                .and_then(|n| n.announcement.as_ref())
                .map(|a| a.features.clone())
                .unwrap_or_default();
            let last = i + 1 == steps.len();
            // This node forwards over the next step's edge, at the next step's
            // policy.
            let (fee_msat, cltv_expiry_delta) = if last {
                (labels[self.payee as usize].amount_msat, p.final_cltv_expiry_delta)
            } else {
                let next_amount = labels[steps[i + 1].1 as usize].amount_msat;
                let (fees, delta) = self.edge_policy(steps[i + 1].0, *node)?;
                (fees.fee_msat(next_amount)?, delta as u32)
            };
            hops.push(RouteHop {
                pubkey: *self.node_id(*node),
                node_features,
                short_channel_id: scid,
                channel_features,
                fee_msat,
                cltv_expiry_delta,
                maybe_announced_channel: announced,
            });
        }
        Some(Path { payer: *self.payer_id(), hops })
    }

    /// Fees and CLTV delta that `source` charges on `edge`.
    fn edge_policy(&self, edge: EdgeRef, source: u32) -> Option<(RoutingFees, u16)> {
        match edge {
            EdgeRef::Graph(c) => {
                let ch = &self.data.channels[c as usize];
                let dir = if ch.nodes[0] == source { 0 } else { 1 };
                let policy = &ch.dirs[dir];
                Some((policy.fees(), policy.cltv_expiry_delta))
            }
            EdgeRef::Hint(h) => {
                let h = &self.hints[h as usize];
                Some((h.fees, h.cltv_expiry_delta))
            }
            EdgeRef::FirstHop(_) | EdgeRef::None => None,
        }
    }
}

/// Records what `path` (delivering `amount`) takes from each channel.
fn record_usage<S: ScoreLookUp>(ctx: &Context<'_, S>, path: &Path, used: &mut Used) {
    let _ = ctx;
    let mut source = path.payer;
    for (hop, amount) in path.hops.iter().zip(path.amounts_per_hop()) {
        let slot = used.entry((hop.short_channel_id, source < hop.pubkey)).or_insert(0);
        *slot = slot.saturating_add(amount);
        source = hop.pubkey;
    }
}

pub(crate) fn find_route_inner<S: ScoreLookUp>(
    payer: &NodeId, params: &RouteParameters, data: &GraphData, first_hops: Option<&[&FirstHop]>, scorer: &S,
    score_params: &S::ScoreParams, noise_key: u64,
) -> Result<Route, RouteError> {
    let p = &params.payment_params;
    if *payer == p.payee_pubkey {
        return Err(RouteError::PayerIsPayee);
    }
    if params.final_value_msat == 0 {
        return Err(RouteError::ZeroAmount);
    }
    if p.max_path_count == 0 {
        return Err(RouteError::ZeroMaxPathCount);
    }
    if p.final_cltv_expiry_delta > p.max_total_cltv_expiry_delta {
        return Err(RouteError::CltvLimitTooLow);
    }
    let mut extra_nodes: Vec<NodeId> = Vec::new();
    let graph_nodes = data.nodes.len();
    let index_of = |id: &NodeId, extra: &mut Vec<NodeId>| -> u32 {
        if let Some(i) = data.node_index(id) {
            return i;
        }
        if let Some(pos) = extra.iter().position(|e| e == id) {
            return (graph_nodes + pos) as u32;
        }
        extra.push(*id);
        (graph_nodes + extra.len() - 1) as u32
    };
    let payer_idx = index_of(payer, &mut extra_nodes);
    let payee_idx = index_of(&p.payee_pubkey, &mut extra_nodes);

    let mut hints = Vec::new();
    for hint in &p.route_hints {
        if hint.0.is_empty() {
            return Err(RouteError::InvalidRouteHint);
        }
        for (i, hop) in hint.0.iter().enumerate() {
            let dst_id = hint.0.get(i + 1).map_or(p.payee_pubkey, |h| h.src_node_id);
            if hop.src_node_id == p.payee_pubkey || hop.src_node_id == dst_id {
                return Err(RouteError::InvalidRouteHint);
            }
            let src = index_of(&hop.src_node_id, &mut extra_nodes);
            let dst = index_of(&dst_id, &mut extra_nodes);
            hints.push(HintEdge {
                src,
                dst,
                scid: hop.short_channel_id,
                fees: hop.fees,
                cltv_expiry_delta: hop.cltv_expiry_delta,
                htlc_minimum_msat: hop.htlc_minimum_msat.unwrap_or(0),
                htlc_maximum_msat: hop.htlc_maximum_msat.unwrap_or(u64::MAX),
            });
        }
    }
    let first_hop_targets: Vec<u32> = first_hops
        .unwrap_or(&[])
        .iter()
        .map(|fh| index_of(&fh.counterparty_node_id, &mut extra_nodes))
        .collect();

    let payer_in_graph = (payer_idx as usize) < graph_nodes;
    let payer_has_channels = match first_hops {
        Some(f) => !f.is_empty(),
        None => payer_in_graph || hints.iter().any(|h| h.src == payer_idx),
    };
    if !payer_has_channels {
        return Err(RouteError::PayerHasNoChannels);
    }
    let payee_reachable = (payee_idx as usize) < graph_nodes
        || hints.iter().any(|h| h.dst == payee_idx)
        || first_hop_targets.contains(&payee_idx);
    if !payee_reachable {
        return Err(RouteError::PayeeUnreachable);
    }

    let ctx = Context {
        data,
        scorer,
        score_params,
        params,
        payer: payer_idx,
        payee: payee_idx,
        extra_nodes,
        hints,
        first_hops,
        first_hop_targets,
        failed: p.previously_failed_channels.iter().copied().collect(),
        noise_key,
    };
    let value = params.final_value_msat;
    let fee_budget = params.max_total_routing_fee_msat.unwrap_or(u64::MAX);
    let empty = Used::new();

    // One path, preferring unsaturated channels, then using whole channels.
    let shifts = [p.max_channel_saturation_power_of_half, 0];
    let shifts: &[u8] = if shifts[0] == 0 { &shifts[..1] } else { &shifts };
    for &shift in shifts {
        match ctx.search(value, fee_budget, shift, &empty) {
            Ok(path) => return Ok(Route { paths: vec![path], route_params: Some(params.clone()) }),
            // Nothing was held back by the saturation limit: relaxing it
            // cannot help.
            Err(false) => break,
            Err(true) => {}
        }
    }
    if !p.allows_mpp() {
        return Err(RouteError::NoRouteFound);
    }

    // Split: take the largest part some path can carry, halving on failure,
    // until the amount is covered or the path budget is spent.
    let max_paths = p.max_path_count as usize;
    let mut used = Used::new();
    let mut paths: Vec<Path> = Vec::new();
    let mut remaining = value;
    let mut fees_paid = 0u64;
    let mut part = value.div_ceil(2);
    while remaining > 0 {
        let slots = max_paths - paths.len();
        if slots == 0 {
            return Err(RouteError::InsufficientLiquidity);
        }
        let min_part = remaining.div_ceil(slots as u64);
        let amount = part.min(remaining).max(min_part);
        match ctx.search(amount, fee_budget.saturating_sub(fees_paid), 0, &used) {
            Ok(path) => {
                record_usage(&ctx, &path, &mut used);
                fees_paid = fees_paid.saturating_add(path.fee_msat());
                remaining -= amount;
                paths.push(path);
            }
            Err(_) => {
                if amount <= min_part {
                    return Err(RouteError::InsufficientLiquidity);
                }
                part = (amount / 2).max(min_part);
            }
        }
    }
    Ok(Route { paths, route_params: Some(params.clone()) })
}
