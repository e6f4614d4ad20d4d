//! A functional test harness: several nodes in one process, each a real
//! [`ChannelManager`] with test components (fee estimator, broadcaster,
//! logger and an in-memory [`Watch`] that can answer `InProgress` on
//! demand), a simulated chain every node follows, and helpers that deliver
//! the nodes' messages to each other. Tests read like the protocol:
//! open, pay, claim, disconnect, reconnect, close.
//!
//! Available to this crate's tests and, with the `_test_utils` feature, to
//! other crates' tests.

use crate::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use crate::chain::chainmonitor::ChainMonitor;
use crate::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, MonitorEventBatch};
use crate::chain::test_utils::{TestFilter, TestPersister};
use crate::chain::{BestBlock, ChannelMonitorUpdateStatus, Listen, Watch};
use crate::events::{Event, MessageSendEvent, MessageSendEventsProvider};
use crate::ln::channelmanager::{ChainParameters, ChannelManager, RecipientOnionFields};
use crate::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, ErrorAction, Init};
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage};
use crate::prelude::*;
use crate::routing::gossip::NetworkGraph;
use crate::routing::router::{DefaultRouter, RouteParameters};
use crate::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringDecayParameters};
use crate::sign::{InMemorySigner, KeysManager};
use crate::sync::Mutex;
use crate::util::config::UserConfig;
use crate::util::logger::{Logger, Record};
use alloc::sync::Arc;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hash_types::TxMerkleNode;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxOut, Txid, Witness,
};

/// A fee estimator returning one settable feerate for every target.
pub struct TestFeeEstimator {
    /// The feerate returned.
    pub feerate: Mutex<u32>,
}

impl TestFeeEstimator {
    /// An estimator at `feerate` sat/kw.
    pub fn new(feerate: u32) -> Self {
        TestFeeEstimator { feerate: Mutex::new(feerate) }
    }
}

impl FeeEstimator for TestFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        *self.feerate.lock()
    }
}

/// A broadcaster that records every transaction.
#[derive(Default)]
pub struct TestBroadcaster {
    /// Everything broadcast, in order.
    pub txn_broadcasted: Mutex<Vec<Transaction>>,
}

impl TestBroadcaster {
    /// Takes the recorded transactions.
    pub fn take(&self) -> Vec<Transaction> {
        core::mem::take(&mut *self.txn_broadcasted.lock())
    }
}

impl BroadcasterInterface for TestBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        self.txn_broadcasted.lock().extend(txs.iter().map(|t| (*t).clone()));
    }
}

/// A logger that keeps the lines (and prints them when `LN_TEST_LOG` is
/// set).
#[derive(Default)]
pub struct TestLogger {
    /// A name for the node, printed before each line.
    pub name: String,
    /// The lines logged.
    pub lines: Mutex<Vec<String>>,
}

impl Logger for TestLogger {
    fn log(&self, record: Record<'_>) {
        let line = format!("{} {:?} {}", self.name, record.level, record.args);
        if std::env::var("LN_TEST_LOG").is_ok() {
            std::println!("{line}");
        }
        self.lines.lock().push(line);
    }
}

/// The real [`ChainMonitor`] of a test node, over the test persister.
pub type TestChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<TestFilter>,
    Arc<TestBroadcaster>,
    Arc<TestFeeEstimator>,
    Arc<TestLogger>,
    Arc<TestPersister>,
>;

/// A node's [`Watch`]: the real [`ChainMonitor`] (persisting through a
/// [`TestPersister`] whose answer tests can set, e.g. to `InProgress`),
/// with every update recorded.
pub struct TestWatch {
    /// The chain monitor.
    pub chain_monitor: TestChainMonitor,
    /// Its persister.
    pub persister: Arc<TestPersister>,
    /// Every update received, in order.
    pub updates: Mutex<Vec<ChannelMonitorUpdate>>,
    /// What persistence answers from now on.
    pub next_status: Mutex<ChannelMonitorUpdateStatus>,
}

impl TestWatch {
    /// A watch over a new `ChainMonitor` with these components.
    pub fn new(
        broadcaster: Arc<TestBroadcaster>, fee_estimator: Arc<TestFeeEstimator>, logger: Arc<TestLogger>,
    ) -> Self {
        let persister = Arc::new(TestPersister::default());
        TestWatch {
            chain_monitor: ChainMonitor::new(
                None,
                broadcaster,
                logger,
                fee_estimator,
                Arc::clone(&persister),
            ),
            persister,
            updates: Mutex::new(Vec::new()),
            next_status: Mutex::new(ChannelMonitorUpdateStatus::Completed),
        }
    }

    /// The update ids still being persisted, per channel.
    pub fn in_progress(&self) -> BTreeMap<ChannelId, Vec<u64>> {
        self.chain_monitor.list_pending_monitor_updates()
    }

    /// Reports every in-progress update of `channel_id` persisted.
    pub fn complete_all(&self, channel_id: ChannelId) {
        let latest = self.chain_monitor.get_monitor(channel_id).map(|m| m.latest_update_id());
        if let Some(latest) = latest {
            self.chain_monitor.channel_monitor_updated(channel_id, latest).expect("known channel");
        }
    }

    fn sync_status(&self) {
        self.persister.set_status(*self.next_status.lock());
    }
}

impl Watch<InMemorySigner> for TestWatch {
    fn watch_channel(
        &self, channel_id: ChannelId, monitor: ChannelMonitor<InMemorySigner>,
    ) -> Result<ChannelMonitorUpdateStatus, ()> {
        self.sync_status();
        self.chain_monitor.watch_channel(channel_id, monitor)
    }

    fn update_channel(
        &self, channel_id: ChannelId, update: &ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus {
        self.updates.lock().push(update.clone());
        self.sync_status();
        self.chain_monitor.update_channel(channel_id, update)
    }

    fn release_pending_monitor_events(&self) -> Vec<MonitorEventBatch> {
        self.chain_monitor.release_pending_monitor_events()
    }
}

/// The router of a test node: the usual [`DefaultRouter`] over the node's
/// own graph (empty unless a test fills it) and probabilistic scorer, so
/// peers are paid over the direct channel it finds or falls back to.
pub type TestRouter = DefaultRouter<Arc<NetworkGraph>, Arc<Mutex<ProbabilisticScorer>>, ProbabilisticScorer>;

/// The `ChannelManager` type of a test node.
pub type TestChannelManager = ChannelManager<
    Arc<TestWatch>,
    Arc<TestBroadcaster>,
    Arc<TestFeeEstimator>,
    TestRouter,
    Arc<TestLogger>,
    KeysManager,
>;

/// A [`TestRouter`] over `network_graph` and `scorer`.
pub fn test_router(
    network_graph: &Arc<NetworkGraph>, scorer: &Arc<Mutex<ProbabilisticScorer>>,
) -> TestRouter {
    DefaultRouter::new(Arc::clone(network_graph), Arc::clone(scorer), Default::default(), [7; 32])
}

/// One node of a test network.
pub struct Node {
    /// The channel manager.
    pub node: TestChannelManager,
    /// Its watch.
    pub watch: Arc<TestWatch>,
    /// Its broadcaster.
    pub broadcaster: Arc<TestBroadcaster>,
    /// Its fee estimator.
    pub fee_estimator: Arc<TestFeeEstimator>,
    /// Its logger.
    pub logger: Arc<TestLogger>,
    /// The network graph its router searches.
    pub network_graph: Arc<NetworkGraph>,
    /// Its router's scorer.
    pub scorer: Arc<Mutex<ProbabilisticScorer>>,
    /// Its node id.
    pub node_id: PublicKey,
    /// Its seed.
    pub seed: [u8; 32],
    /// Its configuration.
    pub config: UserConfig,
}

/// Several nodes and the chain they follow.
pub struct Network {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Header of every block connected so far (index = height).
    pub headers: Vec<Header>,
}

/// The feerate test nodes start with.
pub const TEST_FEERATE: u32 = 253;

/// A regtest header at `height` building on `prev` (how `Network` mines).
pub fn header_after(prev: &Header, height: u32) -> Header {
    Header {
        version: BlockVersion::TWO,
        prev_blockhash: prev.block_hash(),
        merkle_root: TxMerkleNode::all_zeros(),
        time: 1_700_000_000 + height * 600,
        bits: CompactTarget::from_consensus(0x207fffff),
        nonce: height,
    }
}

/// The harness's default config: 1 confirmation, anchors negotiable.
pub fn test_config() -> UserConfig {
    let mut config = UserConfig::default();
    config.channel_handshake_config.minimum_depth = 1;
    config.channel_handshake_config.our_max_accepted_htlcs = 50;
    config.channel_config.max_dust_htlc_exposure_msat = 50_000_000;
    config
}

impl Node {
    fn new(index: usize, config: UserConfig, best_block: BestBlock, timestamp: u32) -> Node {
        let mut seed = [0u8; 32];
        seed[0] = index as u8 + 1;
        seed[31] = 0x42;
        let keys = KeysManager::new(&seed, 42, index as u32);
        let key_material = keys.get_inbound_payment_key_material();
        let broadcaster = Arc::new(TestBroadcaster::default());
        let fee_estimator = Arc::new(TestFeeEstimator::new(TEST_FEERATE));
        let logger = Arc::new(TestLogger { name: format!("node {index}"), lines: Mutex::new(Vec::new()) });
        let watch = Arc::new(TestWatch::new(
            Arc::clone(&broadcaster),
            Arc::clone(&fee_estimator),
            Arc::clone(&logger),
        ));
        let network_graph = Arc::new(NetworkGraph::new(bitcoin::blockdata::constants::ChainHash::REGTEST));
        let scorer =
            Arc::new(Mutex::new(ProbabilisticScorer::new(ProbabilisticScoringDecayParameters::default())));
        let node = ChannelManager::new(
            Arc::clone(&fee_estimator),
            Arc::clone(&watch),
            Arc::clone(&broadcaster),
            test_router(&network_graph, &scorer),
            Arc::clone(&logger),
            keys,
            config,
            ChainParameters { network: bitcoin::Network::Regtest, best_block },
            key_material,
            timestamp,
        )
        .expect("KeysManager always has a node id");
        let node_id = node.get_our_node_id();
        Node { node, watch, broadcaster, fee_estimator, logger, network_graph, scorer, node_id, seed, config }
    }

    /// Takes the node's pending message events.
    pub fn msgs(&self) -> Vec<MessageSendEvent> {
        self.node.get_and_clear_pending_msg_events()
    }

    /// Takes the node's pending events.
    pub fn events(&self) -> Vec<Event> {
        self.node.get_and_clear_pending_events()
    }

    /// Replaces the node's manager with one read from `bytes` (written by
    /// `ChannelManager::write`), over the same watch and components.
    pub fn reload_manager(&mut self, bytes: &[u8]) {
        let keys = KeysManager::new(&self.seed, 42, 0);
        let material = keys.get_inbound_payment_key_material();
        self.node = ChannelManager::read(
            &mut &bytes[..],
            crate::ln::channelmanager::ChannelManagerReadArgs {
                fee_estimator: Arc::clone(&self.fee_estimator),
                chain_monitor: Arc::clone(&self.watch),
                tx_broadcaster: Arc::clone(&self.broadcaster),
                router: test_router(&self.network_graph, &self.scorer),
                logger: Arc::clone(&self.logger),
                keys,
                config: self.config,
                inbound_payment_key_material: material,
            },
        )
        .expect("reload");
    }
}

impl Network {
    /// `n` nodes with the test config.
    pub fn new(n: usize) -> Self {
        Self::with_configs(vec![test_config(); n])
    }

    /// One node per config.
    pub fn with_configs(configs: Vec<UserConfig>) -> Self {
        let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest).header;
        let best = BestBlock::new(genesis.block_hash(), 0);
        let nodes =
            configs.into_iter().enumerate().map(|(i, c)| Node::new(i, c, best, genesis.time)).collect();
        Network { nodes, headers: vec![genesis] }
    }

    /// The node with this id.
    pub fn index_of(&self, node_id: &PublicKey) -> usize {
        self.nodes.iter().position(|n| n.node_id == *node_id).expect("message for an unknown node")
    }

    /// The current height.
    pub fn height(&self) -> u32 {
        (self.headers.len() - 1) as u32
    }

    /// Mines a block holding `txs` and connects it to every node.
    pub fn mine_block(&mut self, txs: &[Transaction]) {
        let height = self.headers.len() as u32;
        let header = header_after(self.headers.last().expect("genesis"), height);
        self.headers.push(header);
        let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
        for n in &self.nodes {
            n.watch.chain_monitor.filtered_block_connected(&header, &txdata, height);
            n.node.filtered_block_connected(&header, &txdata, height);
        }
    }

    /// Mines `count` empty blocks.
    pub fn mine_blocks(&mut self, count: u32) {
        for _ in 0..count {
            self.mine_block(&[]);
        }
    }

    /// Connects nodes `a` and `b` (the `init` exchange).
    pub fn connect(&self, a: usize, b: usize) {
        let init_a = Init {
            features: self.nodes[a].node.init_features(),
            networks: None,
            remote_network_address: None,
        };
        let init_b = Init {
            features: self.nodes[b].node.init_features(),
            networks: None,
            remote_network_address: None,
        };
        self.nodes[a].node.peer_connected(self.nodes[b].node_id, &init_b, false).expect("peer refused");
        self.nodes[b].node.peer_connected(self.nodes[a].node_id, &init_a, true).expect("peer refused");
    }

    /// Disconnects nodes `a` and `b`, dropping anything in flight between
    /// them.
    pub fn disconnect(&self, a: usize, b: usize) {
        self.nodes[a].node.peer_disconnected(self.nodes[b].node_id);
        self.nodes[b].node.peer_disconnected(self.nodes[a].node_id);
    }

    /// Delivers one message event from node `from` to its recipient.
    pub fn deliver(&self, from: usize, ev: MessageSendEvent) {
        let to = &self.nodes[self.index_of(ev.node_id().expect("no broadcasts between test nodes"))].node;
        deliver_message_event(to, self.nodes[from].node_id, ev);
    }

    /// Delivers messages between all nodes until none is left. Returns how
    /// many were delivered.
    pub fn process_all(&self) -> usize {
        let mut delivered = 0;
        loop {
            let mut any = false;
            for i in 0..self.nodes.len() {
                for ev in self.nodes[i].msgs() {
                    any = true;
                    delivered += 1;
                    self.deliver(i, ev);
                }
            }
            if !any {
                return delivered;
            }
        }
    }

    /// Opens a channel from `a` to `b` and takes it to normal operation:
    /// open, accept, funding, confirmation, `channel_ready` both ways.
    /// Returns the channel id and the funding transaction.
    pub fn create_chan_between_nodes(
        &mut self, a: usize, b: usize, value_sat: u64, push_msat: u64,
    ) -> (ChannelId, Transaction) {
        let (channel_id, funding_tx) = self.open_channel_unconfirmed(a, b, value_sat, push_msat);
        self.mine_block(core::slice::from_ref(&funding_tx));
        self.process_all();
        let ready = |n: &Node| {
            n.events()
                .iter()
                .any(|e| matches!(e, Event::ChannelReady { channel_id: c, .. } if *c == channel_id))
        };
        assert!(ready(&self.nodes[a]), "no ChannelReady at the funder");
        assert!(ready(&self.nodes[b]), "no ChannelReady at the fundee");
        (channel_id, funding_tx)
    }

    /// Node `a` opens a channel of `value_sat` to `b` (user channel id 42)
    /// and gives its funding transaction: `funding_created` is queued, not
    /// delivered. Returns the temporary channel id and the funding
    /// transaction.
    pub fn start_funding(
        &self, a: usize, b: usize, value_sat: u64, push_msat: u64,
    ) -> (ChannelId, Transaction) {
        let temp_id = self.nodes[a]
            .node
            .create_channel(self.nodes[b].node_id, value_sat, push_msat, 42, None)
            .expect("create_channel");
        self.process_all();
        let events = self.nodes[a].events();
        let script = events
            .iter()
            .find_map(|e| match e {
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    output_script,
                    channel_value_satoshis,
                    ..
                } => {
                    assert_eq!(*temporary_channel_id, temp_id);
                    assert_eq!(*channel_value_satoshis, value_sat);
                    Some(output_script.clone())
                }
                _ => None,
            })
            .expect("no FundingGenerationReady");
        let funding_tx = funding_transaction(script, value_sat, self.height());
        self.nodes[a]
            .node
            .funding_transaction_generated(&temp_id, &self.nodes[b].node_id, funding_tx.clone())
            .expect("funding");
        (temp_id, funding_tx)
    }

    /// Opens a channel up to `funding_signed` (funding broadcast, not
    /// confirmed). Returns the channel id and the funding transaction.
    pub fn open_channel_unconfirmed(
        &mut self, a: usize, b: usize, value_sat: u64, push_msat: u64,
    ) -> (ChannelId, Transaction) {
        let (_, funding_tx) = self.start_funding(a, b, value_sat, push_msat);
        self.process_all();
        let channel_id = ChannelId::v1_from_funding_outpoint(funding_tx.compute_txid(), 0);
        let broadcast = self.nodes[a].broadcaster.take();
        assert_eq!(broadcast, vec![funding_tx.clone()], "the funder broadcasts the funding transaction");
        for n in [a, b] {
            assert!(self.nodes[n]
                .events()
                .iter()
                .any(|e| matches!(e, Event::ChannelPending { channel_id: c, .. } if *c == channel_id)));
        }
        (channel_id, funding_tx)
    }

    /// Starts a payment of `amount_msat` from `from` to `to` over a direct
    /// channel and delivers everything: returns the preimage, hash and id
    /// once `to` saw `PaymentClaimable`.
    pub fn send_payment(
        &self, from: usize, to: usize, amount_msat: u64,
    ) -> (PaymentPreimage, PaymentHash, PaymentId) {
        let (preimage, hash, id) = self.route_payment(from, to, amount_msat);
        self.process_all();
        let events = self.nodes[to].events();
        assert!(
            events.iter().any(|e| matches!(e, Event::PaymentClaimable { payment_hash, amount_msat: a, .. } if *payment_hash == hash && *a == amount_msat)),
            "no PaymentClaimable: {events:?}"
        );
        (preimage, hash, id)
    }

    /// Starts a payment without delivering anything.
    pub fn route_payment(
        &self, from: usize, to: usize, amount_msat: u64,
    ) -> (PaymentPreimage, PaymentHash, PaymentId) {
        let (hash, secret) = self.nodes[to].node.create_inbound_payment(Some(amount_msat), 3600);
        let preimage = self.nodes[to].node.get_payment_preimage(hash, secret).expect("our own invoice");
        let id = PaymentId(hash.0);
        let mut params = RouteParameters::for_payee(&self.nodes[to].node_id, amount_msat, 40);
        // Exact expiries (height + 40), so tests can mine up to them.
        params.payment_params.max_shadow_cltv_expiry_delta_offset = 0;
        self.nodes[from]
            .node
            .send_payment(hash, RecipientOnionFields::secret_only(secret), id, params)
            .expect("send_payment");
        (preimage, hash, id)
    }

    /// Claims a payment at `to` and checks `from` learns it succeeded.
    pub fn claim_payment(&self, from: usize, to: usize, preimage: PaymentPreimage) {
        self.nodes[to].node.claim_funds(preimage);
        self.process_all();
        let hash = preimage.payment_hash();
        assert!(self.nodes[to]
            .events()
            .iter()
            .any(|e| matches!(e, Event::PaymentClaimed { payment_hash, .. } if *payment_hash == hash)));
        let sent = self.nodes[from].events();
        assert!(
            sent.iter().any(
                |e| matches!(e, Event::PaymentSent { payment_preimage, .. } if *payment_preimage == preimage)
            ),
            "no PaymentSent: {sent:?}"
        );
    }

    /// Sends and claims a payment.
    pub fn send_and_claim(&self, from: usize, to: usize, amount_msat: u64) {
        let (preimage, _, _) = self.send_payment(from, to, amount_msat);
        self.claim_payment(from, to, preimage);
    }

    /// Our balance (msat, excluding HTLCs) in a channel.
    pub fn balance_msat(&self, node: usize, peer: usize, channel_id: ChannelId) -> u64 {
        self.nodes[node]
            .node
            .with_funded_channel(&self.nodes[peer].node_id, &channel_id, |c| c.balance_msat())
            .expect("no such channel")
    }

    /// Closes a channel cooperatively from `a` and returns the closing
    /// transaction both sides broadcast.
    pub fn close_channel(&self, a: usize, b: usize, channel_id: ChannelId) -> Transaction {
        self.nodes[a].node.close_channel(&channel_id, &self.nodes[b].node_id).expect("close_channel");
        self.process_all();
        let tx_a = self.nodes[a].broadcaster.take();
        let tx_b = self.nodes[b].broadcaster.take();
        assert_eq!(tx_a.len(), 1, "one closing transaction from {a}");
        assert_eq!(tx_a, tx_b, "both sides broadcast the same closing transaction");
        for n in [a, b] {
            assert!(self.nodes[n].events().iter().any(|e| matches!(
                e,
                Event::ChannelClosed { channel_id: c, reason: crate::events::ClosureReason::CooperativeClosure, .. } if *c == channel_id
            )));
        }
        tx_a.into_iter().next().expect("checked above")
    }
}

/// A funding transaction paying `value_sat` to `script` (output 0), from a
/// made-up segwit input.
pub fn funding_transaction(script: ScriptBuf, value_sat: u64, nonce: u32) -> Transaction {
    let mut witness = Witness::new();
    witness.push([nonce as u8; 72]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array([nonce as u8 ^ 0x55; 32]), vout: nonce },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness,
        }],
        output: vec![TxOut { value: Amount::from_sat(value_sat), script_pubkey: script }],
    }
}

/// A block hash for tests.
pub fn dummy_block_hash(b: u8) -> BlockHash {
    BlockHash::from_byte_array([b; 32])
}

/// Hands the channel message (or error) in `ev`, sent by `from`, to `to`, as
/// a `PeerManager` would after decoding it; gossip events are ignored. Test
/// harnesses that connect managers without sockets deliver through this.
pub fn deliver_message_event<H: ChannelMessageHandler + ?Sized>(
    to: &H, from: PublicKey, ev: MessageSendEvent,
) {
    let from_id = from;
    match ev {
        MessageSendEvent::SendOpenChannel { msg, .. } => to.handle_open_channel(from_id, &msg),
        MessageSendEvent::SendAcceptChannel { msg, .. } => to.handle_accept_channel(from_id, &msg),
        MessageSendEvent::SendFundingCreated { msg, .. } => to.handle_funding_created(from_id, &msg),
        MessageSendEvent::SendFundingSigned { msg, .. } => to.handle_funding_signed(from_id, &msg),
        MessageSendEvent::SendChannelReady { msg, .. } => to.handle_channel_ready(from_id, &msg),
        MessageSendEvent::SendShutdown { msg, .. } => to.handle_shutdown(from_id, &msg),
        MessageSendEvent::SendClosingSigned { msg, .. } => to.handle_closing_signed(from_id, &msg),
        MessageSendEvent::SendRevokeAndACK { msg, .. } => to.handle_revoke_and_ack(from_id, &msg),
        MessageSendEvent::SendChannelReestablish { msg, .. } => to.handle_channel_reestablish(from_id, &msg),
        MessageSendEvent::UpdateHTLCs { updates, .. } => {
            for m in &updates.update_add_htlcs {
                to.handle_update_add_htlc(from_id, m);
            }
            for m in &updates.update_fulfill_htlcs {
                to.handle_update_fulfill_htlc(from_id, m);
            }
            for m in &updates.update_fail_htlcs {
                to.handle_update_fail_htlc(from_id, m);
            }
            for m in &updates.update_fail_malformed_htlcs {
                to.handle_update_fail_malformed_htlc(from_id, m);
            }
            if let Some(m) = &updates.update_fee {
                to.handle_update_fee(from_id, m);
            }
            if let Some(m) = &updates.commitment_signed {
                to.handle_commitment_signed(from_id, m);
            }
        }
        MessageSendEvent::HandleError { action, .. } => match action {
            ErrorAction::SendErrorMessage { msg } | ErrorAction::DisconnectPeer { msg: Some(msg) } => {
                to.handle_error(from_id, &msg)
            }
            _ => {}
        },
        MessageSendEvent::SendGossip { .. } | MessageSendEvent::BroadcastGossip { .. } => {}
    }
}
