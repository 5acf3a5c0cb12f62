//! What a host printed, read by a module chosen by the first byte: see `tend::fuzz_entry::probe_output`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tend::fuzz_entry::probe_output(data));
