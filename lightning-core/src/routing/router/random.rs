//! What `random_seed_bytes` changes in a route, for the payer's privacy:
//!
//! - **Path noise.** Every hop a forwarding node adds to a candidate path is
//!   costed at its fee plus scorer penalty plus up to [`PATH_NOISE_PERCENT`]
//!   (5 %, Core Lightning's default fee "fuzz") of that, drawn per channel
//!   direction from the seed. Near-equal paths are then picked at random
//!   instead of always the same way, while a clearly cheaper path still wins
//!   and every fee and limit is still computed exactly. The noise is never
//!   negative, so it cannot make a hop look cheaper than it is.
//! - **Shadow route CLTV.** As LDK and the BOLT 7 routing example do, a
//!   random extra CLTV delta is added to the final hop, as if the path went
//!   on past the payee: a random walk of one to three channels from the payee
//!   in the public graph sums their `cltv_expiry_delta`s
//!   ([`MEDIAN_HOP_CLTV_EXPIRY_DELTA`] for a step with nothing known). The
//!   offset is capped at [`PaymentParameters::max_shadow_cltv_expiry_delta_offset`]
//!   (default [`MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET`], three days of blocks)
//!   and at what `max_total_cltv_expiry_delta` leaves, rounded down to a
//!   multiple of 40 so that the limit itself does not show.
//!
//! The same seed gives the same route; a different seed may give another.
//!
//! [`PaymentParameters::max_shadow_cltv_expiry_delta_offset`]: super::PaymentParameters::max_shadow_cltv_expiry_delta_offset

use crate::routing::gossip::graph::GraphData;
use crate::routing::router::types::{Route, RouteParameters};
use bitcoin::hashes::{sha256, Hash, HashEngine};

/// Largest extra cost, in percent of a hop's fee plus penalty, that path noise
/// adds.
pub const PATH_NOISE_PERCENT: u64 = 5;

/// The CLTV delta of a shadow hop about which the graph says nothing (the
/// median of the public graph).
pub const MEDIAN_HOP_CLTV_EXPIRY_DELTA: u32 = 40;

/// Default cap on the shadow route offset: three days of blocks.
pub const MAX_SHADOW_CLTV_EXPIRY_DELTA_OFFSET: u32 = 3 * 144;

/// A small deterministic generator: SHA-256 of a per-use key and a counter.
struct SeededRng {
    key: [u8; 32],
    counter: u64,
}

impl SeededRng {
    fn new(seed: &[u8; 32], purpose: &[u8], nonce: &[u8]) -> Self {
        let mut engine = sha256::Hash::engine();
        engine.input(purpose);
        engine.input(seed);
        engine.input(nonce);
        SeededRng { key: sha256::Hash::from_engine(engine).to_byte_array(), counter: 0 }
    }

    fn next_u64(&mut self) -> u64 {
        let mut engine = sha256::Hash::engine();
        engine.input(&self.key);
        engine.input(&self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        let hash = sha256::Hash::from_engine(engine).to_byte_array();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(bytes)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The key path noise is drawn with, from the route's seed.
pub(crate) fn noise_key(seed: &[u8; 32]) -> u64 {
    SeededRng::new(seed, b"lightning-core/route/path-noise", &[]).next_u64()
}

/// The extra cost path noise adds to a hop costing `cost` (fee plus penalty)
/// over channel `scid` in direction `direction`: in `0..cost * 5 %`, fixed
/// for a given key, channel and direction.
#[inline]
pub(crate) fn edge_noise(key: u64, scid: u64, direction: bool, cost: u64) -> u64 {
    // splitmix64 finaliser over the key, channel and direction.
    let mut z = key ^ scid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (direction as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // A fraction of 2^16 in 0..PATH_NOISE_PERCENT %, then cost times it: a
    // 64x64-bit multiply and a shift (no division in the search's inner loop),
    // at most cost / 20, and no overflow.
    let fraction = (z & 0xFFFF) * PATH_NOISE_PERCENT / 100;
    ((cost as u128 * fraction as u128) >> 16) as u64
}

/// Adds a shadow route CLTV offset to the final hop of every path of `route`
/// (see the [module docs](self)).
pub(crate) fn add_shadow_cltv_offset(
    route: &mut Route, params: &RouteParameters, data: &GraphData, seed: &[u8; 32],
) {
    let p = &params.payment_params;
    let cap = p.max_shadow_cltv_expiry_delta_offset;
    if cap == 0 {
        return;
    }
    for (index, path) in route.paths.iter_mut().enumerate() {
        // Start from the last node of the path the graph knows (the payee, or
        // the last public hop before a private one).
        let start = path.hops.iter().rev().find_map(|h| data.node_index(&h.pubkey));
        let mut nonce = [0u8; 41];
        if let Some(idx) = start {
            nonce[..33].copy_from_slice(data.nodes[idx as usize].node_id.as_slice());
        }
        nonce[33..].copy_from_slice(&(index as u64).to_be_bytes());
        let mut rng = SeededRng::new(seed, b"lightning-core/route/shadow-cltv", &nonce);
        let offset = shadow_walk(data, start, &mut rng).min(cap);

        // Never past the CLTV limit; a multiple of 40 below it so the limit
        // does not show (or what is left, if less than 40).
        let total = path.total_cltv_expiry_delta();
        let room = p.max_total_cltv_expiry_delta.saturating_sub(total);
        let room = (room - room % MEDIAN_HOP_CLTV_EXPIRY_DELTA).max(room % MEDIAN_HOP_CLTV_EXPIRY_DELTA);
        let offset = offset.min(room);
        if let Some(last) = path.hops.last_mut() {
            last.cltv_expiry_delta = last.cltv_expiry_delta.saturating_add(offset);
        }
    }
}

/// Sums the CLTV deltas of a random walk of one to three channels from
/// `start`, not revisiting a node.
fn shadow_walk(data: &GraphData, start: Option<u32>, rng: &mut SeededRng) -> u32 {
    let steps = 1 + rng.below(3) as usize;
    let mut visited: [u32; 4] = [u32::MAX; 4];
    let mut current = start;
    if let Some(s) = start {
        visited[0] = s;
    }
    let mut offset = 0u32;
    for step in 0..steps {
        let mut delta = MEDIAN_HOP_CLTV_EXPIRY_DELTA;
        if let Some(cur) = current {
            let edges = &data.nodes[cur as usize].inbound;
            if !edges.is_empty() {
                let edge = &edges[rng.below(edges.len() as u64) as usize];
                let channel = &data.channels[edge.chan as usize];
                // The direction leaving `cur`, as if the payment went on.
                let dir = if channel.nodes[0] == cur { 0 } else { 1 };
                let policy = &channel.dirs[dir];
                let next = edge.src;
                if policy.is_present() && !visited.contains(&next) {
                    delta = policy.cltv_expiry_delta as u32;
                    visited[step + 1] = next;
                    current = Some(next);
                } else {
                    current = None;
                }
            }
        }
        offset = offset.saturating_add(delta);
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn noise_is_bounded_and_fixed_per_key_and_channel() {
        let key = noise_key(&[7; 32]);
        assert_eq!(key, noise_key(&[7; 32]));
        assert_ne!(key, noise_key(&[8; 32]));
        let mut any_nonzero = false;
        for scid in 0..1000u64 {
            for dir in [false, true] {
                let n = edge_noise(key, scid, dir, 1_000_000);
                assert!(n < 50_000, "{n}");
                assert_eq!(n, edge_noise(key, scid, dir, 1_000_000));
                any_nonzero |= n > 0;
            }
        }
        assert!(any_nonzero);
        assert_eq!(edge_noise(key, 1, false, 0), 0);
        assert!(edge_noise(key, 1, false, u64::MAX) <= u64::MAX / 20);
    }

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = SeededRng::new(&[1; 32], b"t", b"n");
        let mut b = SeededRng::new(&[1; 32], b"t", b"n");
        let xs: Vec<u64> = (0..64).map(|_| a.below(3)).collect();
        let ys: Vec<u64> = (0..64).map(|_| b.below(3)).collect();
        assert_eq!(xs, ys);
        assert!((0..3).all(|v| xs.contains(&v)));
    }
}
