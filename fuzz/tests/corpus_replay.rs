//! Replays every fuzz corpus under stable `cargo test`, so a regression on a
//! saved input fails CI without nightly or libFuzzer.

use std::path::PathBuf;

#[test]
fn replay_every_corpus() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, target) in lightning_fuzz::TARGETS {
        let dir = root.join(name);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "corpus {name} is empty");
        for path in entries {
            let data = std::fs::read(&path).expect("corpus file readable");
            let result = std::panic::catch_unwind(|| target(&data));
            assert!(result.is_ok(), "target {name} failed on {}", path.display());
        }
    }
}
