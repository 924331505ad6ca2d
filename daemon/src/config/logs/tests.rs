use crate::config::{Config, ConfigError, LogFormat, StartAt, StoreLines};

fn err(text: &str) -> ConfigError {
    Config::parse("test.toml", text).unwrap_err()
}

#[test]
fn a_log_set_reads_with_its_defaults() {
    let c = Config::parse(
        "t.toml",
        "[[collect.logs]]\npath = \"/var/log/auth.log\"\n\n[[collect.journal]]\nmatches = [\"_SYSTEMD_UNIT=ssh.service\"]\npriority = \"err\"\n",
    )
    .unwrap();
    let set = c.collect.logs[0].get_ref();
    assert_eq!(set.name(), "/var/log/auth.log");
    assert_eq!(set.format, LogFormat::Plain);
    let reading = set.reading();
    assert_eq!(reading.store, StoreLines::Matches);
    assert_eq!(reading.start_at, StartAt::End);
    assert_eq!(reading.max_line_bytes, 64 << 10);
    let rules = reading.rules(&c.collect.log_rules).unwrap();
    assert!(rules.iter().any(|r| r.name == "sshd-failed-password"));
    let journal = c.collect.journal[0].get_ref();
    assert_eq!(
        (journal.name.as_str(), journal.priority.unwrap().0),
        ("journal", 3)
    );
    assert!(c.collect.follows_logs());
}

#[test]
fn rules_are_chosen_by_name_and_configured_ones_come_first() {
    let c = Config::parse(
        "t.toml",
        "[[collect.log_rules]]\nname = \"app-panic\"\npattern = 'panic: (?P<what>.*)'\n\n[[collect.logs]]\npath = \"/var/log/app/*.log\"\nrules = [\"app-panic\", \"sshd-invalid-user\"]\nstore = \"all\"\n",
    )
    .unwrap();
    let set = c.collect.logs[0].get_ref();
    let names: Vec<String> = set
        .reading()
        .rules(&c.collect.log_rules)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["app-panic", "sshd-invalid-user"]);
    let (dir, glob) = set.glob().unwrap();
    assert_eq!(dir, std::path::Path::new("/var/log/app"));
    assert!(glob.matches("/var/log/app/x.log") && !glob.matches("/var/log/app/x.log.1"));
}

#[test]
fn log_mistakes_name_their_line() {
    let e = err("[[collect.logs]]\npath = \"/var/log/auth.log\"\nrules = [\"sshd-typo\"]\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(
        e.message.contains("sshd-typo") && e.message.contains("builtin"),
        "{e}"
    );
    let e = err("[[collect.logs]]\npath = \"/home/x/app.log\"\n");
    assert!(e.message.contains("allowed root"), "{e}");
    assert_eq!(e.line, 2, "{e}");
    let e = err("[[collect.logs]]\npath = \"/var/log/*/app.log\"\n");
    assert!(e.message.contains("last component"), "{e}");
    let e = err("[[collect.logs]]\npath = \"/var/log/[x\"\n");
    assert!(e.message.contains("not a valid glob"), "{e}");
    let e = err("[[collect.logs]]\npath = \"var/log/x\"\n");
    assert!(e.message.contains("absolute"), "{e}");
    let e = err("[[collect.logs]]\npath = \"/var/log/x\"\nmax_line_bytes = 10\n");
    assert!(e.message.contains("max_line_bytes"), "{e}");
    let e = err("[[collect.logs]]\npath = \"/var/log/x\"\nstore = \"some\"\n");
    assert_eq!(e.line, 3, "{e}");
    let e = err("[[collect.logs]]\npath = \"/var/log/x\"\nfollow = true\n");
    assert!(e.message.contains("unknown field `follow`"), "{e}");
    let e = err(
        "[[collect.logs]]\npath = \"/var/log/a\"\nname = \"x\"\n[[collect.logs]]\npath = \"/var/log/b\"\nname = \"x\"\n",
    );
    assert!(e.message.contains("distinct name"), "{e}");
    assert_eq!(e.line, 4, "{e}");
    let e = err("[[collect.journal]]\nmatches = [\"unit=ssh\"]\n");
    assert!(e.message.contains("FIELD=value"), "{e}");
    assert_eq!(e.line, 2, "{e}");
    let e = err("[[collect.journal]]\npriority = \"loud\"\n");
    assert!(e.message.contains("priority"), "{e}");
    let e = err("[[collect.journal]]\npriority = 9\n");
    assert!(e.message.contains("0 to 7"), "{e}");
    let e = err("[[collect.journal]]\ndirectory = \"/tmp/j\"\n");
    assert!(e.message.contains("allowed root"), "{e}");
}

#[test]
fn a_log_rule_that_does_not_compile_is_found_at_its_table() {
    let e = err(
        "[collect]\nhash_threads = 1\n\n[[collect.log_rules]]\nname = \"ok\"\npattern = \"a\"\n\n[[collect.log_rules]]\nname = \"bad\"\npattern = \"(\"\n",
    );
    assert_eq!(e.line, 8, "{e}");
    assert!(
        e.message.contains("bad") && e.message.contains("pattern"),
        "{e}"
    );
    let e = err(
        "[[collect.log_rules]]\nname = \"x\"\npattern = \"a\"\n[[collect.log_rules]]\nname = \"x\"\npattern = \"b\"\n",
    );
    assert!(e.message.contains("distinct name"), "{e}");
    assert_eq!(e.line, 4, "{e}");
    let e = err("[[collect.log_rules]]\nname = \"x\"\npattern = \"a\"\nprograms = [\"sshd[1]\"]\n");
    assert!(e.message.contains("programs"), "{e}");
}
