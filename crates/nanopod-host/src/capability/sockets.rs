//! Sockets and name lookup, denied by default: `--allow-tcp HOST:PORT`
//! (connect), `--allow-listen ADDR:PORT` (bind and listen), `--allow-udp
//! HOST:PORT` (send to, receive from, bind) and `--allow-dns` (name
//! lookup). Everything else fails at use with wasi:sockets'
//! `access-denied`: wasmtime-wasi asks nanopod's address check before
//! every bind, connect, listen, accept, send and receive.
//!
//! HOST is an IP address, `[v6]`, `*` (any address), or a name resolved
//! once when the grant is made (`localhost` allows 127.0.0.1 and ::1);
//! PORT is a number, a range `8000-8100`, or `*`. Denied in a composition
//! by a trapping adapter.

use super::{CapabilitySpec, Denial};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::ops::RangeInclusive;
use std::sync::Arc;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// The network's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "network",
    grant: "--allow-tcp HOST:PORT, --allow-listen ADDR:PORT, --allow-udp HOST:PORT, --allow-dns",
    interfaces: &["wasi:sockets/*"],
    entry_points: &[
        "wasi:sockets/instance-network",
        "wasi:sockets/types",
        "wasi:sockets/ip-name-lookup",
    ],
    flags: &[
        "--allow-tcp",
        "--allow-listen",
        "--allow-udp",
        "--allow-dns",
    ],
    manifest_keys: &["allow-tcp", "allow-listen", "allow-udp", "allow-dns"],
    denial: Denial::Trap,
};

/// What a socket grant allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketUse {
    /// Outgoing TCP connections to the endpoint (`--allow-tcp`).
    Connect,
    /// Binding and listening on the endpoint (`--allow-listen`).
    Listen,
    /// UDP datagrams to and from the endpoint, and binding it
    /// (`--allow-udp`).
    Udp,
}

impl SocketUse {
    /// The flag that grants it.
    pub fn flag(self) -> &'static str {
        match self {
            SocketUse::Connect => "--allow-tcp",
            SocketUse::Listen => "--allow-listen",
            SocketUse::Udp => "--allow-udp",
        }
    }
}

/// A socket grant that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid `{flag} {spec}`: {reason}")]
pub struct SocketSpecError {
    /// The flag (or the manifest key's flag).
    pub flag: &'static str,
    /// The value given.
    pub spec: String,
    /// Why.
    pub reason: String,
}

/// Addresses and ports one grant covers.
#[derive(Clone, Debug)]
struct Endpoint {
    /// The grant as written, for `inspect` and comparisons.
    spec: String,
    /// `None` for `*`.
    hosts: Option<Vec<IpAddr>>,
    ports: RangeInclusive<u16>,
}

impl Endpoint {
    fn parse(spec: &str, use_: SocketUse) -> Result<Endpoint, SocketSpecError> {
        let error = |reason: &str| SocketSpecError {
            flag: use_.flag(),
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (host, port) = spec
            .rsplit_once(':')
            .ok_or_else(|| error("expected HOST:PORT (PORT may be `*` or a range `A-B`)"))?;
        let ports = parse_ports(port)
            .ok_or_else(|| error("the port must be a number, a range `A-B` (A <= B) or `*`"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let hosts = match host {
            "*" => None,
            "" => return Err(error("the host is empty (use `*` for any address)")),
            _ => Some(match host.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => {
                    resolve(host).map_err(|e| error(&format!("cannot resolve `{host}`: {e}")))?
                }
            }),
        };
        Ok(Endpoint {
            spec: spec.to_string(),
            hosts,
            ports,
        })
    }

    fn covers(&self, addr: SocketAddr) -> bool {
        let ip = addr.ip().to_canonical();
        self.ports.contains(&addr.port())
            && self
                .hosts
                .as_ref()
                .is_none_or(|hosts| hosts.iter().any(|h| h.to_canonical() == ip))
    }
}

fn parse_ports(port: &str) -> Option<RangeInclusive<u16>> {
    if port == "*" {
        return Some(0..=u16::MAX);
    }
    let (low, high) = port.split_once('-').unwrap_or((port, port));
    let (low, high) = (low.parse().ok()?, high.parse().ok()?);
    (low <= high).then_some(low..=high)
}

fn resolve(host: &str) -> std::io::Result<Vec<IpAddr>> {
    let mut ips: Vec<IpAddr> = (host, 0).to_socket_addrs()?.map(|a| a.ip()).collect();
    ips.sort();
    ips.dedup();
    Ok(ips)
}

/// The sockets one component may use.
#[derive(Clone, Debug, Default)]
pub(crate) struct SocketGrant {
    connect: Vec<Endpoint>,
    listen: Vec<Endpoint>,
    udp: Vec<Endpoint>,
    dns: bool,
}

impl SocketGrant {
    pub(crate) fn allow(&mut self, use_: SocketUse, spec: &str) -> Result<(), SocketSpecError> {
        let endpoint = Endpoint::parse(spec, use_)?;
        self.endpoints_mut(use_).push(endpoint);
        Ok(())
    }

    pub(crate) fn allow_dns(&mut self) {
        self.dns = true;
    }

    fn endpoints_mut(&mut self, use_: SocketUse) -> &mut Vec<Endpoint> {
        match use_ {
            SocketUse::Connect => &mut self.connect,
            SocketUse::Listen => &mut self.listen,
            SocketUse::Udp => &mut self.udp,
        }
    }

    /// What is granted, in a comparable form: empty when nothing.
    pub(crate) fn measure(&self) -> Vec<String> {
        let lists = [
            (SocketUse::Connect, &self.connect),
            (SocketUse::Listen, &self.listen),
            (SocketUse::Udp, &self.udp),
        ];
        let mut out: Vec<String> = lists
            .into_iter()
            .flat_map(|(use_, list)| {
                list.iter()
                    .map(move |e| format!("{} {}", use_.flag(), e.spec))
            })
            .collect();
        if self.dns {
            out.push("--allow-dns".into());
        }
        out
    }

    pub(crate) fn merge(&mut self, other: &SocketGrant) {
        self.connect.extend(other.connect.iter().cloned());
        self.listen.extend(other.listen.iter().cloned());
        self.udp.extend(other.udp.iter().cloned());
        self.dns |= other.dns;
    }

    /// Whether `use_` of `addr` is allowed, in wasmtime-wasi's terms. A
    /// bind to port 0 (what a connect or a send does implicitly) needs any
    /// grant of that protocol; a bind to a port of its own needs a listen
    /// (TCP) or UDP grant covering it. Accepted clients come through a
    /// listener that was granted.
    pub(crate) fn allows(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let any = |list: &[Endpoint]| list.iter().any(|e| e.covers(addr));
        match use_ {
            SocketAddrUse::TcpConnect => any(&self.connect),
            SocketAddrUse::TcpBind if addr.port() == 0 => {
                !self.connect.is_empty() || !self.listen.is_empty()
            }
            SocketAddrUse::TcpBind | SocketAddrUse::TcpListen => any(&self.listen),
            SocketAddrUse::TcpAccept => !self.listen.is_empty(),
            SocketAddrUse::UdpBind if addr.port() == 0 => !self.udp.is_empty(),
            SocketAddrUse::UdpBind | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                any(&self.udp)
            }
        }
    }

    pub(crate) fn apply(&self, b: &mut WasiCtxBuilder) {
        // Nothing granted: wasmtime-wasi's default check already refuses
        // every address (and this runs for every store, e.g. per request).
        if self.connect.is_empty() && self.listen.is_empty() && self.udp.is_empty() && !self.dns {
            return;
        }
        b.allow_tcp(!self.connect.is_empty() || !self.listen.is_empty())
            .allow_udp(!self.udp.is_empty())
            .allow_ip_name_lookup(self.dns);
        let grant = Arc::new(self.clone());
        b.socket_addr_check(move |addr, use_| {
            let allowed = grant.allows(addr, use_);
            if !allowed {
                tracing::warn!(%addr, ?use_, "socket use denied: not granted");
            }
            Box::pin(std::future::ready(allowed))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(use_: SocketUse, spec: &str) -> SocketGrant {
        let mut g = SocketGrant::default();
        g.allow(use_, spec).unwrap();
        g
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connect_grants_cover_their_host_and_ports() {
        let g = grant(SocketUse::Connect, "127.0.0.1:8000-8100");
        assert!(g.allows(addr("127.0.0.1:8000"), SocketAddrUse::TcpConnect));
        assert!(g.allows(addr("127.0.0.1:8100"), SocketAddrUse::TcpConnect));
        assert!(!g.allows(addr("127.0.0.1:8101"), SocketAddrUse::TcpConnect));
        assert!(!g.allows(addr("127.0.0.2:8000"), SocketAddrUse::TcpConnect));
        // The implicit bind of a connect, but not a listener's own port.
        assert!(g.allows(addr("0.0.0.0:0"), SocketAddrUse::TcpBind));
        assert!(!g.allows(addr("127.0.0.1:8000"), SocketAddrUse::TcpBind));
        assert!(!g.allows(addr("127.0.0.1:8000"), SocketAddrUse::TcpListen));
        assert!(!g.allows(addr("127.0.0.1:8000"), SocketAddrUse::UdpSend));
        // An IPv4-mapped IPv6 address is the IPv4 one.
        assert!(g.allows(addr("[::ffff:127.0.0.1]:8000"), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn listen_grants_bind_and_listen_only_there() {
        let g = grant(SocketUse::Listen, "127.0.0.1:9000");
        assert!(g.allows(addr("127.0.0.1:9000"), SocketAddrUse::TcpBind));
        assert!(g.allows(addr("127.0.0.1:9000"), SocketAddrUse::TcpListen));
        assert!(g.allows(addr("10.1.2.3:5555"), SocketAddrUse::TcpAccept));
        // Not every interface, not another port, no connecting.
        assert!(!g.allows(addr("0.0.0.0:9000"), SocketAddrUse::TcpBind));
        assert!(!g.allows(addr("127.0.0.1:9001"), SocketAddrUse::TcpListen));
        assert!(!g.allows(addr("127.0.0.1:9000"), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn wildcards_names_and_udp() {
        let g = grant(SocketUse::Udp, "*:53");
        assert!(g.allows(addr("192.0.2.1:53"), SocketAddrUse::UdpSend));
        assert!(g.allows(addr("[2001:db8::1]:53"), SocketAddrUse::UdpReceive));
        assert!(g.allows(addr("0.0.0.0:0"), SocketAddrUse::UdpBind));
        assert!(!g.allows(addr("192.0.2.1:54"), SocketAddrUse::UdpSend));
        assert!(!g.allows(addr("0.0.0.0:0"), SocketAddrUse::TcpBind));
        let g = grant(SocketUse::Connect, "localhost:*");
        assert!(g.allows(addr("127.0.0.1:1"), SocketAddrUse::TcpConnect));
        let g = grant(SocketUse::Connect, "[::1]:80");
        assert!(g.allows(addr("[::1]:80"), SocketAddrUse::TcpConnect));
        assert!(!SocketGrant::default().allows(addr("127.0.0.1:80"), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn bad_specs_are_refused_with_the_flag() {
        let mut g = SocketGrant::default();
        for (spec, reason) in [
            ("127.0.0.1", "expected HOST:PORT"),
            ("127.0.0.1:http", "the port must be"),
            ("127.0.0.1:9-1", "the port must be"),
            ("127.0.0.1:70000", "the port must be"),
            (":80", "the host is empty"),
            ("no-such-host.invalid:80", "cannot resolve"),
        ] {
            let e = g.allow(SocketUse::Listen, spec).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("invalid `--allow-listen {spec}`")),
                "{e}"
            );
            assert!(e.contains(reason), "{e}");
        }
    }

    #[test]
    fn measures_name_the_flags() {
        let mut g = grant(SocketUse::Connect, "127.0.0.1:80");
        g.allow_dns();
        assert_eq!(g.measure(), ["--allow-tcp 127.0.0.1:80", "--allow-dns"]);
        assert!(SocketGrant::default().measure().is_empty());
    }
}
