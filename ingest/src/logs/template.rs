//! `{capture}` placeholders in a rule's summary and labels, checked
//! against the pattern's named groups when the rule is compiled.

use std::collections::BTreeMap;

/// A text with `{name}` placeholders; `{{` and `}}` are literal braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Capture(String),
}

impl Template {
    /// Parses `text`; `known` says which capture names exist. The error
    /// says what is wrong, in words.
    pub fn parse(text: &str, known: &dyn Fn(&str) -> bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    if name.is_empty() || !known(&name) {
                        return Err(format!(
                            "`{{{name}}}` names no capture of the pattern (write `(?P<{name}>...)` in it, or `{{{{` for a brace)"
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Capture(name));
                }
                '}' => return Err("a lone `}`: write `}}` for a brace".into()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template(parts))
    }

    /// The text with each placeholder replaced by its capture (empty when
    /// the group did not take part in the match).
    pub fn render(&self, captures: &BTreeMap<String, String>) -> String {
        let value = |name: &str| captures.get(name).map_or("", String::as_str);
        // Sized first: one allocation, not one per doubling.
        let len = self
            .0
            .iter()
            .map(|part| match part {
                Part::Text(t) => t.len(),
                Part::Capture(name) => value(name).len(),
            })
            .sum();
        let mut out = String::with_capacity(len);
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Capture(name) => out.push_str(value(name)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_render_and_must_name_captures() {
        let known = |n: &str| n == "user" || n == "src_ip";
        let t = Template::parse("{user} from {src_ip} {{x}}", &known).unwrap();
        let captures = BTreeMap::from([
            ("user".to_string(), "root".to_string()),
            ("src_ip".to_string(), "203.0.113.5".to_string()),
        ]);
        assert_eq!(t.render(&captures), "root from 203.0.113.5 {x}");
        assert_eq!(t.render(&BTreeMap::new()), " from  {x}");
        assert!(
            Template::parse("{host}", &known)
                .unwrap_err()
                .contains("`{host}`")
        );
        assert!(
            Template::parse("a } b", &known)
                .unwrap_err()
                .contains("lone")
        );
    }
}
