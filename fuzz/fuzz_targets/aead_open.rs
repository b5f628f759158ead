//! Opening sealed secrets (AES-256-GCM under the master keyring): corrupted or forged ciphertext is
//! refused, never a panic, and never opens.
#![no_main]

use keyward::crypto::keyring::Keyring;
use libfuzzer_sys::fuzz_target;

/// A fixed test key: `1:` and base64 of 32 bytes.
const RING: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fuzz_target!(|input: (&[u8], i64, &[u8], u8)| {
    let (junk, version, context, flip) = input;
    let ring = Keyring::parse(RING).expect("the test ring parses");
    assert!(ring.open(junk, version, context).is_err(), "forged ciphertext never opens");
    let mut sealed = ring.seal(b"a sealed secret", context);
    let at = usize::from(flip) % sealed.bytes.len();
    sealed.bytes[at] ^= 0x80;
    assert!(ring.open(&sealed.bytes, sealed.version, context).is_err(), "a changed byte never opens");
});
