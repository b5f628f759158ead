//! Two-factor sign-in rules: TOTP codes (RFC 6238 as authenticator apps expect it — HMAC-SHA-1, six
//! digits, 30-second steps, one step of clock skew either way) and one-time recovery codes. A code is
//! accepted only for a step after the last one accepted, so each is used once; the caller keeps that step.

use sha2::{Digest, Sha256};
use totp_rs::{Builder, Totp};

/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "keyward";
pub const STEP_SECS: i64 = 30;
/// 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
/// Recovery codes avoid look-alikes (no i, l, o, 0, 1).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
pub const RECOVERY_LEN: usize = 10;

/// The TOTP generator for a secret, labelled with the account's email (which is what apps display).
pub fn totp(secret: &[u8], account: &str) -> Result<Totp, String> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|e| e.to_string())
}

/// What a person typed at the second step: an authenticator code or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Code(String),
    Recovery(String),
}

/// Reads a code as people type it: spaces and dashes are ignored, case too.
pub fn parse(input: &str) -> Option<Presented> {
    let compact: String =
        input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_lowercase();
    if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Presented::Code(compact));
    }
    if compact.len() == RECOVERY_LEN && compact.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Some(Presented::Recovery(compact));
    }
    None
}

/// The code of the step that holds `time`.
pub fn code_at(totp: &Totp, time: i64) -> String {
    totp.generate(u64::try_from(time).unwrap_or(0)).to_string()
}

/// The step `code` belongs to at `now` (the current one or one either side), if it is later than `last`.
pub fn matching_step(totp: &Totp, code: &str, now: i64, last: Option<i64>) -> Option<i64> {
    let origin = now.div_euclid(STEP_SECS);
    (origin - 1..=origin + 1).filter(|step| last.is_none_or(|l| *step > l)).find(|step| {
        use subtle::ConstantTimeEq as _;
        let expected = code_at(totp, step * STEP_SECS);
        expected.len() == code.len() && bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
    })
}

/// Ten new recovery codes, shown as `xxxxx-xxxxx`, from `random` (called once per code).
pub fn new_recovery_codes(mut random: impl FnMut() -> [u8; RECOVERY_LEN]) -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = random();
            let code: String = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()]))
                .collect();
            format!("{}-{}", &code[..5], &code[5..])
        })
        .collect()
}

/// How a recovery code is stored: the SHA-256 of its compact form (it has about 49 bits of entropy and
/// is used once, so a slow hash would add nothing an attacker with the table lacks).
pub fn recovery_digest(code: &str) -> Vec<u8> {
    let compact = match parse(code) {
        Some(Presented::Recovery(c)) => c,
        _ => code.to_owned(),
    };
    Sha256::digest(compact.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, last six digits.
    #[test]
    fn codes_match_the_rfc_vectors() {
        let totp = totp(b"12345678901234567890", "ada@example.com").expect("totp");
        for (time, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(code_at(&totp, time), code);
        }
    }

    #[test]
    fn a_code_is_accepted_within_one_step_and_only_after_the_last_one() {
        let totp = totp(&crate::crypto::random_bytes::<SECRET_BYTES>(), "ada@example.com").expect("totp");
        let now = 1_800_000_015;
        let step = now / STEP_SECS;
        let current = code_at(&totp, now);
        assert_eq!(matching_step(&totp, &current, now, None), Some(step));
        assert_eq!(matching_step(&totp, &current, now + STEP_SECS, None), Some(step), "one step late is fine");
        assert_eq!(matching_step(&totp, &current, now + 2 * STEP_SECS, None), None, "two is not");
        assert_eq!(matching_step(&totp, &current, now, Some(step)), None, "a replay is refused");
        assert_eq!(
            matching_step(&totp, "000000", now, None).is_some(),
            code_at(&totp, now - 30) == "000000" || current == "000000" || code_at(&totp, now + 30) == "000000"
        );
    }

    #[test]
    fn typed_codes_are_read_leniently() {
        assert_eq!(parse(" 123 456 "), Some(Presented::Code("123456".into())));
        assert_eq!(parse("ABCDE-FGHJK"), Some(Presented::Recovery("abcdefghjk".into())));
        assert_eq!(parse("12345"), None);
        assert_eq!(parse("abcde-fghi1"), None, "1 and i are not in the alphabet");
        let codes = new_recovery_codes(crate::crypto::random_bytes);
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert!(matches!(parse(code), Some(Presented::Recovery(_))), "{code}");
            assert_eq!(recovery_digest(code), recovery_digest(&code.to_uppercase().replace('-', " ")));
        }
    }
}
