//! An INI inventory file's bytes: see `tend::fuzz_entry::inventory_ini`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tend::fuzz_entry::inventory_ini(data));
