//! The program a syslog line names: `Dec  6 10:00:01 host sshd[42]: ...`
//! (rsyslog's traditional format, Debian's default), the same with an
//! RFC 3339 time (`2026-12-06T10:00:01.123456+00:00 host sshd[42]: ...`),
//! or a journal line as the collector writes it (`sshd[42]: ...`).
//!
//! A built-in rule for sshd applies only to lines sshd wrote: without
//! this, any local user could raise an "SSH brute force" alert with
//! `logger "Failed password for root from 10.0.0.1 port 22"`.

/// The program that wrote `line`, if it has a syslog header.
pub fn program(line: &str) -> Option<&str> {
    let rest = after_header(line).unwrap_or(line);
    tag(rest)
}

/// `line` after its time and host, if it starts with a time.
fn after_header(line: &str) -> Option<&str> {
    let mut words = line.split_ascii_whitespace();
    let first = words.next()?;
    let skip = if is_rfc3339(first) {
        // time, host
        2
    } else if is_month(first) {
        // month, day, time, host
        let day = words.next()?;
        let time = words.next()?;
        if !day.bytes().all(|b| b.is_ascii_digit()) || !is_clock(time) {
            return None;
        }
        4
    } else {
        return None;
    };
    let mut rest = line;
    for _ in 0..skip {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let end = rest.find(|c: char| c.is_ascii_whitespace())?;
        rest = &rest[end..];
    }
    Some(rest.trim_start_matches(|c: char| c.is_ascii_whitespace()))
}

/// `sshd` of `sshd[42]: ...` or `sshd: ...`; `kernel` of `kernel: ...`.
fn tag(rest: &str) -> Option<&str> {
    let end = rest.find([':', '['])?;
    let name = &rest[..end];
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let after = &rest[end..];
    let closed = if let Some(pid) = after.strip_prefix('[') {
        let close = pid.find(']')?;
        pid[..close].bytes().all(|b| b.is_ascii_digit()) && pid[close + 1..].starts_with(':')
    } else {
        true
    };
    closed.then_some(name)
}

fn is_month(word: &str) -> bool {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .contains(&word)
}

fn is_clock(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 8 && b[2] == b':' && b[5] == b':'
}

fn is_rfc3339(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':'
}

#[cfg(test)]
mod tests {
    use super::program;

    #[test]
    fn the_program_of_each_format() {
        for (line, expected) in [
            (
                "Dec  6 10:00:01 bastion sshd[4242]: Failed password",
                Some("sshd"),
            ),
            (
                "2026-12-06T10:00:01.123456+00:00 bastion sudo:    alice : TTY=pts/0",
                Some("sudo"),
            ),
            (
                "Dec  6 10:05:00 db kernel: [123456.789] Out of memory",
                Some("kernel"),
            ),
            ("sshd-session[77]: Invalid user x", Some("sshd-session")),
            ("systemd[1]: nginx.service: Failed", Some("systemd")),
            ("Failed password for root from 10.0.0.1", None),
            ("Dec  6 10:00:01 host", None),
            ("Dec  6 10:00:01 host logger[x]: y", None),
            ("", None),
        ] {
            assert_eq!(program(line), expected, "{line}");
        }
    }
}
