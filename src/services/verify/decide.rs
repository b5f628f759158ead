//! The decision on a presented key, without I/O: the format first (a malformed key never reaches the
//! database), then, for the facts a lookup found, status, expiry, the IP allow-list, access and the
//! rate limit, in that order. `admit` counts a use against the key's rate window.

use std::net::IpAddr;
use std::sync::Arc;

use super::trace::Trace;
use super::{UseContext, Verdict};
use crate::domain::access::Denial;
use crate::domain::key;
use crate::domain::restrict::RateLimit;
use crate::domain::verdict::{self, Code};
use crate::memory::verify_cache::KeyFacts;

/// The digest to look up, or the answer for a key that is not well formed.
pub(super) fn digest(presented: &str, trace: &mut Trace) -> Result<[u8; 32], Verdict> {
    let well_formed = match key::parse(presented) {
        Ok(k) => k,
        Err(e) => {
            let checksum = e == key::Malformed::Checksum;
            trace.step("Format", Some(checksum), || if checksum { "well formed".into() } else { e.to_string() });
            if checksum {
                trace.step("Checksum", Some(false), || e.to_string());
            }
            return Err(Verdict::bare(Code::Malformed, Some(e.to_string())));
        }
    };
    trace.step("Format", Some(true), || format!("prefix {}", well_formed.prefix()));
    trace.step("Checksum", Some(true), || "matches".into());
    well_formed.key.digest().try_into().map_err(|_| Verdict::bare(Code::NotFound, None))
}

/// No key has this secret.
pub(super) fn unknown(trace: &mut Trace) -> Verdict {
    trace.step("Known key", Some(false), || "no key has this secret (never issued, deleted, or rotated away)".into());
    Verdict::bare(Code::NotFound, None)
}

/// The answer for a key that was found.
pub(super) fn judge(
    r: Arc<KeyFacts>,
    context: &UseContext,
    now: i64,
    admit: impl FnOnce(i64, RateLimit) -> bool,
    trace: &mut Trace,
) -> Verdict {
    let found = &r.found;
    if context.workspace.is_some_and(|pinned| pinned != r.profile.workspace_id) {
        // Said no differently from an unknown key, and before any use is counted: a pinned
        // integration learns nothing about other workspaces' keys.
        trace.step("Known key", Some(false), || "no key of this workspace has this secret".into());
        return Verdict::bare(Code::NotFound, None);
    }
    let mut code = verdict::status(found, now);
    if code == Code::NotFound {
        trace.step("Known key", Some(false), || "this is a previous secret whose overlap has ended".into());
        return Verdict::bare(code, None);
    }
    trace.step("Known key", Some(true), || format!("“{}”, owned by {}", r.name, r.profile.owner));
    trace.step("Status", Some(code != Code::Inactive), || match (found.key_active, found.owner_active) {
        (false, _) => "the key is inactive".into(),
        (true, false) => "the key's owner is disabled".into(),
        (true, true) => "active, and so is its owner".into(),
    });
    if code == Code::Inactive {
        return Verdict { code, reason: None, missing: Vec::new(), key: Some(r) };
    }
    trace.step("Expiry", Some(code != Code::Expired), || match found.expires_at {
        None => "never expires".into(),
        Some(t) if t <= now => format!("expired {}", crate::clock::format_time(t)),
        Some(t) => format!("expires {}", crate::clock::format_time(t)),
    });
    let mut reason = None;
    let mut missing = Vec::new();
    if code == Code::Valid {
        if r.ip_allow.is_empty() {
            trace.step("IP allow-list", None, || "none: any address".into());
        } else {
            let from = context.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
            let allowed = from.is_some_and(|ip| r.ip_allow.allows(ip));
            let address = context.ip.as_deref().unwrap_or("an unknown address").to_owned();
            trace.step("IP allow-list", Some(allowed), || {
                format!("{address} {} {}", if allowed { "is within" } else { "is not within" }, r.ip_allow.to_text())
            });
            if !allowed {
                code = Code::IpNotAllowed;
                reason = Some(format!("{address} is not on the key's IP allow-list"));
            }
        }
    }
    if code == Code::Valid {
        match &context.want {
            None => {
                trace.step("Permission or URI rule", None, || "nothing asked: only whether the key is usable".into())
            }
            Some(want) => match r.profile.access().check(want) {
                Ok(p) => {
                    trace.step("Permission or URI rule", Some(true), || format!("the key holds {}", p.name));
                    trace.step("Owner's grants", Some(true), || format!("the owner holds {}", p.name));
                }
                Err(denial) => {
                    let owner = matches!(denial, Denial::OwnerLacks(_));
                    trace.step("Permission or URI rule", Some(owner), || {
                        if owner { "the key holds a permission that covers it".into() } else { denial.to_string() }
                    });
                    if owner {
                        trace.step("Owner's grants", Some(false), || denial.to_string());
                    }
                    code = Code::Forbidden;
                    missing = denial.missing();
                    reason = Some(denial.to_string());
                }
            },
        }
    }
    if code == Code::Valid
        && let Some(rate) = r.rate
    {
        let admitted = admit(r.key_id, rate);
        trace.step("Rate limit", Some(admitted), || {
            format!("{} requests per {}{}", rate.limit, rate.window_name(), if admitted { "" } else { ": reached" })
        });
        if !admitted {
            code = Code::RateLimited;
            reason = Some(format!("more than {} requests per {}", rate.limit, rate.window_name()));
        }
    } else if code == Code::Valid {
        trace.step("Rate limit", None, || "none".into());
    }
    Verdict { code, reason, missing, key: Some(r) }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::access::{Grants, Permission, Want};
    use crate::domain::restrict::IpAllowList;
    use crate::domain::verdict::Found;
    use crate::memory::verify_cache::Profile;

    const NOW: i64 = 1_000;

    fn facts(key_grants: &[i64], owner_grants: &[i64], adjust: impl FnOnce(&mut KeyFacts)) -> Arc<KeyFacts> {
        let permission = |id: i64, name: &str| Permission {
            id,
            name: name.to_owned(),
            label: name.to_owned(),
            high_risk: false,
            writes: true,
            rules: Vec::new(),
        };
        let grants =
            |ids: &[i64]| Grants { permissions: ids.iter().copied().collect::<BTreeSet<_>>(), ..Grants::default() };
        let profile = Profile {
            workspace_id: 1,
            owner_id: 2,
            owner: "ada@example.com".to_owned(),
            key_type_id: 5,
            key_type: "Application".to_owned(),
            roles: Vec::new(),
            permissions: Vec::new(),
            act_as_owner: false,
            key_grants: grants(key_grants),
            catalogue: Arc::new(vec![permission(10, "LOCK"), permission(11, "WIPE")]),
            owner_grants: Arc::new(grants(owner_grants)),
            depends: Box::default(),
        };
        let mut facts = KeyFacts {
            key_id: 3,
            scope: None,
            name: "fleet".to_owned(),
            expires_at: None,
            profile: Arc::new(profile),
            found: Found { key_active: true, owner_active: true, expires_at: None, secret_retires_at: None },
            secret_id: 4,
            ip_allow: IpAllowList::default(),
            rate: None,
        };
        adjust(&mut facts);
        Arc::new(facts)
    }

    fn judged(facts: Arc<KeyFacts>, context: &UseContext, admit: bool) -> (Code, Vec<String>) {
        let verdict = judge(facts, context, NOW, |_, _| admit, &mut Trace::on());
        (verdict.code, verdict.missing)
    }

    fn wants(name: &str) -> UseContext {
        UseContext { want: Some(Want::Permission(name.to_owned())), ..UseContext::default() }
    }

    #[test]
    fn access_is_the_keys_grants_within_the_owners() {
        assert_eq!(judged(facts(&[10], &[10], |_| ()), &wants("LOCK"), true).0, Code::Valid);
        assert_eq!(
            judged(facts(&[10], &[10], |_| ()), &wants("WIPE"), true),
            (Code::Forbidden, vec!["WIPE".to_owned()])
        );
        assert_eq!(judged(facts(&[11], &[], |_| ()), &wants("WIPE"), true).0, Code::Forbidden, "the owner lost it");
    }

    #[test]
    fn status_expiry_address_and_rate_are_checked_in_that_order() {
        let inactive = facts(&[], &[], |f| f.found.key_active = false);
        assert_eq!(judged(inactive, &UseContext::default(), false).0, Code::Inactive);
        let expired = facts(&[], &[], |f| f.found.expires_at = Some(NOW));
        assert_eq!(judged(expired, &UseContext::default(), false).0, Code::Expired);
        let fenced = |f: &mut KeyFacts| f.ip_allow = IpAllowList::parse("10.0.0.0/8").unwrap_or_default();
        let outside = UseContext { ip: Some("192.0.2.1".to_owned()), ..UseContext::default() };
        assert_eq!(judged(facts(&[], &[], fenced), &outside, true).0, Code::IpNotAllowed);
        let limited = |f: &mut KeyFacts| f.rate = Some(RateLimit { limit: 1, window_secs: 60 });
        assert_eq!(judged(facts(&[], &[], limited), &UseContext::default(), false).0, Code::RateLimited);
        assert_eq!(judged(facts(&[], &[], limited), &UseContext::default(), true).0, Code::Valid);
    }

    #[test]
    fn a_pinned_integration_does_not_see_another_workspaces_key() {
        let pinned = UseContext { workspace: Some(9), ..UseContext::default() };
        assert_eq!(judged(facts(&[], &[], |_| ()), &pinned, true).0, Code::NotFound);
    }

    #[test]
    fn malformed_keys_never_reach_a_lookup() {
        let refused = digest("not-a-key", &mut Trace::default());
        assert!(refused.is_err_and(|v| v.code == Code::Malformed));
    }
}
