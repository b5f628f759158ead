//! The API key format: `<prefix>_<43 base62 characters of randomness><6 base62 characters of CRC32>`.
//!
//! 43 base62 characters carry 256 bits drawn from the operating system's CSPRNG. The CRC32 over
//! everything before it lets a mistyped or truncated key be refused before any lookup, and lets
//! secret scanners recognise keyward keys offline. A prefix never changes once keys are issued.

use sha2::{Digest as _, Sha256};

use super::Invalid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const RANDOM_CHARS: usize = 43;
pub const CHECKSUM_CHARS: usize = 6;
pub const PREFIX_MAX: usize = 12;

/// A full key in plain text. Only ever shown once at creation and on an audited reveal; its `Debug`
/// prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKey(…)")
    }
}

impl PlainKey {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What lists show instead of the key: the prefix and the last four characters.
    pub fn hint(&self) -> String {
        let prefix = self.0.split('_').next().unwrap_or_default();
        let tail = &self.0[self.0.len().saturating_sub(4)..];
        format!("{prefix}_…{tail}")
    }

    /// The lookup digest stored in the database (SHA-256 of the whole key).
    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

/// A key prefix: 2–12 lower-case letters or digits, starting with a letter.
pub fn parse_prefix(input: &str) -> Result<String, Invalid> {
    let prefix = input.trim();
    if is_prefix(prefix) {
        Ok(prefix.to_owned())
    } else {
        Err(Invalid::new("prefix", "A prefix is 2–12 lower-case letters or digits and starts with a letter."))
    }
}

fn is_prefix(prefix: &str) -> bool {
    (2..=PREFIX_MAX).contains(&prefix.len())
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A fresh key with this prefix. `random` supplies uniformly random bytes (the OS CSPRNG in production).
pub fn generate(prefix: &str, mut random: impl FnMut(&mut [u8])) -> PlainKey {
    let mut key = String::with_capacity(prefix.len() + 1 + RANDOM_CHARS + CHECKSUM_CHARS);
    key.push_str(prefix);
    key.push('_');
    let mut drawn = 0;
    let mut buffer = [0_u8; 64];
    while drawn < RANDOM_CHARS {
        random(&mut buffer);
        // Rejection sampling keeps every character uniform: 248 = 4 × 62.
        for &byte in buffer.iter().filter(|&&b| b < 248) {
            if drawn == RANDOM_CHARS {
                break;
            }
            key.push(char::from(ALPHABET[usize::from(byte % 62)]));
            drawn += 1;
        }
    }
    key.extend(checksum(&key).map(char::from));
    PlainKey(key)
}

/// Why a presented key was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the key has no prefix")]
    NoPrefix,
    #[error("the key has the wrong length")]
    Length,
    #[error("the key contains characters that keys never contain")]
    Alphabet,
    #[error("the key's checksum does not match: it is mistyped or truncated")]
    Checksum,
}

/// A presented key whose shape and checksum are right; whether it exists is for the lookup to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellFormed {
    pub key: PlainKey,
    pub prefix_len: usize,
}

impl WellFormed {
    pub fn prefix(&self) -> &str {
        &self.key.0[..self.prefix_len]
    }
}

pub fn parse(presented: &str) -> Result<WellFormed, Malformed> {
    let presented = presented.trim();
    let Some((prefix, body)) = presented.split_once('_') else {
        return Err(Malformed::NoPrefix);
    };
    if !is_prefix(prefix) {
        return Err(Malformed::NoPrefix);
    }
    if body.len() != RANDOM_CHARS + CHECKSUM_CHARS {
        return Err(Malformed::Length);
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Malformed::Alphabet);
    }
    let (without_checksum, sum) = presented.split_at(presented.len() - CHECKSUM_CHARS);
    if checksum(without_checksum) != sum.as_bytes() {
        return Err(Malformed::Checksum);
    }
    Ok(WellFormed { key: PlainKey(presented.to_owned()), prefix_len: prefix.len() })
}

/// CRC32 of `text` in six base62 characters (62⁶ > 2³²), most significant first.
fn checksum(text: &str) -> [u8; CHECKSUM_CHARS] {
    let mut value = u64::from(crc32fast::hash(text.as_bytes()));
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[usize::try_from(value % 62).unwrap_or(0)];
        value /= 62;
    }
    out
}

/// Whether a key may be used at all (expiry is checked apart). Stored as `active` / `inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStatus {
    Active,
    /// Also what an unreadable stored value means: a key fails closed.
    #[default]
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Inactive => "inactive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(KeyStatus::Active),
            "inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }

    pub fn of(active: bool) -> Self {
        if active { KeyStatus::Active } else { KeyStatus::Inactive }
    }

    pub fn is_active(self) -> bool {
        self == KeyStatus::Active
    }
}

/// How the database's text reads (`deserialize_as`): anything but `active` is inactive.
impl From<String> for KeyStatus {
    fn from(text: String) -> Self {
        KeyStatus::parse(&text).unwrap_or_default()
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn os_random(buf: &mut [u8]) {
        buf.copy_from_slice(&crate::crypto::random_bytes::<64>()[..buf.len()]);
    }

    fn fresh(prefix: &str) -> PlainKey {
        generate(prefix, os_random)
    }

    #[test]
    fn generated_keys_parse_and_have_the_documented_shape() {
        let key = fresh("kwa");
        let text = key.expose();
        assert_eq!(text.len(), 3 + 1 + RANDOM_CHARS + CHECKSUM_CHARS);
        assert!(text.starts_with("kwa_"));
        let parsed = parse(text);
        assert_eq!(parsed.as_ref().map(WellFormed::prefix), Ok("kwa"));
        assert_ne!(fresh("kwa"), key, "two keys differ");
        assert_eq!(key.hint(), format!("kwa_…{}", &text[text.len() - 4..]));
    }

    #[test]
    fn a_single_changed_character_is_caught_by_the_checksum() {
        let key = fresh("kwi");
        let mut bytes = key.expose().as_bytes().to_vec();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(parse(&String::from_utf8_lossy(&bytes)), Err(Malformed::Checksum));
    }

    #[test]
    fn malformed_keys_say_why() {
        let key = fresh("kwp");
        let text = key.expose();
        assert_eq!(parse("no-prefix-here"), Err(Malformed::NoPrefix));
        assert_eq!(parse(&format!("KWP{}", &text[3..])), Err(Malformed::NoPrefix));
        assert_eq!(parse(&text[..text.len() - 1]), Err(Malformed::Length));
        assert_eq!(parse(&format!("{}!{}", &text[..20], &text[21..])), Err(Malformed::Alphabet));
        assert_eq!(parse(&format!("  {text}\n")).map(|k| k.key), Ok(key.clone()), "surrounding space is forgiven");
    }

    #[test]
    fn every_character_is_drawn_uniformly_from_the_alphabet() {
        // With a generator that returns every byte value, rejected bytes (≥ 248) never appear.
        let mut next = 0_u8;
        let key = generate("kwt", |buf| {
            for b in buf.iter_mut() {
                *b = next;
                next = next.wrapping_add(1);
            }
        });
        let body = &key.expose()[4..4 + RANDOM_CHARS];
        assert_eq!(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg");
    }

    #[test]
    fn prefixes_are_validated() {
        assert!(parse_prefix("kwa").is_ok());
        for bad in ["", "k", "Kwa", "1kw", "kw_a", "abcdefghijklm"] {
            assert!(parse_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = fresh("kwa");
        assert!(!format!("{key:?}").contains(&key.expose()[4..]));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_input_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn parsing_key_like_input_never_panics(prefix in "[a-z]{2,12}", body in "[0-9A-Za-z_]{40,60}") {
            let _ = parse(&format!("{prefix}_{body}"));
        }

        #[test]
        fn every_generated_key_parses(prefix in "[a-z][a-z0-9]{1,11}") {
            let key = fresh(&prefix);
            prop_assert_eq!(parse(key.expose()).map(|k| k.key), Ok(key));
        }
    }
}
