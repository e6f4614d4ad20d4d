//! Fixes from the channel code review, each proven across two nodes: an
//! unproven `channel_reestablish` no longer switches off our broadcast, a
//! peer's `update_fee` replaces its pending one, a closing signature is
//! accepted on every variant BOLT 3 allows, a funding transaction that was
//! never broadcast is discarded on force-close, and inbound channel requests
//! can be rejected.

use crate::chain::channelmonitor::ChannelMonitorUpdateStep;
use crate::chain::ChannelMonitorUpdateStatus;
use crate::events::{ClosureReason, Event, MessageSendEvent};
use crate::ln::channel::close::ClosingVariant;
use crate::ln::channel::state::Update;
use crate::ln::functional_test_utils::*;
use crate::ln::msgs::{self, BaseMessageHandler, ChannelMessageHandler, ErrorAction};
use crate::ln::types::ChannelId;
use crate::prelude::*;
use crate::sign::EcdsaChannelSigner;

fn init_of(net: &Network, i: usize) -> msgs::Init {
    msgs::Init { features: net.nodes[i].node.init_features(), networks: None, remote_network_address: None }
}

fn set_status(net: &Network, node: usize, status: ChannelMonitorUpdateStatus) {
    *net.nodes[node].watch.next_status.lock() = status;
}

fn last_monitor_steps(net: &Network, node: usize) -> Vec<ChannelMonitorUpdateStep> {
    net.nodes[node].watch.updates.lock().last().cloned().expect("a monitor update").updates
}

fn verify_spends_funding(tx: &bitcoin::Transaction, funding_tx: &bitcoin::Transaction) {
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    let out = funding_tx.output[0].clone();
    tx.verify(|o| (*o == outpoint).then(|| out.clone())).expect("valid under libbitcoinconsensus");
}

/// Issue 1: a `next_commitment_number` ahead of ours comes with no proof, so
/// it is an ordinary failure: the channel closes and our latest commitment
/// is broadcast (before the fix the peer could switch the broadcast off).
#[test]
fn unproven_next_commitment_number_closes_and_broadcasts() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    net.disconnect(0, 1);
    net.nodes[1].node.peer_connected(net.nodes[0].node_id, &init_of(&net, 0), true).unwrap();
    let Some(MessageSendEvent::SendChannelReestablish { msg: mut lie, .. }) = net.nodes[1].msgs().pop()
    else {
        panic!("node 1 sends channel_reestablish")
    };
    // The secret and revocation number stay honest; only the commitment
    // number claims a future we never signed.
    lie.next_commitment_number += 5;
    net.nodes[0].node.peer_connected(net.nodes[1].node_id, &init_of(&net, 1), false).unwrap();
    let _ = net.nodes[0].msgs();
    net.nodes[0].node.handle_channel_reestablish(net.nodes[1].node_id, &lie);

    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } if *channel_id == chan && err.contains("without proof"))),
        "{events:?}"
    );
    assert_eq!(
        last_monitor_steps(&net, 0),
        vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }]
    );
    let txs = net.nodes[0].broadcaster.take();
    assert_eq!(txs.len(), 1, "our latest commitment is broadcast");
    verify_spends_funding(&txs[0], &funding_tx);
    let msgs = net.nodes[0].msgs();
    assert!(
        msgs.iter().any(|m| matches!(
            m,
            MessageSendEvent::HandleError { action: ErrorAction::SendErrorMessage { .. }, .. }
        )),
        "{msgs:?}"
    );
}

/// Issue 1, the other side: with a valid `your_last_per_commitment_secret`
/// for a revocation number beyond ours, the peer proved we lost data, and
/// we still must not broadcast.
#[test]
fn proven_data_loss_still_does_not_broadcast() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 10_000_000);
    let stale = net.nodes[0].node.encode();
    net.send_and_claim(0, 1, 10_000_000);
    net.disconnect(0, 1);
    net.nodes[0].reload_manager(&stale);
    net.connect(0, 1);
    net.process_all();
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::ProcessingError { err }, .. } if *channel_id == chan && err.contains("lost channel state"))),
        "{events:?}"
    );
    assert!(net.nodes[0].broadcaster.take().is_empty());
    assert_eq!(
        last_monitor_steps(&net, 0),
        vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: false }]
    );
}

/// Issue 2: the funder's `update_fee`s replace each other until a
/// `commitment_signed` covers the last one; the state stays small enough
/// to serialize and the commitment carries the last feerate.
#[test]
fn update_fee_spam_keeps_only_the_latest_fee() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 1000).unwrap();
    let mut sent = net.nodes[0].msgs();
    assert_eq!(sent.len(), 1);
    let Some(MessageSendEvent::UpdateHTLCs { updates, .. }) = sent.pop() else { panic!("update_fee") };
    let fee_msg = updates.update_fee.clone().expect("update_fee");
    assert!(updates.commitment_signed.is_some());
    let node_0 = net.nodes[0].node_id;
    // More than a u16 count could hold if they were all kept.
    for i in 0..70_000u32 {
        let spam = msgs::UpdateFee { channel_id: chan, feerate_per_kw: 300 + i % 1500 };
        net.nodes[1].node.handle_update_fee(node_0, &spam);
    }
    net.nodes[1].node.handle_update_fee(node_0, &fee_msg);
    assert!(net.nodes[1].msgs().is_empty(), "no error for honest-looking fees");
    let pending = net.nodes[1]
        .node
        .with_funded_channel(&node_0, &chan, |c| c.commitments().remote_changes.proposed.clone())
        .unwrap();
    assert_eq!(pending, vec![Update::Fee { feerate_per_kw: 1000 }]);
    // The manager still writes and reads back.
    let bytes = net.nodes[1].node.encode();
    net.nodes[1].reload_manager(&bytes);
    net.disconnect(0, 1);
    net.connect(0, 1);
    // Node 0 retransmits its update_fee and commitment_signed.
    net.process_all();
    for (a, b) in [(0, 1), (1, 0)] {
        let fees = net.nodes[a]
            .node
            .with_funded_channel(&net.nodes[b].node_id, &chan, |c| {
                let cm = c.commitments();
                (cm.local_commit.contents.feerate_per_kw, cm.remote_commit.contents.feerate_per_kw)
            })
            .unwrap();
        assert_eq!(fees, (1000, 1000), "node {a}");
    }
}

/// Issue 2 without a reconnection: the spam, then the funder's real
/// `update_fee` and `commitment_signed`, signed for the last fee only.
#[test]
fn update_fee_spam_then_commitment_uses_the_last_fee() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.nodes[0].node.update_channel_fee(&chan, &net.nodes[1].node_id, 1000).unwrap();
    let mut sent = net.nodes[0].msgs();
    let Some(MessageSendEvent::UpdateHTLCs { updates, .. }) = sent.pop() else { panic!("update_fee") };
    let node_0 = net.nodes[0].node_id;
    for i in 0..2_000u32 {
        let spam = msgs::UpdateFee { channel_id: chan, feerate_per_kw: 400 + i % 1000 };
        net.nodes[1].node.handle_update_fee(node_0, &spam);
    }
    net.nodes[1].node.handle_update_fee(node_0, updates.update_fee.as_ref().unwrap());
    net.nodes[1].node.handle_commitment_signed(node_0, updates.commitment_signed.as_ref().unwrap());
    net.process_all();
    for (a, b) in [(0, 1), (1, 0)] {
        let fees = net.nodes[a]
            .node
            .with_funded_channel(&net.nodes[b].node_id, &chan, |c| {
                let cm = c.commitments();
                (cm.local_commit.contents.feerate_per_kw, cm.remote_commit.contents.feerate_per_kw)
            })
            .unwrap();
        assert_eq!(fees, (1000, 1000), "node {a}");
    }
    net.nodes[1].node.encode();
    net.send_and_claim(0, 1, 5_000_000);
}

/// Issue 3: node 0 (dust limit 354) signs the closing transaction the way
/// BOLT 3 has it, removing only outputs below its own limit, so it keeps
/// node 1's 2,000-sat output, which is below node 1's limit (5,000). Node 1
/// accepts that variant, signs it too, and both broadcast it.
#[test]
fn closing_signature_on_the_senders_own_dust_variant_is_accepted() {
    let mut low = test_config();
    low.channel_handshake_config.our_dust_limit_satoshis = 354;
    let mut high = test_config();
    high.channel_handshake_config.our_dust_limit_satoshis = 5_000;
    let mut net = Network::with_configs(vec![low, high]);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    net.send_and_claim(0, 1, 2_000_000);
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    let node_1 = net.nodes[1].node_id;
    let mut replaced = false;
    loop {
        let mut any = false;
        for i in 0..2 {
            for ev in net.nodes[i].msgs() {
                any = true;
                let ev = match ev {
                    MessageSendEvent::SendClosingSigned { node_id, mut msg } if i == 0 && !replaced => {
                        replaced = true;
                        let (ours, theirs) = net.nodes[0]
                            .node
                            .with_funded_channel(&node_1, &chan, |c| {
                                let own = c
                                    .closing_transaction_variant(
                                        msg.fee_satoshis,
                                        ClosingVariant::HolderLimit,
                                    )
                                    .unwrap();
                                let both = c
                                    .closing_transaction_variant(msg.fee_satoshis, ClosingVariant::BothLimits)
                                    .unwrap();
                                msg.signature = c.signer.sign_closing_transaction(&own).unwrap();
                                (own.transaction().clone(), both.transaction().clone())
                            })
                            .unwrap();
                        assert_eq!(ours.output.len(), 2, "node 0's own variant keeps node 1's output");
                        assert_eq!(theirs.output.len(), 1, "the larger limit trims it");
                        MessageSendEvent::SendClosingSigned { node_id, msg }
                    }
                    ev => ev,
                };
                net.deliver(i, ev);
            }
        }
        if !any {
            break;
        }
    }
    assert!(replaced, "node 0 sent closing_signed");
    let tx_0 = net.nodes[0].broadcaster.take();
    let tx_1 = net.nodes[1].broadcaster.take();
    assert_eq!(tx_1.len(), 1, "node 1 accepted the variant: {:?}", net.nodes[1].events());
    assert_eq!(tx_0, tx_1, "both broadcast the same closing transaction");
    verify_spends_funding(&tx_1[0], &funding_tx);
    let values: Vec<u64> = tx_1[0].output.iter().map(|o| o.value.to_sat()).collect();
    assert!(values.contains(&2_000), "node 1's output between the two limits is kept: {values:?}");
    for n in [0, 1] {
        assert!(net.nodes[n].events().iter().any(|e| matches!(
            e,
            Event::ChannelClosed { channel_id, reason: ClosureReason::CooperativeClosure, .. } if *channel_id == chan
        )));
    }
}

/// Issue 3, between our own nodes: with different dust limits and an
/// output between them, the close still converges on one transaction.
#[test]
fn close_with_different_dust_limits_between_our_nodes() {
    let mut low = test_config();
    low.channel_handshake_config.our_dust_limit_satoshis = 354;
    let mut high = test_config();
    high.channel_handshake_config.our_dust_limit_satoshis = 5_000;
    for (funder_config, fundee_config) in [(low, high), (high, low)] {
        let mut net = Network::with_configs(vec![funder_config, fundee_config]);
        net.connect(0, 1);
        let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
        net.send_and_claim(0, 1, 2_000_000);
        let closing = net.close_channel(1, 0, chan);
        verify_spends_funding(&closing, &funding_tx);
    }
}

/// Opens a channel from node 0 whose first monitor write at node 0 stays
/// `InProgress`, so its funding broadcast is held. Returns the channel id
/// and the funding transaction.
fn open_with_funding_held(net: &mut Network) -> (ChannelId, bitcoin::Transaction) {
    let (_, funding_tx) = net.start_funding(0, 1, 500_000, 0);
    set_status(net, 0, ChannelMonitorUpdateStatus::InProgress);
    net.process_all();
    let chan = ChannelId::v1_from_funding_outpoint(funding_tx.compute_txid(), 0);
    assert!(net.nodes[0].broadcaster.take().is_empty(), "funding held for the monitor write");
    assert!(net.nodes[0].node.is_channel_paused(&net.nodes[1].node_id, &chan));
    (chan, funding_tx)
}

/// Issue 4: force-closing while the funding broadcast is still held gives
/// `DiscardFunding`, and nothing is broadcast (no funding, no commitment
/// spending it), even once the monitor write completes.
#[test]
fn force_close_before_the_funding_was_broadcast_discards_it() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = open_with_funding_held(&mut net);
    let _ = net.nodes[0].events();
    net.nodes[0].node.force_close_broadcasting_latest_txn(&chan, &net.nodes[1].node_id).unwrap();
    let events = net.nodes[0].events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DiscardFunding { channel_id, funding_txid, transaction: Some(tx) }
            if *channel_id == chan && *funding_txid == funding_tx.compute_txid() && *tx == funding_tx)),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ChannelClosed { channel_id, .. } if *channel_id == chan)));
    // The monitor still broadcasts our commitment: should the funding
    // confirm after all (a stale "held" after a restart), it gets the funds
    // back; otherwise it is refused for its missing input, harmlessly.
    assert_eq!(
        last_monitor_steps(&net, 0),
        vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }]
    );
    let txs = net.nodes[0].broadcaster.take();
    assert!(!txs.contains(&funding_tx), "the funding is never broadcast once discarded");
    assert!(!txs.is_empty(), "our commitment is broadcast");
    for tx in &txs {
        verify_spends_funding(tx, &funding_tx);
    }
    set_status(&net, 0, ChannelMonitorUpdateStatus::Completed);
    net.nodes[0].watch.complete_all(chan);
    net.nodes[0].node.timer_tick_occurred();
    net.process_all();
    assert!(!net.nodes[0].broadcaster.take().contains(&funding_tx), "not even after the write completes");
}

/// Issue 4, the usual case: once the funding was broadcast, a force-close
/// broadcasts our commitment and does not discard the funding.
#[test]
fn force_close_after_the_funding_was_broadcast_does_not_discard_it() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = open_with_funding_held(&mut net);
    set_status(&net, 0, ChannelMonitorUpdateStatus::Completed);
    net.nodes[0].watch.complete_all(chan);
    net.nodes[0].node.timer_tick_occurred();
    assert_eq!(net.nodes[0].broadcaster.take(), vec![funding_tx.clone()]);
    net.nodes[0].node.force_close_broadcasting_latest_txn(&chan, &net.nodes[1].node_id).unwrap();
    let events = net.nodes[0].events();
    assert!(!events.iter().any(|e| matches!(e, Event::DiscardFunding { .. })), "{events:?}");
    let txs = net.nodes[0].broadcaster.take();
    assert_eq!(txs.len(), 1);
    verify_spends_funding(&txs[0], &funding_tx);
}

/// Issue 5: with manual acceptance, a request can be rejected: the peer
/// gets an `error` for its temporary channel id, and the request is gone.
#[test]
fn inbound_channel_request_can_be_rejected() {
    let mut fundee = test_config();
    fundee.manual_accept_inbound_channels = true;
    let net = Network::with_configs(vec![test_config(), fundee]);
    net.connect(0, 1);
    let temp_id = net.nodes[0].node.create_channel(net.nodes[1].node_id, 500_000, 0, 7, None).unwrap();
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    let events = net.nodes[1].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::OpenChannelRequest { temporary_channel_id, .. } if *temporary_channel_id == temp_id)),
        "{events:?}"
    );
    let node_0 = net.nodes[0].node_id;
    net.nodes[1].node.reject_inbound_channel(&temp_id, &node_0).unwrap();
    let msgs = net.nodes[1].msgs();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        matches!(&msgs[0], MessageSendEvent::HandleError { node_id, action: ErrorAction::SendErrorMessage { msg } }
        if *node_id == node_0 && msg.channel_id == temp_id && msg.printable_data().contains("rejected"))
    );
    // The request is gone: neither accepting nor rejecting it again works.
    assert!(net.nodes[1].node.accept_inbound_channel(&temp_id, &node_0, 1).is_err());
    assert!(net.nodes[1].node.reject_inbound_channel(&temp_id, &node_0).is_err());
    assert!(net.nodes[1].node.list_channels().is_empty());
    // The opener gives the channel up.
    for ev in msgs {
        net.deliver(1, ev);
    }
    let events = net.nodes[0].events();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id, reason: ClosureReason::CounterpartyForceClosed { .. }, .. } if *channel_id == temp_id)),
        "{events:?}"
    );
    assert!(net.nodes[0].node.list_channels().is_empty());
    // An unknown request is an error.
    assert!(net.nodes[1].node.reject_inbound_channel(&ChannelId([9; 32]), &node_0).is_err());
}

/// A legacy fundee (no `fee_range`) asking the funder for a fee above the
/// funder's range: the funder moves toward it, never out of its range (the
/// fundee must not walk it to its whole balance), agrees on its bound, and
/// fails the channel once it stands there and the fundee still asks more.
#[test]
fn legacy_fee_negotiation_stays_within_our_range() {
    for accept_our_bound in [true, false] {
        let mut net = Network::new(2);
        net.connect(0, 1);
        let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
        let proposal = start_close(&net, chan);
        let sent = proposal.fee_range.expect("range");
        // Node 1 (fundee) speaks through a copy of its signer, as a legacy
        // peer; node 0 (funder) answers.
        let twin = twin_signer(&net, 1, 0, chan);
        let node_1 = net.nodes[1].node_id;
        net.nodes[0]
            .node
            .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, 500_000, None));
        let counter = match &net.nodes[0].msgs()[..] {
            [MessageSendEvent::SendClosingSigned { msg, .. }] => msg.fee_satoshis,
            other => panic!("{other:?}"),
        };
        assert_eq!(counter, sent.max_fee_satoshis, "moves toward the peer, up to its own bound");
        assert!(net.nodes[0].broadcaster.take().is_empty());
        if accept_our_bound {
            net.nodes[0]
                .node
                .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, counter, None));
            let broadcast = net.nodes[0].broadcaster.take();
            assert_eq!(broadcast.len(), 1, "agreed on our bound");
            let paid_out: u64 = broadcast[0].output.iter().map(|o| o.value.to_sat()).sum();
            assert_eq!(paid_out, 1_000_000 - counter);
            assert!(net.nodes[0].events().iter().any(|e| matches!(
                e,
                Event::ChannelClosed { channel_id, reason: ClosureReason::CooperativeClosure, .. } if *channel_id == chan
            )));
        } else {
            // One satoshi above our bound, where we already stand.
            net.nodes[0].node.handle_closing_signed(
                node_1,
                &closing_signed_from(&net, &twin, 0, 1, chan, counter + 1, None),
            );
            assert!(net.nodes[0].node.list_channels().is_empty());
            assert!(net.nodes[0].events().iter().any(|e| matches!(
                e,
                Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
                    if err.contains("stays outside the range we accept")
            )));
        }
    }
}

/// A legacy peer must move strictly between the two last proposals: one
/// bouncing around is failed rather than answered for ever.
#[test]
fn legacy_fee_outside_the_two_last_proposals_fails_the_channel() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let _ = start_close(&net, chan);
    let twin = twin_signer(&net, 1, 0, chan);
    let node_1 = net.nodes[1].node_id;
    net.nodes[0]
        .node
        .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, 500_000, None));
    assert!(matches!(&net.nodes[0].msgs()[..], [MessageSendEvent::SendClosingSigned { .. }]));
    // Above its own previous proposal: not between 500,000 and our counter.
    net.nodes[0]
        .node
        .handle_closing_signed(node_1, &closing_signed_from(&net, &twin, 0, 1, chan, 600_000, None));
    assert!(net.nodes[0].node.list_channels().is_empty());
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
            if err.contains("not between the two last proposals")
    )));
}

/// The funder judges the fundee's answer by the range it sent, not by one
/// recomputed from an estimate that moved since.
#[test]
fn funder_judges_the_answer_by_the_range_it_sent() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    *net.nodes[0].fee_estimator.feerate.lock() = 5_000;
    let proposal = start_close(&net, chan);
    let sent = proposal.fee_range.expect("fee_range");
    // The estimate falls a lot after we proposed.
    *net.nodes[0].fee_estimator.feerate.lock() = 253;
    let twin = twin_signer(&net, 1, 0, chan);
    let fee = sent.max_fee_satoshis;
    let answer = closing_signed_from(&net, &twin, 0, 1, chan, fee, Some(sent));
    net.nodes[0].node.handle_closing_signed(net.nodes[1].node_id, &answer);
    let broadcast = net.nodes[0].broadcaster.take();
    assert_eq!(broadcast.len(), 1, "a fee in the range we sent is taken");
    assert_eq!(broadcast[0].output.iter().map(|o| o.value.to_sat()).sum::<u64>(), 1_000_000 - fee);
}

/// A copy of `node`'s signer of channel `chan` with `peer`, to speak for it.
pub(super) fn twin_signer(
    net: &Network, node: usize, peer: usize, chan: ChannelId,
) -> crate::sign::InMemorySigner {
    use crate::sign::{ChannelSigner, SignerProvider};
    let (keys_id, value, params) = net.nodes[node]
        .node
        .with_funded_channel(&net.nodes[peer].node_id, &chan, |c| {
            (c.signer().channel_keys_id(), c.channel_value_satoshis(), c.channel_parameters().clone())
        })
        .expect("funded channel");
    let mut twin = crate::sign::KeysManager::new(&net.nodes[node].seed, 42, node as u32)
        .derive_channel_signer(value, keys_id);
    twin.provide_channel_parameters(&params).expect("same keys");
    twin
}

/// `closing_signed` from `sender` (through its twin signer) to `receiver`,
/// on the closing transaction as `receiver` builds it.
pub(super) fn closing_signed_from(
    net: &Network, twin: &crate::sign::InMemorySigner, receiver: usize, sender: usize, chan: ChannelId,
    fee_satoshis: u64, fee_range: Option<msgs::ClosingSignedFeeRange>,
) -> msgs::ClosingSigned {
    let tx = net.nodes[receiver]
        .node
        .with_funded_channel(&net.nodes[sender].node_id, &chan, |c| {
            c.closing_transaction_variant(fee_satoshis, ClosingVariant::BothLimits)
        })
        .expect("funded channel")
        .expect("closing transaction");
    msgs::ClosingSigned {
        channel_id: chan,
        fee_satoshis,
        signature: twin.sign_closing_transaction(&tx).expect("signs"),
        fee_range,
    }
}

/// Node 0 closes; both shutdowns are exchanged; node 0's first
/// `closing_signed` is taken (returned) instead of delivered.
pub(super) fn start_close(net: &Network, chan: ChannelId) -> msgs::ClosingSigned {
    net.nodes[0].node.close_channel(&chan, &net.nodes[1].node_id).unwrap();
    for i in 0..2 {
        for ev in net.nodes[i].msgs() {
            net.deliver(i, ev);
        }
    }
    match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendClosingSigned { msg, .. }) => msg,
        other => panic!("{other:?}"),
    }
}

#[test]
fn funder_fails_a_closing_fee_outside_both_ranges() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let proposal = start_close(&net, chan);
    let ours = proposal.fee_range.expect("we send a fee_range");
    let twin = twin_signer(&net, 1, 0, chan);
    // The fundee answers with a fee above the overlap it was offered.
    let theirs = msgs::ClosingSignedFeeRange { min_fee_satoshis: 0, max_fee_satoshis: 900_000 };
    let answer = closing_signed_from(&net, &twin, 0, 1, chan, ours.max_fee_satoshis + 1, Some(theirs));
    net.nodes[0].node.handle_closing_signed(net.nodes[1].node_id, &answer);
    assert!(net.nodes[0].node.list_channels().is_empty());
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
            if err.contains("outside the overlap of both fee ranges")
    )));
    // In the overlap, the funder agrees at once.
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let proposal = start_close(&net, chan);
    let ours = proposal.fee_range.expect("fee_range");
    let twin = twin_signer(&net, 1, 0, chan);
    let fee = ours.min_fee_satoshis + 1;
    let answer = closing_signed_from(&net, &twin, 0, 1, chan, fee, Some(ours));
    net.nodes[0].node.handle_closing_signed(net.nodes[1].node_id, &answer);
    let broadcast = net.nodes[0].broadcaster.take();
    assert_eq!(broadcast.len(), 1);
    assert_eq!(broadcast[0].output.iter().map(|o| o.value.to_sat()).sum::<u64>(), 1_000_000 - fee);
}

#[test]
fn fundee_fails_a_funder_that_does_not_take_its_proposal() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let proposal = start_close(&net, chan);
    let ours = proposal.fee_range.expect("fee_range");
    let twin = twin_signer(&net, 0, 1, chan);
    // Node 0 (through its twin) proposes below the relay floor: node 1
    // counters inside the overlap (the fundee accepts any fee up to the
    // funder's balance, none below the floor).
    let wide = msgs::ClosingSignedFeeRange { min_fee_satoshis: 0, max_fee_satoshis: 900_000 };
    let low = 1;
    net.nodes[1].node.handle_closing_signed(
        net.nodes[0].node_id,
        &closing_signed_from(&net, &twin, 1, 0, chan, low, Some(wide)),
    );
    let counter = match &net.nodes[1].msgs()[..] {
        [MessageSendEvent::SendClosingSigned { msg, .. }] => msg.fee_satoshis,
        other => panic!("{other:?}"),
    };
    assert!(counter > low && counter <= ours.max_fee_satoshis);
    // The funder answers with yet another fee, outside the range the fundee
    // sent (a fee inside it would be taken): the fundee fails the channel.
    let other = closing_signed_from(&net, &twin, 1, 0, chan, low + 1, Some(wide));
    net.nodes[1].node.handle_closing_signed(net.nodes[0].node_id, &other);
    assert!(net.nodes[1].node.list_channels().is_empty());
    assert!(net.nodes[1].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
            if err.contains("differs from the one we proposed")
    )));
}

#[test]
fn closing_output_below_its_scripts_dust_limit_fails_the_channel() {
    let mut config = test_config();
    config.channel_handshake_config.our_dust_limit_satoshis = 354;
    let mut net = Network::with_configs(vec![config, config]);
    net.connect(0, 1);
    // Node 1 holds 400 sat: above the channel dust limit (354), below
    // P2PKH's (546).
    let (chan, _) = net.create_chan_between_nodes(0, 1, 1_000_000, 400_000);
    let node_1 = net.nodes[1].node_id;
    net.nodes[0].node.close_channel(&chan, &node_1).unwrap();
    for ev in net.nodes[0].msgs() {
        net.deliver(0, ev);
    }
    // Node 1's shutdown, replaced by one to a P2PKH script.
    let _ = net.nodes[1].msgs();
    let p2pkh = bitcoin::ScriptBuf::new_p2pkh(
        &<bitcoin::PubkeyHash as bitcoin::hashes::Hash>::from_byte_array([7; 20]),
    );
    net.nodes[0]
        .node
        .handle_shutdown(node_1, &msgs::Shutdown { channel_id: chan, scriptpubkey: p2pkh.clone() });
    let proposal = match net.nodes[0].msgs().pop() {
        Some(MessageSendEvent::SendClosingSigned { msg, .. }) => msg,
        other => panic!("{other:?}"),
    };
    let twin = twin_signer(&net, 1, 0, chan);
    let answer = closing_signed_from(&net, &twin, 0, 1, chan, proposal.fee_satoshis, proposal.fee_range);
    let tx = net.nodes[0]
        .node
        .with_funded_channel(&node_1, &chan, |c| {
            c.closing_transaction_variant(proposal.fee_satoshis, ClosingVariant::BothLimits)
        })
        .unwrap()
        .unwrap();
    assert!(tx.transaction().output.iter().any(|o| o.script_pubkey == p2pkh && o.value.to_sat() == 400));
    net.nodes[0].node.handle_closing_signed(node_1, &answer);
    assert!(net.nodes[0].node.list_channels().is_empty());
    assert!(net.nodes[0].events().iter().any(|e| matches!(
        e,
        Event::ChannelClosed { reason: ClosureReason::ProcessingError { err }, .. }
            if err.contains("below the dust limit of its script")
    )));
}
