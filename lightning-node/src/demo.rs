//! `lightning-node demo`: a local network in one process. Two nodes (alice
//! and bob, keys from fixed seeds) connect over real loopback TCP (BOLT 8),
//! follow one simulated chain that mines the transactions they broadcast,
//! open a channel (alice funds it), confirm it, send 1,000 payments of random
//! amounts from alice to bob (up to 30 in flight at once), close the channel
//! cooperatively and report what happened.

use lightning_core::bitcoin::block::{Header, Version as BlockVersion};
use lightning_core::bitcoin::hash_types::TxMerkleNode;
use lightning_core::bitcoin::hashes::Hash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::bitcoin::transaction::Version;
use lightning_core::bitcoin::{
    absolute::LockTime, Amount, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use lightning_core::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning_core::chain::chainmonitor::{ChainMonitor, MonitorName, Persist};
use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::chain::{BestBlock, ChannelMonitorUpdateStatus, Filter, Listen, WatchedOutput};
use lightning_core::events::{ClosureReason, Event};
use lightning_core::ln::channelmanager::{
    ChainParameters, ChannelManager, RecipientOnionFields, SimpleDefaultRouter,
};
use lightning_core::ln::msgs::IgnoringMessageHandler;
use lightning_core::ln::peer_handler::{MessageHandler, PeerManager};
use lightning_core::ln::types::PaymentId;
use lightning_core::routing::gossip::NetworkGraph;
use lightning_core::routing::router::{DefaultRouter, RouteParameters};
use lightning_core::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringDecayParameters};
use lightning_core::sign::{EntropySource, InMemorySigner, KeysManager};
use lightning_core::util::config::UserConfig;
use lightning_core::util::logger::NullLogger;
use lightning_net_tokio::{PeerManagerDriver, SocketDescriptor};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Payments alice sends bob.
const PAYMENTS: usize = 1000;
/// The most payments in flight at once.
const WINDOW: usize = 30;
/// The channel's value.
const CHANNEL_SAT: u64 = 2_000_000;
/// Payment amounts are drawn uniformly from this range.
const MIN_PAYMENT_MSAT: u64 = 1_000;
const MAX_PAYMENT_MSAT: u64 = 1_000_000;

/// A chain both nodes follow: broadcast transactions wait in a mempool until
/// the next block is mined.
#[derive(Default)]
struct SimChain {
    mempool: Mutex<Vec<Transaction>>,
    headers: Mutex<Vec<Header>>,
    mined: Mutex<Vec<Txid>>,
}

impl BroadcasterInterface for SimChain {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        let mut mempool = self.mempool.lock().expect("lock");
        let mined = self.mined.lock().expect("lock");
        for tx in txs {
            let txid = tx.compute_txid();
            if !mined.contains(&txid) && !mempool.iter().any(|t| t.compute_txid() == txid) {
                mempool.push((*tx).clone());
            }
        }
    }
}

impl SimChain {
    fn new() -> Self {
        let genesis = lightning_core::bitcoin::blockdata::constants::genesis_block(
            lightning_core::bitcoin::Network::Regtest,
        );
        SimChain { headers: Mutex::new(vec![genesis.header]), ..Default::default() }
    }

    fn tip(&self) -> BestBlock {
        let headers = self.headers.lock().expect("lock");
        BestBlock::new(headers[headers.len() - 1].block_hash(), (headers.len() - 1) as u32)
    }

    /// Mines the mempool into a block and hands it to every node.
    fn mine(&self, nodes: &[&DemoNode]) -> Vec<Txid> {
        let txs: Vec<Transaction> = std::mem::take(&mut *self.mempool.lock().expect("lock"));
        let (header, height) = {
            let mut headers = self.headers.lock().expect("lock");
            let prev = headers[headers.len() - 1];
            let height = headers.len() as u32;
            let header = Header {
                version: BlockVersion::TWO,
                prev_blockhash: prev.block_hash(),
                merkle_root: TxMerkleNode::all_zeros(),
                time: prev.time + 600,
                bits: CompactTarget::from_consensus(0x207fffff),
                nonce: height,
            };
            headers.push(header);
            (header, height)
        };
        let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
        for node in nodes {
            node.chain_monitor.filtered_block_connected(&header, &txdata, height);
            node.manager.filtered_block_connected(&header, &txdata, height);
        }
        let ids: Vec<Txid> = txs.iter().map(|t| t.compute_txid()).collect();
        self.mined.lock().expect("lock").extend(ids.iter().copied());
        ids
    }
}

/// A fixed 1 sat/vbyte fee market.
struct DemoFees;
impl FeeEstimator for DemoFees {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        253
    }
}

/// Monitors stay in memory for the demo (the node's `run` persists them).
struct MemoryPersister;
impl Persist<InMemorySigner> for MemoryPersister {
    fn persist_new_channel(
        &self, _: MonitorName, _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }
    fn update_persisted_channel(
        &self, _: MonitorName, _: Option<&ChannelMonitorUpdate>, _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }
}

/// Prints log records to stderr when `DEMO_DEBUG` is set.
#[derive(Clone, Copy)]
struct DemoLogger(&'static str);
impl lightning_core::util::logger::Logger for DemoLogger {
    fn log(&self, record: lightning_core::util::logger::Record<'_>) {
        if std::env::var("DEMO_DEBUG").is_ok() && record.level >= lightning_core::util::logger::Level::Debug {
            eprintln!("{} {:?} {}", self.0, record.level, record.args);
        }
    }
}

/// The simulated chain serves whole blocks: nothing to filter.
struct NoFilter;
impl Filter for NoFilter {
    fn register_tx(&self, _: &Txid, _: &ScriptBuf) {}
    fn register_output(&self, _: WatchedOutput) {}
}

type DemoChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<NoFilter>,
    Arc<SimChain>,
    Arc<DemoFees>,
    NullLogger,
    Arc<MemoryPersister>,
>;
type DemoChannelManager = ChannelManager<
    Arc<DemoChainMonitor>,
    Arc<SimChain>,
    Arc<DemoFees>,
    SimpleDefaultRouter,
    DemoLogger,
    KeysManager,
>;
type DemoPeerManager = PeerManager<
    SocketDescriptor,
    Arc<DemoChannelManager>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    KeysManager,
    DemoLogger,
>;

struct DemoNode {
    manager: Arc<DemoChannelManager>,
    chain_monitor: Arc<DemoChainMonitor>,
    peers: Arc<DemoPeerManager>,
}

impl DemoNode {
    fn new(seed: u8, chain: &Arc<SimChain>) -> Result<Self, String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
        let fees = Arc::new(DemoFees);
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::clone(chain),
            NullLogger,
            Arc::clone(&fees),
            Arc::new(MemoryPersister),
        ));
        let keys = KeysManager::new(&[seed; 32], now.as_secs(), now.subsec_nanos());
        let key_material = keys.get_inbound_payment_key_material();
        let mut config = UserConfig::default();
        config.channel_handshake_config.minimum_depth = 1;
        config.channel_handshake_config.our_max_accepted_htlcs = 2 * WINDOW as u16;
        // Most demo payments are below the dust limit: allow a window of them.
        config.channel_config.max_dust_htlc_exposure_msat = 2 * WINDOW as u64 * MAX_PAYMENT_MSAT;
        // The usual router: the graph (empty here: bob is alice's peer, paid
        // over their channel) and a probabilistic scorer.
        let graph =
            Arc::new(NetworkGraph::new(lightning_core::bitcoin::blockdata::constants::ChainHash::REGTEST));
        let scorer = Arc::new(lightning_core::sync::Mutex::new(ProbabilisticScorer::new(
            ProbabilisticScoringDecayParameters::default(),
        )));
        let router = DefaultRouter::new(graph, scorer, Default::default(), keys.get_secure_random_bytes());
        let manager = Arc::new(
            ChannelManager::new(
                fees,
                Arc::clone(&chain_monitor),
                Arc::clone(chain),
                router,
                DemoLogger(if seed == 1 { "alice" } else { "bob" }),
                keys,
                config,
                ChainParameters {
                    network: lightning_core::bitcoin::Network::Regtest,
                    best_block: chain.tip(),
                },
                key_material,
                now.as_secs() as u32,
            )
            .map_err(|e| format!("signer: {e}"))?,
        );
        let handlers = MessageHandler {
            chan_handler: Arc::clone(&manager),
            route_handler: IgnoringMessageHandler,
            custom_message_handler: IgnoringMessageHandler,
        };
        let peer_keys = KeysManager::new(&[seed; 32], now.as_secs(), now.subsec_nanos().wrapping_add(1));
        let peers = Arc::new(
            PeerManager::new(
                handlers,
                lightning_core::bitcoin::blockdata::constants::ChainHash::REGTEST,
                peer_keys,
                DemoLogger(if seed == 1 { "alice pm" } else { "bob pm" }),
            )
            .map_err(|e| format!("signer: {e}"))?,
        );
        Ok(DemoNode { manager, chain_monitor, peers })
    }

    fn id(&self) -> PublicKey {
        self.manager.get_our_node_id()
    }
}

async fn wait_for<T>(what: &str, mut poll: impl FnMut() -> Option<T>) -> Result<T, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = poll() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::task::yield_now().await;
    }
}

/// A small xorshift generator (the demo needs varied amounts, not secrets).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn funding_transaction(script: ScriptBuf, value_sat: u64) -> Transaction {
    let mut witness = Witness::new();
    witness.push([1u8; 72]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array([0xd0; 32]), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness,
        }],
        output: vec![TxOut { value: Amount::from_sat(value_sat), script_pubkey: script }],
    }
}

/// Runs the demo and prints a summary (or one JSON object with `json`).
pub async fn run(json_output: bool) -> Result<(), String> {
    let chain = Arc::new(SimChain::new());
    let alice = DemoNode::new(1, &chain)?;
    let bob = DemoNode::new(2, &chain)?;
    let _drivers = [
        PeerManagerDriver::spawn(alice.peers.clone(), Duration::from_secs(10), Duration::from_millis(5)),
        PeerManagerDriver::spawn(bob.peers.clone(), Duration::from_secs(10), Duration::from_millis(5)),
    ];

    // Connect over loopback TCP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let bob_accept = bob.peers.clone();
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            if let Ok(stream) = stream.into_std() {
                lightning_net_tokio::setup_inbound(bob_accept, stream).await;
            }
        }
    });
    let connection = lightning_net_tokio::connect_outbound(alice.peers.clone(), bob.id(), addr)
        .await
        .ok_or("alice could not reach bob")?;
    tokio::spawn(connection);
    wait_for("init exchange", || {
        (alice.peers.list_peers().len() == 1 && bob.peers.list_peers().len() == 1).then_some(())
    })
    .await?;

    // Open and fund the channel.
    let open_start = Instant::now();
    let temp_id = alice
        .manager
        .create_channel(bob.id(), CHANNEL_SAT, 0, 1, None)
        .map_err(|e| format!("create_channel: {e:?}"))?;
    alice.peers.process_events();
    let script = wait_for("FundingGenerationReady", || {
        alice.manager.get_and_clear_pending_events().into_iter().find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
    })
    .await?;
    let funding_tx = funding_transaction(script, CHANNEL_SAT);
    alice
        .manager
        .funding_transaction_generated(&temp_id, &bob.id(), funding_tx.clone())
        .map_err(|e| format!("funding: {e:?}"))?;
    alice.peers.process_events();
    wait_for("funding broadcast", || {
        chain
            .mempool
            .lock()
            .expect("lock")
            .iter()
            .any(|t| t.compute_txid() == funding_tx.compute_txid())
            .then_some(())
    })
    .await?;
    let funding_block = chain.tip().height + 1;
    chain.mine(&[&alice, &bob]);
    alice.peers.process_events();
    bob.peers.process_events();
    let mut ready = [false, false];
    wait_for("ChannelReady on both sides", || {
        for (i, node) in [&alice, &bob].iter().enumerate() {
            if node
                .manager
                .get_and_clear_pending_events()
                .iter()
                .any(|e| matches!(e, Event::ChannelReady { .. }))
            {
                ready[i] = true;
            }
        }
        (ready == [true, true]).then_some(())
    })
    .await?;
    let open_time = open_start.elapsed();
    let channel = alice.manager.list_usable_channels().into_iter().next().ok_or("no usable channel")?;

    // Payments, up to WINDOW in flight.
    let mut rng =
        Rng(SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_nanos() as u64 | 1);
    let mut amounts: HashMap<PaymentId, u64> = HashMap::new();
    let (mut sent, mut succeeded, mut failed, mut in_flight) = (0usize, 0usize, 0usize, 0usize);
    let mut delivered_msat = 0u64;
    let pay_start = Instant::now();
    let deadline = pay_start + Duration::from_secs(60);
    while succeeded + failed < PAYMENTS {
        while in_flight < WINDOW && sent < PAYMENTS {
            let amount = rng.range(MIN_PAYMENT_MSAT, MAX_PAYMENT_MSAT);
            let (hash, secret) = bob.manager.create_inbound_payment(Some(amount), 3600);
            let id = PaymentId(hash.0);
            let params = RouteParameters::for_payee(&bob.id(), amount, 40);
            sent += 1;
            match alice.manager.send_payment(hash, RecipientOnionFields::secret_only(secret), id, params) {
                Ok(()) => {
                    in_flight += 1;
                    amounts.insert(id, amount);
                }
                Err(e) => {
                    if std::env::var("DEMO_DEBUG").is_ok() {
                        eprintln!("send_payment: {e:?}");
                    }
                    failed += 1
                }
            }
        }
        alice.peers.process_events();
        let mut progressed = false;
        for event in bob.manager.get_and_clear_pending_events() {
            if let Event::PaymentClaimable { purpose, .. } = event {
                if let Some(preimage) = purpose.preimage() {
                    bob.manager.claim_funds(preimage);
                    progressed = true;
                }
            }
        }
        if progressed {
            bob.peers.process_events();
        }
        for event in alice.manager.get_and_clear_pending_events() {
            match event {
                Event::PaymentSent { payment_id, .. } => {
                    succeeded += 1;
                    in_flight -= 1;
                    delivered_msat += amounts.get(&payment_id).copied().unwrap_or(0);
                }
                Event::PaymentFailed { .. } => {
                    failed += 1;
                    in_flight -= 1;
                }
                _ => {}
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "payments timed out: {succeeded} succeeded, {failed} failed, {in_flight} in flight"
            ));
        }
        tokio::task::yield_now().await;
    }
    let pay_time = pay_start.elapsed();
    // Let the last revocations settle.
    wait_for("HTLCs to settle", || {
        [&alice, &bob]
            .iter()
            .all(|n| n.manager.list_channels().first().is_some_and(|c| c.pending_htlcs == 0))
            .then_some(())
    })
    .await?;
    let alice_balance_msat = alice.manager.list_channels().first().map_or(0, |c| c.balance_msat);
    let bob_balance_msat = bob.manager.list_channels().first().map_or(0, |c| c.balance_msat);

    // Close cooperatively and mine the closing transaction.
    alice
        .manager
        .close_channel(&channel.channel_id, &bob.id())
        .map_err(|e| format!("close_channel: {e:?}"))?;
    alice.peers.process_events();
    let mut closed = [false, false];
    wait_for("ChannelClosed on both sides", || {
        for (i, node) in [&alice, &bob].iter().enumerate() {
            if node
                .manager
                .get_and_clear_pending_events()
                .iter()
                .any(|e| matches!(e, Event::ChannelClosed { reason: ClosureReason::CooperativeClosure, .. }))
            {
                closed[i] = true;
            }
        }
        (closed == [true, true]).then_some(())
    })
    .await?;
    let closing_txids = chain.mine(&[&alice, &bob]);
    let closing_txid = closing_txids.first().copied();
    let channel_closed = closing_txids.len() == 1
        && alice.manager.list_channels().is_empty()
        && bob.manager.list_channels().is_empty();

    let payments_per_sec = succeeded as f64 / pay_time.as_secs_f64();
    if json_output {
        println!(
            "{}",
            json!({
                "nodes": [alice.id().to_string(), bob.id().to_string()],
                "transport": "BOLT 8 over loopback TCP",
                "channel_value_sat": CHANNEL_SAT,
                "funding_txid": funding_tx.compute_txid().to_string(),
                "funding_block": funding_block,
                "channel_open_ms": open_time.as_secs_f64() * 1000.0,
                "payments_attempted": sent,
                "payments_succeeded": succeeded,
                "payments_failed": failed,
                "delivered_msat": delivered_msat,
                "payments_per_sec": payments_per_sec,
                "alice_balance_msat": alice_balance_msat,
                "bob_balance_msat": bob_balance_msat,
                "channel_closed": channel_closed,
                "closing_txid": closing_txid.map(|t| t.to_string()),
            })
        );
    } else {
        println!("alice {} and bob {} connected over loopback TCP ({addr})", alice.id(), bob.id());
        println!(
            "  channel of {CHANNEL_SAT} sat opened and confirmed in block {funding_block} ({:.1} ms)",
            open_time.as_secs_f64() * 1000.0
        );
        println!(
            "  {succeeded}/{sent} payments of {MIN_PAYMENT_MSAT}..{MAX_PAYMENT_MSAT} msat succeeded ({failed} failed) in {:.2} s: {payments_per_sec:.0} payments/s",
            pay_time.as_secs_f64()
        );
        println!("  alice now has {alice_balance_msat} msat, bob {bob_balance_msat} msat (bob received {delivered_msat} msat)");
        match closing_txid {
            Some(txid) if channel_closed => {
                println!("  closed cooperatively: closing transaction {txid} mined")
            }
            _ => println!("  channel not closed"),
        }
    }
    if !channel_closed || succeeded != PAYMENTS {
        return Err("demo did not complete".into());
    }
    Ok(())
}
