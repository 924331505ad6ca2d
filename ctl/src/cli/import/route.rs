//! The routing half: `route` (the tree, key for key), `inhibit_rules` and
//! `time_intervals` / `mute_time_intervals`. Vigil reads Alertmanager's
//! keys, so most of this is carrying values over; the deprecated `match`
//! and `match_re` maps become `matchers` entries.

use super::emit::{Table, Toml};
use super::error::ImportError;
use super::report::Report;
use super::yaml::{Fields, Node, Value};

/// What every route needs to check the names it uses.
pub struct Names<'a> {
    /// Receivers defined.
    pub receivers: &'a [String],
    /// Time intervals defined.
    pub intervals: &'a [String],
}

/// Routes may nest this deep in Vigil.
const MAX_DEPTH: usize = 32;

/// `route`, as `[notify.route]` and its nested `[[...routes]]` tables.
pub fn route(
    node: &Node,
    names: &Names<'_>,
    report: &mut Report,
) -> Result<Vec<Table>, ImportError> {
    let mut tables = Vec::new();
    convert(
        node,
        "route",
        "notify.route",
        true,
        0,
        names,
        report,
        &mut tables,
    )?;
    Ok(tables)
}

#[allow(clippy::too_many_arguments)]
fn convert(
    node: &Node,
    path: &str,
    header: &str,
    root: bool,
    depth: usize,
    names: &Names<'_>,
    report: &mut Report,
    out: &mut Vec<Table>,
) -> Result<(), ImportError> {
    let mut f = Fields::new(node, path)?;
    if depth >= MAX_DEPTH {
        return Err(invalid(&f, "routes", "routes nest deeper than 32 levels"));
    }
    let mut table = if root {
        Table::single(header)
    } else {
        Table::array(header)
    };
    let receiver = f.str("receiver")?.filter(|r| !r.is_empty());
    match &receiver {
        Some(r) if !names.receivers.contains(r) => {
            return Err(invalid(
                &f,
                "receiver",
                &format!("no receiver is named {r:?}"),
            ));
        }
        None if root => {
            return Err(invalid(&f, "receiver", "the root route needs a receiver"));
        }
        _ => {}
    }
    table.opt_str("receiver", receiver);
    if let Some(group_by) = f.strings("group_by")? {
        table.strings("group_by", &group_by);
    }
    let mut matchers = f.strings("matchers")?.unwrap_or_default();
    matchers.extend(maps(&mut f, "match", "match_re")?);
    if root && !matchers.is_empty() {
        return Err(invalid(
            &f,
            "matchers",
            "the root route must not have matchers",
        ));
    }
    table.strings("matchers", &matchers);
    if f.bool("continue")? == Some(true) {
        if root {
            return Err(invalid(&f, "continue", "the root route cannot continue"));
        }
        table.set("continue", Toml::Bool(true));
    }
    for key in ["group_wait", "group_interval", "repeat_interval"] {
        table.opt_str(key, f.str(key)?);
    }
    for key in ["mute_time_intervals", "active_time_intervals"] {
        let list = f.strings(key)?.unwrap_or_default();
        if let Some(unknown) = list.iter().find(|n| !names.intervals.contains(n)) {
            return Err(invalid(
                &f,
                key,
                &format!("no time interval is named {unknown:?}"),
            ));
        }
        if root && !list.is_empty() {
            return Err(invalid(
                &f,
                key,
                "the root route cannot have time intervals",
            ));
        }
        table.strings(key, &list);
    }
    let children = f.list("routes")?;
    report.unread(&f, "not an Alertmanager route setting; ignored");
    out.push(table);
    let child_header = format!("{header}.routes");
    for (child_path, child) in children {
        convert(
            child,
            &child_path,
            &child_header,
            false,
            depth + 1,
            names,
            report,
            out,
        )?;
    }
    Ok(())
}

fn invalid(f: &Fields<'_>, key: &str, why: &str) -> ImportError {
    ImportError::Invalid {
        line: f.line_of(key),
        path: f.at(key),
        why: why.to_string(),
    }
}

/// `match` / `match_re` (or `source_match` / `source_match_re`) as
/// matcher strings.
fn maps(f: &mut Fields<'_>, eq: &str, re: &str) -> Result<Vec<String>, ImportError> {
    let mut out = Vec::new();
    for (name, value) in f.string_map(eq)? {
        out.push(matcher(&name, "=", &value));
    }
    for (name, value) in f.string_map(re)? {
        out.push(matcher(&name, "=~", &value));
    }
    Ok(out)
}

/// One matcher in Alertmanager's syntax, as Vigil parses it: the name
/// bare when it is an ordinary label name, the value always quoted.
pub fn matcher(name: &str, op: &str, value: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let name = if bare { name.to_string() } else { quote(name) };
    format!("{name}{op}{}", quote(value))
}

/// A double-quoted matcher string with the escapes Vigil's matcher
/// parser knows.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `inhibit_rules`, as `[[notify.inhibit_rules]]`. A rule with an empty
/// side is dropped (Vigil refuses one: it would mute every alert).
pub fn inhibit_rules(
    rules: &[(String, &Node)],
    report: &mut Report,
) -> Result<Vec<Table>, ImportError> {
    let mut out = Vec::new();
    for (path, node) in rules {
        let mut f = Fields::new(node, path.as_str())?;
        let mut source = f.strings("source_matchers")?.unwrap_or_default();
        source.extend(maps(&mut f, "source_match", "source_match_re")?);
        let mut target = f.strings("target_matchers")?.unwrap_or_default();
        target.extend(maps(&mut f, "target_match", "target_match_re")?);
        let equal = f.strings("equal")?.unwrap_or_default();
        report.unread(&f, "not an Alertmanager inhibit rule setting; ignored");
        let empty = match (source.is_empty(), target.is_empty()) {
            (true, _) => Some("source"),
            (false, true) => Some("target"),
            (false, false) => None,
        };
        if let Some(side) = empty {
            report.note(
                path.as_str(),
                node.line,
                format!(
                    "the rule has no {side} matchers, so in Alertmanager it matches every alert; Vigil refuses such a rule: not carried (add a {side} matcher)"
                ),
            );
            continue;
        }
        let mut table = Table::array("notify.inhibit_rules");
        table.strings("source_matchers", &source);
        table.strings("target_matchers", &target);
        table.strings("equal", &equal);
        out.push(table);
    }
    Ok(out)
}

/// `time_intervals` and the deprecated `mute_time_intervals`, as
/// `[[notify.time_intervals]]`; returns the tables and the names.
pub fn time_intervals(
    lists: &[(String, &Node)],
    report: &mut Report,
) -> Result<(Vec<Table>, Vec<String>), ImportError> {
    let mut tables = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (path, node) in lists {
        let mut f = Fields::new(node, path.as_str())?;
        let name =
            f.str("name")?
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ImportError::Invalid {
                    line: node.line,
                    path: f.at("name"),
                    why: "a time interval needs a name".into(),
                })?;
        if names.contains(&name) {
            return Err(invalid(
                &f,
                "name",
                &format!("time interval {name:?} is defined twice"),
            ));
        }
        let mut periods = Vec::new();
        for (period_path, period) in f.list("time_intervals")? {
            periods.push(Toml::Inline(period_entries(period, &period_path, report)?));
        }
        report.unread(&f, "not an Alertmanager time interval setting; ignored");
        let mut table = Table::array("notify.time_intervals");
        table.str("name", name.clone());
        table.set("time_intervals", Toml::List(periods));
        tables.push(table);
        names.push(name);
    }
    Ok((tables, names))
}

fn period_entries(
    node: &Node,
    path: &str,
    report: &mut Report,
) -> Result<Vec<(String, Toml)>, ImportError> {
    let mut f = Fields::new(node, path)?;
    let mut out = Vec::new();
    let times = f.list("times")?;
    if !times.is_empty() {
        let mut ranges = Vec::new();
        for (time_path, time) in times {
            let mut t = Fields::new(time, time_path)?;
            let start = t.str("start_time")?.unwrap_or_default();
            let end = t.str("end_time")?.unwrap_or_default();
            report.unread(&t, "not an Alertmanager time range setting; ignored");
            ranges.push(Toml::Inline(vec![
                ("start_time".into(), Toml::Str(start)),
                ("end_time".into(), Toml::Str(end)),
            ]));
        }
        out.push(("times".into(), Toml::List(ranges)));
    }
    for key in ["weekdays", "days_of_month", "months", "years"] {
        let Some(node) = f.node(key) else { continue };
        let items = match &node.value {
            Value::Seq(items) => items.iter().collect::<Vec<_>>(),
            _ => vec![node],
        };
        let mut list = Vec::new();
        for item in items {
            list.push(match &item.value {
                Value::Int(i) => Toml::Int(*i),
                Value::Str(s) => Toml::Str(s.clone()),
                other => {
                    return Err(ImportError::Type {
                        line: item.line,
                        path: f.at(key),
                        expected: "a list of strings",
                        found: other.kind(),
                    });
                }
            });
        }
        if !list.is_empty() {
            out.push((key.into(), Toml::List(list)));
        }
    }
    if let Some(location) = f.str("location")? {
        let location = if location.eq_ignore_ascii_case("local") {
            let zone = host_zone();
            report.note(
                f.at("location"),
                f.line_of("location"),
                format!(
                    "\"Local\" is the Alertmanager host's zone; Vigil needs it named: written as {zone:?} (this host's zone), check it is the one meant"
                ),
            );
            zone
        } else {
            location
        };
        out.push(("location".into(), Toml::Str(location)));
    }
    report.unread(&f, "not an Alertmanager time interval setting; ignored");
    Ok(out)
}

/// This host's zone name, from `TZ` or the `/etc/localtime` link; UTC
/// when neither names one.
fn host_zone() -> String {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if !tz.is_empty() && !tz.starts_with('/') {
            return tz.to_string();
        }
    }
    std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|target| {
            let text = target.to_string_lossy().into_owned();
            text.split_once("zoneinfo/")
                .map(|(_, zone)| zone.to_string())
        })
        .filter(|zone| !zone.is_empty())
        .unwrap_or_else(|| "UTC".to_string())
}
