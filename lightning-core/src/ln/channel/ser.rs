//! Serialization of a [`FundedChannel`], for the `ChannelManager` to persist.
//! The signer is not written: on reload it is derived again from its
//! `channel_keys_id` and its policy state restored from the bytes stored
//! here.

use super::close::CloseState;
use super::state::{Commitments, Update};
use super::{ChannelState, FundedChannel, SideParams};
use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::sign::{EcdsaChannelSigner, SignerProvider};
use crate::util::config::ChannelConfig;
use crate::util::ser::{read_bytes, read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use bitcoin::{ScriptBuf, Transaction};

const CHANNEL_SERIALIZATION_VERSION: u8 = 1;

pub(crate) use crate::util::ser::{read_vec, write_vec};

pub(crate) fn read_transaction<R: Read>(r: &mut R) -> Result<Transaction, DecodeError> {
    let len = u32::read(r)? as usize;
    if len > 4_000_000 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    let bytes = read_bytes(r, len)?;
    bitcoin::consensus::deserialize(&bytes).map_err(|_| DecodeError::InvalidValue)
}

pub(crate) fn write_transaction<W: Write>(w: &mut W, tx: &Transaction) -> Result<(), io::Error> {
    let bytes = bitcoin::consensus::serialize(tx);
    (bytes.len() as u32).write(w)?;
    w.write_all(&bytes)
}

fn write_opt_script<W: Write>(w: &mut W, s: &Option<ScriptBuf>) -> Result<(), io::Error> {
    s.is_some().write(w)?;
    match s {
        Some(s) => write_u16_len_bytes(w, s.as_bytes()),
        None => Ok(()),
    }
}

fn read_opt_script<R: Read>(r: &mut R) -> Result<Option<ScriptBuf>, DecodeError> {
    Ok(if bool::read(r)? { Some(ScriptBuf::from_bytes(read_u16_len_bytes(r)?)) } else { None })
}

impl Writeable for SideParams {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.dust_limit_satoshis.write(w)?;
        self.max_htlc_value_in_flight_msat.write(w)?;
        self.channel_reserve_satoshis.write(w)?;
        self.htlc_minimum_msat.write(w)?;
        self.max_accepted_htlcs.write(w)?;
        self.to_self_delay.write(w)
    }
}

impl Readable for SideParams {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(SideParams {
            dust_limit_satoshis: Readable::read(r)?,
            max_htlc_value_in_flight_msat: Readable::read(r)?,
            channel_reserve_satoshis: Readable::read(r)?,
            htlc_minimum_msat: Readable::read(r)?,
            max_accepted_htlcs: Readable::read(r)?,
            to_self_delay: Readable::read(r)?,
        })
    }
}

impl Writeable for ChannelConfig {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.forwarding_fee_proportional_millionths.write(w)?;
        self.forwarding_fee_base_msat.write(w)?;
        self.cltv_expiry_delta.write(w)?;
        self.max_dust_htlc_exposure_msat.write(w)?;
        self.max_feerate_undershoot_percent.write(w)?;
        self.max_feerate_overshoot_multiplier.write(w)
    }
}

impl Readable for ChannelConfig {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelConfig {
            forwarding_fee_proportional_millionths: Readable::read(r)?,
            forwarding_fee_base_msat: Readable::read(r)?,
            cltv_expiry_delta: Readable::read(r)?,
            max_dust_htlc_exposure_msat: Readable::read(r)?,
            max_feerate_undershoot_percent: Readable::read(r)?,
            max_feerate_overshoot_multiplier: Readable::read(r)?,
        })
    }
}

impl<S: EcdsaChannelSigner> FundedChannel<S> {
    /// Writes the channel (and its signer's policy state).
    pub fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        CHANNEL_SERIALIZATION_VERSION.write(w)?;
        self.channel_id.write(w)?;
        self.temporary_channel_id.write(w)?;
        ((self.user_channel_id >> 64) as u64).write(w)?;
        (self.user_channel_id as u64).write(w)?;
        self.counterparty_node_id.write(w)?;
        self.is_outbound.write(w)?;
        self.channel_value_satoshis.write(w)?;
        self.signer.channel_keys_id().write(w)?;
        let policy = self.signer.policy_state_bytes();
        (policy.len() as u32).write(w)?;
        w.write_all(&policy)?;
        self.params.write(w)?;
        self.holder_params.write(w)?;
        self.counterparty_params.write(w)?;
        self.channel_type.write(w)?;
        self.minimum_depth.write(w)?;
        self.config.write(w)?;
        self.announce_for_forwarding.write(w)?;
        write_opt_script(w, &self.holder_shutdown_script)?;
        write_opt_script(w, &self.counterparty_upfront_shutdown_script)?;
        self.funding_transaction.is_some().write(w)?;
        if let Some(tx) = &self.funding_transaction {
            write_transaction(w, tx)?;
        }
        self.funding_confirmed_at.is_some().write(w)?;
        if let Some((h, i)) = self.funding_confirmed_at {
            h.write(w)?;
            i.write(w)?;
        }
        self.short_channel_id.is_some().write(w)?;
        if let Some(scid) = self.short_channel_id {
            scid.write(w)?;
        }
        self.holder_scid_alias.write(w)?;
        self.counterparty_scid_alias.is_some().write(w)?;
        if let Some(scid) = self.counterparty_scid_alias {
            scid.write(w)?;
        }
        self.holder_channel_ready_sent.write(w)?;
        self.counterparty_channel_ready_received.write(w)?;
        let state: u8 = match self.state {
            ChannelState::AwaitingChannelReady => 0,
            ChannelState::Normal => 1,
            ChannelState::ShuttingDown => 2,
            ChannelState::Negotiating => 3,
            ChannelState::Closed => 4,
        };
        state.write(w)?;
        self.commitments.write(w)?;
        self.close_state.write(w)?;
        write_vec(w, &self.holding_cell)?;
        self.latest_monitor_update_id.write(w)?;
        self.last_counterparty_secret.write(w)?;
        self.lost_state.write(w)
    }

    /// Reads a channel written by [`Self::write`], deriving its signer again
    /// through `signer_provider`. The channel comes back disconnected: it
    /// is reestablished when the peer reconnects.
    pub fn read<R: Read, SP: SignerProvider<EcdsaSigner = S> + ?Sized>(
        r: &mut R, signer_provider: &SP,
    ) -> Result<Self, DecodeError> {
        if u8::read(r)? != CHANNEL_SERIALIZATION_VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        let channel_id = Readable::read(r)?;
        let temporary_channel_id = Readable::read(r)?;
        let high = u64::read(r)?;
        let low = u64::read(r)?;
        let user_channel_id = (u128::from(high) << 64) | u128::from(low);
        let counterparty_node_id = Readable::read(r)?;
        let is_outbound = Readable::read(r)?;
        let channel_value_satoshis = Readable::read(r)?;
        let keys_id: [u8; 32] = Readable::read(r)?;
        let policy_len = u32::read(r)? as usize;
        if policy_len > 1_000_000 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let policy = read_bytes(r, policy_len)?;
        let params: crate::ln::chan_utils::ChannelTransactionParameters = Readable::read(r)?;
        let mut signer = signer_provider.derive_channel_signer(channel_value_satoshis, keys_id);
        signer.provide_channel_parameters(&params).map_err(|_| DecodeError::InvalidValue)?;
        signer.restore_policy_state_bytes(&policy).map_err(|_| DecodeError::InvalidValue)?;
        let holder_params = Readable::read(r)?;
        let counterparty_params = Readable::read(r)?;
        let channel_type = Readable::read(r)?;
        let minimum_depth = Readable::read(r)?;
        let config = Readable::read(r)?;
        let announce_for_forwarding = Readable::read(r)?;
        let holder_shutdown_script = read_opt_script(r)?;
        let counterparty_upfront_shutdown_script = read_opt_script(r)?;
        let funding_transaction = if bool::read(r)? { Some(read_transaction(r)?) } else { None };
        let funding_confirmed_at = if bool::read(r)? { Some((u32::read(r)?, u32::read(r)?)) } else { None };
        let short_channel_id = if bool::read(r)? { Some(Readable::read(r)?) } else { None };
        let holder_scid_alias = Readable::read(r)?;
        let counterparty_scid_alias = if bool::read(r)? { Some(Readable::read(r)?) } else { None };
        let holder_channel_ready_sent = Readable::read(r)?;
        let counterparty_channel_ready_received = Readable::read(r)?;
        let state = match u8::read(r)? {
            0 => ChannelState::AwaitingChannelReady,
            1 => ChannelState::Normal,
            2 => ChannelState::ShuttingDown,
            3 => ChannelState::Negotiating,
            4 => ChannelState::Closed,
            _ => return Err(DecodeError::InvalidValue),
        };
        let commitments: Commitments = Readable::read(r)?;
        let close_state: CloseState = Readable::read(r)?;
        let holding_cell: Vec<Update> = read_vec(r)?;
        let latest_monitor_update_id = Readable::read(r)?;
        let last_counterparty_secret = Readable::read(r)?;
        let lost_state = Readable::read(r)?;
        let mut chan = FundedChannel {
            channel_id,
            temporary_channel_id,
            user_channel_id,
            counterparty_node_id,
            is_outbound,
            channel_value_satoshis,
            signer,
            params,
            holder_params,
            counterparty_params,
            channel_type,
            minimum_depth,
            config,
            announce_for_forwarding,
            holder_shutdown_script,
            counterparty_upfront_shutdown_script,
            funding_transaction,
            funding_confirmed_at,
            short_channel_id,
            holder_scid_alias,
            counterparty_scid_alias,
            holder_channel_ready_sent,
            counterparty_channel_ready_received,
            state,
            commitments,
            close_state,
            holding_cell,
            peer_connected: true,
            latest_monitor_update_id,
            last_counterparty_secret,
            lost_state,
        };
        // Reloaded channels wait for the peer's channel_reestablish.
        chan.peer_disconnected();
        Ok(chan)
    }
}
