//! The monitor corpora hold real encodings (so the fuzz targets start past
//! the version byte and key checks): the seed files decode, in the current
//! encoding.

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
    // Inputs the fuzzer added may well not decode; the seeds do.
    let mut decoded = 0;
    for bytes in corpus("channel_monitor") {
        let mut reader = &bytes[..];
        let Ok(monitor) = ChannelMonitor::<InMemorySigner>::read(&mut reader, &keys) else { continue };
        if reader.is_empty() {
            assert_eq!(monitor.encode(), bytes, "a monitor that decodes is in the current encoding");
            decoded += 1;
        }
    }
    assert!(decoded >= 4, "the channel_monitor corpus holds real monitors ({decoded})");
    let real_updates: Vec<_> = corpus("monitor_update").into_iter().filter(|b| b.len() > 100).collect();
    assert!(!real_updates.is_empty(), "the monitor_update corpus holds real updates");
    for bytes in real_updates {
        if let Ok(update) = decode_exact::<ChannelMonitorUpdate>(&bytes) {
            assert_eq!(update.encode(), bytes);
        }
    }
}
