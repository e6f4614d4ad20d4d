//! Persistence of the `ChannelManager`: its funded channels (unfunded ones
//! are not worth keeping), payments in flight and payments waiting to be
//! claimed. The monitors are persisted separately (by the `Watch`);
//! reloading gives the manager its components back through
//! [`ChannelManagerReadArgs`]. Every channel comes back disconnected and is
//! reestablished when its peer reconnects.
//!
//! Version 2 also writes the monitor updates the manager handed to the
//! watch that were not reported persisted yet: with each channel, its
//! in-flight updates (and whether its new monitor itself was still being
//! written); after the payments, the in-flight updates of channels closed
//! since (ending with the closing update). A channel read back with
//! in-flight updates stays paused until
//! [`ChannelManager::replay_in_flight_monitor_updates`] (called by the
//! start-up routine once the monitors are loaded) gives its monitor what it
//! lacks. Version 1 (without them) is still read; a manager read from it
//! keeps saying it does not record every close (a flag written at the end).

use crate::chain::channelmonitor::ChannelMonitorUpdate;

use super::*;
use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::util::ser::{Readable, Writeable};

const MANAGER_SERIALIZATION_VERSION: u8 = 2;
/// The oldest version still read: it records no in-flight monitor update and
/// no cooperative close.
const MIN_MANAGER_SERIALIZATION_VERSION: u8 = 1;

/// Writes a `u32` count then each update.
fn write_updates<W: Write>(w: &mut W, updates: &[ChannelMonitorUpdate]) -> Result<(), io::Error> {
    let len = u32::try_from(updates.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    updates.iter().try_for_each(|u| u.write(w))
}

/// Reads updates written by [`write_updates`], checking that they are for
/// `channel_id` and in order (ids never go down).
fn read_updates<R: Read>(r: &mut R, channel_id: ChannelId) -> Result<Vec<ChannelMonitorUpdate>, DecodeError> {
    let len = u32::read(r)?;
    let mut out: Vec<ChannelMonitorUpdate> = Vec::new();
    for _ in 0..len {
        let update = ChannelMonitorUpdate::read(r)?;
        if update.channel_id != channel_id || out.last().is_some_and(|prev| prev.update_id > update.update_id)
        {
            return Err(DecodeError::InvalidValue);
        }
        out.push(update);
    }
    Ok(out)
}

/// Everything a reloaded `ChannelManager` needs besides its bytes.
pub struct ChannelManagerReadArgs<M, T, F, R, L, K> {
    /// Fee estimates.
    pub fee_estimator: F,
    /// The watch holding the channels' monitors (already reloaded).
    pub chain_monitor: M,
    /// Broadcasts transactions.
    pub tx_broadcaster: T,
    /// Finds routes.
    pub router: R,
    /// Logs.
    pub logger: L,
    /// The keys (the same seed as before).
    pub keys: K,
    /// The configuration.
    pub config: UserConfig,
    /// The inbound payment key material (the same as before).
    pub inbound_payment_key_material: [u8; 32],
}

impl<M, T, F, R, L, K> ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    /// Writes the manager's state.
    pub fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let st = self.state.lock();
        MANAGER_SERIALIZATION_VERSION.write(w)?;
        self.chain_hash.write(w)?;
        let best = *self.best_block.lock();
        best.block_hash.write(w)?;
        best.height.write(w)?;
        self.highest_seen_timestamp.lock().write(w)?;
        let funded: Vec<(&PublicKey, &ManagedChannel<SignerOf<K>>)> = st
            .peers
            .iter()
            .flat_map(|(id, p)| {
                p.channels.values().filter_map(move |ph| match ph {
                    ChannelPhase::Funded(mc) => Some((id, &**mc)),
                    _ => None,
                })
            })
            .collect();
        (funded.len() as u32).write(w)?;
        for (node_id, mc) in funded {
            node_id.write(w)?;
            mc.chan.write(w)?;
            mc.gate.initial_persist_in_flight.write(w)?;
            write_updates(w, &mc.gate.in_flight)?;
        }
        (st.outbound_payments.len() as u32).write(w)?;
        for (id, p) in st.outbound_payments.iter() {
            id.write(w)?;
            p.payment_hash.write(w)?;
            (p.parts_in_flight as u32).write(w)?;
            p.fee_msat.write(w)?;
            p.preimage.is_some().write(w)?;
            if let Some(pre) = p.preimage {
                pre.write(w)?;
            }
            p.failed_permanently.write(w)?;
            p.resolved.write(w)?;
        }
        (st.claimable_payments.len() as u32).write(w)?;
        for (hash, p) in st.claimable_payments.iter() {
            hash.write(w)?;
            let PaymentPurpose::InvoicePayment { payment_preimage, payment_secret } = &p.purpose;
            payment_preimage.is_some().write(w)?;
            if let Some(pre) = payment_preimage {
                pre.write(w)?;
            }
            payment_secret.write(w)?;
            p.total_msat.write(w)?;
            p.notified.write(w)?;
            (p.htlcs.len() as u32).write(w)?;
            for h in &p.htlcs {
                h.counterparty_node_id.write(w)?;
                h.channel_id.write(w)?;
                h.htlc_id.write(w)?;
                h.amount_msat.write(w)?;
                h.cltv_expiry.write(w)?;
                h.shared_secret.write(w)?;
            }
        }
        (st.closed_channel_monitor_updates.len() as u32).write(w)?;
        for (channel_id, record) in st.closed_channel_monitor_updates.iter() {
            channel_id.write(w)?;
            record.counterparty_node_id.write(w)?;
            write_updates(w, &record.updates)?;
        }
        self.records_every_close.write(w)
    }

    /// Encodes the manager's state.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.write(&mut out);
        out
    }

    /// Reads a manager written by [`Self::write`].
    pub fn read<Rd: Read>(
        r: &mut Rd, args: ChannelManagerReadArgs<M, T, F, R, L, K>,
    ) -> Result<Self, DecodeError> {
        let version = u8::read(r)?;
        if !(MIN_MANAGER_SERIALIZATION_VERSION..=MANAGER_SERIALIZATION_VERSION).contains(&version) {
            return Err(DecodeError::UnknownVersion);
        }
        let records_monitor_updates = version >= 2;
        let chain_hash: ChainHash = Readable::read(r)?;
        let block_hash = Readable::read(r)?;
        let height = Readable::read(r)?;
        let timestamp: u32 = Readable::read(r)?;
        let our_node_id = args.keys.get_node_id(Recipient::Node).map_err(|_| DecodeError::InvalidValue)?;
        let mut peers: BTreeMap<PublicKey, PeerState<SignerOf<K>>> = BTreeMap::new();
        for _ in 0..u32::read(r)? {
            let node_id: PublicKey = Readable::read(r)?;
            let chan = FundedChannel::read(r, &args.keys)?;
            let mut gate = MonitorGate::default();
            if records_monitor_updates {
                gate.initial_persist_in_flight = Readable::read(r)?;
                gate.in_flight = read_updates(r, chan.channel_id())?;
                if gate.in_flight.iter().any(|u| u.update_id > chan.latest_monitor_update_id()) {
                    return Err(DecodeError::InvalidValue);
                }
                // Broadcasting the funding was held for the first monitor
                // write, and what was held is not written: hold it again.
                if gate.initial_persist_in_flight && chan.funding_confirmed_at.is_none() {
                    gate.held_broadcasts.extend(chan.funding_transaction().cloned());
                }
            }
            let mc = Box::new(ManagedChannel { chan, gate, funded_at_height: height });
            peers
                .entry(node_id)
                .or_insert_with(PeerState::new)
                .channels
                .insert(mc.chan.channel_id(), ChannelPhase::Funded(mc));
        }
        let mut outbound_payments = BTreeMap::new();
        for _ in 0..u32::read(r)? {
            let id: PaymentId = Readable::read(r)?;
            let payment_hash = Readable::read(r)?;
            let parts_in_flight = u32::read(r)? as usize;
            let fee_msat = Readable::read(r)?;
            let preimage = if bool::read(r)? { Some(Readable::read(r)?) } else { None };
            let failed_permanently = Readable::read(r)?;
            let resolved = Readable::read(r)?;
            outbound_payments.insert(
                id,
                PendingOutboundPayment {
                    payment_hash,
                    parts_in_flight,
                    fee_msat,
                    preimage,
                    failed_permanently,
                    resolved,
                    resolved_ticks: 0,
                },
            );
        }
        let mut claimable_payments = BTreeMap::new();
        for _ in 0..u32::read(r)? {
            let hash: PaymentHash = Readable::read(r)?;
            let payment_preimage = if bool::read(r)? { Some(Readable::read(r)?) } else { None };
            let payment_secret = Readable::read(r)?;
            let total_msat = Readable::read(r)?;
            let notified = Readable::read(r)?;
            let count = u32::read(r)? as usize;
            let mut htlcs = Vec::with_capacity(count.min(64));
            for _ in 0..count {
                htlcs.push(ClaimableHtlc {
                    counterparty_node_id: Readable::read(r)?,
                    channel_id: Readable::read(r)?,
                    htlc_id: Readable::read(r)?,
                    amount_msat: Readable::read(r)?,
                    cltv_expiry: Readable::read(r)?,
                    shared_secret: Readable::read(r)?,
                });
            }
            claimable_payments.insert(
                hash,
                ClaimablePayment {
                    htlcs,
                    purpose: PaymentPurpose::InvoicePayment { payment_preimage, payment_secret },
                    total_msat,
                    notified,
                },
            );
        }
        let mut closed_channel_monitor_updates = BTreeMap::new();
        if records_monitor_updates {
            for _ in 0..u32::read(r)? {
                let channel_id: ChannelId = Readable::read(r)?;
                let counterparty_node_id = Readable::read(r)?;
                let updates = read_updates(r, channel_id)?;
                if updates.is_empty() {
                    return Err(DecodeError::InvalidValue);
                }
                let record = ClosedChannelMonitorUpdates { counterparty_node_id, updates };
                if closed_channel_monitor_updates.insert(channel_id, record).is_some() {
                    return Err(DecodeError::InvalidValue);
                }
            }
        }
        // A manager first written by version 1 may have closed channels
        // cooperatively without telling their monitors: it never records
        // every close, even once written again as version 2.
        let records_every_close = records_monitor_updates && bool::read(r)?;
        Ok(ChannelManager {
            chain_hash,
            config: args.config,
            chain_monitor: args.chain_monitor,
            tx_broadcaster: args.tx_broadcaster,
            fee_estimator: args.fee_estimator,
            router: args.router,
            logger: args.logger,
            keys: args.keys,
            secp_ctx: Secp256k1::new(),
            our_node_id,
            inbound_payment_key: ExpandedKey::new(&args.inbound_payment_key_material),
            best_block: Mutex::new(BestBlock::new(block_hash, height)),
            highest_seen_timestamp: Mutex::new(timestamp),
            state: Mutex::new(ManagerState {
                peers,
                outbound_payments,
                claimable_payments,
                closed_channel_monitor_updates,
            }),
            pending_events: Mutex::new(Vec::new()),
            pending_msg_events: Mutex::new(Vec::new()),
            records_every_close,
        })
    }
}

impl<M, T, F, R, L, K> Writeable for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    /// The same encoding as [`ChannelManager::write`], so persisters can
    /// store the manager like any other `Writeable`.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        ChannelManager::write(self, w)
    }
}

impl<M, T, F, R, L, K> crate::util::ser::ReadableArgs<ChannelManagerReadArgs<M, T, F, R, L, K>>
    for ChannelManager<M, T, F, R, L, K>
where
    M: Watch<SignerOf<K>>,
    T: BroadcasterInterface,
    F: FeeEstimator,
    R: Router,
    L: Logger,
    K: KeysInterface,
{
    /// The same as [`ChannelManager::read`].
    fn read<Rd: Read>(
        r: &mut Rd, args: ChannelManagerReadArgs<M, T, F, R, L, K>,
    ) -> Result<Self, DecodeError> {
        ChannelManager::read(r, args)
    }
}
