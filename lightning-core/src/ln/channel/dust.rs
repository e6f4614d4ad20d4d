//! Dust exposure (BOLT 2 "Bounding exposure to trimmed in-flight HTLCs"):
//! an HTLC trimmed from a commitment cannot be claimed on chain and goes to
//! the miners if that commitment is broadcast, so the total value of
//! trimmed HTLCs on either commitment is kept under
//! [`ChannelConfig::max_dust_htlc_exposure_msat`].
//!
//! What counts: every HTLC of either direction that is not yet removed from
//! both commitments, pending adds included (LDK counts the same set), once
//! each. Each HTLC is judged on each side's commitment with that side's
//! dust limit and second-stage fee.
//!
//! How it is enforced:
//! - an HTLC we would offer is refused (`Ignore`) if it is dust on a
//!   commitment whose dust balance would then exceed the limit. The
//!   decision is taken at [`dust_buffer_feerate`] (the current feerate plus
//!   a margin, as LDK does), so a later feerate increase rarely pushes us
//!   over;
//! - an HTLC the counterparty offers is accepted into the state machine
//!   (BOLT 2: SHOULD NOT fail the channel) and, once irrevocably committed,
//!   failed back with `temporary_channel_failure` if it is dust on a
//!   commitment whose dust balance (at the current feerate) exceeds the
//!   limit with it (`FundedChannel::incoming_over_dust_limit`);
//! - an `update_fee` that raises the feerate and makes a commitment's dust
//!   balance grow past the limit is refused: from the counterparty it is an
//!   `error` and a force-close (BOLT 2: MAY fail the channel; LDK closes),
//!   and we do not send one ourselves (MAY NOT send). With
//!   `option_anchors_zero_fee_htlc_tx` second-stage fees are zero, so the
//!   feerate never changes what is trimmed.
//!
//! [`ChannelConfig::max_dust_htlc_exposure_msat`]: crate::util::config::ChannelConfig::max_dust_htlc_exposure_msat

use super::state::{AddHtlc, CommittedHtlc, Update};
use super::FundedChannel;
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;

/// The value of the HTLCs trimmed on each side's commitment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DustExposure {
    /// Trimmed on our commitment.
    pub holder_commitment_msat: u64,
    /// Trimmed on the counterparty's commitment.
    pub counterparty_commitment_msat: u64,
}

impl DustExposure {
    /// The larger of the two sides.
    pub fn max_msat(&self) -> u64 {
        self.holder_commitment_msat.max(self.counterparty_commitment_msat)
    }
}

/// The feerate new outgoing HTLCs are judged at: the larger of `feerate +
/// 2530` and `feerate * 1.25` sat/kw (LDK's margin), so a feerate increase
/// of that size does not turn them into dust over the limit.
pub fn dust_buffer_feerate(feerate_per_kw: u32) -> u32 {
    let plus_quarter = u32::try_from(u64::from(feerate_per_kw) * 1250 / 1000).unwrap_or(u32::MAX);
    feerate_per_kw.saturating_add(2530).max(plus_quarter)
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// The highest feerate of either current commitment, of the
    /// counterparty's commitment we signed, and of any `update_fee` not yet
    /// in both commitments: what the next commitments may carry.
    pub fn highest_feerate_per_kw(&self) -> u32 {
        let c = &self.commitments;
        let pending_fees = c
            .local_changes
            .proposed
            .iter()
            .chain(&c.local_changes.signed)
            .chain(&c.local_changes.acked)
            .chain(&c.remote_changes.proposed)
            .chain(&c.remote_changes.acked)
            .chain(&c.remote_changes.signed)
            .chain(&self.holding_cell)
            .filter_map(|u| match u {
                Update::Fee { feerate_per_kw } => Some(*feerate_per_kw),
                _ => None,
            });
        pending_fees
            .chain([
                c.local_commit.contents.feerate_per_kw,
                c.remote_commit.contents.feerate_per_kw,
                c.latest_remote_commit().contents.feerate_per_kw,
            ])
            .max()
            .unwrap_or(c.local_commit.contents.feerate_per_kw)
    }

    /// Every HTLC, of either direction, that is in a commitment or pending
    /// (added, not yet removed from both commitments), once each.
    pub(crate) fn pending_htlcs(&self) -> Vec<CommittedHtlc> {
        let c = &self.commitments;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |h: CommittedHtlc, out: &mut Vec<CommittedHtlc>| {
            if seen.insert((h.outgoing, h.htlc_id)) {
                out.push(h);
            }
        };
        for h in c
            .local_commit
            .contents
            .htlcs
            .iter()
            .chain(&c.remote_commit.contents.htlcs)
            .chain(&c.latest_remote_commit().contents.htlcs)
        {
            push(*h, &mut out);
        }
        let ours = c
            .local_changes
            .proposed
            .iter()
            .chain(&c.local_changes.signed)
            .chain(&c.local_changes.acked)
            .chain(&self.holding_cell);
        let theirs =
            c.remote_changes.proposed.iter().chain(&c.remote_changes.acked).chain(&c.remote_changes.signed);
        for (update, outgoing) in ours.map(|u| (u, true)).chain(theirs.map(|u| (u, false))) {
            if let Update::Add(add) = update {
                push(committed(add, outgoing), &mut out);
            }
        }
        out
    }

    /// Whether `htlc` is trimmed on our commitment (`holder_is_broadcaster`)
    /// or the counterparty's at `feerate_per_kw`.
    fn is_dust_on(&self, htlc: &CommittedHtlc, holder_is_broadcaster: bool, feerate_per_kw: u32) -> bool {
        let dust_limit = if holder_is_broadcaster {
            self.holder_params.dust_limit_satoshis
        } else {
            self.counterparty_params.dust_limit_satoshis
        };
        htlc.in_commitment(holder_is_broadcaster).is_trimmed(
            feerate_per_kw,
            dust_limit,
            self.params.commitment_format(),
        )
    }

    /// The dust exposure of `htlcs` at `feerate_per_kw`.
    pub(crate) fn dust_exposure_of<'a>(
        &self, htlcs: impl Iterator<Item = &'a CommittedHtlc>, feerate_per_kw: u32,
    ) -> DustExposure {
        let mut exposure = DustExposure::default();
        for h in htlcs {
            if self.is_dust_on(h, true, feerate_per_kw) {
                exposure.holder_commitment_msat =
                    exposure.holder_commitment_msat.saturating_add(h.amount_msat);
            }
            if self.is_dust_on(h, false, feerate_per_kw) {
                exposure.counterparty_commitment_msat =
                    exposure.counterparty_commitment_msat.saturating_add(h.amount_msat);
            }
        }
        exposure
    }

    /// The channel's dust exposure now: every pending HTLC at the highest
    /// pending feerate.
    pub fn dust_exposure(&self) -> DustExposure {
        self.dust_exposure_of(self.pending_htlcs().iter(), self.highest_feerate_per_kw())
    }

    /// Whether adding `htlc` to `others` (at `feerate_per_kw`) breaks the
    /// limit: it is dust on a commitment whose dust balance, with it,
    /// exceeds `max_dust_htlc_exposure_msat` (BOLT 2). A non-dust HTLC never
    /// does.
    fn add_exceeds_dust_limit(
        &self, htlc: &CommittedHtlc, others: &DustExposure, feerate_per_kw: u32,
    ) -> bool {
        let max = self.config.max_dust_htlc_exposure_msat;
        let over = |side_exposure: u64| side_exposure.saturating_add(htlc.amount_msat) > max;
        (self.is_dust_on(htlc, true, feerate_per_kw) && over(others.holder_commitment_msat))
            || (self.is_dust_on(htlc, false, feerate_per_kw) && over(others.counterparty_commitment_msat))
    }

    /// Whether our new HTLC `add` would exceed the dust limit, judged at the
    /// buffered feerate.
    pub(crate) fn outbound_add_exceeds_dust_limit(&self, add: &AddHtlc) -> bool {
        let feerate = dust_buffer_feerate(self.highest_feerate_per_kw());
        let others = self.dust_exposure_of(self.pending_htlcs().iter(), feerate);
        self.add_exceeds_dust_limit(&committed(add, true), &others, feerate)
    }

    /// Of the counterparty's HTLCs `batch` that just became irrevocably
    /// committed, those to fail back because they break the dust limit, by
    /// id. Each is judged at the current feerate, in the order the
    /// counterparty offered them, against every pending outgoing HTLC and
    /// every incoming one offered before it (less the ones of `batch` failed
    /// here): first come, first served, however the HTLCs were batched into
    /// commitments.
    pub(crate) fn incoming_over_dust_limit(&self, batch: &[AddHtlc]) -> Vec<u64> {
        let Some(first_id) = batch.iter().map(|a| a.htlc_id).min() else { return Vec::new() };
        let feerate = self.highest_feerate_per_kw();
        let pending = self.pending_htlcs();
        let earlier = pending.iter().filter(|h| h.outgoing || h.htlc_id < first_id);
        let mut exposure = self.dust_exposure_of(earlier, feerate);
        let mut in_order: Vec<&AddHtlc> = batch.iter().collect();
        in_order.sort_by_key(|a| a.htlc_id);
        let mut over = Vec::new();
        for add in in_order {
            let htlc = committed(add, false);
            if self.add_exceeds_dust_limit(&htlc, &exposure, feerate) {
                over.push(add.htlc_id);
            } else {
                let with = self.dust_exposure_of(core::iter::once(&htlc), feerate);
                exposure.holder_commitment_msat =
                    exposure.holder_commitment_msat.saturating_add(with.holder_commitment_msat);
                exposure.counterparty_commitment_msat =
                    exposure.counterparty_commitment_msat.saturating_add(with.counterparty_commitment_msat);
            }
        }
        over
    }

    /// If raising the feerate to `feerate_per_kw` makes a commitment's dust
    /// balance grow past the limit, says which and by how much. A feerate
    /// that trims nothing new (or is not higher) never does.
    pub(crate) fn feerate_dust_violation(&self, feerate_per_kw: u32) -> Option<String> {
        let current = self.highest_feerate_per_kw();
        if feerate_per_kw <= current {
            return None;
        }
        let pending = self.pending_htlcs();
        let before = self.dust_exposure_of(pending.iter(), current);
        let after = self.dust_exposure_of(pending.iter(), feerate_per_kw);
        let max = self.config.max_dust_htlc_exposure_msat;
        let grows_over = |b: u64, a: u64| a > b && a > max;
        let side = if grows_over(before.holder_commitment_msat, after.holder_commitment_msat) {
            Some(("our", after.holder_commitment_msat))
        } else if grows_over(before.counterparty_commitment_msat, after.counterparty_commitment_msat) {
            Some(("the counterparty's", after.counterparty_commitment_msat))
        } else {
            None
        };
        side.map(|(whose, msat)| {
            format!(
                "feerate {feerate_per_kw} would raise the dust exposure of {whose} commitment to {msat} msat, above our max_dust_htlc_exposure_msat {max}"
            )
        })
    }
}

/// An add as the HTLC it becomes in the commitments.
fn committed(add: &AddHtlc, outgoing: bool) -> CommittedHtlc {
    CommittedHtlc {
        outgoing,
        htlc_id: add.htlc_id,
        amount_msat: add.amount_msat,
        payment_hash: add.payment_hash,
        cltv_expiry: add.cltv_expiry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_feerate_is_the_larger_margin() {
        assert_eq!(dust_buffer_feerate(253), 253 + 2530);
        assert_eq!(dust_buffer_feerate(20_000), 25_000);
        assert_eq!(dust_buffer_feerate(u32::MAX), u32::MAX);
    }
}
