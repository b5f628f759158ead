//! What the console and the API share at the HTTP edge: the route declaration, the client's address, and
//! the middleware that wraps every request (`headers`).

pub mod headers;

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::state::AppState;

/// Declares a set of routes once: registered by the generated function and listed, as (method, path), in
/// the generated constant, which the OpenAPI and authorization-matrix tests walk, so a new route cannot go
/// undocumented or untested. `route` is any method.
macro_rules! declare_routes {
    ($(#[doc = $doc:literal])* $list:ident, $register:ident {
        $($method:ident $path:literal => $handler:path;)*
    }) => {
        $(#[doc = $doc])*
        pub const $list: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn $register(cfg: &mut actix_web::web::ServiceConfig) {
            $(cfg.route($path, actix_web::web::$method().to($handler));)*
        }
    };
}
pub(crate) use declare_routes;

/// The client's address: the peer, or with `--trust-proxy` what the proxy reports.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> IpAddr {
    let peer = req.peer_addr().map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
    if !state.config.trust_proxy {
        return peer;
    }
    req.connection_info()
        .realip_remote_addr()
        .and_then(|s| s.parse::<std::net::SocketAddr>().map(|a| a.ip()).ok().or_else(|| s.parse().ok()))
        .unwrap_or(peer)
}
