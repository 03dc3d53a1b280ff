//! Who the client of a request is: its address, for the sign-in throttle and the
//! rate limit (issue 16, findings 4 and 8).
//!
//! The peer address of the connection, unless that peer is a proxy the admin
//! declared (`--trusted-proxy`): then the address the proxy saw, from
//! `X-Forwarded-For`. Only then: anybody can send the header, so from any other peer
//! it is ignored, and a client cannot buy a fresh throttle bucket by inventing one.
//!
//! Proxies append the address they received the request from, so the header reads
//! `client, proxy1, proxy2` and the peer is the last proxy. Walking it from the right,
//! each entry that is itself a declared proxy passed the request on; the first one
//! that is not is the client. An entry that is not an address stops the walk at the
//! last proxy, which is then taken as the client (a proxy that wrote garbage speaks
//! for its clients).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::ApiState;

/// The client address of a request, set by [`resolve`]; none when the server did
/// not record a peer (a router driven in-process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClientIp(pub(super) Option<IpAddr>);

impl ClientIp {
    /// The address as text, `unknown` without one: the key of throttle and limiter.
    pub(super) fn key(&self) -> String {
        self.0.map_or_else(|| "unknown".into(), |ip| ip.to_string())
    }
}

/// Parse a `--trusted-proxy` value: a CIDR block (`10.0.0.0/8`, `fd00::/8`) or one
/// address.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("'{text}' is not an address or CIDR block, such as 10.0.0.1 or 10.0.0.0/8")
        })
}

/// An address as a proxy may write it: `1.2.3.4`, `1.2.3.4:567`, `::1`, `[::1]:567`.
fn parse_entry(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client address of a request from `peer` with `headers`, given the declared
/// proxies (see the module documentation).
pub(super) fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let peer = peer?;
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in forwarded.iter().rev() {
        match parse_entry(entry) {
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return Some(ip),
            None => break,
        }
    }
    Some(client)
}

/// Middleware: record the request's [`ClientIp`] for the routes and the limiter.
pub(super) async fn resolve(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_a_trusted_peer_the_header_is_ignored() {
        let forged = headers(&["203.0.113.7"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &forged, &[]),
            ip("198.51.100.1")
        );
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("198.51.100.1"), &forged, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(None, &forged, &trusted), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = [
            parse_trusted_proxy("10.0.0.0/8").unwrap(),
            parse_trusted_proxy("192.0.2.1").unwrap(),
        ];
        let peer = ip("10.1.2.3");
        // The client put a forged address first; the proxies appended the real one.
        let h = headers(&["6.6.6.6, 203.0.113.7", "192.0.2.1"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.7"));
        assert_eq!(
            client_ip(peer, &headers(&["[2001:db8::1]:4711"]), &trusted),
            ip("2001:db8::1")
        );
        // No header, or nothing but proxies in it: the nearest proxy speaks for them.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(
            client_ip(peer, &headers(&["10.9.9.9"]), &trusted),
            ip("10.9.9.9")
        );
        // Garbage stops the walk at the last proxy.
        assert_eq!(
            client_ip(peer, &headers(&["203.0.113.7, unknown"]), &trusted),
            peer
        );
    }

    #[test]
    fn trusted_proxies_parse_as_blocks_or_addresses() {
        assert!(parse_trusted_proxy("10.0.0.0/8").is_ok());
        assert!(parse_trusted_proxy(" ::1 ").is_ok());
        assert!(parse_trusted_proxy("fd00::/8").is_ok());
        let err = parse_trusted_proxy("proxy.example").unwrap_err();
        assert!(err.contains("CIDR"), "{err}");
    }
}
