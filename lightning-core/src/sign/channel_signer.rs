//! The per-channel signer traits: what a channel (and its monitor) asks of
//! the keys of one channel.
//!
//! Commitment numbers count up from 0, as in `channel_reestablish`
//! (`next_commitment_number - 1` is the latest); the signer converts them to
//! shachain indices itself.
//!
//! A signer enforces two rules of its own, so that a bug in the channel
//! cannot lose funds:
//! - it never signs (for broadcast) a holder commitment it has already
//!   revoked, nor an HTLC transaction spending one;
//! - it never releases the secret of a holder commitment before the next
//!   commitment has been validated with
//!   [`ChannelSigner::validate_holder_commitment`].

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::Transaction;

use super::SignError;
use crate::ln::chan_utils::{
    ChannelPublicKeys, ChannelTransactionParameters, ClosingTransaction, CommitmentTransaction,
    HTLCOutputInCommitment, HolderCommitmentTransaction, TxCreationKeys,
};
use crate::prelude::*;

/// The keys of one channel, and the commitment-secret bookkeeping.
pub trait ChannelSigner {
    /// Our public keys for this channel (sent in `open_channel` /
    /// `accept_channel`).
    fn pubkeys(&self) -> &ChannelPublicKeys;

    /// The id this signer was derived from.
    fn channel_keys_id(&self) -> [u8; 32];

    /// Gives the signer the channel's parameters once both sides' keys and the
    /// funding outpoint are known. Refused if our keys in `params` are not this
    /// signer's, or if different parameters were already provided.
    fn provide_channel_parameters(&mut self, params: &ChannelTransactionParameters) -> Result<(), SignError>;

    /// The channel's parameters, if provided.
    fn channel_parameters(&self) -> Option<&ChannelTransactionParameters>;

    /// Our per-commitment point for `commitment_number`.
    fn get_per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, SignError>;

    /// The keys of our commitment `commitment_number`, derived from our
    /// per-commitment point and both sides' basepoints (requires the channel
    /// parameters). The channel builds our commitments with these, so the
    /// signer's own check that a holder commitment is built on its keys
    /// finds keys it derived itself (and may have kept) instead of deriving
    /// them a second time.
    fn get_holder_tx_keys(&self, commitment_number: u64) -> Result<TxCreationKeys, SignError>;

    /// The keys of the counterparty's commitment built on its
    /// `per_commitment_point`, derived from it and both sides' basepoints
    /// (requires the channel parameters). The channel builds the
    /// counterparty's commitments with these, so the signer's check of every
    /// key before it countersigns finds keys it derived itself instead of
    /// deriving them a second time.
    fn get_counterparty_tx_keys(&self, per_commitment_point: &PublicKey)
        -> Result<TxCreationKeys, SignError>;

    /// Reveals the per-commitment secret of our commitment
    /// `commitment_number`, revoking it. Refused unless commitment
    /// `commitment_number + 1` has been validated.
    fn release_commitment_secret(&mut self, commitment_number: u64) -> Result<[u8; 32], SignError>;

    /// Checks a new holder commitment and the counterparty's signatures on it
    /// and its HTLC transactions (before we accept `commitment_signed`).
    /// Refused if it is not built on our own per-commitment point or was
    /// already revoked.
    fn validate_holder_commitment(
        &mut self, holder_tx: &HolderCommitmentTransaction,
    ) -> Result<(), SignError>;

    /// Records the counterparty's revocation of its commitment
    /// `commitment_number`; refused unless the secret matches the point of
    /// the commitment we signed with that number and derives the secrets it
    /// revealed before.
    fn validate_counterparty_revocation(
        &mut self, commitment_number: u64, secret: &SecretKey,
    ) -> Result<(), SignError>;

    /// The state the signer's policy keeps between calls, encoded, for the
    /// channel to persist (empty for a signer that keeps none, or keeps it
    /// elsewhere).
    fn policy_state_bytes(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restores what [`Self::policy_state_bytes`] returned, after the
    /// signer was derived again (on reload).
    fn restore_policy_state_bytes(&mut self, bytes: &[u8]) -> Result<(), SignError> {
        let _ = bytes;
        Ok(())
    }
}

/// ECDSA signatures for everything a channel and its monitor spend or sign.
pub trait EcdsaChannelSigner: ChannelSigner {
    /// Signs the counterparty's commitment transaction and its HTLC
    /// transactions (in output order): the contents of our
    /// `commitment_signed`. Refused for a commitment the counterparty already
    /// revoked, or signed before on another per-commitment point. The
    /// signer remembers the point, to check the revocation secret against
    /// it later.
    fn sign_counterparty_commitment(
        &mut self, commitment_tx: &CommitmentTransaction,
    ) -> Result<(Signature, Vec<Signature>), SignError>;

    /// Signs our own commitment for broadcast (force-close). Refused if we
    /// revoked it.
    fn sign_holder_commitment(&self, holder_tx: &HolderCommitmentTransaction)
        -> Result<Signature, SignError>;

    /// Signs input `input_index` of `htlc_tx`, our HTLC-timeout or
    /// HTLC-success transaction for `htlc` on our commitment
    /// `commitment_number`. Refused if that commitment is revoked.
    fn sign_holder_htlc_transaction(
        &self, htlc_tx: &Transaction, input_index: usize, commitment_number: u64,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `sweep_tx`, spending (after the CSV delay)
    /// the revocable output worth `amount_sat` of our commitment
    /// `commitment_number` (`to_local`) or of one of its HTLC transactions.
    fn sign_holder_delayed_output(
        &self, sweep_tx: &Transaction, input_index: usize, amount_sat: u64, commitment_number: u64,
    ) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `justice_tx`, spending with the revocation
    /// key the revocable output worth `amount_sat` (`to_local`, or an HTLC
    /// transaction's output) of the counterparty's revoked commitment whose
    /// secret is `per_commitment_key`.
    fn sign_justice_revoked_output(
        &self, justice_tx: &Transaction, input_index: usize, amount_sat: u64, per_commitment_key: &SecretKey,
    ) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `justice_tx`, spending with the revocation
    /// key `htlc`'s output on the counterparty's revoked commitment whose
    /// secret is `per_commitment_key`.
    fn sign_justice_revoked_htlc(
        &self, justice_tx: &Transaction, input_index: usize, per_commitment_key: &SecretKey,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `claim_tx`, claiming `htlc`'s output on
    /// the counterparty's commitment built on `per_commitment_point` (with the
    /// preimage if they offered it, after the timeout if we did).
    fn sign_counterparty_htlc_transaction(
        &self, claim_tx: &Transaction, input_index: usize, per_commitment_point: &PublicKey,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `sweep_tx`, spending our `to_remote`
    /// output worth `amount_sat` on the counterparty's commitment.
    fn sign_counterparty_payment_input(
        &self, sweep_tx: &Transaction, input_index: usize, amount_sat: u64,
    ) -> Result<Signature, SignError>;

    /// Signs a mutual-close transaction.
    fn sign_closing_transaction(&self, closing_tx: &ClosingTransaction) -> Result<Signature, SignError>;

    /// Signs input `input_index` of `anchor_tx`, spending our anchor output of
    /// our commitment (to bump its fee).
    fn sign_holder_anchor_input(
        &self, anchor_tx: &Transaction, input_index: usize,
    ) -> Result<Signature, SignError>;

    /// Signs the part of a `channel_announcement` its signatures cover (the
    /// bytes after the four signatures) with our funding key.
    fn sign_channel_announcement_with_funding_key(&self, signed_bytes: &[u8])
        -> Result<Signature, SignError>;
}
