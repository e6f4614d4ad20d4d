//! What the node needs from its environment to act on chain: fee estimates
//! and a way to broadcast transactions.

use bitcoin::Transaction;

/// The lowest feerate (sat per 1000 weight) Bitcoin Core relays: 1 sat/vbyte
/// plus rounding headroom.
pub const FEERATE_FLOOR_SATS_PER_KW: u32 = 253;

/// What a feerate is for, from most to least urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfirmationTarget {
    /// Claims that must confirm before an HTLC times out on the other side.
    UrgentOnChainSweep,
    /// The highest feerate we accept from a peer before calling it unsafe.
    MaximumFeeEstimate,
    /// Our own commitment transaction's feerate (non-anchor channels).
    NonAnchorChannelFee,
    /// Commitment feerate for anchor channels, bumped later by CPFP.
    AnchorChannelFee,
    /// Cooperative closes.
    ChannelCloseMinimum,
    /// The lowest feerate we accept from a peer (below it the commitment may
    /// never confirm).
    MinAllowedNonAnchorChannelRemoteFee,
    /// Sweeping our own outputs when nothing is urgent.
    OutputSpendingFee,
}

/// Provides feerates. Implementations must never return less than
/// [`FEERATE_FLOOR_SATS_PER_KW`].
pub trait FeeEstimator {
    /// The feerate in satoshis per 1000 weight units for `target`.
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32;
}

/// Broadcasts transactions. Must tolerate being given the same transaction
/// many times, and transactions that conflict with the chain.
pub trait BroadcasterInterface {
    /// Broadcasts `txs` (a package when more than one, parent first).
    fn broadcast_transactions(&self, txs: &[&Transaction]);
}

impl<T: FeeEstimator + ?Sized> FeeEstimator for &T {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        (**self).get_est_sat_per_1000_weight(target)
    }
}

impl<T: FeeEstimator + ?Sized> FeeEstimator for alloc::sync::Arc<T> {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        (**self).get_est_sat_per_1000_weight(target)
    }
}

impl<T: BroadcasterInterface + ?Sized> BroadcasterInterface for &T {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        (**self).broadcast_transactions(txs)
    }
}

impl<T: BroadcasterInterface + ?Sized> BroadcasterInterface for alloc::sync::Arc<T> {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        (**self).broadcast_transactions(txs)
    }
}

/// Clamps a feerate to the relay floor.
pub fn clamp_to_floor(feerate_per_kw: u32) -> u32 {
    feerate_per_kw.max(FEERATE_FLOOR_SATS_PER_KW)
}
