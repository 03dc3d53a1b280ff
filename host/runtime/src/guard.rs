//! Where a webhook or a plugin's HTTP request (the host's `outbound`) may go: the URL's
//! scheme and the addresses its host resolves to.
//!
//! A destination in a loopback, private, link-local, unspecified, multicast or
//! otherwise reserved range is refused unless the host runs with
//! `BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1` (on-premises installs, tests), and so is plain
//! HTTP. The check runs at `webhook add` and again before every attempt, on the
//! addresses the name resolves to then; the sender connects only to an address that
//! passed, so a name that is rebound to a private address between the check and the
//! connection cannot redirect the request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use url::Url;

/// A destination that may be used, with the addresses it may be sent to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL.
    pub url: Url,
    /// Host name for the `Host` header and TLS (SNI and certificate check).
    pub host: String,
    /// Whether TLS is used.
    pub https: bool,
    /// Addresses that passed the check, in resolver order.
    pub addrs: Vec<SocketAddr>,
}

/// Check the URL's form alone (no resolution): scheme, host, no credentials.
pub fn parse(url: &str, allow_private: bool) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(format!(
                "'{url}' uses plain HTTP; webhooks and plugins' requests go only to https:// URLs \
                 (unless the host runs with BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1)"
            ));
        }
        other => return Err(format!("'{url}': the scheme '{other}' is not https")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "'{url}' carries credentials (user:password@), which are never sent; \
             webhooks are authenticated by their signature, plugins put credentials in a header"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{url}' names no host"));
    }
    if parsed.fragment().is_some() {
        return Err(format!(
            "'{url}' has a fragment (#...), which is never sent"
        ));
    }
    Ok(parsed)
}

/// Parse, resolve and check a URL; the addresses it may be sent to.
pub fn resolve(url: &str, allow_private: bool) -> Result<Target, String> {
    let parsed = parse(url, allow_private)?;
    let https = parsed.scheme() == "https";
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let (host, found): (String, Vec<SocketAddr>) = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), vec![SocketAddr::new(ip.into(), port)]),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), vec![SocketAddr::new(ip.into(), port)]),
        Some(url::Host::Domain(name)) => {
            let found = (name, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve '{name}': {e}"))?
                .collect();
            (name.to_string(), found)
        }
        None => return Err(format!("'{url}' names no host")),
    };
    let addrs = checked(&host, found, allow_private)?;
    Ok(Target {
        url: parsed,
        host,
        https,
        addrs,
    })
}

/// The addresses of `host` that may be connected to: all of `found`, or an error
/// when there is none or one of them is refused. One refused address refuses the
/// name: a mix of public and private answers is what a rebinding attack looks like.
pub fn checked(
    host: &str,
    found: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    if found.is_empty() {
        return Err(format!("'{host}' resolves to no address"));
    }
    if allow_private {
        return Ok(found);
    }
    let refused: Vec<String> = found
        .iter()
        .filter_map(|a| forbidden(a.ip()).map(|why| format!("{} ({why})", a.ip())))
        .collect();
    if !refused.is_empty() {
        return Err(format!(
            "'{host}' resolves to {}; webhooks and plugins' requests are not sent to private \
             networks (unless the host runs with BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1)",
            refused.join(", ")
        ));
    }
    Ok(found)
}

/// Resolve a host name (port 0: the sender sets the URL's) and check every address.
/// Used by the sender's resolver, so the connection goes only to an address that
/// passed (no window for a rebinding between the check and the connection).
pub fn resolve_name(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let found = (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?
        .collect();
    checked(host, found, allow_private)
}

/// Check the URL's form and, when its host is an IP address (which the sender's
/// resolver never sees), that address. A name is checked when the sender resolves it.
pub fn check_before_send(url: &str, allow_private: bool) -> Result<Url, String> {
    let parsed = parse(url, allow_private)?;
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::from(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::from(ip),
        _ => return Ok(parsed),
    };
    checked(&ip.to_string(), vec![SocketAddr::new(ip, 0)], allow_private)?;
    Ok(parsed)
}

/// Why `ip` is not a public destination, if it is not.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// A range of addresses that are not public destinations and why, as a test; the first
/// range that holds an address names it.
type Range<A> = (fn(A) -> bool, &'static str);

/// The IPv4 ranges no plugin may reach.
const V4: &[Range<Ipv4Addr>] = &[
    (|ip| ip.is_loopback(), "loopback"),
    (|ip| ip.is_private(), "private"),
    (|ip| ip.is_link_local(), "link-local"),
    (
        |ip| ip.is_unspecified() || ip.octets()[0] == 0,
        "unspecified",
    ),
    (
        |ip| ip.is_multicast() || ip.is_broadcast() || ip.octets()[0] >= 240,
        "multicast or reserved",
    ),
    (
        |ip| matches!(ip.octets(), [100, 64..128, ..]),
        "shared address space",
    ),
    (
        |ip| matches!(ip.octets(), [192, 0, 0, _]),
        "IETF protocol assignments",
    ),
    (
        |ip| matches!(ip.octets(), [198, 18 | 19, ..]),
        "benchmarking",
    ),
    (|ip| ip.is_documentation(), "documentation"),
];

/// The IPv6 ranges no plugin may reach (mapped and NAT64 addresses are judged as IPv4).
const V6: &[Range<Ipv6Addr>] = &[
    (|ip| ip.is_loopback(), "loopback"),
    (|ip| ip.is_unspecified(), "unspecified"),
    (|ip| ip.is_multicast(), "multicast"),
    (
        |ip| ip.segments()[0] & 0xfe00 == 0xfc00,
        "unique local (private)",
    ),
    (
        |ip| matches!(ip.segments()[0] & 0xffc0, 0xfe80 | 0xfec0),
        "link-local",
    ),
    (
        |ip| matches!(ip.segments(), [0x2001, 0x0db8, ..]),
        "documentation",
    ),
    (
        |ip| matches!(ip.segments(), [0, 0, 0, 0, 0, 0, ..]),
        "IPv4-compatible (deprecated)",
    ),
];

fn first_range<A: Copy>(ranges: &[Range<A>], ip: A) -> Option<&'static str> {
    ranges
        .iter()
        .find(|(holds, _)| holds(ip))
        .map(|&(_, why)| why)
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    first_range(V4, ip)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if let [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] = ip.segments() {
        // NAT64: the IPv4 address is in the last 32 bits.
        return forbidden_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    first_range(V6, ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(forbidden(ip).is_some(), "{ip} should be refused");
        }
        for ip in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(forbidden(ip).is_none(), "{ip} should be allowed");
        }
    }

    #[test]
    fn urls_are_checked_before_and_after_resolution() {
        assert!(parse("http://example.com/x", false).is_err());
        assert!(parse("http://example.com/x", true).is_ok());
        assert!(parse("ftp://example.com/x", true).is_err());
        assert!(parse("https://u:p@example.com/x", false).is_err());
        let e = resolve("https://127.0.0.1:8443/hook", false)
            .err()
            .unwrap_or_default();
        assert!(e.contains("loopback"), "{e}");
        assert!(e.contains("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE"), "{e}");
        let e = resolve("https://localhost/hook", false)
            .err()
            .unwrap_or_default();
        assert!(e.contains("loopback"), "{e}");
        let e = check_before_send("https://[::ffff:10.0.0.1]/hook", false)
            .err()
            .unwrap_or_default();
        assert!(e.contains("private"), "{e}");
        assert!(check_before_send("https://example.com/hook", false).is_ok());
        let e = resolve_name("localhost", false).err().unwrap_or_default();
        assert!(e.contains("loopback"), "{e}");
        assert!(resolve_name("localhost", true).is_ok_and(|a| !a.is_empty()));
        let t = resolve("http://127.0.0.1:9/hook", true);
        assert!(t.is_ok_and(|t| !t.https && t.addrs.len() == 1));
    }
}
