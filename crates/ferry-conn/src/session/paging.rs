//! Paged results as async streams.
//!
//! A [`PageStream`] fetches one page per request, passing the server's
//! paging state back for the next one, and only when the consumer asks for
//! it: memory stays bounded by one page (two with prefetching, which starts
//! fetching the next page as soon as the current one is handed out). A
//! stream may run several statements one after the other (a token range
//! scan runs one per piece of the range).
//!
//! [`RowStream`] decodes the pages' rows one at a time into [`Row`]s.
//! [`PageStream`] hands out the pages themselves, whose rows can be read
//! without copying ([`Rows::rows`] gives borrowed cells).

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferry_wire::response::{ColumnSpec, ResultResponse, Rows};
use ferry_wire::ProtocolVersion;
use futures::Stream;

use super::executor::StatementRequest;
use super::row::{decode_all, Row, RowCursor};
use super::statement::{columns_of, QueryResult};
use super::{Session, SessionError};

/// One page of rows, as the server sent it.
///
/// ```
/// # fn demo(page: ferry_conn::session::Page) {
/// // Zero-copy: each cell borrows from the page's buffer.
/// for row in page.rows().rows() {
///     let row = row.expect("validated when the page was decoded");
///     for cell in row.raw_cells() {
///         let _bytes: Option<&[u8]> = cell;
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    rows: Rows,
    columns: Arc<[ColumnSpec]>,
    coordinator: SocketAddr,
    version: ProtocolVersion,
}

impl Page {
    /// The rows, undecoded.
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// The column specs.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// The node that served the page.
    pub fn coordinator(&self) -> SocketAddr {
        self.coordinator
    }

    /// The protocol version the page was read with (needed to decode
    /// collections of protocol v2).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.row_count()
    }

    /// Whether the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, decoded.
    pub fn into_rows(self) -> Result<Vec<Row>, SessionError> {
        Ok(decode_all(self.rows, self.columns, self.version)?)
    }

    fn into_cursor(self) -> RowCursor {
        RowCursor::new(self.rows, self.columns, self.version)
    }

    /// The page in `result` and the paging state of the next one; a result
    /// other than rows counts as an empty last page.
    fn from_result(result: QueryResult) -> Result<(Option<Page>, Option<Bytes>), SessionError> {
        let fallback = result.fallback_columns.clone();
        match result.result {
            ResultResponse::Rows(rows) => {
                let columns = columns_of(&rows, fallback)?;
                let next = rows.metadata().paging_state.clone();
                let page = Page {
                    rows,
                    columns,
                    coordinator: result.coordinator,
                    version: result.protocol_version,
                };
                Ok((Some(page), next))
            }
            _ => Ok((None, None)),
        }
    }
}

type PageFuture =
    Pin<Box<dyn Future<Output = Result<(Option<Page>, Option<Bytes>), SessionError>> + Send>>;

enum State {
    /// Ready to fetch a page of the front request (`None`: its first).
    Idle(Option<Bytes>),
    /// A page is on its way.
    Fetching(PageFuture),
    /// Every request is exhausted, or one failed.
    Done,
}

/// A stream of [`Page`]s; see the module documentation.
pub struct PageStream {
    session: Session,
    requests: VecDeque<Arc<StatementRequest>>,
    state: State,
    prefetch: bool,
    /// The spawned fetch of a prefetched page, stopped if the stream is
    /// dropped before reading it.
    prefetching: Option<tokio::task::AbortHandle>,
}

impl Drop for PageStream {
    fn drop(&mut self) {
        if let Some(task) = self.prefetching.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for PageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("requests_left", &self.requests.len())
            .field("prefetch", &self.prefetch)
            .finish_non_exhaustive()
    }
}

impl PageStream {
    /// Pages of each request in turn, read ahead if the session's
    /// `prefetch_pages` says so.
    pub(crate) fn new(session: &Session, requests: Vec<StatementRequest>) -> Self {
        let prefetch = session.inner.config.prefetch_pages;
        let session = session.clone();
        let requests: VecDeque<_> = requests.into_iter().map(Arc::new).collect();
        let state = if requests.is_empty() {
            State::Done
        } else {
            State::Idle(None)
        };
        Self {
            session,
            requests,
            state,
            prefetch,
            prefetching: None,
        }
    }

    /// The stream's rows, decoded one at a time.
    pub fn into_rows(self) -> RowStream {
        RowStream {
            pages: self,
            current: None,
        }
    }

    fn start_fetch(&mut self, paging_state: Option<Bytes>) -> State {
        let Some(request) = self.requests.front().cloned() else {
            return State::Done;
        };
        let session = self.session.clone();
        let fetch = async move {
            let result = session.run_statement(&request, paging_state).await?;
            Page::from_result(result)
        };
        if self.prefetch {
            // Spawned, so it progresses while the consumer works on the
            // page it has.
            let handle = tokio::spawn(fetch);
            self.prefetching = Some(handle.abort_handle());
            State::Fetching(Box::pin(async move {
                handle
                    .await
                    .map_err(|e| SessionError::Task(format!("page fetch: {e}")))?
            }))
        } else {
            State::Fetching(Box::pin(fetch))
        }
    }

    /// Moves past a fetched page whose successor has `next` as its paging
    /// state.
    fn advance(&mut self, next: Option<Bytes>) {
        let next = match next {
            Some(state) => Some(state),
            None => {
                self.requests.pop_front();
                None
            }
        };
        self.state = if self.requests.is_empty() {
            State::Done
        } else if self.prefetch {
            self.start_fetch(next)
        } else {
            State::Idle(next)
        };
    }
}

impl Stream for PageStream {
    type Item = Result<Page, SessionError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Idle(paging_state) => {
                    let paging_state = paging_state.take();
                    this.state = this.start_fetch(paging_state);
                }
                State::Fetching(fetch) => match fetch.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok((page, next))) => {
                        this.advance(next);
                        // Servers may send empty pages that still have a
                        // successor: skip them.
                        if let Some(page) = page.filter(|p| !p.is_empty()) {
                            return Poll::Ready(Some(Ok(page)));
                        }
                    }
                },
            }
        }
    }
}

/// A stream of decoded [`Row`]s, fetching pages as it goes; see the module
/// documentation.
///
/// ```no_run
/// # async fn demo(session: &ferry_conn::session::Session) -> Result<(), ferry_conn::session::SessionError> {
/// use futures::TryStreamExt;
/// use ferry_conn::session::{QueryOptions, Values};
/// let mut rows = session.query_stream("SELECT k, v FROM ks.t", Values::None, QueryOptions::new().with_page_size(500));
/// while let Some(row) = rows.try_next().await? {
///     println!("{:?}", row.get(0));
/// }
/// # Ok(()) }
/// ```
pub struct RowStream {
    pages: PageStream,
    current: Option<RowCursor>,
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("pages", &self.pages)
            .field(
                "rows_buffered",
                &self.current.as_ref().map_or(0, RowCursor::remaining),
            )
            .finish()
    }
}

impl Stream for RowStream {
    type Item = Result<Row, SessionError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(cursor) = &mut this.current {
                match cursor.next_row() {
                    Some(Ok(row)) => return Poll::Ready(Some(Ok(row))),
                    Some(Err(e)) => {
                        this.current = None;
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    None => this.current = None,
                }
            }
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(page))) => this.current = Some(page.into_cursor()),
            }
        }
    }
}
