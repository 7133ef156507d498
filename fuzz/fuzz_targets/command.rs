//! Any text as a command string: splitting never panics, and the words join back into a
//! string that splits into the same words.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(words) = shell_words::split(text) {
        let joined = shell_words::join(&words);
        assert_eq!(shell_words::split(&joined).expect("a joined command splits"), words);
    }
});
