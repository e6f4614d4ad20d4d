//! What every node command shares: the network choice, keys from the data
//! directory, and the peer manager over tokio sockets.

use crate::seed;
use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::events::{MessageSendEvent, MessageSendEventsProvider};
use lightning_core::ln::features::{InitFeatures, NodeFeatures};
use lightning_core::ln::msgs::{
    BaseMessageHandler, ChannelMessageHandler, ErrorMessage, ErroringMessageHandler, IgnoringMessageHandler,
    Init,
};
use lightning_core::ln::peer_handler::{MessageHandler, PeerManager};
use lightning_core::sign::KeysManager;
use lightning_core::util::logger::NullLogger;
use lightning_net_tokio::SocketDescriptor;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The chains a node can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Network {
    /// Bitcoin mainnet.
    Bitcoin,
    /// Testnet (3).
    Testnet,
    /// Signet.
    Signet,
    /// Regtest.
    Regtest,
}

impl Network {
    /// The chain's genesis hash, as Lightning names chains.
    pub fn chain_hash(self) -> ChainHash {
        match self {
            Network::Bitcoin => ChainHash::BITCOIN,
            Network::Testnet => ChainHash::TESTNET3,
            Network::Signet => ChainHash::SIGNET,
            Network::Regtest => ChainHash::REGTEST,
        }
    }
}

/// The features this node offers in `init`: the ones every current node
/// assumes, plus multi-part payments.
pub fn our_init_features() -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_data_loss_protect_optional();
    f.set_variable_length_onion_required();
    f.set_static_remote_key_required();
    f.set_payment_secret_required();
    f.set_basic_mpp_optional();
    f.set_channel_type_optional();
    f
}

/// The node's channel handler until channels land: it offers our features and
/// refuses channel messages.
#[derive(Default)]
pub struct NodeChannelHandler {
    inner: ErroringMessageHandler,
}

impl MessageSendEventsProvider for NodeChannelHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.inner.get_and_clear_pending_msg_events()
    }
}

impl BaseMessageHandler for NodeChannelHandler {
    fn peer_connected(&self, id: PublicKey, init: &Init, inbound: bool) -> Result<(), ()> {
        self.inner.peer_connected(id, init, inbound)
    }
    fn peer_disconnected(&self, id: PublicKey) {
        self.inner.peer_disconnected(id)
    }
    fn provided_node_features(&self) -> NodeFeatures {
        our_init_features().to_context()
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        our_init_features()
    }
}

impl ChannelMessageHandler for NodeChannelHandler {
    fn handle_error(&self, id: PublicKey, msg: &ErrorMessage) {
        self.inner.handle_error(id, msg)
    }
    fn handle_open_channel(&self, id: PublicKey, msg: &lightning_core::ln::msgs::OpenChannel) {
        self.inner.handle_open_channel(id, msg)
    }
    fn handle_accept_channel(&self, id: PublicKey, msg: &lightning_core::ln::msgs::AcceptChannel) {
        self.inner.handle_accept_channel(id, msg)
    }
    fn handle_funding_created(&self, id: PublicKey, msg: &lightning_core::ln::msgs::FundingCreated) {
        self.inner.handle_funding_created(id, msg)
    }
    fn handle_funding_signed(&self, id: PublicKey, msg: &lightning_core::ln::msgs::FundingSigned) {
        self.inner.handle_funding_signed(id, msg)
    }
    fn handle_channel_ready(&self, id: PublicKey, msg: &lightning_core::ln::msgs::ChannelReady) {
        self.inner.handle_channel_ready(id, msg)
    }
    fn handle_shutdown(&self, id: PublicKey, msg: &lightning_core::ln::msgs::Shutdown) {
        self.inner.handle_shutdown(id, msg)
    }
    fn handle_closing_signed(&self, id: PublicKey, msg: &lightning_core::ln::msgs::ClosingSigned) {
        self.inner.handle_closing_signed(id, msg)
    }
    fn handle_update_add_htlc(&self, id: PublicKey, msg: &lightning_core::ln::msgs::UpdateAddHTLC) {
        self.inner.handle_update_add_htlc(id, msg)
    }
    fn handle_update_fulfill_htlc(&self, id: PublicKey, msg: &lightning_core::ln::msgs::UpdateFulfillHTLC) {
        self.inner.handle_update_fulfill_htlc(id, msg)
    }
    fn handle_update_fail_htlc(&self, id: PublicKey, msg: &lightning_core::ln::msgs::UpdateFailHTLC) {
        self.inner.handle_update_fail_htlc(id, msg)
    }
    fn handle_update_fail_malformed_htlc(
        &self, id: PublicKey, msg: &lightning_core::ln::msgs::UpdateFailMalformedHTLC,
    ) {
        self.inner.handle_update_fail_malformed_htlc(id, msg)
    }
    fn handle_commitment_signed(&self, id: PublicKey, msg: &lightning_core::ln::msgs::CommitmentSigned) {
        self.inner.handle_commitment_signed(id, msg)
    }
    fn handle_revoke_and_ack(&self, id: PublicKey, msg: &lightning_core::ln::msgs::RevokeAndACK) {
        self.inner.handle_revoke_and_ack(id, msg)
    }
    fn handle_update_fee(&self, id: PublicKey, msg: &lightning_core::ln::msgs::UpdateFee) {
        self.inner.handle_update_fee(id, msg)
    }
    fn handle_channel_reestablish(&self, id: PublicKey, msg: &lightning_core::ln::msgs::ChannelReestablish) {
        self.inner.handle_channel_reestablish(id, msg)
    }
    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        None
    }
}

/// The node's peer manager type.
pub type NodePeerManager = PeerManager<
    SocketDescriptor,
    Arc<NodeChannelHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    KeysManager,
    NullLogger,
>;

/// Keys from the seed in `data_dir` (created on first start).
pub fn keys_from_data_dir(data_dir: &Path) -> Result<KeysManager, String> {
    let seed = seed::load_or_create(data_dir)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    Ok(KeysManager::new(&seed, now.as_secs(), now.subsec_nanos()))
}

/// A peer manager for `network` with `keys`.
pub fn peer_manager(keys: KeysManager, network: Network) -> Result<Arc<NodePeerManager>, String> {
    let handlers = MessageHandler {
        chan_handler: Arc::new(NodeChannelHandler::default()),
        route_handler: IgnoringMessageHandler,
        custom_message_handler: IgnoringMessageHandler,
    };
    PeerManager::new(handlers, network.chain_hash(), keys, NullLogger)
        .map(Arc::new)
        .map_err(|e| format!("signer: {e}"))
}

/// Feature bits as a list of numbers, for JSON output.
pub fn feature_bits(features: &InitFeatures) -> Vec<usize> {
    features.set_bits().collect()
}
