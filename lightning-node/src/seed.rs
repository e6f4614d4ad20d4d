//! The node's seed file: 32 random bytes in `DATA_DIR/seed`, created on first
//! start with mode 0600, from which every key is derived.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// Name of the seed file inside the data directory.
pub const SEED_FILE: &str = "seed";

/// Reads the seed from `data_dir`, creating the directory and a fresh seed on
/// first start.
pub fn load_or_create(data_dir: &Path) -> Result<[u8; 32], String> {
    fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let path = data_dir.join(SEED_FILE);
    match fs::File::open(&path) {
        Ok(mut file) => {
            let mut seed = [0u8; 32];
            let mut rest = Vec::new();
            file.read_exact(&mut seed)
                .map_err(|e| format!("{}: cannot read 32-byte seed: {e}", path.display()))?;
            file.read_to_end(&mut rest).map_err(|e| format!("{}: {e}", path.display()))?;
            if !rest.is_empty() {
                return Err(format!("{}: seed file is longer than 32 bytes", path.display()));
            }
            Ok(seed)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed).map_err(|e| format!("no randomness for a new seed: {e}"))?;
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file =
                options.open(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            file.write_all(&seed)
                .and_then(|_| file.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(seed)
        }
        Err(e) => Err(format!("cannot open {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_created_once_with_private_mode() {
        let dir = std::env::temp_dir().join(format!("ln-seed-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(SEED_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(dir.join(SEED_FILE), [1u8; 5]).unwrap();
        assert!(load_or_create(&dir).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
