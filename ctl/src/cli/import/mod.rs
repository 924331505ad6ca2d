//! `vigilctl import alertmanager FILE`: converts an Alertmanager
//! configuration (`alertmanager.yml`) into Vigil's TOML on stdout, and
//! says on stderr, one line per setting, what could not be carried and
//! why. Vigil's `[notify]` reads Alertmanager's keys, so the route tree,
//! inhibit rules and time intervals carry over nearly unchanged; receivers
//! get the `global` defaults pushed in, and every credential becomes a
//! `secret:NAME` (or `file:`) reference: no secret from the YAML is ever
//! written out, on stdout or stderr. Nothing here talks to the daemon.

mod emit;
mod error;
mod global;
mod http;
mod receivers;
mod report;
mod route;
mod template;
#[cfg(test)]
mod tests;
mod yaml;

use super::Failure;
use clap::Subcommand;
use emit::Table;
pub use error::ImportError;
use report::Note;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use yaml::{Fields, Value};

/// `vigilctl import …`.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Convert an alertmanager.yml into Vigil's configuration: TOML on
    /// stdout, one line per setting not carried on stderr; credentials
    /// become `secret:NAME` references, never copied.
    Alertmanager {
        /// The Alertmanager configuration, or `-` for stdin.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Largest file read (Alertmanager configurations are kilobytes).
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Runs the command: TOML on stdout, notes on stderr, exit 0; a file that
/// cannot be converted is an error naming its line.
pub fn run(command: &ImportCommand) -> Result<(), Failure> {
    let ImportCommand::Alertmanager { file } = command;
    let (text, shown, files) = read(file).map_err(|e| Failure::Error(e.to_string()))?;
    let conversion =
        convert(&text, &shown, &files).map_err(|e| Failure::Error(format!("{shown}: {e}")))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(conversion.toml.as_bytes())?;
    stdout.flush()?;
    let mut stderr = std::io::stderr().lock();
    for note in &conversion.notes {
        writeln!(stderr, "{note}")?;
    }
    Ok(())
}

fn read(file: &Path) -> Result<(String, String, http::Files), ImportError> {
    let stdin = file.as_os_str() == "-";
    let shown = if stdin {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    let fail = |source| ImportError::Read {
        path: shown.clone(),
        source,
    };
    let mut bytes = Vec::new();
    if stdin {
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_INPUT).read_to_end(&mut bytes))
            .map_err(fail)?;
    }
    let text = String::from_utf8(bytes).map_err(|_| ImportError::NotUtf8)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let base = if stdin {
        cwd
    } else {
        let parent = file.parent().unwrap_or(Path::new(""));
        let parent = if parent.is_absolute() {
            parent.to_path_buf()
        } else {
            cwd.join(parent)
        };
        std::fs::canonicalize(&parent).unwrap_or(parent)
    };
    Ok((text, shown, http::Files { base, stdin }))
}

/// A converted configuration.
#[derive(Debug)]
pub struct Conversion {
    /// Vigil's TOML.
    pub toml: String,
    /// What was not carried (or needs the operator), in file order.
    pub notes: Vec<Note>,
}

/// Converts the text of an Alertmanager configuration. `shown` names it
/// in the output's header; `files` resolves relative `*_file` paths.
pub fn convert(text: &str, shown: &str, files: &http::Files) -> Result<Conversion, ImportError> {
    let root = yaml::parse(text)?;
    let Value::Map(entries) = &root.value else {
        return Err(ImportError::NotAlertmanager {
            line: root.line,
            why: format!("the document is {}, not a mapping", root.value.kind()),
        });
    };
    let known = entries
        .iter()
        .any(|(k, _, _)| ["route", "receivers"].contains(&k.as_str()));
    if !known {
        let keys: Vec<&str> = entries.iter().map(|(k, _, _)| k.as_str()).take(6).collect();
        return Err(ImportError::NotAlertmanager {
            line: root.line,
            why: format!(
                "it has neither `route` nor `receivers` (its keys: {})",
                keys.join(", ")
            ),
        });
    }
    let mut report = report::Report::default();
    let mut f = Fields::new(&root, "")?;
    for key in ["route", "receivers"] {
        if !f.has(key) {
            return Err(ImportError::Invalid {
                line: root.line,
                path: key.to_string(),
                why: format!("`{key}` is required"),
            });
        }
    }
    let global = global::read(f.fields("global")?, files, &mut report)?;

    let mut interval_lists = f.list("time_intervals")?;
    interval_lists.extend(f.list("mute_time_intervals")?);
    let (interval_tables, interval_names) = route::time_intervals(&interval_lists, &mut report)?;

    let receiver_list = f.list("receivers")?;
    let mut receiver_names: Vec<String> = Vec::new();
    for (path, node) in &receiver_list {
        let name = receivers::name(path, node)?;
        if receiver_names.contains(&name) {
            return Err(ImportError::Invalid {
                line: node.line,
                path: path.clone(),
                why: format!("receiver {name:?} is defined twice"),
            });
        }
        receiver_names.push(name);
    }

    let names = route::Names {
        receivers: &receiver_names,
        intervals: &interval_names,
    };
    let route_node = f.node("route").ok_or_else(|| ImportError::Invalid {
        line: root.line,
        path: "route".into(),
        why: "`route` is required".into(),
    })?;
    let route_tables = route::route(route_node, &names, &mut report)?;
    let inhibit_tables = route::inhibit_rules(&f.list("inhibit_rules")?, &mut report)?;

    let mut conv = receivers::Conv {
        report: &mut report,
        global: &global,
        files,
        allow: Vec::new(),
        templates: Vec::new(),
        capped: Vec::new(),
        unsigned: Vec::new(),
        uncredentialed: Vec::new(),
    };
    let receiver_tables = receivers::receivers(&receiver_list, &mut conv)?;
    let receivers::Conv {
        allow, templates, ..
    } = conv;

    if let Some(node) = f.node("templates") {
        report.note(
            "templates",
            node.line,
            "Alertmanager's Go template files are not carried; Vigil's templates are minijinja ([notify.templates.NAME]): port the ones your receivers use by hand",
        );
    }
    if let Some(node) = f.node("tracing") {
        report.note(
            "tracing",
            node.line,
            "Vigil does not export traces; not carried",
        );
    }
    report.unread(&f, "not an Alertmanager setting; ignored");

    let mut tables = Vec::new();
    let mut source = Table::single("sources.prometheus");
    source.str("driver", "prometheus");
    if let Some(timeout) = &global.resolve_timeout {
        source.str("resolve_timeout", timeout);
    }
    tables.push(source);
    if !allow.is_empty() {
        let mut notify = Table::single("notify");
        notify.strings("allow", &allow);
        tables.push(notify);
    }
    tables.extend(route_tables);
    tables.extend(inhibit_tables);
    tables.extend(interval_tables);
    tables.extend(receiver_tables);
    tables.extend(templates);

    let shown: String = shown
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let preamble = vec![
        format!("Vigil configuration converted from {shown} by `vigilctl import alertmanager`."),
        "What could not be carried was listed on stderr; `vigilctl secrets set NAME`".to_string(),
        "stores each secret:NAME referenced below. Check with `vigild --check-config`.".to_string(),
        String::new(),
        "Prometheus pushes here as it did to Alertmanager: point its alerting.alertmanagers"
            .to_string(),
        "at Vigil's listener ([http] listen, 127.0.0.1:9470 by default) with an API key"
            .to_string(),
        "from `vigilctl keys create --source prometheus` as its authorization.".to_string(),
    ];
    let mut notes = report.into_notes();
    notes.sort_by_key(|n| n.line);
    Ok(Conversion {
        toml: emit::render(&preamble, &tables),
        notes,
    })
}
