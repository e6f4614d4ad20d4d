//! `lightning-node demo`: starts two nodes and shows what the library can do so
//! far (identities from seeds, feature negotiation and the `init` exchange).

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::ln::features::InitFeatures;
use lightning_core::ln::msgs::Init;
use lightning_core::ln::wire::{self, Message};
use lightning_core::sign::{KeysManager, NodeSigner, Recipient};
use std::time::{SystemTime, UNIX_EPOCH};

/// Features this node offers in `init`.
fn our_init_features() -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_data_loss_protect_optional();
    f.set_variable_length_onion_required();
    f.set_static_remote_key_required();
    f.set_payment_secret_required();
    f.set_basic_mpp_optional();
    f.set_channel_type_optional();
    f
}

/// Runs the demo and prints a summary (or one JSON object with `json`).
pub fn run(json: bool) -> Result<(), String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    let alice = KeysManager::new(&[1; 32], now.as_secs(), now.subsec_nanos());
    let bob = KeysManager::new(&[2; 32], now.as_secs(), now.subsec_nanos());
    let alice_id = alice.get_node_id(Recipient::Node).map_err(|e| e.to_string())?;
    let bob_id = bob.get_node_id(Recipient::Node).map_err(|e| e.to_string())?;

    // Each node sends `init`; each decodes the other's and checks its features.
    let init = Init {
        features: our_init_features(),
        networks: Some(vec![ChainHash::REGTEST]),
        remote_network_address: None,
    };
    let bytes = wire::encode(&init);
    let Ok(Message::Init(received)) = wire::read_message(&bytes) else {
        return Err("init did not decode".into());
    };
    received.features.check_peer(&our_init_features()).map_err(|e| e.to_string())?;

    let features: Vec<String> = received.features.set_bits().map(|b| b.to_string()).collect();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "nodes": [alice_id.to_string(), bob_id.to_string()],
                "init_bytes": bytes.len(),
                "negotiated_feature_bits": received.features.set_bits().collect::<Vec<_>>(),
            })
        );
    } else {
        println!("alice: {alice_id}");
        println!("bob:   {bob_id}");
        println!("init message: {} bytes, features {:?}", bytes.len(), received.features);
        println!("feature bits accepted by both: {}", features.join(","));
    }
    Ok(())
}
