//! The built-in pattern table.
//!
//! Each entry is a kind and a regex. When the regex has capture groups whose
//! names start with `secret`, only the first of them that took part in a
//! match is replaced (the key, separator, scheme or host around it are kept);
//! otherwise the whole match is. Order is priority: when matches of several
//! patterns overlap, they are replaced as one, named after the earliest
//! entry (so a GitHub token in `GITHUB_TOKEN=…` is a `github_token`, not a
//! `token`). Several entries may share a kind.
//!
//! `(?-u:\b)` is an ASCII word boundary: every token here is ASCII, and it
//! keeps the fast automata usable on non-ASCII text.

/// One built-in pattern.
pub(super) struct Builtin {
    /// Name in `[REDACTED:<kind>]`.
    pub(super) kind: &'static str,
    /// The regex (`secret*` groups select the part to replace).
    pub(super) pattern: &'static str,
}

/// Every built-in pattern, highest priority first.
pub(super) const BUILTINS: &[Builtin] = &[
    // PEM, OpenSSH, PKCS#8 (also ENCRYPTED) and PGP private keys: the body
    // between the BEGIN and END lines, across lines; an unterminated BEGIN
    // runs to the end of the text.
    Builtin {
        kind: "private_key",
        pattern: r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----\s*(?P<secret>.*?)\s*(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    },
    // JSON Web Tokens (JWS, 3 segments, and JWE, 5): base64url `{"…`.
    Builtin {
        kind: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}",
    },
    // AWS access key ids (long-term, temporary, and the other principals).
    Builtin {
        kind: "aws_access_key",
        pattern: r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASCA|ABIA|ACCA)[A-Z0-9]{16}(?-u:\b)",
    },
    // AWS secret access keys, in assignments (`aws_secret_access_key = …`,
    // `AWS_SECRET_ACCESS_KEY=…`, `"SecretAccessKey": "…"`).
    Builtin {
        kind: "aws_secret_key",
        pattern: r#"(?i)(?-u:\b)(?:(?:aws_?)?secret_?access_?key|aws_?secret_?key)\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*\\?["']?(?P<secret>[A-Za-z0-9/+=]{40,})"#,
    },
    // GitHub personal, OAuth, user-to-server, server-to-server and refresh
    // tokens, and fine-grained personal access tokens.
    Builtin {
        kind: "github_token",
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    },
    // GitLab tokens (personal, OAuth, deploy, runner, CI job, trigger,
    // feed, incoming mail, agent, SCIM, feature flags, workspace) and runner
    // registration tokens.
    Builtin {
        kind: "gitlab_token",
        pattern: r"(?-u:\b)(?:(?:glpat|gloas|gldt|glrt|glrtr|glcbt|glptt|glft|glimt|glagent|glsoat|glffct|glwt)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})",
    },
    // Slack incoming webhooks: keep the host, drop the path.
    Builtin {
        kind: "slack_webhook",
        pattern: r"(?i)(?-u:\b)https?://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/-]{8,})",
    },
    // Slack bot, user, app, refresh, configuration and app-level tokens.
    Builtin {
        kind: "slack_token",
        pattern: r"(?-u:\b)(?:xox[abposre](?:\.xox[a-z])?-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})",
    },
    // Stripe secret and restricted keys (publishable `pk_` keys are public).
    Builtin {
        kind: "stripe_key",
        pattern: r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
    },
    // Google API keys.
    Builtin {
        kind: "google_api_key",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
    },
    // npm access tokens.
    Builtin {
        kind: "npm_token",
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36}",
    },
    // Vigil's own API keys (`vgl_<id>_<secret>`; a bare `vgl_<id>` prefix
    // is shorter and survives).
    Builtin {
        kind: "vigil_api_key",
        pattern: r"(?-u:\b)vgl_[A-Za-z0-9_]{20,}",
    },
    // Standard Webhooks and Stripe signing secrets.
    Builtin {
        kind: "webhook_secret",
        pattern: r"(?-u:\b)whsec_[A-Za-z0-9+/=]{16,}",
    },
    // Credentials in a URL's userinfo, any scheme: `user:pass@`, `:pass@`,
    // or a lone token of 16 or more characters. Keeps scheme and host. The
    // password part runs to the last `@` of the authority (unescaped `@`s in
    // passwords happen).
    Builtin {
        kind: "url_credentials",
        pattern: r#"(?i)(?-u:\b)[a-z][a-z0-9+.-]{0,31}://(?P<secret>[^\s/?#@:"'<>]*:[^\s/?#"'<>]*|[^\s/?#@:"'<>]{16,})@"#,
    },
    // `Authorization:`/`Proxy-Authorization:` headers (also as JSON keys or
    // assignments): keep the scheme, replace the credentials (for schemes
    // with parameters, like Digest, all of them to the end of the line).
    Builtin {
        kind: "authorization",
        pattern: r#"(?i)(?-u:\b)authorization\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*\[?(?:\\?["'])?(?:(?:digest|hoba|mutual|gnap|signature|hmac-sha256|aws4-hmac-sha256)[ \t]+(?P<secret>[^\r\n]+)|(?:(?:bearer|basic|token|negotiate|ntlm|apikey|api-key|key|sso-key|dpop|mac|vapid)[ \t]+)?(?P<secret2>[^\s"',;\\]+))"#,
    },
    // A bare bearer token anywhere (`Bearer <16+ token characters>`).
    Builtin {
        kind: "authorization",
        pattern: r"(?i)(?-u:\b)bearer[ \t]+(?P<secret>[A-Za-z0-9._~+/=-]{16,})",
    },
    // `Cookie:`/`Set-Cookie:` header values, to the end of the line.
    Builtin {
        kind: "cookie",
        pattern: r#"(?i)(?-u:\b)(?:set-)?cookie\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:\\?["'])?(?P<secret>[^\r\n"'\\]+)"#,
    },
    // Assignments to anything named *password, *passwd or *passphrase:
    // `password=…`, `DB_PASSWORD: "…"`, `"password":"…"`, `--password=…`,
    // `userPassword=…`. Quoted values run to the closing quote (or the end
    // of the line); bare ones to whitespace, a quote, `&`, `;` or `,`. For a
    // YAML block scalar (`password: |`), the first line of the block.
    Builtin {
        kind: "password",
        pattern: r#"(?i)(?-u:\b)[A-Za-z0-9_.-]*?(?:password|passwd|passphrase)\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:[|>][-+0-9]*[ \t]*\r?\n[ \t]+(?P<secret4>[^\r\n]+)|\\?"(?P<secret>(?:[^"\\\r\n]|\\[^"\r\n])+)|\\?'(?P<secret2>(?:[^'\\\r\n]|\\[^'\r\n])+)|(?P<secret3>[^\s"'&;,]+))"#,
    },
    // `pwd` only as a whole word, and not a path (`PWD=/home/bob` is the
    // shell's working directory, not a password).
    Builtin {
        kind: "password",
        pattern: r#"(?i)(?-u:\b)pwd\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:\\?"(?P<secret>[^"\\\r\n/~](?:[^"\\\r\n]|\\[^"\r\n])*)|\\?'(?P<secret2>[^'\\\r\n/~](?:[^'\\\r\n]|\\[^'\r\n])*)|(?P<secret3>[^\s"'&;,/~][^\s"'&;,]*))"#,
    },
    // Assignments to anything named *token, *api_key/*apikey/*api-key,
    // *secret or *secret_key: `access_token=…`, `X-API-Key: …`,
    // `client_secret = "…"`, `?access_token=…&`.
    Builtin {
        kind: "token",
        pattern: r#"(?i)(?-u:\b)[A-Za-z0-9_.-]*?(?:token|api[_-]?key|secret(?:[_-]?key)?)\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:[|>][-+0-9]*[ \t]*\r?\n[ \t]+(?P<secret4>[^\r\n]+)|\\?"(?P<secret>(?:[^"\\\r\n]|\\[^"\r\n])+)|\\?'(?P<secret2>(?:[^'\\\r\n]|\\[^'\r\n])+)|(?P<secret3>[^\s"'&;,]+))"#,
    },
];
