#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lightning_fuzz::targets::channel_message(data));
