//! Open, pay both ways, fail back, many HTLCs, update_fee, close.

use crate::events::Event;
use crate::ln::functional_test_utils::*;
use crate::prelude::*;
use bitcoin::hashes::Hash;

#[test]
fn open_pay_both_ways_and_close() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // The short channel id comes from the funding position (block, index,
    // output); each side also has an alias for the other to use.
    let details = net.nodes[0].node.list_channels();
    assert_eq!(details[0].short_channel_id, crate::ln::types::ShortChannelId::new(net.height(), 0, 0).ok());
    assert_eq!(details[0].confirmations, Some(1));
    let theirs = net.nodes[1].node.list_channels();
    assert_eq!(details[0].outbound_scid_alias, theirs[0].inbound_scid_alias);
    assert!(details[0].is_usable && theirs[0].is_usable);
    let start = net.balance_msat(0, 1, chan);
    net.send_and_claim(0, 1, 50_000_000);
    net.send_and_claim(1, 0, 3_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), start - 47_000_000);
    assert_eq!(net.balance_msat(1, 0, chan), 47_000_000);
    let closing = net.close_channel(0, 1, chan);
    // Each monitor is told, and keeps the closing transaction.
    for n in [0, 1] {
        let last = net.nodes[n].watch.updates.lock().last().cloned().expect("updates");
        assert_eq!(last.update_id, crate::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID);
        assert_eq!(
            last.updates,
            vec![crate::chain::channelmonitor::ChannelMonitorUpdateStep::CooperativeClose {
                closing_tx: closing.clone()
            }]
        );
        let monitor = net.nodes[n].watch.chain_monitor.get_monitor(chan).expect("monitor");
        assert!(monitor.is_closed());
        assert_eq!(monitor.cooperative_closing_tx(), Some(closing.clone()));
    }
    let funding_out = funding_tx.output[0].clone();
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    closing
        .verify(|o| (*o == outpoint).then(|| funding_out.clone()))
        .expect("closing transaction valid under libbitcoinconsensus");
    // The fundee gets exactly its balance; the funder pays the fee.
    let values: Vec<u64> = closing.output.iter().map(|o| o.value.to_sat()).collect();
    assert!(values.contains(&47_000));
    assert!(net.nodes[0].node.list_channels().is_empty());
}

fn verify_spends_funding(tx: &bitcoin::Transaction, funding_tx: &bitcoin::Transaction) {
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    let out = funding_tx.output[0].clone();
    tx.verify(|o| (*o == outpoint).then(|| out.clone())).expect("valid under libbitcoinconsensus");
}

#[test]
fn anchors_channel_opens_pays_and_closes() {
    let mut config = test_config();
    config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = true;
    let mut net = Network::with_configs(vec![config, config]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 500_000, 0);
    let anchors = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| {
            c.channel_type().supports_anchors_zero_fee_htlc_tx()
        })
        .unwrap();
    assert!(anchors, "option_anchors negotiated");
    net.send_and_claim(0, 1, 20_000_000);
    net.send_and_claim(1, 0, 1_000_000);
    let closing = net.close_channel(1, 0, chan);
    verify_spends_funding(&closing, &funding_tx);
}

#[test]
fn static_remotekey_is_used_when_anchors_are_not_wanted() {
    let mut anchors = test_config();
    anchors.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = true;
    // The fundee refuses anchors: the funder proposes static_remotekey only
    // because the fundee does not advertise option_anchors.
    let mut net = Network::with_configs(vec![anchors, test_config()]);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 500_000, 0);
    let ct = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| c.channel_type().clone())
        .unwrap();
    assert!(ct.requires_static_remote_key() && !ct.supports_anchors_zero_fee_htlc_tx());
}

#[test]
fn failed_payment_is_reported_to_the_payer() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (_, hash, id) = net.send_payment(0, 1, 5_000_000);
    net.nodes[1].node.fail_htlc_backwards(&hash);
    net.process_all();
    let events = net.nodes[0].events();
    assert!(events.iter().any(|e| matches!(e, Event::PaymentPathFailed { payment_hash, payment_failed_permanently: true, failure_code: Some(0x400f), .. } if *payment_hash == hash)), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::PaymentFailed { payment_id, .. } if *payment_id == id)));
    // Balances are back where they were and nothing is in flight.
    assert_eq!(net.balance_msat(0, 1, chan), 1_000_000_000);
    assert!(net.nodes[0].node.list_channels()[0].pending_htlcs == 0);
    // The same payment id is not paid twice.
    let (_, secret) = net.nodes[1].node.create_inbound_payment(None, 3600);
    let params = crate::routing::router::RouteParameters::for_payee(&net.nodes[1].node_id, 1000, 40);
    let again = net.nodes[0].node.send_payment(
        hash,
        crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
        id,
        params,
    );
    assert_eq!(again, Err(crate::ln::channelmanager::PaymentSendFailure::DuplicatePayment));
}

#[test]
fn payment_with_a_forged_secret_is_refused() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let (hash, mut secret) = net.nodes[1].node.create_inbound_payment(Some(1000), 3600);
    secret.0[31] ^= 1;
    let params = crate::routing::router::RouteParameters::for_payee(&net.nodes[1].node_id, 5000, 40);
    net.nodes[0]
        .node
        .send_payment(
            hash,
            crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
            crate::ln::types::PaymentId([9; 32]),
            params,
        )
        .unwrap();
    net.process_all();
    assert!(net.nodes[1].events().is_empty(), "no PaymentClaimable for a forged secret");
    let events = net.nodes[0].events();
    assert!(events.iter().any(|e| matches!(e, Event::PaymentFailed { .. })), "{events:?}");
    assert_eq!(net.balance_msat(0, 1, chan), 1_000_000_000);
}

#[test]
fn many_htlcs_in_flight_up_to_the_limit() {
    let mut fundee = test_config();
    fundee.channel_handshake_config.our_max_accepted_htlcs = 30;
    let mut net = Network::with_configs(vec![test_config(), fundee]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 2_000_000, 0);
    let mut preimages = Vec::new();
    for i in 0..30u64 {
        // Some below the dust limit (trimmed), most above.
        let amount = if i % 5 == 0 { 100_000 } else { 1_000_000 + i * 1000 };
        let (preimage, _, _) = net.route_payment(0, 1, amount);
        preimages.push(preimage);
    }
    // The 31st is refused by our side before anything is sent.
    let (hash, secret) = net.nodes[1].node.create_inbound_payment(None, 3600);
    let params = crate::routing::router::RouteParameters::for_payee(&net.nodes[1].node_id, 1_000_000, 40);
    let refused = net.nodes[0].node.send_payment(
        hash,
        crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
        crate::ln::types::PaymentId([1; 32]),
        params,
    );
    assert!(
        matches!(&refused, Err(crate::ln::channelmanager::PaymentSendFailure::ChannelUnavailable(e)) if e.contains("at most 30")),
        "31st HTLC must be refused: {refused:?}"
    );
    net.process_all();
    let claimable =
        net.nodes[1].events().into_iter().filter(|e| matches!(e, Event::PaymentClaimable { .. })).count();
    assert_eq!(claimable, 30);
    assert_eq!(net.nodes[0].node.list_channels()[0].pending_htlcs, 30);
    // Our latest holder commitment (what a force-close broadcasts now)
    // carries every untrimmed HTLC and is valid under the script
    // interpreter; the six 100-sat HTLCs are trimmed.
    let commitment = net.nodes[0]
        .node
        .with_funded_channel(&net.nodes[1].node_id, &chan, |c| c.get_signed_holder_commitment_tx())
        .expect("funded channel")
        .expect("signed commitment");
    verify_spends_funding(&commitment, &funding_tx);
    let htlc_outputs = commitment
        .output
        .iter()
        .filter(|o| (1000..1030).contains(&o.value.to_sat()) && o.script_pubkey.is_p2wsh())
        .count();
    assert_eq!(htlc_outputs, 24);
    assert!(commitment.output.iter().all(|o| o.value.to_sat() != 100));
    for p in &preimages {
        net.nodes[1].node.claim_funds(*p);
    }
    net.process_all();
    let sent = net.nodes[0].events().into_iter().filter(|e| matches!(e, Event::PaymentSent { .. })).count();
    assert_eq!(sent, 30);
    assert_eq!(net.nodes[0].node.list_channels()[0].pending_htlcs, 0);
}

#[test]
fn update_fee_moves_both_commitments() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    *net.nodes[0].fee_estimator.feerate.lock() = 1000;
    *net.nodes[1].fee_estimator.feerate.lock() = 1000;
    net.nodes[0].node.timer_tick_occurred();
    net.process_all();
    for (a, b) in [(0, 1), (1, 0)] {
        let (local, remote) = net.nodes[a]
            .node
            .with_funded_channel(&net.nodes[b].node_id, &chan, |c| {
                (
                    c.commitments().local_commit.contents.feerate_per_kw,
                    c.commitments().remote_commit.contents.feerate_per_kw,
                )
            })
            .unwrap();
        assert_eq!((local, remote), (1000, 1000));
    }
    // Payments still work at the new feerate.
    net.send_and_claim(0, 1, 30_000_000);
    // The fundee cannot send update_fee.
    assert!(net.nodes[1].node.update_channel_fee(&chan, &net.nodes[0].node_id, 2000).is_err());
}

#[test]
fn force_close_broadcasts_a_valid_holder_commitment() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 40_000_000);
    // An HTLC in flight in both directions.
    let _ = net.send_payment(0, 1, 7_000_000);
    let _ = net.send_payment(1, 0, 2_000_000);
    net.nodes[0].node.force_close_broadcasting_latest_txn(&chan, &net.nodes[1].node_id).unwrap();
    let txs = net.nodes[0].broadcaster.take();
    assert_eq!(txs.len(), 1);
    verify_spends_funding(&txs[0], &funding_tx);
    // Two HTLC outputs, two balances.
    assert_eq!(txs[0].output.len(), 4);
    let update = net.nodes[0].watch.updates.lock().last().cloned().unwrap();
    assert_eq!(update.update_id, crate::chain::channelmonitor::CLOSED_CHANNEL_UPDATE_ID);
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: crate::events::ClosureReason::HolderForceClosed, .. }
    )));
    // The peer gets an error and force-closes too, broadcasting its own.
    net.process_all();
    let theirs = net.nodes[1].broadcaster.take();
    assert_eq!(theirs.len(), 1);
    verify_spends_funding(&theirs[0], &funding_tx);
    assert!(net.nodes[1].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: crate::events::ClosureReason::CounterpartyForceClosed { .. }, .. }
    )));
}

#[test]
fn manager_round_trips_through_serialization() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 25_000_000);
    let bytes = net.nodes[0].node.encode();
    net.disconnect(0, 1);
    let n = &net.nodes[0];
    let keys = crate::sign::KeysManager::new(&n.seed, 42, 0);
    let material = keys.get_inbound_payment_key_material();
    let reloaded = crate::ln::channelmanager::ChannelManager::read(
        &mut &bytes[..],
        crate::ln::channelmanager::ChannelManagerReadArgs {
            fee_estimator: alloc::sync::Arc::clone(&n.fee_estimator),
            chain_monitor: alloc::sync::Arc::clone(&n.watch),
            tx_broadcaster: alloc::sync::Arc::clone(&n.broadcaster),
            router: test_router(&n.network_graph, &n.scorer),
            logger: alloc::sync::Arc::clone(&n.logger),
            keys,
            config: n.config,
            inbound_payment_key_material: material,
        },
    )
    .expect("reload");
    assert_eq!(reloaded.encode(), bytes, "re-encoding is stable");
    net.nodes[0].node = reloaded;
    net.connect(0, 1);
    net.process_all();
    assert_eq!(net.balance_msat(0, 1, chan), 975_000_000);
    net.send_and_claim(0, 1, 5_000_000);
    net.send_and_claim(1, 0, 1_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), 971_000_000);
}

#[test]
fn anchors_force_close_broadcasts_a_valid_commitment() {
    let mut config = test_config();
    config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = true;
    let mut net = Network::with_configs(vec![config, config]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 800_000, 0);
    net.send_and_claim(0, 1, 50_000_000);
    let _ = net.send_payment(0, 1, 9_000_000);
    net.nodes[1].node.force_close_broadcasting_latest_txn(&chan, &net.nodes[0].node_id).unwrap();
    let txs = net.nodes[1].broadcaster.take();
    assert!(!txs.is_empty());
    verify_spends_funding(&txs[0], &funding_tx);
    // Two balances, one HTLC, two anchors.
    assert_eq!(txs[0].output.len(), 5);
    assert_eq!(txs[0].output.iter().filter(|o| o.value.to_sat() == 330).count(), 2);
}

/// Writes a serialized manager with channels and HTLCs in flight to the
/// fuzz corpus (run with `LN_WRITE_FUZZ_SEED=1`).
#[test]
fn write_channel_manager_fuzz_seed() {
    let Ok(_) = std::env::var("LN_WRITE_FUZZ_SEED") else { return };
    let mut net = Network::new(2);
    net.connect(0, 1);
    let _ = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 40_000_000);
    let _ = net.send_payment(0, 1, 7_000_000);
    let _ = net.route_payment(1, 0, 1_000_000);
    let bytes = net.nodes[0].node.encode();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/channel_manager");
    std::fs::create_dir_all(&dir).unwrap();
    let name = bitcoin::hashes::sha256::Hash::hash(&bytes);
    std::fs::write(dir.join(format!("{name}")), bytes).unwrap();
}

#[test]
fn default_router_pays_a_peer_over_our_first_hop() {
    use crate::routing::gossip::NodeId;
    use crate::routing::router::{DirectRouter, RouteParameters, Router};
    let mut net = Network::new(2);
    net.connect(0, 1);
    let _ = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    // The manager hands its usable channels to the router as first hops.
    let details = net.nodes[0].node.list_usable_channels();
    let first_hops: Vec<_> = details.iter().filter_map(|c| c.as_first_hop()).collect();
    assert_eq!(first_hops.len(), 1);
    assert_eq!(first_hops[0].short_channel_id, details[0].short_channel_id.unwrap().0);
    assert_eq!(first_hops[0].next_outbound_htlc_minimum_msat, 1);
    let refs: Vec<_> = first_hops.iter().collect();
    let payer = NodeId::from_pubkey(&net.nodes[0].node_id);
    let params = RouteParameters::for_payee(&net.nodes[1].node_id, 5_000_000, 40);
    // The node's DefaultRouter (over its graph, which knows nothing here)
    // finds the direct hop; so does the graph-less DirectRouter.
    let router =
        crate::ln::functional_test_utils::test_router(&net.nodes[0].network_graph, &net.nodes[0].scorer);
    let route = router.find_route(&payer, &params, Some(&refs)).expect("a direct route");
    let direct = DirectRouter.find_route(&payer, &params, Some(&refs)).expect("a direct route");
    for r in [&route, &direct] {
        assert_eq!(r.paths.len(), 1);
        let hop = &r.paths[0].hops[0];
        assert_eq!(hop.pubkey, NodeId::from_pubkey(&net.nodes[1].node_id));
        assert_eq!(hop.fee_msat, 5_000_000);
        assert_eq!(hop.short_channel_id, first_hops[0].short_channel_id);
    }
    // More than the channel can carry: no route, and send_payment says so.
    let too_much = RouteParameters::for_payee(&net.nodes[1].node_id, 2_000_000_000, 40);
    assert!(router.find_route(&payer, &too_much, Some(&refs)).is_err());
    let (hash, secret) = net.nodes[1].node.create_inbound_payment(None, 3600);
    let refused = net.nodes[0].node.send_payment(
        hash,
        crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
        crate::ln::types::PaymentId([4; 32]),
        too_much,
    );
    assert!(
        matches!(refused, Err(crate::ln::channelmanager::PaymentSendFailure::RouteNotFound(_))),
        "{refused:?}"
    );
    // A route found outside pays through the manager like any other.
    net.nodes[0]
        .node
        .send_payment_with_route(
            &route,
            hash,
            crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
            crate::ln::types::PaymentId([3; 32]),
        )
        .unwrap();
    net.process_all();
    assert!(net.nodes[1]
        .events()
        .iter()
        .any(|e| matches!(e, Event::PaymentClaimable { amount_msat: 5_000_000, .. })));
}

#[test]
fn fundee_does_not_add_htlcs_the_funder_cannot_pay_the_fee_for() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    // The funder keeps 10,000 sat of 200,000.
    let (chan, _) = net.create_chan_between_nodes(0, 1, 200_000, 190_000_000);
    for n in &net.nodes {
        *n.fee_estimator.feerate.lock() = 5000;
    }
    net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 5000).unwrap();
    net.process_all();
    // At 5000 sat/kw the base fee is 3620 sat and each HTLC output adds 860:
    // the funder can pay for 7 HTLCs, not 8.
    for _ in 0..7 {
        let _ = net.route_payment(1, 0, 20_000_000);
    }
    let (hash, secret) = net.nodes[0].node.create_inbound_payment(None, 3600);
    let params = crate::routing::router::RouteParameters::for_payee(&net.nodes[0].node_id, 20_000_000, 40);
    let eighth = net.nodes[1].node.send_payment(
        hash,
        crate::ln::channelmanager::RecipientOnionFields::secret_only(secret),
        crate::ln::types::PaymentId([8; 32]),
        params,
    );
    assert!(
        matches!(&eighth, Err(crate::ln::channelmanager::PaymentSendFailure::ChannelUnavailable(e)) if e.contains("funder could not pay")),
        "{eighth:?}"
    );
    net.process_all();
    assert_eq!(
        net.nodes[0].events().iter().filter(|e| matches!(e, Event::PaymentClaimable { .. })).count(),
        7
    );
}
