//! Reading monitors back and replaying their stored updates.

use core::str::FromStr;

use lightning_core::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use lightning_core::chain::chainmonitor::MonitorName;
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::ln::msgs::DecodeError;
use lightning_core::log_warn;
use lightning_core::sign::SignerProvider;
use lightning_core::util::logger::Logger;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_core::util::ser::{Readable, ReadableArgs};

use lightning_core::bitcoin::{OutPoint, Txid};

use super::ReadError;
use crate::codec::{read_record, CodecError, ValueKind, ValueLocation};

/// Parses a monitor's key (`TXID_INDEX`, as [`MonitorName`] displays it).
/// Only the canonical spelling is accepted, so one monitor has one key.
pub fn parse_monitor_name(key: &str) -> Option<MonitorName> {
    let (txid, vout) = key.split_once('_')?;
    if txid.len() != 64 {
        return None;
    }
    let txid = Txid::from_str(txid).ok()?;
    let vout = parse_decimal(vout)?;
    let vout = u32::try_from(vout).ok()?;
    let name = MonitorName::new(OutPoint { txid, vout });
    (name.to_string() == key).then_some(name)
}

/// Parses an update's key: its id in decimal, without sign or leading zeros.
pub fn parse_update_key(key: &str) -> Option<u64> {
    parse_decimal(key)
}

fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// Decodes `body` as a `T`, which must use every byte.
fn decode_all<T>(
    body: &[u8], location: impl FnOnce() -> ValueLocation,
    read: impl FnOnce(&mut &[u8]) -> Result<T, DecodeError>,
) -> Result<T, ReadError> {
    let mut reader = body;
    let result = read(&mut reader).and_then(|value| {
        if reader.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::BadLengthDescriptor)
        }
    });
    result.map_err(|error| ReadError::Decode { location: location(), error })
}

/// Reads every monitor in `store` and replays each one's pending updates (see
/// [`read_channel_monitor_with_updates`]), in the order of their names.
///
/// `broadcaster`, `fee_estimator` and `logger` serve the replayed updates (an
/// update that force-closes the channel broadcasts our commitment again).
pub fn read_channel_monitors_with_updates<K: KVStore + ?Sized, SP: SignerProvider>(
    store: &K, signer_provider: &SP, broadcaster: &dyn BroadcasterInterface,
    fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
) -> Result<Vec<ChannelMonitor<SP::EcdsaSigner>>, ReadError> {
    let primary = CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE;
    let secondary = CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE;
    let mut keys = store.list(primary, secondary).map_err(|error| {
        ReadError::Codec(CodecError::Store { location: ValueLocation::new(primary, secondary, ""), error })
    })?;
    keys.sort_unstable();
    let mut monitors = Vec::with_capacity(keys.len());
    for key in keys {
        let name = parse_monitor_name(&key).ok_or_else(|| ReadError::InvalidMonitorKey {
            location: ValueLocation::new(primary, secondary, &key),
        })?;
        monitors.push(read_channel_monitor_with_updates(
            store,
            name,
            signer_provider,
            broadcaster,
            fee_estimator,
            logger,
        )?);
    }
    Ok(monitors)
}

/// Reads the monitor stored under `name` and replays its pending updates.
///
/// The full monitor must decode and be the monitor of the channel `name`
/// denotes. Its stored updates are listed; those with ids up to the monitor's
/// `latest_update_id` are already in it and are removed (lazily). The rest
/// must run `latest + 1, latest + 2, ...` without a gap, and each must decode,
/// carry its key's id and the monitor's channel, and apply. The first that
/// does not is the error, naming its key.
pub fn read_channel_monitor_with_updates<K: KVStore + ?Sized, SP: SignerProvider>(
    store: &K, name: MonitorName, signer_provider: &SP, broadcaster: &dyn BroadcasterInterface,
    fee_estimator: &dyn FeeEstimator, logger: &dyn Logger,
) -> Result<ChannelMonitor<SP::EcdsaSigner>, ReadError> {
    let key = name.to_string();
    let primary = CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE;
    let secondary = CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE;
    let monitor_location = || ValueLocation::new(primary, secondary, &key);
    let body = read_record(store, primary, secondary, &key, ValueKind::ChannelMonitor)?;
    let monitor: ChannelMonitor<SP::EcdsaSigner> =
        decode_all(&body, monitor_location, |r| ReadableArgs::read(r, signer_provider))?;
    if monitor.funding_outpoint() != name.funding_outpoint() {
        return Err(ReadError::MonitorNameMismatch {
            location: monitor_location(),
            expected_name: MonitorName::new(monitor.funding_outpoint()).to_string(),
        });
    }

    let updates_ns = CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE;
    let update_location = |update_key: &str| ValueLocation::new(updates_ns, &key, update_key);
    let update_keys = store.list(updates_ns, &key).map_err(|error| {
        ReadError::Codec(CodecError::Store { location: ValueLocation::new(updates_ns, &key, ""), error })
    })?;
    let mut ids = Vec::with_capacity(update_keys.len());
    for update_key in &update_keys {
        let id = parse_update_key(update_key)
            .ok_or_else(|| ReadError::InvalidUpdateKey { location: update_location(update_key) })?;
        ids.push(id);
    }
    ids.sort_unstable();

    let latest_in_snapshot = monitor.latest_update_id();
    let first_pending = ids.partition_point(|id| *id <= latest_in_snapshot);
    for stale in &ids[..first_pending] {
        // Already folded into the full monitor (a crash came between its write
        // and the removal of the updates it covers).
        if let Err(e) = store.remove(updates_ns, &key, &stale.to_string(), true) {
            log_warn!(
                logger,
                "Cannot remove {}, already in the full monitor: {e}",
                update_location(&stale.to_string())
            );
        }
    }

    let channel_id = monitor.channel_id();
    // `latest_in_snapshot` is below every pending id, so it is not u64::MAX.
    let mut expected = latest_in_snapshot.saturating_add(1);
    for &id in &ids[first_pending..] {
        if id != expected {
            return Err(ReadError::MissingUpdate {
                location: update_location(&expected.to_string()),
                next_stored_update_id: id,
            });
        }
        let update_key = id.to_string();
        let location = || update_location(&update_key);
        let body = read_record(store, updates_ns, &key, &update_key, ValueKind::ChannelMonitorUpdate)?;
        let update: ChannelMonitorUpdate = decode_all(&body, location, |r| Readable::read(r))?;
        if update.update_id != id {
            return Err(ReadError::UpdateIdMismatch {
                location: location(),
                stored_update_id: update.update_id,
            });
        }
        if update.channel_id != channel_id {
            return Err(ReadError::UpdateForOtherChannel {
                location: location(),
                found_channel_id: update.channel_id,
            });
        }
        monitor
            .update_monitor(&update, broadcaster, fee_estimator, logger)
            .map_err(|error| ReadError::UpdateRefused { location: location(), error })?;
        expected = expected.saturating_add(1);
    }
    Ok(monitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keys_are_canonical_decimals() {
        assert_eq!(parse_update_key("0"), Some(0));
        assert_eq!(parse_update_key("105"), Some(105));
        assert_eq!(parse_update_key("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "007", "-1", "+1", "1a", "18446744073709551616", " 1", "1_0"] {
            assert_eq!(parse_update_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn monitor_names_round_trip_and_only_canonically() {
        let txid =
            Txid::from_str("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b").expect("txid");
        let name = MonitorName::new(OutPoint { txid, vout: 7 });
        let key = name.to_string();
        assert_eq!(parse_monitor_name(&key), Some(name));
        let upper = key.to_uppercase();
        for bad in [
            upper.as_str(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b_07",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda3_7",
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b_4294967296",
            "zz5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b_7",
            "chan_0",
        ] {
            assert_eq!(parse_monitor_name(bad), None, "{bad:?}");
        }
    }
}
