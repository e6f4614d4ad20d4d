//! What a monitor knows about its channel, and how updates change it.
//!
//! An update is applied in two phases: every step is first checked against
//! the current state (plus what the earlier steps of the same update would
//! change) and turned into a ready-to-apply form; only if every step passes
//! is the state changed, by code that cannot fail. So a refused update leaves
//! the monitor exactly as it was, and what is persisted always matches what
//! is in memory.

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::{BlockHash, ScriptBuf, Transaction, Txid};

use super::onchain::OnchainTxHandler;
use super::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCSource, MonitorEvent, MonitorUpdateError,
    CLOSED_CHANNEL_UPDATE_ID, INITIAL_UPDATE_ID,
};
use crate::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use crate::chain::BestBlock;
use crate::ln::chan_utils::commitment::{CommitmentSpec, CommitmentTransaction, HolderCommitmentTransaction};
use crate::ln::chan_utils::{
    commitment_secret_index, ChannelTransactionParameters, CommitmentFormat, CounterpartyCommitmentSecrets,
    HTLCOutputInCommitment, SecretStorageError, TxCreationKeys,
};
use crate::ln::types::{ChannelId, PaymentHash, PaymentPreimage};
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use crate::util::logger::Logger;
use crate::{log_error, log_info};

/// Why a counterparty revocation secret was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationSecretError {
    /// The commitment number is beyond the 48-bit commitment number space.
    CommitmentNumberOutOfRange,
    /// The 32 bytes are not a valid secp256k1 secret key.
    NotASecretKey,
    /// The secret's point is not the per-commitment point of the counterparty
    /// commitment with that number.
    DoesNotMatchPoint,
    /// The secret does not derive the secrets received before it (BOLT 3
    /// shachain): the peer is lying or broken.
    DoesNotDeriveEarlierSecrets,
    /// Secrets must arrive in order, one commitment after the other.
    OutOfOrder,
}

impl core::fmt::Display for RevocationSecretError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RevocationSecretError::CommitmentNumberOutOfRange => "commitment number out of range",
            RevocationSecretError::NotASecretKey => "not a valid secret key",
            RevocationSecretError::DoesNotMatchPoint => {
                "does not match the commitment's per-commitment point"
            }
            RevocationSecretError::DoesNotDeriveEarlierSecrets => "does not derive the earlier secrets",
            RevocationSecretError::OutOfOrder => "received out of order",
        })
    }
}

/// What spent the funding output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FundingSpendKind {
    /// One of our commitments.
    HolderCommitment {
        /// Its commitment number.
        commitment_number: u64,
        /// Whether it is our latest one (otherwise the one before, which we
        /// may not have revoked yet).
        is_latest: bool,
    },
    /// One of the counterparty's unrevoked commitments.
    CounterpartyCommitment {
        /// Its commitment number.
        commitment_number: u64,
    },
    /// A counterparty commitment it had revoked: a breach, to punish with a
    /// justice transaction.
    RevokedCounterpartyCommitment {
        /// Its commitment number.
        commitment_number: u64,
    },
    /// A transaction shaped like a commitment (BOLT 3 locktime and sequence
    /// markers) that the monitor does not know; the number is decoded from
    /// its obscured commitment number.
    UnknownCommitment {
        /// The decoded commitment number.
        commitment_number: u64,
    },
    /// Not a commitment: a cooperative close.
    NotACommitment,
}

impl FundingSpendKind {
    /// Whether the spend is a commitment transaction (a force-close).
    pub fn is_commitment(&self) -> bool {
        !matches!(self, FundingSpendKind::NotACommitment)
    }
}

/// The confirmed transaction that spent the funding output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingSpend {
    /// Its txid.
    pub txid: Txid,
    /// The height of the block it confirmed in.
    pub height: u32,
    /// That block's hash.
    pub block_hash: BlockHash,
    /// What it is.
    pub kind: FundingSpendKind,
}

/// The HTLCs of `spec` with their output indices cleared, so equal
/// commitments compare and serialize equal.
fn canonical(mut spec: CommitmentSpec) -> CommitmentSpec {
    spec.htlcs.iter_mut().for_each(|h| h.transaction_output_index = None);
    spec
}

/// The HTLCs of `spec` that get an output (BOLT 3 trimming), without
/// building the transaction.
pub(crate) fn untrimmed_htlcs<'a>(
    spec: &'a CommitmentSpec, format: CommitmentFormat,
) -> impl Iterator<Item = &'a HTLCOutputInCommitment> + 'a {
    spec.htlcs
        .iter()
        .filter(move |h| !h.is_trimmed(spec.feerate_per_kw, spec.broadcaster_dust_limit_satoshis, format))
}

/// One of our commitments, as received in a
/// [`ChannelMonitorUpdateStep::LatestHolderCommitment`].
///
/// Applying an update does not rebuild the commitment (that costs five
/// elliptic-curve multiplications for the keys): the channel built and
/// validated it already. The txid is computed the first time it is needed
/// (a funding spend to classify, a caller asking) and cached.
#[derive(Clone, Debug)]
pub(crate) struct HolderCommitment {
    /// What it commits to (HTLC output indices cleared).
    pub(crate) spec: CommitmentSpec,
    pub(crate) per_commitment_point: PublicKey,
    pub(crate) counterparty_sig: Signature,
    pub(crate) counterparty_htlc_sigs: Vec<Signature>,
    pub(crate) htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    /// Computed on first use, not persisted.
    txid: Option<Txid>,
}

fn build_holder_commitment(
    secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters, spec: CommitmentSpec,
    per_commitment_point: &PublicKey,
) -> CommitmentTransaction {
    let keys = TxCreationKeys::derive_new(
        secp_ctx,
        per_commitment_point,
        &params.holder().pubkeys,
        &params.counterparty().pubkeys,
    );
    CommitmentTransaction::build(spec, keys, &params.as_holder_broadcastable())
}

fn build_counterparty_commitment(
    secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters, spec: CommitmentSpec,
    per_commitment_point: &PublicKey,
) -> CommitmentTransaction {
    let keys = TxCreationKeys::derive_new(
        secp_ctx,
        per_commitment_point,
        &params.counterparty().pubkeys,
        &params.holder().pubkeys,
    );
    CommitmentTransaction::build(spec, keys, &params.as_counterparty_broadcastable())
}

impl HolderCommitment {
    /// Checks that there is one counterparty HTLC signature per HTLC output.
    pub(crate) fn from_parts(
        params: &ChannelTransactionParameters, spec: CommitmentSpec, per_commitment_point: PublicKey,
        counterparty_sig: Signature, counterparty_htlc_sigs: Vec<Signature>,
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    ) -> Result<Self, MonitorUpdateError> {
        if untrimmed_htlcs(&spec, params.commitment_format()).count() != counterparty_htlc_sigs.len() {
            return Err(MonitorUpdateError::Invalid(
                "holder commitment: counterparty HTLC signature count differs from its HTLC outputs",
            ));
        }
        Ok(HolderCommitment {
            spec: canonical(spec),
            per_commitment_point,
            counterparty_sig,
            counterparty_htlc_sigs,
            htlc_sources,
            txid: None,
        })
    }

    /// Whether `self` and `other` are the same commitment (the signatures
    /// may differ if the peer's signer is not deterministic).
    pub(crate) fn same_commitment(&self, spec: &CommitmentSpec, per_commitment_point: &PublicKey) -> bool {
        let ours = &self.spec;
        self.per_commitment_point == *per_commitment_point
            && ours.commitment_number == spec.commitment_number
            && ours.to_broadcaster_value_msat == spec.to_broadcaster_value_msat
            && ours.to_countersignatory_value_msat == spec.to_countersignatory_value_msat
            && ours.feerate_per_kw == spec.feerate_per_kw
            && ours.broadcaster_dust_limit_satoshis == spec.broadcaster_dust_limit_satoshis
            && ours.htlcs.len() == spec.htlcs.len()
            && ours
                .htlcs
                .iter()
                .zip(spec.htlcs.iter())
                .all(|(a, b)| *a == HTLCOutputInCommitment { transaction_output_index: None, ..*b })
    }

    /// The commitment's txid (rebuilt the first time).
    pub(crate) fn txid(&mut self, secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters) -> Txid {
        match self.txid {
            Some(txid) => txid,
            None => {
                let txid =
                    build_holder_commitment(secp_ctx, params, self.spec.clone(), &self.per_commitment_point)
                        .txid();
                self.txid = Some(txid);
                txid
            }
        }
    }

    /// Rebuilds the commitment, checks the counterparty's signatures on it
    /// and its HTLC transactions, and caches the txid (when a monitor is read
    /// back).
    pub(crate) fn verify_counterparty_signatures(
        &mut self, secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters,
    ) -> bool {
        let Ok(holder_tx) = self.to_holder_commitment_transaction(secp_ctx, params) else { return false };
        self.txid = Some(holder_tx.commitment().txid());
        crate::ln::chan_utils::signing::verify_holder_commitment_signatures(
            secp_ctx,
            &holder_tx,
            &params.funding_redeemscript(),
            params.channel_value_satoshis(),
            &params.counterparty().pubkeys.funding_pubkey,
        )
        .is_ok()
    }

    /// The commitment with the counterparty's signatures, rebuilt.
    pub(crate) fn to_holder_commitment_transaction(
        &self, secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters,
    ) -> Result<HolderCommitmentTransaction, MonitorUpdateError> {
        let commitment =
            build_holder_commitment(secp_ctx, params, self.spec.clone(), &self.per_commitment_point);
        HolderCommitmentTransaction::new(
            commitment,
            self.counterparty_sig,
            self.counterparty_htlc_sigs.clone(),
        )
        .map_err(|_| MonitorUpdateError::Invalid("holder commitment no longer rebuilds"))
    }
}

/// One of the counterparty's unrevoked commitments (keyed by the txid the
/// channel gives; a rebuild checks it in debug builds and when a monitor is
/// read back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CounterpartyCommitment {
    /// What it commits to (HTLC output indices cleared).
    pub(crate) spec: CommitmentSpec,
    pub(crate) per_commitment_point: PublicKey,
    pub(crate) htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
}

impl CounterpartyCommitment {
    pub(crate) fn new(
        spec: CommitmentSpec, per_commitment_point: PublicKey,
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    ) -> Self {
        CounterpartyCommitment { spec: canonical(spec), per_commitment_point, htlc_sources }
    }

    /// The txid of the commitment, rebuilt.
    pub(crate) fn build_txid(
        &self, secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters,
    ) -> Txid {
        build_counterparty_commitment(secp_ctx, params, self.spec.clone(), &self.per_commitment_point).txid()
    }
}

/// What the monitor keeps of a counterparty commitment once it is revoked:
/// enough to punish it if it confirms (its number gives the secret, hence the
/// revocation key and the per-commitment point; the HTLC outputs' scripts
/// need their hashes and expiries, and are matched to the outputs of the
/// confirmed transaction then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RevokedCounterpartyCommitment {
    pub(crate) commitment_number: u64,
    /// Only the untrimmed HTLCs (output indices cleared).
    pub(crate) nondust_htlcs: Vec<HTLCOutputInCommitment>,
}

/// Everything a monitor holds, behind its lock.
pub(crate) struct MonitorState<Signer> {
    pub(crate) signer: Signer,
    pub(crate) secp_ctx: Secp256k1<All>,
    pub(crate) channel_id: ChannelId,
    pub(crate) counterparty_node_id: PublicKey,
    pub(crate) channel_parameters: ChannelTransactionParameters,
    pub(crate) destination_script: ScriptBuf,
    pub(crate) best_block: BestBlock,
    pub(crate) latest_update_id: u64,

    pub(crate) holder_commitment: Option<HolderCommitment>,
    pub(crate) prev_holder_commitment: Option<HolderCommitment>,
    pub(crate) counterparty_commitments: BTreeMap<Txid, CounterpartyCommitment>,
    pub(crate) revoked_counterparty_commitments: BTreeMap<Txid, RevokedCounterpartyCommitment>,
    pub(crate) counterparty_secrets: CounterpartyCommitmentSecrets,
    pub(crate) payment_preimages: BTreeMap<PaymentHash, PaymentPreimage>,
    pub(crate) counterparty_shutdown_script: Option<ScriptBuf>,

    /// A `ChannelForceClosed` step was applied.
    pub(crate) force_closed: bool,
    /// False after `ChannelForceClosed { should_broadcast: false }`: the
    /// monitor must not broadcast our commitment by itself (e.g. after data
    /// loss, it could be revoked).
    pub(crate) automatic_broadcast_allowed: bool,
    /// The closing transaction of a cooperative close
    /// ([`ChannelMonitorUpdateStep::CooperativeClose`]): the channel is
    /// closed, and the transaction is rebroadcast until the funding output
    /// is spent.
    pub(crate) cooperative_closing_tx: Option<Transaction>,
    /// The funding output was seen spent (sticky across reorgs: the channel
    /// is closed for good).
    pub(crate) funding_spend_seen: bool,
    /// [`MonitorEvent::CommitmentTxConfirmed`] was queued.
    pub(crate) commitment_confirmed_reported: bool,
    pub(crate) funding_spend: Option<FundingSpend>,
    pub(crate) onchain: OnchainTxHandler,

    pub(crate) pending_events: Vec<MonitorEvent>,
    pub(crate) initial_steps_error: Option<MonitorUpdateError>,
    /// Chain data changed what must be persisted (not persisted itself).
    pub(crate) chain_sync_dirty: bool,
}

/// A checked step, ready to apply.
enum PreparedStep {
    Holder(Box<HolderCommitment>),
    Counterparty(Txid, Box<CounterpartyCommitment>),
    Preimage(PaymentPreimage),
    Secret { commitment_number: u64 },
    ForceClosed { should_broadcast: bool },
    ShutdownScript(ScriptBuf),
    CooperativeClose(Box<Transaction>),
    Unchanged,
}

/// The result of checking a whole update.
struct PreparedUpdate {
    steps: Vec<PreparedStep>,
    /// The secret storage after the update's secrets, if it has any.
    secrets: Option<CounterpartyCommitmentSecrets>,
}

fn secret_error(e: SecretStorageError) -> MonitorUpdateError {
    MonitorUpdateError::InvalidRevocationSecret(match e {
        SecretStorageError::DoesNotDeriveKnownSecrets => RevocationSecretError::DoesNotDeriveEarlierSecrets,
        SecretStorageError::OutOfOrder => RevocationSecretError::OutOfOrder,
    })
}

/// How many secrets a storage holds: commitments numbered below it are
/// revoked.
pub(crate) fn revoked_count(secrets: &CounterpartyCommitmentSecrets) -> u64 {
    (1u64 << 48) - secrets.get_min_seen_secret()
}

impl<Signer> MonitorState<Signer> {
    pub(crate) fn new(
        signer: Signer, channel_id: ChannelId, counterparty_node_id: PublicKey,
        channel_parameters: ChannelTransactionParameters, destination_script: ScriptBuf,
        best_block: BestBlock,
    ) -> Self {
        MonitorState {
            signer,
            secp_ctx: Secp256k1::new(),
            channel_id,
            counterparty_node_id,
            channel_parameters,
            destination_script,
            best_block,
            latest_update_id: INITIAL_UPDATE_ID,
            holder_commitment: None,
            prev_holder_commitment: None,
            counterparty_commitments: BTreeMap::new(),
            revoked_counterparty_commitments: BTreeMap::new(),
            counterparty_secrets: CounterpartyCommitmentSecrets::new(),
            payment_preimages: BTreeMap::new(),
            counterparty_shutdown_script: None,
            force_closed: false,
            automatic_broadcast_allowed: true,
            cooperative_closing_tx: None,
            funding_spend_seen: false,
            commitment_confirmed_reported: false,
            funding_spend: None,
            onchain: OnchainTxHandler::default(),
            pending_events: Vec::new(),
            initial_steps_error: None,
            chain_sync_dirty: false,
        }
    }

    /// Whether the channel is closed as far as the monitor knows.
    pub(crate) fn is_closed(&self) -> bool {
        self.force_closed
            || self.cooperative_closing_tx.is_some()
            || self.funding_spend_seen
            || self.onchain.holder_commitment_broadcast().is_some()
    }

    /// The txid of our latest (or previous) commitment, rebuilt the first
    /// time.
    pub(crate) fn holder_txid(&mut self, previous: bool) -> Option<Txid> {
        let MonitorState { holder_commitment, prev_holder_commitment, secp_ctx, channel_parameters, .. } =
            self;
        let commitment = if previous { prev_holder_commitment } else { holder_commitment };
        commitment.as_mut().map(|c| c.txid(secp_ctx, channel_parameters))
    }

    pub(crate) fn counterparty_revoked_count(&self) -> u64 {
        revoked_count(&self.counterparty_secrets)
    }

    /// Applies the steps given at creation. They may not close the channel
    /// (there is nothing to broadcast with yet).
    pub(crate) fn apply_initial_steps(
        &mut self, steps: &[ChannelMonitorUpdateStep],
    ) -> Result<(), MonitorUpdateError> {
        if steps.iter().any(|s| s.closes_channel()) {
            return Err(MonitorUpdateError::Invalid("a monitor cannot be created closed"));
        }
        let prepared = self.prepare(steps)?;
        let _no_force_close = self.commit_without_broadcast(prepared);
        Ok(())
    }

    /// Checks every step; changes nothing.
    fn prepare(&self, steps: &[ChannelMonitorUpdateStep]) -> Result<PreparedUpdate, MonitorUpdateError> {
        let params = &self.channel_parameters;
        let mut closed = self.is_closed();
        // Counterparty commitments this update adds: (txid, number, point).
        let mut new_counterparty: Vec<(Txid, u64, PublicKey)> = Vec::new();
        let mut secrets: Option<CounterpartyCommitmentSecrets> = None;
        let mut prepared = Vec::with_capacity(steps.len());

        for step in steps {
            let ready = match step {
                ChannelMonitorUpdateStep::LatestHolderCommitment {
                    spec,
                    per_commitment_point,
                    counterparty_sig,
                    counterparty_htlc_sigs,
                    htlc_sources,
                } => {
                    if closed {
                        return Err(MonitorUpdateError::CommitmentAfterClose);
                    }
                    let number = spec.commitment_number;
                    // The latest holder commitment as of the steps checked so far.
                    let tip = prepared
                        .iter()
                        .rev()
                        .find_map(|p| match p {
                            PreparedStep::Holder(c) => Some(&**c),
                            _ => None,
                        })
                        .or(self.holder_commitment.as_ref());
                    match tip {
                        Some(tip) if tip.same_commitment(spec, per_commitment_point) => {
                            PreparedStep::Unchanged
                        }
                        Some(tip) if number == tip.spec.commitment_number => {
                            return Err(MonitorUpdateError::Invalid(
                                "holder commitment: a different commitment with the same number",
                            ))
                        }
                        Some(tip) if number < tip.spec.commitment_number => {
                            return Err(MonitorUpdateError::Invalid(
                                "holder commitment number went backwards",
                            ))
                        }
                        _ => {
                            let commitment = HolderCommitment::from_parts(
                                params,
                                spec.clone(),
                                *per_commitment_point,
                                *counterparty_sig,
                                counterparty_htlc_sigs.clone(),
                                htlc_sources.clone(),
                            )?;
                            PreparedStep::Holder(Box::new(commitment))
                        }
                    }
                }
                ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                    commitment_txid,
                    spec,
                    their_per_commitment_point,
                    htlc_sources,
                } => {
                    if closed {
                        return Err(MonitorUpdateError::CommitmentAfterClose);
                    }
                    let txid = *commitment_txid;
                    let commitment = CounterpartyCommitment::new(
                        spec.clone(),
                        *their_per_commitment_point,
                        htlc_sources.clone(),
                    );
                    // The channel built this txid from the same data; checking it
                    // costs a rebuild (five EC multiplications), so only debug
                    // builds (the test suites) do it on every update. Reading a
                    // monitor back always checks.
                    if cfg!(debug_assertions) && commitment.build_txid(&self.secp_ctx, params) != txid {
                        return Err(MonitorUpdateError::Invalid(
                            "counterparty commitment: txid does not match the commitment built from its spec",
                        ));
                    }
                    let number = commitment.spec.commitment_number;
                    let known = self.counterparty_commitments.contains_key(&txid)
                        || new_counterparty.iter().any(|(t, _, _)| *t == txid);
                    let revoked_below = revoked_count(secrets.as_ref().unwrap_or(&self.counterparty_secrets));
                    let highest_live = self
                        .counterparty_commitments
                        .values()
                        .map(|c| c.spec.commitment_number)
                        .chain(new_counterparty.iter().map(|(_, n, _)| *n))
                        .max();
                    if known {
                        PreparedStep::Unchanged
                    } else if number < revoked_below
                        || self.revoked_counterparty_commitments.contains_key(&txid)
                    {
                        return Err(MonitorUpdateError::Invalid("counterparty commitment already revoked"));
                    } else if highest_live.is_some_and(|h| number <= h) {
                        return Err(MonitorUpdateError::Invalid(
                            "counterparty commitment number is not above the unrevoked ones",
                        ));
                    } else {
                        new_counterparty.push((txid, number, *their_per_commitment_point));
                        PreparedStep::Counterparty(txid, Box::new(commitment))
                    }
                }
                ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage } => {
                    PreparedStep::Preimage(*payment_preimage)
                }
                ChannelMonitorUpdateStep::CommitmentSecret { commitment_number, secret } => {
                    let index = commitment_secret_index(*commitment_number).ok_or(
                        MonitorUpdateError::InvalidRevocationSecret(
                            RevocationSecretError::CommitmentNumberOutOfRange,
                        ),
                    )?;
                    let key = SecretKey::from_slice(secret).map_err(|_| {
                        MonitorUpdateError::InvalidRevocationSecret(RevocationSecretError::NotASecretKey)
                    })?;
                    let scratch = secrets.get_or_insert_with(|| self.counterparty_secrets.clone());
                    if scratch.get_secret(index) == Some(*secret) {
                        // A retransmitted revocation.
                        PreparedStep::Unchanged
                    } else {
                        let point = self
                            .counterparty_commitments
                            .values()
                            .filter(|c| c.spec.commitment_number == *commitment_number)
                            .map(|c| c.per_commitment_point)
                            .chain(
                                new_counterparty
                                    .iter()
                                    .filter(|(_, n, _)| n == commitment_number)
                                    .map(|(_, _, p)| *p),
                            )
                            .next();
                        if let Some(point) = point {
                            if PublicKey::from_secret_key(&self.secp_ctx, &key) != point {
                                return Err(MonitorUpdateError::InvalidRevocationSecret(
                                    RevocationSecretError::DoesNotMatchPoint,
                                ));
                            }
                        }
                        scratch.provide_secret(index, *secret).map_err(secret_error)?;
                        PreparedStep::Secret { commitment_number: *commitment_number }
                    }
                }
                ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast } => {
                    closed = true;
                    PreparedStep::ForceClosed { should_broadcast: *should_broadcast }
                }
                ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey } => {
                    PreparedStep::ShutdownScript(scriptpubkey.clone())
                }
                ChannelMonitorUpdateStep::CooperativeClose { closing_tx } => {
                    let funding = params.funding_outpoint();
                    if closing_tx.input.len() != 1 || closing_tx.input[0].previous_output != funding {
                        return Err(MonitorUpdateError::Invalid(
                            "cooperative closing transaction does not spend exactly the funding output",
                        ));
                    }
                    let recorded = prepared
                        .iter()
                        .rev()
                        .find_map(|p| match p {
                            PreparedStep::CooperativeClose(tx) => Some(&**tx),
                            _ => None,
                        })
                        .or(self.cooperative_closing_tx.as_ref());
                    closed = true;
                    match recorded {
                        Some(tx) if tx == closing_tx => PreparedStep::Unchanged,
                        Some(_) => {
                            return Err(MonitorUpdateError::Invalid(
                                "another cooperative closing transaction is already recorded",
                            ))
                        }
                        None => PreparedStep::CooperativeClose(Box::new(closing_tx.clone())),
                    }
                }
            };
            prepared.push(ready);
        }
        Ok(PreparedUpdate { steps: prepared, secrets })
    }

    /// Applies checked steps. Returns `Some(should_broadcast)` if a
    /// `ChannelForceClosed` step was applied (the broadcast is left to the
    /// caller, which has the signer bound).
    fn commit_without_broadcast(&mut self, prepared: PreparedUpdate) -> Option<bool> {
        if let Some(secrets) = prepared.secrets {
            self.counterparty_secrets = secrets;
        }
        let mut force_close = None;
        let mut revoked = false;
        for step in prepared.steps {
            match step {
                PreparedStep::Holder(commitment) => {
                    self.prev_holder_commitment = self.holder_commitment.replace(*commitment);
                }
                PreparedStep::Counterparty(txid, commitment) => {
                    self.counterparty_commitments.insert(txid, *commitment);
                }
                PreparedStep::Preimage(preimage) => {
                    self.payment_preimages.insert(preimage.payment_hash(), preimage);
                }
                PreparedStep::Secret { commitment_number } => {
                    self.counterparty_revoked(commitment_number);
                    revoked = true;
                }
                PreparedStep::ForceClosed { should_broadcast } => {
                    self.force_closed = true;
                    if !should_broadcast {
                        self.automatic_broadcast_allowed = false;
                    }
                    force_close = Some(should_broadcast);
                }
                PreparedStep::ShutdownScript(script) => self.counterparty_shutdown_script = Some(script),
                PreparedStep::CooperativeClose(tx) => self.cooperative_closing_tx = Some(*tx),
                PreparedStep::Unchanged => {}
            }
        }
        // After the whole update, so a commitment replaced in the same update
        // no longer holds a preimage alive.
        if revoked && !self.is_closed() {
            self.prune_preimages();
        }
        force_close
    }

    /// The counterparty revoked its commitments up to `commitment_number`:
    /// keep only what punishing them needs.
    fn counterparty_revoked(&mut self, commitment_number: u64) {
        let revoked: Vec<Txid> = self
            .counterparty_commitments
            .iter()
            .filter(|(_, c)| c.spec.commitment_number <= commitment_number)
            .map(|(txid, _)| *txid)
            .collect();
        for txid in revoked {
            if let Some(c) = self.counterparty_commitments.remove(&txid) {
                let format = self.channel_parameters.commitment_format();
                let nondust_htlcs = untrimmed_htlcs(&c.spec, format).copied().collect();
                self.revoked_counterparty_commitments.insert(
                    txid,
                    RevokedCounterpartyCommitment {
                        commitment_number: c.spec.commitment_number,
                        nondust_htlcs,
                    },
                );
            }
        }
    }

    /// Drops preimages whose HTLC is in none of the commitments that can
    /// still confirm without being punished.
    fn prune_preimages(&mut self) {
        let mut in_use: BTreeSet<PaymentHash> = BTreeSet::new();
        let holder = self.holder_commitment.iter().chain(self.prev_holder_commitment.iter());
        for spec in holder.map(|c| &c.spec).chain(self.counterparty_commitments.values().map(|c| &c.spec)) {
            in_use.extend(spec.htlcs.iter().map(|h| h.payment_hash));
        }
        self.payment_preimages.retain(|hash, _| in_use.contains(hash));
    }
}

impl<Signer: EcdsaChannelSigner> MonitorState<Signer> {
    pub(crate) fn update_monitor(
        &mut self, update: &ChannelMonitorUpdate, broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
    ) -> Result<(), MonitorUpdateError> {
        if let Some(e) = &self.initial_steps_error {
            return Err(e.clone());
        }
        if update.channel_id != self.channel_id {
            return Err(MonitorUpdateError::WrongChannel);
        }
        if update.update_id == CLOSED_CHANNEL_UPDATE_ID {
            let closes_now = update.updates.iter().any(|s| s.closes_channel());
            if !self.is_closed() && !closes_now {
                return Err(MonitorUpdateError::Invalid("closed-channel update for an open channel"));
            }
            let only_post_close_steps = update.updates.iter().all(|s| {
                matches!(
                    s,
                    ChannelMonitorUpdateStep::ChannelForceClosed { .. }
                        | ChannelMonitorUpdateStep::CooperativeClose { .. }
                        | ChannelMonitorUpdateStep::PaymentPreimage { .. }
                )
            });
            if !only_post_close_steps {
                return Err(MonitorUpdateError::Invalid(
                    "closed-channel update carries a step other than a close or a preimage",
                ));
            }
        } else {
            match self.latest_update_id.checked_add(1) {
                Some(expected) if expected == update.update_id => {}
                Some(expected) => {
                    return Err(MonitorUpdateError::OutOfOrder { expected, got: update.update_id })
                }
                None => {
                    return Err(MonitorUpdateError::Invalid(
                        "only closed-channel updates follow a closed-channel update",
                    ))
                }
            }
        }
        let prepared = self.prepare(&update.updates)?;
        self.latest_update_id = update.update_id;
        match self.commit_without_broadcast(prepared) {
            Some(true) => {
                if let Err(e) = self.broadcast_latest_holder_commitment(broadcaster, fee_estimator, logger) {
                    log_error!(
                        logger,
                        channel = Some(self.channel_id),
                        "Force-closed but could not broadcast our commitment: {e}"
                    );
                }
            }
            Some(false) => log_info!(
                logger,
                channel = Some(self.channel_id),
                "Force-closed without broadcasting our commitment"
            ),
            None => {}
        }
        Ok(())
    }
}
