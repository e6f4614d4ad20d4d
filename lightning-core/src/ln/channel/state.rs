//! The commitment state of a funded channel, in the terms BOLT 2 uses: each
//! side's current commitment, and the updates each side has sent, sorted by
//! how far along the add/commit/revoke exchange they are.
//!
//! Updates we sent ([`LocalChanges`]) move `proposed` (sent, not yet signed
//! by us) → `signed` (in a `commitment_signed` we sent, waiting for the
//! counterparty's `revoke_and_ack`) → `acked` (in the counterparty's
//! commitment, waiting to be in ours: the counterparty's next
//! `commitment_signed` covers them) → gone (in both commitments).
//!
//! Updates the counterparty sent ([`RemoteChanges`]) move `proposed` →
//! `acked` (its `commitment_signed` covered them and we revoked our previous
//! commitment) → `signed` (our `commitment_signed` covered them) → gone
//! (the counterparty revoked: irrevocably committed on both sides).
//!
//! A commitment's contents are always computed the same way, by
//! [`CommitmentContents::reduce`]: the previous contents, plus our updates
//! and the counterparty's updates that the new commitment covers. Adds are
//! applied before removals, so an HTLC added and settled in one batch is
//! handled correctly.

use crate::chain::channelmonitor::HTLCSource;
use crate::io::{self, Read, Write};
use crate::ln::chan_utils::commitment::CommitmentSpec;
use crate::ln::chan_utils::{HTLCOutputInCommitment, HtlcDirection};
use crate::ln::msgs::DecodeError;
use crate::ln::onion::OnionPacket;
use crate::ln::types::{PaymentHash, PaymentPreimage};
use crate::prelude::*;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;

/// An HTLC being added, as `update_add_htlc` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddHtlc {
    /// The sender's id for it.
    pub htlc_id: u64,
    /// Its amount.
    pub amount_msat: u64,
    /// The hash it is locked to.
    pub payment_hash: PaymentHash,
    /// Its expiry height.
    pub cltv_expiry: u32,
    /// The onion for the receiver.
    pub onion: Box<OnionPacket>,
    /// `blinded_path`'s `path_key`, if any.
    pub blinding_point: Option<PublicKey>,
}

/// One update to a commitment, as either side sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// `update_add_htlc`: the sender offers an HTLC.
    Add(AddHtlc),
    /// `update_fulfill_htlc`: the sender claims an HTLC the other side
    /// offered.
    Fulfill {
        /// The HTLC (offered by the other side).
        htlc_id: u64,
        /// The preimage.
        payment_preimage: PaymentPreimage,
    },
    /// `update_fail_htlc`: the sender fails an HTLC the other side offered.
    Fail {
        /// The HTLC.
        htlc_id: u64,
        /// The encrypted failure.
        reason: Vec<u8>,
    },
    /// `update_fail_malformed_htlc`.
    FailMalformed {
        /// The HTLC.
        htlc_id: u64,
        /// SHA-256 of the onion.
        sha256_of_onion: [u8; 32],
        /// The failure code.
        failure_code: u16,
    },
    /// `update_fee` (only the funder sends it).
    Fee {
        /// The new feerate.
        feerate_per_kw: u32,
    },
}

impl Update {
    /// The HTLC a removal (fulfill or fail) is about.
    pub fn removed_htlc_id(&self) -> Option<u64> {
        match self {
            Update::Fulfill { htlc_id, .. }
            | Update::Fail { htlc_id, .. }
            | Update::FailMalformed { htlc_id, .. } => Some(*htlc_id),
            Update::Add(_) | Update::Fee { .. } => None,
        }
    }
}

/// An HTLC in a commitment, seen from our side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommittedHtlc {
    /// True if we offered it (outgoing), false if the counterparty did.
    pub outgoing: bool,
    /// The offerer's id for it.
    pub htlc_id: u64,
    /// Its amount.
    pub amount_msat: u64,
    /// Its hash.
    pub payment_hash: PaymentHash,
    /// Its expiry height.
    pub cltv_expiry: u32,
}

/// What a commitment holds, from our side (whichever side's commitment it
/// is): balances before fees, in-flight HTLCs and the feerate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentContents {
    /// Our balance, not counting HTLCs.
    pub to_local_msat: u64,
    /// The counterparty's balance, not counting HTLCs.
    pub to_remote_msat: u64,
    /// The feerate.
    pub feerate_per_kw: u32,
    /// HTLCs in flight, in the order they were added.
    pub htlcs: Vec<CommittedHtlc>,
}

/// Why a set of updates cannot be applied to a commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceError {
    /// A side would spend more than its balance.
    InsufficientBalance,
    /// A removal names an HTLC that is not in the commitment.
    UnknownHtlc(u64),
}

impl CommitmentContents {
    /// The contents after `ours` (updates we sent) and `theirs` (updates the
    /// counterparty sent): adds first, then removals, then the last fee.
    pub fn reduce<'a>(
        &self, ours: impl Iterator<Item = &'a Update> + Clone,
        theirs: impl Iterator<Item = &'a Update> + Clone,
    ) -> Result<Self, ReduceError> {
        let mut next = self.clone();
        for (update, from_us) in ours.clone().map(|u| (u, true)).chain(theirs.clone().map(|u| (u, false))) {
            if let Update::Add(add) = update {
                let balance = if from_us { &mut next.to_local_msat } else { &mut next.to_remote_msat };
                *balance = balance.checked_sub(add.amount_msat).ok_or(ReduceError::InsufficientBalance)?;
                next.htlcs.push(CommittedHtlc {
                    outgoing: from_us,
                    htlc_id: add.htlc_id,
                    amount_msat: add.amount_msat,
                    payment_hash: add.payment_hash,
                    cltv_expiry: add.cltv_expiry,
                });
            }
        }
        for (update, from_us) in ours.clone().map(|u| (u, true)).chain(theirs.clone().map(|u| (u, false))) {
            let Some(htlc_id) = update.removed_htlc_id() else { continue };
            // A removal sent by us is about an HTLC the counterparty offered.
            let outgoing = !from_us;
            let pos = next
                .htlcs
                .iter()
                .position(|h| h.outgoing == outgoing && h.htlc_id == htlc_id)
                .ok_or(ReduceError::UnknownHtlc(htlc_id))?;
            let htlc = next.htlcs.remove(pos);
            // A fulfill pays the remover; a fail refunds the offerer.
            let to_us = matches!(update, Update::Fulfill { .. }) == from_us;
            let balance = if to_us { &mut next.to_local_msat } else { &mut next.to_remote_msat };
            *balance = balance.checked_add(htlc.amount_msat).ok_or(ReduceError::InsufficientBalance)?;
        }
        for update in ours.chain(theirs) {
            if let Update::Fee { feerate_per_kw } = update {
                next.feerate_per_kw = *feerate_per_kw;
            }
        }
        Ok(next)
    }

    /// The BOLT 3 [`CommitmentSpec`] of this commitment as broadcast by us
    /// (`holder_is_broadcaster`) or by the counterparty.
    pub fn to_spec(
        &self, commitment_number: u64, holder_is_broadcaster: bool, dust_limit_satoshis: u64,
    ) -> CommitmentSpec {
        let (to_broadcaster, to_countersignatory) = if holder_is_broadcaster {
            (self.to_local_msat, self.to_remote_msat)
        } else {
            (self.to_remote_msat, self.to_local_msat)
        };
        CommitmentSpec {
            commitment_number,
            to_broadcaster_value_msat: to_broadcaster,
            to_countersignatory_value_msat: to_countersignatory,
            feerate_per_kw: self.feerate_per_kw,
            broadcaster_dust_limit_satoshis: dust_limit_satoshis,
            htlcs: self.htlcs.iter().map(|h| h.in_commitment(holder_is_broadcaster)).collect(),
        }
    }

    /// Sum of the HTLCs we offered, and of those the counterparty offered.
    pub fn in_flight_msat(&self) -> (u64, u64) {
        let mut outgoing = 0u64;
        let mut incoming = 0u64;
        for h in &self.htlcs {
            let sum = if h.outgoing { &mut outgoing } else { &mut incoming };
            *sum = sum.saturating_add(h.amount_msat);
        }
        (outgoing, incoming)
    }

    /// Number of HTLCs we offered, and that the counterparty offered.
    pub fn htlc_counts(&self) -> (usize, usize) {
        let outgoing = self.htlcs.iter().filter(|h| h.outgoing).count();
        (outgoing, self.htlcs.len() - outgoing)
    }
}

impl CommittedHtlc {
    /// The HTLC as BOLT 3 sees it on the commitment of one side.
    pub fn in_commitment(&self, holder_is_broadcaster: bool) -> HTLCOutputInCommitment {
        HTLCOutputInCommitment {
            direction: if self.outgoing == holder_is_broadcaster {
                HtlcDirection::Offered
            } else {
                HtlcDirection::Received
            },
            amount_msat: self.amount_msat,
            cltv_expiry: self.cltv_expiry,
            payment_hash: self.payment_hash,
            transaction_output_index: None,
        }
    }
}

/// Our current commitment, with the counterparty's signatures on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCommit {
    /// Its number.
    pub index: u64,
    /// What it holds.
    pub contents: CommitmentContents,
    /// The counterparty's signature.
    pub counterparty_sig: Signature,
    /// The counterparty's HTLC signatures, in output order.
    pub counterparty_htlc_sigs: Vec<Signature>,
}

/// The counterparty's current (or next, while unrevoked) commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCommit {
    /// Its number.
    pub index: u64,
    /// What it holds.
    pub contents: CommitmentContents,
    /// Its txid.
    pub txid: Txid,
    /// The counterparty's per-commitment point it is built on.
    pub per_commitment_point: PublicKey,
}

/// What we know of the counterparty's next commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteNextCommitInfo {
    /// Before its `channel_ready`, we do not know its next point.
    AwaitingChannelReady,
    /// We may sign its next commitment, built on this point.
    NextPoint(PublicKey),
    /// We signed `next` and wait for the counterparty to revoke its current
    /// commitment.
    WaitingForRevocation {
        /// The commitment we signed.
        next: RemoteCommit,
        /// Our local commitment number when we sent the signature (to order
        /// retransmissions after a reconnection).
        sent_after_local_commit_index: u64,
    },
}

/// Updates we sent, by stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalChanges {
    /// Sent, not yet covered by a `commitment_signed` of ours.
    pub proposed: Vec<Update>,
    /// Covered by our last `commitment_signed`, not yet revoked.
    pub signed: Vec<Update>,
    /// In the counterparty's commitment, not yet in ours.
    pub acked: Vec<Update>,
}

/// Updates the counterparty sent, by stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteChanges {
    /// Received, not yet covered by its `commitment_signed`.
    pub proposed: Vec<Update>,
    /// In our commitment (we revoked the previous one), not yet in its.
    pub acked: Vec<Update>,
    /// Covered by our `commitment_signed`, waiting for its revocation.
    pub signed: Vec<Update>,
}

/// Both commitments and every update in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitments {
    /// Our current commitment.
    pub local_commit: LocalCommit,
    /// The counterparty's current commitment.
    pub remote_commit: RemoteCommit,
    /// What comes next on the counterparty's side.
    pub remote_next: RemoteNextCommitInfo,
    /// Our updates.
    pub local_changes: LocalChanges,
    /// The counterparty's updates.
    pub remote_changes: RemoteChanges,
    /// The id of our next HTLC.
    pub local_next_htlc_id: u64,
    /// The id the counterparty's next HTLC must have.
    pub remote_next_htlc_id: u64,
    /// Where each HTLC we offered came from, by id.
    pub origins: BTreeMap<u64, HTLCSource>,
}

impl Commitments {
    /// Whether we have something to sign: our own proposals or the
    /// counterparty's updates already in our commitment.
    pub fn local_has_changes(&self) -> bool {
        !self.local_changes.proposed.is_empty() || !self.remote_changes.acked.is_empty()
    }

    /// Whether the counterparty has something to sign.
    pub fn remote_has_changes(&self) -> bool {
        !self.remote_changes.proposed.is_empty() || !self.local_changes.acked.is_empty()
    }

    /// The counterparty's latest commitment: the one we signed and wait to be
    /// revoked into, or its current one.
    pub fn latest_remote_commit(&self) -> &RemoteCommit {
        match &self.remote_next {
            RemoteNextCommitInfo::WaitingForRevocation { next, .. } => next,
            _ => &self.remote_commit,
        }
    }

    /// Whether nothing is in flight: no HTLC in either commitment and no
    /// update pending (what a closing negotiation needs).
    pub fn is_quiescent_and_empty(&self) -> bool {
        self.local_commit.contents.htlcs.is_empty()
            && self.remote_commit.contents.htlcs.is_empty()
            && matches!(self.remote_next, RemoteNextCommitInfo::NextPoint(_))
            && self.local_changes == LocalChanges::default()
            && self.remote_changes == RemoteChanges::default()
    }

    /// Whether an update removing the counterparty's HTLC `htlc_id` was
    /// already sent by us (at any stage).
    pub fn local_removal_pending(&self, htlc_id: u64) -> bool {
        let c = &self.local_changes;
        c.proposed.iter().chain(&c.signed).chain(&c.acked).any(|u| u.removed_htlc_id() == Some(htlc_id))
    }

    /// Whether the counterparty already sent a removal of our HTLC `htlc_id`.
    pub fn remote_removal_pending(&self, htlc_id: u64) -> bool {
        let c = &self.remote_changes;
        c.proposed.iter().chain(&c.acked).chain(&c.signed).any(|u| u.removed_htlc_id() == Some(htlc_id))
    }

    /// The HTLC with this id in both commitments (irrevocably committed on
    /// both sides): what a fulfill or fail must be about.
    pub fn cross_signed_htlc(&self, outgoing: bool, htlc_id: u64) -> Option<CommittedHtlc> {
        let find = |c: &CommitmentContents| {
            c.htlcs.iter().find(|h| h.outgoing == outgoing && h.htlc_id == htlc_id).copied()
        };
        let local = find(&self.local_commit.contents)?;
        find(&self.latest_remote_commit().contents)?;
        Some(local)
    }
}

// ---------------------------------------------------------------------------
// Serialization.

impl Writeable for AddHtlc {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.htlc_id.write(w)?;
        self.amount_msat.write(w)?;
        self.payment_hash.write(w)?;
        self.cltv_expiry.write(w)?;
        self.onion.write(w)?;
        self.blinding_point.is_some().write(w)?;
        if let Some(p) = &self.blinding_point {
            p.write(w)?;
        }
        Ok(())
    }
}

impl Readable for AddHtlc {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(AddHtlc {
            htlc_id: Readable::read(r)?,
            amount_msat: Readable::read(r)?,
            payment_hash: Readable::read(r)?,
            cltv_expiry: Readable::read(r)?,
            onion: Box::new(Readable::read(r)?),
            blinding_point: if bool::read(r)? { Some(Readable::read(r)?) } else { None },
        })
    }
}

impl Writeable for Update {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            Update::Add(add) => {
                0u8.write(w)?;
                add.write(w)
            }
            Update::Fulfill { htlc_id, payment_preimage } => {
                1u8.write(w)?;
                htlc_id.write(w)?;
                payment_preimage.write(w)
            }
            Update::Fail { htlc_id, reason } => {
                2u8.write(w)?;
                htlc_id.write(w)?;
                write_u16_len_bytes(w, reason)
            }
            Update::FailMalformed { htlc_id, sha256_of_onion, failure_code } => {
                3u8.write(w)?;
                htlc_id.write(w)?;
                sha256_of_onion.write(w)?;
                failure_code.write(w)
            }
            Update::Fee { feerate_per_kw } => {
                4u8.write(w)?;
                feerate_per_kw.write(w)
            }
        }
    }
}

impl Readable for Update {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(match u8::read(r)? {
            0 => Update::Add(Readable::read(r)?),
            1 => Update::Fulfill { htlc_id: Readable::read(r)?, payment_preimage: Readable::read(r)? },
            2 => Update::Fail { htlc_id: Readable::read(r)?, reason: read_u16_len_bytes(r)? },
            3 => Update::FailMalformed {
                htlc_id: Readable::read(r)?,
                sha256_of_onion: Readable::read(r)?,
                failure_code: Readable::read(r)?,
            },
            4 => Update::Fee { feerate_per_kw: Readable::read(r)? },
            _ => return Err(DecodeError::UnknownVersion),
        })
    }
}

impl Writeable for CommittedHtlc {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.outgoing.write(w)?;
        self.htlc_id.write(w)?;
        self.amount_msat.write(w)?;
        self.payment_hash.write(w)?;
        self.cltv_expiry.write(w)
    }
}

impl Readable for CommittedHtlc {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(CommittedHtlc {
            outgoing: Readable::read(r)?,
            htlc_id: Readable::read(r)?,
            amount_msat: Readable::read(r)?,
            payment_hash: Readable::read(r)?,
            cltv_expiry: Readable::read(r)?,
        })
    }
}

use super::ser::{read_vec, write_vec};

impl Writeable for CommitmentContents {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.to_local_msat.write(w)?;
        self.to_remote_msat.write(w)?;
        self.feerate_per_kw.write(w)?;
        write_vec(w, &self.htlcs)
    }
}

impl Readable for CommitmentContents {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(CommitmentContents {
            to_local_msat: Readable::read(r)?,
            to_remote_msat: Readable::read(r)?,
            feerate_per_kw: Readable::read(r)?,
            htlcs: read_vec(r)?,
        })
    }
}

impl Writeable for LocalCommit {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.index.write(w)?;
        self.contents.write(w)?;
        self.counterparty_sig.write(w)?;
        write_vec(w, &self.counterparty_htlc_sigs)
    }
}

impl Readable for LocalCommit {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(LocalCommit {
            index: Readable::read(r)?,
            contents: Readable::read(r)?,
            counterparty_sig: Readable::read(r)?,
            counterparty_htlc_sigs: read_vec(r)?,
        })
    }
}

impl Writeable for RemoteCommit {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.index.write(w)?;
        self.contents.write(w)?;
        self.txid.write(w)?;
        self.per_commitment_point.write(w)
    }
}

impl Readable for RemoteCommit {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(RemoteCommit {
            index: Readable::read(r)?,
            contents: Readable::read(r)?,
            txid: Readable::read(r)?,
            per_commitment_point: Readable::read(r)?,
        })
    }
}

impl Writeable for Commitments {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.local_commit.write(w)?;
        self.remote_commit.write(w)?;
        match &self.remote_next {
            RemoteNextCommitInfo::AwaitingChannelReady => 0u8.write(w)?,
            RemoteNextCommitInfo::NextPoint(p) => {
                1u8.write(w)?;
                p.write(w)?;
            }
            RemoteNextCommitInfo::WaitingForRevocation { next, sent_after_local_commit_index } => {
                2u8.write(w)?;
                next.write(w)?;
                sent_after_local_commit_index.write(w)?;
            }
        }
        for list in [
            &self.local_changes.proposed,
            &self.local_changes.signed,
            &self.local_changes.acked,
            &self.remote_changes.proposed,
            &self.remote_changes.acked,
            &self.remote_changes.signed,
        ] {
            write_vec(w, list)?;
        }
        self.local_next_htlc_id.write(w)?;
        self.remote_next_htlc_id.write(w)?;
        let origins: Vec<(u64, HTLCSource)> = self.origins.iter().map(|(k, v)| (*k, v.clone())).collect();
        write_vec(w, &origins)
    }
}

impl Readable for Commitments {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let local_commit = Readable::read(r)?;
        let remote_commit = Readable::read(r)?;
        let remote_next = match u8::read(r)? {
            0 => RemoteNextCommitInfo::AwaitingChannelReady,
            1 => RemoteNextCommitInfo::NextPoint(Readable::read(r)?),
            2 => RemoteNextCommitInfo::WaitingForRevocation {
                next: Readable::read(r)?,
                sent_after_local_commit_index: Readable::read(r)?,
            },
            _ => return Err(DecodeError::UnknownVersion),
        };
        let local_changes =
            LocalChanges { proposed: read_vec(r)?, signed: read_vec(r)?, acked: read_vec(r)? };
        let remote_changes =
            RemoteChanges { proposed: read_vec(r)?, acked: read_vec(r)?, signed: read_vec(r)? };
        let local_next_htlc_id = Readable::read(r)?;
        let remote_next_htlc_id = Readable::read(r)?;
        let origins: Vec<(u64, HTLCSource)> = read_vec(r)?;
        Ok(Commitments {
            local_commit,
            remote_commit,
            remote_next,
            local_changes,
            remote_changes,
            local_next_htlc_id,
            remote_next_htlc_id,
            origins: origins.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::onion::ONION_PACKET_LEN;

    fn add(id: u64, amount_msat: u64) -> Update {
        let mut bytes = vec![0u8; ONION_PACKET_LEN];
        bytes[1] = 2;
        let onion: OnionPacket = crate::util::ser::decode_exact(&bytes).unwrap();
        Update::Add(AddHtlc {
            htlc_id: id,
            amount_msat,
            payment_hash: PaymentHash([id as u8; 32]),
            cltv_expiry: 500,
            onion: Box::new(onion),
            blinding_point: None,
        })
    }

    fn contents() -> CommitmentContents {
        CommitmentContents {
            to_local_msat: 10_000,
            to_remote_msat: 5_000,
            feerate_per_kw: 253,
            htlcs: vec![],
        }
    }

    #[test]
    fn adds_then_removals_move_balances() {
        let c = contents();
        let ours = [add(0, 3_000)];
        let theirs = [add(0, 1_000)];
        let next = c.reduce(ours.iter(), theirs.iter()).unwrap();
        assert_eq!((next.to_local_msat, next.to_remote_msat, next.htlcs.len()), (7_000, 4_000, 2));
        // They fulfill our HTLC 0, we fail theirs.
        let theirs = [Update::Fulfill { htlc_id: 0, payment_preimage: PaymentPreimage([0; 32]) }];
        let ours = [Update::Fail { htlc_id: 0, reason: vec![] }, Update::Fee { feerate_per_kw: 1000 }];
        let settled = next.reduce(ours.iter(), theirs.iter()).unwrap();
        assert_eq!((settled.to_local_msat, settled.to_remote_msat), (7_000, 8_000));
        assert!(settled.htlcs.is_empty());
        assert_eq!(settled.feerate_per_kw, 1000);
        let total = |c: &CommitmentContents| {
            c.to_local_msat + c.to_remote_msat + c.in_flight_msat().0 + c.in_flight_msat().1
        };
        assert_eq!(total(&c), total(&next));
        assert_eq!(total(&c), total(&settled));
    }

    #[test]
    fn overspending_and_unknown_removals_fail() {
        let c = contents();
        assert_eq!(c.reduce([add(0, 10_001)].iter(), [].iter()), Err(ReduceError::InsufficientBalance));
        let fulfill = [Update::Fulfill { htlc_id: 7, payment_preimage: PaymentPreimage([0; 32]) }];
        assert_eq!(c.reduce([].iter(), fulfill.iter()), Err(ReduceError::UnknownHtlc(7)));
        // A removal in the same batch as its add is applied after it.
        let next = c.reduce([add(7, 1_000)].iter(), fulfill.iter()).unwrap();
        assert_eq!((next.to_local_msat, next.to_remote_msat), (9_000, 6_000));
    }
}
