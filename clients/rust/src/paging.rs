//! Turns a page-at-a-time list call into one stream of items.

use std::future::Future;

use futures_core::Stream;

use crate::Error;

/// Streams the items of every page, starting at `page_token`, until a page has no `next_page_token`.
///
/// `fetch` gets a page token and returns the page's items with the next token.
pub(crate) fn paginate<T, F, Fut>(page_token: String, mut fetch: F) -> impl Stream<Item = Result<T, Error>> + Send
where
    T: Send + 'static,
    F: FnMut(String) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, String), Error>> + Send,
{
    async_stream::try_stream! {
        let mut token = page_token;
        loop {
            let (items, next) = fetch(token).await?;
            for item in items {
                yield item;
            }
            if next.is_empty() {
                break;
            }
            token = next;
        }
    }
}
