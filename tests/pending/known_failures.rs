//! What tend gets wrong today: each test shows one difference from
//! ansible-playbook (the oracle, see tests/oracle/mod.rs) or one broken
//! promise of the README, with a comment saying what is expected and what
//! tend does instead. The playbooks are the smallest that show it; their
//! headers say the same.
//!
//! They are kept failing, not ignored, so that each passes as soon as its
//! bug is fixed: then move it to its topic's file (tests/differential.rs,
//! tests/cli.rs) and delete it here.

mod common;
mod oracle;

use common::{Run, Scratch, tend};
use oracle::Case;

const INVENTORY: &str = "tests/compat/inventory.ini";
const FLEET: &str = "tests/compat/fleet.ini";

fn output(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

// ------------------------------------------------------------- templating

/// Ansible keeps backslashes in Jinja string literals, so
/// `regex_replace('^(\w+)/(\w+)$', '\2/\1')` swaps the groups: "to/path"
/// and "01-db". tend turns '\2' and '\1' into the bytes 0x02 and 0x01 and
/// writes "\x02/\x01" and "\x02-\x01". (The same rule makes '\n' and '\t'
/// in a Jinja literal two characters in Ansible.)
#[test]
fn backslashes_in_jinja_strings_stay_backslashes() {
    Case::new("tests/compat/escapes.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// A template (or copy content) ending with an expression whose value ends
/// with a newline ends with that single newline in Ansible. tend adds the
/// template's own last newline again: nginx.conf and settings.yml end with
/// an empty line ("keepalive 30;\n\n", "port: 80\n\n").
#[test]
fn a_value_ending_in_a_newline_gets_no_extra_newline() {
    Case::new("tests/compat/trailing_newline.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// `#jinja2: trim_blocks: False, lstrip_blocks: True` as a template's first
/// line sets its options and is not output. tend writes the line into the
/// file and renders with its default options:
/// expected "[main]\n\nenabled = yes\n\nend\n",
/// got "#jinja2: trim_blocks: False, lstrip_blocks: True\n[main]\n  enabled = yes\n  end\n".
#[test]
fn a_jinja2_header_line_sets_template_options() {
    Case::new("tests/compat/jinja2_header.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// Templates see `ansible_managed` ("Ansible managed" by default) and
/// template_path, template_host... tend: "could not render template
/// 'managed.j2': 'ansible_managed' is undefined (line 1)".
#[test]
fn templates_see_ansible_managed_and_the_template_variables() {
    Case::new("tests/compat/template_vars.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// Filters, functions and variables Ansible has. tend lacks: dict() from
/// pairs ("invalid operation"), `'%s' % x`, replace's count, product,
/// center, truncate, wordcount, filesizeformat, comment, human_readable,
/// human_to_bytes, urlsplit, normpath, random, to_datetime, now(),
/// ansible_version, ansible_facts (an empty dict without gather_facts). It
/// renders differently: `combine(recursive=True)` moves overridden nested
/// keys last ({"protocols": .., "enabled": ..} instead of {"enabled": ..,
/// "protocols": ..}), `to_yaml` of a scalar ends with "...\n", and
/// urlencode of a dict writes spaces as %20 instead of +.
#[test]
fn filters_and_variables_ansible_has() {
    Case::new("tests/compat/filters_gaps.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

// ---------------------------------------------------- failure thresholds

/// When a failure stops the run (any_errors_fatal, a breached
/// max_fail_percentage, including serial with max_fail_percentage 0),
/// ansible-playbook lets every host of the batch finish that task, and a
/// host for which the task's `when` is false is counted skipped=1. In tend
/// that skip is sometimes lost: such a host ends with skipped=0 (about one
/// run in two for any_errors_fatal.yml, one in three for
/// max_fail_percentage.yml, one in six for serial_threshold.yml). The rest
/// (no later task, no later play) matches; each test runs tend thirty
/// times against one ansible-playbook run.
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

// -------------------------------------------------------------- handlers

/// force_handlers: true: beta fails after notifying "restart", and its
/// handler still runs (beta/restarted exists). tend accepts the keyword
/// and ignores it.
#[test]
fn force_handlers_runs_the_handlers_of_a_failed_host() {
    Case::new("tests/compat/force_handlers.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// A role applied twice with different parameters notifies its handler
/// from both. Handler names are global in Ansible: it runs once, with the
/// last instance's variables (restarts.log: "restart admin"). tend runs
/// it once per instance ("restart shop", "restart admin"; changed=10 vs 9).
#[test]
fn a_role_applied_twice_runs_its_handler_once() {
    Case::new("tests/compat/role_twice.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

// ------------------------------------------------------------------- tags

/// A role's tags apply to its dependencies: with --tags app the `base`
/// dependency of app_server runs (motd written). tend skips it; with
/// --tags untagged it runs it instead.
#[test]
fn role_dependencies_inherit_the_roles_tags() {
    Case::new("tests/compat/roles_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "app"], &["--tags", "untagged"]])
        .assert_same();
}

/// Tags on include_tasks select the include; without `apply` the included
/// tasks do not inherit them. With --tags outer ansible-playbook includes
/// the file and runs none of its tasks (ok=2); tend runs both included
/// tasks (ok=4, include-tagged and include-untagged written).
#[test]
fn include_tasks_tags_are_not_inherited_without_apply() {
    Case::new("tests/compat/include_tags.yml", INVENTORY)
        .rounds(&[&["--tags", "outer"], &["--tags", "inner"]])
        .assert_same();
}

/// `when` and `tags` on import_playbook apply to every task of the
/// imported plays. tend ignores both: beta writes "imported" although the
/// condition is for alpha only, and with --tags imported nothing runs at
/// all (no recap line).
#[test]
fn import_playbook_passes_its_when_and_tags_to_the_imported_tasks() {
    Case::new("tests/compat/import_playbook.yml", INVENTORY)
        .rounds(&[&[], &["--tags", "imported"]])
        .assert_same();
}

// ------------------------------------------------------- roles and modules

/// include_role / import_role. tend refuses the playbook: "unknown module
/// or task keyword 'include_role'", exit 1.
#[test]
fn include_role_and_import_role_run_a_role_as_a_task() {
    Case::new("tests/compat/include_role.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// include_vars (with a file, and with `name`). tend refuses the playbook:
/// "unknown module or task keyword 'include_vars'", exit 1.
#[test]
fn include_vars_loads_variables_at_run_time() {
    Case::new("tests/compat/include_vars.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

/// copy of a directory from files/ (`src: tree` copies the directory,
/// `src: tree/` its contents). tend: "copying a directory (src 'tree') is
/// not supported by tend yet".
#[test]
fn copy_copies_directories() {
    Case::new("tests/compat/copy_directory.yml", INVENTORY)
        .rounds(&[&[]])
        .assert_same();
}

// ------------------------------------------------------------- check mode

/// README: "Under --check, a task that fails because an earlier task's
/// change did not happen is reported as 'would change; depends on …', not
/// as a failure." A `check_mode: false` command reading the file the
/// previous task would write fails instead: `cat: .../release: No such
/// file or directory`, failed=1, exit 2 (expected: changed, exit 0).
#[test]
fn check_mode_reports_a_command_that_depends_on_a_skipped_change() {
    let dir = Scratch::new("known-check-depends");
    let out = tend([
        "run",
        "tests/compat/check_depends.yml",
        "-i",
        INVENTORY,
        "-e",
        &format!("base={}", dir.str()),
        "--check",
    ]);
    assert!(
        out.stdout
            .contains("would change; depends on 'the release file'"),
        "{}",
        output(&out)
    );
    assert_eq!(out.failed("alpha"), 0, "{}", output(&out));
    assert_eq!(out.code, 0, "{}", output(&out));
    assert!(!dir.path().join("release").exists());
}
