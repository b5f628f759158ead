//! Requests that a workspace can steer (webhook deliveries) reach only public addresses, unless the
//! operator allows private ones (`KEYWARD_WEBHOOKS_ALLOW_PRIVATE`). The check runs on the addresses each
//! connection actually uses — a resolver that drops every address `domain::address` refuses — so a name
//! that resolves to an internal address, or is re-pointed there after it was saved, is refused too. An
//! address written as the URL's host (in any of the spellings a URL parser accepts: `2130706433`,
//! `0x7f.1`, `[::ffff:127.0.0.1]`) never reaches a resolver, so it is checked here before sending.
//! Redirects are not followed and no proxy is used: each would move the request past the check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::address::is_public;

/// What a refused delivery records, the same whatever lies behind the address: it must not map an
/// internal network.
pub const REFUSED: &str = "refused: the receiver address is not public (an operator can allow private receivers)";

/// The one client for webhook deliveries, made on first use (loading the system's CA store takes a
/// while): public addresses only unless the operator allows private ones.
pub fn shared(state: &crate::state::AppState) -> &reqwest::Client {
    state.http.get_or_init(|| client(state.config.webhooks_allow_private))
}

/// The client for steerable requests: 10-second timeout, keyward's user agent, no redirects, no proxy,
/// and, unless private receivers are allowed, only public addresses.
pub fn client(allow_private: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    let builder = if allow_private { builder } else { builder.dns_resolver(Arc::new(PublicOnly)) };
    builder.build().unwrap_or_default()
}

/// Whether the URL's host, when it is an address, may be reached. Names are checked at connection.
pub fn literal_allowed(url: &reqwest::Url, allow_private: bool) -> bool {
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return true,
        None => return false,
    };
    allow_private || is_public(literal)
}

/// Whether a failed request was refused by the address check (somewhere in its chain of causes).
pub fn was_refused(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<NotPublic>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[derive(Debug, thiserror::Error)]
#[error("{REFUSED}")]
struct NotPublic;

/// Resolves with the system resolver and keeps only public addresses; none left is an error.
#[derive(Debug)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}
