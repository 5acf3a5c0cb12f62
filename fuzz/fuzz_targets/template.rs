//! A template, then optionally a NUL and YAML variables: see `tend::fuzz_entry::template`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tend::fuzz_entry::template(data));
