//! Writes the generated seeds of `lightning_fuzz::seeds` into `corpus/NAME/`:
//! `cargo test -p lightning-fuzz --test seed_corpus -- --ignored`.

use std::path::PathBuf;

#[test]
#[ignore = "writes files into the corpus; run by hand after changing the seeds"]
fn write_seed_corpus() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, inputs) in lightning_fuzz::seeds::seeds() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (i, data) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), data).expect("corpus file written");
        }
    }
}

#[test]
fn seeds_pass_their_targets() {
    for (name, inputs) in lightning_fuzz::seeds::seeds() {
        let (_, target) =
            lightning_fuzz::TARGETS.iter().find(|(n, _)| *n == name).expect("seeded target exists");
        for data in inputs {
            target(&data);
        }
    }
}
