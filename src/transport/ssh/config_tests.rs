//! Settings resolution against a real ssh config file in a temporary home.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::*;

const CONFIG: &str = "\
Include conf.d/*.conf

Host web1
    HostName 10.0.0.5
    User deploy
    Port 2200
    IdentityFile ~/.ssh/web_key
    StrictHostKeyChecking accept-new

Host db*
    HostName %h.internal
    ProxyJump admin@bastion:2022

Host bastion
    HostName 192.0.2.1
    IdentityFile ~/.ssh/bastion_key

Host loop1
    ProxyJump loop2
Host loop2
    ProxyJump loop1

Host legacy
    ProxyCommand ssh -W %h:%p gw

Host *
    User fallback
    Port 2299
    UserKnownHostsFile ~/.ssh/lab_known_hosts
    ServerAliveInterval 5
";

struct Lab {
    home: tempfile::TempDir,
    env: Env,
    config: SshConfig,
}

fn lab() -> Lab {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh/conf.d")).unwrap();
    std::fs::write(home.path().join(".ssh/config"), CONFIG).unwrap();
    std::fs::write(
        home.path().join(".ssh/conf.d/extra.conf"),
        "Host included\n    HostName 198.51.100.7\n",
    )
    .unwrap();
    let env = Env {
        home: Some(home.path().to_path_buf()),
        local_user: "me".into(),
        ansible_host_key_checking: None,
    };
    let config = load_config(None, env.home.as_deref())
        .unwrap()
        .expect("~/.ssh/config is found");
    Lab { home, env, config }
}

impl Lab {
    fn resolve(&self, name: &str, vars: Value) -> Result<SshSettings, String> {
        let vars: Map<String, Value> = serde_json::from_value(vars).unwrap();
        resolve_with(name, &vars, Some(&self.config), &self.env)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }
}

#[test]
fn first_matching_host_block_wins_over_host_star() {
    let lab = lab();
    let s = lab.resolve("web1", json!({})).unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.user.as_str()),
        ("10.0.0.5", 2200, "deploy")
    );
    assert_eq!(s.identity_files, [lab.path(".ssh/web_key")]);
    assert_eq!(s.host_key_checking, HostKeyChecking::AcceptNew);
    assert_eq!(
        s.known_hosts_files,
        [
            lab.path(".ssh/lab_known_hosts"),
            PathBuf::from("/etc/ssh/ssh_known_hosts")
        ]
    );
    assert_eq!(s.keepalive_interval, Some(Duration::from_secs(5)));
    assert_eq!(s.proxy_jump, None);
}

#[test]
fn inventory_variables_win_over_the_ssh_config() {
    let lab = lab();
    let vars = json!({
        "ansible_port": "2201", "ansible_user": "ops", "ansible_ssh_private_key_file": "~/keys/web",
        "ansible_become_password": "s3cret", "ansible_timeout": 3,
    });
    let s = lab.resolve("web1", vars).unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.user.as_str()),
        ("10.0.0.5", 2201, "ops")
    );
    assert_eq!(
        s.identity_files,
        [lab.path("keys/web"), lab.path(".ssh/web_key")]
    );
    assert_eq!(
        s.become_password.as_ref().map(Secret::expose),
        Some("s3cret")
    );
    assert_eq!(s.connect_timeout, Duration::from_secs(3));
}

#[test]
fn ansible_host_is_what_the_config_is_matched_against() {
    let lab = lab();
    let s = lab.resolve("app", json!({"ansible_host": "web1"})).unwrap();
    assert_eq!(
        (s.name.as_str(), s.host.as_str(), s.port),
        ("app", "10.0.0.5", 2200)
    );
    let s = lab
        .resolve(
            "app",
            json!({"ansible_host": "203.0.113.9", "ansible_port": 22}),
        )
        .unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.user.as_str()),
        ("203.0.113.9", 22, "fallback")
    );
}

#[test]
fn hostname_tokens_and_jump_hosts_resolve_through_the_config() {
    let lab = lab();
    let s = lab.resolve("db1", json!({})).unwrap();
    assert_eq!(s.host, "db1.internal");
    let jump = s.proxy_jump.expect("db* has a ProxyJump");
    assert_eq!(
        (jump.host.as_str(), jump.port, jump.user.as_str()),
        ("192.0.2.1", 2022, "admin")
    );
    assert_eq!(jump.identity_files, [lab.path(".ssh/bastion_key")]);
    assert_eq!(jump.proxy_jump, None);
}

#[test]
fn common_args_give_a_jump_chain_and_host_key_policy_for_every_hop() {
    let lab = lab();
    let vars = json!({"ansible_ssh_common_args": "-J first,bastion -o StrictHostKeyChecking=no"});
    let s = lab.resolve("web1", vars).unwrap();
    let jump = s.proxy_jump.as_deref().expect("-J gives a jump host");
    assert_eq!(jump.host, "192.0.2.1");
    let first = jump
        .proxy_jump
        .as_deref()
        .expect("bastion is reached through first");
    assert_eq!((first.host.as_str(), first.port), ("first", 2299));
    for hop in [&s, jump, first] {
        assert_eq!(hop.host_key_checking, HostKeyChecking::Off, "{}", hop.name);
    }
}

#[test]
fn ansible_host_key_checking_false_turns_checking_off() {
    let mut lab = lab();
    assert_eq!(
        lab.resolve("web1", json!({"ansible_host_key_checking": false}))
            .unwrap()
            .host_key_checking,
        HostKeyChecking::Off
    );
    lab.env.ansible_host_key_checking = Some("False".into());
    assert_eq!(
        lab.resolve("db1", json!({}))
            .unwrap()
            .proxy_jump
            .unwrap()
            .host_key_checking,
        HostKeyChecking::Off
    );
    lab.env.ansible_host_key_checking = Some("True".into());
    assert_eq!(
        lab.resolve("web1", json!({})).unwrap().host_key_checking,
        HostKeyChecking::AcceptNew
    );
}

#[test]
fn included_files_are_read() {
    assert_eq!(
        lab().resolve("included", json!({})).unwrap().host,
        "198.51.100.7"
    );
}

#[test]
fn unsupported_or_broken_settings_are_errors_naming_the_host() {
    let lab = lab();
    let err = lab.resolve("loop1", json!({})).unwrap_err();
    assert!(
        err.starts_with("host loop1:") && err.contains("loop"),
        "{err}"
    );
    let err = lab.resolve("legacy", json!({})).unwrap_err();
    assert!(
        err.contains("ProxyCommand") && err.contains("ProxyJump"),
        "{err}"
    );
    let err = lab
        .resolve("web1", json!({"ansible_port": "ssh"}))
        .unwrap_err();
    assert!(err.contains("host web1") && err.contains("'ssh'"), "{err}");
}

#[test]
fn without_a_config_the_defaults_apply() {
    let lab = lab();
    let s = resolve_with("h", &Map::new(), None, &lab.env).unwrap();
    assert_eq!((s.host.as_str(), s.port, s.user.as_str()), ("h", 22, "me"));
    assert_eq!(s.host_key_checking, HostKeyChecking::Strict);
    assert_eq!(
        s.known_hosts_files,
        [
            lab.path(".ssh/known_hosts"),
            PathBuf::from("/etc/ssh/ssh_known_hosts")
        ]
    );
    let defaults = ["id_ed25519", "id_ecdsa", "id_rsa"].map(|k| lab.path(&format!(".ssh/{k}")));
    assert_eq!(s.default_identity_files, defaults);
}

#[test]
fn an_explicit_config_file_must_exist() {
    let err = load_config(Some(Path::new("/nonexistent/ssh_config")), None).unwrap_err();
    assert!(err.contains("/nonexistent/ssh_config"), "{err}");
}

#[test]
fn jump_specs() {
    assert_eq!(
        parse_jump("[::1]:2222").unwrap(),
        (None, "::1".into(), Some(2222))
    );
    assert_eq!(
        parse_jump("ssh://u@h:2").unwrap(),
        (Some("u".into()), "h".into(), Some(2))
    );
    assert_eq!(
        parse_jump("u@h").unwrap(),
        (Some("u".into()), "h".into(), None)
    );
    assert!(parse_jump("h:port").is_err());
}
