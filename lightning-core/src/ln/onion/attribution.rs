//! Attributable failures and hold times (`option_attribution_data`, BOLT 4
//! "Initialization of `attribution_data`" and the transformations at each
//! hop).
//!
//! [`AttributionData`] is the 920-byte `attribution_data` TLV of
//! `update_fail_htlc` / `update_fulfill_htlc`: 20 hold times (`u32`, units of
//! 100 ms) and a triangle of 210 truncated HMACs, 20 for the node nearest the
//! origin, 19 for the next, and so on. Every node on the way back shifts the
//! downstream data right, puts its own hold time and 20 HMACs in front and
//! applies its `ammagext` stream. Because each node's HMACs cover what its
//! downstream nodes sent, the origin can tell which pair of nodes tampered with
//! a failure, even one whose message HMAC matches no hop.

use crate::prelude::*;

use super::keys::{self, KeyType};

use bitcoin::secp256k1::ecdh::SharedSecret;

/// Route length covered by attribution data.
pub const ATTRIBUTION_MAX_HOPS: usize = 20;
/// Bytes of one hold time.
pub const HOLD_TIME_LEN: usize = 4;
/// Bytes of one truncated HMAC.
pub const TRUNCATED_HMAC_LEN: usize = 4;
/// Number of truncated HMACs (20 + 19 + ... + 1).
pub const ATTRIBUTION_HMAC_COUNT: usize = ATTRIBUTION_MAX_HOPS * (ATTRIBUTION_MAX_HOPS + 1) / 2;
const HOLD_TIMES_LEN: usize = ATTRIBUTION_MAX_HOPS * HOLD_TIME_LEN;
/// Length of `attribution_data`.
pub const ATTRIBUTION_DATA_LEN: usize = HOLD_TIMES_LEN + ATTRIBUTION_HMAC_COUNT * TRUNCATED_HMAC_LEN;

/// The `attribution_data` of a returned HTLC, as bytes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct AttributionData(pub [u8; ATTRIBUTION_DATA_LEN]);

impl core::fmt::Debug for AttributionData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AttributionData([{ATTRIBUTION_DATA_LEN} bytes])")
    }
}

impl Default for AttributionData {
    fn default() -> Self {
        AttributionData([0; ATTRIBUTION_DATA_LEN])
    }
}

/// Index in the HMAC triangle of `hmac_x_y`: the HMAC of the node `x` hops
/// from the one handling the data, assuming it is `y` hops from the erring
/// node. Block `x` holds `20 - x` HMACs, from `y = 19 - x` down to `y = 0`.
fn hmac_index(x: usize, y: usize) -> usize {
    let block_start = x * ATTRIBUTION_MAX_HOPS - x * x.saturating_sub(1) / 2;
    block_start + (ATTRIBUTION_MAX_HOPS - 1 - x) - y
}

impl AttributionData {
    /// All zero: what an erring (or fulfilling) node starts from, and what a
    /// node uses when nothing came from downstream.
    pub fn new() -> Self {
        Self::default()
    }

    fn hmac(&self, index: usize) -> &[u8] {
        let start = HOLD_TIMES_LEN + index * TRUNCATED_HMAC_LEN;
        &self.0[start..start + TRUNCATED_HMAC_LEN]
    }

    fn hmac_mut(&mut self, index: usize) -> &mut [u8] {
        let start = HOLD_TIMES_LEN + index * TRUNCATED_HMAC_LEN;
        &mut self.0[start..start + TRUNCATED_HMAC_LEN]
    }

    /// The hold time (units of 100 ms) in slot `x` (0 = the node that last
    /// added its layer, once that layer is removed).
    pub fn hold_time(&self, x: usize) -> u32 {
        let s = x * HOLD_TIME_LEN;
        u32::from_be_bytes([self.0[s], self.0[s + 1], self.0[s + 2], self.0[s + 3]])
    }

    /// Byte offset of block `x` (the HMACs of the node `x` hops away).
    fn block_offset(x: usize) -> usize {
        HOLD_TIMES_LEN + hmac_index(x, ATTRIBUTION_MAX_HOPS - 1 - x) * TRUNCATED_HMAC_LEN
    }

    /// Moves everything one hop further from the front: hold times right by
    /// one slot, each block's HMACs to the next block, dropping the
    /// left-most (largest `y`) of each.
    fn shift_right(&mut self) {
        self.0.copy_within(0..HOLD_TIMES_LEN - HOLD_TIME_LEN, HOLD_TIME_LEN);
        self.0[..HOLD_TIME_LEN].fill(0);
        // Block x keeps y = 18 - x ..= 0, its last 19 - x HMACs, which become
        // all of block x + 1. Going backwards never overwrites unread data.
        for x in (0..ATTRIBUTION_MAX_HOPS - 1).rev() {
            let kept = (ATTRIBUTION_MAX_HOPS - 1 - x) * TRUNCATED_HMAC_LEN;
            let src = Self::block_offset(x) + TRUNCATED_HMAC_LEN;
            self.0.copy_within(src..src + kept, Self::block_offset(x + 1));
        }
        let first = Self::block_offset(0);
        self.0[first..first + ATTRIBUTION_MAX_HOPS * TRUNCATED_HMAC_LEN].fill(0);
    }

    /// The inverse of [`Self::shift_right`] (what was dropped comes back as
    /// zeros): the origin's step from one hop to the next.
    fn shift_left(&mut self) {
        self.0.copy_within(HOLD_TIME_LEN..HOLD_TIMES_LEN, 0);
        self.0[HOLD_TIMES_LEN - HOLD_TIME_LEN..HOLD_TIMES_LEN].fill(0);
        for x in 1..ATTRIBUTION_MAX_HOPS {
            let len = (ATTRIBUTION_MAX_HOPS - x) * TRUNCATED_HMAC_LEN;
            let src = Self::block_offset(x);
            let dst = Self::block_offset(x - 1);
            self.0.copy_within(src..src + len, dst + TRUNCATED_HMAC_LEN);
            self.0[dst..dst + TRUNCATED_HMAC_LEN].fill(0);
        }
        let last = Self::block_offset(ATTRIBUTION_MAX_HOPS - 1);
        self.0[last..last + TRUNCATED_HMAC_LEN].fill(0);
    }

    /// `hmac_0_y` under `um`: over the message, the first `y + 1` hold times
    /// and the `y` downstream HMACs `hmac_k_{y-k}`.
    fn compute_hmac(&self, um: &[u8; 32], message: &[u8], y: usize) -> [u8; TRUNCATED_HMAC_LEN] {
        use bitcoin::hashes::hmac::{Hmac, HmacEngine};
        use bitcoin::hashes::{sha256, Hash, HashEngine};
        let mut engine = HmacEngine::<sha256::Hash>::new(um);
        engine.input(message);
        engine.input(&self.0[..(y + 1) * HOLD_TIME_LEN]);
        for k in 1..=y {
            engine.input(self.hmac(hmac_index(k, y - k)));
        }
        let full = Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
        let mut out = [0u8; TRUNCATED_HMAC_LEN];
        out.copy_from_slice(&full[..TRUNCATED_HMAC_LEN]);
        out
    }

    /// Adds our layer: shift what came from downstream, put our hold time and
    /// our 20 HMACs in front, apply our `ammagext` stream.
    ///
    /// `message` is the return packet before we apply our `ammag` stream (for
    /// the erring node: its packet before obfuscation; for a fulfilled HTLC:
    /// empty). Start from [`AttributionData::new`] when nothing came from
    /// downstream.
    pub fn add_hop(&mut self, shared_secret: &[u8; 32], hold_time: u32, message: &[u8]) {
        self.shift_right();
        self.0[..HOLD_TIME_LEN].copy_from_slice(&hold_time.to_be_bytes());
        let um = keys::derive_key(KeyType::Um, shared_secret);
        for y in (0..ATTRIBUTION_MAX_HOPS).rev() {
            let h = self.compute_hmac(&um, message, y);
            self.hmac_mut(hmac_index(0, y)).copy_from_slice(&h);
        }
        keys::xor_keystream(&keys::derive_key(KeyType::AmmagExt, shared_secret), &mut self.0);
    }
}

/// What the origin learns from attribution data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribution {
    /// Hold times (units of 100 ms) reported by the hops whose HMAC checked,
    /// in route order.
    pub hold_times: Vec<u32>,
    /// The first hop whose HMAC did not check, if any: it or the hop before
    /// it tampered with the data (or did not support attribution).
    pub first_invalid_hop: Option<usize>,
}

/// Origin side: checks the attribution data of a failure (or success) along a
/// route of at most [`ATTRIBUTION_MAX_HOPS`] hops.
///
/// `return_packet` is the failure packet as received (`None` for a
/// fulfilled HTLC); `erring_hop` stops the checks at the hop that produced the
/// failure, when known (from [`super::failure::decode_failure_packet`]).
pub fn verify_attribution_data(
    hop_shared_secrets: &[SharedSecret], attribution_data: &AttributionData, return_packet: Option<&[u8]>,
    erring_hop: Option<usize>,
) -> Attribution {
    let route_len = hop_shared_secrets.len().min(ATTRIBUTION_MAX_HOPS);
    let last = erring_hop.map_or(route_len, |e| (e + 1).min(route_len));
    let mut data = attribution_data.clone();
    let mut packet = return_packet.map(|p| p.to_vec());
    let mut hold_times = Vec::with_capacity(last);
    for (i, ss) in hop_shared_secrets[..last].iter().enumerate() {
        let ss = ss.secret_bytes();
        keys::xor_keystream(&keys::derive_key(KeyType::AmmagExt, &ss), &mut data.0);
        if let Some(p) = packet.as_mut() {
            super::failure::obfuscate_failure_packet(&ss, p);
        }
        let message = packet.as_deref().unwrap_or(&[]);
        let y = route_len - 1 - i;
        let expected = data.compute_hmac(&keys::derive_key(KeyType::Um, &ss), message, y);
        if !constant_time_eq4(&expected, data.hmac(hmac_index(0, y))) {
            return Attribution { hold_times, first_invalid_hop: Some(i) };
        }
        hold_times.push(data.hold_time(0));
        data.shift_left();
    }
    Attribution { hold_times, first_invalid_hop: None }
}

fn constant_time_eq4(a: &[u8; TRUNCATED_HMAC_LEN], b: &[u8]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0 && b.len() == TRUNCATED_HMAC_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_layout() {
        assert_eq!(ATTRIBUTION_DATA_LEN, 920);
        assert_eq!(hmac_index(0, 19), 0);
        assert_eq!(hmac_index(0, 0), 19);
        assert_eq!(hmac_index(1, 18), 20);
        assert_eq!(hmac_index(1, 0), 38);
        assert_eq!(hmac_index(19, 0), ATTRIBUTION_HMAC_COUNT - 1);
    }

    #[test]
    fn shift_left_undoes_shift_right_except_what_was_dropped() {
        let mut d = AttributionData::new();
        for (i, b) in d.0.iter_mut().enumerate() {
            *b = (i % 251) as u8 + 1;
        }
        let original = d.clone();
        d.shift_right();
        d.shift_left();
        for x in 0..ATTRIBUTION_MAX_HOPS - 1 {
            assert_eq!(d.hold_time(x), original.hold_time(x));
            for y in 0..ATTRIBUTION_MAX_HOPS - 1 - x {
                assert_eq!(d.hmac(hmac_index(x, y)), original.hmac(hmac_index(x, y)));
            }
        }
    }
}
