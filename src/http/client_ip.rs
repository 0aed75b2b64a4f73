//! The caller's IP address: the socket's peer, unless that peer is a configured trusted proxy.
//! Then the one configured header (`limits.forwarded_header`: `X-Forwarded-For`, or the `for=`
//! parameters of `Forwarded`, RFC 7239 §5.2) is read, every line of it in order, and the
//! rightmost address that is not a trusted proxy is the client: each proxy appends what it saw,
//! so everything left of the nearest untrusted hop was written by the client itself. The other
//! header is never read, so a client cannot choose its address by sending it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;
use crate::config::ForwardedHeader;

/// A node as proxies write it: a bare or bracketed IP, optionally with a port (RFC 7239 §6;
/// some proxies add ports to `X-Forwarded-For` too). `unknown` and obfuscated names are None.
fn node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    let node = node
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(node);
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, port) = rest.split_once(']')?;
        if !(port.is_empty() || port.strip_prefix(':')?.parse::<u16>().is_ok()) {
            return None;
        }
        return ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    node.parse().ok().or_else(|| {
        let (ip, port) = node.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    })
}

/// The `for=` node of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| node(v))?
    })
}

/// The hops a request passed through, nearest last; None for a hop that names no address
/// (malformed, `unknown`, obfuscated). Elements are split at every comma, quoted or not: the
/// values proxies write hold none, and a quote the client left open must not swallow the
/// elements proxies append after it.
fn hops(headers: &HeaderMap, source: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let (name, parse): (&str, fn(&str) -> Option<IpAddr>) = match source {
        ForwardedHeader::None => return Vec::new(),
        ForwardedHeader::XForwardedFor => ("x-forwarded-for", node),
        ForwardedHeader::Forwarded => ("forwarded", forwarded_for),
    };
    let mut out = Vec::new();
    for line in headers.get_all(name) {
        match line.to_str() {
            Ok(line) => out.extend(line.split(',').map(parse)),
            Err(_) => out.push(None),
        }
    }
    out
}

/// The client address: walking from the peer back along the hops, the first address that is
/// not a trusted proxy. A hop without an address stops the walk at the last trusted one, whose
/// address is then the best known (a client cannot make it anything but a proxy's).
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    source: ForwardedHeader,
    trusted: &[IpAddr],
) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    let mut nearest = peer;
    if trusted.contains(&peer) {
        for hop in hops(headers, source).into_iter().rev() {
            match hop {
                Some(ip) if trusted.contains(&ip) => nearest = ip,
                Some(ip) => return ip.to_string(),
                None => break,
            }
        }
    }
    nearest.to_string()
}

/// The client IP as a string key for limits and logs.
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let limits = &state.config.limits;
        Ok(Self(resolve(
            peer,
            &parts.headers,
            limits.forwarded_header,
            &limits.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn proxies_are_believed_only_when_trusted() {
        let proxy = ip("10.0.0.1");
        let peer = Some(proxy);
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.1")]);
        assert_eq!(resolve(peer, &xff, XFF, &[]), "10.0.0.1", "untrusted peer");
        assert_eq!(resolve(peer, &xff, XFF, &[proxy]), "203.0.113.9");
        let fwd = headers(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.1",
        )]);
        assert_eq!(resolve(peer, &fwd, FWD, &[proxy]), "2001:db8::7");
        let spoof = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            resolve(Some(ip("198.51.100.2")), &spoof, XFF, &[proxy]),
            "198.51.100.2"
        );
        assert_eq!(resolve(None, &xff, XFF, &[proxy]), "unknown");
    }

    #[test]
    fn only_the_configured_header_counts() {
        let proxy = ip("10.0.0.1");
        let both = headers(&[
            ("forwarded", "for=198.51.100.66"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(resolve(Some(proxy), &both, XFF, &[proxy]), "203.0.113.9");
        assert_eq!(resolve(Some(proxy), &both, FWD, &[proxy]), "198.51.100.66");
        let none = ForwardedHeader::None;
        assert_eq!(resolve(Some(proxy), &both, none, &[proxy]), "10.0.0.1");
    }

    #[test]
    fn every_line_is_read_and_the_rightmost_untrusted_address_wins() {
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        // The client's own line comes first; the proxies' appended lines after it.
        let lines = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
        ]);
        assert_eq!(resolve(Some(a), &lines, XFF, &[a, b]), "203.0.113.9");
        // Garbage the client wrote left of the proxy's entry does not matter.
        let garbage = headers(&[("x-forwarded-for", "not-an-ip, \"[, 203.0.113.9")]);
        assert_eq!(resolve(Some(a), &garbage, XFF, &[a]), "203.0.113.9");
        let open_quote = headers(&[("forwarded", "for=\"[::1, for=203.0.113.9")]);
        assert_eq!(resolve(Some(a), &open_quote, FWD, &[a]), "203.0.113.9");
        // A hop without an address: the nearest proxy is the best known.
        let unknown = headers(&[("forwarded", "for=203.0.113.9, for=unknown, for=10.0.0.2")]);
        assert_eq!(resolve(Some(a), &unknown, FWD, &[a, b]), "10.0.0.2");
        // Only proxies: the farthest of them.
        let inside = headers(&[("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(resolve(Some(a), &inside, XFF, &[a, b]), "10.0.0.2");
    }

    #[test]
    fn nodes_parse_strictly() {
        assert_eq!(node("192.0.2.1:80"), Some(ip("192.0.2.1")));
        assert_eq!(node("\"[2001:db8::1]:443\""), Some(ip("2001:db8::1")));
        assert_eq!(node("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(node(" 2001:db8::1 "), Some(ip("2001:db8::1")));
        for bad in [
            "",
            "unknown",
            "_hidden",
            "[192.0.2.1]",
            "[::1]x",
            "1.2.3.4:99999",
            "\"",
        ] {
            assert_eq!(node(bad), None, "{bad}");
        }
    }
}
