//! Receiver URLs: whether one carries a credential (so it must become a
//! `secret:` reference), and which hosts Vigil's SSRF guard must be told
//! about (`notify.allow`).

use super::super::emit::basic;
use super::Conv;

/// What makes a URL a credential.
pub(super) enum Found {
    /// `user:password@`.
    UserInfo,
    /// A token in the query or path.
    Token,
}

/// Whether `url` carries a credential: user information, a query
/// parameter named like one, a known webhook service whose path is the
/// secret, or a path segment that looks like a token.
pub(super) fn credential_in(url: &str) -> Option<Found> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Some(Found::UserInfo);
    }
    let host = authority.to_ascii_lowercase();
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    const WORDS: [&str; 9] = [
        "token",
        "key",
        "secret",
        "pass",
        "auth",
        "sig",
        "code",
        "credential",
        "session",
    ];
    let named_like_credential = query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
        WORDS.iter().any(|w| name.contains(w))
    });
    const SERVICES: [&str; 6] = [
        "hooks.slack.com",
        "discord.com",
        "discordapp.com",
        "webhook.office.com",
        "outlook.office.com",
        "api.telegram.org",
    ];
    let service = SERVICES
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")));
    let token_segment = path.split('/').any(|segment| {
        segment.len() >= 24
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && segment.chars().any(|c| c.is_ascii_digit())
            && segment.chars().any(|c| c.is_ascii_alphabetic())
    });
    (named_like_credential || service || token_segment).then_some(Found::Token)
}

/// A URL's `user:password@` taken out.
pub(super) struct Taken {
    /// The URL without it.
    pub url: String,
    /// The user name, percent-decoded, when Vigil's `basic_auth` can take
    /// it: not empty, no `:` or control character, and a password (not
    /// empty) after it.
    pub username: Option<String>,
}

/// `url` without its user information, when it has some that can be taken
/// out as Go's URL parser reads it (the last `@` of the authority). Only
/// the password's presence is looked at, never kept.
pub(super) fn take_userinfo(url: &str) -> Option<Taken> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (info, host) = authority.rsplit_once('@')?;
    if info.contains('#') {
        // A fragment, not user information: leave the URL whole.
        return None;
    }
    let username = info.split_once(':').and_then(|(user, password)| {
        let user = percent_decoded(user)?;
        let usable = !user.is_empty()
            && !password.is_empty()
            && !user.contains(':')
            && !user.chars().any(char::is_control);
        usable.then_some(user)
    });
    Some(Taken {
        url: format!("{scheme}://{host}{tail}"),
        username,
    })
}

/// `%XX` escapes decoded; `None` for a bad escape or bytes not UTF-8.
fn percent_decoded(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Adds the host of `url` to `notify.allow` when Vigil's SSRF guard would
/// refuse it otherwise: plain `http`, or an address on this machine or a
/// private network (Alertmanager reached it, so the operator meant it).
pub(super) fn allow_for(url: &str, at: &str, line: usize, conv: &mut Conv<'_>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return;
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
        None => authority.split(':').next().unwrap_or("").to_string(),
    };
    if host.is_empty() {
        return;
    }
    let internal = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    let why = if scheme.eq_ignore_ascii_case("http") {
        "plain http"
    } else if internal {
        "an internal address"
    } else {
        return;
    };
    if conv.allow.contains(&host) {
        return;
    }
    conv.report.note(
        at,
        line,
        format!(
            "Vigil's SSRF guard refuses {why} unless allowlisted: added {} to notify.allow",
            basic(&host)
        ),
    );
    conv.allow.push(host);
}

/// An API root (Opsgenie's, Telegram's) as Vigil's `api_url`: `None` for
/// `default` (a trailing `/` aside: Vigil's default is the same) and for
/// a URL holding a credential (noted: Vigil's `api_url` is plain text);
/// allowlisted when it is plain http or internal.
pub(super) fn api_url(
    url: &str,
    default: &str,
    at: &str,
    line: usize,
    conv: &mut Conv<'_>,
) -> Option<String> {
    if url.trim_end_matches('/') == default.trim_end_matches('/') {
        return None;
    }
    if credential_in(url).is_some() {
        conv.report.note(
            at,
            line,
            "a URL holding a credential cannot be carried (Vigil's api_url is plain text); left to Vigil's default",
        );
        return None;
    }
    allow_for(url, at, line, conv);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_recognised() {
        assert!(matches!(
            credential_in("https://u:p@hooks.example/x"),
            Some(Found::UserInfo)
        ));
        for url in [
            "https://hooks.example/x?token=abc",
            "https://hooks.slack.com/services/T0/B0/XXXX",
            "https://hooks.example/a1b2c3d4e5f6g7h8i9j0k1l2m3",
        ] {
            assert!(matches!(credential_in(url), Some(Found::Token)), "{url}");
        }
        for url in [
            "https://hooks.example/alertmanager",
            "http://127.0.0.1:9099/ops?format=v4",
        ] {
            assert!(credential_in(url).is_none(), "{url}");
        }
    }

    #[test]
    fn user_information_is_taken_out_of_urls() {
        let taken = take_userinfo("https://de%40ploy:pa:ss@hooks.example/x?y=1").unwrap();
        assert_eq!(taken.url, "https://hooks.example/x?y=1");
        assert_eq!(taken.username.as_deref(), Some("de@ploy"));
        let taken = take_userinfo("https://a@b:c@hooks.example:8443").unwrap();
        assert_eq!(taken.url, "https://hooks.example:8443");
        assert_eq!(taken.username.as_deref(), Some("a@b"), "the last @ ends it");
        for unusable in [
            "https://user@hooks.example/",
            "https://user:@hooks.example/",
            "https://:pw@hooks.example/",
            "https://us%3Aer:pw@hooks.example/",
            "https://us%zzer:pw@hooks.example/",
        ] {
            let taken = take_userinfo(unusable).unwrap();
            assert_eq!(taken.url, "https://hooks.example/", "{unusable}");
            assert!(taken.username.is_none(), "{unusable}");
        }
        assert!(take_userinfo("https://hooks.example#a@b").is_none());
        assert!(take_userinfo("https://hooks.example/a@b").is_none());
    }
}
