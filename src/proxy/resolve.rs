//! Name resolution for the proxy: the host's own resolver (getaddrinfo),
//! called by the proxy outside the sandbox; the sandbox itself has no DNS.
//!
//! Test builds (the `test-abi-cap` feature, or unit tests) also honour
//! `NONO_TEST_RESOLVE=name=ip[,ip];name2=ip`, so that the tests can make a
//! name resolve to 127.0.0.1 or 169.254.169.254 without a DNS server.
//! Release builds do not contain this code.

use std::io;
use std::net::{IpAddr, ToSocketAddrs};

pub fn lookup(name: &str, port: u16) -> io::Result<Vec<IpAddr>> {
    #[cfg(any(test, feature = "test-abi-cap"))]
    if let Some(v) = test_override(name) {
        return Ok(v);
    }
    let mut out: Vec<IpAddr> = Vec::new();
    for a in (name, port).to_socket_addrs()? {
        if !out.contains(&a.ip()) {
            out.push(a.ip());
        }
    }
    Ok(out)
}

#[cfg(any(test, feature = "test-abi-cap"))]
fn test_override(name: &str) -> Option<Vec<IpAddr>> {
    let spec = std::env::var("NONO_TEST_RESOLVE").ok()?;
    parse_override(&spec, name)
}

#[cfg(any(test, feature = "test-abi-cap"))]
fn parse_override(spec: &str, name: &str) -> Option<Vec<IpAddr>> {
    spec.split(';').find_map(|entry| {
        let (n, ips) = entry.split_once('=')?;
        if !n.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        Some(
            ips.split(',')
                .filter_map(|i| i.trim().parse().ok())
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_override_maps_names() {
        let spec = "a.test=127.0.0.1;meta.test=169.254.169.254,::1";
        assert_eq!(
            parse_override(spec, "META.test"),
            Some(vec![
                "169.254.169.254".parse().unwrap(),
                "::1".parse().unwrap()
            ])
        );
        assert_eq!(parse_override(spec, "b.test"), None);
    }
}
