//! Differential tests of realistic playbooks: the way people write them in
//! company repos and Galaxy roles, mixing many features in one run
//! (tests/compat/realistic/). Each runs under ansible-playbook (the oracle,
//! tests/oracle/mod.rs) and under tend, converging, converging again, under
//! `--check --diff` and after a variable changes; stats, exit codes and
//! files must be the same.

mod common;
mod oracle;

use oracle::Case;

const INVENTORY: &str = "tests/compat/inventory.ini";

/// site.yml: roles `common` and `app` with defaults, vars, templates,
/// handlers, block/rescue, include_tasks in a loop and tags; then another
/// port checked, a new version deployed, and a tagged run with the port.
/// Role variables are private in tend (README), so the oracle is run so.
#[test]
fn a_site_playbook_with_roles_converges_like_ansible() {
    Case::new("tests/compat/realistic/site.yml", INVENTORY)
        .rounds(&[
            &[],
            &[],
            &["--check", "--diff", "-e", "app_port=9000"],
            &["-e", "app_version=1.5.0"],
            &["--tags", "app_config,sites", "-e", "app_port=9000"],
        ])
        .ansible_env("ANSIBLE_PRIVATE_ROLE_VARS", "true")
        .assert_same();
}

/// ops.yml on its own inventory (group_vars for all, a parent group and
/// its children, host_vars): vars_files, import_tasks, with_items,
/// loop_control, until/retries, changed_when/failed_when, ignore_errors,
/// run_once with delegate_to, check_mode: false, no_log, environment.
/// Then a port checked (hostvars see -e), another environment deployed
/// and checked.
#[test]
fn an_operations_playbook_with_group_and_host_vars_converges_like_ansible() {
    Case::new(
        "tests/compat/realistic/ops.yml",
        "tests/compat/realistic/inventories/staging/hosts.ini",
    )
    .rounds(&[
        &[],
        &[],
        &["--check", "--diff", "-e", "http_port=9000"],
        &["-e", "deploy_env=production"],
        &["--check", "-e", "deploy_env=production"],
    ])
    .assert_same();
}

/// templating.yml: macros, whitespace control, loop variables, namespace,
/// combine, set_fact accumulating in a loop, to_nice_yaml/json, regex,
/// hash, b64, quote, default(omit); then checked and re-rendered with
/// other values.
#[test]
fn a_templating_heavy_playbook_renders_like_ansible() {
    Case::new("tests/compat/realistic/templating.yml", INVENTORY)
        .rounds(&[
            &[],
            &[],
            &["--check", "--diff", "-e", "app_port=9999"],
            &["-e", "optional_mode=0600", "-e", "optional_setting=on"],
        ])
        .assert_same();
}
