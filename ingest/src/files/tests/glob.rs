//! `Glob` and `GlobSet`: syntax, `**` edge cases, errors.

use crate::files::{Glob, GlobErrorKind, GlobSet};

/// Asserts which paths `pattern` matches and which it does not.
fn check(pattern: &str, yes: &[&str], no: &[&str]) {
    let glob = Glob::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    for path in yes {
        assert!(glob.matches(path), "{pattern} should match {path}");
    }
    for path in no {
        assert!(!glob.matches(path), "{pattern} should not match {path}");
    }
}

#[test]
fn literal_paths_match_only_themselves() {
    check(
        "/etc/passwd",
        &["/etc/passwd", "/etc//passwd", "/etc/passwd/"],
        &[
            "/etc/passwd-",
            "/etc/passw",
            "/etc",
            "/etc/passwd/x",
            "etc/passwd",
            "/ETC/passwd",
        ],
    );
}

#[test]
fn star_stays_within_one_component() {
    check(
        "/etc/*.conf",
        &[
            "/etc/a.conf",
            "/etc/.conf",
            "/etc/.hidden.conf",
            "/etc/x.y.conf",
        ],
        &["/etc/a/b.conf", "/etc/a.conf/x", "/etc/a.confx", "/a.conf"],
    );
    check(
        "/etc/cron*",
        &["/etc/cron", "/etc/crontab", "/etc/cron.d"],
        &["/etc/cron.d/x"],
    );
    check("/*", &["/etc", "/x"], &["/", "/etc/x"]);
    check(
        "/a*b*c",
        &["/abc", "/aXbYc", "/abbbcbc"],
        &["/acb", "/abcX"],
    );
}

#[test]
fn double_star_matches_the_directory_itself_and_everything_below() {
    check(
        "/etc/ssh/**",
        &[
            "/etc/ssh",
            "/etc/ssh/",
            "/etc/ssh/sshd_config",
            "/etc/ssh/sshd_config.d/a/b.conf",
        ],
        &["/etc/sshd", "/etc/ssh_config", "/etc", "/"],
    );
    check("/**", &["/", "/a", "/a/b/c"], &["relative"]);
}

#[test]
fn double_star_in_the_middle_matches_zero_or_more_components() {
    check(
        "/etc/**/sshd_config",
        &[
            "/etc/sshd_config",
            "/etc/ssh/sshd_config",
            "/etc/a/b/c/sshd_config",
        ],
        &[
            "/etc/ssh/sshd_config.bak",
            "/sshd_config",
            "/etc/ssh/sshd_config/x",
        ],
    );
    check(
        "/a/**/b/**/c",
        &["/a/b/c", "/a/x/b/y/c", "/a/b/b/c", "/a/x/y/b/c/c"],
        &["/a/c", "/a/b", "/a/b/c/d"],
    );
    // Repeated `**` and `//` mean nothing more.
    check("/a/**/**//b", &["/a/b", "/a/x/y/b"], &["/a/x"]);
}

#[test]
fn double_star_then_star() {
    check(
        "/etc/cron*/**",
        &["/etc/crontab", "/etc/cron.d/job", "/etc/cron.daily/a/b"],
        &["/etc/xcron"],
    );
    check(
        "/home/**/.ssh/*",
        &["/home/u/.ssh/authorized_keys", "/home/.ssh/x"],
        &["/home/u/.ssh"],
    );
}

#[test]
fn question_mark_and_classes() {
    check(
        "/dev/tty?",
        &["/dev/tty1", "/dev/ttyé"],
        &["/dev/tty", "/dev/tty12", "/dev/tty/"],
    );
    check(
        "/var/log/[ab]*",
        &["/var/log/auth.log", "/var/log/b"],
        &["/var/log/cron"],
    );
    check(
        "/x/[a-c0-9_]",
        &["/x/a", "/x/c", "/x/5", "/x/_"],
        &["/x/d", "/x/-", "/x/A"],
    );
    check(
        "/x/[!a-c]",
        &["/x/d", "/x/.", "/x/Z"],
        &["/x/a", "/x/b", "/x/dd"],
    );
    check("/x/[^a]", &["/x/b"], &["/x/a"]);
    // `]` first is a member; `-` last is a member.
    check("/x/[]a]", &["/x/]", "/x/a"], &["/x/b"]);
    check("/x/[a-]", &["/x/a", "/x/-"], &["/x/b"]);
    check("/x/[!]]", &["/x/a"], &["/x/]"]);
}

#[test]
fn escapes_make_wildcards_literal() {
    check(r"/x/\*", &["/x/*"], &["/x/a"]);
    check(r"/x/\[a]", &["/x/[a]"], &["/x/a"]);
    check(r"/x/[\]]", &["/x/]"], &["/x/\\"]);
}

#[test]
fn many_stars_do_not_explode() {
    // Exponential backtracking would not finish.
    let pattern = format!("/{}b", "*a".repeat(40));
    let path = format!("/{}", "a".repeat(200));
    assert!(!Glob::new(&pattern).expect("compiles").matches(&path));
    let pattern = format!("{}/z", "/**/a".repeat(20));
    let path = "/a".repeat(200);
    assert!(!Glob::new(&pattern).expect("compiles").matches(&path));
}

#[test]
fn errors_say_what_and_where() {
    let cases = [
        ("etc/passwd", GlobErrorKind::NotAbsolute, 0),
        ("", GlobErrorKind::NotAbsolute, 0),
        ("/etc/[ssh", GlobErrorKind::UnclosedClass, 5),
        ("/etc/[]", GlobErrorKind::UnclosedClass, 5),
        ("/etc/[a-", GlobErrorKind::UnclosedClass, 5),
        (
            "/x/[z-a]",
            GlobErrorKind::ReversedRange { from: 'z', to: 'a' },
            4,
        ),
        ("/x/[a/b]", GlobErrorKind::SlashInClass, 5),
        ("/etc/cron**", GlobErrorKind::RecursiveNotAlone, 9),
        ("/etc/**x", GlobErrorKind::RecursiveNotAlone, 5),
        ("/etc/***", GlobErrorKind::RecursiveNotAlone, 5),
        ("/x\\", GlobErrorKind::TrailingEscape, 2),
    ];
    for (pattern, kind, at) in cases {
        let error = Glob::new(pattern).expect_err(pattern);
        assert_eq!((&error.kind, error.at), (&kind, at), "{pattern}");
        assert_eq!(error.pattern, pattern);
    }
    assert_eq!(
        Glob::new("/etc/[ssh").expect_err("unclosed").to_string(),
        "unclosed character class (at byte 5 of `/etc/[ssh`)"
    );
    assert_eq!(
        Glob::new("/etc/cron**").expect_err("not alone").to_string(),
        "`**` must be a whole path component, as in `/a/**/b` (at byte 9 of `/etc/cron**`)"
    );
}

#[test]
fn as_str_and_display_give_the_pattern_back() {
    let glob: Glob = "/etc//ssh/**".parse().expect("compiles");
    assert_eq!(glob.as_str(), "/etc//ssh/**");
    assert_eq!(glob.to_string(), "/etc//ssh/**");
}

#[test]
fn a_set_matches_when_any_glob_does() {
    let set = GlobSet::new(&["/etc/passwd", "/etc/ssh/**"]).expect("compiles");
    assert_eq!(set.len(), 2);
    assert!(set.matches("/etc/passwd"));
    assert!(set.matches("/etc/ssh/moduli"));
    assert!(!set.matches("/etc/group"));
    assert!(!GlobSet::default().matches("/etc/passwd"));

    let error = GlobSet::new(&["/ok", "bad"]).expect_err("relative");
    assert_eq!(error.index, 1);
    assert!(
        error.to_string().starts_with("[1]: not an absolute path"),
        "{error}"
    );
}
