//! Test doubles for the chain interfaces and a two-party channel fixture
//! that produces real, signed monitor updates without a channel state
//! machine. Compiled for the crate's tests and, with the `_test_utils`
//! feature, for other crates' tests (e.g. persisters).

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{
    Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Transaction, TxMerkleNode, TxOut, Txid,
};

use crate::chain::chaininterface::{
    BroadcasterInterface, ConfirmationTarget, FeeEstimator, FEERATE_FLOOR_SATS_PER_KW,
};
use crate::chain::chainmonitor::{MonitorName, Persist};
use crate::chain::channelmonitor::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, HTLCSource, OutboundPathHop,
};
use crate::chain::{BestBlock, ChannelMonitorUpdateStatus, Filter, WatchedOutput};
use crate::ln::chan_utils::commitment::{CommitmentSpec, CommitmentTransaction, HolderCommitmentTransaction};
use crate::ln::chan_utils::{
    ChannelSideParameters, ChannelTransactionParameters, HTLCOutputInCommitment, HtlcDirection,
    TxCreationKeys,
};
use crate::ln::features::ChannelTypeFeatures;
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, ShortChannelId};
use crate::prelude::*;
use crate::sign::{
    ChannelSigner, EcdsaChannelSigner, InMemorySigner, KeysManager, NodeSigner, Recipient, SignerProvider,
};
use crate::sync::Mutex;
use crate::util::logger::{Level, Logger, Record};
use crate::util::ser::Writeable;

/// Records every transaction broadcast.
#[derive(Default)]
pub struct TestBroadcaster {
    txn: Mutex<Vec<Transaction>>,
}

impl TestBroadcaster {
    /// Takes the transactions broadcast since the last call, oldest first.
    pub fn take(&self) -> Vec<Transaction> {
        core::mem::take(&mut *self.txn.lock())
    }
}

impl BroadcasterInterface for TestBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        self.txn.lock().extend(txs.iter().map(|tx| (*tx).clone()));
    }
}

/// Answers one feerate for every target.
pub struct TestFeeEstimator {
    /// The feerate returned, sat per 1000 weight.
    pub sat_per_kw: Mutex<u32>,
}

impl Default for TestFeeEstimator {
    fn default() -> Self {
        TestFeeEstimator { sat_per_kw: Mutex::new(FEERATE_FLOOR_SATS_PER_KW) }
    }
}

impl FeeEstimator for TestFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, _target: ConfirmationTarget) -> u32 {
        *self.sat_per_kw.lock()
    }
}

/// Keeps every log line.
#[derive(Default)]
pub struct TestLogger {
    lines: Mutex<Vec<(Level, String)>>,
}

impl TestLogger {
    /// How many lines at `level` contain `needle`.
    pub fn count(&self, level: Level, needle: &str) -> usize {
        self.lines.lock().iter().filter(|(l, line)| *l == level && line.contains(needle)).count()
    }
}

impl Logger for TestLogger {
    fn log(&self, record: Record<'_>) {
        self.lines.lock().push((record.level, format!("{}", record.args)));
    }
}

/// Records what it was asked to watch.
#[derive(Default)]
pub struct TestFilter {
    /// `register_tx` calls.
    pub txs: Mutex<Vec<(Txid, ScriptBuf)>>,
    /// `register_output` calls.
    pub outputs: Mutex<Vec<WatchedOutput>>,
}

impl Filter for TestFilter {
    fn register_tx(&self, txid: &Txid, script_pubkey: &ScriptBuf) {
        self.txs.lock().push((*txid, script_pubkey.clone()));
    }
    fn register_output(&self, output: WatchedOutput) {
        self.outputs.lock().push(output);
    }
}

/// One call a [`TestPersister`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistCall {
    /// `persist_new_channel`, with the monitor's latest update id.
    New(MonitorName, u64),
    /// `update_persisted_channel`, with the update's id (`None`: a full
    /// re-persist after chain data).
    Update(MonitorName, Option<u64>),
}

/// A persister that answers a configurable status, records its calls and
/// keeps the last serialized copy of each monitor.
pub struct TestPersister {
    /// The status every call returns.
    pub status: Mutex<ChannelMonitorUpdateStatus>,
    /// Every call, oldest first.
    pub calls: Mutex<Vec<PersistCall>>,
    /// The last serialized monitor per name.
    pub monitors: Mutex<BTreeMap<MonitorName, Vec<u8>>>,
}

impl Default for TestPersister {
    fn default() -> Self {
        TestPersister {
            status: Mutex::new(ChannelMonitorUpdateStatus::Completed),
            calls: Mutex::new(Vec::new()),
            monitors: Mutex::new(BTreeMap::new()),
        }
    }
}

impl TestPersister {
    /// Makes every later call return `status`.
    pub fn set_status(&self, status: ChannelMonitorUpdateStatus) {
        *self.status.lock() = status;
    }
    /// Takes the calls recorded so far.
    pub fn take_calls(&self) -> Vec<PersistCall> {
        core::mem::take(&mut *self.calls.lock())
    }
}

impl<S: EcdsaChannelSigner> Persist<S> for TestPersister {
    fn persist_new_channel(
        &self, name: MonitorName, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.calls.lock().push(PersistCall::New(name, monitor.latest_update_id()));
        self.monitors.lock().insert(name, monitor.encode());
        *self.status.lock()
    }
    fn update_persisted_channel(
        &self, name: MonitorName, update: Option<&ChannelMonitorUpdate>, monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.calls.lock().push(PersistCall::Update(name, update.map(|u| u.update_id)));
        self.monitors.lock().insert(name, monitor.encode());
        *self.status.lock()
    }
}

/// A deterministic block header on top of `prev_blockhash`.
pub fn header(prev_blockhash: BlockHash, height: u32) -> Header {
    Header {
        version: BlockVersion::TWO,
        prev_blockhash,
        merkle_root: TxMerkleNode::all_zeros(),
        time: 1_600_000_000 + height,
        bits: CompactTarget::from_consensus(0x207f_ffff),
        nonce: height,
    }
}

/// A chain of headers that tests extend and rewind.
pub struct TestChain {
    /// `(header, height)` of each block, the tip last.
    pub blocks: Vec<(Header, u32)>,
}

impl TestChain {
    /// A chain whose tip is a block at `height`.
    pub fn new(height: u32) -> Self {
        TestChain { blocks: vec![(header(BlockHash::all_zeros(), height), height)] }
    }
    /// The tip.
    pub fn tip(&self) -> (Header, u32) {
        *self.blocks.last().expect("a test chain always has a block")
    }
    /// The tip as a [`BestBlock`].
    pub fn best_block(&self) -> BestBlock {
        let (h, height) = self.tip();
        BestBlock::new(h.block_hash(), height)
    }
    /// Adds a block on the tip and returns it.
    pub fn extend(&mut self) -> (Header, u32) {
        let (tip, height) = self.tip();
        let next = (header(tip.block_hash(), height + 1), height + 1);
        self.blocks.push(next);
        next
    }
    /// Removes the tip and returns it.
    pub fn pop(&mut self) -> (Header, u32) {
        let tip = self.tip();
        if self.blocks.len() > 1 {
            self.blocks.pop();
        }
        tip
    }
}

/// An HTLC of a [`TestChannel`], seen from us.
#[derive(Clone, Copy, Debug)]
pub struct TestHtlc {
    /// Its amount.
    pub amount_msat: u64,
    /// Its expiry height.
    pub cltv_expiry: u32,
    /// Its preimage (the hash is derived).
    pub preimage: PaymentPreimage,
    /// Whether we offered it (outbound) rather than received it.
    pub offered_by_holder: bool,
}

impl TestHtlc {
    /// The HTLC's payment hash.
    pub fn payment_hash(&self) -> PaymentHash {
        self.preimage.payment_hash()
    }
}

/// Two parties' signers and parameters for one funded channel: produces the
/// monitor updates a channel would, with real signatures.
pub struct TestChannel {
    /// Our keys (the monitor's signer is derived from them).
    pub holder_keys: KeysManager,
    /// The peer's keys.
    pub counterparty_keys: KeysManager,
    /// The id our channel signer is derived from.
    pub channel_keys_id: [u8; 32],
    /// The channel's own signer (not the monitor's).
    pub holder_signer: InMemorySigner,
    /// The peer's signer.
    pub counterparty_signer: InMemorySigner,
    /// Our view of the parameters.
    pub holder_params: ChannelTransactionParameters,
    /// The peer's view.
    pub counterparty_params: ChannelTransactionParameters,
    /// The channel id.
    pub channel_id: ChannelId,
    /// The peer's node id.
    pub counterparty_node_id: PublicKey,
    secp_ctx: Secp256k1<All>,
}

/// The dust limit both sides use.
pub const TEST_DUST_LIMIT_SAT: u64 = 354;
/// The commitment feerate the fixture uses.
pub const TEST_FEERATE_PER_KW: u32 = 2500;

impl TestChannel {
    /// The channel's value.
    pub const CHANNEL_VALUE_SAT: u64 = 1_000_000;

    /// A channel we funded, with anchors or static-remotekey commitments.
    /// `seed` varies the keys and the funding outpoint.
    pub fn new(anchors: bool, seed: u8) -> Self {
        Self::with_funding_outpoint(
            anchors,
            seed,
            OutPoint { txid: Txid::from_byte_array([seed; 32]), vout: 1 },
        )
    }

    /// Like [`TestChannel::new`], funded by `funding_outpoint` instead of the
    /// one derived from `seed` (for tests that need more than 256 distinct
    /// channels; the keys still come from `seed`).
    pub fn with_funding_outpoint(anchors: bool, seed: u8, funding_outpoint: OutPoint) -> Self {
        let holder_keys = KeysManager::new(&[seed; 32], 0, 0);
        let counterparty_keys = KeysManager::new(&[seed.wrapping_add(100); 32], 0, 0);
        let channel_keys_id = [seed; 32];
        let mut holder_signer = holder_keys.derive_channel_signer(Self::CHANNEL_VALUE_SAT, channel_keys_id);
        let mut counterparty_signer =
            counterparty_keys.derive_channel_signer(Self::CHANNEL_VALUE_SAT, [seed ^ 0xff; 32]);
        let mut channel_type = ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        if anchors {
            channel_type.set_anchors_zero_fee_htlc_tx_required();
        }
        let ours = ChannelSideParameters { pubkeys: *holder_signer.pubkeys(), selected_contest_delay: 144 };
        let theirs =
            ChannelSideParameters { pubkeys: *counterparty_signer.pubkeys(), selected_contest_delay: 100 };
        let holder_params = ChannelTransactionParameters::new(
            ours,
            theirs,
            true,
            funding_outpoint,
            Self::CHANNEL_VALUE_SAT,
            channel_type.clone(),
        )
        .expect("a supported channel type");
        let counterparty_params = ChannelTransactionParameters::new(
            theirs,
            ours,
            false,
            funding_outpoint,
            Self::CHANNEL_VALUE_SAT,
            channel_type,
        )
        .expect("a supported channel type");
        holder_signer.provide_channel_parameters(&holder_params).expect("our own parameters");
        counterparty_signer.provide_channel_parameters(&counterparty_params).expect("their own parameters");
        let counterparty_node_id =
            counterparty_keys.get_node_id(Recipient::Node).expect("a KeysManager always has a node id");
        TestChannel {
            holder_keys,
            counterparty_keys,
            channel_keys_id,
            holder_signer,
            counterparty_signer,
            holder_params,
            counterparty_params,
            channel_id: ChannelId::v1_from_funding_outpoint(
                funding_outpoint.txid,
                u16::try_from(funding_outpoint.vout).expect("a funding output index below 65536"),
            ),
            counterparty_node_id,
            secp_ctx: Secp256k1::new(),
        }
    }

    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.holder_params.funding_outpoint()
    }

    /// The funding output's value and script, to verify spends against.
    pub fn funding_txout(&self) -> TxOut {
        TxOut {
            value: Amount::from_sat(Self::CHANNEL_VALUE_SAT),
            script_pubkey: self.holder_params.funding_redeemscript().to_p2wsh(),
        }
    }

    /// A commitment spec: `holder_view` for ours, else theirs. Balances are
    /// ours and theirs; HTLC directions follow the broadcaster.
    pub fn spec(
        &self, commitment_number: u64, holder_view: bool, holder_msat: u64, counterparty_msat: u64,
        htlcs: &[TestHtlc],
    ) -> CommitmentSpec {
        let htlcs = htlcs
            .iter()
            .map(|h| HTLCOutputInCommitment {
                direction: if h.offered_by_holder == holder_view {
                    HtlcDirection::Offered
                } else {
                    HtlcDirection::Received
                },
                amount_msat: h.amount_msat,
                cltv_expiry: h.cltv_expiry,
                payment_hash: h.payment_hash(),
                transaction_output_index: None,
            })
            .collect();
        let (to_broadcaster_value_msat, to_countersignatory_value_msat) =
            if holder_view { (holder_msat, counterparty_msat) } else { (counterparty_msat, holder_msat) };
        CommitmentSpec {
            commitment_number,
            to_broadcaster_value_msat,
            to_countersignatory_value_msat,
            feerate_per_kw: TEST_FEERATE_PER_KW,
            broadcaster_dust_limit_satoshis: TEST_DUST_LIMIT_SAT,
            htlcs,
        }
    }

    fn sources(
        &self, htlcs: &[HTLCOutputInCommitment], ours: HtlcDirection,
    ) -> Vec<(HTLCOutputInCommitment, HTLCSource)> {
        let session_priv = bitcoin::secp256k1::SecretKey::from_slice(&[0x42; 32]).expect("a valid key");
        let node_id = PublicKey::from_secret_key(&self.secp_ctx, &session_priv);
        htlcs
            .iter()
            .filter(|h| h.direction == ours)
            .map(|h| {
                let source = HTLCSource::OutboundRoute {
                    payment_id: PaymentId(h.payment_hash.0),
                    session_priv,
                    path: vec![OutboundPathHop {
                        node_id,
                        short_channel_id: ShortChannelId(1 << 40),
                        fee_msat: h.amount_msat,
                        cltv_expiry_delta: 40,
                    }],
                };
                (*h, source)
            })
            .collect()
    }

    /// Our commitment `spec` (a holder-view spec), signed by the peer and
    /// validated by our channel signer, as a monitor step.
    pub fn holder_commitment(&mut self, spec: CommitmentSpec) -> ChannelMonitorUpdateStep {
        let point = self
            .holder_signer
            .get_per_commitment_point(spec.commitment_number)
            .expect("a commitment number in range");
        let keys = TxCreationKeys::derive_new(
            &self.secp_ctx,
            &point,
            self.holder_signer.pubkeys(),
            self.counterparty_signer.pubkeys(),
        );
        let tx =
            CommitmentTransaction::build(spec.clone(), keys, &self.holder_params.as_holder_broadcastable());
        let (sig, htlc_sigs) = self
            .counterparty_signer
            .sign_counterparty_commitment(&tx)
            .expect("the peer signs our commitment");
        let htlcs = tx.htlcs().to_vec();
        let holder_tx = HolderCommitmentTransaction::new(tx, sig, htlc_sigs.clone())
            .expect("one signature per HTLC output");
        self.holder_signer.validate_holder_commitment(&holder_tx).expect("valid peer signatures");
        ChannelMonitorUpdateStep::LatestHolderCommitment {
            spec,
            per_commitment_point: point,
            counterparty_sig: sig,
            counterparty_htlc_sigs: htlc_sigs,
            htlc_sources: self.sources(&htlcs, HtlcDirection::Offered),
        }
    }

    /// The peer's commitment `spec` (a counterparty-view spec), signed by our
    /// channel signer and validated by the peer, as a monitor step. Also
    /// returns its txid.
    pub fn counterparty_commitment(&mut self, spec: CommitmentSpec) -> (ChannelMonitorUpdateStep, Txid) {
        let point = self
            .counterparty_signer
            .get_per_commitment_point(spec.commitment_number)
            .expect("a commitment number in range");
        let keys = TxCreationKeys::derive_new(
            &self.secp_ctx,
            &point,
            self.counterparty_signer.pubkeys(),
            self.holder_signer.pubkeys(),
        );
        let tx = CommitmentTransaction::build(
            spec.clone(),
            keys,
            &self.holder_params.as_counterparty_broadcastable(),
        );
        let (sig, htlc_sigs) =
            self.holder_signer.sign_counterparty_commitment(&tx).expect("we sign the peer's commitment");
        let txid = tx.txid();
        let htlcs = tx.htlcs().to_vec();
        let theirs =
            HolderCommitmentTransaction::new(tx, sig, htlc_sigs).expect("one signature per HTLC output");
        self.counterparty_signer.validate_holder_commitment(&theirs).expect("valid signatures");
        let step = ChannelMonitorUpdateStep::LatestCounterpartyCommitment {
            commitment_txid: txid,
            spec,
            their_per_commitment_point: point,
            htlc_sources: self.sources(&htlcs, HtlcDirection::Received),
        };
        (step, txid)
    }

    /// The peer revokes its commitment `commitment_number` (it must have
    /// validated the next one), as a monitor step.
    pub fn counterparty_revocation(&mut self, commitment_number: u64) -> ChannelMonitorUpdateStep {
        let secret = self
            .counterparty_signer
            .release_commitment_secret(commitment_number)
            .expect("the peer validated its next commitment");
        ChannelMonitorUpdateStep::CommitmentSecret { commitment_number, secret }
    }

    /// The peer's commitment for `spec`, unsigned (its txid is final).
    pub fn counterparty_unsigned_commitment(&self, spec: CommitmentSpec) -> Transaction {
        let point = self
            .counterparty_signer
            .get_per_commitment_point(spec.commitment_number)
            .expect("a commitment number in range");
        let keys = TxCreationKeys::derive_new(
            &self.secp_ctx,
            &point,
            self.counterparty_signer.pubkeys(),
            self.holder_signer.pubkeys(),
        );
        CommitmentTransaction::build(spec, keys, &self.counterparty_params.as_holder_broadcastable())
            .transaction()
            .clone()
    }

    /// The fully signed commitment the peer would broadcast for its
    /// commitment `spec` (to test a counterparty force-close).
    pub fn counterparty_signed_commitment(&self, spec: CommitmentSpec) -> Transaction {
        let point = self
            .counterparty_signer
            .get_per_commitment_point(spec.commitment_number)
            .expect("a commitment number in range");
        let keys = TxCreationKeys::derive_new(
            &self.secp_ctx,
            &point,
            self.counterparty_signer.pubkeys(),
            self.holder_signer.pubkeys(),
        );
        let tx =
            CommitmentTransaction::build(spec, keys, &self.counterparty_params.as_holder_broadcastable());
        let mut signer = self.holder_signer.clone();
        let (ours, htlc_sigs) =
            signer.sign_counterparty_commitment(&tx).expect("we sign the peer's commitment");
        let holder_tx =
            HolderCommitmentTransaction::new(tx, ours, htlc_sigs).expect("one signature per HTLC");
        let theirs = self.counterparty_signer.sign_holder_commitment(&holder_tx).expect("the peer signs");
        let mut signed = holder_tx.commitment().transaction().clone();
        signed.input[0].witness = crate::ln::chan_utils::signing::build_funding_witness(
            &theirs,
            &self.counterparty_signer.pubkeys().funding_pubkey,
            &ours,
            &self.holder_signer.pubkeys().funding_pubkey,
            &self.holder_params.funding_redeemscript(),
        );
        signed
    }

    /// The first commitments of both sides (number 0, no HTLCs, the funder's
    /// whole balance on our side less what was pushed), as initial steps.
    pub fn initial_steps(&mut self) -> Vec<ChannelMonitorUpdateStep> {
        let (ours, theirs) = (700_000_000, 300_000_000);
        let holder = self.spec(0, true, ours, theirs, &[]);
        let counterparty = self.spec(0, false, ours, theirs, &[]);
        vec![self.holder_commitment(holder), self.counterparty_commitment(counterparty).0]
    }

    /// A monitor for this channel with a signer freshly derived from our
    /// keys (as a node would give it), created at `best_block`.
    pub fn monitor(
        &self, best_block: BestBlock, initial_steps: Vec<ChannelMonitorUpdateStep>,
    ) -> ChannelMonitor<InMemorySigner> {
        let signer = self.holder_keys.derive_channel_signer(Self::CHANNEL_VALUE_SAT, self.channel_keys_id);
        let destination = self.holder_keys.get_destination_script(self.channel_keys_id).expect("a script");
        ChannelMonitor::new(
            signer,
            self.channel_id,
            self.counterparty_node_id,
            self.holder_params.clone(),
            destination,
            best_block,
            initial_steps,
        )
    }
}

/// A transaction spending the funding output that is not a commitment (a
/// cooperative close shape: locktime 0, final sequence).
pub fn cooperative_close_spend(funding_outpoint: OutPoint) -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![bitcoin::TxIn {
            previous_output: funding_outpoint,
            sequence: bitcoin::Sequence::MAX,
            ..Default::default()
        }],
        output: vec![TxOut { value: Amount::from_sat(990_000), script_pubkey: ScriptBuf::new() }],
    }
}
