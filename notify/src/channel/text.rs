//! Text the chat and push channels share: cutting a message to a service's
//! limit without splitting a character.

/// `text` cut to at most `max` bytes at a character boundary, ending in
/// `…` when cut. Counting bytes keeps the result within the limit however
/// the service counts (bytes, characters or UTF-16 units).
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn cuts_at_a_character_boundary_within_the_limit() {
        assert_eq!(truncate("short", 10), "short");
        // é is 2 bytes and … 3: 7 bytes hold two é and the ellipsis, and 6
        // only one (a third byte would split the second é).
        let cut = truncate("ééééé", 7);
        assert!(cut.len() <= 7 && cut.ends_with('…'), "{cut}");
        assert_eq!(cut, "éé…");
        assert_eq!(truncate("ééééé", 6), "é…");
    }
}
