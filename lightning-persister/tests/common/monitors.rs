//! Channels producing real, signed monitor updates (from
//! `lightning_core::chain::test_utils::TestChannel`), for the monitor
//! persister's tests and benchmarks.
#![allow(dead_code)]

use lightning_core::bitcoin::hashes::{sha256, Hash};
use lightning_core::bitcoin::{OutPoint, Txid};
use lightning_core::chain::chainmonitor::MonitorName;
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::chain::test_utils::{
    TestBroadcaster, TestChain, TestChannel, TestFeeEstimator, TestHtlc, TestLogger,
};
use lightning_core::ln::types::PaymentPreimage;
use lightning_core::sign::InMemorySigner;
use lightning_core::util::ser::Writeable;

/// The key seed every fixture channel uses, so one `KeysManager` (any
/// channel's `holder_keys`) reads all their monitors back.
pub const KEYS_SEED: u8 = 7;

/// One channel and the id of its next update.
pub struct Chan {
    /// The two parties' signers.
    pub chan: TestChannel,
    /// The id the next update gets.
    pub next_update_id: u64,
}

impl Chan {
    /// Channel number `index` (distinct funding outpoint and channel id; the
    /// same keys for all) and its new monitor.
    pub fn numbered(index: u32) -> (Chan, ChannelMonitor<InMemorySigner>) {
        let txid = Txid::from_byte_array(sha256::Hash::hash(&index.to_be_bytes()).to_byte_array());
        let mut chan =
            TestChannel::with_funding_outpoint(index % 2 == 0, KEYS_SEED, OutPoint { txid, vout: 1 });
        let steps = chan.initial_steps();
        let monitor = chan.monitor(TestChain::new(100).best_block(), steps);
        (Chan { chan, next_update_id: 1 }, monitor)
    }

    /// The monitor's name.
    pub fn name(&self) -> MonitorName {
        MonitorName::new(self.chan.funding_outpoint())
    }

    /// The next update: the peer's next commitment, its revocation of the
    /// previous one, our next commitment, each with `htlc_count` HTLCs.
    pub fn next_update(&mut self, htlc_count: usize) -> ChannelMonitorUpdate {
        let k = self.next_update_id;
        self.next_update_id += 1;
        let htlcs: Vec<TestHtlc> = (0..htlc_count)
            .map(|i| TestHtlc {
                amount_msat: 5_000_000 + i as u64,
                cltv_expiry: 500 + i as u32,
                preimage: PaymentPreimage([i as u8 + 1; 32]),
                offered_by_holder: i % 2 == 0,
            })
            .collect();
        let (theirs, _) =
            self.chan.counterparty_commitment(self.chan.spec(k, false, 690_000_000, 300_000_000, &htlcs));
        let revocation = self.chan.counterparty_revocation(k - 1);
        let ours = self.chan.holder_commitment(self.chan.spec(k, true, 690_000_000, 300_000_000, &htlcs));
        ChannelMonitorUpdate {
            update_id: k,
            channel_id: self.chan.channel_id,
            updates: vec![theirs, revocation, ours],
        }
    }
}

/// The chain-side components monitors need to apply updates.
#[derive(Default)]
pub struct Env {
    /// Records broadcasts.
    pub broadcaster: TestBroadcaster,
    /// One feerate.
    pub fees: TestFeeEstimator,
    /// Keeps log lines.
    pub logger: TestLogger,
}

impl Env {
    /// Applies `update` to `monitor`, which must accept it.
    pub fn apply(&self, monitor: &ChannelMonitor<InMemorySigner>, update: &ChannelMonitorUpdate) {
        monitor
            .update_monitor(update, &self.broadcaster, &self.fees, &self.logger)
            .expect("the update applies");
    }
}

/// The monitor's encoding, to compare two monitors' whole state.
pub fn encoded(monitor: &ChannelMonitor<InMemorySigner>) -> Vec<u8> {
    monitor.encode()
}
