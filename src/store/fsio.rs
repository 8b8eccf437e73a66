//! File-system primitives of the store: durable temp files, directory fsync, random secrets,
//! SHA-256. Nothing here knows about the catalog.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::StoreError;

/// Suffix of files that are still being written; any left over at start-up is garbage.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// 32 bytes from the kernel's CSPRNG, hex-encoded (64 characters). `/dev/urandom` never blocks
/// once the system is booted and needs no extra crate.
pub(crate) fn random_hex() -> Result<String, StoreError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 32];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(StoreError::io(path))?;
    Ok(hex(&bytes))
}

/// Equality whose running time does not depend on where the inputs first differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Write `bytes` to a fresh `<random>.tmp` file in `dir` and fsync it, so that a later rename
/// publishes complete contents even after a power cut. The file is removed again on failure.
pub(crate) fn write_temp(dir: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let path = dir.join(format!("{}{TMP_SUFFIX}", random_hex()?));
    let written = File::create_new(&path).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&path);
        return Err(StoreError::Io { path, source });
    }
    Ok(path)
}

/// Make a rename or a new entry in `dir` durable (POSIX: the directory itself must be synced).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256_match_known_vectors() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_hex_is_64_chars_and_differs() {
        let a = random_hex().unwrap();
        let b = random_hex().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
