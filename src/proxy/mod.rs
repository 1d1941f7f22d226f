//! The egress proxy of host-allowlist mode (`--allow-host`).
//!
//! nono forks this proxy before it confines itself, so the proxy runs
//! outside the sandbox: in the host's network namespace, under none of the
//! command's Landlock or seccomp rules. The command runs in a network
//! namespace of its own whose only interface is its loopback; the proxy
//! accepts on listening sockets that nono created inside that namespace
//! and handed over (see `sandbox::netns`), decides each request with the
//! allowlist ([`allow`]), resolves the name itself, and connects out.
//!
//! - [`allow`]: the allowlist, pure and unit-tested.
//! - [`groups`]: the named host groups (`@registries`, ...) from data.
//! - [`server`]: CONNECT tunnels, plain HTTP forwarding, exposed ports.
//! - [`log`]: `--net-log` lines and the end-of-run refusal summary.
//! - [`resolve`]: the host's resolver (plus a test-only override).
//! - [`lifetime`]: when the proxy ends: when no process of the run is left.

pub mod allow;
pub mod groups;

// The proxy itself runs only on Linux: it accepts on listeners handed over
// from the command's network namespace. On macOS host-allowlist mode is
// refused, and only the allowlist (which `why`, `--dry-run` and profiles
// read) is built.
#[cfg(target_os = "linux")]
pub mod lifetime;
#[cfg(target_os = "linux")]
pub mod log;
#[cfg(target_os = "linux")]
pub mod resolve;
#[cfg(target_os = "linux")]
pub mod server;

use std::net::SocketAddr;

/// The port the proxy listens on inside the sandbox, unless an exposed
/// host port takes it (then the next free one). Fixed, so that `--dry-run`
/// can show the address the command will see.
pub const PROXY_PORT: u16 = 41080;

/// The proxy's address inside the sandbox for an allowlist.
pub fn proxy_addr(allow: &allow::Allowlist) -> SocketAddr {
    let taken: Vec<u16> = allow.exposed().iter().map(|e| e.listen.port()).collect();
    let mut port = PROXY_PORT;
    while taken.contains(&port) {
        port = port.wrapping_add(1).max(1024);
    }
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The variables that point the command's HTTP clients at the proxy,
/// replacing any the caller had set. Which client reads which is in SPEC.md
/// ("Host-allowlist mode: proxy variables").
pub fn env_vars(proxy: SocketAddr) -> Vec<(String, String)> {
    let url = format!("http://{proxy}");
    let no_proxy = "localhost,127.0.0.1,::1".to_string();
    let mut v = Vec::new();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        v.push((name.to_string(), url.clone()));
        v.push((name.to_ascii_lowercase(), url.clone()));
    }
    v.push(("NO_PROXY".into(), no_proxy.clone()));
    v.push(("no_proxy".into(), no_proxy));
    // Node.js 22.21/24+: fetch() and http(s) honour the proxy variables
    // only when asked to.
    v.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    // npm reads its own proxy settings first; these make it use the proxy
    // even when a user .npmrc names another one.
    v.push(("npm_config_proxy".into(), url.clone()));
    v.push(("npm_config_https_proxy".into(), url.clone()));
    // cargo reads http.proxy; without it libcurl's variables apply, but an
    // explicit setting in ~/.cargo/config.toml would win over them.
    v.push(("CARGO_HTTP_PROXY".into(), url));
    v
}

/// Names `env_vars` sets, for removing a caller's own values first.
pub fn env_names() -> Vec<String> {
    env_vars(SocketAddr::from(([127, 0, 0, 1], 1)))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_port_avoids_exposed_ports() {
        let a = allow::Allowlist::new(vec![allow::parse_rule("localhost:41080").unwrap()]);
        assert_eq!(proxy_addr(&a).port(), 41081);
        assert_eq!(proxy_addr(&allow::Allowlist::default()).port(), PROXY_PORT);
    }

    #[test]
    fn every_proxy_variable_points_at_the_proxy() {
        let v = env_vars("127.0.0.1:41080".parse().unwrap());
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        for k in ["HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            assert_eq!(get(k), Some("http://127.0.0.1:41080"), "{k}");
        }
        assert_eq!(get("NO_PROXY"), Some("localhost,127.0.0.1,::1"));
        assert_eq!(get("NODE_USE_ENV_PROXY"), Some("1"));
    }
}
