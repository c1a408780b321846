#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scanwatch::fuzzing::baseline(data));
