//! Network facts as Ansible's Linux collector builds them: one fact per
//! interface (from `/sys/class/net` and `ip -o addr`), the address lists,
//! and `default_ipv4`/`default_ipv6` from the route the kernel would take
//! to a public address (`ip route get`), completed with that address's
//! prefix, broadcast and interface details.

use std::net::Ipv4Addr;

use super::{Raw, bad};
use crate::probe::decode;
use crate::{Map, TaskError, Value};

/// One interface as `/sys/class/net/NAME` describes it.
struct Iface {
    name: String,
    mac: String,
    mtu: Option<u64>,
    kind: &'static str,
    active: Option<bool>,
    promisc: Option<bool>,
}

/// One address line of `ip -o addr`.
struct Addr {
    dev: String,
    v6: bool,
    address: String,
    prefix: String,
    broadcast: String,
    scope: String,
    label: String,
    secondary: bool,
}

pub(super) fn network(raw: &Raw, lines: &[String], f: &mut Map) -> Result<(), TaskError> {
    let ifaces: Vec<Iface> = lines.iter().map(|l| iface(l)).collect::<Result<_, _>>()?;
    let addrs = match raw.get("addr") {
        Some(b) => {
            let text = String::from_utf8(decode(b)?).map_err(|_| bad("ip addr is not UTF-8"))?;
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(addr)
                .collect::<Result<Vec<_>, _>>()?
        }
        None => Vec::new(),
    };
    let mut default4 = route(raw.get("route4"), "8.8.8.8");
    let mut default6 = route(raw.get("route6"), "2404:6800:400a:800::1012");
    let (mut all4, mut all6) = (Vec::new(), Vec::new());
    let mut names = Vec::new();
    let mut facts: Vec<(String, Map)> = Vec::new();
    for i in &ifaces {
        let mut m = Map::new();
        m.insert("device".into(), i.name.clone().into());
        if !i.mac.is_empty() && i.mac != "00:00:00:00:00:00" {
            m.insert("macaddress".into(), i.mac.clone().into());
        }
        if let Some(mtu) = i.mtu {
            m.insert("mtu".into(), mtu.into());
        }
        if let Some(active) = i.active {
            m.insert("active".into(), active.into());
        }
        m.insert("type".into(), i.kind.into());
        if let Some(p) = i.promisc {
            m.insert("promisc".into(), p.into());
        }
        let mut aliases: Vec<(String, Map)> = Vec::new();
        let mut v6 = Vec::new();
        for a in addrs.iter().filter(|a| a.dev == i.name) {
            if a.v6 {
                v6.push(serde_json::json!({
                    "address": a.address, "prefix": a.prefix, "scope": a.scope,
                }));
                if default6.get("address").and_then(Value::as_str) == Some(a.address.as_str()) {
                    default6.insert("prefix".into(), a.prefix.clone().into());
                    default6.insert("scope".into(), a.scope.clone().into());
                    details(&mut default6, i);
                }
                if a.address != "::1" {
                    all6.push(Value::from(a.address.clone()));
                }
                continue;
            }
            let v4 = ipv4(a)?;
            if a.secondary {
                push(&mut m, "ipv4_secondaries", v4.clone());
            } else if a.label != i.name {
                // An alias (`eth0:1`) is a fact of its own, as in Ansible.
                let mut alias = Map::new();
                alias.insert("ipv4".into(), Value::Object(v4.clone()));
                aliases.push((a.label.replace(':', "_"), alias));
            } else if !m.contains_key("ipv4") {
                m.insert("ipv4".into(), Value::Object(v4.clone()));
            } else {
                push(&mut m, "ipv4_secondaries", v4.clone());
            }
            if default4.get("address").and_then(Value::as_str) == Some(a.address.as_str()) {
                for k in ["broadcast", "netmask", "network", "prefix"] {
                    default4.insert(k.into(), v4[k].clone());
                }
                details(&mut default4, i);
                default4.insert("alias".into(), a.label.clone().into());
            }
            if !a.address.starts_with("127.") {
                all4.push(Value::from(a.address.clone()));
            }
        }
        if !v6.is_empty() {
            m.insert("ipv6".into(), Value::Array(v6));
        }
        let key = i.name.replace(':', "_");
        names.push(Value::from(key.clone()));
        facts.push((key, m));
        for (name, alias) in aliases {
            names.push(Value::from(name.clone()));
            facts.push((name, alias));
        }
    }
    if ifaces.is_empty() && addrs.is_empty() && raw.get("route4").is_none() {
        return Ok(());
    }
    f.insert("interfaces".into(), Value::Array(names));
    f.insert("all_ipv4_addresses".into(), Value::Array(all4));
    f.insert("all_ipv6_addresses".into(), Value::Array(all6));
    f.insert("default_ipv4".into(), Value::Object(sorted(default4)));
    f.insert("default_ipv6".into(), Value::Object(sorted(default6)));
    for (name, m) in facts {
        // A fact never overwrites one of the others (an interface named `env`).
        if !f.contains_key(&name) {
            f.insert(name, Value::Object(sorted(m)));
        }
    }
    Ok(())
}

fn push(m: &mut Map, key: &str, v: Map) {
    let list = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        items.push(Value::Object(v));
    }
}

/// The interface details Ansible copies into `default_ipv4`/`default_ipv6`.
fn details(m: &mut Map, i: &Iface) {
    let mac = if i.mac.is_empty() { "unknown" } else { &i.mac };
    m.insert("macaddress".into(), mac.into());
    if let Some(mtu) = i.mtu {
        m.insert("mtu".into(), mtu.into());
    }
    m.insert("type".into(), i.kind.into());
}

fn sorted(m: Map) -> Map {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// `interface`, `address` and `gateway` of the first line of
/// `ip route get TARGET`, as Ansible reads them.
fn route(line: Option<&str>, target: &str) -> Map {
    let mut m = Map::new();
    let Some(line) = line else { return m };
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() != Some(&target) {
        return m;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => m.insert("interface".into(), pair[1].into()),
            "src" => m.insert("address".into(), pair[1].into()),
            "via" if pair[1] != target => m.insert("gateway".into(), pair[1].into()),
            _ => None,
        };
    }
    m
}

/// `NAME MAC MTU TYPE OPERSTATE FLAGS KIND`, `-` for what sysfs lacks.
fn iface(line: &str) -> Result<Iface, TaskError> {
    let w: Vec<&str> = line.split(' ').collect();
    let [name, mac, mtu, kind, oper, flags, special] = w[..] else {
        return Err(bad(&format!("unexpected interface line {line:?}")));
    };
    let opt = |v: &str| (v != "-").then(|| v.to_string());
    let mtu = opt(mtu)
        .map(|m| m.parse::<u64>())
        .transpose()
        .map_err(|_| bad(&format!("bad mtu in {line:?}")))?;
    let promisc = opt(flags)
        .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16))
        .transpose()
        .map_err(|_| bad(&format!("bad flags in {line:?}")))?
        .map(|f| f & 0x100 != 0);
    let kind = match (special, kind) {
        ("bridge", _) => "bridge",
        ("bonding", _) => "bonding",
        (_, "1") => "ether",
        (_, "32") => "infiniband",
        (_, "512") => "ppp",
        (_, "772") => "loopback",
        (_, "65534") => "tunnel",
        _ => "unknown",
    };
    Ok(Iface {
        name: name.to_string(),
        mac: opt(mac).unwrap_or_default(),
        mtu,
        kind,
        active: opt(oper).map(|o| o != "down"),
        promisc,
    })
}

/// One line of `ip -o addr show`: `2: eth0    inet 10.0.0.5/24 brd ... scope
/// global [secondary] eth0\ valid_lft ...`.
fn addr(line: &str) -> Result<Addr, TaskError> {
    let head = line.split('\\').next().unwrap_or(line);
    let w: Vec<&str> = head.split_whitespace().collect();
    let wrong = || bad(&format!("unexpected ip addr line {line:?}"));
    if w.len() < 4 || !w[0].ends_with(':') {
        return Err(wrong());
    }
    let dev = w[1].split('@').next().unwrap_or(w[1]).to_string();
    let v6 = match w[2] {
        "inet" => false,
        "inet6" => true,
        _ => return Err(wrong()),
    };
    // Point-to-point: `inet 10.0.0.1 peer 10.0.0.2/32`: the prefix is the peer's.
    let (address, prefix) = match w[3].split_once('/') {
        Some((a, p)) => (a.to_string(), p.to_string()),
        None => {
            let peer = w
                .iter()
                .position(|x| *x == "peer")
                .and_then(|i| w.get(i + 1));
            let prefix = peer
                .and_then(|p| p.split_once('/'))
                .map_or(if v6 { "128" } else { "32" }, |(_, p)| p);
            (w[3].to_string(), prefix.to_string())
        }
    };
    let after = |key: &str| {
        w.iter()
            .position(|x| *x == key)
            .and_then(|i| w.get(i + 1))
            .map_or(String::new(), |s| s.to_string())
    };
    let label = if v6 {
        dev.clone()
    } else {
        w.last().map_or(dev.clone(), |s| s.to_string())
    };
    Ok(Addr {
        dev,
        v6,
        address,
        prefix,
        broadcast: after("brd"),
        scope: after("scope"),
        label,
        secondary: w.contains(&"secondary"),
    })
}

/// Ansible's `ipv4` mapping of an address.
fn ipv4(a: &Addr) -> Result<Map, TaskError> {
    let ip: Ipv4Addr = a
        .address
        .parse()
        .map_err(|_| bad(&format!("bad IPv4 address {:?}", a.address)))?;
    let len: u32 = a
        .prefix
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| bad(&format!("bad prefix {:?}", a.prefix)))?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let mut m = Map::new();
    m.insert("address".into(), a.address.clone().into());
    m.insert("broadcast".into(), a.broadcast.clone().into());
    m.insert("netmask".into(), Ipv4Addr::from(mask).to_string().into());
    m.insert(
        "network".into(),
        Ipv4Addr::from(u32::from(ip) & mask).to_string().into(),
    );
    m.insert("prefix".into(), a.prefix.clone().into());
    Ok(m)
}
