//! Where `tpm serve` listens, and what that address allows.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use crate::conns::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};

/// The port of `tetra-4444`, the service the tetra README plans for process monitoring.
pub const DEFAULT_PORT: u16 = tpm_core::port::SERVE_PORT;
/// Loopback: only this machine can connect.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bind: IpAddr,
    /// 0: any free port (the one bound is reported).
    pub port: u16,
    /// Connections open at once (no more than half the open-file limit; see `conns`).
    pub max_connections: usize,
    /// How long a connection may stay without a request in flight.
    pub idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: DEFAULT_BIND,
            port: DEFAULT_PORT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Config {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// Only this machine can connect: reading needs no token. Anything else (`0.0.0.0`, a
    /// LAN address) needs the token for every API request.
    pub fn is_loopback(&self) -> bool {
        match self.bind {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }

    /// Which requests need the token here, as the start-up message says it: the same
    /// rule `guard` applies.
    pub fn token_rule(&self) -> &'static str {
        if self.is_loopback() {
            "requests that change something need the token"
        } else {
            "every API request needs the token, /metrics too (reads too: other machines can reach this address)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_127_0_0_0_8_and_ipv6_one() {
        for (addr, loopback) in [
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("0.0.0.0", false),
            ("::", false),
            ("192.168.1.10", false),
        ] {
            let config = Config {
                bind: addr.parse().unwrap(),
                port: 1,
                ..Config::default()
            };
            assert_eq!(config.is_loopback(), loopback, "{addr}");
        }
    }

    #[test]
    fn the_token_rule_says_reads_need_it_off_loopback_only() {
        let on = |bind: &str| Config {
            bind: bind.parse().unwrap(),
            port: 1,
            ..Config::default()
        };
        assert!(on("127.0.0.1").token_rule().contains("change something"));
        assert!(on("0.0.0.0").token_rule().contains("every API request"));
    }
}
