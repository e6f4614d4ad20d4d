//! Serialization of the update contract types and of the monitor itself.
//!
//! Updates and monitors start with a version byte. A monitor is written with
//! what its commitments are built from (specs, points, signatures), never
//! with built transactions: reading rebuilds every unrevoked commitment and
//! checks it (the counterparty's signatures on ours, the stored txid of
//! theirs), and checks
//! the signer re-derived from the stored `channel_keys_id` against the
//! channel's keys, so a corrupt file is refused rather than trusted where the
//! data allows. Opaque values (secrets, preimages, ids) cannot be checked
//! here: the persister's checksum guards them. Lists that can grow over a channel's
//! life (revoked commitments, preimages, events) carry `u64` counts and are
//! read as their elements arrive, so a lying count costs no memory.

use bitcoin::secp256k1::PublicKey;
use bitcoin::{BlockHash, ScriptBuf, Txid};

use super::onchain::OnchainTxHandler;
use super::state::{
    CounterpartyCommitment, FundingSpend, FundingSpendKind, HolderCommitment, MonitorState,
    RevokedCounterpartyCommitment,
};
use super::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCPreviousHopData, HTLCSource,
    MonitorEvent, OutboundPathHop,
};
use crate::chain::BestBlock;
use crate::io::{self, Read, Write};
use crate::ln::chan_utils::commitment::CommitmentSpec;
use crate::ln::chan_utils::{ChannelTransactionParameters, HTLCOutputInCommitment};
use crate::ln::channel::ser::{read_transaction, write_transaction};
use crate::ln::msgs::DecodeError;
use crate::ln::types::{ChannelId, PaymentPreimage};
use crate::prelude::*;
use crate::sign::{ChannelSigner, EcdsaChannelSigner, SignerProvider};
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, ReadableArgs, Writeable};

impl Writeable for OutboundPathHop {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.node_id.write(w)?;
        self.short_channel_id.write(w)?;
        self.fee_msat.write(w)?;
        self.cltv_expiry_delta.write(w)
    }
}

impl Readable for OutboundPathHop {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(OutboundPathHop {
            node_id: Readable::read(r)?,
            short_channel_id: Readable::read(r)?,
            fee_msat: Readable::read(r)?,
            cltv_expiry_delta: Readable::read(r)?,
        })
    }
}

pub(crate) use crate::util::ser::{read_vec, write_vec};

impl Writeable for HTLCSource {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            HTLCSource::PreviousHop(prev) => {
                0u8.write(w)?;
                prev.channel_id.write(w)?;
                prev.counterparty_node_id.write(w)?;
                prev.htlc_id.write(w)?;
                prev.incoming_packet_shared_secret.write(w)
            }
            HTLCSource::OutboundRoute { payment_id, session_priv, path } => {
                1u8.write(w)?;
                payment_id.write(w)?;
                session_priv.write(w)?;
                write_vec(w, path)
            }
        }
    }
}

impl Readable for HTLCSource {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        match u8::read(r)? {
            0 => Ok(HTLCSource::PreviousHop(HTLCPreviousHopData {
                channel_id: Readable::read(r)?,
                counterparty_node_id: Readable::read(r)?,
                htlc_id: Readable::read(r)?,
                incoming_packet_shared_secret: Readable::read(r)?,
            })),
            1 => Ok(HTLCSource::OutboundRoute {
                payment_id: Readable::read(r)?,
                session_priv: Readable::read(r)?,
                path: read_vec(r)?,
            }),
            _ => Err(DecodeError::UnknownVersion),
        }
    }
}

impl Writeable for CommitmentSpec {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.commitment_number.write(w)?;
        self.to_broadcaster_value_msat.write(w)?;
        self.to_countersignatory_value_msat.write(w)?;
        self.feerate_per_kw.write(w)?;
        self.broadcaster_dust_limit_satoshis.write(w)?;
        write_vec(w, &self.htlcs)
    }
}

impl Readable for CommitmentSpec {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(CommitmentSpec {
            commitment_number: Readable::read(r)?,
            to_broadcaster_value_msat: Readable::read(r)?,
            to_countersignatory_value_msat: Readable::read(r)?,
            feerate_per_kw: Readable::read(r)?,
            broadcaster_dust_limit_satoshis: Readable::read(r)?,
            htlcs: read_vec(r)?,
        })
    }
}

fn write_sources<W: Write>(
    w: &mut W, sources: &[(HTLCOutputInCommitment, HTLCSource)],
) -> Result<(), io::Error> {
    let len = u16::try_from(sources.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    for (htlc, source) in sources {
        htlc.write(w)?;
        source.write(w)?;
    }
    Ok(())
}

fn read_sources<R: Read>(r: &mut R) -> Result<Vec<(HTLCOutputInCommitment, HTLCSource)>, DecodeError> {
    let len = u16::read(r)? as usize;
    let mut out = Vec::with_capacity(len.min(64));
    for _ in 0..len {
        out.push((Readable::read(r)?, Readable::read(r)?));
    }
    Ok(out)
}

impl Writeable for ChannelMonitorUpdateStep {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            ChannelMonitorUpdateStep::LatestHolderCommitment {
                spec,
                per_commitment_point,
                counterparty_sig,
                counterparty_htlc_sigs,
                htlc_sources,
            } => {
                0u8.write(w)?;
                spec.write(w)?;
                per_commitment_point.write(w)?;
                counterparty_sig.write(w)?;
                write_vec(w, counterparty_htlc_sigs)?;
                write_sources(w, htlc_sources)
            }
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                commitment_txid,
                spec,
                their_per_commitment_point,
                htlc_sources,
            } => {
                1u8.write(w)?;
                commitment_txid.write(w)?;
                spec.write(w)?;
                their_per_commitment_point.write(w)?;
                write_sources(w, htlc_sources)
            }
            ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage } => {
                2u8.write(w)?;
                payment_preimage.write(w)
            }
            ChannelMonitorUpdateStep::CommitmentSecret { commitment_number, secret } => {
                3u8.write(w)?;
                commitment_number.write(w)?;
                secret.write(w)
            }
            ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast } => {
                4u8.write(w)?;
                should_broadcast.write(w)
            }
            ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey } => {
                5u8.write(w)?;
                crate::util::ser::write_u16_len_bytes(w, scriptpubkey.as_bytes())
            }
            ChannelMonitorUpdateStep::CooperativeClose { closing_tx } => {
                6u8.write(w)?;
                write_transaction(w, closing_tx)
            }
        }
    }
}

impl Readable for ChannelMonitorUpdateStep {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(match u8::read(r)? {
            0 => ChannelMonitorUpdateStep::LatestHolderCommitment {
                spec: Readable::read(r)?,
                per_commitment_point: Readable::read(r)?,
                counterparty_sig: Readable::read(r)?,
                counterparty_htlc_sigs: read_vec(r)?,
                htlc_sources: read_sources(r)?,
            },
            1 => ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                commitment_txid: Readable::read(r)?,
                spec: Readable::read(r)?,
                their_per_commitment_point: Readable::read(r)?,
                htlc_sources: read_sources(r)?,
            },
            2 => ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: Readable::read(r)? },
            3 => ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: Readable::read(r)?,
                secret: Readable::read(r)?,
            },
            4 => ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: Readable::read(r)? },
            5 => ChannelMonitorUpdateStep::ShutdownScript {
                scriptpubkey: ScriptBuf::from_bytes(crate::util::ser::read_u16_len_bytes(r)?),
            },
            6 => ChannelMonitorUpdateStep::CooperativeClose { closing_tx: read_transaction(r)? },
            _ => return Err(DecodeError::UnknownVersion),
        })
    }
}

/// Serialization version of [`ChannelMonitorUpdate`].
const UPDATE_SERIALIZATION_VERSION: u8 = 1;

impl Writeable for ChannelMonitorUpdate {
    /// A version byte, the id, the channel and the steps.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        UPDATE_SERIALIZATION_VERSION.write(w)?;
        self.update_id.write(w)?;
        self.channel_id.write(w)?;
        write_vec(w, &self.updates)
    }
}

impl Readable for ChannelMonitorUpdate {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        if u8::read(r)? != UPDATE_SERIALIZATION_VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        Ok(ChannelMonitorUpdate {
            update_id: Readable::read(r)?,
            channel_id: Readable::read(r)?,
            updates: read_vec(r)?,
        })
    }
}

/// Writes a `u64` count then each element.
fn write_long_vec<W: Write, T, F>(
    w: &mut W, items: impl ExactSizeIterator<Item = T>, mut f: F,
) -> Result<(), io::Error>
where
    F: FnMut(&mut W, T) -> Result<(), io::Error>,
{
    (items.len() as u64).write(w)?;
    for item in items {
        f(w, item)?;
    }
    Ok(())
}

/// Reads a `u64` count then calls `f` that many times (nothing is reserved
/// up front).
fn read_long_vec<R: Read, F>(r: &mut R, mut f: F) -> Result<(), DecodeError>
where
    F: FnMut(&mut R) -> Result<(), DecodeError>,
{
    let count = u64::read(r)?;
    for _ in 0..count {
        f(r)?;
    }
    Ok(())
}

fn write_option<W: Write, T: Writeable>(w: &mut W, value: &Option<T>) -> Result<(), io::Error> {
    match value {
        Some(v) => {
            1u8.write(w)?;
            v.write(w)
        }
        None => 0u8.write(w),
    }
}

fn read_option<R: Read, T>(
    r: &mut R, read: impl FnOnce(&mut R) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => Ok(Some(read(r)?)),
        _ => Err(DecodeError::InvalidValue),
    }
}

impl Writeable for MonitorEvent {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            MonitorEvent::HTLCEvent { source, payment_hash, payment_preimage, htlc_value_msat } => {
                0u8.write(w)?;
                source.write(w)?;
                payment_hash.write(w)?;
                write_option(w, payment_preimage)?;
                htlc_value_msat.write(w)
            }
            MonitorEvent::HolderForceClosed => 1u8.write(w),
            MonitorEvent::CommitmentTxConfirmed => 2u8.write(w),
            MonitorEvent::Completed { monitor_update_id } => {
                3u8.write(w)?;
                monitor_update_id.write(w)
            }
        }
    }
}

impl Readable for MonitorEvent {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(match u8::read(r)? {
            0 => MonitorEvent::HTLCEvent {
                source: Box::new(Readable::read(r)?),
                payment_hash: Readable::read(r)?,
                payment_preimage: read_option(r, PaymentPreimage::read)?,
                htlc_value_msat: Readable::read(r)?,
            },
            1 => MonitorEvent::HolderForceClosed,
            2 => MonitorEvent::CommitmentTxConfirmed,
            3 => MonitorEvent::Completed { monitor_update_id: Readable::read(r)? },
            _ => return Err(DecodeError::UnknownVersion),
        })
    }
}

impl Writeable for FundingSpendKind {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            FundingSpendKind::HolderCommitment { commitment_number, is_latest } => {
                0u8.write(w)?;
                commitment_number.write(w)?;
                is_latest.write(w)
            }
            FundingSpendKind::CounterpartyCommitment { commitment_number } => {
                1u8.write(w)?;
                commitment_number.write(w)
            }
            FundingSpendKind::RevokedCounterpartyCommitment { commitment_number } => {
                2u8.write(w)?;
                commitment_number.write(w)
            }
            FundingSpendKind::UnknownCommitment { commitment_number } => {
                3u8.write(w)?;
                commitment_number.write(w)
            }
            FundingSpendKind::NotACommitment => 4u8.write(w),
        }
    }
}

impl Readable for FundingSpendKind {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(match u8::read(r)? {
            0 => FundingSpendKind::HolderCommitment {
                commitment_number: Readable::read(r)?,
                is_latest: Readable::read(r)?,
            },
            1 => FundingSpendKind::CounterpartyCommitment { commitment_number: Readable::read(r)? },
            2 => FundingSpendKind::RevokedCounterpartyCommitment { commitment_number: Readable::read(r)? },
            3 => FundingSpendKind::UnknownCommitment { commitment_number: Readable::read(r)? },
            4 => FundingSpendKind::NotACommitment,
            _ => return Err(DecodeError::InvalidValue),
        })
    }
}

impl Writeable for FundingSpend {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.txid.write(w)?;
        self.height.write(w)?;
        self.block_hash.write(w)?;
        self.kind.write(w)
    }
}

impl Readable for FundingSpend {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(FundingSpend {
            txid: Readable::read(r)?,
            height: Readable::read(r)?,
            block_hash: Readable::read(r)?,
            kind: Readable::read(r)?,
        })
    }
}

fn write_holder_commitment<W: Write>(w: &mut W, c: &HolderCommitment) -> Result<(), io::Error> {
    c.spec.write(w)?;
    c.per_commitment_point.write(w)?;
    c.counterparty_sig.write(w)?;
    write_vec(w, &c.counterparty_htlc_sigs)?;
    write_sources(w, &c.htlc_sources)
}

fn read_holder_commitment<R: Read, S>(
    r: &mut R, state: &MonitorState<S>,
) -> Result<HolderCommitment, DecodeError> {
    let spec = CommitmentSpec::read(r)?;
    let point = PublicKey::read(r)?;
    let sig = Readable::read(r)?;
    let htlc_sigs = read_vec(r)?;
    let sources = read_sources(r)?;
    let mut commitment =
        HolderCommitment::from_parts(&state.channel_parameters, spec, point, sig, htlc_sigs, sources)
            .map_err(|_| DecodeError::InvalidValue)?;
    if !commitment.verify_counterparty_signatures(&state.secp_ctx, &state.channel_parameters) {
        return Err(DecodeError::InvalidValue);
    }
    Ok(commitment)
}

/// Serialization version of [`ChannelMonitor`]. Version 2 adds the
/// cooperative closing transaction at the end; version 1 monitors (written
/// before it existed) are still read, as monitors without one.
pub const MONITOR_SERIALIZATION_VERSION: u8 = 2;

/// The oldest monitor serialization version still read.
const MIN_MONITOR_SERIALIZATION_VERSION: u8 = 1;

impl<Signer: EcdsaChannelSigner> Writeable for ChannelMonitor<Signer> {
    /// The full state, after a version byte. Fails (`InvalidData`) for a
    /// monitor whose initial steps were refused.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let state = self.inner.lock();
        if state.initial_steps_error.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "monitor with refused initial steps"));
        }
        MONITOR_SERIALIZATION_VERSION.write(w)?;
        state.signer.channel_keys_id().write(w)?;
        state.channel_id.write(w)?;
        state.counterparty_node_id.write(w)?;
        state.channel_parameters.write(w)?;
        write_u16_len_bytes(w, state.destination_script.as_bytes())?;
        state.best_block.block_hash.write(w)?;
        state.best_block.height.write(w)?;
        state.latest_update_id.write(w)?;

        state.force_closed.write(w)?;
        state.automatic_broadcast_allowed.write(w)?;
        state.funding_spend_seen.write(w)?;
        state.commitment_confirmed_reported.write(w)?;
        write_option(w, &state.onchain.holder_commitment_broadcast())?;
        write_option(w, &state.funding_spend)?;

        for holder in [&state.holder_commitment, &state.prev_holder_commitment] {
            match holder {
                Some(c) => {
                    1u8.write(w)?;
                    write_holder_commitment(w, c)?;
                }
                None => 0u8.write(w)?,
            }
        }
        write_long_vec(w, state.counterparty_commitments.iter(), |w, (txid, c)| {
            txid.write(w)?;
            c.spec.write(w)?;
            c.per_commitment_point.write(w)?;
            write_sources(w, &c.htlc_sources)
        })?;
        write_long_vec(w, state.revoked_counterparty_commitments.iter(), |w, (txid, c)| {
            txid.write(w)?;
            c.commitment_number.write(w)?;
            write_vec(w, &c.nondust_htlcs)
        })?;
        state.counterparty_secrets.write(w)?;
        write_long_vec(w, state.payment_preimages.values(), |w, p| p.write(w))?;
        match &state.counterparty_shutdown_script {
            Some(script) => {
                1u8.write(w)?;
                write_u16_len_bytes(w, script.as_bytes())?;
            }
            None => 0u8.write(w)?,
        }
        write_long_vec(w, state.pending_events.iter(), |w, e| e.write(w))?;
        match &state.cooperative_closing_tx {
            Some(tx) => {
                1u8.write(w)?;
                write_transaction(w, tx)
            }
            None => 0u8.write(w),
        }
    }
}

impl<SP: SignerProvider> ReadableArgs<&SP> for ChannelMonitor<SP::EcdsaSigner> {
    /// Reads a monitor written by [`Writeable`], re-deriving its signer from
    /// `signer_provider` with the stored `channel_keys_id`. Refuses a monitor
    /// whose signer's keys are not the ones in its channel parameters (another
    /// seed), and any commitment that does not rebuild.
    fn read<R: Read>(r: &mut R, signer_provider: &SP) -> Result<Self, DecodeError> {
        let version = u8::read(r)?;
        if !(MIN_MONITOR_SERIALIZATION_VERSION..=MONITOR_SERIALIZATION_VERSION).contains(&version) {
            return Err(DecodeError::UnknownVersion);
        }
        let channel_keys_id: [u8; 32] = Readable::read(r)?;
        let channel_id = ChannelId::read(r)?;
        let counterparty_node_id = PublicKey::read(r)?;
        let channel_parameters = ChannelTransactionParameters::read(r)?;
        let destination_script = ScriptBuf::from_bytes(read_u16_len_bytes(r)?);
        let best_block = BestBlock::new(BlockHash::read(r)?, u32::read(r)?);
        let latest_update_id = u64::read(r)?;

        let mut signer = signer_provider
            .derive_channel_signer(channel_parameters.channel_value_satoshis(), channel_keys_id);
        if signer.pubkeys() != &channel_parameters.holder().pubkeys {
            return Err(DecodeError::InvalidValue);
        }
        signer.provide_channel_parameters(&channel_parameters).map_err(|_| DecodeError::InvalidValue)?;
        let mut state = MonitorState::new(
            signer,
            channel_id,
            counterparty_node_id,
            channel_parameters,
            destination_script,
            best_block,
        );
        state.latest_update_id = latest_update_id;
        state.force_closed = Readable::read(r)?;
        state.automatic_broadcast_allowed = Readable::read(r)?;
        state.funding_spend_seen = Readable::read(r)?;
        state.commitment_confirmed_reported = Readable::read(r)?;
        state.onchain = OnchainTxHandler::with_broadcast(read_option(r, u64::read)?);
        state.funding_spend = read_option(r, FundingSpend::read)?;

        state.holder_commitment = read_option(r, |r| read_holder_commitment(r, &state))?;
        state.prev_holder_commitment = read_option(r, |r| read_holder_commitment(r, &state))?;
        let mut counterparty = BTreeMap::new();
        read_long_vec(r, |r| {
            let stored_txid = Txid::read(r)?;
            let spec = CommitmentSpec::read(r)?;
            let point = PublicKey::read(r)?;
            let sources = read_sources(r)?;
            let c = CounterpartyCommitment::new(spec, point, sources);
            if c.build_txid(&state.secp_ctx, &state.channel_parameters) != stored_txid {
                return Err(DecodeError::InvalidValue);
            }
            match counterparty.insert(stored_txid, c) {
                None => Ok(()),
                Some(_) => Err(DecodeError::InvalidValue),
            }
        })?;
        state.counterparty_commitments = counterparty;
        let mut revoked = BTreeMap::new();
        read_long_vec(r, |r| {
            let txid = Txid::read(r)?;
            let commitment_number = u64::read(r)?;
            let nondust_htlcs: Vec<HTLCOutputInCommitment> = read_vec(r)?;
            if nondust_htlcs.iter().any(|h| h.transaction_output_index.is_some()) {
                return Err(DecodeError::InvalidValue);
            }
            let record = RevokedCounterpartyCommitment { commitment_number, nondust_htlcs };
            match revoked.insert(txid, record) {
                None => Ok(()),
                Some(_) => Err(DecodeError::InvalidValue),
            }
        })?;
        state.revoked_counterparty_commitments = revoked;
        state.counterparty_secrets = Readable::read(r)?;
        let revoked_count = super::state::revoked_count(&state.counterparty_secrets);
        if state.counterparty_commitments.values().any(|c| c.spec.commitment_number < revoked_count)
            || state.revoked_counterparty_commitments.values().any(|c| c.commitment_number >= revoked_count)
        {
            return Err(DecodeError::InvalidValue);
        }
        let mut preimages = BTreeMap::new();
        read_long_vec(r, |r| {
            let preimage = PaymentPreimage::read(r)?;
            preimages.insert(preimage.payment_hash(), preimage);
            Ok(())
        })?;
        state.payment_preimages = preimages;
        state.counterparty_shutdown_script =
            read_option(r, |r| Ok(ScriptBuf::from_bytes(read_u16_len_bytes(r)?)))?;
        let mut events = Vec::new();
        read_long_vec(r, |r| {
            events.push(MonitorEvent::read(r)?);
            Ok(())
        })?;
        state.pending_events = events;
        if version >= 2 {
            state.cooperative_closing_tx = read_option(r, read_transaction)?;
            let funding = state.channel_parameters.funding_outpoint();
            if state
                .cooperative_closing_tx
                .as_ref()
                .is_some_and(|tx| tx.input.len() != 1 || tx.input[0].previous_output != funding)
            {
                return Err(DecodeError::InvalidValue);
            }
        }
        Ok(ChannelMonitor::from_state(state))
    }
}
