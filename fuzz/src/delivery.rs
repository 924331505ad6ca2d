//! A webhook delivery as the driver targets read it, shaped like an HTTP
//! request without its request line:
//!
//! ```text
//! Header-Name: value
//! Other-Header: value
//!
//! body bytes
//! ```
//!
//! Headers run to the first empty line (`\n` or `\r\n` endings); input
//! that starts with an empty line has no headers, and input with no empty
//! line at all is all body. A header line without `:`, or whose name or value `http` refuses,
//! is skipped, as a server would refuse the request before any driver saw
//! it. Values lose surrounding spaces and tabs, as hyper's parser does.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Splits `data` into headers and body.
pub fn parse(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let Some(end) = header_block_end(data) else {
        return (headers, data);
    };
    let (block, body) = (&data[..end.0], &data[end.1..]);
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    (headers, body)
}

/// Where the header block ends and where the body starts.
fn header_block_end(data: &[u8]) -> Option<(usize, usize)> {
    if data.starts_with(b"\n") {
        return Some((0, 1));
    }
    if data.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    (0..data.len()).find_map(|i| {
        let rest = &data[i..];
        if rest.starts_with(b"\n\n") {
            Some((i, i + 2))
        } else if rest.starts_with(b"\r\n\r\n") {
            Some((i, i + 4))
        } else {
            None
        }
    })
}

/// The input [`parse`] reads back as `headers` and `body` (for seeds).
pub fn encode(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data = encode(&[("X-A", "1"), ("x-b", " two ")], b"{\"k\":1}\n\n");
        let (headers, body) = parse(&data);
        assert_eq!(headers.get("x-a").unwrap(), "1");
        assert_eq!(headers.get("x-b").unwrap(), "two");
        assert_eq!(body, b"{\"k\":1}\n\n");
        let (headers, body) = parse(b"{}");
        assert!(headers.is_empty());
        assert_eq!(body, b"{}");
        let data = encode(&[], b"X: y\n\nz");
        let (headers, body) = parse(&data);
        assert!(headers.is_empty());
        assert_eq!(body, b"X: y\n\nz");
    }
}
