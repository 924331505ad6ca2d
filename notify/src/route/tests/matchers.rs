//! Matcher syntax and semantics.

use super::labels;
use crate::route::matcher::{
    MAX_MATCHER_LEN, MatchOp, Matcher, MatcherErrorKind, Matchers, RegexError,
};

#[test]
fn the_four_operators_bare_and_quoted_values_parse() {
    let table: &[(&str, &str, MatchOp, &str)] = &[
        (
            "severity=\"critical\"",
            "severity",
            MatchOp::Equal,
            "critical",
        ),
        ("severity=critical", "severity", MatchOp::Equal, "critical"),
        (
            "env=~\"prod|staging\"",
            "env",
            MatchOp::Regex,
            "prod|staging",
        ),
        ("env=~prod|staging", "env", MatchOp::Regex, "prod|staging"),
        ("env!~\"dev.*\"", "env", MatchOp::NotRegex, "dev.*"),
        ("team!=\"\"", "team", MatchOp::NotEqual, ""),
        ("team!=", "team", MatchOp::NotEqual, ""),
        ("  foo  =  \"bar\"  ", "foo", MatchOp::Equal, "bar"),
        (
            "instance=host:9100",
            "instance",
            MatchOp::Equal,
            "host:9100",
        ),
        ("path=~/var/log/.*", "path", MatchOp::Regex, "/var/log/.*"),
        // `=`, `!` and `~` may follow the operator in a bare value.
        ("token=abc==", "token", MatchOp::Equal, "abc=="),
        ("foo=~\"\\\\d+\"", "foo", MatchOp::Regex, "\\d+"),
        (
            "msg=\"say \\\"hi\\\" \\\\ now\\n\\tthen\\r\"",
            "msg",
            MatchOp::Equal,
            "say \"hi\" \\ now\n\tthen\r",
        ),
        (
            "\"label with space\"=x",
            "label with space",
            MatchOp::Equal,
            "x",
        ),
        (
            "kubernetes.io/name=web",
            "kubernetes.io/name",
            MatchOp::Equal,
            "web",
        ),
        ("süß=\"straße\"", "süß", MatchOp::Equal, "straße"),
    ];
    for (text, name, op, value) in table {
        let m = Matcher::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (m.name(), m.op(), m.value()),
            (*name, *op, *value),
            "{text}"
        );
        // The canonical form parses back to the same matcher.
        let again = Matcher::parse(&m.to_string()).unwrap_or_else(|e| panic!("{m}: {e}"));
        assert_eq!(again, m, "{text} -> {m}");
    }
}

#[test]
fn bad_syntax_is_refused_with_the_column_of_the_problem() {
    let table: &[(&str, usize, MatcherErrorKind)] = &[
        ("", 1, MatcherErrorKind::Empty),
        ("   ", 4, MatcherErrorKind::Empty),
        ("=bar", 1, MatcherErrorKind::ExpectedName),
        ("foo", 4, MatcherErrorKind::ExpectedOperator),
        ("foo~bar", 4, MatcherErrorKind::ExpectedOperator),
        ("foo=\"bar", 5, MatcherErrorKind::UnterminatedQuote),
        ("foo=\"bar\\", 5, MatcherErrorKind::UnterminatedQuote),
        ("foo=\"\\d\"", 6, MatcherErrorKind::BadEscape('d')),
        (
            "foo=bar baz",
            9,
            MatcherErrorKind::Unexpected {
                found: 'b',
                expected: "",
            },
        ),
        (
            "foo=\"a\"b",
            8,
            MatcherErrorKind::Unexpected {
                found: 'b',
                expected: "",
            },
        ),
        (
            "foo=b\"ar",
            6,
            MatcherErrorKind::Unexpected {
                found: '"',
                expected: "",
            },
        ),
        (
            "foo=a,b=c",
            6,
            MatcherErrorKind::Unexpected {
                found: ',',
                expected: "",
            },
        ),
        ("\"\"=x", 1, MatcherErrorKind::EmptyName),
        ("foo=\"a\nb\"", 7, MatcherErrorKind::ControlChar('\n')),
        ("foo=a\u{0}b", 6, MatcherErrorKind::ControlChar('\0')),
        (
            "foo=~\"(\"",
            6,
            MatcherErrorKind::Regex(RegexError::Syntax(String::new())),
        ),
        // Columns count characters, not bytes.
        (
            "ü=~\"[\"",
            4,
            MatcherErrorKind::Regex(RegexError::Syntax(String::new())),
        ),
    ];
    for (text, column, kind) in table {
        let e = Matcher::parse(text).expect_err(text);
        assert_eq!(e.column, *column, "{text}: {e}");
        assert_eq!(e.input, *text);
        // Compare the kind, ignoring the free-text parts.
        let same = match (&e.kind, kind) {
            (
                MatcherErrorKind::Unexpected { found: a, .. },
                MatcherErrorKind::Unexpected { found: b, .. },
            ) => a == b,
            (MatcherErrorKind::Regex(_), MatcherErrorKind::Regex(_)) => true,
            (a, b) => a == b,
        };
        assert!(same, "{text}: got {:?}, want {kind:?}", e.kind);
        assert!(
            e.to_string().contains(&format!("at column {column}")),
            "{e}"
        );
    }
}

#[test]
fn a_regex_that_would_escape_its_anchors_is_refused() {
    // `^(?:a)|(b)$` would match anything starting with `a`.
    let e = Matcher::parse("env=~\"a)|(b\"").expect_err("unbalanced");
    assert!(matches!(e.kind, MatcherErrorKind::Regex(_)), "{e}");
    assert!(Matcher::parse("env=~\"(a)|(b)\"").is_ok());
}

#[test]
fn oversized_input_and_regexes_are_refused() {
    let long = format!("foo=\"{}\"", "a".repeat(MAX_MATCHER_LEN));
    assert_eq!(
        Matcher::parse(&long).expect_err("long").kind,
        MatcherErrorKind::TooLong(MAX_MATCHER_LEN)
    );
    // Small text, huge automaton.
    let e = Matcher::parse("foo=~\"(?:\\\\w{100}){100}\"").expect_err("huge");
    match e.kind {
        MatcherErrorKind::Regex(e @ RegexError::TooLarge(_)) => {
            assert!(e.to_string().contains("too large"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn regexes_are_anchored_at_both_ends() {
    let prod = Matcher::parse("env=~\"prod\"").expect("parse");
    assert!(prod.matches(&labels(&[("env", "prod")])));
    assert!(!prod.matches(&labels(&[("env", "production")])));
    assert!(!prod.matches(&labels(&[("env", "preprod")])));

    let either = Matcher::parse("env=~\"prod|staging\"").expect("parse");
    assert!(either.matches(&labels(&[("env", "staging")])));
    // The alternation is inside the anchors: not `^prod|staging$`.
    assert!(!either.matches(&labels(&[("env", "prod-eu")])));
    assert!(!either.matches(&labels(&[("env", "old-staging")])));

    let not_prod = Matcher::parse("env!~\"prod\"").expect("parse");
    assert!(not_prod.matches(&labels(&[("env", "production")])));
    assert!(!not_prod.matches(&labels(&[("env", "prod")])));
}

#[test]
fn a_missing_label_matches_as_the_empty_string() {
    let none = labels(&[("other", "x")]);
    let cases = [
        ("team=\"\"", true),
        ("team!=\"\"", false),
        ("team=~\".*\"", true),
        ("team=~\".+\"", false),
        ("team!~\".+\"", true),
        ("team=\"db\"", false),
        ("team!=\"db\"", true),
    ];
    for (text, want) in cases {
        let m = Matcher::parse(text).expect("parse");
        assert_eq!(m.matches(&none), want, "{text}");
    }
    // An empty value is the same as no label.
    let empty = labels(&[("team", "")]);
    assert!(Matcher::parse("team=\"\"").expect("parse").matches(&empty));
}

#[test]
fn a_matcher_list_may_be_braced_and_comma_separated() {
    let m = Matchers::parse("{env=\"prod\", team=~\"db|infra\",}").expect("parse");
    assert_eq!(m.len(), 2);
    assert!(m.matches(&labels(&[("env", "prod"), ("team", "db")])));
    assert!(!m.matches(&labels(&[("env", "prod"), ("team", "web")])));
    assert_eq!(m.to_string(), "{env=\"prod\", team=~\"db|infra\"}");

    assert_eq!(Matchers::parse("a=1, b=2").expect("parse").len(), 2);
    // A comma inside quotes is part of the value.
    let quoted = Matchers::parse("a=\"1,2\"").expect("parse");
    assert_eq!(quoted.len(), 1);
    assert_eq!(quoted.iter().next().map(Matcher::value), Some("1,2"));

    for (bad, column) in [("{a=1", 5), ("{a=1 b=2}", 6), ("{}", 1), ("a=1 }", 5)] {
        let e = Matchers::parse(bad).expect_err(bad);
        assert_eq!(e.column, column, "{bad}: {e}");
    }

    // As the daemon calls it, with the `Vec<String>` it keeps.
    let owned = vec!["env=prod".to_string(), "a=1, b=2".to_string()];
    let all = Matchers::parse_all(&owned).expect("parse");
    assert_eq!((all.len(), owned.len()), (3, 2));
}

#[test]
fn matchers_matching_the_empty_label_set_are_recognized() {
    for (list, everything) in [
        (vec!["foo=~\".*\""], true),
        (vec!["foo!=\"x\""], true),
        (vec!["foo=\"\""], true),
        (vec!["foo!~\"x\""], true),
        (vec!["foo=\"x\""], false),
        (vec!["foo=~\".+\""], false),
        (vec!["foo=~\".*\"", "bar=\"x\""], false),
    ] {
        let m = Matchers::parse_all(&list).expect("parse");
        assert_eq!(m.matches_everything(), everything, "{list:?}");
    }
}

#[test]
fn matchers_deserialize_from_their_text() {
    let m: Matcher = serde_json::from_str("\"env=~\\\"prod\\\"\"").expect("json");
    assert_eq!(m.op(), MatchOp::Regex);
    assert_eq!(
        serde_json::to_string(&m).expect("json"),
        "\"env=~\\\"prod\\\"\""
    );
    assert!(serde_json::from_str::<Matcher>("\"env\"").is_err());
}

#[test]
fn built_matchers_always_print_as_text_that_parses_back() {
    for value in ["x\ny", "tab\there", "cr\rlf"] {
        let m = Matcher::new("a", MatchOp::Equal, value).unwrap();
        assert_eq!(Matcher::parse(&m.to_string()).unwrap(), m, "{value:?}");
    }
    for bad in ["x\u{1}y", "esc\u{1b}[31m", "nul\0"] {
        let e = Matcher::new("a", MatchOp::Equal, bad).unwrap_err();
        assert!(
            matches!(e.kind, MatcherErrorKind::ControlChar(_)),
            "{bad:?}: {e}"
        );
    }
    assert!(Matcher::new("a\u{7f}", MatchOp::Equal, "v").is_err());
}
