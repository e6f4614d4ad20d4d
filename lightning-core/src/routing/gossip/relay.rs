//! The relay rate limit: how often one origin's gossip is forwarded to peers.
//!
//! BOLT 7 asks nodes not to create redundant `channel_update`s and lets
//! receivers treat floods as spam. A node that signs a new update for one of
//! its channels every few seconds would otherwise have every update relayed to
//! every peer by every node. So each channel direction (for `channel_update`)
//! and each node (for `node_announcement`) has a token bucket:
//!
//! - [`RELAY_BURST`] (4) messages may be relayed back to back;
//! - one more token comes back per [`RELAY_REFILL_SECS`] (one hour) of
//!   progress in the messages' own `timestamp`s, so at most 24 a day are
//!   relayed per channel direction and per node in the long run (of the
//!   order of Core Lightning's gossip rate limit).
//!
//! The core has no clock, so the bucket runs on the timestamps the origin
//! signs. Those only move forward (the graph refuses an update that is not
//! newer), and a message stamped more than [`MAX_RELAY_FUTURE_SECS`] (one day)
//! past the latest time the caller gave the graph (see
//! [`NetworkGraph::remove_stale_channels_and_tracking_with_time`]) is not
//! relayed, so an origin cannot buy tokens by running its timestamps ahead:
//! over any period `T` at most `4 + (T + 1 day) / 1 hour` of its messages are
//! relayed. Before the caller has given any time, only the bucket applies.
//!
//! Limited messages are still applied to the graph (our own routing uses the
//! latest policy) and served to peers that query for them; they are only not
//! pushed to peers. The buckets live with the channel and node entries, so
//! they take no memory beyond the graph's own bound (8 bytes per direction
//! and per node) and go away with them.

use crate::routing::gossip::graph::NetworkGraph;
use crate::routing::gossip::types::NodeId;

/// Messages of one origin that may be relayed back to back.
pub const RELAY_BURST: u8 = 4;

/// Seconds of `timestamp` progress that give back one relay token.
pub const RELAY_REFILL_SECS: u32 = 60 * 60;

/// Messages stamped further than this past the caller's latest known time
/// are not relayed (BOLT 7: an update "unreasonably far in the future" may be
/// discarded).
pub const MAX_RELAY_FUTURE_SECS: u64 = 24 * 60 * 60;

/// One origin's relay token bucket. The default is a full bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RelayBudget {
    /// Tokens spent and not yet given back (0: full).
    spent: u8,
    /// The timestamp from which the next token is earned.
    refilled_at: u32,
}

impl RelayBudget {
    /// Spends a token for a message stamped `timestamp`, if one is left after
    /// refilling up to that timestamp.
    pub(crate) fn try_spend(&mut self, timestamp: u32) -> bool {
        if self.spent > 0 {
            let gained = timestamp.saturating_sub(self.refilled_at) / RELAY_REFILL_SECS;
            if gained >= self.spent as u32 {
                self.spent = 0;
            } else {
                // gained < spent <= RELAY_BURST, so this stays at or below
                // `timestamp` and fits.
                self.spent -= gained as u8;
                self.refilled_at += gained * RELAY_REFILL_SECS;
            }
        }
        if self.spent >= RELAY_BURST {
            return false;
        }
        if self.spent == 0 {
            self.refilled_at = timestamp;
        }
        self.spent += 1;
        true
    }
}

impl NetworkGraph {
    fn too_far_ahead(now: u64, timestamp: u32) -> bool {
        now != 0 && timestamp as u64 > now.saturating_add(MAX_RELAY_FUTURE_SECS)
    }

    /// True if a `channel_update` of direction `direction` of
    /// `short_channel_id` stamped `timestamp` may be relayed now (spending a
    /// token); false if its origin is over its relay budget, the update is
    /// too far in the future, or the channel is unknown.
    pub(crate) fn take_update_relay_token(
        &self, short_channel_id: u64, direction: u8, timestamp: u32,
    ) -> bool {
        let mut data = self.data.write();
        if Self::too_far_ahead(data.last_known_time, timestamp) {
            return false;
        }
        let Some(&idx) = data.channel_lookup.get(&short_channel_id) else { return false };
        match data.cold.get_mut(idx as usize) {
            Some(cold) => cold.relay_budget[(direction & 1) as usize].try_spend(timestamp),
            None => false,
        }
    }

    /// True if a `node_announcement` of `node_id` stamped `timestamp` may be
    /// relayed now (spending a token).
    pub(crate) fn take_node_relay_token(&self, node_id: &NodeId, timestamp: u32) -> bool {
        let mut data = self.data.write();
        if Self::too_far_ahead(data.last_known_time, timestamp) {
            return false;
        }
        let Some(idx) = data.node_index(node_id) else { return false };
        match data.node_relay_budgets.get_mut(idx as usize) {
            Some(budget) => budget.try_spend(timestamp),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_refill_period() {
        let mut b = RelayBudget::default();
        let t0 = 1_700_000_000u32;
        // The burst, one second apart.
        for i in 0..RELAY_BURST as u32 {
            assert!(b.try_spend(t0 + i), "burst message {i}");
        }
        assert!(!b.try_spend(t0 + 10));
        // Not yet an hour after the first.
        assert!(!b.try_spend(t0 + RELAY_REFILL_SECS - 1));
        // One token back an hour on, and only one.
        assert!(b.try_spend(t0 + RELAY_REFILL_SECS));
        assert!(!b.try_spend(t0 + RELAY_REFILL_SECS + 1));
        // Long silence refills to the burst, not beyond.
        let later = t0 + 100 * RELAY_REFILL_SECS;
        for i in 0..RELAY_BURST as u32 {
            assert!(b.try_spend(later + i));
        }
        assert!(!b.try_spend(later + 5));
    }

    #[test]
    fn sustained_rate_is_one_per_period() {
        // An origin updating every minute for a day gets the burst plus one
        // per hour relayed.
        let mut b = RelayBudget::default();
        let t0 = 1_000_000u32;
        let relayed = (0..24 * 60).filter(|m| b.try_spend(t0 + m * 60)).count();
        assert_eq!(relayed, RELAY_BURST as usize + 23);
    }

    #[test]
    fn timestamps_near_the_ends_do_not_overflow() {
        let mut b = RelayBudget::default();
        assert!(b.try_spend(0));
        for _ in 0..RELAY_BURST {
            assert!(b.try_spend(u32::MAX));
        }
        assert!(!b.try_spend(u32::MAX));
    }
}
