//! Fixtures: what the fact script printed on a lab host (Debian 12 in a
//! container, compared with Ansible's own `setup` on the same host) and a
//! made-up RedHat host with aliases, secondaries and IPv6.

use super::*;
use serde_json::json;

const LAB: &str = include_str!("lab_host.txt");

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_lab_host_as_ansible_sees_it() {
    let f = gather(LAB.as_bytes()).unwrap();
    let expect = json!({
        "hostname": "h12", "nodename": "h12", "fqdn": "h12", "domain": "",
        "distribution": "Debian", "distribution_release": "bookworm",
        "distribution_version": "12.15", "distribution_major_version": "12",
        "distribution_minor_version": "15", "os_family": "Debian",
        "architecture": "x86_64", "kernel": "6.18.44-fc-v669", "system": "Linux",
        "kernel_version": "#1 SMP PREEMPT_DYNAMIC @0",
        "machine_id": "5828d58dd0b74a2fa21f5b95e67f365b",
        "all_ipv4_addresses": ["10.251.0.22"], "all_ipv6_addresses": [],
        "processor_vcpus": 2, "processor_nproc": 2, "memtotal_mb": 24105,
        "swaptotal_mb": 0, "service_mgr": "systemd", "pkg_mgr": "apt",
        "user_id": "root", "user_uid": 0, "user_gid": 0, "user_dir": "/root",
        "user_shell": "/bin/bash", "user_gecos": "root", "uptime_seconds": 5201,
        "default_ipv6": {},
    });
    for (k, v) in expect.as_object().unwrap() {
        assert_eq!(&f[k], v, "{k}");
    }
    // Exactly what Ansible's setup reported for this host.
    assert_eq!(
        f["default_ipv4"],
        json!({
            "address": "10.251.0.22", "alias": "host0", "broadcast": "10.251.0.255",
            "gateway": "10.251.0.1", "interface": "host0", "macaddress": "3e:ca:0a:fe:70:73",
            "mtu": 1500, "netmask": "255.255.255.0", "network": "10.251.0.0",
            "prefix": "24", "type": "ether",
        })
    );
    assert_eq!(f["interfaces"], json!(["host0", "lo"]));
    assert_eq!(f["lo"]["ipv4"]["network"], "127.0.0.0");
    assert_eq!(
        f["lo"]["ipv6"],
        json!([{"address": "::1", "prefix": "128", "scope": "host"}])
    );
    assert_eq!(f["lo"]["type"], "loopback");
    assert!(f["lo"].get("macaddress").is_none());
    assert_eq!(f["host0"]["active"], true);
    assert_eq!(f["env"]["HOME"], "/root");
    assert_eq!(
        f["env"]["SSH_CONNECTION"],
        "10.251.0.1 52942 10.251.0.22 22"
    );
    let dt = &f["date_time"];
    assert_eq!(dt["epoch"], "1795625451");
    assert_eq!(dt["iso8601"], "2026-11-25T16:50:51Z");
    assert_eq!(dt["iso8601_micro"], "2026-11-25T16:50:51.931133Z");
    assert_eq!(dt["iso8601_basic"], "20261125T165051931133");
    assert_eq!(dt["date"], "2026-11-25");
    assert_eq!(dt["time"], "16:50:51");
    assert_eq!(dt["weekday"], "Wednesday");
    assert_eq!((&dt["tz"], &dt["tz_dst"]), (&json!("UTC"), &json!("UTC")));
    assert!(f.get("python").is_none());
}

fn redhat() -> String {
    let os =
        "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";
    let addr = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                2: eth0    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0\\       valid_lft forever\n\
                2: eth0    inet 192.168.1.11/24 brd 192.168.1.255 scope global secondary eth0\\ x\n\
                2: eth0    inet 10.9.0.1/16 scope global eth0:1\\ x\n\
                2: eth0    inet6 2001:db8::10/64 scope global \\       valid_lft forever\n\
                3: wg0    inet 10.0.0.1 peer 10.0.0.2/32 scope global wg0\\ x\n";
    format!(
        "env {}\nnodename web1.example.com\nfqdn web1.example.com\nsystem Linux\nmachine i686\n\
         os_release {}\nmem MemTotal 2048000\ncpus 4\nnproc 2\ninit bash\nhas init_d\n\
         pkg /usr/bin/yum\npkg /usr/bin/dnf-3\nids 1000 1000 1000 100\nuser app\n\
         date 1700000000 %N 2023 11 14 23 13 20 2 46 +0100 Tuesday CET\n\
         tz_jan +0100 CET\ntz_jul +0200 CEST\n\
         route4 8.8.8.8 dev eth0 src 192.168.1.10 uid 1000\n\
         route6 2404:6800:400a:800::1012 from :: via fe80::1 dev eth0 src 2001:db8::10 metric 1\n\
         addr {}\niface eth0 52:54:00:12:34:56 9000 1 up 0x1103 -\niface wg0 - 1420 65534 unknown 0x91 -\n",
        b64("a=1\n"),
        b64(os),
        b64(addr)
    )
}

#[test]
fn a_redhat_host_with_aliases_secondaries_and_ipv6() {
    let f = gather(redhat().as_bytes()).unwrap();
    assert_eq!(f["hostname"], "web1");
    assert_eq!(f["domain"], "example.com");
    assert_eq!(f["distribution"], "Rocky");
    assert_eq!(f["os_family"], "RedHat");
    assert_eq!(f["distribution_major_version"], "9");
    assert_eq!(f["pkg_mgr"], "dnf");
    assert_eq!(f["architecture"], "i386");
    assert_eq!(f["service_mgr"], "sysvinit");
    assert_eq!(
        (&f["processor_vcpus"], &f["processor_nproc"]),
        (&json!(4), &json!(2))
    );
    assert_eq!(f["real_group_id"], 100);
    assert_eq!(f["env"], json!({"a": "1"}));
    assert_eq!(f["date_time"]["tz_dst"], "CEST");
    assert_eq!(f["date_time"]["iso8601"], "2023-11-14T22:13:20Z");
    assert_eq!(
        f["date_time"]["iso8601_micro"],
        "2023-11-14T22:13:20.000000Z"
    );
    let eth0 = &f["eth0"];
    assert_eq!(eth0["ipv4"]["address"], "192.168.1.10");
    assert_eq!(eth0["ipv4_secondaries"][0]["address"], "192.168.1.11");
    assert_eq!(eth0["promisc"], true);
    assert_eq!(f["eth0_1"]["ipv4"]["netmask"], "255.255.0.0");
    assert_eq!(f["wg0"]["ipv4"]["prefix"], "32");
    assert_eq!(f["wg0"]["type"], "tunnel");
    assert_eq!(f["interfaces"], json!(["eth0", "eth0_1", "wg0"]));
    assert_eq!(
        f["all_ipv4_addresses"],
        json!(["192.168.1.10", "192.168.1.11", "10.9.0.1", "10.0.0.1"])
    );
    assert_eq!(f["default_ipv4"]["alias"], "eth0");
    assert!(f["default_ipv4"].get("gateway").is_none());
    assert_eq!(
        f["default_ipv6"],
        json!({"address": "2001:db8::10", "gateway": "fe80::1", "interface": "eth0",
               "macaddress": "52:54:00:12:34:56", "mtu": 9000, "prefix": "64",
               "scope": "global", "type": "ether"})
    );
}

#[test]
fn what_a_host_cannot_tell_is_left_out() {
    let f = gather(b"system Linux\nnodename box\n").unwrap();
    assert_eq!(f["hostname"], "box");
    assert_eq!(f["service_mgr"], "service");
    for k in ["memtotal_mb", "env", "date_time", "default_ipv4", "pkg_mgr"] {
        assert!(f.get(k).is_none(), "{k}");
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for junk in [
        "nonsense here\n",
        "system Linux\nmem MemTotal lots\n",
        "system Linux\nids 0 0\n",
        "system Linux\ndate 1 2 3\n",
        "system Linux\niface eth0 x\n",
        "system Linux\naddr !!!\n",
        "system Linux\npasswd cm9vdAo=\n",
        "nodename x\n",
    ] {
        assert!(gather(junk.as_bytes()).is_err(), "{junk:?}");
    }
    let bad_addr = format!(
        "system Linux\naddr {}\niface eth0 - - - - - -\n",
        b64("2: eth0 inet 300.1.1.1/24 eth0\n")
    );
    assert!(gather(bad_addr.as_bytes()).is_err());
}

#[test]
fn utc_calendar() {
    assert_eq!(date::utc(0), (1970, 1, 1, 0, 0, 0));
    assert_eq!(date::utc(951_782_400), (2000, 2, 29, 0, 0, 0));
    assert_eq!(date::utc(-1), (1969, 12, 31, 23, 59, 59));
}

#[test]
fn subsets() {
    assert_eq!(subset_of("memtotal_mb"), "hardware");
    assert_eq!(subset_of("eth0"), "network");
    assert_eq!(subset_of("real_user_id"), "user");
    assert_eq!(subset_of("distribution_release"), "distribution");
}
