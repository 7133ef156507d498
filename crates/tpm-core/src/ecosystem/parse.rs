//! JSON, YAML and TOML text to one JSON value, so everything after parsing sees a single
//! data model. Every parser bounds its nesting, so a hostile file ends in an error, not a
//! stack overflow.
//!
//! A syntax error keeps the line it was found on (the caller names the file); the column
//! goes into the message.

use serde_json::{Map, Number, Value};

/// Why a text could not be parsed, and where when known.
#[derive(Debug)]
pub(super) struct Failure {
    pub line: Option<usize>,
    pub message: String,
}

impl Failure {
    fn nowhere(message: impl Into<String>) -> Failure {
        Failure {
            line: None,
            message: message.into(),
        }
    }
}

pub(super) fn json(text: &str) -> Result<Value, Failure> {
    let e = match serde_json::from_str(text) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    // pm2 evaluated `.json` files as JavaScript, so files written for it may carry
    // comments, unquoted keys or trailing commas: JSON5 reads those as pm2 did.
    let loose = json5(text);
    let e = match loose {
        Ok(value) => return Ok(value),
        Err(loose) => (e, loose),
    };
    let (e, loose) = e;
    let (line, column) = (e.line(), e.column());
    let at_slash = line
        .checked_sub(1)
        .and_then(|l| text.lines().nth(l))
        .and_then(|l| l.as_bytes().get(column.saturating_sub(1)))
        == Some(&b'/');
    let message = located(&e.to_string(), line, column);
    // JSON stopped at what JSON5 takes (a comment, a trailing comma): JSON5's error is
    // the one that says what is wrong.
    if at_slash || message.contains("trailing comma") {
        return Err(Failure {
            message: format!(
                "{} (read as JSON5, as pm2 read .json files as JavaScript)",
                loose.message
            ),
            ..loose
        });
    }
    Err(Failure {
        line: (line > 0).then_some(line),
        message,
    })
}

/// The deepest `[...]`/`{...}` nesting a JSON5 file may have, serde_json's own limit.
const MAX_JSON5_DEPTH: usize = 128;

pub(super) fn json5(text: &str) -> Result<Value, Failure> {
    json5_depth_within(text, MAX_JSON5_DEPTH)?;
    json5::from_str(text).map_err(|e| match e.position() {
        Some(at) => Failure {
            line: Some(at.line + 1),
            message: located(&e.to_string(), at.line + 1, at.column + 1),
        },
        None => Failure::nowhere(e.to_string()),
    })
}

/// Refuses JSON5 nested deeper than `max` before it is parsed: the parser recurses once
/// per level, so a hostile file could otherwise overflow the stack. Strings ('...' and
/// "...", with `\` escapes) and comments (`//`, `/* */`) are skipped.
fn json5_depth_within(text: &str, max: usize) -> Result<(), Failure> {
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => line += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i + 1).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\n' {
                        line += 1;
                    }
                    if c == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\n' => line += 1,
                        b'\\' => {
                            if bytes.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 1;
                        }
                        c if c == b => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Failure {
                        line: Some(line),
                        message: format!("lists and objects nest deeper than {max} levels"),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The deepest `[...]`/`{...}` nesting a YAML file may have, the same as the YAML
/// deserializer's own limit.
const MAX_YAML_FLOW_DEPTH: usize = 128;

pub(super) fn yaml(text: &str) -> Result<Value, Failure> {
    flow_depth_within(text, MAX_YAML_FLOW_DEPTH)?;
    let mut value: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| match e.location() {
            Some(at) => Failure {
                line: Some(at.line()),
                message: located(&e.to_string(), at.line(), at.column()),
            },
            None => Failure::nowhere(e.to_string()),
        })?;
    // `<<: *defaults` is how YAML files share settings between apps.
    value
        .apply_merge()
        .map_err(|e| Failure::nowhere(format!("cannot apply a `<<` merge: {e}")))?;
    from_yaml(value)
}

pub(super) fn toml(text: &str) -> Result<Value, Failure> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let message = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                let line_start = before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let column = text
                    .get(line_start..span.start)
                    .map_or(1, |s| s.chars().count() + 1);
                Failure {
                    line: Some(super::line_at(before, before.len())),
                    message: format!("{message} at column {column}"),
                }
            }
            None => Failure::nowhere(message),
        }
    })?;
    from_toml(toml::Value::Table(table))
}

/// Refuses YAML whose flow collections nest deeper than `max`, before the parser sees it.
/// The YAML scanner does work in proportion to the flow depth for every token and reads
/// the whole document before the deserializer's depth limit applies, so a deeply nested
/// file took minutes (quadratic time) to be refused. Brackets inside quoted strings and
/// comments are skipped; any other bracket counts, which can only over-estimate.
fn flow_depth_within(text: &str, max: usize) -> Result<(), Failure> {
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut prev, mut i) = (0usize, 1usize, b'\n', 0usize);
    while let Some(&b) = bytes.get(i) {
        let token_start = prev.is_ascii_whitespace() || matches!(prev, b'[' | b'{' | b',' | b':');
        match b {
            b'\n' => line += 1,
            b'#' if prev.is_ascii_whitespace() => {
                while bytes.get(i + 1).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' | b'\'' if token_start => {
                // To the closing quote: `\x` escapes in "...", `''` in '...'.
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\n' => line += 1,
                        b'\\' if b == b'"' => {
                            if bytes.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 1;
                        }
                        b'\'' if b == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                        c if c == b => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Failure {
                        line: Some(line),
                        message: format!("lists and mappings nest deeper than {max} levels"),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = bytes.get(i).copied().unwrap_or(b);
        i += 1;
    }
    Ok(())
}

/// A parser's message with its "at line L column C" turned into "at column C": the line is
/// reported separately, next to the file name.
fn located(message: &str, line: usize, column: usize) -> String {
    let full = format!(" at line {line} column {column}");
    match message.find(&full) {
        Some(i) => format!(
            "{}{}{}",
            &message[..i],
            format_args!(" at column {column}"),
            &message[i + full.len()..]
        ),
        None => message.to_string(),
    }
}

fn from_yaml(value: yaml_serde::Value) -> Result<Value, Failure> {
    use yaml_serde::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                float(n.as_f64().unwrap_or(f64::NAN))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(from_yaml).collect::<Result<_, _>>()?)
        }
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(Failure::nowhere(format!(
                            "a key must be text, not {}",
                            yaml_kind(&other)
                        )))
                    }
                };
                map.insert(key, from_yaml(value)?);
            }
            Value::Object(map)
        }
        // A `!tag` has no meaning for an app: the value under it is what was written.
        Y::Tagged(tagged) => from_yaml(tagged.value)?,
    })
}

fn yaml_kind(value: &yaml_serde::Value) -> &'static str {
    use yaml_serde::Value as Y;
    match value {
        Y::Null => "null",
        Y::Bool(_) => "a boolean",
        Y::Number(_) => "a number",
        Y::String(_) => "a string",
        Y::Sequence(_) => "a list",
        Y::Mapping(_) => "a mapping",
        Y::Tagged(_) => "a tagged value",
    }
}

fn from_toml(value: toml::Value) -> Result<Value, Failure> {
    use toml::Value as T;
    Ok(match value {
        T::String(s) => Value::String(s),
        T::Integer(i) => Value::from(i),
        T::Float(f) => float(f)?,
        T::Boolean(b) => Value::Bool(b),
        // Datetimes keep the text they were written as (RFC 3339).
        T::Datetime(d) => Value::String(d.to_string()),
        T::Array(items) => {
            Value::Array(items.into_iter().map(from_toml).collect::<Result<_, _>>()?)
        }
        T::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, from_toml(v)?)))
                .collect::<Result<_, Failure>>()?,
        ),
    })
}

/// YAML and TOML allow `.nan` and `inf`; JSON, and so an app's settings, do not.
fn float(f: f64) -> Result<Value, Failure> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| Failure::nowhere(format!("{f} is not a usable number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_flow_depth_skips_brackets_in_quotes_and_comments() {
        let brackets = "[{".repeat(200);
        let text = format!(
            "# {brackets}\napps: [{{name: \"{brackets}\", args: ['{brackets}', 'it''s [']}}] # {brackets}\nx: \"a\\\"[[[\"\n"
        );
        flow_depth_within(&text, 3).unwrap();
        assert_eq!(yaml(&text).unwrap()["apps"][0]["name"], brackets.as_str());
    }

    #[test]
    fn yaml_flow_depth_names_the_line_where_it_is_passed() {
        let text = "apps:\n  - [\n    [[x]],\n    [[[y]]]\n  ]\n";
        flow_depth_within(text, 4).unwrap();
        let f = flow_depth_within(text, 3).unwrap_err();
        assert_eq!(f.line, Some(4));
        assert!(f.message.contains("deeper than 3"), "{}", f.message);
    }
}
