//! `ChannelMonitor`: everything needed to enforce one channel on chain, kept
//! current by a stream of [`ChannelMonitorUpdate`]s from the channel.
//!
//! The channel never moves forward before the monitor has the update that
//! makes it safe to (see `chain::Watch`). Each update carries a strictly
//! increasing `update_id`; a monitor applies them in order and refuses a gap.
//! Commitment transactions are not stored: a monitor keeps what they are built
//! from ([`CommitmentSpec`], the per-commitment point and the counterparty's
//! signatures) and rebuilds them from the channel parameters when needed.

use crate::chain::BestBlock;
use crate::io::{self, Read, Write};
use crate::ln::chan_utils::commitment::CommitmentSpec;
use crate::ln::chan_utils::ChannelTransactionParameters;
use crate::ln::chan_utils::HTLCOutputInCommitment;
use crate::ln::msgs::DecodeError;
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, ShortChannelId};
use crate::prelude::*;
use crate::util::ser::{Readable, Writeable};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{OutPoint, ScriptBuf, Txid};

/// `update_id` of the update a monitor is created at (its initial state).
pub const INITIAL_UPDATE_ID: u64 = 0;
/// `update_id` of updates issued after the channel closed: always applied,
/// whatever the monitor's current id.
pub const CLOSED_CHANNEL_UPDATE_ID: u64 = u64::MAX;

/// One hop of an outbound payment path, as the monitor remembers it to report
/// a resolution back to the payer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutboundPathHop {
    /// The hop's node id.
    pub node_id: PublicKey,
    /// The channel into the hop.
    pub short_channel_id: ShortChannelId,
    /// The fee paid to this hop (for the last hop: the amount delivered).
    pub fee_msat: u64,
    /// The CLTV delta of this hop (for the last hop: the final CLTV delta).
    pub cltv_expiry_delta: u32,
}

/// The incoming HTLC an outgoing one was forwarded from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HTLCPreviousHopData {
    /// The channel it came in on.
    pub channel_id: ChannelId,
    /// The peer it came from.
    pub counterparty_node_id: PublicKey,
    /// Its id in that channel.
    pub htlc_id: u64,
    /// The onion shared secret, to encrypt a failure back.
    pub incoming_packet_shared_secret: [u8; 32],
}

/// Where an HTLC we offered came from: a forward or our own payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HTLCSource {
    /// Forwarded from another channel.
    PreviousHop(HTLCPreviousHopData),
    /// Our own payment.
    OutboundRoute {
        /// The payment's idempotency id.
        payment_id: PaymentId,
        /// The onion session key, to decrypt failures.
        session_priv: SecretKey,
        /// The path the HTLC takes.
        path: Vec<OutboundPathHop>,
    },
}

/// One change to a monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelMonitorUpdateStep {
    /// Our new commitment, with the counterparty's signatures: what we would
    /// broadcast from now on.
    LatestHolderCommitment {
        /// What the commitment commits to (rebuilt with the channel
        /// parameters and `per_commitment_point`).
        spec: CommitmentSpec,
        /// Our per-commitment point for it.
        per_commitment_point: PublicKey,
        /// The counterparty's signature on the commitment.
        counterparty_sig: Signature,
        /// The counterparty's signatures on our HTLC transactions, in output
        /// order.
        counterparty_htlc_sigs: Vec<Signature>,
        /// The source of each HTLC we offered in it, by payment hash and
        /// amount (HTLCs we received have no source here).
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    },
    /// The counterparty's new commitment, which we signed.
    LatestCounterpartyCommitment {
        /// Its txid.
        commitment_txid: Txid,
        /// What it commits to.
        spec: CommitmentSpec,
        /// Their per-commitment point for it.
        their_per_commitment_point: PublicKey,
        /// The source of each HTLC we offered in it.
        htlc_sources: Vec<(HTLCOutputInCommitment, HTLCSource)>,
    },
    /// We learned a preimage: claim HTLCs with this hash on chain if needed.
    PaymentPreimage {
        /// The preimage.
        payment_preimage: PaymentPreimage,
    },
    /// The counterparty revoked a commitment.
    CommitmentSecret {
        /// The revoked commitment's number (counting up from 0).
        commitment_number: u64,
        /// Its per-commitment secret.
        secret: [u8; 32],
    },
    /// The channel was force-closed; broadcast our latest commitment if
    /// `should_broadcast`.
    ChannelForceClosed {
        /// Whether we broadcast (false when the counterparty's commitment is
        /// already on chain, or we must not, e.g. after data loss).
        should_broadcast: bool,
    },
    /// The counterparty's shutdown script, once known.
    ShutdownScript {
        /// The script.
        scriptpubkey: ScriptBuf,
    },
}

/// An ordered batch of changes to one channel's monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMonitorUpdate {
    /// Strictly increasing per channel ([`CLOSED_CHANNEL_UPDATE_ID`] after
    /// close).
    pub update_id: u64,
    /// The channel.
    pub channel_id: ChannelId,
    /// The changes, applied in order.
    pub updates: Vec<ChannelMonitorUpdateStep>,
}

/// Something a monitor reports back to the channel manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorEvent {
    /// An HTLC we offered was resolved on chain: claimed with its preimage or
    /// timed out.
    HTLCEvent {
        /// Where the HTLC came from.
        source: Box<HTLCSource>,
        /// Its payment hash.
        payment_hash: PaymentHash,
        /// The preimage if claimed, `None` if it timed out.
        payment_preimage: Option<PaymentPreimage>,
        /// Its amount.
        htlc_value_msat: u64,
    },
    /// We broadcast our commitment: the channel is closed.
    HolderForceClosed,
    /// A commitment transaction confirmed: the channel is closed on chain.
    CommitmentTxConfirmed,
    /// Updates up to `monitor_update_id` are persisted (asynchronous
    /// persistence completed).
    Completed {
        /// The latest persisted update.
        monitor_update_id: u64,
    },
}

/// A monitor's events, with the channel they are about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorEventBatch {
    /// The channel's funding outpoint.
    pub funding_outpoint: OutPoint,
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// The events, oldest first.
    pub events: Vec<MonitorEvent>,
}

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

/// Writes a `u16` count then each element.
pub(crate) fn write_vec<W: Write, T: Writeable>(w: &mut W, items: &[T]) -> Result<(), io::Error> {
    let len = u16::try_from(items.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    items.iter().try_for_each(|i| i.write(w))
}

/// Reads a `u16` count then that many elements (growing as they arrive, so a
/// lying count costs nothing).
pub(crate) fn read_vec<R: Read, T: Readable>(r: &mut R) -> Result<Vec<T>, DecodeError> {
    let len = u16::read(r)? as usize;
    let mut out = Vec::with_capacity(len.min(64));
    for _ in 0..len {
        out.push(T::read(r)?);
    }
    Ok(out)
}

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

/// Watches one channel on chain. Kept current through
/// [`ChannelMonitor::update_monitor`].
///
/// This is the seam the channel manager and `ChainMonitor` are written
/// against; the on-chain enforcement behind it is documented on each method.
pub struct ChannelMonitor<Signer> {
    inner: crate::sync::Mutex<MonitorState<Signer>>,
}

struct MonitorState<Signer> {
    signer: Signer,
    channel_id: ChannelId,
    counterparty_node_id: PublicKey,
    channel_parameters: ChannelTransactionParameters,
    destination_script: ScriptBuf,
    best_block: BestBlock,
    latest_update_id: u64,
    applied_steps: Vec<ChannelMonitorUpdateStep>,
    pending_events: Vec<MonitorEvent>,
}

/// Why a monitor refused an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorUpdateError {
    /// The update's id is not the next one: `expected`, got `got`.
    OutOfOrder {
        /// The id the monitor expected.
        expected: u64,
        /// The id it got.
        got: u64,
    },
    /// The update is for another channel.
    WrongChannel,
    /// The update is inconsistent with what the monitor holds; the text says
    /// how.
    Invalid(&'static str),
}

impl<Signer> ChannelMonitor<Signer> {
    /// A monitor for a newly funded channel, at [`INITIAL_UPDATE_ID`].
    ///
    /// `initial_steps` hold the first commitments: a
    /// [`ChannelMonitorUpdateStep::LatestHolderCommitment`] (our commitment 0,
    /// signed by the counterparty in `funding_created`/`funding_signed`) and a
    /// [`ChannelMonitorUpdateStep::LatestCounterpartyCommitment`] (theirs).
    /// `destination_script` receives whatever we sweep on chain.
    pub fn new(
        signer: Signer, channel_id: ChannelId, counterparty_node_id: PublicKey,
        channel_parameters: ChannelTransactionParameters, destination_script: ScriptBuf,
        best_block: BestBlock, initial_steps: Vec<ChannelMonitorUpdateStep>,
    ) -> Self {
        ChannelMonitor {
            inner: crate::sync::Mutex::new(MonitorState {
                signer,
                channel_id,
                counterparty_node_id,
                channel_parameters,
                destination_script,
                best_block,
                latest_update_id: INITIAL_UPDATE_ID,
                applied_steps: initial_steps,
                pending_events: Vec::new(),
            }),
        }
    }

    /// The channel this monitor watches.
    pub fn channel_id(&self) -> ChannelId {
        self.inner.lock().channel_id
    }

    /// The peer.
    pub fn counterparty_node_id(&self) -> PublicKey {
        self.inner.lock().counterparty_node_id
    }

    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.inner.lock().channel_parameters.funding_outpoint()
    }

    /// The channel's transaction parameters.
    pub fn channel_parameters(&self) -> ChannelTransactionParameters {
        self.inner.lock().channel_parameters.clone()
    }

    /// The script our on-chain claims pay to.
    pub fn destination_script(&self) -> ScriptBuf {
        self.inner.lock().destination_script.clone()
    }

    /// The best block the monitor has seen.
    pub fn current_best_block(&self) -> BestBlock {
        self.inner.lock().best_block
    }

    /// The id of the last update applied.
    pub fn latest_update_id(&self) -> u64 {
        self.inner.lock().latest_update_id
    }

    /// Applies `update`, which must be the next in order (or a
    /// [`CLOSED_CHANNEL_UPDATE_ID`] update).
    pub fn update_monitor(&self, update: &ChannelMonitorUpdate) -> Result<(), MonitorUpdateError> {
        let mut state = self.inner.lock();
        if update.channel_id != state.channel_id {
            return Err(MonitorUpdateError::WrongChannel);
        }
        if update.update_id != CLOSED_CHANNEL_UPDATE_ID && update.update_id != state.latest_update_id + 1 {
            return Err(MonitorUpdateError::OutOfOrder {
                expected: state.latest_update_id + 1,
                got: update.update_id,
            });
        }
        state.latest_update_id = update.update_id;
        state.applied_steps.extend(update.updates.iter().cloned());
        Ok(())
    }

    /// Takes the events produced since the last call.
    pub fn get_and_clear_pending_monitor_events(&self) -> Vec<MonitorEvent> {
        core::mem::take(&mut self.inner.lock().pending_events)
    }

    /// Runs `f` with the monitor's signer.
    pub fn with_signer<T>(&self, f: impl FnOnce(&Signer) -> T) -> T {
        f(&self.inner.lock().signer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::chan_utils::HtlcDirection;
    use crate::util::ser::decode_exact;
    use bitcoin::hashes::Hash;
    use bitcoin::secp256k1::Secp256k1;

    fn key(b: u8) -> (SecretKey, PublicKey) {
        let sk = SecretKey::from_slice(&[b; 32]).unwrap();
        (sk, PublicKey::from_secret_key(&Secp256k1::new(), &sk))
    }

    #[test]
    fn updates_round_trip() {
        let (sk, pk) = key(3);
        let sig = Secp256k1::new().sign_ecdsa(&bitcoin::secp256k1::Message::from_digest([9; 32]), &sk);
        let htlc = HTLCOutputInCommitment {
            direction: HtlcDirection::Offered,
            amount_msat: 5_000_000,
            cltv_expiry: 500,
            payment_hash: PaymentHash([1; 32]),
            transaction_output_index: Some(2),
        };
        let spec = CommitmentSpec {
            commitment_number: 7,
            to_broadcaster_value_msat: 1,
            to_countersignatory_value_msat: 2,
            feerate_per_kw: 253,
            broadcaster_dust_limit_satoshis: 546,
            htlcs: vec![htlc],
        };
        let source = HTLCSource::OutboundRoute {
            payment_id: PaymentId([4; 32]),
            session_priv: sk,
            path: vec![OutboundPathHop {
                node_id: pk,
                short_channel_id: ShortChannelId(42),
                fee_msat: 10,
                cltv_expiry_delta: 40,
            }],
        };
        let update = ChannelMonitorUpdate {
            update_id: 3,
            channel_id: ChannelId([5; 32]),
            updates: vec![
                ChannelMonitorUpdateStep::LatestHolderCommitment {
                    spec: spec.clone(),
                    per_commitment_point: pk,
                    counterparty_sig: sig,
                    counterparty_htlc_sigs: vec![sig],
                    htlc_sources: vec![(htlc, source.clone())],
                },
                ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
                    commitment_txid: Txid::from_byte_array([6; 32]),
                    spec,
                    their_per_commitment_point: pk,
                    htlc_sources: vec![],
                },
                ChannelMonitorUpdateStep::PaymentPreimage { payment_preimage: PaymentPreimage([7; 32]) },
                ChannelMonitorUpdateStep::CommitmentSecret { commitment_number: 6, secret: [8; 32] },
                ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true },
                ChannelMonitorUpdateStep::ShutdownScript { scriptpubkey: ScriptBuf::from_bytes(vec![0, 20]) },
            ],
        };
        assert_eq!(decode_exact::<ChannelMonitorUpdate>(&update.encode()), Ok(update));
        let prev = HTLCSource::PreviousHop(HTLCPreviousHopData {
            channel_id: ChannelId([1; 32]),
            counterparty_node_id: pk,
            htlc_id: 9,
            incoming_packet_shared_secret: [2; 32],
        });
        assert_eq!(decode_exact::<HTLCSource>(&prev.encode()), Ok(prev));
    }

    fn params(pk: PublicKey) -> ChannelTransactionParameters {
        use crate::ln::chan_utils::{ChannelPublicKeys, ChannelSideParameters};
        let keys = ChannelPublicKeys {
            funding_pubkey: pk,
            revocation_basepoint: pk,
            payment_point: pk,
            delayed_payment_basepoint: pk,
            htlc_basepoint: pk,
        };
        let side = ChannelSideParameters { pubkeys: keys, selected_contest_delay: 144 };
        let mut channel_type = crate::ln::features::ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        ChannelTransactionParameters::new(side, side, true, OutPoint::null(), 100_000, channel_type).unwrap()
    }

    #[test]
    fn monitor_refuses_gaps() {
        let (_, pk) = key(1);
        let id = ChannelId([1; 32]);
        let best = BestBlock::new(bitcoin::BlockHash::all_zeros(), 100);
        let monitor = ChannelMonitor::new((), id, pk, params(pk), ScriptBuf::new(), best, vec![]);
        let update = |n| ChannelMonitorUpdate { update_id: n, channel_id: id, updates: vec![] };
        assert_eq!(
            monitor.update_monitor(&update(2)),
            Err(MonitorUpdateError::OutOfOrder { expected: 1, got: 2 })
        );
        assert_eq!(monitor.update_monitor(&update(1)), Ok(()));
        assert_eq!(monitor.latest_update_id(), 1);
        let other = ChannelMonitorUpdate { update_id: 2, channel_id: ChannelId([2; 32]), updates: vec![] };
        assert_eq!(monitor.update_monitor(&other), Err(MonitorUpdateError::WrongChannel));
    }
}
