//! Any text as a name: an accepted name is a safe file name; a derived name is valid.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tpm_core::name::{Name, Selector};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(name) = Name::parse(text) {
        let s = name.as_str();
        assert!(!s.is_empty() && s.len() <= 100 && !s.starts_with('.'));
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        if let Ok(sel) = Selector::parse("*") {
            assert!(sel.matches(&name));
        }
    }
    Name::with_port(text, 8080, true).expect("a derived name is always valid");
    if let Ok(sel) = Selector::parse(text) {
        let _ = sel.matches(&Name::parse("web-8080").unwrap());
    }
});
