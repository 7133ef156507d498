//! Any bytes as a script, and as command arguments: PORT detection never panics, and a
//! port it finds is a valid one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tpm_core::port;

fuzz_target!(|data: &[u8]| {
    if let Some(p) = port::scan(data) {
        assert!(p > 0);
    }
    let text = String::from_utf8_lossy(data);
    let args: Vec<String> = text.split(' ').map(str::to_string).collect();
    let inputs = port::PortInputs { flag: None, args: &args, env: None, script: None, target: "fuzz" };
    if let Ok(found) = port::detect(&inputs) {
        assert!(found.port > 0);
    }
});
