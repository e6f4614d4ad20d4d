//! v1 channel establishment (BOLT 2 "Channel Establishment v1"):
//! `open_channel` → `accept_channel` → `funding_created` →
//! `funding_signed`, with every check of the peer's proposal against our
//! [`ChannelHandshakeLimits`], and `channel_type` negotiation
//! (`option_static_remotekey` required, `option_anchors` supported).

use super::state::{CommitmentContents, Commitments, LocalCommit, RemoteCommit, RemoteNextCommitInfo};
use super::{close, signer_error, ChannelError, ChannelState, FundedChannel, SideParams};
use super::{MAX_FUNDING_SATOSHIS_NO_WUMBO, MIN_CHANNEL_RESERVE_SATOSHIS, MIN_DUST_LIMIT_SATOSHIS};
use crate::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use crate::chain::channelmonitor::ChannelMonitorUpdateStep;
use crate::ln::chan_utils::{
    ChannelPublicKeys, ChannelSideParameters, ChannelTransactionParameters, CommitmentFormat,
    HolderCommitmentTransaction, MAX_HTLCS,
};
use crate::ln::features::{ChannelTypeFeatures, InitFeatures};
use crate::ln::msgs::{AcceptChannel, FundingCreated, FundingSigned, OpenChannel};
use crate::ln::types::{ChannelId, ShortChannelId};
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;
use crate::util::config::{ChannelConfig, ChannelHandshakeConfig, ChannelHandshakeLimits, UserConfig};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{OutPoint, ScriptBuf, Transaction};

/// What both sides of an unfunded channel know.
struct Unfunded<S: EcdsaChannelSigner> {
    temporary_channel_id: ChannelId,
    user_channel_id: u128,
    counterparty_node_id: PublicKey,
    channel_value_satoshis: u64,
    push_msat: u64,
    feerate_per_kw: u32,
    signer: S,
    holder_params: SideParams,
    channel_type: ChannelTypeFeatures,
    config: ChannelConfig,
    announce_for_forwarding: bool,
    minimum_depth: u32,
}

/// What we learned of the counterparty in `open_channel`/`accept_channel`.
#[derive(Clone)]
struct CounterpartyInfo {
    params: SideParams,
    pubkeys: ChannelPublicKeys,
    first_per_commitment_point: PublicKey,
    upfront_shutdown_script: Option<ScriptBuf>,
}

/// A refused `funding_signed`: the channel as it was, and why.
pub type FundingSignedError<S> = Box<(OutboundV1Channel<S>, ChannelError)>;

/// A channel we are opening, before it is funded.
pub struct OutboundV1Channel<S: EcdsaChannelSigner> {
    inner: Unfunded<S>,
    counterparty: Option<CounterpartyInfo>,
    funding: Option<(OutPoint, Transaction, RemoteCommit)>,
}

/// A channel the counterparty is opening, before it is funded.
pub struct InboundV1Channel<S: EcdsaChannelSigner> {
    inner: Unfunded<S>,
    counterparty: CounterpartyInfo,
}

fn holder_params(
    config: &ChannelHandshakeConfig, channel_value_satoshis: u64, their_dust_limit_satoshis: u64,
) -> SideParams {
    let percent = u64::from(config.max_inbound_htlc_value_in_flight_percent_of_channel.clamp(1, 100));
    let proportional = channel_value_satoshis
        .saturating_mul(u64::from(config.their_channel_reserve_proportional_millionths))
        / 1_000_000;
    let dust_limit_satoshis = config.our_dust_limit_satoshis.max(MIN_DUST_LIMIT_SATOSHIS);
    SideParams {
        dust_limit_satoshis,
        max_htlc_value_in_flight_msat: channel_value_satoshis.saturating_mul(1000) * percent / 100,
        channel_reserve_satoshis: proportional
            .max(MIN_CHANNEL_RESERVE_SATOSHIS)
            .max(dust_limit_satoshis)
            .max(their_dust_limit_satoshis),
        htlc_minimum_msat: config.our_htlc_minimum_msat.max(1),
        max_accepted_htlcs: config.our_max_accepted_htlcs.clamp(1, MAX_HTLCS),
        to_self_delay: config.our_to_self_delay,
    }
}

/// Whether `script` is a shutdown script BOLT 2 allows (P2PKH, P2SH,
/// P2WPKH, P2WSH, or with `option_shutdown_anysegwit` any witness program
/// of version 1 to 16).
pub fn is_valid_shutdown_script(script: &ScriptBuf) -> bool {
    script.is_p2pkh() || script.is_p2sh() || script.is_p2wpkh() || script.is_p2wsh() || {
        script.witness_version().is_some_and(|v| v.to_num() >= 1)
            && (2..=40).contains(&(script.len().saturating_sub(2)))
    }
}

/// Checks the counterparty's limits against ours (shared by both
/// directions).
fn check_counterparty_params(
    theirs: &SideParams, ours: &SideParams, limits: &ChannelHandshakeLimits, channel_value_satoshis: u64,
) -> Result<(), ChannelError> {
    if theirs.to_self_delay > limits.their_to_self_delay {
        return close(format!(
            "to_self_delay {} exceeds our limit {}",
            theirs.to_self_delay, limits.their_to_self_delay
        ));
    }
    if theirs.max_accepted_htlcs == 0 || theirs.max_accepted_htlcs > MAX_HTLCS {
        return close(format!("max_accepted_htlcs {} is not in 1..=483", theirs.max_accepted_htlcs));
    }
    if theirs.max_accepted_htlcs < limits.min_max_accepted_htlcs {
        return close(format!("max_accepted_htlcs {} is below our minimum", theirs.max_accepted_htlcs));
    }
    if theirs.dust_limit_satoshis < MIN_DUST_LIMIT_SATOSHIS {
        return close(format!("dust_limit_satoshis {} is below 354", theirs.dust_limit_satoshis));
    }
    if theirs.dust_limit_satoshis > limits.max_dust_limit_satoshis {
        return close(format!(
            "dust_limit_satoshis {} exceeds our max_dust_limit_satoshis",
            theirs.dust_limit_satoshis
        ));
    }
    if theirs.htlc_minimum_msat > limits.max_htlc_minimum_msat {
        return close(format!(
            "htlc_minimum_msat {} exceeds our max_htlc_minimum_msat",
            theirs.htlc_minimum_msat
        ));
    }
    if theirs.htlc_minimum_msat >= channel_value_satoshis.saturating_mul(1000) {
        return close("htlc_minimum_msat is not below the channel value");
    }
    if theirs.max_htlc_value_in_flight_msat < limits.min_max_htlc_value_in_flight_msat {
        return close("max_htlc_value_in_flight_msat is below our minimum");
    }
    if theirs.channel_reserve_satoshis > limits.max_channel_reserve_satoshis {
        return close(format!(
            "channel_reserve_satoshis {} exceeds our max_channel_reserve_satoshis",
            theirs.channel_reserve_satoshis
        ));
    }
    if theirs.channel_reserve_satoshis > channel_value_satoshis {
        return close("channel_reserve_satoshis exceeds the channel value");
    }
    // Each side's reserve must cover the other's dust limit, or a side
    // could hold a balance that is below the reserve but not on chain.
    if theirs.channel_reserve_satoshis < ours.dust_limit_satoshis {
        return close("their channel_reserve_satoshis is below our dust_limit_satoshis");
    }
    if ours.channel_reserve_satoshis < theirs.dust_limit_satoshis {
        return close("their dust_limit_satoshis exceeds the reserve we require");
    }
    Ok(())
}

/// The channel type we accept for an inbound proposal (or refuse).
fn negotiate_inbound_channel_type(
    proposed: Option<&ChannelTypeFeatures>, config: &UserConfig, announce: bool,
) -> Result<ChannelTypeFeatures, ChannelError> {
    let Some(proposed) = proposed else {
        let mut ct = ChannelTypeFeatures::empty();
        ct.set_static_remote_key_required();
        return Ok(ct);
    };
    if proposed.requires_unknown_bits() || proposed.supports_unknown_bits() {
        return close("channel_type has unknown bits");
    }
    if CommitmentFormat::from_channel_type(proposed).is_err() || !proposed.requires_static_remote_key() {
        return close("channel_type must require option_static_remotekey");
    }
    if proposed.supports_anchors_zero_fee_htlc_tx()
        && !config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx
    {
        return close("we do not accept option_anchors channels");
    }
    if proposed.supports(crate::ln::features::bits::ZERO_CONF) {
        return close("we do not accept zero-conf channels");
    }
    if proposed.supports(crate::ln::features::bits::SCID_ALIAS) && announce {
        return close("option_scid_alias is only for unannounced channels");
    }
    Ok(proposed.clone())
}

fn initial_contents(
    is_outbound: bool, channel_value_satoshis: u64, push_msat: u64, feerate_per_kw: u32,
) -> CommitmentContents {
    let funder = channel_value_satoshis * 1000 - push_msat;
    let (to_local_msat, to_remote_msat) = if is_outbound { (funder, push_msat) } else { (push_msat, funder) };
    CommitmentContents { to_local_msat, to_remote_msat, feerate_per_kw, htlcs: Vec::new() }
}

/// Checks the funder can pay the first commitment's fee and that someone
/// has more than the reserve.
fn check_initial_balances(
    channel_value_satoshis: u64, push_msat: u64, feerate_per_kw: u32, channel_type: &ChannelTypeFeatures,
    funder_reserve_satoshis: u64, fundee_reserve_satoshis: u64,
) -> Result<(), ChannelError> {
    let format = CommitmentFormat::from_channel_type(channel_type)
        .map_err(|_| ChannelError::Close("unsupported channel type".into()))?;
    let anchors =
        if format.has_anchors() { 2 * crate::ln::chan_utils::ANCHOR_OUTPUT_VALUE_SATOSHI } else { 0 };
    let fee_msat = (crate::ln::chan_utils::commit_tx_fee_sat(feerate_per_kw, 0, format) + anchors) * 1000;
    let funder_msat = channel_value_satoshis * 1000 - push_msat;
    if funder_msat < fee_msat {
        return close("the funder cannot pay the first commitment's fee");
    }
    if funder_msat - fee_msat <= funder_reserve_satoshis * 1000 && push_msat <= fundee_reserve_satoshis * 1000
    {
        return close("neither side's balance is above its reserve");
    }
    Ok(())
}

impl<S: EcdsaChannelSigner> OutboundV1Channel<S> {
    /// A new channel to `counterparty_node_id` of `channel_value_satoshis`,
    /// giving it `push_msat`. `their_features` are the peer's `init`
    /// features (they decide the channel type).
    #[allow(clippy::too_many_arguments)]
    pub fn new<F: FeeEstimator + ?Sized>(
        fee_estimator: &F, signer: S, counterparty_node_id: PublicKey, their_features: &InitFeatures,
        channel_value_satoshis: u64, push_msat: u64, user_channel_id: u128, config: &UserConfig,
        temporary_channel_id: ChannelId,
    ) -> Result<Self, ChannelError> {
        if channel_value_satoshis > MAX_FUNDING_SATOSHIS_NO_WUMBO {
            return Err(ChannelError::Ignore("channel value exceeds 2^24 - 1 satoshis".into()));
        }
        if push_msat > channel_value_satoshis.saturating_mul(1000) {
            return Err(ChannelError::Ignore("push_msat exceeds the channel value".into()));
        }
        let mut channel_type = ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        let anchors = config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx
            && their_features.supports_anchors_zero_fee_htlc_tx();
        if anchors {
            channel_type.set_anchors_zero_fee_htlc_tx_required();
        }
        let target = if anchors {
            ConfirmationTarget::AnchorChannelFee
        } else {
            ConfirmationTarget::NonAnchorChannelFee
        };
        let feerate_per_kw =
            crate::chain::chaininterface::clamp_to_floor(fee_estimator.get_est_sat_per_1000_weight(target));
        let holder_params = holder_params(&config.channel_handshake_config, channel_value_satoshis, 0);
        check_initial_balances(channel_value_satoshis, push_msat, feerate_per_kw, &channel_type, 0, 0)
            .map_err(|e| ChannelError::Ignore(e.text().into()))?;
        Ok(OutboundV1Channel {
            inner: Unfunded {
                temporary_channel_id,
                user_channel_id,
                counterparty_node_id,
                channel_value_satoshis,
                push_msat,
                feerate_per_kw,
                signer,
                holder_params,
                channel_type,
                config: config.channel_config,
                announce_for_forwarding: config.channel_handshake_config.announce_for_forwarding,
                minimum_depth: config.channel_handshake_config.minimum_depth,
            },
            counterparty: None,
            funding: None,
        })
    }

    /// The temporary channel id.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.inner.temporary_channel_id
    }
    /// The peer.
    pub fn counterparty_node_id(&self) -> PublicKey {
        self.inner.counterparty_node_id
    }
    /// The user's id for the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.inner.user_channel_id
    }
    /// The channel's value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.inner.channel_value_satoshis
    }
    /// Whether `accept_channel` arrived.
    pub fn is_accepted(&self) -> bool {
        self.counterparty.is_some()
    }
    /// Whether `funding_created` was sent (waiting for `funding_signed`).
    pub fn is_funding_created(&self) -> bool {
        self.funding.is_some()
    }
    /// The funding transaction given by the user, once given.
    pub fn funding_transaction(&self) -> Option<&Transaction> {
        self.funding.as_ref().map(|(_, tx, _)| tx)
    }

    /// Our `open_channel`.
    pub fn get_open_channel(&self, chain_hash: ChainHash) -> Result<OpenChannel, ChannelError> {
        let i = &self.inner;
        let keys = i.signer.pubkeys();
        Ok(OpenChannel {
            chain_hash,
            temporary_channel_id: i.temporary_channel_id,
            funding_satoshis: i.channel_value_satoshis,
            push_msat: i.push_msat,
            dust_limit_satoshis: i.holder_params.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: i.holder_params.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: i.holder_params.channel_reserve_satoshis,
            htlc_minimum_msat: i.holder_params.htlc_minimum_msat,
            feerate_per_kw: i.feerate_per_kw,
            to_self_delay: i.holder_params.to_self_delay,
            max_accepted_htlcs: i.holder_params.max_accepted_htlcs,
            funding_pubkey: keys.funding_pubkey,
            revocation_basepoint: keys.revocation_basepoint,
            payment_basepoint: keys.payment_point,
            delayed_payment_basepoint: keys.delayed_payment_basepoint,
            htlc_basepoint: keys.htlc_basepoint,
            first_per_commitment_point: i.signer.get_per_commitment_point(0).map_err(signer_error)?,
            channel_flags: u8::from(i.announce_for_forwarding),
            shutdown_scriptpubkey: Some(ScriptBuf::new()),
            channel_type: Some(i.channel_type.clone()),
        })
    }

    /// Handles `accept_channel`: every check against `limits`.
    pub fn accept_channel(
        &mut self, msg: &AcceptChannel, limits: &ChannelHandshakeLimits,
    ) -> Result<(), ChannelError> {
        if self.counterparty.is_some() {
            return close("accept_channel received twice");
        }
        let i = &self.inner;
        if let Some(ct) = &msg.channel_type {
            if *ct != i.channel_type {
                return close("accept_channel's channel_type differs from the one we proposed");
            }
        } else if i.channel_type.supports_anchors_zero_fee_htlc_tx() {
            return close("accept_channel has no channel_type but we proposed option_anchors");
        }
        if msg.minimum_depth > limits.max_minimum_depth {
            return close(format!(
                "minimum_depth {} exceeds our limit {}",
                msg.minimum_depth, limits.max_minimum_depth
            ));
        }
        let theirs = SideParams {
            dust_limit_satoshis: msg.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: msg.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: msg.channel_reserve_satoshis,
            htlc_minimum_msat: msg.htlc_minimum_msat,
            max_accepted_htlcs: msg.max_accepted_htlcs,
            to_self_delay: msg.to_self_delay,
        };
        check_counterparty_params(&theirs, &i.holder_params, limits, i.channel_value_satoshis)?;
        let upfront = msg.shutdown_scriptpubkey.clone().filter(|s| !s.is_empty());
        if upfront.as_ref().is_some_and(|s| !is_valid_shutdown_script(s)) {
            return close("upfront_shutdown_script is not a standard script");
        }
        check_initial_balances(
            i.channel_value_satoshis,
            i.push_msat,
            i.feerate_per_kw,
            &i.channel_type,
            theirs.channel_reserve_satoshis,
            i.holder_params.channel_reserve_satoshis,
        )?;
        // Their minimum depth wins if larger; a zero depth is not trusted.
        self.inner.minimum_depth = self.inner.minimum_depth.max(msg.minimum_depth).max(1);
        self.counterparty = Some(CounterpartyInfo {
            params: theirs,
            pubkeys: ChannelPublicKeys {
                funding_pubkey: msg.funding_pubkey,
                revocation_basepoint: msg.revocation_basepoint,
                payment_point: msg.payment_basepoint,
                delayed_payment_basepoint: msg.delayed_payment_basepoint,
                htlc_basepoint: msg.htlc_basepoint,
            },
            first_per_commitment_point: msg.first_per_commitment_point,
            upfront_shutdown_script: upfront,
        });
        Ok(())
    }

    /// The script the funding output must pay (P2WSH of the 2-of-2), once
    /// `accept_channel` arrived.
    pub fn funding_output_script(&self) -> Option<ScriptBuf> {
        let theirs = self.counterparty.as_ref()?;
        Some(
            crate::ln::chan_utils::make_funding_redeemscript(
                &self.inner.signer.pubkeys().funding_pubkey,
                &theirs.pubkeys.funding_pubkey,
            )
            .to_p2wsh(),
        )
    }

    /// The user built `funding_tx`: finds the channel's output, signs the
    /// counterparty's first commitment, and returns `funding_created`.
    pub fn funding_transaction_generated(
        &mut self, secp_ctx: &Secp256k1<All>, funding_tx: Transaction,
    ) -> Result<FundingCreated, ChannelError> {
        if self.funding.is_some() {
            return Err(ChannelError::Ignore("funding transaction already given".into()));
        }
        let script =
            self.funding_output_script().ok_or(ChannelError::Ignore("channel not accepted yet".into()))?;
        let theirs =
            self.counterparty.clone().ok_or(ChannelError::Ignore("channel not accepted yet".into()))?;
        let value = self.inner.channel_value_satoshis;
        let mut outputs = funding_tx
            .output
            .iter()
            .enumerate()
            .filter(|(_, o)| o.script_pubkey == script && o.value.to_sat() == value);
        let (vout, _) = outputs.next().ok_or(ChannelError::Ignore("no output pays the channel".into()))?;
        if outputs.next().is_some() {
            return Err(ChannelError::Ignore("several outputs pay the channel".into()));
        }
        if funding_tx.input.iter().any(|i| i.witness.is_empty()) {
            return Err(ChannelError::Ignore("funding transaction must spend segwit inputs only".into()));
        }
        let vout16 =
            u16::try_from(vout).map_err(|_| ChannelError::Ignore("funding output index too large".into()))?;
        let outpoint = OutPoint { txid: funding_tx.compute_txid(), vout: u32::from(vout16) };
        let params = self.transaction_parameters(&theirs, outpoint)?;
        self.inner.signer.provide_channel_parameters(&params).map_err(signer_error)?;
        let i = &self.inner;
        let contents = initial_contents(true, value, i.push_msat, i.feerate_per_kw);
        let remote = sign_remote_commitment_zero(
            &mut self.inner.signer,
            secp_ctx,
            &params,
            &theirs,
            &self.inner.holder_params,
            contents,
        )?;
        let (remote_commit, signature) = remote;
        self.funding = Some((outpoint, funding_tx, remote_commit));
        Ok(FundingCreated {
            temporary_channel_id: self.inner.temporary_channel_id,
            funding_txid: outpoint.txid,
            funding_output_index: vout16,
            signature,
        })
    }

    fn transaction_parameters(
        &self, theirs: &CounterpartyInfo, outpoint: OutPoint,
    ) -> Result<ChannelTransactionParameters, ChannelError> {
        transaction_parameters(&self.inner, theirs, true, outpoint)
    }

    /// Handles `funding_signed`: checks the counterparty's signature on our
    /// first commitment and returns the funded channel with the steps its
    /// monitor starts from.
    pub fn funding_signed(
        self, secp_ctx: &Secp256k1<All>, msg: &FundingSigned, holder_scid_alias: ShortChannelId,
    ) -> Result<(FundedChannel<S>, Vec<ChannelMonitorUpdateStep>), FundingSignedError<S>> {
        let Some(outpoint) = self.funding.as_ref().map(|f| f.0) else {
            return Err(Box::new((
                self,
                ChannelError::Close("funding_signed before funding_created".into()),
            )));
        };
        if msg.channel_id != ChannelId::v1_from_funding_outpoint(outpoint.txid, outpoint.vout as u16) {
            return Err(Box::new((
                self,
                ChannelError::Close("funding_signed for another channel id".into()),
            )));
        }
        let OutboundV1Channel { inner, counterparty, funding } = self;
        let (Some(theirs), Some((outpoint, funding_tx, remote_commit))) = (counterparty, funding) else {
            return Err(Box::new((
                OutboundV1Channel { inner, counterparty: None, funding: None },
                ChannelError::Close("funding_signed in the wrong state".into()),
            )));
        };
        let result = finish_funding(
            inner,
            theirs,
            true,
            outpoint,
            secp_ctx,
            msg.signature,
            remote_commit,
            holder_scid_alias,
        );
        match result {
            Ok((mut chan, steps)) => {
                chan.funding_transaction = Some(funding_tx);
                Ok((chan, steps))
            }
            Err(err) => {
                let (inner, theirs, remote_commit, e) = *err;
                Err(Box::new((
                    OutboundV1Channel {
                        inner,
                        counterparty: Some(theirs),
                        funding: Some((outpoint, funding_tx, remote_commit)),
                    },
                    e,
                )))
            }
        }
    }
}

fn transaction_parameters<S: EcdsaChannelSigner>(
    inner: &Unfunded<S>, theirs: &CounterpartyInfo, is_outbound: bool, outpoint: OutPoint,
) -> Result<ChannelTransactionParameters, ChannelError> {
    ChannelTransactionParameters::new(
        ChannelSideParameters {
            pubkeys: *inner.signer.pubkeys(),
            selected_contest_delay: inner.holder_params.to_self_delay,
        },
        ChannelSideParameters {
            pubkeys: theirs.pubkeys,
            selected_contest_delay: theirs.params.to_self_delay,
        },
        is_outbound,
        outpoint,
        inner.channel_value_satoshis,
        inner.channel_type.clone(),
    )
    .map_err(|_| ChannelError::Close("unsupported channel type".into()))
}

/// Builds and signs the counterparty's commitment 0.
fn sign_remote_commitment_zero<S: EcdsaChannelSigner>(
    signer: &mut S, secp_ctx: &Secp256k1<All>, params: &ChannelTransactionParameters,
    theirs: &CounterpartyInfo, _ours: &SideParams, contents: CommitmentContents,
) -> Result<(RemoteCommit, bitcoin::secp256k1::ecdsa::Signature), ChannelError> {
    let keys = crate::ln::chan_utils::TxCreationKeys::derive_new(
        secp_ctx,
        &theirs.first_per_commitment_point,
        &theirs.pubkeys,
        &params.holder().pubkeys,
    );
    let spec = contents.to_spec(0, false, theirs.params.dust_limit_satoshis);
    let tx = crate::ln::chan_utils::CommitmentTransaction::build(
        spec,
        keys,
        &params.as_counterparty_broadcastable(),
    );
    let (sig, _) = signer.sign_counterparty_commitment(&tx).map_err(signer_error)?;
    Ok((
        RemoteCommit {
            index: 0,
            contents,
            txid: tx.txid(),
            per_commitment_point: theirs.first_per_commitment_point,
        },
        sig,
    ))
}

type FinishError<S> = Box<(Unfunded<S>, CounterpartyInfo, RemoteCommit, ChannelError)>;

/// Checks the counterparty's signature on our commitment 0 and builds the
/// funded channel.
#[allow(clippy::too_many_arguments)]
fn finish_funding<S: EcdsaChannelSigner>(
    mut inner: Unfunded<S>, theirs: CounterpartyInfo, is_outbound: bool, outpoint: OutPoint,
    secp_ctx: &Secp256k1<All>, counterparty_sig: bitcoin::secp256k1::ecdsa::Signature,
    remote_commit: RemoteCommit, holder_scid_alias: ShortChannelId,
) -> Result<(FundedChannel<S>, Vec<ChannelMonitorUpdateStep>), FinishError<S>> {
    let params = match transaction_parameters(&inner, &theirs, is_outbound, outpoint) {
        Ok(p) => p,
        Err(e) => return Err(Box::new((inner, theirs, remote_commit, e))),
    };
    let contents =
        initial_contents(is_outbound, inner.channel_value_satoshis, inner.push_msat, inner.feerate_per_kw);
    let point = match inner.signer.get_per_commitment_point(0) {
        Ok(p) => p,
        Err(e) => return Err(Box::new((inner, theirs, remote_commit, signer_error(e)))),
    };
    let keys = crate::ln::chan_utils::TxCreationKeys::derive_new(
        secp_ctx,
        &point,
        &params.holder().pubkeys,
        &theirs.pubkeys,
    );
    let spec = contents.to_spec(0, true, inner.holder_params.dust_limit_satoshis);
    let tx = crate::ln::chan_utils::CommitmentTransaction::build(
        spec.clone(),
        keys,
        &params.as_holder_broadcastable(),
    );
    let holder = match HolderCommitmentTransaction::new(tx, counterparty_sig, Vec::new()) {
        Ok(h) => h,
        Err(e) => return Err(Box::new((inner, theirs, remote_commit, ChannelError::Close(format!("{e}"))))),
    };
    if let Err(e) = inner.signer.validate_holder_commitment(&holder) {
        return Err(Box::new((
            inner,
            theirs,
            remote_commit,
            ChannelError::Close(format!("invalid funding signature: {e}")),
        )));
    }
    let remote_spec = remote_commit.contents.to_spec(0, false, theirs.params.dust_limit_satoshis);
    let steps = vec![
        ChannelMonitorUpdateStep::LatestHolderCommitment {
            spec,
            per_commitment_point: point,
            counterparty_sig,
            counterparty_htlc_sigs: Vec::new(),
            htlc_sources: Vec::new(),
        },
        ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
            commitment_txid: remote_commit.txid,
            spec: remote_spec,
            their_per_commitment_point: remote_commit.per_commitment_point,
            htlc_sources: Vec::new(),
        },
    ];
    let channel_id = ChannelId::v1_from_funding_outpoint(outpoint.txid, outpoint.vout as u16);
    let chan = FundedChannel {
        channel_id,
        temporary_channel_id: inner.temporary_channel_id,
        user_channel_id: inner.user_channel_id,
        counterparty_node_id: inner.counterparty_node_id,
        is_outbound,
        channel_value_satoshis: inner.channel_value_satoshis,
        signer: inner.signer,
        params,
        holder_params: inner.holder_params,
        counterparty_params: theirs.params,
        channel_type: inner.channel_type,
        minimum_depth: inner.minimum_depth,
        config: inner.config,
        announce_for_forwarding: inner.announce_for_forwarding,
        holder_shutdown_script: None,
        counterparty_upfront_shutdown_script: theirs.upfront_shutdown_script,
        funding_transaction: None,
        funding_confirmed_at: None,
        short_channel_id: None,
        holder_scid_alias,
        counterparty_scid_alias: None,
        holder_channel_ready_sent: false,
        counterparty_channel_ready_received: false,
        state: ChannelState::AwaitingChannelReady,
        commitments: Commitments {
            local_commit: LocalCommit {
                index: 0,
                contents,
                counterparty_sig,
                counterparty_htlc_sigs: Vec::new(),
            },
            remote_commit,
            remote_next: RemoteNextCommitInfo::AwaitingChannelReady,
            local_changes: Default::default(),
            remote_changes: Default::default(),
            local_next_htlc_id: 0,
            remote_next_htlc_id: 0,
            origins: BTreeMap::new(),
        },
        close_state: Default::default(),
        holding_cell: Vec::new(),
        peer_connected: true,
        latest_monitor_update_id: crate::chain::channelmonitor::INITIAL_UPDATE_ID,
        last_counterparty_secret: [0; 32],
        lost_state: false,
    };
    Ok((chan, steps))
}

impl<S: EcdsaChannelSigner> InboundV1Channel<S> {
    /// Handles `open_channel`: every check against our limits and config.
    #[allow(clippy::too_many_arguments)]
    pub fn new<F: FeeEstimator + ?Sized>(
        fee_estimator: &F, signer: S, counterparty_node_id: PublicKey, msg: &OpenChannel,
        our_chain_hash: ChainHash, user_channel_id: u128, config: &UserConfig,
    ) -> Result<Self, ChannelError> {
        let limits = &config.channel_handshake_limits;
        if msg.chain_hash != our_chain_hash {
            return close("open_channel for another chain");
        }
        if msg.funding_satoshis < limits.min_funding_satoshis {
            return close(format!("funding_satoshis {} is below our minimum", msg.funding_satoshis));
        }
        if msg.funding_satoshis > limits.max_funding_satoshis
            || msg.funding_satoshis > MAX_FUNDING_SATOSHIS_NO_WUMBO
        {
            return close(format!("funding_satoshis {} exceeds our maximum", msg.funding_satoshis));
        }
        if msg.push_msat > msg.funding_satoshis * 1000 {
            return close("push_msat exceeds the channel value");
        }
        let announce = msg.channel_flags & 1 == 1;
        let channel_type = negotiate_inbound_channel_type(msg.channel_type.as_ref(), config, announce)?;
        let theirs = SideParams {
            dust_limit_satoshis: msg.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: msg.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: msg.channel_reserve_satoshis,
            htlc_minimum_msat: msg.htlc_minimum_msat,
            max_accepted_htlcs: msg.max_accepted_htlcs,
            to_self_delay: msg.to_self_delay,
        };
        if msg.dust_limit_satoshis > msg.channel_reserve_satoshis {
            return close("dust_limit_satoshis is greater than channel_reserve_satoshis");
        }
        let mut holder =
            holder_params(&config.channel_handshake_config, msg.funding_satoshis, msg.dust_limit_satoshis);
        // Our dust limit may not exceed the reserve they ask of us.
        holder.dust_limit_satoshis =
            holder.dust_limit_satoshis.min(msg.channel_reserve_satoshis).max(MIN_DUST_LIMIT_SATOSHIS);
        check_counterparty_params(&theirs, &holder, limits, msg.funding_satoshis)?;
        let upfront = msg.shutdown_scriptpubkey.clone().filter(|s| !s.is_empty());
        if upfront.as_ref().is_some_and(|s| !is_valid_shutdown_script(s)) {
            return close("upfront_shutdown_script is not a standard script");
        }
        let fake = FeeCheck {
            format_anchors: channel_type.supports_anchors_zero_fee_htlc_tx(),
            config: config.channel_config,
        };
        fake.check(fee_estimator, msg.feerate_per_kw)?;
        check_initial_balances(
            msg.funding_satoshis,
            msg.push_msat,
            msg.feerate_per_kw,
            &channel_type,
            holder.channel_reserve_satoshis,
            theirs.channel_reserve_satoshis,
        )?;
        Ok(InboundV1Channel {
            inner: Unfunded {
                temporary_channel_id: msg.temporary_channel_id,
                user_channel_id,
                counterparty_node_id,
                channel_value_satoshis: msg.funding_satoshis,
                push_msat: msg.push_msat,
                feerate_per_kw: msg.feerate_per_kw,
                signer,
                holder_params: holder,
                channel_type,
                config: config.channel_config,
                announce_for_forwarding: announce,
                minimum_depth: config.channel_handshake_config.minimum_depth.max(1),
            },
            counterparty: CounterpartyInfo {
                params: theirs,
                pubkeys: ChannelPublicKeys {
                    funding_pubkey: msg.funding_pubkey,
                    revocation_basepoint: msg.revocation_basepoint,
                    payment_point: msg.payment_basepoint,
                    delayed_payment_basepoint: msg.delayed_payment_basepoint,
                    htlc_basepoint: msg.htlc_basepoint,
                },
                first_per_commitment_point: msg.first_per_commitment_point,
                upfront_shutdown_script: upfront,
            },
        })
    }

    /// The temporary channel id.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.inner.temporary_channel_id
    }
    /// The peer.
    pub fn counterparty_node_id(&self) -> PublicKey {
        self.inner.counterparty_node_id
    }
    /// The channel's value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.inner.channel_value_satoshis
    }
    /// The id the user gave the channel when accepting it (0 before).
    pub fn user_channel_id(&self) -> u128 {
        self.inner.user_channel_id
    }
    /// What the funder pushes to us.
    pub fn push_msat(&self) -> u64 {
        self.inner.push_msat
    }
    /// The negotiated channel type.
    pub fn channel_type(&self) -> &ChannelTypeFeatures {
        &self.inner.channel_type
    }
    /// Sets the user's id for the channel (at manual acceptance).
    pub fn set_user_channel_id(&mut self, user_channel_id: u128) {
        self.inner.user_channel_id = user_channel_id;
    }

    /// Our `accept_channel`.
    pub fn get_accept_channel(&self) -> Result<AcceptChannel, ChannelError> {
        let i = &self.inner;
        let keys = i.signer.pubkeys();
        Ok(AcceptChannel {
            temporary_channel_id: i.temporary_channel_id,
            dust_limit_satoshis: i.holder_params.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: i.holder_params.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: i.holder_params.channel_reserve_satoshis,
            htlc_minimum_msat: i.holder_params.htlc_minimum_msat,
            minimum_depth: i.minimum_depth,
            to_self_delay: i.holder_params.to_self_delay,
            max_accepted_htlcs: i.holder_params.max_accepted_htlcs,
            funding_pubkey: keys.funding_pubkey,
            revocation_basepoint: keys.revocation_basepoint,
            payment_basepoint: keys.payment_point,
            delayed_payment_basepoint: keys.delayed_payment_basepoint,
            htlc_basepoint: keys.htlc_basepoint,
            first_per_commitment_point: i.signer.get_per_commitment_point(0).map_err(signer_error)?,
            shutdown_scriptpubkey: Some(ScriptBuf::new()),
            channel_type: Some(i.channel_type.clone()),
        })
    }

    /// Handles `funding_created`: checks the funder's signature on our first
    /// commitment, signs its first commitment, and returns the funded
    /// channel, our `funding_signed` and the steps its monitor starts from.
    pub fn funding_created(
        mut self, secp_ctx: &Secp256k1<All>, msg: &FundingCreated, holder_scid_alias: ShortChannelId,
    ) -> Result<(FundedChannel<S>, FundingSigned, Vec<ChannelMonitorUpdateStep>), ChannelError> {
        let outpoint = OutPoint { txid: msg.funding_txid, vout: u32::from(msg.funding_output_index) };
        let params = transaction_parameters(&self.inner, &self.counterparty, false, outpoint)?;
        self.inner.signer.provide_channel_parameters(&params).map_err(signer_error)?;
        let contents = initial_contents(
            false,
            self.inner.channel_value_satoshis,
            self.inner.push_msat,
            self.inner.feerate_per_kw,
        );
        let (remote_commit, signature) = sign_remote_commitment_zero(
            &mut self.inner.signer,
            secp_ctx,
            &params,
            &self.counterparty,
            &self.inner.holder_params,
            contents,
        )?;
        let (chan, steps) = finish_funding(
            self.inner,
            self.counterparty,
            false,
            outpoint,
            secp_ctx,
            msg.signature,
            remote_commit,
            holder_scid_alias,
        )
        .map_err(|err| err.3)?;
        let funding_signed = FundingSigned { channel_id: chan.channel_id, signature };
        Ok((chan, funding_signed, steps))
    }
}

/// Feerate sanity of an `open_channel`.
struct FeeCheck {
    format_anchors: bool,
    config: ChannelConfig,
}

impl FeeCheck {
    fn check<F: FeeEstimator + ?Sized>(
        &self, fee_estimator: &F, feerate_per_kw: u32,
    ) -> Result<(), ChannelError> {
        if feerate_per_kw < crate::chain::chaininterface::FEERATE_FLOOR_SATS_PER_KW {
            return close(format!("feerate_per_kw {feerate_per_kw} is below the relay floor"));
        }
        if !self.format_anchors {
            let min = fee_estimator
                .get_est_sat_per_1000_weight(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee);
            let floor =
                u64::from(min) * u64::from(100 - self.config.max_feerate_undershoot_percent.min(100)) / 100;
            if u64::from(feerate_per_kw) < floor {
                return close(format!("feerate_per_kw {feerate_per_kw} is too low (our estimate {min})"));
            }
        }
        let max = fee_estimator.get_est_sat_per_1000_weight(ConfirmationTarget::MaximumFeeEstimate);
        if u64::from(feerate_per_kw)
            > u64::from(max).saturating_mul(u64::from(self.config.max_feerate_overshoot_multiplier.max(1)))
        {
            return close(format!("feerate_per_kw {feerate_per_kw} is too high (our estimate {max})"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_scripts_bolt2_allows() {
        let p2wpkh = ScriptBuf::from_bytes([&[0x00, 20][..], &[1; 20]].concat());
        let p2wsh = ScriptBuf::from_bytes([&[0x00, 32][..], &[1; 32]].concat());
        let p2tr = ScriptBuf::from_bytes([&[0x51, 32][..], &[1; 32]].concat());
        let p2pkh = ScriptBuf::from_bytes([&[0x76, 0xa9, 20][..], &[1; 20], &[0x88, 0xac]].concat());
        let p2sh = ScriptBuf::from_bytes([&[0xa9, 20][..], &[1; 20], &[0x87]].concat());
        for ok in [p2wpkh, p2wsh, p2tr, p2pkh, p2sh] {
            assert!(is_valid_shutdown_script(&ok), "{ok:?}");
        }
        let op_true = ScriptBuf::from_bytes(vec![0x51]);
        let v0_bad_len = ScriptBuf::from_bytes([&[0x00, 21][..], &[1; 21]].concat());
        let v1_too_short = ScriptBuf::from_bytes(vec![0x51, 1, 1]);
        let op_return = ScriptBuf::from_bytes(vec![0x6a, 1, 2]);
        for bad in [op_true, v0_bad_len, v1_too_short, op_return, ScriptBuf::new()] {
            assert!(!is_valid_shutdown_script(&bad), "{bad:?}");
        }
    }

    #[test]
    fn holder_params_respect_minimums() {
        let config = ChannelHandshakeConfig {
            our_dust_limit_satoshis: 100,
            our_max_accepted_htlcs: 1000,
            their_channel_reserve_proportional_millionths: 0,
            ..Default::default()
        };
        let p = holder_params(&config, 50_000, 700);
        assert_eq!(p.dust_limit_satoshis, MIN_DUST_LIMIT_SATOSHIS);
        assert_eq!(p.max_accepted_htlcs, MAX_HTLCS);
        // The reserve covers 1000 sat, our dust limit and theirs.
        assert_eq!(p.channel_reserve_satoshis, 1000);
        let p = holder_params(&config, 50_000, 5000);
        assert_eq!(p.channel_reserve_satoshis, 5000);
        assert_eq!(p.max_htlc_value_in_flight_msat, 50_000_000);
    }
}
