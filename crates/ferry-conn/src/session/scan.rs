//! Reading a table one token range at a time.
//!
//! `SELECT cols FROM ks.table WHERE token(pk) > ? AND token(pk) <= ?`
//! reads exactly the partitions whose token is in `(lower, upper]`. A range
//! that wraps round the ring is read as its two non-wrapping pieces
//! ([`TokenRange::cql_bounds`]); each piece goes to a replica of its upper
//! bound, which for a range inside one primary range is a replica of every
//! key it holds, so the scan runs where the data is.

use ferry_wire::RawValue;

use super::executor::{StatementRequest, Target};
use super::paging::{PageStream, RowStream};
use super::schema::quote_identifier;
use super::statement::QueryOptions;
use super::values::Values;
use super::{Session, SessionError};
use crate::token::TokenRange;

/// The scan statement: `columns` of `keyspace.table` (all if empty) for
/// one token range, the bounds bound as the two markers. Every name is
/// quoted, so it is taken exactly as the schema stores it.
pub(crate) fn scan_cql(
    keyspace: &str,
    table: &str,
    columns: &[&str],
    partition_key: &[String],
) -> String {
    let selected = if columns.is_empty() {
        "*".to_owned()
    } else {
        columns
            .iter()
            .map(|c| quote_identifier(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let key = partition_key
        .iter()
        .map(|c| quote_identifier(c))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {selected} FROM {}.{} WHERE token({key}) > ? AND token({key}) <= ?",
        quote_identifier(keyspace),
        quote_identifier(table),
    )
}

impl Session {
    /// Every row of `keyspace.table` whose partition token is in `range`,
    /// as pages; see [`Session::scan_range`].
    pub async fn scan_range_pages(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        range: &TokenRange,
        options: QueryOptions,
    ) -> Result<PageStream, SessionError> {
        if let Some(partitioner) = self.partitioner() {
            if range.partitioner() != partitioner {
                return Err(SessionError::Token(
                    crate::token::TokenError::PartitionerMismatch {
                        expected: partitioner,
                        found: range.partitioner(),
                    },
                ));
            }
        }
        let partition_key = self.partition_key_columns(keyspace, table).await?;
        let statement = self
            .prepare(&scan_cql(keyspace, table, columns, &partition_key))
            .await?;
        let requests = range
            .cql_bounds()
            .into_iter()
            .map(|bounds| {
                let mut options = options.clone();
                options.routing_token = options.routing_token.or(Some(bounds.upper_inclusive));
                options.keyspace = options.keyspace.or_else(|| Some(keyspace.to_owned()));
                // Reads can always run twice.
                options.idempotent = true;
                StatementRequest {
                    target: Target::Prepared(statement.clone()),
                    values: Values::Raw(vec![
                        RawValue::Bytes(bounds.lower_exclusive.to_cql_bytes().into()),
                        RawValue::Bytes(bounds.upper_inclusive.to_cql_bytes().into()),
                    ]),
                    options,
                }
            })
            .collect();
        Ok(PageStream::new(self, requests))
    }

    /// Every row of `keyspace.table` whose partition token is in `range`
    /// (`(start, end]`, wrapping or not), each exactly once: `columns` (all
    /// if empty) of each row, read page by page from a replica of the range.
    ///
    /// Names are taken as the schema stores them (case-sensitive).
    ///
    /// ```no_run
    /// # async fn demo(session: &ferry_conn::session::Session) -> Result<(), ferry_conn::session::SessionError> {
    /// use futures::TryStreamExt;
    /// use ferry_conn::session::QueryOptions;
    /// let ring = session.ring().expect("Murmur3 or Random partitioner");
    /// for primary in ring.ranges() {
    ///     let rows: Vec<_> = session
    ///         .scan_range("shop", "orders", &["id", "total"], &primary.range, QueryOptions::new())
    ///         .await?
    ///         .try_collect()
    ///         .await?;
    ///     println!("{} rows in {}", rows.len(), primary.range);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn scan_range(
        &self,
        keyspace: &str,
        table: &str,
        columns: &[&str],
        range: &TokenRange,
        options: QueryOptions,
    ) -> Result<RowStream, SessionError> {
        Ok(self
            .scan_range_pages(keyspace, table, columns, range, options)
            .await?
            .into_rows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_statement_quotes_names_and_lists_the_key() {
        assert_eq!(
            scan_cql("Shop", "orders", &["id", "Total"], &["id".into()]),
            r#"SELECT "id", "Total" FROM "Shop"."orders" WHERE token("id") > ? AND token("id") <= ?"#
        );
        assert_eq!(
            scan_cql("ks", "t", &[], &["a".into(), "b".into()]),
            r#"SELECT * FROM "ks"."t" WHERE token("a", "b") > ? AND token("a", "b") <= ?"#
        );
    }
}
