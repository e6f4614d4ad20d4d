//! Start-up: the monitor updates a manager read back still owes its
//! monitors, and handing them over.
//!
//! The manager keeps every `ChannelMonitorUpdate` the watch answered
//! `InProgress` for until the watch reports it persisted, and writes them
//! with the channel (and, for a channel it closed since, in a record of its
//! own). If the manager is saved while such an update is being written and
//! the process stops before the write ends, the stored monitor is behind the
//! stored manager. At start-up, once the monitors are loaded into the watch,
//! [`ChannelManager::replay_in_flight_monitor_updates`] hands the monitor
//! every recorded update newer than its `latest_update_id`, in order, through
//! the watch (so they are persisted again); those the monitor already has are
//! dropped. A channel stays paused until its monitor has them all. Updates the
//! record does not cover mean lost data: [`InFlightMonitorUpdates::updates_to_replay`]
//! says so before anything is changed.
//!
//! Closing updates are recorded the same way, including one the watch could
//! not persist at all. So with a manager of this version, a monitor that is
//! still open and that the manager has neither a channel nor a record for is
//! never a cooperative close waiting to confirm (every cooperative close
//! sends [`ChannelMonitorUpdateStep::CooperativeClose`]); see
//! [`ChannelManager::records_every_close`].
//!
//! [`ChannelMonitorUpdateStep::CooperativeClose`]: crate::chain::channelmonitor::ChannelMonitorUpdateStep::CooperativeClose

use super::*;
use crate::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID;

/// The monitor updates a manager handed to the watch for one channel and has
/// not heard persisted; start-up hands those a monitor lacks back to it
/// ([`ChannelManager::replay_in_flight_monitor_updates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightMonitorUpdates {
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// Whether the manager still runs the channel. False for a channel it
    /// closed, whose updates end with the closing one.
    pub channel_open: bool,
    /// For an open channel: its new monitor itself was being written, so the
    /// store may not have it at all.
    pub initial_monitor_in_flight: bool,
    /// The monitor update id the monitor must reach: for an open channel the
    /// last one the manager issued, for a closed one
    /// [`CLOSED_CHANNEL_UPDATE_ID`].
    pub latest_update_id: u64,
    /// The updates, oldest first.
    pub updates: Vec<ChannelMonitorUpdate>,
}

/// Why recorded in-flight monitor updates could not be handed to a monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorReplayError {
    /// The manager has neither a channel nor a record for this channel id.
    UnknownChannel,
    /// The monitor is behind the manager by more than the recorded updates:
    /// updates the manager counted as persisted were lost.
    MissingUpdates {
        /// The monitor's latest update id.
        monitor_update_id: u64,
        /// The update id the manager expects the monitor to reach.
        manager_update_id: u64,
    },
    /// The watch refused the update or could not persist it.
    UpdateFailed {
        /// The update.
        update_id: u64,
    },
}

impl core::fmt::Display for MonitorReplayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MonitorReplayError::UnknownChannel => f.write_str("no such channel or in-flight record"),
            MonitorReplayError::MissingUpdates { monitor_update_id, manager_update_id } => write!(
                f,
                "the monitor is at update {monitor_update_id} but the manager at {manager_update_id}, and the updates between are not recorded"
            ),
            MonitorReplayError::UpdateFailed { update_id } => {
                write!(f, "the watch refused or could not persist update {update_id}")
            }
        }
    }
}

impl InFlightMonitorUpdates {
    /// The recorded updates a monitor at `monitor_update_id` lacks, in the
    /// order to apply them; empty if it has everything (an open channel's
    /// monitor at or past the manager, or a closed monitor). Fails if the
    /// record does not continue from the monitor: the monitor is behind by
    /// updates that are recorded nowhere.
    pub fn updates_to_replay(
        &self, monitor_update_id: u64,
    ) -> Result<Vec<&ChannelMonitorUpdate>, MonitorReplayError> {
        if monitor_update_id == CLOSED_CHANNEL_UPDATE_ID
            || (self.channel_open && monitor_update_id >= self.latest_update_id)
        {
            return Ok(Vec::new());
        }
        let missing = MonitorReplayError::MissingUpdates {
            monitor_update_id,
            manager_update_id: self.latest_update_id,
        };
        let newer: Vec<&ChannelMonitorUpdate> =
            self.updates.iter().filter(|u| u.update_id > monitor_update_id).collect();
        // The numbered updates must follow the monitor's id one by one; a
        // closed channel's closing update(s) come last.
        let mut expected = monitor_update_id;
        for update in newer.iter().filter(|u| u.update_id != CLOSED_CHANNEL_UPDATE_ID) {
            expected = expected.checked_add(1).ok_or(missing.clone())?;
            if update.update_id != expected {
                return Err(missing);
            }
        }
        let reaches = if self.channel_open {
            expected == self.latest_update_id
        } else {
            newer.last().is_some_and(|u| u.update_id == CLOSED_CHANNEL_UPDATE_ID)
        };
        if reaches {
            Ok(newer)
        } else {
            Err(missing)
        }
    }
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
    /// Every channel with monitor updates the watch has not reported
    /// persisted: open channels first (only those with something in flight),
    /// then the records of closed channels.
    pub fn list_in_flight_monitor_updates(&self) -> Vec<InFlightMonitorUpdates> {
        let st = self.state.lock();
        let mut out = Vec::new();
        for (node_id, peer) in st.peers.iter() {
            for phase in peer.channels.values() {
                let ChannelPhase::Funded(mc) = phase else { continue };
                if !mc.gate.is_blocked() {
                    continue;
                }
                out.push(InFlightMonitorUpdates {
                    channel_id: mc.chan.channel_id(),
                    counterparty_node_id: *node_id,
                    channel_open: true,
                    initial_monitor_in_flight: mc.gate.initial_persist_in_flight,
                    latest_update_id: mc.chan.latest_monitor_update_id(),
                    updates: mc.gate.in_flight.clone(),
                });
            }
        }
        for (channel_id, record) in st.closed_channel_monitor_updates.iter() {
            out.push(InFlightMonitorUpdates {
                channel_id: *channel_id,
                counterparty_node_id: record.counterparty_node_id,
                channel_open: false,
                initial_monitor_in_flight: false,
                latest_update_id: CLOSED_CHANNEL_UPDATE_ID,
                updates: record.updates.clone(),
            });
        }
        out
    }

    /// Whether every channel this manager closed left a trace its monitor can
    /// be checked against: the monitor got a closing update, or the update is
    /// recorded in flight ([`Self::list_in_flight_monitor_updates`]). True for
    /// a manager created by this version; false for one first written by a
    /// version that did not tell monitors of cooperative closes (and it stays
    /// false when such a manager is written again). When true,
    /// an open monitor the manager has neither a channel nor a record for is
    /// a channel opened after the manager was saved, never a cooperative close
    /// waiting to confirm: its latest commitment (never revoked: we revoke a
    /// commitment only once the monitor has the next) is safe to broadcast.
    pub fn records_every_close(&self) -> bool {
        self.records_every_close
    }

    /// Start-up, once the monitors are loaded into the watch: hands the
    /// monitor of `channel_id`, which the store had at `monitor_update_id`,
    /// every recorded in-flight update it lacks, in order, through the watch
    /// (which applies and persists them again), and forgets those it already
    /// has. Returns the ids handed over.
    ///
    /// An open channel stays paused while any of them is still being
    /// persisted (`InProgress`) and resumes when the watch reports it; if
    /// nothing is left in flight it resumes now. Fails without handing
    /// anything over if the record does not reach the manager's state from
    /// the monitor's ([`MonitorReplayError::MissingUpdates`]), and stops at
    /// an update the watch refuses.
    pub fn replay_in_flight_monitor_updates(
        &self, channel_id: &ChannelId, monitor_update_id: u64,
    ) -> Result<Vec<u64>, MonitorReplayError> {
        let record = self
            .list_in_flight_monitor_updates()
            .into_iter()
            .find(|r| r.channel_id == *channel_id)
            .ok_or(MonitorReplayError::UnknownChannel)?;
        let to_replay: Vec<ChannelMonitorUpdate> =
            record.updates_to_replay(monitor_update_id)?.into_iter().cloned().collect();
        let mut out = Outbox::default();
        let mut replayed = Vec::with_capacity(to_replay.len());
        let result = {
            let mut st = self.state.lock();
            // What the monitor has (the new monitor itself included) is done.
            let mut result = Ok(());
            self.monitor_updated(&mut st, &mut out, *channel_id, monitor_update_id);
            for update in to_replay {
                log_info!(
                    self.logger,
                    channel = Some(*channel_id),
                    "Handing monitor update {} to the monitor again (in flight when the manager was saved)",
                    update.update_id
                );
                replayed.push(update.update_id);
                match self.chain_monitor.update_channel(*channel_id, &update) {
                    ChannelMonitorUpdateStatus::Completed => {
                        self.monitor_updated(&mut st, &mut out, *channel_id, update.update_id)
                    }
                    ChannelMonitorUpdateStatus::InProgress => {}
                    ChannelMonitorUpdateStatus::UnrecoverableError => {
                        result = Err(MonitorReplayError::UpdateFailed { update_id: update.update_id });
                        break;
                    }
                }
            }
            self.flush_msgs(&mut out);
            result
        };
        self.flush(out);
        result.map(|()| replayed)
    }

    /// Start-up: forgets a channel the stored manager still runs but whose
    /// monitor already holds the cooperative closing transaction (the
    /// manager was saved before the close was signed). Raises
    /// `ChannelClosed` with [`ClosureReason::CooperativeClosure`] and sends
    /// the monitor nothing: it is closed, and it rebroadcasts the closing
    /// transaction itself. (Force-closing instead would broadcast our
    /// commitment against the agreed closing transaction.)
    pub fn forget_cooperatively_closed_channel(
        &self, counterparty_node_id: &PublicKey, channel_id: &ChannelId,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let removed = st.peers.get_mut(counterparty_node_id).and_then(|p| p.channels.remove(channel_id));
            let Some(ChannelPhase::Funded(mc)) = removed else {
                return Err(APIError::ChannelUnavailable { err: "no such funded channel".into() });
            };
            log_info!(
                self.logger,
                channel = Some(*channel_id),
                "The monitor has the cooperative closing transaction: the channel is closed"
            );
            out.events.push(Event::ChannelClosed {
                channel_id: *channel_id,
                user_channel_id: mc.chan.user_channel_id(),
                reason: ClosureReason::CooperativeClosure,
                counterparty_node_id: Some(*counterparty_node_id),
                channel_capacity_sats: Some(mc.chan.channel_value_satoshis()),
            });
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }

    /// Start-up: forgets a funded channel whose new monitor was still being
    /// written when the manager was saved and is not in the store. Nothing
    /// was signed that depends on it: as funder we had not broadcast the
    /// funding (held for the monitor), as fundee we had not sent
    /// `funding_signed`. Raises `ChannelClosed` (reason
    /// [`ClosureReason::DisconnectedPeer`], as for a channel whose funding
    /// never completed) and, as funder, `DiscardFunding`. Refused for any
    /// other channel: one whose monitor was persisted must keep it.
    pub fn discard_channel_without_persisted_monitor(
        &self, counterparty_node_id: &PublicKey, channel_id: &ChannelId,
    ) -> Result<(), APIError> {
        let mut out = Outbox::default();
        {
            let mut st = self.state.lock();
            let peer = st
                .peers
                .get_mut(counterparty_node_id)
                .ok_or(APIError::ChannelUnavailable { err: "unknown peer".into() })?;
            match peer.channels.get(channel_id) {
                Some(ChannelPhase::Funded(mc)) if mc.gate.initial_persist_in_flight => {}
                Some(_) => {
                    return Err(APIError::APIMisuseError {
                        err: "the channel's monitor was persisted: it cannot be discarded".into(),
                    })
                }
                None => return Err(APIError::ChannelUnavailable { err: "no such channel".into() }),
            }
            let Some(ChannelPhase::Funded(mc)) = peer.channels.remove(channel_id) else {
                return Err(APIError::ChannelUnavailable { err: "no such channel".into() });
            };
            log_error!(
                self.logger,
                channel = Some(*channel_id),
                "Discarding a channel whose first monitor never reached the store"
            );
            if let Some(tx) = mc.chan.funding_transaction() {
                out.events.push(Event::DiscardFunding {
                    channel_id: *channel_id,
                    funding_txid: tx.compute_txid(),
                    transaction: Some(tx.clone()),
                });
            }
            out.events.push(Event::ChannelClosed {
                channel_id: *channel_id,
                user_channel_id: mc.chan.user_channel_id(),
                reason: ClosureReason::DisconnectedPeer,
                counterparty_node_id: Some(*counterparty_node_id),
                channel_capacity_sats: Some(mc.chan.channel_value_satoshis()),
            });
            self.flush_msgs(&mut out);
        }
        self.flush(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    const MAX: u64 = CLOSED_CHANNEL_UPDATE_ID;

    fn record(channel_open: bool, latest_update_id: u64, ids: &[u64]) -> InFlightMonitorUpdates {
        let channel_id = ChannelId([3; 32]);
        let secp = Secp256k1::new();
        let key = bitcoin::secp256k1::SecretKey::from_slice(&[1; 32]).expect("valid key");
        InFlightMonitorUpdates {
            channel_id,
            counterparty_node_id: PublicKey::from_secret_key(&secp, &key),
            channel_open,
            initial_monitor_in_flight: false,
            latest_update_id,
            updates: ids
                .iter()
                .map(|&update_id| ChannelMonitorUpdate { update_id, channel_id, updates: Vec::new() })
                .collect(),
        }
    }

    fn replay(r: &InFlightMonitorUpdates, monitor: u64) -> Result<Vec<u64>, MonitorReplayError> {
        r.updates_to_replay(monitor).map(|us| us.iter().map(|u| u.update_id).collect())
    }

    fn missing(monitor_update_id: u64, manager_update_id: u64) -> Result<Vec<u64>, MonitorReplayError> {
        Err(MonitorReplayError::MissingUpdates { monitor_update_id, manager_update_id })
    }

    #[test]
    fn an_open_channel_replays_exactly_what_its_monitor_lacks() {
        let r = record(true, 7, &[5, 6, 7]);
        assert_eq!(replay(&r, 4), Ok(vec![5, 6, 7]));
        assert_eq!(replay(&r, 5), Ok(vec![6, 7]), "updates the monitor has are skipped");
        assert_eq!(replay(&r, 7), Ok(vec![]));
        assert_eq!(replay(&r, 9), Ok(vec![]), "a monitor ahead (stale manager) gets nothing");
        assert_eq!(replay(&r, MAX), Ok(vec![]));
        assert_eq!(replay(&r, 3), missing(3, 7), "update 4 is recorded nowhere");
        // A record with a hole, or one that stops short of the manager.
        assert_eq!(replay(&record(true, 7, &[5, 7]), 4), missing(4, 7));
        assert_eq!(replay(&record(true, 7, &[5, 6]), 4), missing(4, 7));
        assert_eq!(replay(&record(true, 7, &[]), 6), missing(6, 7));
    }

    #[test]
    fn a_closed_channel_replays_up_to_its_closing_update() {
        let r = record(false, MAX, &[5, 6, MAX]);
        assert_eq!(replay(&r, 4), Ok(vec![5, 6, MAX]));
        assert_eq!(replay(&r, 6), Ok(vec![MAX]));
        assert_eq!(replay(&r, 10), Ok(vec![MAX]), "a monitor past the numbered updates gets the close");
        assert_eq!(replay(&r, MAX), Ok(vec![]), "already closed");
        assert_eq!(replay(&r, 3), missing(3, MAX));
        assert_eq!(replay(&record(false, MAX, &[MAX]), 12), Ok(vec![MAX]));
        assert_eq!(replay(&record(false, MAX, &[5, 6]), 4), missing(4, MAX), "no closing update");
    }
}
