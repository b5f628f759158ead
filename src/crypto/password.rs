//! argon2id password hashing, run on the blocking pool with a bound on concurrent work so a burst of
//! sign-ins cannot take every core or exhaust memory (each hash uses 19 MiB).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    /// Set when the password was right and the stored hash uses weaker parameters than today's:
    /// the new hash to store.
    pub rehash: Option<String>,
}

#[derive(Clone)]
pub struct PasswordService {
    permits: Arc<Semaphore>,
    params: Params,
    /// A hash of a random password, checked when the account does not exist so that an unknown
    /// email costs the same time as a wrong password.
    dummy: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for PasswordService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordService").field("permits", &self.permits.available_permits()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordService {
    /// OWASP's argon2id minimum: m = 19 MiB, t = 2, p = 1.
    pub fn new(max_concurrent: usize) -> Self {
        #[expect(clippy::expect_used, reason = "constant, valid parameters")]
        let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), params, dummy: Arc::default() }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes synchronously; for the command line and start-up.
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        self.argon2().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| HashError(e.to_string()))
    }

    /// Checks synchronously. `stored` is `None` when there is no such account or it has no password.
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> Verification {
        let dummy;
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => {
                dummy =
                    self.dummy.get_or_init(|| self.hash_blocking(&super::random_token()).unwrap_or_default()).clone();
                (dummy.as_str(), false)
            }
        };
        let Ok(hash) = PasswordHash::new(phc) else {
            // Still spend the time so a broken hash does not stand out.
            let _ = self.hash_blocking(password);
            return Verification { ok: false, rehash: None };
        };
        let ok = self.argon2().verify_password(password.as_bytes(), &hash).is_ok() && real;
        let rehash = (ok && self.is_weaker(&hash)).then(|| self.hash_blocking(password).ok()).flatten();
        Verification { ok, rehash }
    }

    fn is_weaker(&self, hash: &PasswordHash) -> bool {
        match Params::try_from(hash) {
            Ok(p) => {
                hash.algorithm.as_str() != "argon2id"
                    || p.m_cost() < self.params.m_cost()
                    || p.t_cost() < self.params.t_cost()
            }
            Err(_) => true,
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }

    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.verify_blocking(&password, stored.as_deref()))
            .await
            .map_err(|e| HashError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let svc = PasswordService::new(1);
        let phc = svc.hash_blocking("correct horse battery").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(svc.verify_blocking("correct horse battery", Some(&phc)).ok);
        assert!(!svc.verify_blocking("wrong horse battery", Some(&phc)).ok);
    }

    #[test]
    fn an_unknown_account_never_verifies() {
        let svc = PasswordService::new(1);
        assert!(!svc.verify_blocking("anything", None).ok);
        assert!(!svc.verify_blocking("anything", Some("not a phc string")).ok);
    }

    #[test]
    fn weaker_hashes_are_upgraded_on_success() {
        let svc = PasswordService::new(1);
        let weak =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 1, 1, None).unwrap_or_default())
                .hash_password(b"correct horse battery")
                .map(|h| h.to_string())
                .unwrap_or_default();
        let v = svc.verify_blocking("correct horse battery", Some(&weak));
        assert!(v.ok);
        assert!(v.rehash.is_some_and(|h| h.contains("m=19456,t=2")));
    }
}
