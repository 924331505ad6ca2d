//! A webhook URL's path and query are its secret: no error and no `Debug`
//! output may contain them.

use super::{Dns, check, policy};
use crate::ssrf::{Destination, Policy};

const CANARY: &str = "T0KEN-CANARY";

#[tokio::test]
async fn no_refusal_contains_the_path_or_query() {
    let dns = Dns::new()
        .answer("private.example", &["10.0.0.5"])
        .answer("empty.example", &[]);
    let urls = [
        "https://127.0.0.1/services/T0KEN-CANARY?key=T0KEN-CANARY",
        "https://0x7f.1/T0KEN-CANARY",
        "http://hooks.example/services/T0KEN-CANARY",
        "https://private.example/T0KEN-CANARY?T0KEN-CANARY",
        "https://missing.example/T0KEN-CANARY",
        "https://empty.example/T0KEN-CANARY",
        "https://localhost/T0KEN-CANARY",
        "https://1.2.3.4.5/T0KEN-CANARY",
        "https://[fe80::1%25eth0]/T0KEN-CANARY",
        "https://user:T0KEN-CANARY@hooks.example/T0KEN-CANARY",
        "https://hooks.example/T0KEN-CANARY#frag",
        "https://hooks.example/T0KEN-CANARY with spaces",
        "https://hooks.example:99999/T0KEN-CANARY",
        "ftp://hooks.example/T0KEN-CANARY",
        "hooks.example/T0KEN-CANARY?x=://y",
        "https://hooks.example\\T0KEN-CANARY",
    ];
    for url in urls {
        let blocked = check(&Policy::default(), url, &dns).await.unwrap_err();
        // Case-insensitively: hosts and schemes are lowercased on the way.
        let shown = format!("{blocked} {blocked:?}").to_ascii_uppercase();
        assert!(!shown.contains(CANARY), "{url}: {shown}");
    }
}

#[tokio::test]
async fn debug_and_display_show_only_scheme_host_and_port() {
    let url = "https://hooks.slack.example/services/T0KEN-CANARY?token=T0KEN-CANARY";
    let destination = Destination::parse(url).unwrap();
    assert_eq!(destination.to_string(), "https://hooks.slack.example:443");
    assert_eq!(
        format!("{destination:?}"),
        "Destination { scheme: Https, host: Name(\"hooks.slack.example\"), port: 443, path_and_query: \"<redacted>\" }"
    );
    let dns = Dns::new().answer("hooks.slack.example", &["93.184.215.14"]);
    let pinned = check(&Policy::default(), url, &dns).await.unwrap();
    assert!(!format!("{pinned:?} {pinned:#?}").contains(CANARY));
    // The client, and only the client, gets the secret part.
    assert_eq!(
        pinned.destination().path_and_query(),
        "/services/T0KEN-CANARY?token=T0KEN-CANARY"
    );
    assert!(!format!("{:?}", policy(&["hooks.internal"])).contains(CANARY));
}
