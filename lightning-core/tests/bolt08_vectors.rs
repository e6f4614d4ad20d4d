//! Every vector of `shared/specs/vectors/bolt08/`: the 5 initiator and 10
//! responder handshake cases (each failure for its reason) and the encrypted
//! messages 0, 1, 500, 501, 1000 and 1001, byte for byte.

mod common;

use common::{hex_field, load_vectors};
use lightning_core::bitcoin::secp256k1::ecdh::SharedSecret;
use lightning_core::bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use lightning_core::bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey};
use lightning_core::ln::peer_channel_encryptor::{Act, NoiseError, PeerChannelEncryptor, MESSAGE_HEADER_LEN};
use lightning_core::sign::{NodeSigner, Recipient, SignError, UnsignedGossipMessage};
use serde_json::Value;

/// A node signer holding a given static key, as the vectors need.
struct StaticKeySigner(SecretKey);

impl NodeSigner for StaticKeySigner {
    fn get_node_id(&self, _: Recipient) -> Result<PublicKey, SignError> {
        Ok(PublicKey::from_secret_key(&Secp256k1::new(), &self.0))
    }
    fn ecdh(
        &self, _: Recipient, other: &PublicKey, tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, SignError> {
        assert!(tweak.is_none());
        Ok(SharedSecret::new(other, &self.0))
    }
    fn sign_bolt11_invoice(
        &self, _: &str, _: &[u8], _: Recipient,
    ) -> Result<RecoverableSignature, SignError> {
        unimplemented!()
    }
    fn sign_gossip_message(&self, _: UnsignedGossipMessage<'_>) -> Result<Signature, SignError> {
        unimplemented!()
    }
}

fn secret(v: &Value, key: &str) -> SecretKey {
    SecretKey::from_slice(&hex_field(v, key)).unwrap()
}

fn pubkey(v: &Value, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(v, key)).unwrap()
}

fn expected_error(label: &str) -> NoiseError {
    match label {
        "ACT1_READ_FAILED" => NoiseError::ActReadFailed(Act::One),
        "ACT1_BAD_VERSION" => NoiseError::BadVersion(Act::One),
        "ACT1_BAD_PUBKEY" => NoiseError::BadPublicKey(Act::One),
        "ACT1_BAD_TAG" => NoiseError::BadTag(Act::One),
        "ACT2_READ_FAILED" => NoiseError::ActReadFailed(Act::Two),
        "ACT2_BAD_VERSION" => NoiseError::BadVersion(Act::Two),
        "ACT2_BAD_PUBKEY" => NoiseError::BadPublicKey(Act::Two),
        "ACT2_BAD_TAG" => NoiseError::BadTag(Act::Two),
        "ACT3_READ_FAILED" => NoiseError::ActReadFailed(Act::Three),
        "ACT3_BAD_VERSION" => NoiseError::BadVersion(Act::Three),
        "ACT3_BAD_CIPHERTEXT" => NoiseError::BadCiphertext,
        "ACT3_BAD_PUBKEY" => NoiseError::BadPublicKey(Act::Three),
        "ACT3_BAD_TAG" => NoiseError::BadTag(Act::Three),
        other => panic!("unknown error label {other}"),
    }
}

/// Runs an initiator case and returns the encryptor when it succeeds.
fn run_initiator(case: &Value) -> Result<PeerChannelEncryptor, NoiseError> {
    let secp = Secp256k1::new();
    let signer = StaticKeySigner(secret(case, "ls_priv"));
    assert_eq!(signer.get_node_id(Recipient::Node).unwrap(), pubkey(case, "ls_pub"));
    let mut enc = PeerChannelEncryptor::new_outbound(pubkey(case, "rs_pub"), secret(case, "e_priv"));
    let act_one = enc.get_act_one(&secp)?;
    assert_eq!(act_one.to_vec(), hex_field(case, "act1"), "act one");
    let act_three = enc.process_act_two(&hex_field(case, "act2"), &signer)?;
    assert_eq!(act_three.to_vec(), hex_field(case, "act3"), "act three");
    Ok(enc)
}

/// Runs a responder case and returns the encryptor when it succeeds.
fn run_responder(case: &Value) -> Result<PeerChannelEncryptor, NoiseError> {
    let secp = Secp256k1::new();
    let signer = StaticKeySigner(secret(case, "ls_priv"));
    let mut enc = PeerChannelEncryptor::new_inbound(&pubkey(case, "ls_pub"));
    let act_two = enc.process_act_one(&hex_field(case, "act1"), &signer, secret(case, "e_priv"), &secp)?;
    assert_eq!(act_two.to_vec(), hex_field(case, "act2"), "act two");
    let their_id = enc.process_act_three(&hex_field(case, "act3"))?;
    assert_eq!(their_id, PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[0x11; 32]).unwrap()));
    Ok(enc)
}

#[test]
fn handshake_vectors() {
    let doc = load_vectors("bolt08/handshake.json");
    let initiator = doc["initiator"].as_array().unwrap();
    let responder = doc["responder"].as_array().unwrap();
    assert_eq!((initiator.len(), responder.len()), (5, 10));
    for (cases, run) in [
        (initiator, run_initiator as fn(&Value) -> Result<PeerChannelEncryptor, NoiseError>),
        (responder, run_responder),
    ] {
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let result = run(case);
            match case["expected_error"].as_str() {
                None => {
                    let enc = result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                    assert!(enc.is_ready_for_encryption(), "{name}");
                }
                Some(label) => assert_eq!(result.err(), Some(expected_error(label)), "{name}"),
            }
        }
    }
}

#[test]
fn message_encryption_vectors() {
    let handshake = load_vectors("bolt08/handshake.json");
    let mut sender = run_initiator(&handshake["initiator"][0]).unwrap();
    let mut receiver = run_responder(&handshake["responder"][0]).unwrap();
    let doc = load_vectors("bolt08/message_encryption.json");
    let vector = &doc["vector"];
    let message = hex_field(vector, "message");
    let count = vector["message_count"].as_u64().unwrap() as usize;
    let outputs: Vec<(usize, Vec<u8>)> = vector["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["index"].as_u64().unwrap() as usize, hex_field(o, "ciphertext")))
        .collect();
    assert_eq!(outputs.len(), 6);
    let mut checked = 0;
    for i in 0..=count {
        let wire = sender.encrypt_message(&message).unwrap();
        if let Some((_, expected)) = outputs.iter().find(|(idx, _)| *idx == i) {
            assert_eq!(wire, *expected, "message {i}");
            checked += 1;
        }
        // The responder decrypts every one of them (its keys rotate in step).
        let len = receiver.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]).unwrap();
        assert_eq!(len as usize, message.len());
        let mut body = wire[MESSAGE_HEADER_LEN..].to_vec();
        assert_eq!(receiver.decrypt_message_in_place(&mut body).unwrap(), &message[..], "decrypt {i}");
    }
    assert_eq!(checked, 6);
}

#[test]
fn tampered_messages_fail_their_mac() {
    let handshake = load_vectors("bolt08/handshake.json");
    let mut sender = run_initiator(&handshake["initiator"][0]).unwrap();
    let mut receiver = run_responder(&handshake["responder"][0]).unwrap();
    let mut wire = sender.encrypt_message(b"hello").unwrap();
    wire[MESSAGE_HEADER_LEN + 1] ^= 1;
    assert_eq!(receiver.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]), Ok(5));
    let mut body = wire[MESSAGE_HEADER_LEN..].to_vec();
    assert_eq!(receiver.decrypt_message_in_place(&mut body).err(), Some(NoiseError::BadMessageMac));

    let mut receiver = run_responder(&handshake["responder"][0]).unwrap();
    let mut wire = run_initiator(&handshake["initiator"][0]).unwrap().encrypt_message(b"hello").unwrap();
    wire[0] ^= 0x80;
    assert_eq!(receiver.decrypt_length_header(&wire[..MESSAGE_HEADER_LEN]), Err(NoiseError::BadLengthMac));
}
