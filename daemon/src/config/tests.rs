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
            .allows(vigilctl::Permission::read(vigilctl::Area::Events))
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
