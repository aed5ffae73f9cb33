//! Running one request: pick the nodes (routing), try them in turn (retry
//! policy), and carry out each attempt on a connection, preparing the
//! statement on that node when it does not know it yet.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{BodyExtras, FrameFlags};
use ferry_wire::request::{
    Batch as WireBatch, BatchStatement, BatchStatementKind, BoundValues, Execute, Query,
    QueryParameters, QueryText, Request, SerializedValues,
};
use ferry_wire::response::{
    ColumnSpec, ErrorCode, ErrorDetails, Prepared, Response, ResultResponse,
};
use ferry_wire::{EncodeError, ProtocolVersion};

use super::pool::NodePool;
use super::prepared_cache::PreparedStatement;
use super::retry::{ErrorClass, RetryContext, RetryDecision};
use super::routing::{query_plan, Candidate, Preferences};
use super::statement::{BatchEntry, QueryOptions, QueryResult};
use super::values::{
    bound_routing_components, encode_bound_for_prepared, encode_for_query, routing_components,
    Values,
};
use super::{Session, SessionError};
use crate::connection::{Connection, ResponseFrame};
use crate::error::ConnError;
use crate::token::Token;

/// What a request runs.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A CQL statement.
    Query(QueryText),
    /// A prepared statement.
    Prepared(PreparedStatement),
}

/// A statement with its values and options: one request, or every page of
/// a paged one.
#[derive(Debug, Clone)]
pub(crate) struct StatementRequest {
    pub(crate) target: Target,
    pub(crate) values: Values,
    pub(crate) options: QueryOptions,
}

impl StatementRequest {
    pub(crate) fn new(target: Target, values: impl Into<Values>, options: QueryOptions) -> Self {
        Self {
            target,
            values: values.into(),
            options,
        }
    }
}

/// The values of a request serialized for one protocol version.
enum Encoded {
    Query(Option<BoundValues>),
    Prepared(BoundValues),
}

/// A successful attempt.
pub(crate) struct Outcome<T> {
    pub(crate) value: T,
    pub(crate) node: SocketAddr,
    pub(crate) attempts: u32,
}

impl Outcome<(ResultResponse, BodyExtras)> {
    /// The caller's view of a RESULT: what came back, from where, after how
    /// many attempts, over `version`.
    fn into_query_result(
        self,
        version: ProtocolVersion,
        fallback_columns: Option<Arc<[ColumnSpec]>>,
    ) -> QueryResult {
        let (result, extras) = self.value;
        QueryResult {
            result,
            coordinator: self.node,
            attempts: self.attempts,
            warnings: extras.warnings,
            tracing_id: extras.tracing_id,
            protocol_version: version,
            fallback_columns,
        }
    }
}

impl Session {
    /// Runs `request` (one page of it, from `paging_state`).
    pub(crate) async fn run_statement(
        &self,
        request: &StatementRequest,
        paging_state: Option<Bytes>,
    ) -> Result<QueryResult, SessionError> {
        let version = self.protocol_version();
        let encoded = encode(request, version)?;
        let token = match (
            self.routing_token(&request.options)?,
            &request.target,
            &encoded,
        ) {
            (Some(token), _, _) => Some(token),
            // The key is hashed only when no token was given.
            (None, Target::Prepared(stmt), Encoded::Prepared(bound)) => {
                self.key_token(bound_routing_components(bound, stmt.pk_indexes()))?
            }
            (None, _, _) => None,
        };
        let keyspace = request
            .options
            .keyspace
            .clone()
            .or_else(|| match &request.target {
                Target::Prepared(stmt) => stmt.keyspace().map(str::to_owned),
                Target::Query(_) => None,
            });
        let plan = self.plan(token, keyspace.as_deref()).await;
        let mut parameters = self.parameters(&request.options);
        if paging_state.is_some() {
            parameters.paging_state = paging_state;
        }
        let parameters = &parameters;
        let encoded = &encoded;
        let tracing = request.options.tracing;

        let outcome = self
            .run(&plan, request.options.idempotent, |conn, node| async move {
                let mut parameters = parameters.clone();
                let reencoded;
                let encoded = if conn.protocol_version() == version {
                    encoded
                } else {
                    reencoded =
                        encode(request, conn.protocol_version()).map_err(as_encode_error)?;
                    &reencoded
                };
                match (&request.target, encoded) {
                    (Target::Query(text), Encoded::Query(values)) => {
                        parameters.values = values.clone();
                        let query = Query {
                            query: text.clone(),
                            parameters,
                        };
                        send(&conn, query.into(), tracing).await
                    }
                    (Target::Prepared(stmt), Encoded::Prepared(values)) => {
                        parameters.values = Some(values.clone());
                        self.execute_on(&conn, node, stmt, parameters, tracing)
                            .await
                    }
                    _ => Err(as_encode_error(SessionError::Values(
                        "values encoded for the wrong kind of statement".into(),
                    ))),
                }
            })
            .await?;

        let result = &outcome.value.0;
        let fallback_columns = match &request.target {
            Target::Prepared(stmt) => {
                if let ResultResponse::Rows(rows) = result {
                    if let Some(id) = &rows.metadata().new_metadata_id {
                        stmt.update_result_metadata_id(outcome.node, id.clone());
                    }
                }
                stmt.result_columns_arc()
            }
            Target::Query(_) => None,
        };
        match result {
            // `USE` ran on one connection: make every connection follow.
            ResultResponse::SetKeyspace(ks) => self.use_keyspace(&ks.keyspace).await?,
            // Let the change reach every node before the next statement
            // may depend on it.
            ResultResponse::SchemaChange(_) => {
                self.await_schema_agreement_via(outcome.node).await?;
            }
            _ => {}
        }
        Ok(outcome.into_query_result(version, fallback_columns))
    }

    /// Runs a batch.
    pub(crate) async fn run_batch(
        &self,
        batch: &super::Batch,
        options: &QueryOptions,
    ) -> Result<QueryResult, SessionError> {
        let version = self.protocol_version();
        let entries = encode_batch(&batch.entries, version)?;
        let mut token = self.routing_token(options)?;
        let mut keyspace = options.keyspace.clone();
        for (entry, raw) in batch.entries.iter().zip(&entries) {
            if let BatchEntry::Prepared { statement, .. } = entry {
                if token.is_none() {
                    token = self.key_token(raw.routing_components(statement.pk_indexes()))?;
                    if token.is_some() && keyspace.is_none() {
                        keyspace = statement.keyspace().map(str::to_owned);
                    }
                }
            }
        }
        let plan = self.plan(token, keyspace.as_deref()).await;
        let parameters = self.parameters(options);
        let mut template = WireBatch::new(batch.batch_type, parameters.consistency);
        template.serial_consistency = parameters.serial_consistency;
        template.default_timestamp = parameters.default_timestamp;
        let template = &template;
        let entries = &entries;
        let tracing = options.tracing;

        let outcome = self
            .run(&plan, options.idempotent, |conn, node| async move {
                if conn.protocol_version() != version {
                    let reencoded = encode_batch(&batch.entries, conn.protocol_version())
                        .map_err(as_encode_error)?;
                    return self
                        .batch_on(&conn, node, &batch.entries, &reencoded, template, tracing)
                        .await;
                }
                self.batch_on(&conn, node, &batch.entries, entries, template, tracing)
                    .await
            })
            .await?;
        Ok(outcome.into_query_result(version, None))
    }

    /// Tries the nodes of `plan` in turn until an attempt succeeds or the
    /// retry policy gives up. Nodes without a usable connection are skipped
    /// without counting as attempts.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        plan: &[Arc<NodePool>],
        idempotent: bool,
        attempt: F,
    ) -> Result<Outcome<T>, SessionError>
    where
        F: Fn(Connection, SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, ConnError>>,
    {
        let policy = &self.inner.config.retry_policy;
        let mut unusable: Vec<(SocketAddr, String)> = Vec::new();
        let mut skipped_in_a_row = 0usize;
        let mut attempts = 0u32;
        let mut index = 0usize;
        loop {
            let Some(pool) = plan.get(index % plan.len().max(1)) else {
                return Err(SessionError::NoConnection { tried: unusable });
            };
            let node = pool.address();
            let conn = match pool.acquire().await {
                Ok(conn) => conn,
                Err(why) => {
                    unusable.retain(|(a, _)| *a != node);
                    unusable.push((node, why));
                    skipped_in_a_row += 1;
                    if skipped_in_a_row >= plan.len() {
                        return Err(SessionError::NoConnection { tried: unusable });
                    }
                    index += 1;
                    continue;
                }
            };
            skipped_in_a_row = 0;
            attempts += 1;
            let error = match attempt(conn, node).await {
                Ok(value) => {
                    return Ok(Outcome {
                        value,
                        node,
                        attempts,
                    })
                }
                Err(e) => e,
            };
            let class = ErrorClass::of(&error);
            let decision = policy.decide(&RetryContext {
                error: &error,
                class,
                attempts,
                idempotent,
            });
            match decision {
                RetryDecision::Fail => {
                    return Err(SessionError::Request {
                        node,
                        attempts,
                        source: Box::new(error),
                    })
                }
                RetryDecision::Retry { next_node, delay } => {
                    tracing::debug!(%node, attempts, error = %error, ?delay, "retrying");
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if next_node {
                        index += 1;
                    }
                }
            }
        }
    }

    /// The pools to try for a request routed by `token` (if any) in
    /// `keyspace` (if known), in order.
    pub(crate) async fn plan(
        &self,
        token: Option<Token>,
        keyspace: Option<&str>,
    ) -> Vec<Arc<NodePool>> {
        let state = self.state();
        let mut replicas: Vec<SocketAddr> = Vec::new();
        if let (Some(token), Some(ring)) = (token, state.ring.as_ref()) {
            let keyspace = keyspace.map(str::to_owned).or_else(|| self.keyspace());
            let strategy = match keyspace {
                Some(ks) => self.cached_replication(&ks).await,
                None => None,
            };
            replicas = match strategy {
                Some(strategy) => ring
                    .replicas(token, &strategy)
                    .map(|r| r.into_iter().copied().collect())
                    .unwrap_or_default(),
                // Without a strategy the owner is still the best guess.
                None => ring.owner(token).map(|a| vec![*a]).unwrap_or_default(),
            };
        }
        let candidates: Vec<Candidate<'_>> = state
            .nodes
            .iter()
            .filter_map(|n| {
                let pool = state.pools.get(&n.address)?;
                Some(Candidate {
                    address: n.address,
                    datacenter: &n.datacenter,
                    up: !pool.is_known_down(),
                })
            })
            .collect();
        let config = &self.inner.config;
        let preferences = Preferences {
            local_datacenter: config.local_datacenter.as_deref(),
            allow_remote: config.allow_remote_datacenters,
        };
        let rotation = self.next_rotation();
        query_plan(&candidates, &replicas, preferences, rotation)
            .into_iter()
            .filter_map(|a| state.pools.get(&a).cloned())
            .collect()
    }

    /// The QUERY/EXECUTE parameters for `options` (no values).
    fn parameters(&self, options: &QueryOptions) -> QueryParameters {
        let config = &self.inner.config;
        let mut p = QueryParameters::new(options.consistency.unwrap_or(config.consistency));
        p.page_size = Some(options.page_size.unwrap_or(config.page_size));
        p.paging_state = options.paging_state.clone();
        p.serial_consistency = options.serial_consistency.or(config.serial_consistency);
        // Chosen once per request, so every retry writes with the same
        // timestamp and a retried write cannot overwrite a newer one.
        p.default_timestamp = options.timestamp.or_else(|| {
            config
                .client_timestamps
                .then(|| self.inner.timestamps.next())
        });
        p
    }

    /// The token given in `options`, explicitly or as a routing key.
    fn routing_token(&self, options: &QueryOptions) -> Result<Option<Token>, SessionError> {
        if let Some(token) = options.routing_token {
            return Ok(Some(token));
        }
        match &options.routing_key {
            Some(components) => self.key_token(Some(components.clone())),
            None => Ok(None),
        }
    }

    /// The token of a partition key, if there is one and the partitioner
    /// is known.
    fn key_token(&self, components: Option<Vec<Bytes>>) -> Result<Option<Token>, SessionError> {
        match (components, self.partitioner()) {
            (Some(components), Some(partitioner)) => {
                Ok(Some(Token::for_key(partitioner, &components)?))
            }
            _ => Ok(None),
        }
    }

    /// EXECUTE on `conn`, preparing the statement on `node` first if needed,
    /// and again once if the node answers UNPREPARED.
    async fn execute_on(
        &self,
        conn: &Connection,
        node: SocketAddr,
        statement: &PreparedStatement,
        parameters: QueryParameters,
        tracing: bool,
    ) -> Result<(ResultResponse, BodyExtras), ConnError> {
        let mut local = match statement.on_node(node) {
            Some(p) => p,
            None => prepare_on(conn, node, statement).await?,
        };
        let mut reprepared = false;
        loop {
            let execute = Execute {
                id: local.id.clone(),
                result_metadata_id: result_metadata_id(conn, &local)?,
                parameters: parameters.clone(),
            };
            match send(conn, execute.into(), tracing).await {
                Err(e) if is_unprepared(&e) && !reprepared => {
                    tracing::debug!(%node, "statement unknown to the node; preparing it again");
                    reprepared = true;
                    local = prepare_on(conn, node, statement).await?;
                }
                other => return other,
            }
        }
    }

    /// BATCH on `conn`, preparing its prepared statements on `node` as
    /// needed, and again once if the node answers UNPREPARED.
    async fn batch_on(
        &self,
        conn: &Connection,
        node: SocketAddr,
        entries: &[BatchEntry],
        values: &[BatchValues<'_>],
        template: &WireBatch,
        tracing: bool,
    ) -> Result<(ResultResponse, BodyExtras), ConnError> {
        let mut reprepared = false;
        loop {
            let mut batch = template.clone();
            for (entry, values) in entries.iter().zip(values) {
                let kind = match entry {
                    BatchEntry::Query { cql, .. } => BatchStatementKind::Query(cql.as_str().into()),
                    BatchEntry::Prepared { statement, .. } => {
                        let local = match statement.on_node(node) {
                            Some(p) => p,
                            None => prepare_on(conn, node, statement).await?,
                        };
                        BatchStatementKind::Prepared(local.id.clone())
                    }
                };
                batch.statements.push(BatchStatement {
                    kind,
                    values: values.to_bound(),
                });
            }
            match send(conn, batch.into(), tracing).await {
                Err(ConnError::Server(e)) if !reprepared => {
                    let ErrorDetails::Unprepared { id } = &e.details else {
                        return Err(ConnError::Server(e));
                    };
                    reprepared = true;
                    for entry in entries {
                        if let BatchEntry::Prepared { statement, .. } = entry {
                            if statement.id_on(node).as_ref() == Some(id) {
                                prepare_on(conn, node, statement).await?;
                            }
                        }
                    }
                }
                other => return other,
            }
        }
    }
}

/// Sends `request` on `conn` and returns its RESULT; an ERROR becomes
/// [`ConnError::Server`].
pub(crate) async fn send(
    conn: &Connection,
    request: Request,
    tracing: bool,
) -> Result<(ResultResponse, BodyExtras), ConnError> {
    let mut body = BytesMut::new();
    request.encode(&mut body, conn.protocol_version())?;
    let flags = if tracing {
        FrameFlags::TRACING
    } else {
        FrameFlags::NONE
    };
    let frame = conn
        .send_raw_with_flags(request.opcode(), flags, body.freeze())
        .await?;
    let decoded = ResponseFrame::decode(frame)?;
    match decoded.response {
        Response::Result(result) => Ok((result, decoded.extras)),
        Response::Error(e) => Err(ConnError::Server(e)),
        other => Err(ConnError::Protocol {
            address: conn.address().to_owned(),
            message: format!(
                "{} answered with {} instead of RESULT",
                request.opcode().name(),
                other.opcode().name()
            ),
        }),
    }
}

/// Prepares `statement` on `node` (through `conn`) and records its answer.
async fn prepare_on(
    conn: &Connection,
    node: SocketAddr,
    statement: &PreparedStatement,
) -> Result<Arc<Prepared>, ConnError> {
    let prepared = conn.prepare(statement.cql()).await?;
    Ok(statement.set_on_node(node, prepared))
}

/// The result metadata id EXECUTE needs on a v5 connection.
fn result_metadata_id(conn: &Connection, local: &Prepared) -> Result<Option<Bytes>, ConnError> {
    if !conn.protocol_version().uses_segments() {
        return Ok(None);
    }
    local.result_metadata_id.clone().map(Some).ok_or_else(|| {
        ConnError::Encode(EncodeError::Invalid(
            "EXECUTE in protocol v5 needs the result metadata id of the Prepared result, \
             which this node's lacks"
                .into(),
        ))
    })
}

fn is_unprepared(e: &ConnError) -> bool {
    e.server_code() == Some(ErrorCode::UNPREPARED)
}

fn encode(request: &StatementRequest, version: ProtocolVersion) -> Result<Encoded, SessionError> {
    Ok(match &request.target {
        Target::Query(_) => Encoded::Query(encode_for_query(&request.values, version)?),
        Target::Prepared(stmt) => Encoded::Prepared(encode_bound_for_prepared(
            &request.values,
            stmt.bind_markers(),
            version,
        )?),
    })
}

/// The values of one batch statement: encoded, or already serialized by
/// the caller (borrowed: copied once per attempt, into the request).
enum BatchValues<'a> {
    Encoded(BoundValues),
    Serialized(&'a SerializedValues),
}

impl BatchValues<'_> {
    fn to_bound(&self) -> BoundValues {
        match self {
            Self::Encoded(v) => v.clone(),
            Self::Serialized(v) => BoundValues::Serialized((*v).clone()),
        }
    }

    fn routing_components(&self, pk_indexes: &[usize]) -> Option<Vec<Bytes>> {
        match self {
            Self::Encoded(v) => bound_routing_components(v, pk_indexes),
            Self::Serialized(v) if !pk_indexes.is_empty() => {
                routing_components(&v.to_raw_values(), pk_indexes)
            }
            Self::Serialized(_) => None,
        }
    }
}

fn encode_batch(
    entries: &[BatchEntry],
    version: ProtocolVersion,
) -> Result<Vec<BatchValues<'_>>, SessionError> {
    entries
        .iter()
        .map(|entry| match entry {
            BatchEntry::Query { values, .. } => match encode_for_query(values, version)? {
                None => Ok(BatchValues::Encoded(BoundValues::Positional(Vec::new()))),
                Some(BoundValues::Named(_)) => Err(SessionError::Values(
                    "batch statements take positional values only".into(),
                )),
                Some(positional) => Ok(BatchValues::Encoded(positional)),
            },
            BatchEntry::Prepared {
                statement,
                values: Values::Serialized(values),
            } => {
                // The same count check as for any prepared statement.
                encode_check_count(values.len(), statement.bind_markers().len())?;
                Ok(BatchValues::Serialized(values))
            }
            BatchEntry::Prepared { statement, values } => Ok(BatchValues::Encoded(
                encode_bound_for_prepared(values, statement.bind_markers(), version)?,
            )),
        })
        .collect()
}

fn encode_check_count(values: usize, markers: usize) -> Result<(), SessionError> {
    if values == markers {
        Ok(())
    } else {
        Err(SessionError::Values(format!(
            "the statement has {markers} bind marker(s) but {values} value(s) were given"
        )))
    }
}

/// A value error met during an attempt, as the connection-layer error the
/// retry loop understands (never retried).
fn as_encode_error(e: SessionError) -> ConnError {
    ConnError::Encode(EncodeError::Invalid(e.to_string()))
}
