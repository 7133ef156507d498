//! Any text: parsing never panics, and whatever parses writes back to the same record.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tpm_core::record::Record;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(record) = Record::parse(text) {
        let again = Record::parse(&record.to_line("fuzz-1")).expect("a written record parses");
        assert_eq!(again, record);
    }
});
