#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lightning_fuzz::targets::failure_message(data));
