//! The monitor round trip at the level of whole nodes: open a channel, pay,
//! persist through a `FilesystemStore`, drop every in-memory object, start
//! again from the directory with `read_channel_manager_and_monitors`, and
//! keep paying on the same channel; with `InProgress`, the channel waits for
//! the write. Also what start-up does when the stored manager and monitors
//! disagree.

mod common;

use std::fs;

use common::files_under;
use common::node::{monitor_name, ManualSpawner, Mode, Network};
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID;
use lightning_core::events::{ClosureReason, Event, MessageSendEvent};
use lightning_core::ln::types::{ChannelId, PaymentPreimage};
use lightning_core::routing::gossip::NetworkGraph;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, NETWORK_GRAPH_PERSISTENCE_KEY,
};
use lightning_persister::codec::{
    decode_envelope, decode_record, CodecError, FormatError, ValueKind, ValueLocation, FORMAT_VERSION,
};
use lightning_persister::monitor::ReadError;
use lightning_persister::node_state::{persist_graph, StartupError};

const MONITORS: &str = CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE;
const UPDATES: &str = CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE;

#[test]
fn channel_keeps_paying_after_both_nodes_restart_from_disk() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    for _ in 0..3 {
        net.send_and_claim(0, 1, 10_000_000);
    }
    net.send_and_claim(1, 0, 4_000_000);
    let name = monitor_name(&funding_tx);
    // Each payment takes several monitor updates: some are compacted (every
    // 5), the rest are numbered keys.
    let (manager_id, monitor_id) = net.update_ids(0, 1, chan);
    assert_eq!(manager_id, monitor_id);
    assert!(manager_id > 5, "enough updates to compact: {manager_id}");
    let tail = net.stored_update_ids(0, &name);
    assert_eq!(tail, (manager_id - manager_id % 5 + 1..=manager_id).collect::<Vec<_>>());
    for i in [0, 1] {
        net.nodes[i].persist_manager();
    }
    let files = net.nodes[0].store.list("", "").expect("list");
    assert_eq!(files, vec![CHANNEL_MANAGER_PERSISTENCE_KEY.to_string()]);

    net.disconnect(0, 1);
    for i in [0, 1] {
        let report = net.restart(i).unwrap_or_else(|e| panic!("node {i} restarts: {e}"));
        assert_eq!(report.monitors_loaded, 1);
        assert!(report.stale_channels_force_closed.is_empty());
        assert!(report.monitors_without_channel.is_empty());
    }
    assert_eq!(net.update_ids(0, 1, chan), (manager_id, monitor_id), "the monitor replayed its tail");
    net.connect(0, 1);
    net.process_all();
    assert_eq!(net.balance_msat(0, 1, chan), 1_000_000_000 - 30_000_000 + 4_000_000);
    assert!(net.nodes[0].node.list_usable_channels().iter().any(|c| c.channel_id == chan));

    // The same channel keeps working, and keeps being persisted.
    net.send_and_claim(0, 1, 5_000_000);
    net.send_and_claim(1, 0, 1_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), 970_000_000);
    let (manager_id, monitor_id) = net.update_ids(0, 1, chan);
    assert_eq!(manager_id, monitor_id);

    // And once more, to read what the restarted node wrote.
    net.nodes[0].persist_manager();
    net.disconnect(0, 1);
    net.restart(0).expect("restarts again");
    net.connect(0, 1);
    net.process_all();
    net.send_and_claim(0, 1, 1_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), 969_000_000);
    assert!(net.nodes[0].broadcaster.take().is_empty(), "no force-close anywhere");
}

#[test]
fn a_stale_manager_closes_the_channel_with_the_monitors_latest_commitment() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    net.nodes[0].persist_manager();
    // The channel moves on; the manager is not saved again before the crash.
    net.send_and_claim(0, 1, 20_000_000);
    let latest_commitment =
        net.nodes[0].chain_monitor.get_monitor(chan).expect("monitor").latest_holder_commitment_txid();
    net.disconnect(0, 1);
    let report = net.restart(0).expect("restarts");
    assert_eq!(report.stale_channels_force_closed, vec![chan]);
    let broadcast = net.nodes[0].broadcaster.take();
    assert_eq!(broadcast.len(), 1, "{broadcast:?}");
    assert_eq!(
        Some(broadcast[0].compute_txid()),
        latest_commitment,
        "the monitor's latest, not the manager's stale one"
    );
    assert_eq!(broadcast[0].input[0].previous_output.txid, funding_tx.compute_txid());
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::HolderForceClosed, .. } if *channel_id == chan)),
        "{events:?}"
    );
    assert!(net.nodes[0].node.list_channels().is_empty());
    // The close update was persisted: the stored monitor is closed.
    let monitor = net.nodes[0].chain_monitor.get_monitor(chan).expect("still watched");
    assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
    assert!(net.stored_update_ids(0, &monitor_name(&funding_tx)).is_empty());
}

#[test]
fn start_up_refuses_a_manager_whose_monitor_is_missing_or_behind() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    let name = monitor_name(&funding_tx);
    net.send_and_claim(0, 1, 1_000_000);
    while net.stored_update_ids(0, &name).is_empty() {
        net.send_and_claim(0, 1, 1_000_000);
    }
    net.nodes[0].persist_manager();
    let (latest, _) = net.update_ids(0, 1, chan);
    let store_dir = net.dirs[0].path().to_path_buf();
    net.disconnect(0, 1);
    net.stop(0);

    // The last update is lost: the monitor is behind the manager.
    let last_update = store_dir.join(UPDATES).join(&name).join(latest.to_string());
    let saved = fs::read(&last_update).expect("stored");
    fs::remove_file(&last_update).expect("remove");
    let Err(err) = net.start(0) else { panic!("accepted") };
    assert!(
        matches!(err, StartupError::MonitorBehindManager { channel_id, monitor_update_id, manager_update_id }
            if channel_id == chan && monitor_update_id == latest - 1 && manager_update_id == latest),
        "{err}"
    );

    // A stored update is damaged: the error names its file.
    let mut damaged = saved.clone();
    damaged[20] ^= 4;
    // Opening the store dropped the update directory the removal left empty.
    fs::create_dir_all(last_update.parent().expect("parent")).expect("namespace directory");
    fs::write(&last_update, &damaged).expect("damage");
    let Err(err) = net.start(0) else { panic!("accepted") };
    match &err {
        StartupError::Read(read) => {
            assert_eq!(read.location(), &ValueLocation::new(UPDATES, &name, &latest.to_string()));
            assert!(matches!(read, ReadError::Codec(_)));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&format!("{UPDATES}/{name}/{latest}")), "{err}");

    // The monitor is gone altogether.
    fs::write(&last_update, &saved).expect("restore");
    let monitor_file = store_dir.join(MONITORS).join(&name);
    let monitor_bytes = fs::read(&monitor_file).expect("stored");
    fs::remove_file(&monitor_file).expect("remove");
    let Err(err) = net.start(0) else { panic!("accepted") };
    assert!(matches!(err, StartupError::MissingMonitor { channel_id, .. } if channel_id == chan), "{err}");

    // Repaired, the node starts and the channel works.
    fs::write(&monitor_file, &monitor_bytes).expect("restore");
    net.start(0).expect("starts");
    net.connect(0, 1);
    net.process_all();
    net.send_and_claim(0, 1, 1_000_000);
}

/// The kind and the format error of a start-up that refused a value.
fn wrong_kind(err: &StartupError) -> (&ValueLocation, ValueKind, ValueKind) {
    match err {
        StartupError::Read(ReadError::Codec(CodecError::Format {
            location,
            error: FormatError::WrongKind { expected, found },
        })) => (location, *expected, *found),
        other => panic!("not a wrong-kind error: {other}"),
    }
}

#[test]
fn start_up_refuses_a_value_of_the_wrong_kind_naming_the_file_and_both_kinds() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    let name = monitor_name(&funding_tx);
    while net.stored_update_ids(0, &name).is_empty() {
        net.send_and_claim(0, 1, 1_000_000);
    }
    net.nodes[0].persist_manager();
    let graph = NetworkGraph::new(ChainHash::using_genesis_block(lightning_core::bitcoin::Network::Regtest));
    persist_graph(&*net.nodes[0].store, &graph).expect("graph persisted");
    let update_id = net.stored_update_ids(0, &name)[0];
    let store_dir = net.dirs[0].path().to_path_buf();
    net.disconnect(0, 1);
    net.stop(0);

    let monitor_file = store_dir.join(MONITORS).join(&name);
    let update_file = store_dir.join(UPDATES).join(&name).join(update_id.to_string());
    let manager_file = store_dir.join(CHANNEL_MANAGER_PERSISTENCE_KEY);
    let graph_file = store_dir.join(NETWORK_GRAPH_PERSISTENCE_KEY);
    let originals: Vec<(std::path::PathBuf, Vec<u8>)> = [&monitor_file, &update_file, &manager_file]
        .into_iter()
        .map(|path| (path.clone(), fs::read(path).expect("stored")))
        .collect();
    let restore = || {
        for (path, bytes) in &originals {
            fs::write(path, bytes).expect("restore");
        }
    };

    // The network graph under the monitor's key.
    fs::copy(&graph_file, &monitor_file).expect("copy");
    let Err(err) = net.start(0) else { panic!("accepted") };
    let (location, expected, found) = wrong_kind(&err);
    assert_eq!(location, &ValueLocation::new(MONITORS, "", &name));
    assert_eq!((expected, found), (ValueKind::ChannelMonitor, ValueKind::NetworkGraph));
    let shown = err.to_string();
    assert!(shown.contains(&format!("{MONITORS}/{name}")), "{shown}");
    assert!(shown.contains("holds a network graph where a channel monitor was expected"), "{shown}");

    // The manager under an update's key.
    restore();
    fs::copy(&manager_file, &update_file).expect("copy");
    let Err(err) = net.start(0) else { panic!("accepted") };
    let (location, expected, found) = wrong_kind(&err);
    assert_eq!(location, &ValueLocation::new(UPDATES, &name, &update_id.to_string()));
    assert_eq!((expected, found), (ValueKind::ChannelMonitorUpdate, ValueKind::ChannelManager));
    assert!(err.to_string().contains(&format!("{UPDATES}/{name}/{update_id}")), "{err}");
    assert!(err.to_string().contains("holds a channel manager where a channel monitor update was expected"));

    // The monitor under the manager's key.
    restore();
    fs::copy(&monitor_file, &manager_file).expect("copy");
    let Err(err) = net.start(0) else { panic!("accepted") };
    let (location, expected, found) = wrong_kind(&err);
    assert_eq!(location, &ValueLocation::new("", "", CHANNEL_MANAGER_PERSISTENCE_KEY));
    assert_eq!((expected, found), (ValueKind::ChannelManager, ValueKind::ChannelMonitor));
    assert!(
        err.to_string()
            .contains("value manager: holds a channel monitor where a channel manager was expected"),
        "{err}"
    );

    // Put back, the node starts and the channel works.
    restore();
    net.start(0).expect("starts");
    net.connect(0, 1);
    net.process_all();
    net.send_and_claim(0, 1, 1_000_000);
    assert!(net.nodes[0].node.list_usable_channels().iter().any(|c| c.channel_id == chan));
}

/// Rewrites every value under `dir` in the version 1 format of the earlier
/// code: the same header with version 1, the body alone as the payload.
fn rewrite_as_version_1(dir: &std::path::Path) -> usize {
    let mut rewritten = 0;
    for relative in files_under(dir) {
        let path = dir.join(relative);
        let bytes = fs::read(&path).expect("stored");
        let (version, _) = decode_envelope(&bytes).expect("a valid envelope");
        assert_eq!(version, FORMAT_VERSION, "{}: written in the current format", path.display());
        let body = ValueKind::ALL
            .into_iter()
            .find_map(|kind| decode_record(&bytes, kind).ok())
            .expect("a record of some kind");
        let mut old = b"LNKV".to_vec();
        old.push(1);
        old.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&old);
        crc.update(body);
        old.extend_from_slice(&crc.finalize().to_be_bytes());
        old.extend_from_slice(body);
        fs::write(&path, old).expect("rewrite");
        rewritten += 1;
    }
    rewritten
}

#[test]
fn a_store_written_in_format_version_1_still_starts() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    let name = monitor_name(&funding_tx);
    while net.stored_update_ids(0, &name).is_empty() {
        net.send_and_claim(0, 1, 1_000_000);
    }
    let balance_msat = net.balance_msat(0, 1, chan);
    net.nodes[0].persist_manager();
    let tail = net.stored_update_ids(0, &name);
    net.disconnect(0, 1);
    net.stop(0);
    // The manager, the monitor and its tail of updates.
    assert_eq!(rewrite_as_version_1(net.dirs[0].path()), 2 + tail.len());

    let report = net.start(0).expect("a version 1 store starts");
    assert_eq!(report.monitors_loaded, 1);
    assert!(report.stale_channels_force_closed.is_empty());
    net.connect(0, 1);
    net.process_all();
    assert_eq!(net.balance_msat(0, 1, chan), balance_msat);
    net.send_and_claim(0, 1, 1_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), balance_msat - 1_000_000);
    assert!(net.nodes[0].broadcaster.take().is_empty(), "no force-close");
}

#[test]
fn monitors_without_a_manager_refuse_to_start() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    net.create_channel(0, 1, 500_000);
    net.disconnect(0, 1);
    net.stop(0);
    let Err(err) = net.start(0) else { panic!("accepted") };
    assert!(matches!(err, StartupError::MonitorsWithoutManager { monitor_count: 1 }), "{err}");
}

#[test]
fn in_progress_channel_waits_for_the_write_and_survives_a_crash_before_it() {
    let spawner = ManualSpawner::default();
    let mut net = Network::new(vec![Mode::Sync, Mode::Async(spawner.clone())]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    let name = monitor_name(&funding_tx);
    net.send_and_claim(0, 1, 7_000_000);
    net.nodes[1].persist_manager();
    let before = net.update_ids(1, 0, chan);

    // Node 0 adds an HTLC and signs; node 1's monitor update is in progress.
    let (preimage, hash) = net.route_payment(0, 1, 3_000_000);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    assert!(net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    assert!(net.nodes[1].msgs().is_empty(), "no revoke_and_ack before the monitor has the new commitment");
    assert!(spawner.queued() > 0);
    let pending = net.nodes[1].chain_monitor.list_pending_monitor_updates();
    let in_flight = pending.get(&chan).cloned().expect("an update in progress");
    assert!(net.stored_update_ids(1, &name).iter().all(|id| !in_flight.contains(id)), "not on disk yet");
    assert!(net.nodes[1].store.read(MONITORS, "", &name).is_ok(), "the full monitor from before is there");

    // Written: the channel resumes and the payment completes.
    spawner.run_all();
    assert!(net.nodes[1].chain_monitor.list_pending_monitor_updates().is_empty());
    let released = net.nodes[1].msgs();
    assert!(matches!(released.first(), Some(MessageSendEvent::SendRevokeAndACK { .. })), "{released:?}");
    for ev in released {
        net.deliver(1, ev);
    }
    net.settle();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash)));
    net.nodes[1].node.claim_funds(preimage);
    net.settle();
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::PaymentSent { .. })));

    // Now a crash while a write is in progress: node 1 handled node 0's
    // commitment, but the write never ran. The manager on disk is from
    // before, so is the monitor: they agree, and the peer retransmits.
    net.nodes[1].persist_manager();
    let balance_before = net.balance_msat(1, 0, chan);
    let (preimage, hash) = net.route_payment(0, 1, 2_000_000);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    assert!(net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    net.disconnect(0, 1);
    net.stop(1);
    spawner.0.lock().expect("lock").clear(); // the crash: the queued write is lost
    let report = net.start(1).expect("restarts");
    assert!(report.stale_channels_force_closed.is_empty());
    assert!(!net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    net.connect(0, 1);
    net.settle();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash)));
    net.nodes[1].node.claim_funds(preimage);
    net.settle();
    assert!(net.nodes[0].events().iter().any(|e| matches!(e, Event::PaymentSent { .. })));
    assert_eq!(net.balance_msat(1, 0, chan), balance_before + 2_000_000);
    let (manager_id, monitor_id) = net.update_ids(1, 0, chan);
    assert_eq!(manager_id, monitor_id);
    assert!(manager_id > before.0);
    assert!(net.nodes[0].broadcaster.take().is_empty() && net.nodes[1].broadcaster.take().is_empty());
}

#[test]
fn a_manager_saved_ahead_of_in_progress_monitor_writes_recovers_after_a_crash() {
    let spawner = ManualSpawner::default();
    let mut net = Network::new(vec![Mode::Sync, Mode::Async(spawner.clone())]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    let name = monitor_name(&funding_tx);
    // Payment A reaches node 1 and waits to be claimed.
    let (preimage_a, hash_a) = net.route_payment(0, 1, 3_000_000);
    net.settle();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash_a)));
    let (_, stored_before) = net.update_ids(1, 0, chan);

    // Payment B's commitment reaches node 1 (its new holder commitment is
    // being written), then node 1 claims A (the preimage, then the
    // counterparty commitment with the fulfill): three updates queued.
    let (preimage_b, hash_b) = net.route_payment(0, 1, 2_000_000);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    net.nodes[1].node.claim_funds(preimage_a);
    let (manager_update_id, _) = net.update_ids(1, 0, chan);
    let queued: Vec<u64> = (stored_before + 1..=manager_update_id).collect();
    assert_eq!(queued.len(), 3, "{queued:?}");
    assert_eq!(net.nodes[1].chain_monitor.list_pending_monitor_updates().get(&chan), Some(&queued));
    let record = net.nodes[1].node.list_in_flight_monitor_updates();
    assert_eq!(record.len(), 1);
    assert_eq!(record[0].updates.iter().map(|u| u.update_id).collect::<Vec<_>>(), queued);
    assert!(net.nodes[1].msgs().is_empty(), "nothing leaves before the monitor has it");

    // Saved while the writes are queued, then a crash loses them.
    net.nodes[1].persist_manager();
    net.disconnect(0, 1);
    net.stop(1);
    spawner.0.lock().expect("lock").clear();
    assert!(net.stored_update_ids_at(1, &name).iter().all(|id| *id <= stored_before));

    // A stored update older than the record is lost as well: that is not
    // recoverable, and start-up still refuses.
    let stored = net.stored_update_ids_at(1, &name);
    {
        let last = stored.last().expect("updates since the last full monitor");
        let path = net.dirs[1].path().join(UPDATES).join(&name).join(last.to_string());
        let saved = fs::read(&path).expect("stored");
        fs::remove_file(&path).expect("remove");
        let Err(err) = net.start(1) else { panic!("accepted") };
        assert!(
            matches!(err, StartupError::MonitorBehindManager { channel_id, monitor_update_id, manager_update_id: m }
                if channel_id == chan && monitor_update_id == last - 1 && m == manager_update_id),
            "{err}"
        );
        fs::write(&path, saved).expect("restore");
    }

    // Restarted: the monitor gets the three updates again, persisted anew.
    let report = net.start(1).expect("recovers");
    let replayed: Vec<(ChannelId, u64)> = queued.iter().map(|id| (chan, *id)).collect();
    assert_eq!(report.monitor_updates_replayed, replayed);
    assert!(report.stale_channels_force_closed.is_empty());
    assert_eq!(net.update_ids(1, 0, chan), (manager_update_id, manager_update_id));
    assert!(net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan), "until written again");
    spawner.run_all();
    let _ = net.nodes[1].msgs(); // processes the completions
    assert!(!net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());

    // The node keeps paying: B and A complete after the reestablishment.
    net.connect(0, 1);
    net.settle();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash_b)));
    net.nodes[1].node.claim_funds(preimage_b);
    net.settle();
    let sent: Vec<PaymentPreimage> = net.nodes[0]
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::PaymentSent { payment_preimage, .. } => Some(payment_preimage),
            _ => None,
        })
        .collect();
    assert!(sent.contains(&preimage_a) && sent.contains(&preimage_b), "{sent:?}");
    assert_eq!(net.balance_msat(1, 0, chan), 5_000_000);
    net.send_and_claim(0, 1, 1_000_000);
    net.send_and_claim(0, 1, 500_000);
    assert_eq!(net.balance_msat(1, 0, chan), 6_500_000);

    // And what it wrote reads back: the store has everything the manager has.
    net.nodes[1].persist_manager();
    net.disconnect(0, 1);
    let report = net.restart(1).expect("restarts");
    assert!(report.monitor_updates_replayed.is_empty());
    let (manager_id, monitor_id) = net.update_ids(1, 0, chan);
    assert_eq!(manager_id, monitor_id);
    net.connect(0, 1);
    net.settle();
    // (Another amount: the restarted keys draw the same randomness again.)
    net.send_and_claim(0, 1, 700_000);
    assert_eq!(net.balance_msat(1, 0, chan), 7_200_000);
    assert!(net.nodes[0].broadcaster.take().is_empty() && net.nodes[1].broadcaster.take().is_empty());
}

#[test]
fn updates_written_before_the_crash_but_still_recorded_are_skipped() {
    let spawner = ManualSpawner::default();
    let mut net = Network::new(vec![Mode::Sync, Mode::Async(spawner.clone())]);
    net.connect(0, 1);
    let (chan, _) = net.create_channel(0, 1, 1_000_000);
    net.route_payment(0, 1, 3_000_000);
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    let (manager_update_id, _) = net.update_ids(1, 0, chan);
    // Saved with the update recorded in flight; the write then completes but
    // the manager never hears of it before the crash.
    net.nodes[1].persist_manager();
    spawner.run_all();
    net.disconnect(0, 1);
    net.stop(1);
    let report = net.start(1).expect("starts");
    assert!(report.monitor_updates_replayed.is_empty(), "the monitor has it: not handed over twice");
    assert_eq!(net.update_ids(1, 0, chan), (manager_update_id, manager_update_id));
    assert!(!net.nodes[1].node.is_channel_paused(&net.nodes[0].node_id, &chan));
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());
    net.connect(0, 1);
    net.settle();
    net.send_and_claim(0, 1, 1_000_000);
}
