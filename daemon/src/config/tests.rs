use super::*;

fn err(text: &str) -> ConfigError {
    Config::parse("test.toml", text).unwrap_err()
}

#[test]
fn unknown_keys_are_errors_with_line_and_column() {
    let e = err("[daemon]\nstate_dir = \"/x\"\nlisten = \"y\"\n");
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert!(e.message.contains("unknown field `listen`"), "{e}");
    assert!(e.to_string().starts_with("test.toml:3:1: "), "{e}");
    let e = err("[deamon]\n");
    assert_eq!(e.line, 1, "{e}");
    assert!(e.message.contains("deamon"), "{e}");
}

#[test]
fn bad_values_name_their_location() {
    let e = err("[daemon]\nsnapshot_every = \"many\"\n");
    assert_eq!((e.line, e.column), (2, 18), "{e}");
    let e = err("[daemon]\nsocket_mode = \"0999\"\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("octal"), "{e}");
    let e = err("[daemon]\nepoch_interval = \"soon\"\n");
    assert!(e.message.contains("not a duration"), "{e}");
    let e = err("[daemon]\nepoch_interval = \"10ms\"\n");
    assert!(e.message.contains("too short"), "{e}");
    let e = err("[daemon]\nsnapshot_every = 0\n");
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn roles_must_exist_and_builtins_cannot_be_redefined() {
    let e = err("[access.users]\nalice = \"admn\"\n");
    assert_eq!((e.line, e.column), (2, 9), "{e}");
    assert!(
        e.message.contains("unknown role `admn`") && e.message.contains("auditor"),
        "{e}"
    );
    let e = err("[roles.admin]\npermissions = []\n");
    assert!(e.message.contains("built in"), "{e}");
    let e = err("[roles.oncall]\npermissions = [\"events.wrte\"]\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("read or write"), "{e}");
    let ok = Config::parse(
        "t",
        "[roles.oncall]\npermissions = [\"events.write\"]\n[access.groups]\nops = \"oncall\"\n",
    )
    .unwrap();
    let role = ok.role("oncall").unwrap();
    assert!(
        role.permissions
            .allows(vigil_proto::Permission::read(vigil_proto::Area::Events))
    );
}

#[test]
fn the_embedded_and_shipped_configs_are_valid() {
    let dev = Config::parse("<embedded>", DEV_TOML).unwrap();
    assert_eq!(dev.daemon.socket_mode, Mode(0o600));
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/vigil.toml"
    ))
    .unwrap();
    let prod = Config::parse("vigil.toml", &shipped).unwrap();
    assert_eq!(prod.daemon.state_dir, PathBuf::from("/var/lib/vigil"));
    assert_eq!(
        prod.daemon.epoch_interval,
        Interval(std::time::Duration::from_secs(900))
    );
    assert!(prod.access.break_glass_root);
    assert_eq!(
        prod.verification_key_path(),
        PathBuf::from("/var/lib/vigil/verification.key")
    );
}

#[test]
fn an_empty_file_means_the_defaults() {
    let c = Config::parse("t", "").unwrap();
    assert_eq!(c.daemon.socket, PathBuf::from("/run/vigil/control.sock"));
    assert_eq!(c.daemon.socket_mode, Mode(0o660));
}

#[test]
fn no_config_struct_prints_an_inline_secret() {
    let text = r#"
[sources.gh]
driver = "github"
secret = ["CANARY-inline-1", "secret:gh-next"]

[sources.pd]
driver = "pagerduty"
secret = "CANARY-inline-2"
"#;
    let c = Config::parse("t", text).unwrap();
    let shown = format!(
        "{c:?} {:?} {:?}",
        c.sources["gh"],
        c.sources["pd"].get_ref().secret
    );
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(shown.contains("secret:gh-next"));
    assert_eq!(
        c.inline_secrets(),
        ["sources.gh.secret", "sources.pd.secret"]
    );
    assert_eq!(c.references_to("gh-next"), ["sources.gh.secret[1]"]);
}

#[test]
fn ingestion_rules_are_checked_with_locations() {
    let err = Config::parse("t", "[sources.gh]\ndriver = \"github\"\n").unwrap_err();
    assert!(err.message.contains("has no secret"), "{err}");
    assert_eq!(err.line, 1);
    let ok = Config::parse(
        "t",
        "[sources.gh]\ndriver = \"github\"\nverify = \"none\"\n",
    );
    assert!(ok.is_ok());
    let err = Config::parse("t", "[sources.x]\ndriver = \"nagios\"\n").unwrap_err();
    assert!(err.message.contains("unknown driver `nagios`"), "{err}");
    assert_eq!((err.line, err.column), (2, 10));
    let err = Config::parse("t", "[http]\nlisten = \"0.0.0.0:9470\"\n").unwrap_err();
    assert!(err.message.contains("not a loopback address"), "{err}");
    assert_eq!(err.line, 2);
    assert!(
        Config::parse(
            "t",
            "[http]\nlisten = \"0.0.0.0:9470\"\ninsecure_plaintext = true\n"
        )
        .is_ok()
    );
    let err = Config::parse("t", "[http]\nmax_body = \"1 parsec\"\n").unwrap_err();
    assert!(err.message.contains("not a size"), "{err}");
    let c = Config::parse("t", "[http]\nmax_body = \"2MiB\"\n").unwrap();
    assert_eq!(c.http.max_body.0, 2 << 20);
    let err = Config::parse("t", "[sources.x]\ndriver = \"generic\"\nsecret = 42\n").unwrap_err();
    assert!(!err.message.contains("42"), "{err}");
}

#[test]
fn redaction_patterns_are_compiled_at_load_and_located() {
    let e = err("[redaction]\nticket = \"TICKET-[0-9]+\"\nbroken = \"([a-z\"\n");
    assert_eq!((e.line, e.column), (3, 10), "{e}");
    assert!(e.message.starts_with("redaction.broken: "), "{e}");
    let e = err("[redaction]\nempty = \"x*\"\n");
    assert_eq!(e.line, 2, "{e}");
    let ok = Config::parse("test.toml", "[redaction]\nticket = \"TICKET-[0-9]+\"\n").unwrap();
    assert_eq!(
        ok.redaction_patterns(),
        vec![("ticket".to_string(), "TICKET-[0-9]+".to_string())]
    );
}

#[test]
fn the_notify_allowlist_is_checked_at_load() {
    let e = err("[notify]\nallow = [\"10.0.0.5\", \"10.1.0.0/99\"]\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("allow[1]"), "{e}");
    let ok = Config::parse(
        "test.toml",
        "[notify]\nallow = [\"10.0.0.5\", \"hooks.internal\", \"*.corp.example\"]\n",
    )
    .unwrap();
    assert!(ok.notify.policy().unwrap().broad_entries().is_empty());
    let broad = Config::parse("test.toml", "[notify]\nallow = [\"10.0.0.0/8\"]\n").unwrap();
    assert_eq!(broad.notify.policy().unwrap().broad_entries().len(), 1);
}

/// The `[notify]` example in docs/configuration.md.
fn documented_notify_example() -> String {
    let doc = include_str!("../../../docs/configuration.md");
    let section = &doc[doc.find("## `[notify]`").unwrap()..];
    let start = section.find("```toml\n").unwrap() + 8;
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_string()
}

#[test]
fn the_documented_notify_example_compiles() {
    let config = Config::parse("docs.toml", &documented_notify_example()).unwrap();
    // Compiled once, at load, and kept.
    let compiled = &config.compiled_notify;
    let policy = compiled.policy.as_ref().unwrap();
    let mut labels = vigil_store::Labels::new();
    labels.insert("severity".into(), "critical".into());
    let routes: Vec<String> = policy
        .route(&labels)
        .into_iter()
        .map(|r| r.receiver)
        .collect();
    // `continue` tries the following siblings; the root is a parent, not a sibling.
    assert_eq!(routes, ["pager"]);
    assert_eq!(compiled.receivers["ops"].integrations().len(), 2);
    assert_eq!(compiled.receivers["ops"].fallback.as_deref(), Some("pager"));
    assert!(compiled.templates.contains("ops-body"));
}

fn notify_err(extra: &str) -> ConfigError {
    let base = r#"
[notify.route]
receiver = "ops"
[[notify.receivers]]
name = "ops"
"#;
    err(&format!("{base}{extra}"))
}

#[test]
fn notify_mistakes_are_located_and_named() {
    let hook =
        "[[notify.receivers.webhook_configs]]\nurl = \"https://h.example/x\"\nsecret = \"s\"\n";
    let e = notify_err(&format!("{hook}colour = 1\n"));
    assert!(e.message.contains("colour"), "{e}");
    let e = notify_err(&format!("{hook}template = \"vigil.email.html\"\n"));
    assert!(
        e.message.contains("escapes as Html") && e.message.contains("Json"),
        "{e}"
    );
    let e = notify_err(&format!("{hook}template = \"nope\"\n"));
    assert!(e.message.contains("`nope` is not defined"), "{e}");
    let e = notify_err("fallback = \"ops\"\n");
    assert!(
        e.message
            .contains("fallback `ops` must name another receiver"),
        "{e}"
    );
    assert_eq!(e.line, 4, "at the receiver: {e}");
    let e = notify_err("[[notify.receivers]]\nname = \"ops\"\n");
    assert!(e.message.contains("defined twice"), "{e}");
    let e = notify_err(
        "[[notify.receivers.email_configs]]\nto = \"a@example.com\"\nfrom = \"v@example.com\"\nsmarthost = \"relay:25\"\nrequire_tls = false\nauth_password = \"p\"\n",
    );
    assert!(e.message.contains("never sent without TLS"), "{e}");
    let e = notify_err(
        "[[notify.receivers.webhook_configs]]\nurl = \"https://user@h.example/x\"\nsecret = \"s\"\n",
    );
    assert!(e.message.contains("webhook/0"), "{e}");
    let e = notify_err(
        "[[notify.receivers.webhook_configs]]\nurl = \"https://h.example/x\"\nsecret = \"s\"\nca_file = \"/nonexistent/ca.pem\"\n",
    );
    assert!(e.message.contains("ca_file"), "{e}");
    let not_pem = std::env::temp_dir().join(format!("vigil-not-a-ca-{}.pem", std::process::id()));
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let e = notify_err(&format!(
        "[[notify.receivers.webhook_configs]]\nurl = \"https://h.example/x\"\nsecret = \"s\"\nca_file = \"{}\"\n",
        not_pem.display()
    ));
    let _ = std::fs::remove_file(&not_pem);
    assert!(
        e.message.contains("ca_file"),
        "a file without a certificate is refused: {e}"
    );
    let e = err("[notify.route]\nreceiver = \"ghost\"\n");
    assert!(e.message.contains("ghost"), "{e}");
    assert_eq!(e.line, 1, "{e}");
    let e = err("[notify.templates.t]\nescape = \"json\"\nsource = \"{{ nope }}\"\n");
    assert!(e.message.contains("template `t`"), "{e}");
    let e = err("[notify.retry]\nmax_attempts = 0\n");
    assert!(e.message.contains("max_attempts"), "{e}");
}

#[test]
fn inline_receiver_credentials_are_flagged_for_doctor() {
    let text = r#"
[[notify.receivers]]
name = "ops"
[[notify.receivers.webhook_configs]]
url = "https://h.example/x"
secret = "inline-secret"
[[notify.receivers.slack_configs]]
api_url = "secret:slack"
"#;
    let config = Config::parse("t.toml", text).unwrap();
    assert_eq!(config.inline_secrets(), ["notify.receivers.ops.webhook/0"]);
}

#[test]
fn receiver_urls_must_use_a_scheme_their_channel_speaks() {
    let webhook = |url: &str| {
        format!("[[notify.receivers.webhook_configs]]\nurl = \"{url}\"\nsecret = \"s\"\n")
    };
    let slack = |url: &str| format!("[[notify.receivers.slack_configs]]\napi_url = \"{url}\"\n");
    let pagerduty = |url: &str| {
        format!("[[notify.receivers.pagerduty_configs]]\nrouting_key = \"k\"\nurl = \"{url}\"\n")
    };
    for (table, scheme, field) in [
        (webhook("file:///etc/passwd"), "file", "webhook/0 url"),
        (webhook("FILE:///etc/passwd"), "file", "webhook/0 url"),
        (webhook("smtps://mail.example"), "smtps", "webhook/0 url"),
        (
            webhook("javascript://x.example/"),
            "javascript",
            "webhook/0 url",
        ),
        (slack("file:///etc/passwd"), "file", "slack/0 api_url"),
        (slack("ftp://h.example/x"), "ftp", "slack/0 api_url"),
        (pagerduty("smtp://mail.example"), "smtp", "pagerduty/0 url"),
        (pagerduty("file:///etc/passwd"), "file", "pagerduty/0 url"),
    ] {
        let e = notify_err(&table);
        assert!(
            e.message
                .contains(&format!("scheme `{scheme}` is not supported"))
                && e.message.contains(&format!("receiver `ops` {field}:"))
                && e.message.contains("https"),
            "{table}: {e}"
        );
        assert!(!e.message.contains("/etc/passwd"), "{e}");
    }
    // What the channels speak, and references resolved at send time.
    for table in [
        webhook("https://h.example/x"),
        webhook("http://h.example/x"),
        webhook("file:/etc/vigil/hook-url"),
        webhook("secret:hook"),
        slack("https://hooks.slack.com/services/T/B/X"),
        slack("env:SLACK_URL"),
        pagerduty("https://events.pagerduty.com/v2/enqueue"),
    ] {
        let text = format!("[[notify.receivers]]\nname = \"ops\"\n{table}");
        Config::parse("t.toml", &text).unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

#[test]
fn the_per_uid_connection_cap_has_a_default_and_bounds() {
    let config = Config::parse("t.toml", "").unwrap();
    assert_eq!(
        config.daemon.max_connections_per_uid,
        DEFAULT_CONNECTIONS_PER_UID
    );
    let config = Config::parse("t.toml", "[daemon]\nmax_connections_per_uid = 256\n").unwrap();
    assert_eq!(config.daemon.max_connections_per_uid, 256);
    for bad in ["0", "257"] {
        let e = err(&format!("[daemon]\nmax_connections_per_uid = {bad}\n"));
        assert!(
            e.message
                .contains("max_connections_per_uid must be 1 to 256")
                && e.line == 2,
            "{bad}: {e}"
        );
    }
}

#[test]
fn positions_come_from_the_document_not_from_searching_its_text() {
    // Each key named first in a comment (or elsewhere), where a search of
    // the text would have found it.
    let cases: [(&str, (usize, usize)); 9] = [
        (
            "# snapshot_every: events between snapshots\n[daemon]\nsnapshot_every = 0\n",
            (3, 1),
        ),
        (
            "# max_connections_per_uid caps each user\n[daemon]\nmax_connections_per_uid = 0\n",
            (3, 1),
        ),
        (
            "[daemon]\nlog_level = \"info\" # listen is in [http]\n[http]\nlisten = \"0.0.0.0:9470\"\n",
            (4, 1),
        ),
        (
            "[http]\n# tls_cert and tls_key go together\ntls_key = \"/etc/vigil/k.pem\"\n",
            (3, 1),
        ),
        (
            "# [spool] feeds scripts' files\n[spool]\nenabled = true\nsource = \"Bad Name\"\n",
            (4, 1),
        ),
        (
            "# [roles.admin] is built in\n[roles.oncall]\npermissions = []\n[roles.admin]\npermissions = []\n",
            (4, 1),
        ),
        (
            "# see [notify.retry]\n[notify]\nallow = []\n[notify.retry]\nmax_attempts = 0\n",
            (4, 1),
        ),
        // The entry itself, not the list.
        (
            "[notify]\nallow = [\"10.0.0.5\", \"10.1.0.0/99\"]\n",
            (2, 22),
        ),
        // A source named like the spool's source: at [spool] when written.
        (
            "[sources.spool]\ndriver = \"alertmanager\"\n[spool]\nenabled = true\n",
            (3, 1),
        ),
    ];
    for (text, at) in cases {
        let e = err(text);
        assert_eq!((e.line, e.column), at, "{text}: {e}");
    }
    // The spool's default source name taken by a source, no [spool]: at the source.
    let e = err("[daemon]\nlog_level = \"info\"\n[sources.spool]\ndriver = \"alertmanager\"\n");
    assert!(e.message.contains("spool.source `spool`"), "{e}");
    assert_eq!((e.line, e.column), (3, 1), "{e}");
}

#[test]
fn drivers_are_decided_at_load() {
    use vigil_ingest::drivers::{DriverChoice, DriverKind};
    let c = Config::parse(
        "t",
        "[sources.am]\ndriver = \"alertmanager\"\n[sources.any]\ndriver = \"auto\"\nverify = \"none\"\n[spool]\ndriver = \"auto\"\n",
    )
    .unwrap();
    assert_eq!(
        c.sources["am"].get_ref().driver,
        DriverChoice::Kind(DriverKind::Alertmanager)
    );
    assert_eq!(c.sources["any"].get_ref().driver, DriverChoice::Auto);
    assert_eq!(c.spool.driver, DriverChoice::Auto);
    let c = Config::parse("t", "").unwrap();
    assert_eq!(c.spool.driver, DriverChoice::Kind(DriverKind::Generic));
    // `auto` may detect a driver that signs: it needs a secret too.
    let e = err("[sources.any]\ndriver = \"auto\"\n");
    assert!(e.message.contains("(driver auto) has no secret"), "{e}");
    let e = err("[spool]\ndriver = \"nagios\"\n");
    assert_eq!((e.line, e.column), (2, 10), "{e}");
    assert!(
        e.message.contains(
            "unknown driver `nagios`; expected one of auto, alertmanager, grafana, github, gitlab, jenkins, pagerduty, generic"
        ),
        "{e}"
    );
}

#[test]
fn notify_is_compiled_once_at_load_and_kept() {
    let text = "[notify]\nallow = [\"10.0.0.0/8\"]\n[notify.route]\nreceiver = \"ops\"\n[[notify.receivers]]\nname = \"ops\"\n";
    let config = Config::parse("t.toml", text).unwrap();
    let compiled = &config.compiled_notify;
    assert!(compiled.policy.is_some());
    assert_eq!(compiled.receivers.keys().collect::<Vec<_>>(), ["ops"]);
    assert_eq!(compiled.ssrf.broad_entries().len(), 1);
    // A copy of the configuration shares it: nothing compiles it again.
    let copy = config.clone();
    assert!(Arc::ptr_eq(&config.compiled_notify, &copy.compiled_notify));
    let empty = Config::parse("t.toml", "").unwrap();
    assert!(empty.compiled_notify.policy.is_none());
    assert!(empty.compiled_notify.receivers.is_empty());
}

#[test]
fn collect_paths_must_stay_under_the_allowed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(root.join("inner")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    std::os::unix::fs::symlink(root.join("inner"), root.join("inside")).unwrap();
    let config = |paths: &str| {
        format!(
            "[collect]\nallowed_roots = [\"{}\"]\n\n[[collect.files]]\npaths = [{paths}]\n",
            root.display()
        )
    };
    // Inside, and a link whose target is inside: accepted.
    let ok = config(&format!(
        "\"{0}/inner\", \"{0}/inside\", \"{0}/not-yet\"",
        root.display()
    ));
    Config::parse("test.toml", &ok).unwrap();
    // A link leading out: refused at its element, saying where it leads.
    let e = err(&config(&format!(
        "\"{0}/inner\", \"{0}/escape\"",
        root.display()
    )));
    assert_eq!(e.line, 5, "{e}");
    assert!(
        e.message.contains("resolves to") && e.message.contains("outside the allowed roots"),
        "{e}"
    );
    let column = config("").lines().nth(4).unwrap().len() - 1
        + format!("\"{}/inner\", ", root.display()).len();
    assert_eq!(e.column, column + 1, "{e}");
    // Not under any root as written.
    let e = err(&config("\"/usr/share\""));
    assert!(e.message.contains("not under an allowed root"), "{e}");
    // Relative, or with `..`.
    let e = err(&config(&format!("\"{}/inner/../..\"", root.display())));
    assert!(e.message.contains("without `.` or `..`"), "{e}");
}

#[test]
fn collect_mistakes_name_their_line() {
    let e = err("[[collect.files]]\npaths = [\"/etc\"]\nrecursive = 0\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("depth from 1"), "{e}");
    let e = err("[[collect.files]]\npaths = [\"/etc\"]\nattributes = [\"sha256\", \"md5\"]\n");
    assert_eq!((e.line, e.column), (3, 25), "{e}");
    assert!(e.message.contains("unknown attribute `md5`"), "{e}");
    let e = err("[[collect.files]]\npaths = [\"/etc\"]\nexclude = [\"/etc/[x\"]\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("unclosed"), "{e}");
    let e = err("[collect]\nhash_threads = 0\n");
    assert!(e.message.contains("hash_threads must be 1 to 32"), "{e}");
    let e = err("[[collect.files]]\npaths = [\"/etc\"]\nmax_files = 0\n");
    assert!(e.message.contains("max_files must be at least 1"), "{e}");
    let e = err("[[collect.files]]\npaths = []\n");
    assert!(e.message.contains("has no paths"), "{e}");
    let e = err("[collect]\nread_rate = 0\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("at least 1MiB"), "{e}");
    let e = err("[collect]\nread_rate = \"fast\"\n");
    assert!(e.message.contains("\"unlimited\""), "{e}");
    let c = Config::parse("t.toml", "[collect]\nread_rate = \"unlimited\"\n").unwrap();
    assert_eq!(c.collect.read_rate.0, None);
    let e = err("[[collect.files]]\npaths = [\"/etc\"]\nfollow = true\n");
    assert!(e.message.contains("unknown field `follow`"), "{e}");
    let e = err(
        "[collect]\nhash_threads = 1\n[[collect.file_rules]]\nname = \"x\"\npaths = [\"/etc/[\"]\n",
    );
    assert!(e.message.contains("rule \"x\""), "{e}");
    assert_eq!(e.line, 3, "at its [[collect.file_rules]]: {e}");
    let e = err(
        "[[collect.files]]\nname = \"a\"\npaths = [\"/etc\"]\n[[collect.files]]\nname = \"a\"\npaths = [\"/usr/bin\"]\n",
    );
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("distinct name"), "{e}");
}
