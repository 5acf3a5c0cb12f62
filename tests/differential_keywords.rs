//! Differential tests of keywords that shape a run: handlers
//! (force_handlers, a role's handler notified twice), tags through roles,
//! includes and imported playbooks, roles as tasks (include_role,
//! import_role), include_vars, plays ended by a failure, failures a rescue
//! catches under max_fail_percentage and any_errors_fatal, and a templated
//! serial. Each playbook under tests/compat runs under ansible-playbook (the
//! oracle, tests/oracle/mod.rs) and under tend; stats, exit codes and files
//! must be the same.

mod common;
mod oracle;

use oracle::Case;

const INVENTORY: &str = "tests/compat/inventory.ini";
const FLEET: &str = "tests/compat/fleet.ini";

/// force_handlers: true: beta fails after notifying "restart", and its
/// handler still runs (beta/restarted exists).
#[test]
fn force_handlers_runs_the_handlers_of_a_failed_host() {
    Case::new("tests/compat/force_handlers.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// A role applied twice with different parameters notifies its handler
/// from both. Handler names are global: it runs once, with the last
/// instance's variables (restarts.log: "restart admin").
#[test]
fn a_role_applied_twice_runs_its_handler_once() {
    Case::new("tests/compat/role_twice.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// A role's tags apply to its dependencies: with --tags app the `base`
/// dependency of app_server runs (motd written).
#[test]
fn role_dependencies_inherit_the_roles_tags() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "app"], &["--tags", "untagged"]])
        .assert_same();
}

/// Tags on include_tasks select the include; without `apply` the included
/// tasks do not inherit them (--tags outer: ok=2).
#[test]
fn include_tasks_tags_are_not_inherited_without_apply() {
    Case::new("tests/compat/include_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "outer"], &["--tags", "inner"]])
        .assert_same();
}

/// `when` and `tags` on import_playbook apply to every task of the
/// imported plays.
#[test]
fn import_playbook_passes_its_when_and_tags_to_the_imported_tasks() {
    Case::new("tests/compat/import_playbook.yml", INVENTORY)
        .rounds(&[&[], &["--tags", "imported"]])
        .assert_same();
}

/// include_role and import_role, with `vars` that reach the role's
/// handlers.
#[test]
fn include_role_and_import_role_run_a_role_as_a_task() {
    Case::new("tests/compat/include_role.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// include_vars, with a file and with `name`.
#[test]
fn include_vars_loads_variables_at_run_time() {
    Case::new("tests/compat/include_vars.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// When a failure stops the run (any_errors_fatal, a breached
/// max_fail_percentage, including serial with max_fail_percentage 0),
/// every host of the batch finishes that task (a host whose `when` is
/// false counts skipped=1), and no host starts a later task or play.
/// Each test runs tend thirty times against one ansible-playbook run: the
/// hosts race to that task.
#[test]
fn any_errors_fatal_lets_every_host_finish_the_task() {
    Case::new("tests/compat/any_errors_fatal.yml", FLEET)
        .rounds(&[&[]])
        .repeat(30)
        .assert_same();
}

/// See any_errors_fatal_lets_every_host_finish_the_task.
#[test]
fn a_breached_max_fail_percentage_lets_every_host_finish_the_task() {
    Case::new("tests/compat/max_fail_percentage.yml", FLEET)
        .rounds(&[&[]])
        .repeat(30)
        .assert_same();
}

/// See any_errors_fatal_lets_every_host_finish_the_task.
#[test]
fn serial_with_max_fail_percentage_0_lets_the_batch_finish_the_task() {
    Case::new("tests/compat/serial_threshold.yml", FLEET)
        .rounds(&[&[]])
        .repeat(30)
        .assert_same();
}

/// serial 1 with max_fail_percentage 0: a failure that a rescue catches
/// does not count against the threshold, so the rescue runs and the rest
/// of the play, every later batch and the next play (it did not: the play
/// ended before the rescue and the run still succeeded).
#[test]
fn a_rescued_failure_does_not_count_against_max_fail_percentage() {
    Case::new("tests/compat/rescue_threshold.yml", FLEET)
        .rounds(&[&[]])
        .repeat(5)
        .assert_same();
}

/// A rescue that ends in `fail:` counts against max_fail_percentage 0:
/// the run ends after it, failed. A failure an `always` catches is not
/// counted when it happens, so its batch and the run go on.
#[test]
fn a_rescue_that_fails_breaks_max_fail_percentage() {
    Case::new("tests/compat/rescue_fails_threshold.yml", FLEET)
        .rounds(&[&[]])
        .repeat(5)
        .assert_same();
}

/// any_errors_fatal with a failure that a rescue catches: every host of the
/// batch runs the rescue and the always, and goes on; the others sit out
/// the next play, and the run fails.
#[test]
fn any_errors_fatal_sends_every_host_to_the_rescue() {
    Case::new("tests/compat/fatal_rescue.yml", FLEET)
        .rounds(&[&[]])
        .repeat(5)
        .assert_same();
}

/// A templated serial is rendered with the play's vars and the extra vars.
#[test]
fn a_templated_serial_is_rendered_when_the_play_starts() {
    Case::new("tests/compat/serial_template.yml", FLEET)
        .rounds(&[
            &[],
            &["-e", "goapp_serial=2"],
            &["-e", "goapp_serial=40%", "-e", "rest=3"],
        ])
        .assert_same();
}
