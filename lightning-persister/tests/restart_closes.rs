//! Closes and restarts through a `FilesystemStore`: a cooperative close
//! reaches the monitor (even when its write was lost in a crash), start-up
//! force-closes an open monitor the manager never knew only when the
//! manager proves it is not a cooperative close, and a channel whose first
//! monitor never reached the store is discarded.

mod common;

use common::node::{monitor_name, ManualSpawner, Mode, Network};
use lightning_core::bitcoin::{OutPoint, Transaction};
use lightning_core::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID;
use lightning_core::events::{ClosureReason, Event};
use lightning_core::ln::functional_test_utils::funding_transaction;
use lightning_core::ln::types::ChannelId;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_persister::codec::{read_record, write_record, ValueKind};

/// Starts a cooperative close from `a` and delivers messages (not running
/// asynchronous writes); returns the closing transaction both broadcast.
fn close_cooperatively(net: &Network, a: usize, b: usize, chan: ChannelId) -> Transaction {
    net.nodes[a].node.close_channel(&chan, &net.nodes[b].node_id).expect("close_channel");
    net.process_all();
    let closing = net.nodes[a].broadcaster.take();
    assert_eq!(closing.len(), 1, "{closing:?}");
    assert_eq!(net.nodes[b].broadcaster.take(), closing, "both broadcast the same closing transaction");
    for n in [a, b] {
        assert!(net.nodes[n].events().iter().any(|e| matches!(
            e,
            Event::ChannelClosed { channel_id, reason: ClosureReason::CooperativeClosure, .. } if *channel_id == chan
        )));
    }
    closing.into_iter().next().expect("checked")
}

fn spends_funding(tx: &Transaction, funding_tx: &Transaction) -> bool {
    tx.input.len() == 1
        && tx.input[0].previous_output == OutPoint { txid: funding_tx.compute_txid(), vout: 0 }
}

#[test]
fn a_cooperative_close_reaches_the_monitor_and_survives_a_restart() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    net.send_and_claim(0, 1, 10_000_000);
    let closing = close_cooperatively(&net, 0, 1, chan);
    assert!(spends_funding(&closing, &funding_tx));
    for i in [0, 1] {
        let monitor = net.nodes[i].chain_monitor.get_monitor(chan).expect("still watched");
        assert!(monitor.is_closed());
        assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
        assert_eq!(monitor.cooperative_closing_tx(), Some(closing.clone()));
        drop(monitor);
        assert!(net.nodes[i].node.list_in_flight_monitor_updates().is_empty(), "persisted synchronously");
        net.nodes[i].persist_manager();
    }
    net.disconnect(0, 1);
    for i in [0, 1] {
        let report = net.restart(i).expect("restarts");
        assert_eq!(report.monitors_loaded, 1);
        assert!(report.monitors_without_channel.is_empty(), "a closed monitor, not an unknown one");
        assert!(report.monitors_without_channel_force_closed.is_empty());
        assert!(net.nodes[i].broadcaster.take().is_empty(), "no commitment broadcast");
        // The stored monitor kept the closing transaction and rebroadcasts
        // it until the funding output is spent.
        let monitor = net.nodes[i].chain_monitor.get_monitor(chan).expect("loaded");
        assert_eq!(monitor.cooperative_closing_tx(), Some(closing.clone()));
        drop(monitor);
        net.nodes[i].chain_monitor.rebroadcast_pending_claims();
        assert_eq!(net.nodes[i].broadcaster.take(), vec![closing.clone()]);
    }
    net.mine_block(std::slice::from_ref(&closing));
    for i in [0, 1] {
        net.nodes[i].chain_monitor.rebroadcast_pending_claims();
        assert!(net.nodes[i].broadcaster.take().is_empty(), "confirmed: nothing to rebroadcast");
    }
}

#[test]
fn a_cooperative_close_whose_monitor_write_was_lost_is_replayed_at_start_up() {
    let spawner = ManualSpawner::default();
    let mut net = Network::new(vec![Mode::Sync, Mode::Async(spawner.clone())]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    net.send_and_claim(0, 1, 10_000_000);
    let closing = close_cooperatively(&net, 0, 1, chan);
    // Node 1's closing update is being written; the manager, which forgot
    // the channel, records it.
    assert_eq!(
        net.nodes[1].chain_monitor.list_pending_monitor_updates().get(&chan),
        Some(&vec![CLOSED_CHANNEL_UPDATE_ID])
    );
    let record = net.nodes[1].node.list_in_flight_monitor_updates();
    assert_eq!(record.len(), 1);
    assert!(!record[0].channel_open);
    assert_eq!(record[0].latest_update_id, CLOSED_CHANNEL_UPDATE_ID);
    net.nodes[1].persist_manager();
    net.disconnect(0, 1);
    net.stop(1);
    spawner.0.lock().expect("lock").clear(); // the crash: the write is lost

    let report = net.start(1).expect("starts");
    assert_eq!(report.monitor_updates_replayed, vec![(chan, CLOSED_CHANNEL_UPDATE_ID)]);
    assert!(
        report.monitors_without_channel.is_empty() && report.monitors_without_channel_force_closed.is_empty()
    );
    assert!(net.nodes[1].broadcaster.take().is_empty(), "no commitment races the closing transaction");
    let monitor = net.nodes[1].chain_monitor.get_monitor(chan).expect("loaded");
    assert_eq!(monitor.cooperative_closing_tx(), Some(closing.clone()));
    drop(monitor);
    // Written again this time: the stored monitor is the closed one.
    spawner.run_all();
    let _ = net.nodes[1].msgs(); // the manager hears of the completion
    assert!(net.nodes[1].node.list_in_flight_monitor_updates().is_empty());
    let name = monitor_name(&funding_tx);
    assert!(net.nodes[1].store.read(CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, "", &name).is_ok());
    net.nodes[1].persist_manager();
    let report = net.restart(1).expect("restarts again");
    assert!(report.monitor_updates_replayed.is_empty());
    let monitor = net.nodes[1].chain_monitor.get_monitor(chan).expect("loaded");
    assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
    assert_eq!(monitor.cooperative_closing_tx(), Some(closing));
}

#[test]
fn a_manager_saved_before_a_cooperative_close_is_not_force_closed_at_start_up() {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.connect(0, 1);
    let (chan, _) = net.create_channel(0, 1, 1_000_000);
    net.nodes[0].persist_manager();
    let closing = close_cooperatively(&net, 0, 1, chan);
    net.disconnect(0, 1);
    // The stored manager still runs the channel; its monitor is closed.
    let report = net.restart(0).expect("restarts");
    assert_eq!(report.stale_channels_closed_cooperatively, vec![chan]);
    assert!(report.stale_channels_force_closed.is_empty());
    assert!(net.nodes[0].broadcaster.take().is_empty(), "our commitment is not broadcast");
    assert!(net.nodes[0].node.list_channels().is_empty());
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { channel_id, reason: ClosureReason::CooperativeClosure, .. } if *channel_id == chan
    )));
    net.nodes[0].chain_monitor.rebroadcast_pending_claims();
    assert_eq!(net.nodes[0].broadcaster.take(), vec![closing]);
}

/// Opens a channel from node 0 after it saved its (empty) manager, then
/// stops node 0 without saving again.
fn open_after_the_manager_was_saved() -> (Network, ChannelId, Transaction) {
    let mut net = Network::new(vec![Mode::Sync, Mode::Sync]);
    net.nodes[0].persist_manager();
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_channel(0, 1, 1_000_000);
    net.send_and_claim(0, 1, 10_000_000);
    net.disconnect(0, 1);
    net.stop(0);
    (net, chan, funding_tx)
}

#[test]
fn an_open_monitor_the_manager_never_knew_is_force_closed() {
    let (mut net, chan, funding_tx) = open_after_the_manager_was_saved();
    let report = net.start(0).expect("starts");
    assert_eq!(report.monitors_without_channel_force_closed, vec![chan]);
    assert!(report.monitors_without_channel.is_empty());
    let monitor = net.nodes[0].chain_monitor.get_monitor(chan).expect("watched");
    assert!(monitor.is_closed());
    assert_eq!(monitor.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
    let latest = monitor.latest_holder_commitment_txid();
    drop(monitor);
    let broadcast = net.nodes[0].broadcaster.take();
    assert_eq!(broadcast.len(), 1, "{broadcast:?}");
    assert!(spends_funding(&broadcast[0], &funding_tx));
    assert_eq!(Some(broadcast[0].compute_txid()), latest, "the monitor's latest commitment");
    // The close was persisted: the next start finds a closed monitor.
    net.stop(0);
    let report = net.start(0).expect("starts again");
    assert!(
        report.monitors_without_channel_force_closed.is_empty() && report.monitors_without_channel.is_empty()
    );
}

#[test]
fn with_a_manager_that_does_not_record_closes_an_unknown_monitor_is_only_reported() {
    let (mut net, chan, _) = open_after_the_manager_was_saved();
    // Rewrite the stored (empty) manager in the version-1 format, which did
    // not record in-flight or cooperative-close updates: the same bytes
    // without the closed-channel record count at the end.
    let store = lightning_persister::fs_store::FilesystemStore::new(net.dirs[0].path()).expect("store");
    let (primary, secondary, key) = (
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
    );
    let mut payload =
        read_record(&store, primary, secondary, key, ValueKind::ChannelManager).expect("stored manager");
    assert_eq!(payload[0], 2, "written as version 2");
    assert_eq!(
        payload[payload.len() - 5..],
        [0, 0, 0, 0, 1],
        "no closed-channel record; records every close"
    );
    payload.truncate(payload.len() - 5);
    payload[0] = 1;
    write_record(&store, primary, secondary, key, ValueKind::ChannelManager, &payload).expect("rewritten");
    drop(store);

    let report = net.start(0).expect("starts");
    assert_eq!(report.monitors_without_channel, vec![chan], "could be a cooperative close: left to the user");
    assert!(report.monitors_without_channel_force_closed.is_empty());
    assert!(net.nodes[0].broadcaster.take().is_empty());
    assert!(!net.nodes[0].chain_monitor.get_monitor(chan).expect("watched").is_closed());
    assert!(!net.nodes[0].node.records_every_close());
    // Written again (as version 2), it still does not claim to record every
    // close: the monitor from before is still only reported.
    net.nodes[0].persist_manager();
    let report = net.restart(0).expect("restarts");
    assert_eq!(report.monitors_without_channel, vec![chan]);
    assert!(net.nodes[0].broadcaster.take().is_empty());
}

/// Node 0 (asynchronous) funds a channel with node 1: stops once its first
/// monitor write is queued, with the funding broadcast held for it.
fn fund_with_the_first_monitor_write_queued() -> (Network, ManualSpawner, ChannelId, Transaction) {
    let spawner = ManualSpawner::default();
    let net = Network::new(vec![Mode::Async(spawner.clone()), Mode::Sync]);
    net.connect(0, 1);
    let node_1 = net.nodes[1].node_id;
    let temp_id = net.nodes[0].node.create_channel(node_1, 1_000_000, 0, 42, None).expect("create_channel");
    net.process_all();
    let script = net.nodes[0]
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .expect("FundingGenerationReady");
    let funding_tx = funding_transaction(script, 1_000_000, net.height());
    net.nodes[0].node.funding_transaction_generated(&temp_id, &node_1, funding_tx.clone()).expect("funding");
    net.process_all();
    let chan = ChannelId::v1_from_funding_outpoint(funding_tx.compute_txid(), 0);
    assert!(net.nodes[0].node.is_channel_paused(&node_1, &chan));
    assert!(net.nodes[0].broadcaster.take().is_empty(), "held until the monitor is written");
    let record = net.nodes[0].node.list_in_flight_monitor_updates();
    assert!(record.len() == 1 && record[0].initial_monitor_in_flight, "{record:?}");
    net.nodes[0].persist_manager();
    (net, spawner, chan, funding_tx)
}

#[test]
fn a_channel_whose_first_monitor_never_reached_the_store_is_discarded() {
    let (mut net, spawner, chan, funding_tx) = fund_with_the_first_monitor_write_queued();
    net.disconnect(0, 1);
    net.stop(0);
    spawner.0.lock().expect("lock").clear(); // the crash: the monitor is lost
    let report = net.start(0).expect("starts");
    assert_eq!(report.channels_without_persisted_monitor_discarded, vec![chan]);
    assert_eq!(report.monitors_loaded, 0);
    assert!(net.nodes[0].node.list_channels().is_empty());
    assert!(net.nodes[0].broadcaster.take().is_empty(), "the funding is never broadcast");
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::DiscardFunding { funding_txid, .. } if *funding_txid == funding_tx.compute_txid())),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ChannelClosed { channel_id, reason: ClosureReason::DisconnectedPeer, .. } if *channel_id == chan
    )));
}

#[test]
fn a_first_monitor_written_after_the_manager_was_saved_releases_the_funding() {
    let (mut net, spawner, chan, funding_tx) = fund_with_the_first_monitor_write_queued();
    // The write completes, but the manager never hears of it before the crash.
    spawner.run_all();
    net.disconnect(0, 1);
    net.stop(0);
    let report = net.start(0).expect("starts");
    assert!(report.channels_without_persisted_monitor_discarded.is_empty());
    assert_eq!(report.monitors_loaded, 1);
    let node_1 = net.nodes[1].node_id;
    assert!(!net.nodes[0].node.is_channel_paused(&node_1, &chan));
    assert_eq!(net.nodes[0].broadcaster.take(), vec![funding_tx.clone()], "the held broadcast is not lost");
    // The channel opens and pays.
    net.connect(0, 1);
    net.settle();
    net.mine_block(std::slice::from_ref(&funding_tx));
    net.settle();
    assert!(net.nodes[0].node.list_usable_channels().iter().any(|c| c.channel_id == chan));
    net.send_and_claim(0, 1, 5_000_000);
}
