//! Differential tests: the same playbooks under ansible-playbook (the
//! oracle, tests/oracle/mod.rs) and under tend, on the local connection,
//! comparing exit codes, per-host stats and the files they leave, first
//! run and second run.
//!
//! ansible-core comes from PyPI into tests/compat/.venv; `tests/run`
//! installs it, and the oracle installs it itself when it is missing, so
//! these tests never silently skip. More playbooks are compared in
//! tests/differential_keywords.rs and tests/differential_playbooks.rs.

mod common;
mod oracle;

use oracle::Case;

const INVENTORY: &str = "tests/compat/inventory.ini";

#[test]
fn compat_playbook_matches_ansible() {
    Case::new("tests/compat/site.yml", INVENTORY).assert_same();
}

/// Backslashes in Jinja string literals stay backslashes:
/// `regex_replace('^(\w+)/(\w+)$', '\2/\1')` swaps the groups.
#[test]
fn backslashes_in_jinja_strings_stay_backslashes() {
    Case::new("tests/compat/escapes.yml", INVENTORY).assert_same();
}

/// A template or copy content ending with a value that ends with a newline
/// ends with that one newline.
#[test]
fn a_value_ending_in_a_newline_gets_no_extra_newline() {
    Case::new("tests/compat/trailing_newline.yml", INVENTORY).assert_same();
}

/// `#jinja2: trim_blocks: False, lstrip_blocks: True` as a template's first
/// line sets its options and is not output.
#[test]
fn a_jinja2_header_line_sets_template_options() {
    Case::new("tests/compat/jinja2_header.yml", INVENTORY).assert_same();
}

/// Templates see `ansible_managed` and template_path, template_host...
#[test]
fn templates_see_ansible_managed_and_the_template_variables() {
    Case::new("tests/compat/template_vars.yml", INVENTORY).assert_same();
}

/// Filters, functions and variables Ansible has: dict() from pairs, `%`
/// formatting, replace's count, product, center, truncate, wordcount,
/// filesizeformat, comment, human_readable, human_to_bytes, urlsplit,
/// normpath, random, to_datetime, now(), ansible_version, ansible_facts;
/// recursive combine's key order, to_yaml of a scalar, urlencode of a dict.
#[test]
fn filters_and_variables_ansible_has() {
    Case::new("tests/compat/filters_gaps.yml", INVENTORY).assert_same();
}

/// copy of a directory from files/: `src: tree` copies the directory,
/// `src: tree/` its contents; new and existing directories get
/// `directory_mode`, `force: false` keeps a file, check mode writes
/// nothing, and a drifted file is put back.
#[test]
fn copy_copies_directories() {
    Case::new("tests/compat/copy_directory.yml", INVENTORY).assert_same();
}
