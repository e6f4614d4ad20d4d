//! A small functional harness whose nodes persist through a
//! `FilesystemStore`: each node is a real `ChannelManager` over a real
//! `ChainMonitor` whose persister is this crate's (synchronous or
//! asynchronous), so a node can be dropped entirely and started again from
//! its directory. Message delivery and the story helpers follow
//! `lightning_core::ln::functional_test_utils`, whose test components
//! (broadcaster, fee estimator, logger) are reused.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use lightning_core::bitcoin::block::{Header, Version as BlockVersion};
use lightning_core::bitcoin::hash_types::TxMerkleNode;
use lightning_core::bitcoin::hashes::Hash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::bitcoin::{CompactTarget, Network as BitcoinNetwork, Transaction};
use lightning_core::chain::chainmonitor::{ChainMonitor, MonitorName, Persist};
use lightning_core::chain::test_utils::TestFilter;
use lightning_core::chain::{BestBlock, Listen};
use lightning_core::events::{Event, MessageSendEvent, MessageSendEventsProvider};
use lightning_core::ln::channelmanager::{
    ChainParameters, ChannelManager, ChannelManagerReadArgs, RecipientOnionFields,
};
use lightning_core::ln::functional_test_utils::{
    deliver_message_event, funding_transaction, test_config, TestBroadcaster, TestFeeEstimator, TestLogger,
    TEST_FEERATE,
};
use lightning_core::ln::msgs::{BaseMessageHandler, Init};
use lightning_core::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage};
use lightning_core::routing::router::{DirectRouter, RouteParameters};
use lightning_core::sign::{InMemorySigner, KeysManager};
use lightning_core::sync::Mutex;
use lightning_core::util::config::UserConfig;
use lightning_core::util::persist::{KVStore, CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE};
use lightning_persister::fs_store::FilesystemStore;
use lightning_persister::monitor::{
    chain_monitor_completion_handler, AsyncMonitorPersister, MonitorUpdatingPersister, Spawner, WriteTask,
};
use lightning_persister::node_state::{
    persist_manager, read_channel_manager_and_monitors, StartedNode, StartupError,
};

/// The chain monitor of a persisted node (its persister behind a trait
/// object, so sync and async nodes have one type).
pub type NodeChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<TestFilter>,
    Arc<TestBroadcaster>,
    Arc<TestFeeEstimator>,
    Arc<TestLogger>,
    Arc<dyn Persist<InMemorySigner> + Send + Sync>,
>;

/// The channel manager of a persisted node.
pub type NodeManager = ChannelManager<
    Arc<NodeChainMonitor>,
    Arc<TestBroadcaster>,
    Arc<TestFeeEstimator>,
    DirectRouter,
    Arc<TestLogger>,
    KeysManager,
>;

/// The asynchronous persister of a node.
pub type NodeAsyncPersister = AsyncMonitorPersister<Arc<FilesystemStore>, Arc<TestLogger>>;

/// Holds spawned write tasks until the test runs them.
#[derive(Clone, Default)]
pub struct ManualSpawner(pub Arc<std::sync::Mutex<Vec<WriteTask>>>);

impl ManualSpawner {
    /// The spawner handing tasks to this queue.
    pub fn spawner(&self) -> Spawner {
        let tasks = Arc::clone(&self.0);
        Arc::new(move |task| tasks.lock().expect("lock").push(task))
    }
    /// Tasks waiting.
    pub fn queued(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
    /// Runs every waiting task (and those they cause).
    pub fn run_all(&self) {
        loop {
            let tasks = std::mem::take(&mut *self.0.lock().expect("lock"));
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                task.run();
            }
        }
    }
}

/// How a node persists its monitors.
#[derive(Clone)]
pub enum Mode {
    /// `MonitorUpdatingPersister`: `Completed` after each durable write.
    Sync,
    /// `AsyncMonitorPersister` on the given spawner: `InProgress`.
    Async(ManualSpawner),
}

/// One node whose state lives in a directory.
pub struct PersistedNode {
    /// The channel manager.
    pub node: NodeManager,
    /// Its chain monitor.
    pub chain_monitor: Arc<NodeChainMonitor>,
    /// The store of its directory.
    pub store: Arc<FilesystemStore>,
    /// Its asynchronous persister, in async mode.
    pub async_persister: Option<Arc<NodeAsyncPersister>>,
    /// Its broadcaster.
    pub broadcaster: Arc<TestBroadcaster>,
    /// Its fee estimator.
    pub fee_estimator: Arc<TestFeeEstimator>,
    /// Its logger.
    pub logger: Arc<TestLogger>,
    /// Its node id.
    pub node_id: PublicKey,
    index: usize,
    config: UserConfig,
}

fn seed(index: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[0] = index as u8 + 1;
    seed[31] = 0x42;
    seed
}

/// The components of a node before its manager exists.
struct Components {
    store: Arc<FilesystemStore>,
    async_persister: Option<Arc<NodeAsyncPersister>>,
    chain_monitor: Arc<NodeChainMonitor>,
    broadcaster: Arc<TestBroadcaster>,
    fee_estimator: Arc<TestFeeEstimator>,
    logger: Arc<TestLogger>,
    keys: KeysManager,
}

fn components(index: usize, dir: &PathBuf, mode: &Mode, maximum_pending_updates: u64) -> Components {
    let store = Arc::new(FilesystemStore::new(dir).expect("open store"));
    let logger = Arc::new(TestLogger { name: format!("node {index}"), lines: Mutex::new(Vec::new()) });
    let broadcaster = Arc::new(TestBroadcaster::default());
    let fee_estimator = Arc::new(TestFeeEstimator::new(TEST_FEERATE));
    let sync = MonitorUpdatingPersister::new(Arc::clone(&store), Arc::clone(&logger))
        .with_maximum_pending_updates(maximum_pending_updates);
    let (persister, async_persister): (Arc<dyn Persist<InMemorySigner> + Send + Sync>, _) = match mode {
        Mode::Sync => (Arc::new(sync), None),
        Mode::Async(spawner) => {
            let p = Arc::new(AsyncMonitorPersister::new(sync, spawner.spawner()));
            (Arc::clone(&p) as Arc<dyn Persist<InMemorySigner> + Send + Sync>, Some(p))
        }
    };
    let chain_monitor = Arc::new(ChainMonitor::new(
        Some(Arc::new(TestFilter::default())),
        Arc::clone(&broadcaster),
        Arc::clone(&logger),
        Arc::clone(&fee_estimator),
        persister,
    ));
    if let Some(p) = &async_persister {
        p.set_completion_handler(chain_monitor_completion_handler(&chain_monitor));
    }
    let keys = KeysManager::new(&seed(index), 42, index as u32);
    Components { store, async_persister, chain_monitor, broadcaster, fee_estimator, logger, keys }
}

impl PersistedNode {
    fn new(index: usize, dir: &PathBuf, mode: &Mode, best_block: BestBlock, timestamp: u32) -> Self {
        let config = test_config();
        let c = components(index, dir, mode, 5);
        let material = c.keys.get_inbound_payment_key_material();
        let node = ChannelManager::new(
            Arc::clone(&c.fee_estimator),
            Arc::clone(&c.chain_monitor),
            Arc::clone(&c.broadcaster),
            DirectRouter,
            Arc::clone(&c.logger),
            c.keys,
            config,
            ChainParameters { network: BitcoinNetwork::Regtest, best_block },
            material,
            timestamp,
        )
        .expect("a KeysManager has a node id");
        let node_id = node.get_our_node_id();
        PersistedNode {
            node,
            chain_monitor: c.chain_monitor,
            store: c.store,
            async_persister: c.async_persister,
            broadcaster: c.broadcaster,
            fee_estimator: c.fee_estimator,
            logger: c.logger,
            node_id,
            index,
            config,
        }
    }

    /// Starts a node from its directory with
    /// `read_channel_manager_and_monitors`.
    fn start(
        index: usize, dir: &PathBuf, mode: &Mode, config: UserConfig,
    ) -> Result<(Self, StartupReport), StartupError> {
        let c = components(index, dir, mode, 5);
        let material = c.keys.get_inbound_payment_key_material();
        let args = ChannelManagerReadArgs {
            fee_estimator: Arc::clone(&c.fee_estimator),
            chain_monitor: Arc::clone(&c.chain_monitor),
            tx_broadcaster: Arc::clone(&c.broadcaster),
            router: DirectRouter,
            logger: Arc::clone(&c.logger),
            keys: c.keys,
            config,
            inbound_payment_key_material: material,
        };
        let started = read_channel_manager_and_monitors(&*c.store, args)?.expect("a stored node");
        // The manager moves into the node; the report keeps the rest.
        let (channel_manager, report) = started.into_parts();
        let node_id = channel_manager.get_our_node_id();
        let node = PersistedNode {
            node: channel_manager,
            chain_monitor: c.chain_monitor,
            store: c.store,
            async_persister: c.async_persister,
            broadcaster: c.broadcaster,
            fee_estimator: c.fee_estimator,
            logger: c.logger,
            node_id,
            index,
            config,
        };
        Ok((node, report))
    }

    /// Takes the node's pending message events.
    pub fn msgs(&self) -> Vec<MessageSendEvent> {
        self.node.get_and_clear_pending_msg_events()
    }

    /// Takes the node's pending events.
    pub fn events(&self) -> Vec<Event> {
        self.node.get_and_clear_pending_events()
    }

    /// Writes the manager to the node's store.
    pub fn persist_manager(&self) {
        persist_manager(&*self.store, &self.node).expect("manager persisted");
    }
}

/// The store name of the monitor of the channel funded by output 0 of
/// `funding_tx`.
pub fn monitor_name(funding_tx: &Transaction) -> String {
    MonitorName::new(lightning_core::bitcoin::OutPoint { txid: funding_tx.compute_txid(), vout: 0 })
        .to_string()
}

/// A start-up report without the manager (which went into the node).
pub type StartupReport = StartedNode<()>;

fn header_after(prev: &Header, height: u32) -> Header {
    Header {
        version: BlockVersion::TWO,
        prev_blockhash: prev.block_hash(),
        merkle_root: TxMerkleNode::all_zeros(),
        time: 1_700_000_000 + height * 600,
        bits: CompactTarget::from_consensus(0x207fffff),
        nonce: height,
    }
}

/// Persisted nodes, their directories and the chain they follow.
pub struct Network {
    /// The nodes.
    pub nodes: Vec<PersistedNode>,
    /// Each node's directory (kept while nodes are dropped and restarted).
    pub dirs: Vec<tempfile::TempDir>,
    /// Each node's persistence mode.
    pub modes: Vec<Mode>,
    /// Every block: header and transactions (index = height).
    pub blocks: Vec<(Header, Vec<Transaction>)>,
    configs_of_stopped: Vec<(usize, UserConfig)>,
}

impl Network {
    /// One node per mode, each in a fresh directory.
    pub fn new(modes: Vec<Mode>) -> Self {
        let genesis =
            lightning_core::bitcoin::blockdata::constants::genesis_block(BitcoinNetwork::Regtest).header;
        let best = BestBlock::new(genesis.block_hash(), 0);
        let dirs: Vec<tempfile::TempDir> = modes.iter().map(|_| super::test_dir("node")).collect();
        let nodes = modes
            .iter()
            .enumerate()
            .map(|(i, mode)| PersistedNode::new(i, &dirs[i].path().to_path_buf(), mode, best, genesis.time))
            .collect();
        Network { nodes, dirs, modes, blocks: vec![(genesis, Vec::new())], configs_of_stopped: Vec::new() }
    }

    /// The current height.
    pub fn height(&self) -> u32 {
        (self.blocks.len() - 1) as u32
    }

    /// Mines a block holding `txs` and connects it to every node.
    pub fn mine_block(&mut self, txs: &[Transaction]) {
        let height = self.blocks.len() as u32;
        let header = header_after(&self.blocks.last().expect("genesis").0, height);
        self.blocks.push((header, txs.to_vec()));
        let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
        for n in &self.nodes {
            n.chain_monitor.filtered_block_connected(&header, &txdata, height);
            n.node.filtered_block_connected(&header, &txdata, height);
        }
    }

    /// Drops every in-memory object of node `i` and starts it again from its
    /// directory (see [`Network::start`]).
    pub fn restart(&mut self, i: usize) -> Result<StartupReport, StartupError> {
        self.stop(i);
        self.start(i)
    }

    /// Drops every in-memory object of node `i` (its manager, chain monitor,
    /// persister, store...); only its directory remains. Until
    /// [`Network::start`] puts it back, the nodes after it shift down.
    pub fn stop(&mut self, i: usize) {
        let old = self.nodes.remove(i);
        self.configs_of_stopped.push((i, old.config));
        drop(old);
    }

    /// Starts node `i` from its directory with
    /// `read_channel_manager_and_monitors`, then replays the blocks its
    /// monitors and manager have not seen. On an error the node stays stopped.
    pub fn start(&mut self, i: usize) -> Result<StartupReport, StartupError> {
        let config = self
            .configs_of_stopped
            .iter()
            .rev()
            .find(|(index, _)| *index == i)
            .map(|(_, config)| *config)
            .expect("node was stopped");
        let dir = self.dirs[i].path().to_path_buf();
        let (node, report) = PersistedNode::start(i, &dir, &self.modes[i], config)?;
        let monitor_height = node
            .chain_monitor
            .list_monitors()
            .iter()
            .filter_map(|(id, _)| node.chain_monitor.get_monitor(*id).map(|m| m.current_best_block().height))
            .min()
            .unwrap_or(self.height());
        let manager_height = node.node.current_best_block().height;
        for height in monitor_height.min(manager_height) + 1..=self.height() {
            let (header, txs) = &self.blocks[height as usize];
            let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
            if height > monitor_height {
                node.chain_monitor.filtered_block_connected(header, &txdata, height);
            }
            if height > manager_height {
                node.node.filtered_block_connected(header, &txdata, height);
            }
        }
        self.nodes.insert(i, node);
        Ok(report)
    }

    /// The node with this id.
    pub fn index_of(&self, node_id: &PublicKey) -> usize {
        self.nodes.iter().position(|n| n.node_id == *node_id).expect("message for an unknown node")
    }

    /// Connects nodes `a` and `b` (the `init` exchange).
    pub fn connect(&self, a: usize, b: usize) {
        let init = |n: usize| Init {
            features: self.nodes[n].node.init_features(),
            networks: None,
            remote_network_address: None,
        };
        self.nodes[a].node.peer_connected(self.nodes[b].node_id, &init(b), false).expect("peer refused");
        self.nodes[b].node.peer_connected(self.nodes[a].node_id, &init(a), true).expect("peer refused");
    }

    /// Disconnects nodes `a` and `b`.
    pub fn disconnect(&self, a: usize, b: usize) {
        self.nodes[a].node.peer_disconnected(self.nodes[b].node_id);
        self.nodes[b].node.peer_disconnected(self.nodes[a].node_id);
    }

    /// Delivers one message event from node `from` to its recipient.
    pub fn deliver(&self, from: usize, ev: MessageSendEvent) {
        let to = &self.nodes[self.index_of(ev.node_id().expect("no broadcasts between test nodes"))].node;
        deliver_message_event(to, self.nodes[from].node_id, ev);
    }

    /// Delivers messages between all nodes until none is left; returns how
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

    /// Runs the asynchronous nodes' pending monitor writes and delivers
    /// messages, until nothing is left to do.
    pub fn settle(&self) {
        loop {
            let mut progressed = false;
            for mode in &self.modes {
                if let Mode::Async(spawner) = mode {
                    if spawner.queued() > 0 {
                        spawner.run_all();
                        progressed = true;
                    }
                }
            }
            if self.process_all() > 0 {
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Opens a channel from `a` to `b` and takes it to normal operation
    /// (running asynchronous monitor writes as they come).
    pub fn create_channel(&mut self, a: usize, b: usize, value_sat: u64) -> (ChannelId, Transaction) {
        let temp_id = self.nodes[a]
            .node
            .create_channel(self.nodes[b].node_id, value_sat, 0, 42, None)
            .expect("create_channel");
        self.settle();
        let script = self.nodes[a]
            .events()
            .into_iter()
            .find_map(|e| match e {
                Event::FundingGenerationReady { output_script, .. } => Some(output_script),
                _ => None,
            })
            .expect("no FundingGenerationReady");
        let funding_tx = funding_transaction(script, value_sat, self.height());
        self.nodes[a]
            .node
            .funding_transaction_generated(&temp_id, &self.nodes[b].node_id, funding_tx.clone())
            .expect("funding");
        self.settle();
        let channel_id = ChannelId::v1_from_funding_outpoint(funding_tx.compute_txid(), 0);
        assert_eq!(self.nodes[a].broadcaster.take(), vec![funding_tx.clone()]);
        self.mine_block(std::slice::from_ref(&funding_tx));
        self.settle();
        for n in [a, b] {
            assert!(
                self.nodes[n]
                    .events()
                    .iter()
                    .any(|e| matches!(e, Event::ChannelReady { channel_id: c, .. } if *c == channel_id)),
                "no ChannelReady at node {n}"
            );
        }
        (channel_id, funding_tx)
    }

    /// Starts a payment without delivering anything.
    pub fn route_payment(&self, from: usize, to: usize, amount_msat: u64) -> (PaymentPreimage, PaymentHash) {
        let (hash, secret) = self.nodes[to].node.create_inbound_payment(Some(amount_msat), 3600);
        let preimage = self.nodes[to].node.get_payment_preimage(hash, secret).expect("our own invoice");
        let params = RouteParameters::for_payee(&self.nodes[to].node_id, amount_msat, 40);
        self.nodes[from]
            .node
            .send_payment(hash, RecipientOnionFields::secret_only(secret), PaymentId(hash.0), params)
            .expect("send_payment");
        (preimage, hash)
    }

    /// Sends a payment and claims it, checking both ends' events (running
    /// asynchronous monitor writes as they come).
    pub fn send_and_claim(&self, from: usize, to: usize, amount_msat: u64) {
        let (preimage, hash) = self.route_payment(from, to, amount_msat);
        self.settle();
        let events = self.nodes[to].events();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash)),
            "no PaymentClaimable: {events:?}"
        );
        self.nodes[to].node.claim_funds(preimage);
        self.settle();
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

    /// The update ids stored for monitor `name` of node `i`, sorted.
    pub fn stored_update_ids(&self, i: usize, name: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = self.nodes[i]
            .store
            .list(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, name)
            .expect("list")
            .iter()
            .map(|k| k.parse().expect("id"))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The update ids stored for monitor `name` of node `i`, read from its
    /// directory (works while the node is stopped).
    pub fn stored_update_ids_at(&self, i: usize, name: &str) -> Vec<u64> {
        let dir = self.dirs[i].path().join(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE).join(name);
        let mut ids: Vec<u64> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// The manager's and the chain monitor's latest update id for a channel.
    pub fn update_ids(&self, node: usize, peer: usize, chan: ChannelId) -> (u64, u64) {
        let manager = self.nodes[node]
            .node
            .with_funded_channel(&self.nodes[peer].node_id, &chan, |c| c.latest_monitor_update_id())
            .expect("channel");
        let monitor = self.nodes[node].chain_monitor.get_monitor(chan).expect("monitor").latest_update_id();
        (manager, monitor)
    }

    /// Our balance (msat, excluding HTLCs) in a channel.
    pub fn balance_msat(&self, node: usize, peer: usize, channel_id: ChannelId) -> u64 {
        self.nodes[node]
            .node
            .with_funded_channel(&self.nodes[peer].node_id, &channel_id, |c| c.balance_msat())
            .expect("no such channel")
    }
}
