//! Which hosts a plugin may send HTTP requests to: the `allowed-outbound-hosts` list
//! of its `plugin.toml` (modelled on Spin's `allowed_outbound_hosts`).
//!
//! Each entry is `scheme://host[:port]`:
//!
//! - `scheme` is `https` or `http` (plain HTTP is only ever sent by a host that allows
//!   private destinations, `BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1`);
//! - `host` is a DNS name (`api.example.com`), a name under a domain
//!   (`*.ecb.europa.eu`: any name ending in `.ecb.europa.eu`, not the domain itself),
//!   an IPv4 address or an IPv6 address in brackets;
//! - `port` is a number, or `*` for any; without one, the scheme's default (443, 80).
//!
//! No path, query, credentials or bare `*`: a plugin names where it goes.
//!
//! ```
//! use backoffice_core::outbound::HostPattern;
//! let p = HostPattern::parse("https://*.ecb.europa.eu").unwrap();
//! assert!(p.matches("https", "data-api.ecb.europa.eu", 443));
//! assert!(!p.matches("https", "ecb.europa.eu", 443));
//! assert!(!p.matches("http", "data-api.ecb.europa.eu", 80));
//! ```

/// The most entries one manifest may list.
pub const MAX_HOSTS: usize = 32;

/// One parsed entry of `allowed-outbound-hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: String,
    /// Lowercase; for `*.domain` the `.domain` part.
    host: String,
    wildcard: bool,
    /// None: any port.
    port: Option<u16>,
}

impl HostPattern {
    /// Parse an entry; the error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<HostPattern, String> {
        let bad = |why: &str| {
            format!(
                "allowed-outbound-hosts: '{entry}' {why}; write scheme://host[:port], such as \
                 'https://api.example.com' or 'https://*.example.com'"
            )
        };
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| bad("has no scheme"))?;
        let default_port = match scheme {
            "https" => 443,
            "http" => 80,
            _ => return Err(bad("must start with https:// or http://")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad(
                "has a path, query, fragment or credentials, which are not allowed",
            ));
        }
        let (host, port) = split_port(rest).map_err(|why| bad(&why))?;
        let port = match port {
            None => Some(default_port),
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("has a port that is not a number from 1 to 65535"))?,
            ),
        };
        let host = host.to_ascii_lowercase();
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(domain) => (true, domain.to_string()),
            None => (false, host.clone()),
        };
        let ipv6 = name.starts_with('[') && name.ends_with(']');
        let ok = if ipv6 {
            !wildcard
                && name[1..name.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok()
        } else {
            is_dns_name(&name) && (!wildcard || name.contains('.'))
        };
        if !ok {
            return Err(bad(
                "does not name a host (a DNS name, '*.' and a domain with at least two labels, an IPv4 address or [IPv6])",
            ));
        }
        Ok(HostPattern {
            scheme: scheme.to_string(),
            host: if wildcard { format!(".{name}") } else { name },
            wildcard,
            port,
        })
    }

    /// Whether a URL with this scheme, host (as the URL parser gives it: lowercase,
    /// IPv6 in brackets) and port (explicit or the scheme's default) may be reached.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        scheme == self.scheme
            && self.port.is_none_or(|p| p == port)
            && if self.wildcard {
                host.len() > self.host.len() && host.ends_with(&self.host)
            } else {
                host == self.host
            }
    }
}

/// Parse every entry of a list.
pub fn parse_all(entries: &[String]) -> Result<Vec<HostPattern>, String> {
    if entries.len() > MAX_HOSTS {
        return Err(format!(
            "allowed-outbound-hosts lists {} entries, more than the {MAX_HOSTS} allowed",
            entries.len()
        ));
    }
    entries.iter().map(|e| HostPattern::parse(e)).collect()
}

/// `host[:port]` split, keeping an IPv6 literal's brackets.
fn split_port(rest: &str) -> Result<(&str, Option<&str>), String> {
    if rest.starts_with('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| "has an IPv6 address without its closing ']'".to_string())?;
        let (host, after) = rest.split_at(end + 1);
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err("has text after the IPv6 address".into()),
        };
    }
    Ok(match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    })
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_parsed_and_matched() {
        let p = HostPattern::parse("https://api.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches("https", "api.example.com", 443));
        assert!(p.matches("https", "API.example.com.", 443));
        assert!(!p.matches("https", "api.example.com", 8443));
        assert!(!p.matches("https", "evil-api.example.com", 443));
        assert!(!p.matches("https", "api.example.com.evil.net", 443));
        let p = HostPattern::parse("http://127.0.0.1:*").unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches("http", "127.0.0.1", 39_123));
        assert!(!p.matches("https", "127.0.0.1", 39_123));
        let p = HostPattern::parse("https://[::1]:8443/").unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches("https", "[::1]", 8443));
        let p = HostPattern::parse("https://*.ecb.europa.eu").unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches("https", "a.b.ecb.europa.eu", 443));
        assert!(!p.matches("https", "ecb.europa.eu", 443));
        assert!(!p.matches("https", "xecb.europa.eu", 443));
    }

    #[test]
    fn bad_entries_say_why() {
        for (entry, why) in [
            ("api.example.com", "has no scheme"),
            ("ftp://api.example.com", "https:// or http://"),
            ("https://api.example.com/v1", "path"),
            ("https://u:p@api.example.com", "credentials"),
            ("https://*", "does not name a host"),
            ("https://*.com", "does not name a host"),
            ("https://a_b.example.com", "does not name a host"),
            ("https://api.example.com:0", "port"),
            ("https://api.example.com:http", "port"),
            ("https://[::1", "closing"),
        ] {
            let e = HostPattern::parse(entry).err().unwrap_or_default();
            assert!(e.contains(why), "{entry}: {e}");
        }
        let many: Vec<String> = (0..=MAX_HOSTS)
            .map(|i| format!("https://h{i}.example.com"))
            .collect();
        assert!(parse_all(&many).is_err());
    }
}
