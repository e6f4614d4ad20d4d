//! BOLT 3: keys, scripts, commitment, HTLC and closing transactions.
//!
//! Everything here is pure computation over public data (plus the private key
//! derivations the signer uses): nothing holds secrets. The signer in
//! [`crate::sign`] signs what these functions build.
//!
//! - [`keys`]: per-commitment points, key derivation, [`ChannelPublicKeys`],
//!   [`TxCreationKeys`].
//! - [`shachain`]: per-commitment secret generation and the compact storage
//!   of the counterparty's secrets.
//! - [`scripts`]: every output script.
//! - [`commitment`]: [`CommitmentTransaction`] (fee, trimming, ordering).
//! - [`htlc_tx`]: HTLC-timeout and HTLC-success transactions.
//! - [`closing`]: the mutual-close transaction.
//! - [`signing`]: sighashes, signatures and witnesses for these transactions.

pub mod closing;
pub mod commitment;
pub mod htlc_tx;
pub mod keys;
pub mod scripts;
mod ser;
pub mod shachain;
pub mod signing;

pub use closing::ClosingTransaction;
pub use commitment::{CommitmentSpec, CommitmentTransaction, HolderCommitmentTransaction};
pub use htlc_tx::{build_htlc_input_witness, build_htlc_transaction};
pub use keys::{
    derive_private_key, derive_private_key_with_basepoint, derive_private_revocation_key, derive_public_key,
    derive_public_revocation_key, per_commitment_point_from_secret, ChannelPublicKeys, InvalidSecret,
    TxCreationKeys,
};
pub use scripts::{
    get_anchor_redeemscript, get_htlc_redeemscript, get_offered_htlc_redeemscript,
    get_received_htlc_redeemscript, get_revokeable_redeemscript,
    get_to_countersignatory_with_anchors_redeemscript, make_funding_redeemscript, p2wpkh_script,
    to_countersignatory_script_pubkey,
};
pub use shachain::{
    build_commitment_secret, commitment_secret_index, CounterpartyCommitmentSecrets, SecretStorageError,
    INITIAL_COMMITMENT_SECRET_INDEX, MAX_COMMITMENT_NUMBER,
};

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::OutPoint;

use crate::ln::features::ChannelTypeFeatures;
use crate::ln::types::PaymentHash;

/// Expected weight of a commitment transaction without anchors and without
/// HTLC outputs.
pub const COMMITMENT_TX_BASE_WEIGHT: u64 = 724;
/// Expected weight of an anchors commitment transaction without HTLC outputs.
pub const COMMITMENT_TX_BASE_ANCHOR_WEIGHT: u64 = 1124;
/// Weight each untrimmed HTLC output adds to a commitment transaction.
pub const COMMITMENT_TX_WEIGHT_PER_HTLC: u64 = 172;
/// Expected weight of an HTLC-timeout transaction without anchors.
pub const HTLC_TIMEOUT_TX_WEIGHT: u64 = 663;
/// Expected weight of an HTLC-timeout transaction with anchors.
pub const HTLC_TIMEOUT_ANCHOR_TX_WEIGHT: u64 = 666;
/// Expected weight of an HTLC-success transaction without anchors.
pub const HTLC_SUCCESS_TX_WEIGHT: u64 = 703;
/// Expected weight of an HTLC-success transaction with anchors.
pub const HTLC_SUCCESS_ANCHOR_TX_WEIGHT: u64 = 706;
/// Value of each anchor output, in satoshis.
pub const ANCHOR_OUTPUT_VALUE_SATOSHI: u64 = 330;
/// The most HTLCs one side may offer (BOLT 2 `max_accepted_htlcs` bound).
pub const MAX_HTLCS: u16 = 483;

/// The commitment transaction formats this library builds, named by the
/// channel type that selects them. (`option_static_remotekey` is assumed by
/// BOLT 9, so the original format with a tweaked `remotepubkey` is not
/// supported.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitmentFormat {
    /// `option_static_remotekey`: `to_remote` is P2WPKH to the payment point,
    /// HTLC transactions pay their own fee.
    StaticRemoteKey,
    /// `option_anchors`: two 330-sat anchors, CSV-1 locked `to_remote` and
    /// HTLC outputs, zero-fee HTLC transactions signed by the countersignatory
    /// with `SIGHASH_SINGLE|SIGHASH_ANYONECANPAY`.
    AnchorsZeroFeeHtlcTx,
}

/// A channel type whose commitment format this library does not build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedChannelType;

impl core::fmt::Display for UnsupportedChannelType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("channel type has no supported commitment format")
    }
}

impl CommitmentFormat {
    /// The format a negotiated `channel_type` selects: anchors if
    /// `option_anchors` is set, otherwise static-remotekey (which must be set,
    /// or the type must be empty for a pre-`channel_type` channel, where BOLT 9
    /// assumes it). Any other bit (e.g. the legacy
    /// `option_anchor_outputs`) is refused.
    pub fn from_channel_type(channel_type: &ChannelTypeFeatures) -> Result<Self, UnsupportedChannelType> {
        use crate::ln::features::bits;
        const KNOWN: [usize; 4] =
            [bits::STATIC_REMOTE_KEY, bits::ANCHORS_ZERO_FEE_HTLC_TX, bits::SCID_ALIAS, bits::ZERO_CONF];
        let anchors = channel_type.supports_anchors_zero_fee_htlc_tx();
        for (i, byte) in channel_type.le_flags().iter().enumerate() {
            for bit in 0..8 {
                let index = i * 8 + bit;
                if byte & (1 << bit) != 0 && !KNOWN.contains(&(index & !1)) {
                    return Err(UnsupportedChannelType);
                }
            }
        }
        if anchors {
            if !channel_type.supports_static_remote_key() {
                return Err(UnsupportedChannelType);
            }
            Ok(CommitmentFormat::AnchorsZeroFeeHtlcTx)
        } else {
            Ok(CommitmentFormat::StaticRemoteKey)
        }
    }

    /// Whether this format has anchor outputs and zero-fee HTLC transactions.
    pub fn has_anchors(self) -> bool {
        matches!(self, CommitmentFormat::AnchorsZeroFeeHtlcTx)
    }

    /// The sighash type the countersignatory's HTLC-transaction signatures
    /// use.
    pub fn countersignatory_htlc_sighash_type(self) -> bitcoin::EcdsaSighashType {
        match self {
            CommitmentFormat::StaticRemoteKey => bitcoin::EcdsaSighashType::All,
            CommitmentFormat::AnchorsZeroFeeHtlcTx => bitcoin::EcdsaSighashType::SinglePlusAnyoneCanPay,
        }
    }
}

fn fee_for_weight(feerate_per_kw: u32, weight: u64) -> u64 {
    u64::from(feerate_per_kw).saturating_mul(weight) / 1000
}

/// The base fee of a commitment transaction with `num_untrimmed_htlcs` HTLC
/// outputs: `feerate_per_kw * weight / 1000`, rounded down.
pub fn commit_tx_fee_sat(feerate_per_kw: u32, num_untrimmed_htlcs: usize, format: CommitmentFormat) -> u64 {
    let base =
        if format.has_anchors() { COMMITMENT_TX_BASE_ANCHOR_WEIGHT } else { COMMITMENT_TX_BASE_WEIGHT };
    let weight =
        (num_untrimmed_htlcs as u64).saturating_mul(COMMITMENT_TX_WEIGHT_PER_HTLC).saturating_add(base);
    fee_for_weight(feerate_per_kw, weight)
}

/// The fee of an HTLC-timeout transaction (0 with anchors).
pub fn htlc_timeout_tx_fee_sat(feerate_per_kw: u32, format: CommitmentFormat) -> u64 {
    match format {
        CommitmentFormat::StaticRemoteKey => fee_for_weight(feerate_per_kw, HTLC_TIMEOUT_TX_WEIGHT),
        CommitmentFormat::AnchorsZeroFeeHtlcTx => 0,
    }
}

/// The fee of an HTLC-success transaction (0 with anchors).
pub fn htlc_success_tx_fee_sat(feerate_per_kw: u32, format: CommitmentFormat) -> u64 {
    match format {
        CommitmentFormat::StaticRemoteKey => fee_for_weight(feerate_per_kw, HTLC_SUCCESS_TX_WEIGHT),
        CommitmentFormat::AnchorsZeroFeeHtlcTx => 0,
    }
}

/// Whether an HTLC is offered or received, seen from the broadcaster of the
/// commitment transaction it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HtlcDirection {
    /// Offered by the broadcaster: it times out through an HTLC-timeout
    /// transaction, the countersignatory claims it with the preimage.
    Offered,
    /// Received by the broadcaster: it claims it through an HTLC-success
    /// transaction, the countersignatory takes it back after `cltv_expiry`.
    Received,
}

/// One HTLC as a commitment transaction sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HTLCOutputInCommitment {
    /// Offered or received by the broadcaster.
    pub direction: HtlcDirection,
    /// The HTLC amount; its output carries the amount rounded down to whole
    /// satoshis.
    pub amount_msat: u64,
    /// The block height at which the HTLC expires.
    pub cltv_expiry: u32,
    /// The payment hash the HTLC is locked to.
    pub payment_hash: PaymentHash,
    /// Index of the HTLC's output in the commitment transaction; `None` if
    /// trimmed (or not placed yet).
    pub transaction_output_index: Option<u32>,
}

impl HTLCOutputInCommitment {
    /// The HTLC amount in whole satoshis (rounded down).
    pub fn amount_sat(&self) -> u64 {
        self.amount_msat / 1000
    }

    /// The fee of the second-stage transaction that spends this HTLC on the
    /// broadcaster's side (HTLC-timeout if offered, HTLC-success if received).
    pub fn second_stage_fee_sat(&self, feerate_per_kw: u32, format: CommitmentFormat) -> u64 {
        match self.direction {
            HtlcDirection::Offered => htlc_timeout_tx_fee_sat(feerate_per_kw, format),
            HtlcDirection::Received => htlc_success_tx_fee_sat(feerate_per_kw, format),
        }
    }

    /// Whether BOLT 3 trims this HTLC: its amount minus the second-stage fee
    /// is below the broadcaster's dust limit.
    pub fn is_trimmed(
        &self, feerate_per_kw: u32, broadcaster_dust_limit_satoshis: u64, format: CommitmentFormat,
    ) -> bool {
        let threshold =
            broadcaster_dust_limit_satoshis.saturating_add(self.second_stage_fee_sat(feerate_per_kw, format));
        self.amount_sat() < threshold
    }
}

/// One side's parameters for the channel's transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSideParameters {
    /// The side's public keys.
    pub pubkeys: ChannelPublicKeys,
    /// The `to_self_delay` this side sent: how long the *other* side's
    /// `to_local` and HTLC-transaction outputs are delayed.
    pub selected_contest_delay: u16,
}

/// Everything about a channel that its commitment and HTLC transactions
/// depend on besides the per-commitment data: both sides' keys and delays,
/// who funded, the funding outpoint and value, and the channel type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelTransactionParameters {
    holder: ChannelSideParameters,
    counterparty: ChannelSideParameters,
    holder_is_funder: bool,
    funding_outpoint: OutPoint,
    channel_value_satoshis: u64,
    channel_type_features: ChannelTypeFeatures,
    format: CommitmentFormat,
}

impl ChannelTransactionParameters {
    /// Bundles the parameters; fails if the channel type selects no supported
    /// commitment format.
    pub fn new(
        holder: ChannelSideParameters, counterparty: ChannelSideParameters, holder_is_funder: bool,
        funding_outpoint: OutPoint, channel_value_satoshis: u64, channel_type_features: ChannelTypeFeatures,
    ) -> Result<Self, UnsupportedChannelType> {
        let format = CommitmentFormat::from_channel_type(&channel_type_features)?;
        Ok(ChannelTransactionParameters {
            holder,
            counterparty,
            holder_is_funder,
            funding_outpoint,
            channel_value_satoshis,
            channel_type_features,
            format,
        })
    }

    /// Our keys and delay.
    pub fn holder(&self) -> &ChannelSideParameters {
        &self.holder
    }
    /// The counterparty's keys and delay.
    pub fn counterparty(&self) -> &ChannelSideParameters {
        &self.counterparty
    }
    /// Whether we opened (funded) the channel and so pay the commitment fee.
    pub fn holder_is_funder(&self) -> bool {
        self.holder_is_funder
    }
    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.funding_outpoint
    }
    /// The funding output's value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.channel_value_satoshis
    }
    /// The negotiated channel type.
    pub fn channel_type_features(&self) -> &ChannelTypeFeatures {
        &self.channel_type_features
    }
    /// The commitment format the channel type selects.
    pub fn commitment_format(&self) -> CommitmentFormat {
        self.format
    }
    /// The 2-of-2 funding witness script.
    pub fn funding_redeemscript(&self) -> bitcoin::ScriptBuf {
        make_funding_redeemscript(
            &self.holder.pubkeys.funding_pubkey,
            &self.counterparty.pubkeys.funding_pubkey,
        )
    }

    /// The view for our own commitment transactions (we broadcast).
    pub fn as_holder_broadcastable(&self) -> DirectedChannelTransactionParameters<'_> {
        DirectedChannelTransactionParameters { inner: self, holder_is_broadcaster: true }
    }

    /// The view for the counterparty's commitment transactions.
    pub fn as_counterparty_broadcastable(&self) -> DirectedChannelTransactionParameters<'_> {
        DirectedChannelTransactionParameters { inner: self, holder_is_broadcaster: false }
    }
}

/// [`ChannelTransactionParameters`] seen from the broadcaster of one
/// commitment transaction.
#[derive(Clone, Copy, Debug)]
pub struct DirectedChannelTransactionParameters<'a> {
    inner: &'a ChannelTransactionParameters,
    holder_is_broadcaster: bool,
}

impl DirectedChannelTransactionParameters<'_> {
    /// The broadcaster's keys.
    pub fn broadcaster_pubkeys(&self) -> &ChannelPublicKeys {
        if self.holder_is_broadcaster {
            &self.inner.holder.pubkeys
        } else {
            &self.inner.counterparty.pubkeys
        }
    }
    /// The countersignatory's keys.
    pub fn countersignatory_pubkeys(&self) -> &ChannelPublicKeys {
        if self.holder_is_broadcaster {
            &self.inner.counterparty.pubkeys
        } else {
            &self.inner.holder.pubkeys
        }
    }
    /// The delay of the broadcaster's own outputs: the `to_self_delay` the
    /// countersignatory selected.
    pub fn contest_delay(&self) -> u16 {
        if self.holder_is_broadcaster {
            self.inner.counterparty.selected_contest_delay
        } else {
            self.inner.holder.selected_contest_delay
        }
    }
    /// Whether the broadcaster funded the channel (and pays fee and anchors).
    pub fn broadcaster_is_funder(&self) -> bool {
        self.holder_is_broadcaster == self.inner.holder_is_funder
    }
    /// Whether this is our own commitment.
    pub fn holder_is_broadcaster(&self) -> bool {
        self.holder_is_broadcaster
    }
    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.inner.funding_outpoint
    }
    /// The commitment format.
    pub fn commitment_format(&self) -> CommitmentFormat {
        self.inner.format
    }
    /// The underlying parameters.
    pub fn channel_parameters(&self) -> &ChannelTransactionParameters {
        self.inner
    }
    /// The 48-bit factor XORed into commitment numbers: the lower 48 bits of
    /// `SHA256(funder payment_basepoint || fundee payment_basepoint)`.
    pub fn commitment_number_obscure_factor(&self) -> u64 {
        let (funder, fundee) = if self.inner.holder_is_funder {
            (&self.inner.holder.pubkeys, &self.inner.counterparty.pubkeys)
        } else {
            (&self.inner.counterparty.pubkeys, &self.inner.holder.pubkeys)
        };
        commitment_number_obscure_factor(&funder.payment_point, &fundee.payment_point)
    }
}

/// The lower 48 bits of `SHA256(funder_payment_basepoint ||
/// fundee_payment_basepoint)`.
pub fn commitment_number_obscure_factor(
    funder_payment_basepoint: &bitcoin::secp256k1::PublicKey,
    fundee_payment_basepoint: &bitcoin::secp256k1::PublicKey,
) -> u64 {
    let mut engine = sha256::Hash::engine();
    engine.input(&funder_payment_basepoint.serialize());
    engine.input(&fundee_payment_basepoint.serialize());
    let hash = sha256::Hash::from_engine(engine).to_byte_array();
    let mut low = [0u8; 8];
    low[2..].copy_from_slice(&hash[26..]);
    u64::from_be_bytes(low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn formats_from_channel_types() {
        let mut ct = ChannelTypeFeatures::empty();
        assert_eq!(CommitmentFormat::from_channel_type(&ct), Ok(CommitmentFormat::StaticRemoteKey));
        ct.set_static_remote_key_required();
        assert_eq!(CommitmentFormat::from_channel_type(&ct), Ok(CommitmentFormat::StaticRemoteKey));
        ct.set_anchors_zero_fee_htlc_tx_required();
        assert_eq!(CommitmentFormat::from_channel_type(&ct), Ok(CommitmentFormat::AnchorsZeroFeeHtlcTx));
        let mut anchors_only = ChannelTypeFeatures::empty();
        anchors_only.set_anchors_zero_fee_htlc_tx_required();
        assert_eq!(CommitmentFormat::from_channel_type(&anchors_only), Err(UnsupportedChannelType));
        let unknown = ChannelTypeFeatures::from_le_bytes(vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(CommitmentFormat::from_channel_type(&unknown), Err(UnsupportedChannelType));
    }

    #[test]
    fn fees_follow_the_bolt3_weights() {
        assert_eq!(commit_tx_fee_sat(15000, 0, CommitmentFormat::StaticRemoteKey), 10860);
        assert_eq!(commit_tx_fee_sat(15000, 0, CommitmentFormat::AnchorsZeroFeeHtlcTx), 16860);
        assert_eq!(commit_tx_fee_sat(5000, 2, CommitmentFormat::StaticRemoteKey), 5340);
        assert_eq!(htlc_timeout_tx_fee_sat(5000, CommitmentFormat::AnchorsZeroFeeHtlcTx), 0);
        assert_eq!(htlc_success_tx_fee_sat(5000, CommitmentFormat::StaticRemoteKey), 3515);
        assert_eq!(
            commit_tx_fee_sat(u32::MAX, usize::MAX, CommitmentFormat::StaticRemoteKey),
            u64::MAX / 1000
        );
    }
}
