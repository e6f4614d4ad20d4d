//! The monitor corpora hold real encodings (so the fuzz targets start past
//! the version byte and key checks): every seed file decodes.

use lightning_core::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning_core::sign::{InMemorySigner, KeysManager};
use lightning_core::util::ser::{decode_exact, ReadableArgs, Writeable};
use std::path::PathBuf;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name);
    std::fs::read_dir(dir)
        .expect("corpus present")
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn monitor_corpora_decode() {
    let keys = KeysManager::new(&[1; 32], 0, 0);
    let monitors = corpus("channel_monitor");
    assert!(monitors.len() >= 4);
    for bytes in monitors {
        let monitor =
            ChannelMonitor::<InMemorySigner>::read(&mut &bytes[..], &keys).expect("seed monitor decodes");
        assert_eq!(monitor.encode(), bytes, "seed monitor is in the current encoding");
    }
    let real_updates: Vec<_> = corpus("monitor_update").into_iter().filter(|b| b.len() > 100).collect();
    assert!(!real_updates.is_empty(), "the monitor_update corpus holds real updates");
    for bytes in real_updates {
        if let Ok(update) = decode_exact::<ChannelMonitorUpdate>(&bytes) {
            assert_eq!(update.encode(), bytes);
        }
    }
}
