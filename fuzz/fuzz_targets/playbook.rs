//! A playbook file's bytes: see `tend::fuzz_entry::playbook`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tend::fuzz_entry::playbook(data));
