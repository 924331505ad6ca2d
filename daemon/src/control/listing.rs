//! Listings: every list request is answered by page frames and one
//! [`ListEnd`], so no reply has to fit one frame and neither side holds a
//! whole listing. The daemon reads one page at a time (at most
//! [`PAGE_ITEMS`] items after the last one it sent, in the listing's order),
//! sends it in frames of about [`PAGE_TARGET`] bytes, and goes on from that
//! item: memory is bounded by a page, not by the listing.
//!
//! A listing of a view reads it afresh for each page: an item changed while
//! the listing runs is sent at most once, at its new place if that is still
//! ahead of the cursor, or not at all if it moved behind it.

use super::conn::{Conn, Fail, Served, refuse};
use serde::Serialize;
use std::cmp::Ordering;
use std::future::Future;
use vigil_proto::frame::MAX_FRAME;
use vigil_proto::{ErrorCode, ListEnd, PAGE_TARGET, Response, Truncated};

/// Items read per page.
pub const PAGE_ITEMS: usize = 512;
/// Room left in a frame for the envelope around its items.
const ENVELOPE: usize = 1024;

/// One page read for a listing.
pub struct Page<K, L> {
    /// The items, in listing order.
    pub items: Vec<L>,
    /// The cursor after the last item (to read the next page from).
    pub last: Option<K>,
    /// How many match in all, when that came for free.
    pub matching: Option<u64>,
}

/// The first `max` items of `items` in `order` for which `after` holds (the
/// items past the cursor), sorted. Keeps at most `2 * max` items at once:
/// a page of a 100 000-item view neither sorts nor copies the view.
pub fn next_page<T>(
    items: impl IntoIterator<Item = T>,
    order: impl Fn(&T, &T) -> Ordering,
    after: impl Fn(&T) -> bool,
    max: usize,
) -> Vec<T> {
    let mut kept: Vec<T> = Vec::new();
    if max == 0 {
        return kept;
    }
    for item in items.into_iter().filter(|t| after(t)) {
        kept.push(item);
        if kept.len() == 2 * max {
            kept.select_nth_unstable_by(max - 1, &order);
            kept.truncate(max);
        }
    }
    kept.sort_by(&order);
    kept.truncate(max);
    kept
}

/// Bytes `value` takes as JSON.
pub(super) fn json_len<T: Serialize>(value: &T) -> Result<usize, Fail> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)
        .map_err(|e| refuse(ErrorCode::Internal, format!("cannot encode an item: {e}")))?;
    Ok(count.0)
}

/// Splits `items` into runs of about `target` bytes of JSON each (at least
/// one item per run); an item over `max` alone is an error naming it.
pub fn frames<T: Serialize>(
    items: Vec<T>,
    target: usize,
    max: usize,
    describe: impl Fn(&T) -> String,
) -> Result<Vec<Vec<T>>, Fail> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    let mut bytes = 0;
    for item in items {
        let len = json_len(&item)? + 1;
        if len > max {
            return Err(refuse(
                ErrorCode::FrameTooLarge,
                format!(
                    "{} is {len} bytes as JSON, over the {MAX_FRAME}-byte frame limit; it cannot be listed",
                    describe(&item)
                ),
            ));
        }
        if !run.is_empty() && bytes + len > target {
            out.push(std::mem::take(&mut run));
            bytes = 0;
        }
        bytes += len;
        run.push(item);
    }
    if !run.is_empty() {
        out.push(run);
    }
    Ok(out)
}

impl Conn<'_> {
    /// Sends `items` as page frames (`wrap` builds one), each under the cap.
    pub(super) async fn send_items<T: Serialize>(
        &mut self,
        items: Vec<T>,
        wrap: impl Fn(Vec<T>) -> Response,
        describe: impl Fn(&T) -> String,
    ) -> Served {
        for run in frames(items, PAGE_TARGET, MAX_FRAME - ENVELOPE, describe)? {
            self.send(&wrap(run)).await?;
        }
        Ok(())
    }

    /// Streams a listing: pages from `fetch(cursor, max)` until one comes
    /// back short or `limit` items were sent (then one more is looked for,
    /// to tell whether the listing was cut). Returns how it ended; the
    /// caller sends it.
    pub(super) async fn stream_pages<K, L, F, Fut>(
        &mut self,
        limit: Option<u64>,
        mut fetch: F,
        wrap: impl Fn(Vec<L>) -> Response,
        describe: impl Fn(&L) -> String,
    ) -> Result<ListEnd, Fail>
    where
        K: Clone,
        L: Serialize,
        F: FnMut(Option<K>, usize) -> Fut,
        Fut: Future<Output = Result<Page<K, L>, Fail>>,
    {
        let mut cursor: Option<K> = None;
        let mut listed = 0u64;
        loop {
            let room = limit.map_or(PAGE_ITEMS, |l| {
                usize::try_from(l.saturating_sub(listed)).map_or(PAGE_ITEMS, |r| r.min(PAGE_ITEMS))
            });
            if room == 0 {
                let more = fetch(cursor, 1).await?;
                let truncated = (!more.items.is_empty()).then(|| Truncated {
                    limit: limit.unwrap_or(listed),
                    matching: more.matching,
                });
                return Ok(ListEnd { listed, truncated });
            }
            let page = fetch(cursor.clone(), room).await?;
            let n = page.items.len();
            listed += n as u64;
            if page.last.is_some() {
                cursor = page.last;
            }
            self.send_items(page.items, &wrap, &describe).await?;
            if n < room {
                return Ok(ListEnd {
                    listed,
                    truncated: None,
                });
            }
        }
    }

    /// Sends the end of a listing.
    pub(super) async fn end_listing(&mut self, end: ListEnd) -> Served {
        self.send(&Response::ListEnd(end)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;

    /// Pages through `items` (newest first by time, then by id) the way a
    /// listing does, `max` at a time, and returns the ids in the order sent.
    fn page_through(items: &[(i64, &str)], max: usize) -> Vec<String> {
        let order =
            |a: &&(i64, &str), b: &&(i64, &str)| (Reverse(a.0), a.1).cmp(&(Reverse(b.0), b.1));
        let mut cursor: Option<(i64, String)> = None;
        let mut sent = Vec::new();
        loop {
            let page = next_page(
                items.iter(),
                order,
                |i| {
                    cursor
                        .as_ref()
                        .is_none_or(|(t, id)| (Reverse(i.0), i.1) > (Reverse(*t), id.as_str()))
                },
                max,
            );
            sent.extend(page.iter().map(|i| i.1.to_string()));
            match page.last() {
                Some(last) if page.len() == max => cursor = Some((last.0, last.1.to_string())),
                _ => return sent,
            }
        }
    }

    #[test]
    fn pages_list_every_item_once_in_order_whatever_the_page_size() {
        // Ties on time are ordered by id; ids given out of order.
        let items: Vec<(i64, String)> = (0..1000)
            .map(|i| ((i * 7919) % 97, format!("{:04}", (i * 31) % 1000)))
            .collect();
        let items: Vec<(i64, &str)> = items.iter().map(|(t, id)| (*t, id.as_str())).collect();
        let mut expected = items.clone();
        expected.sort_by(|a, b| (Reverse(a.0), a.1).cmp(&(Reverse(b.0), b.1)));
        let expected: Vec<String> = expected.iter().map(|i| i.1.to_string()).collect();
        for max in [1, 2, 3, 7, 97, 512, 999, 1000, 1001, 5000] {
            assert_eq!(page_through(&items, max), expected, "pages of {max}");
        }
        assert!(page_through(&[], 10).is_empty());
    }

    #[test]
    fn a_page_is_the_first_items_past_the_cursor() {
        let page = next_page(
            [9, 3, 7, 1, 8, 2, 6, 4, 5, 0],
            |a: &i32, b: &i32| a.cmp(b),
            |&i| i > 2,
            4,
        );
        assert_eq!(page, [3, 4, 5, 6]);
        assert!(next_page([1, 2], |a: &i32, b| a.cmp(b), |_| true, 0).is_empty());
        assert_eq!(
            next_page([2, 1], |a: &i32, b| a.cmp(b), |_| true, 5),
            [1, 2]
        );
    }

    #[test]
    fn frames_stay_under_the_target_and_an_oversized_item_is_refused() {
        let items: Vec<String> = (0..100).map(|i| format!("{i:0>50}")).collect();
        // 50 characters, 2 quotes, 1 separator: 53 bytes an item.
        let runs = frames(items.clone(), 530, 1000, |s| s.clone()).unwrap();
        assert_eq!(runs.len(), 10);
        assert!(runs.iter().all(|r| r.len() == 10));
        assert_eq!(runs.concat(), items, "every item once, in order");
        // One item per frame when each is over the target but under the cap.
        assert_eq!(
            frames(items.clone(), 10, 1000, |s| s.clone())
                .unwrap()
                .len(),
            100
        );
        match frames(items, 10, 52, |s| format!("item {}", &s[48..])) {
            Err(Fail::Refuse(e)) => {
                assert_eq!(e.code, ErrorCode::FrameTooLarge);
                assert!(e.message.contains("item 00 is 53 bytes"), "{}", e.message);
            }
            _ => panic!("an item over the cap must be refused"),
        }
    }
}
