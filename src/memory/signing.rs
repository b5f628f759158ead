//! The shared secrets in force, unsealed once and held in memory so signing a response does no
//! database work. `services::shared_secret::reload` fills it after every change on this instance and
//! periodically for changes made by others.
//!
//! The signature header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` the
//! `HMAC-SHA256(secret, "<t>.<body>")` under one secret in force, the current one first.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hmac::{KeyInit as _, Mac as _};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// One secret in force, ready to sign.
#[derive(Clone)]
pub struct Live {
    mac: HmacSha256,
    retires_at: Option<i64>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("retires_at", &self.retires_at).finish_non_exhaustive()
    }
}

impl Live {
    pub fn new(secret: &str, retires_at: Option<i64>) -> Result<Self, hmac::digest::InvalidLength> {
        Ok(Live { mac: HmacSha256::new_from_slice(secret.as_bytes())?, retires_at })
    }
}

#[derive(Default)]
pub struct Signing {
    by_workspace: RwLock<Arc<HashMap<i64, Arc<[Live]>>>>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signing(…)")
    }
}

impl Signing {
    fn snapshot(&self) -> Arc<HashMap<i64, Arc<[Live]>>> {
        self.by_workspace.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Holds these secrets from now on, each workspace's current one first.
    pub fn replace(&self, secrets: HashMap<i64, Vec<Live>>) {
        let map = secrets.into_iter().map(|(ws, list)| (ws, Arc::from(list))).collect();
        *self.by_workspace.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(map);
    }

    /// The signature header value for `body`, under the secrets of `workspace_id` in force at
    /// `now`; with `None` (a key that was not found), under the first workspace's.
    pub fn sign(&self, workspace_id: Option<i64>, body: &[u8], now: i64) -> Option<String> {
        let map = self.snapshot();
        let secrets = match workspace_id {
            Some(ws) => map.get(&ws)?,
            None => map.iter().min_by_key(|(ws, _)| **ws)?.1,
        };
        let stamp = now.to_string();
        let mut header = String::with_capacity(2 + stamp.len() + secrets.len() * 68);
        header.push_str("t=");
        header.push_str(&stamp);
        for live in secrets.iter().filter(|s| s.retires_at.is_none_or(|at| at > now)) {
            let mut mac = live.mac.clone();
            mac.update(stamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            header.push_str(",v1=");
            crate::crypto::push_hex(&mut header, &mac.finalize().into_bytes());
        }
        Some(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_time_and_body_under_each_secret_in_force() {
        let (Ok(current), Ok(old)) = (Live::new("kwss_new", None), Live::new("kwss_old", Some(200))) else {
            panic!("HMAC takes any key")
        };
        let signing = Signing::default();
        signing.replace(HashMap::from([(7, vec![current, old])]));

        let expected = |key: &str, t: i64| {
            let mut m = HmacSha256::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!());
            m.update(format!("{t}.{{}}").as_bytes());
            hex::encode(m.finalize().into_bytes())
        };
        let during = signing.sign(Some(7), b"{}", 100);
        assert_eq!(during, Some(format!("t=100,v1={},v1={}", expected("kwss_new", 100), expected("kwss_old", 100))));
        let after = signing.sign(None, b"{}", 200);
        assert_eq!(after, Some(format!("t=200,v1={}", expected("kwss_new", 200))));
        assert_eq!(signing.sign(Some(8), b"{}", 100), None);
    }
}
