//! Differential tests of the language, one playbook per area (loops,
//! blocks, handlers, tags, serial, failures, check mode, filters...): the
//! same playbook under ansible-playbook (the oracle) and under tend, on the
//! local connection, comparing exit codes, per-host stats and the files
//! they leave, round after round (see tests/oracle/mod.rs). Each playbook
//! under tests/compat/ says in its header what it covers.
//!
//! ansible-core comes from PyPI into tests/compat/.venv; `tests/run`
//! installs it, and these tests install it themselves when it is missing,
//! so they never silently skip.

mod common;
mod oracle;

use oracle::Case;

const INVENTORY: &str = "tests/compat/inventory.ini";
const FLEET: &str = "tests/compat/fleet.ini";

#[test]
fn loops_match_ansible() {
    Case::new("tests/compat/loops.yml", INVENTORY).assert_same();
}

/// loop_control `extended: true` sets ansible_loop.
#[test]
fn loop_control_extended_sets_ansible_loop() {
    Case::new("tests/compat/loop_extended.yml", INVENTORY).assert_same();
}

/// with_dict, the older spelling of a loop over a dictionary.
#[test]
fn with_dict_loops_over_a_dictionary() {
    Case::new("tests/compat/with_dict.yml", INVENTORY).assert_same();
}

#[test]
fn handlers_match_ansible() {
    Case::new("tests/compat/handlers.yml", INVENTORY).assert_same();
}

#[test]
fn blocks_match_ansible() {
    Case::new("tests/compat/blocks.yml", INVENTORY).assert_same();
}

/// Ansible's linear strategy: every host finishes a task before any host
/// starts the next, so beta reads the fact alpha set one task earlier.
#[test]
fn hosts_wait_for_each_other_between_tasks() {
    Case::new("tests/compat/linear.yml", INVENTORY).assert_same();
}

/// With --forks 1 the run still goes task by task, host after host.
#[test]
fn forks_1_still_goes_task_by_task() {
    Case::new("tests/compat/forks_order.yml", INVENTORY)
        .args(&["--forks", "1"])
        .assert_same();
}

#[test]
fn registered_results_are_in_hostvars() {
    Case::new("tests/compat/hostvars_registered.yml", INVENTORY).assert_same();
}

#[test]
fn include_tasks_in_a_loop_includes_once_per_item() {
    Case::new("tests/compat/include_loop.yml", INVENTORY).assert_same();
}

#[test]
fn serial_batches_match_ansible() {
    Case::new("tests/compat/serial.yml", FLEET).assert_same();
}

#[test]
fn handlers_notified_from_rescue_match_ansible() {
    Case::new("tests/compat/rescue_handlers.yml", INVENTORY).assert_same();
}

#[test]
fn failing_hosts_match_ansible() {
    Case::new("tests/compat/failures.yml", FLEET).assert_same();
}

#[test]
fn a_serial_batch_that_fails_entirely_ends_the_run() {
    Case::new("tests/compat/serial_abort.yml", FLEET).assert_same();
}

#[test]
fn a_failed_when_list_is_an_and() {
    Case::new("tests/compat/failed_when_list.yml", INVENTORY).assert_same();
}

/// A `meta` task skipped by `when` is not counted in the recap.
#[test]
fn a_skipped_meta_task_is_not_counted() {
    Case::new("tests/compat/meta_skipped.yml", INVENTORY).assert_same();
}

/// Role defaults are private to the role in tend on purpose (README,
/// "Where tend differs"), so the oracle runs with private_role_vars.
#[test]
fn variable_precedence_matches_ansible() {
    Case::new("tests/compat/vars.yml", "tests/compat/precedence.ini")
        .rounds(&[
            &["-e", "prec_q=extra-vars"],
            &["-e", "@tests/compat/vars/prec_extra.yml"],
            &["-e", r#"{"prec_q": "extra-vars"}"#],
        ])
        .ansible_env("ANSIBLE_PRIVATE_ROLE_VARS", "true")
        .assert_same();
}

#[test]
fn filters_match_ansible() {
    Case::new("tests/compat/filters.yml", INVENTORY).assert_same();
}

#[test]
fn roles_and_tags_match_ansible() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY).assert_same();
}

#[test]
fn tags_select_like_ansible() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "deploy"]])
        .assert_same();
}

#[test]
fn skip_tags_skip_like_ansible() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--skip-tags", "extra,unit"]])
        .assert_same();
}

#[test]
fn never_tagged_tasks_run_when_their_other_tag_is_asked_for() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "debug"]])
        .assert_same();
}

/// A task tagged `never` runs only when one of its tags is named.
#[test]
fn tags_tagged_does_not_select_never_tasks() {
    Case::new("tests/compat/never_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "tagged"], &["--tags", "debug"]])
        .assert_same();
}

#[test]
fn play_tags_and_import_tags_select_like_ansible() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "second_play,config"], &["--tags", "config"]])
        .assert_same();
}

/// Converge for real, then dry runs with a new release: what would change
/// is what Ansible says would change, and no file moves.
#[test]
fn check_mode_matches_ansible() {
    Case::new("tests/compat/check_mode.yml", INVENTORY)
        .rounds(&[
            &[],
            &["--check", "-e", "check_release=v2"],
            &["--check", "--diff", "-e", "check_release=v2"],
            &["--check"],
        ])
        .assert_same();
}

#[test]
fn modules_match_ansible() {
    Case::new("tests/compat/modules.yml", INVENTORY).assert_same();
}

/// A host on SSH where nothing listens: UNREACHABLE in both recaps, exit 4,
/// and the local hosts finish the play.
#[test]
fn an_unreachable_host_matches_ansible() {
    Case::new("tests/cli/exitcodes.yml", "tests/cli/unreachable.ini")
        .rounds(&[&["-e", "change=true"], &[]])
        .assert_same();
}
