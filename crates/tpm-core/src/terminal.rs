//! What a terminal is shown of text tpm did not write: a process's output, its argv and
//! environment, names and paths from files, and errors quoting them.
//!
//! Such text may hold control sequences that a terminal obeys rather than shows: OSC 0 sets
//! the window title, OSC 52 writes the clipboard, `CSI 2J` clears the screen, CR moves back
//! over what was printed. Every front end that draws on a terminal (the CLI's printers,
//! `tpm monit`) passes that text through [`shown`] first; a pipe, a file, `--raw` and JSON
//! get the bytes as they were (JSON escapes control characters itself). The Nushell plugin
//! returns values, which Nushell renders: it leaves them as they are.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character written as an escape a reader can see, as `cat -v`
/// keeps tab and line feed and shows the rest: ESC as `\e`, BEL `\a`, BS `\b`, CR `\r`,
/// VT `\v`, FF `\f`, the other C0 characters and DEL as `\xNN`, and the C1 characters
/// (U+0080 to U+009F, which some terminals obey as 8-bit controls) as `\u{NN}`.
///
/// A backslash already in the text stays as it is: this is for reading, not a form to
/// read back (`--raw` gives the bytes).
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_escaped(c) {
            out.push(c);
            continue;
        }
        match c {
            '\x1b' => out.push_str("\\e"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\r' => out.push_str("\\r"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Whether [`shown`] escapes `c`: every control character but tab and line feed.
fn is_escaped(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// JSON text (as `serde_json` writes it) for a terminal: DEL and the C1 characters, which
/// JSON may leave raw inside strings, written as `\u00NN` escapes: the same JSON value.
pub fn shown_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_escaped(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_shown_not_obeyed() {
        assert_eq!(
            shown("\x1b]0;title\x07\x1b]52;c;aGk=\x07\x1b[2J"),
            "\\e]0;title\\a\\e]52;c;aGk=\\a\\e[2J"
        );
        assert_eq!(shown("a\rb\x08c\x00d\x7fe"), "a\\rb\\bc\\x00d\\x7fe");
        assert_eq!(shown("x\u{9b}31m"), "x\\u{9b}31m");
        // Tab and line feed are text; so is everything else, backslashes included.
        assert!(matches!(shown("a\tb\nc \\e é ─"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_the_same_value() {
        let text = serde_json::to_string("a\u{7f}b\u{9b}c\x1b").unwrap();
        let shown = shown_json(&text);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        let back: String = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, "a\u{7f}b\u{9b}c\x1b");
    }
}
