//! The BOLT 2 seeds are real messages: the corpora hold, besides what the
//! fuzzer found, inputs that decode as every channel message and a manager
//! with its channel (so the fuzzer starts from inputs that reach deep into
//! the decoders).

use lightning_core::ln::wire;

#[test]
fn channel_message_seeds_decode() {
    const TYPES: [u16; 15] = [32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136];
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/channel_message");
    let mut decoded = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&first, rest)) = data.split_first() else { continue };
        let message_type = TYPES[first as usize % TYPES.len()];
        let mut framed = message_type.to_be_bytes().to_vec();
        framed.extend_from_slice(rest);
        // Inputs the fuzzer added may well not decode; the seeds do.
        if let Ok(msg) = wire::read_message(&framed) {
            assert_eq!(msg.type_id(), message_type);
            decoded.insert(message_type);
        }
    }
    assert_eq!(decoded.len(), TYPES.len(), "a seed that decodes for every channel message");
}

#[test]
fn channel_manager_seeds_load_with_their_channels() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/channel_manager");
    let with_channel = std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            let data = std::fs::read(entry.as_ref().unwrap().path()).unwrap();
            lightning_fuzz::targets::channel_manager_round_trip(&data) == Some(1)
        })
        .count();
    assert!(with_channel >= 1, "a seed that loads a manager with its channel");
}
