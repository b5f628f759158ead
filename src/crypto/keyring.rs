//! The master keyring: AES-256-GCM keys that seal stored secrets (API keys, TOTP secrets, shared
//! secrets). It lives outside the database — in `KEYWARD_MASTER_KEY` or a 0600 file in the data
//! directory — and holds numbered versions so it can be rotated: the highest version seals, any opens.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::random_bytes;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("master key: {0}")]
    Format(String),
    #[error("master key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("sealed with master key version {0}, which this keyring does not hold")]
    UnknownVersion(i64),
    #[error("a sealed secret failed to open: wrong key, wrong context, or altered data")]
    Open,
}

#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<i64, Aes256Gcm>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("versions", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

/// A sealed secret as stored: nonce ‖ ciphertext ‖ tag, and the key version that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    pub version: i64,
}

impl Keyring {
    /// Parses `1:<base64 of 32 bytes>` entries separated by commas or new lines. A single bare
    /// base64 key is version 1.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut keys = BTreeMap::new();
        for entry in text.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#')) {
            let (version, encoded) = match entry.split_once(':') {
                Some((v, k)) => {
                    let v = v.trim().parse::<i64>().map_err(|_| {
                        KeyringError::Format("each entry is <version>:<base64 key>, version a number".into())
                    })?;
                    (v, k.trim())
                }
                None => (1, entry),
            };
            let bytes = B64
                .decode(encoded)
                .map_err(|_| KeyringError::Format(format!("version {version} is not valid base64")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| KeyringError::Format(format!("version {version} must be 32 bytes")))?;
            if keys.insert(version, cipher).is_some() {
                return Err(KeyringError::Format(format!("version {version} appears twice")));
            }
        }
        if keys.is_empty() {
            return Err(KeyringError::Format("no key given".into()));
        }
        Ok(Self { keys })
    }

    /// Reads `path`, or creates it with one fresh key and mode 0600 when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyringError> {
        let io = |source| KeyringError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = format!("1:{}\n", B64.encode(random_bytes::<32>()));
                write_private_file(path, text.as_bytes()).map_err(io)?;
                tracing::info!(path = %path.display(), "created a new master key");
                Self::parse(&text)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Versions held, oldest first.
    pub fn versions(&self) -> Vec<i64> {
        self.keys.keys().copied().collect()
    }

    /// This keyring plus a fresh key one version above the newest; returns it and its file text.
    pub fn with_new_version(&self, existing_text: &str) -> Result<(Self, String), KeyringError> {
        let version = self.current_version() + 1;
        let text = format!("{}\n{version}:{}\n", existing_text.trim_end(), B64.encode(random_bytes::<32>()));
        Ok((Self::parse(&text)?, text))
    }

    /// The keyring text with only the newest version.
    pub fn retain_newest(text: &str) -> Result<String, KeyringError> {
        let current = Self::parse(text)?.current_version();
        let line = text
            .split([',', '\n'])
            .map(str::trim)
            .find(|e| e.split_once(':').is_some_and(|(v, _)| v.trim().parse::<i64>().ok() == Some(current)))
            .ok_or_else(|| KeyringError::Format("the newest version has no entry".into()))?;
        Ok(format!("{line}\n"))
    }

    pub fn current_version(&self) -> i64 {
        self.keys.keys().next_back().copied().unwrap_or(1)
    }

    /// Encrypts `plaintext`, binding `context` (e.g. the row id) as associated data so a sealed value
    /// copied to another row does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        let version = self.current_version();
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let nonce = Nonce::from(nonce_bytes);
        let mut bytes = nonce_bytes.to_vec();
        #[expect(clippy::expect_used, reason = "AES-GCM encryption of a short buffer cannot fail")]
        let ciphertext = self.keys[&version]
            .encrypt(&nonce, Payload { msg: plaintext, aad: context })
            .expect("AES-GCM encryption failed");
        bytes.extend_from_slice(&ciphertext);
        Sealed { bytes, version }
    }

    pub fn open(&self, sealed: &[u8], version: i64, context: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let cipher = self.keys.get(&version).ok_or(KeyringError::UnknownVersion(version))?;
        if sealed.len() < NONCE_LEN {
            return Err(KeyringError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| KeyringError::Open)?;
        cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: context }).map_err(|_| KeyringError::Open)
    }
}

/// Replaces a key file atomically (write a 0600 temporary file, fsync, rename), so a crash leaves the
/// old file or the new one, never half of either.
pub fn replace_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("key.new");
    let _ = std::fs::remove_file(&temporary);
    write_private_file(&temporary, contents)?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes a new file readable only by its owner.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(text: &str) -> Keyring {
        Keyring::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn key() -> String {
        B64.encode(random_bytes::<32>())
    }

    #[test]
    fn sealed_secrets_open_only_with_their_context() {
        let keys = ring(&key());
        let sealed = keys.seal(b"kwa_secret", b"key:1");
        assert_eq!(keys.open(&sealed.bytes, sealed.version, b"key:1").ok(), Some(b"kwa_secret".to_vec()));
        assert!(keys.open(&sealed.bytes, sealed.version, b"key:2").is_err());
    }

    #[test]
    fn the_newest_version_seals_and_old_ones_still_open() {
        let (old, new) = (key(), key());
        let before = ring(&format!("1:{old}"));
        let sealed = before.seal(b"x", b"c");
        let after = ring(&format!("1:{old}\n2:{new}"));
        assert_eq!(after.current_version(), 2);
        assert_eq!(after.open(&sealed.bytes, 1, b"c").ok(), Some(b"x".to_vec()));
        assert_eq!(after.seal(b"y", b"c").version, 2);
    }

    #[test]
    fn bad_keyrings_are_refused_with_a_reason() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("1:notbase64!").is_err());
        assert!(Keyring::parse(&B64.encode([0_u8; 16])).is_err());
        let k = key();
        assert!(Keyring::parse(&format!("1:{k},1:{k}")).is_err());
    }

    #[test]
    fn debug_shows_versions_not_keys() {
        let k = key();
        assert!(!format!("{:?}", ring(&k)).contains(&k));
    }

    #[test]
    fn the_key_file_is_created_private() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("master.key");
        let first = Keyring::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let sealed = first.seal(b"x", b"c");
        let again = Keyring::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.open(&sealed.bytes, sealed.version, b"c").is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_new_version_is_added_and_old_ones_can_be_dropped() {
        let first = format!("1:{}\n", key());
        let (ring2, text) = ring(&first).with_new_version(&first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring2.versions(), vec![1, 2]);
        let newest = Keyring::retain_newest(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring(&newest).versions(), vec![2]);
        let sealed = ring2.seal(b"x", b"c");
        assert!(ring(&newest).open(&sealed.bytes, sealed.version, b"c").is_ok());
    }

    proptest! {
        #[test]
        fn corrupted_ciphertext_never_opens_or_panics(flip in 0_usize..64, junk in proptest::collection::vec(any::<u8>(), 0..80)) {
            let keys = ring(&key());
            let mut sealed = keys.seal(b"secret value", b"ctx");
            let i = flip % sealed.bytes.len();
            sealed.bytes[i] ^= 0x01;
            prop_assert!(keys.open(&sealed.bytes, sealed.version, b"ctx").is_err());
            let _ = keys.open(&junk, 1, b"ctx");
        }
    }
}
