//! Just enough HCL (version 2, as Nomad reads job files) to write a job: blocks, attributes,
//! strings, numbers, lists and objects. Written by hand rather than with a crate: the
//! subset is small, and the one subtle part, quoting a string, is spelled out here.
//!
//! A quoted string in HCL is a template: `\` and `"` are escaped, control characters too,
//! and `${` and `%{` start an interpolation or a directive, so a literal one is written
//! `$${` and `%%{`.

use std::fmt::Write as _;

/// A value on the right of `=`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Value>),
    /// An expression written as it is (`string`, `var.name`): never user text.
    Expr(String),
    /// An object with quoted keys (`{ "a.b" = "x" }`): keys need not be identifiers.
    Object(Vec<(String, Value)>),
}

/// A body: attributes and blocks, in the order written, with comments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Attr(&'static str, Value),
    Block(&'static str, Vec<String>, Body),
    Comment(String),
}

impl Body {
    pub fn new() -> Body {
        Body::default()
    }

    pub fn attr(mut self, key: &'static str, value: Value) -> Body {
        self.items.push(Item::Attr(key, value));
        self
    }

    pub fn block(mut self, kind: &'static str, labels: &[&str], body: Body) -> Body {
        self.items.push(Item::Block(
            kind,
            labels.iter().map(|l| l.to_string()).collect(),
            body,
        ));
        self
    }

    pub fn comment(mut self, text: impl Into<String>) -> Body {
        self.items.push(Item::Comment(text.into()));
        self
    }

    /// The body as text, at the top level.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        let mut previous: Option<&Item> = None;
        for (i, item) in self.items.iter().enumerate() {
            // A blank line around blocks, except after the comment that introduces one.
            let blank = match (previous, item) {
                (None, _) | (Some(Item::Comment(_)), _) => false,
                (Some(Item::Block(..)), _) | (_, Item::Block(..) | Item::Comment(_)) => true,
                _ => false,
            };
            if blank {
                out.push('\n');
            }
            previous = Some(item);
            match item {
                Item::Comment(text) => {
                    for line in text.lines() {
                        let _ = writeln!(out, "{pad}# {line}");
                    }
                }
                Item::Attr(key, value) => {
                    // A run of attributes lines up its `=`, as `nomad fmt` does.
                    let width = self.items[i..]
                        .iter()
                        .map_while(|it| match it {
                            Item::Attr(k, _) => Some(k.len()),
                            _ => None,
                        })
                        .chain(self.items[..i].iter().rev().map_while(|it| match it {
                            Item::Attr(k, _) => Some(k.len()),
                            _ => None,
                        }))
                        .max()
                        .unwrap_or(0);
                    let _ = write!(out, "{pad}{key:width$} = ");
                    value.write(out, depth);
                    out.push('\n');
                }
                Item::Block(kind, labels, body) => {
                    out.push_str(&pad);
                    out.push_str(kind);
                    for label in labels {
                        out.push(' ');
                        out.push_str(&quote(label));
                    }
                    out.push_str(" {\n");
                    body.write(out, depth + 1);
                    let _ = writeln!(out, "{pad}}}");
                }
            }
        }
    }
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Value::Str(s) => out.push_str(&quote(s)),
            Value::Expr(e) => out.push_str(e),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, depth);
                }
                out.push(']');
            }
            Value::Object(entries) => {
                if entries.is_empty() {
                    out.push_str("{}");
                    return;
                }
                let pad = "  ".repeat(depth + 1);
                let width = entries
                    .iter()
                    .map(|(k, _)| quote(k).len())
                    .max()
                    .unwrap_or(0);
                out.push_str("{\n");
                for (k, v) in entries {
                    let _ = write!(out, "{pad}{:width$} = ", quote(k));
                    v.write(out, depth + 1);
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(depth));
                out.push('}');
            }
        }
    }
}

/// `s` as an HCL quoted string that reads back as exactly `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_as_hcl_templates() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(
            quote("${x} %{y} $z %w $${v}"),
            r#""$${x} %%{y} $z %w $$${v}""#
        );
        assert_eq!(quote("tab\there\u{1}"), r#""tab\there\u0001""#);
    }

    #[test]
    fn blocks_nest_and_attributes_line_up() {
        let text = Body::new()
            .block(
                "job",
                &["j"],
                Body::new()
                    .attr("type", Value::str("service"))
                    .attr("datacenters", Value::List(vec![Value::str("*")]))
                    .block(
                        "group",
                        &["g"],
                        Body::new()
                            .attr("env", Value::Object(vec![("a.b".into(), Value::str("1"))])),
                    ),
            )
            .render();
        assert_eq!(
            text,
            "job \"j\" {\n  type        = \"service\"\n  datacenters = [\"*\"]\n\n  group \"g\" {\n    env = {\n      \"a.b\" = \"1\"\n    }\n  }\n}\n"
        );
    }
}
