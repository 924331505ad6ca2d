//! The YAML side: `saphyr` parses the file (aliases resolved, duplicate
//! keys refused, alias expansion bounded) into [`Node`]s that keep their
//! line, merge keys (`<<`, which Alertmanager's Go YAML honours) are
//! applied, and [`Fields`] reads a mapping key by key so that every key
//! nobody asked for can be reported.

use super::error::ImportError;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use std::collections::BTreeSet;

/// One YAML node and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where it starts.
    pub line: usize,
    /// What it holds.
    pub value: Value,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float, kept as written by Rust's formatting.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping: keys in file order, each with its line.
    Map(Vec<(String, usize, Node)>),
}

impl Value {
    /// What kind of node this is, for messages (never its content).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses one YAML document (an empty file is refused).
pub fn parse(text: &str) -> Result<Node, ImportError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| ImportError::Syntax {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    let mut docs = docs.into_iter();
    let first = docs.next().ok_or(ImportError::Empty)?;
    if let Some(second) = docs.next() {
        return Err(ImportError::SeveralDocuments {
            line: second.span.start.line(),
        });
    }
    convert(&first, 0)
}

/// Deepest nesting accepted; real configurations are a dozen levels.
const MAX_DEPTH: usize = 64;

fn convert(node: &MarkedYaml<'_>, depth: usize) -> Result<Node, ImportError> {
    let line = node.span.start.line();
    if depth > MAX_DEPTH {
        return Err(ImportError::TooDeep { line });
    }
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, style, tag) => {
            match Scalar::parse_from_cow_and_metadata(text.clone(), *style, tag.as_ref()) {
                Some(scalar) => scalar_value(&scalar),
                None => return Err(ImportError::BadScalar { line }),
            }
        }
        YamlData::Sequence(items) => Value::Seq(
            items
                .iter()
                .map(|item| convert(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut entries: Vec<(String, usize, Node)> = Vec::new();
            let mut merged: Vec<Node> = Vec::new();
            for (key, value) in map {
                let key_line = key.span.start.line();
                let name = match &convert(key, depth + 1)?.value {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(ImportError::BadKey { line: key_line }),
                };
                let value = convert(value, depth + 1)?;
                if name == "<<" {
                    merged.push(value);
                } else {
                    entries.push((name, key_line, value));
                }
            }
            merge(&mut entries, merged)?;
            Value::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(inner, depth),
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(ImportError::BadScalar { line });
        }
    };
    Ok(Node { line, value })
}

fn scalar_value(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

/// YAML 1.1 merge keys, as Go's YAML applies them: the mapping's own keys
/// win, then the merged mappings in order (the first to give a key wins).
fn merge(entries: &mut Vec<(String, usize, Node)>, merged: Vec<Node>) -> Result<(), ImportError> {
    let mut sources = Vec::new();
    for node in merged {
        match node.value {
            Value::Map(map) => sources.push(map),
            Value::Seq(items) => {
                for item in items {
                    match item.value {
                        Value::Map(map) => sources.push(map),
                        _ => return Err(ImportError::BadMerge { line: item.line }),
                    }
                }
            }
            _ => return Err(ImportError::BadMerge { line: node.line }),
        }
    }
    for source in sources {
        for (name, line, value) in source {
            if !entries.iter().any(|(n, _, _)| *n == name) {
                entries.push((name, line, value));
            }
        }
    }
    Ok(())
}

/// Reads one mapping at `path` (`route.routes[1]`), remembering which keys
/// were read so the others can be reported.
#[derive(Debug)]
pub struct Fields<'a> {
    path: String,
    line: usize,
    entries: &'a [(String, usize, Node)],
    read: BTreeSet<&'a str>,
}

impl<'a> Fields<'a> {
    /// The mapping `node`, which must be one (or null: no keys).
    pub fn new(node: &'a Node, path: impl Into<String>) -> Result<Fields<'a>, ImportError> {
        let path = path.into();
        match &node.value {
            Value::Map(entries) => Ok(Fields {
                path,
                line: node.line,
                entries,
                read: BTreeSet::new(),
            }),
            Value::Null => Ok(Fields {
                path,
                line: node.line,
                entries: &[],
                read: BTreeSet::new(),
            }),
            other => Err(ImportError::Type {
                line: node.line,
                path,
                expected: "a mapping",
                found: other.kind(),
            }),
        }
    }

    /// `path.key`.
    pub fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The line of `key`, or of the mapping when it is absent.
    pub fn line_of(&self, key: &str) -> usize {
        self.entries
            .iter()
            .find(|(n, _, _)| n == key)
            .map_or(self.line, |(_, line, _)| *line)
    }

    /// Whether `key` is written (with any value but null).
    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _, v)| n == key && v.value != Value::Null)
    }

    /// The node under `key`, marking it read; null counts as absent.
    pub fn node(&mut self, key: &str) -> Option<&'a Node> {
        let (name, _, node) = self.entries.iter().find(|(n, _, _)| n == key)?;
        self.read.insert(name.as_str());
        (node.value != Value::Null).then_some(node)
    }

    fn type_error(&self, key: &str, node: &Node, expected: &'static str) -> ImportError {
        ImportError::Type {
            line: node.line,
            path: self.at(key),
            expected,
            found: node.value.kind(),
        }
    }

    /// A scalar as text (numbers and booleans as written by Go's YAML).
    pub fn str(&mut self, key: &str) -> Result<Option<String>, ImportError> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        scalar_text(node)
            .map(Some)
            .ok_or_else(|| self.type_error(key, node, "a string"))
    }

    /// A boolean.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ImportError> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        match &node.value {
            Value::Bool(b) => Ok(Some(*b)),
            // YAML 1.1's other spellings, which Go's YAML still reads.
            Value::Str(s) => match s.as_str() {
                "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(Some(true)),
                "no" | "No" | "NO" | "off" | "Off" | "OFF" => Ok(Some(false)),
                _ => Err(self.type_error(key, node, "true or false")),
            },
            _ => Err(self.type_error(key, node, "true or false")),
        }
    }

    /// A non-negative integer.
    pub fn uint(&mut self, key: &str) -> Result<Option<u64>, ImportError> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        match &node.value {
            Value::Int(i) if *i >= 0 => Ok(u64::try_from(*i).ok()),
            _ => Err(self.type_error(key, node, "a non-negative integer")),
        }
    }

    /// A list of scalars (a lone scalar counts as a list of one, as several
    /// Alertmanager fields allow).
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, ImportError> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .map(|item| scalar_text(item).ok_or_else(|| self.type_error(key, item, "a string")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            _ => scalar_text(node)
                .map(|s| Some(vec![s]))
                .ok_or_else(|| self.type_error(key, node, "a list of strings")),
        }
    }

    /// A list of nodes, each with its path (`key[i]`).
    pub fn list(&mut self, key: &str) -> Result<Vec<(String, &'a Node)>, ImportError> {
        let Some(node) = self.node(key) else {
            return Ok(Vec::new());
        };
        match &node.value {
            Value::Seq(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{}[{i}]", self.at(key)), item))
                .collect()),
            _ => Err(self.type_error(key, node, "a list")),
        }
    }

    /// A nested mapping.
    pub fn fields(&mut self, key: &str) -> Result<Option<Fields<'a>>, ImportError> {
        let path = self.at(key);
        match self.node(key) {
            None => Ok(None),
            Some(node) => Fields::new(node, path).map(Some),
        }
    }

    /// A mapping of scalars (`match`, `headers`), in file order.
    pub fn string_map(&mut self, key: &str) -> Result<Vec<(String, String)>, ImportError> {
        let Some(mut map) = self.fields(key)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, _, node) in map.entries {
            let value = scalar_text(node).ok_or_else(|| map.type_error(name, node, "a string"))?;
            out.push((name.clone(), value));
        }
        map.read
            .extend(map.entries.iter().map(|(n, _, _)| n.as_str()));
        Ok(out)
    }

    /// Keys written but never read: `(path, line)`.
    pub fn unread(&self) -> Vec<(String, usize)> {
        self.entries
            .iter()
            .filter(|(n, _, _)| !self.read.contains(n.as_str()))
            .map(|(n, line, _)| (self.at(&printable(n)), *line))
            .collect()
    }
}

/// A scalar's text, as Go's YAML would give it to a string field.
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
}

/// A key as it may be shown: at most 64 characters, no control characters.
fn printable(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(64)
        .collect();
    if key.chars().count() > 64 {
        out.push('…');
    }
    out
}
