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



// ------------------------------------------------------------------- tags




// ------------------------------------------------------- roles and modules



// ------------------------------------------------------------- check mode

