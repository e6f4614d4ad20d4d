//! The BOLT 2 seeds are real messages: each decodes (so the fuzzer starts
//! from inputs that reach deep into the decoders).

use lightning_core::ln::wire;

#[test]
fn channel_message_seeds_decode() {
    const TYPES: [u16; 15] = [32, 33, 34, 35, 36, 38, 39, 128, 130, 131, 132, 133, 134, 135, 136];
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/channel_message");
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let message_type = TYPES[data[0] as usize % TYPES.len()];
        let mut framed = message_type.to_be_bytes().to_vec();
        framed.extend_from_slice(&data[1..]);
        let msg =
            wire::read_message(&framed).unwrap_or_else(|e| panic!("seed of type {message_type}: {e:?}"));
        assert_eq!(msg.type_id(), message_type);
        seen.insert(message_type);
    }
    assert_eq!(seen.len(), TYPES.len(), "a seed for every channel message");
}
