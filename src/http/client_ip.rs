//! The caller's IP address: the socket's peer, unless that peer is a configured trusted proxy,
//! in which case the nearest untrusted hop of `Forwarded` (RFC 7239) or `X-Forwarded-For` is
//! used. Malformed headers are ignored (the peer address is used), never half-parsed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;

/// One `for=` node of a `Forwarded` element: a bare or bracketed IP, optionally with a port.
fn forwarded_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.parse().ok().or_else(|| {
        let (ip, port) = node.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        ip.parse().ok()
    })
}

/// The hops a request passed through, nearest last; None if any element is malformed.
fn hops(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    if let Some(v) = headers.get("forwarded") {
        let mut out = Vec::new();
        for element in v.to_str().ok()?.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v)
            })?;
            out.push(forwarded_node(node)?);
        }
        return Some(out);
    }
    let v = headers.get("x-forwarded-for")?.to_str().ok()?;
    v.split(',').map(|ip| ip.trim().parse().ok()).collect()
}

pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let client =
        hops(headers).and_then(|hops| hops.into_iter().rev().find(|ip| !trusted.contains(ip)));
    client.unwrap_or(peer).to_string()
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
        Ok(Self(resolve(
            peer,
            &parts.headers,
            &state.config.limits.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn proxies_are_believed_only_when_trusted() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let peer = Some(proxy);
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.1")]);
        assert_eq!(
            resolve(peer, &xff, &[]),
            "10.0.0.1",
            "untrusted peer: its own address"
        );
        assert_eq!(resolve(peer, &xff, &[proxy]), "203.0.113.9");
        let fwd = headers(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.1",
        )]);
        assert_eq!(resolve(peer, &fwd, &[proxy]), "2001:db8::7");
        let bad = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip")]);
        assert_eq!(
            resolve(peer, &bad, &[proxy]),
            "10.0.0.1",
            "malformed: ignored"
        );
        let spoof = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            resolve(Some("198.51.100.2".parse().expect("ip")), &spoof, &[proxy]),
            "198.51.100.2"
        );
    }
}
