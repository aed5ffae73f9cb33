//! The answers: from the source's `system.local` row to the Rows result
//! of the client's query, describing the proxy instances.

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::frame::{BodyExtras, Frame, FrameHeader};
use ferry_wire::request::Query;
use ferry_wire::response::{
    result_kind, ColumnSpec, ErrorDetails, ErrorResponse, Prepared, PreparedMetadata, Rows,
    RowsBuilder, RowsMetadata, TableSpec,
};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{Consistency, Opcode, ProtocolVersion};

use super::query::{SystemTable, TopologyQuery};
use super::ring::{host_id_of, tokens_of};
use super::ProxyTopology;
use crate::responses::error_frame;

/// What the proxy asks the source in place of any topology query.
pub(crate) const LOCAL_QUERY: &str = "SELECT * FROM system.local WHERE key='local'";

/// Storage port shown in `peers_v2.peer_port` when the source does not say.
const DEFAULT_STORAGE_PORT: i32 = 7000;

/// The request sent to the source instead of a topology query, on the
/// client's stream.
pub(crate) fn local_query_frame(version: ProtocolVersion, stream: i16) -> Option<Frame> {
    let mut body = BytesMut::new();
    Query::new(LOCAL_QUERY, Consistency::One)
        .encode(&mut body, version)
        .ok()?;
    Some(Frame::new(
        FrameHeader::request(version, stream, Opcode::Query, 0),
        body.freeze(),
    ))
}

/// The client's answer, from the source's answer to [`LOCAL_QUERY`]
/// (`source`, body decompressed). `None` if the source did not answer with
/// rows (an error): the client then gets the source's answer as it is.
/// `skip_metadata`: the client's EXECUTE asked for no column metadata.
pub(crate) fn answer_frame(
    query: &TopologyQuery,
    skip_metadata: bool,
    topology: &ProxyTopology,
    source: &Frame,
) -> Option<Frame> {
    if source.header.opcode != Opcode::Result {
        return None;
    }
    let version = source.header.version;
    let stream = source.header.stream;
    let (_, mut r) = BodyExtras::split(&source.header, source.body.clone()).ok()?;
    if r.read_int("result.kind").ok()? != result_kind::ROWS {
        return None;
    }
    let local = Rows::decode(&mut r, version).ok()?;
    if let Some(id) = &query.prepare_id {
        let answer = prepared(query, id, topology, &local, version);
        return Some(match answer {
            Ok(prepared) => {
                let mut body = BytesMut::new();
                body.put_i32(result_kind::PREPARED);
                prepared.encode(&mut body, version).ok()?;
                Frame::new(
                    FrameHeader::response(version, stream, Opcode::Result, 0),
                    body.freeze(),
                )
            }
            Err(message) => error_frame(
                version,
                stream,
                &ErrorResponse::new(ErrorDetails::Invalid, message),
            ),
        });
    }
    match rewrite(query, topology, &local, version) {
        Ok(rows) => {
            let rows = if skip_metadata {
                let (metadata, count, content) = rows.into_parts();
                Rows::from_raw(
                    RowsMetadata::without_columns(metadata.column_count),
                    count,
                    content,
                )
                .ok()?
            } else {
                rows
            };
            let mut body = BytesMut::new();
            body.put_i32(result_kind::ROWS);
            rows.encode(&mut body, version).ok()?;
            Some(Frame::new(
                FrameHeader::response(version, stream, Opcode::Result, 0),
                body.freeze(),
            ))
        }
        Err(message) => Some(error_frame(
            version,
            stream,
            &ErrorResponse::new(ErrorDetails::Invalid, message),
        )),
    }
}

use super::filter::{self, Row};

/// The source's local row: its columns and cells.
struct LocalRow {
    columns: Vec<ColumnSpec>,
    cells: Vec<Option<Bytes>>,
}

impl LocalRow {
    fn cell(&self, name: &str) -> Option<Bytes> {
        let i = self.columns.iter().position(|c| c.name == name)?;
        self.cells.get(i).cloned().flatten()
    }

    fn text(&self, name: &str) -> String {
        self.cell(name)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

/// The Rows result for `query`, or the message of an Invalid error (a
/// column the table does not have, as Cassandra would refuse it).
pub(crate) fn rewrite(
    query: &TopologyQuery,
    topology: &ProxyTopology,
    local: &Rows,
    version: ProtocolVersion,
) -> Result<Rows, String> {
    let mut table = synthesize(query, topology, local, version)?;
    filter::apply(query, &table.columns, &mut table.rows)?;
    let mut builder = RowsBuilder::new(RowsMetadata::with_columns(
        Some(TableSpec::new("system", query.table.name())),
        table.result_columns(query),
    ));
    for row in &table.rows {
        builder
            .push_row(table.picks.iter().map(|(i, _)| row[*i].as_deref()))
            .map_err(|e| {
                format!(
                    "ferry-proxy could not build the {} rows: {e}",
                    query.table.name()
                )
            })?;
    }
    Ok(builder.build())
}

/// The PREPARED answer for a topology query: its bind variables are the
/// columns its markers restrict, its result columns those the answers
/// will have; `id` is the proxy's own (see `prepared_id`).
pub(crate) fn prepared(
    query: &TopologyQuery,
    id: &Bytes,
    topology: &ProxyTopology,
    local: &Rows,
    version: ProtocolVersion,
) -> Result<Prepared, String> {
    let table = synthesize(query, topology, local, version)?;
    let name = query.table.name();
    let binds = query
        .markers
        .iter()
        .map(|column| {
            let ty = match column.as_str() {
                "[limit]" => Some(ColumnType::Int),
                _ => table
                    .columns
                    .iter()
                    .find(|(c, _)| c == column)
                    .map(|(_, ty)| ty.clone()),
            };
            ty.map(|ty| ColumnSpec::new("system", name, column, ty))
                .ok_or_else(|| format!("Undefined name {column} in where clause"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    // The partition key (`key`, `peer`) when one marker sets it.
    let key = if query.table == SystemTable::Local {
        "key"
    } else {
        "peer"
    };
    let pk: Vec<u16> = match query.markers.iter().filter(|c| *c == key).count() {
        1 => query
            .markers
            .iter()
            .position(|c| c == key)
            .and_then(|i| u16::try_from(i).ok())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    Ok(Prepared {
        id: id.clone(),
        // v5 only (earlier versions have no such field).
        result_metadata_id: version.uses_segments().then(|| id.clone()),
        metadata: PreparedMetadata::new(Some(TableSpec::new("system", name)), binds, pk),
        result_metadata: RowsMetadata::with_columns(
            Some(TableSpec::new("system", name)),
            table.result_columns(query),
        ),
    })
}

/// A topology table as the proxy describes it, and the client's selection.
struct Synthesized {
    /// The table's columns.
    columns: Vec<(String, ColumnType)>,
    /// One row of cells per instance.
    rows: Vec<Row>,
    /// The selected columns (index into `columns`) and their shown names.
    picks: Vec<(usize, String)>,
}

impl Synthesized {
    /// The result's column specs.
    fn result_columns(&self, query: &TopologyQuery) -> Vec<ColumnSpec> {
        self.picks
            .iter()
            .map(|(i, shown)| {
                ColumnSpec::new(
                    "system",
                    query.table.name(),
                    shown,
                    self.columns[*i].1.clone(),
                )
            })
            .collect()
    }
}

/// The table's rows and the selection, or an Invalid error's message.
fn synthesize(
    query: &TopologyQuery,
    topology: &ProxyTopology,
    local: &Rows,
    version: ProtocolVersion,
) -> Result<Synthesized, String> {
    let columns = local
        .metadata()
        .columns
        .clone()
        .ok_or("the source's system.local answer has no column metadata")?;
    let row = local
        .rows()
        .next()
        .and_then(Result::ok)
        .ok_or("the source's system.local is empty")?;
    let local = LocalRow {
        cells: row.cells().collect(),
        columns,
    };
    let instance = |index: usize| Instance {
        index,
        topology,
        local: &local,
        version,
    };
    // The whole table: its columns, and one row of cells per instance.
    let (table_columns, rows): (Vec<(String, ColumnType)>, Vec<Row>) = match query.table {
        SystemTable::Local => {
            let cols: Vec<(String, ColumnType)> = local
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.column_type.clone()))
                .collect();
            let me = instance(topology.index());
            let cells = local
                .columns
                .iter()
                .zip(&local.cells)
                .map(|(c, cell)| me.cell(&c.name).unwrap_or_else(|| cell.clone()))
                .collect();
            (cols, vec![cells])
        }
        table => {
            let cols = peers_columns(table);
            let rows = topology
                .others()
                .map(|(i, _)| {
                    let peer = instance(i);
                    cols.iter()
                        .map(|(name, _)| peer.cell(name).unwrap_or_else(|| local.cell(name)))
                        .collect()
                })
                .collect();
            (cols, rows)
        }
    };
    // The client's selection of them.
    let picks: Vec<(usize, String)> = match &query.selection {
        None => table_columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (i, name.clone()))
            .collect(),
        Some(selection) => selection
            .iter()
            .map(|s| {
                table_columns
                    .iter()
                    .position(|(name, _)| *name == s.column)
                    .map(|i| (i, s.shown.clone()))
                    .ok_or_else(|| format!("Undefined name {} in selection clause", s.column))
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Synthesized {
        columns: table_columns,
        rows,
        picks,
    })
}

/// The columns of `system.peers` (Cassandra 2.1 to 4.x) and
/// `system.peers_v2` (4.0+), in the order `SELECT *` returns them
/// (partition key, clustering key, then the rest by name).
fn peers_columns(table: SystemTable) -> Vec<(String, ColumnType)> {
    use ColumnType::{Inet, Int, Set, Uuid, Varchar};
    let set_text = || Set(Box::new(Varchar));
    let list: Vec<(&str, ColumnType)> = match table {
        SystemTable::PeersV2 => vec![
            ("peer", Inet),
            ("peer_port", Int),
            ("data_center", Varchar),
            ("host_id", Uuid),
            ("native_address", Inet),
            ("native_port", Int),
            ("preferred_ip", Inet),
            ("preferred_port", Int),
            ("rack", Varchar),
            ("release_version", Varchar),
            ("schema_version", Uuid),
            ("tokens", set_text()),
        ],
        _ => vec![
            ("peer", Inet),
            ("data_center", Varchar),
            ("host_id", Uuid),
            ("preferred_ip", Inet),
            ("rack", Varchar),
            ("release_version", Varchar),
            ("rpc_address", Inet),
            ("schema_version", Uuid),
            ("tokens", set_text()),
        ],
    };
    list.into_iter()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect()
}

/// One proxy instance, for the cells that describe it.
struct Instance<'a> {
    index: usize,
    topology: &'a ProxyTopology,
    local: &'a LocalRow,
    version: ProtocolVersion,
}

impl Instance<'_> {
    /// The cell of column `name` for this instance, if the column is one
    /// the instance sets (`Some(None)` is null); `None` for columns copied
    /// from the source.
    fn cell(&self, name: &str) -> Option<Option<Bytes>> {
        let address = self.topology.instances()[self.index];
        let value =
            match name {
                "peer" | "rpc_address" | "broadcast_address" | "listen_address"
                | "native_address" => CqlValue::Inet(address.ip()),
                "rpc_port" | "native_port" => CqlValue::Int(i32::from(address.port())),
                "peer_port" => {
                    return Some(self.local.cell("listen_port").or_else(|| {
                        Some(Bytes::copy_from_slice(&DEFAULT_STORAGE_PORT.to_be_bytes()))
                    }))
                }
                "preferred_ip" | "preferred_port" => return Some(None),
                "host_id" => CqlValue::Uuid(host_id_of(&address)),
                "tokens" => {
                    let partitioner = self.local.text("partitioner");
                    let tokens =
                        tokens_of(self.index, self.topology.instances().len(), &partitioner);
                    CqlValue::Set(
                        tokens
                            .into_iter()
                            .map(|t| Some(CqlValue::Text(t.into())))
                            .collect(),
                    )
                }
                _ => return None,
            };
        let ty = match &value {
            CqlValue::Inet(_) => ColumnType::Inet,
            CqlValue::Int(_) => ColumnType::Int,
            CqlValue::Uuid(_) => ColumnType::Uuid,
            _ => ColumnType::Set(Box::new(ColumnType::Varchar)),
        };
        let mut buf = BytesMut::new();
        // These types encode in every protocol version.
        value.encode(&ty, &mut buf, self.version).ok()?;
        Some(Some(buf.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::query::recognize;
    use super::*;
    use ferry_wire::Reader;

    const MURMUR3: &str = "org.apache.cassandra.dht.Murmur3Partitioner";
    const SCHEMA: [u8; 16] = [7; 16];

    /// A Cassandra 2.1 style `SELECT * FROM system.local` answer.
    fn source_local(version: ProtocolVersion) -> Rows {
        use ColumnType::*;
        let cols = [
            ("key", Varchar),
            ("broadcast_address", Inet),
            ("cluster_name", Varchar),
            ("data_center", Varchar),
            ("host_id", Uuid),
            ("listen_address", Inet),
            ("partitioner", Varchar),
            ("rack", Varchar),
            ("release_version", Varchar),
            ("rpc_address", Inet),
            ("schema_version", Uuid),
            ("tokens", Set(Box::new(Varchar))),
        ];
        let specs: Vec<ColumnSpec> = cols
            .iter()
            .map(|(n, t)| ColumnSpec::new("system", "local", *n, t.clone()))
            .collect();
        let ip: IpAddr = "127.0.0.8".parse().unwrap();
        let values = [
            CqlValue::Text("local".into()),
            CqlValue::Inet(ip),
            CqlValue::Text("Source Cluster".into()),
            CqlValue::Text("dc1".into()),
            CqlValue::Uuid([1; 16]),
            CqlValue::Inet(ip),
            CqlValue::Text(MURMUR3.into()),
            CqlValue::Text("rack1".into()),
            CqlValue::Text("2.1.0".into()),
            CqlValue::Inet(ip),
            CqlValue::Uuid(SCHEMA),
            CqlValue::Set(vec![Some(CqlValue::Text("42".into()))]),
        ];
        let cells: Vec<Bytes> = values
            .iter()
            .zip(&specs)
            .map(|(v, c)| {
                let mut b = BytesMut::new();
                v.encode(&c.column_type, &mut b, version).unwrap();
                b.freeze()
            })
            .collect();
        let mut builder = RowsBuilder::new(RowsMetadata::with_columns(
            Some(TableSpec::new("system", "local")),
            specs,
        ));
        builder
            .push_row(cells.iter().map(|c| Some(&c[..])))
            .unwrap();
        builder.build()
    }

    fn topology(index: usize) -> ProxyTopology {
        ProxyTopology::parse("127.0.0.20,127.0.0.21,127.0.0.22:9000", 29042, index).unwrap()
    }

    /// Encodes and decodes `rows` (as a client would read them), and
    /// returns each row's values by column name.
    fn read_back(
        rows: &Rows,
        version: ProtocolVersion,
    ) -> Vec<std::collections::HashMap<String, Option<CqlValue>>> {
        let mut buf = BytesMut::new();
        rows.encode(&mut buf, version).unwrap();
        let rows = Rows::decode(&mut Reader::new(buf.freeze()), version).unwrap();
        let columns = rows.metadata().columns.clone().unwrap();
        rows.rows()
            .map(|row| {
                let values = row.unwrap().values(&columns, version).unwrap();
                columns.iter().map(|c| c.name.clone()).zip(values).collect()
            })
            .collect()
    }

    fn query(text: &str) -> TopologyQuery {
        recognize(text, None).unwrap()
    }

    #[test]
    fn local_describes_this_instance_and_keeps_the_rest() {
        let v = ProtocolVersion::V3;
        let rows = rewrite(
            &query("SELECT * FROM system.local"),
            &topology(1),
            &source_local(v),
            v,
        )
        .unwrap();
        let out = read_back(&rows, v);
        assert_eq!(out.len(), 1);
        let row = &out[0];
        let me: IpAddr = "127.0.0.21".parse().unwrap();
        for column in ["rpc_address", "broadcast_address", "listen_address"] {
            assert_eq!(row[column], Some(CqlValue::Inet(me)), "{column}");
        }
        assert_eq!(
            row["host_id"],
            Some(CqlValue::Uuid(host_id_of(
                &"127.0.0.21:29042".parse().unwrap()
            )))
        );
        assert_eq!(
            row["tokens"],
            Some(CqlValue::Set(vec![Some(CqlValue::Text(
                tokens_of(1, 3, MURMUR3)[0].clone().into()
            ))]))
        );
        assert_eq!(
            row["cluster_name"],
            Some(CqlValue::Text("Source Cluster".into()))
        );
        assert_eq!(row["schema_version"], Some(CqlValue::Uuid(SCHEMA)));
        assert_eq!(rows.metadata().columns.as_ref().unwrap().len(), 12);
    }

    #[test]
    fn peers_list_the_other_instances_in_every_version() {
        for v in [ProtocolVersion::V2, ProtocolVersion::V4] {
            let rows = rewrite(
                &query("SELECT * FROM system.peers"),
                &topology(0),
                &source_local(v),
                v,
            )
            .unwrap();
            let out = read_back(&rows, v);
            let peers: Vec<_> = out.iter().map(|r| r["rpc_address"].clone()).collect();
            assert_eq!(
                peers,
                [
                    Some(CqlValue::Inet("127.0.0.21".parse().unwrap())),
                    Some(CqlValue::Inet("127.0.0.22".parse().unwrap()))
                ]
            );
            for row in &out {
                assert_eq!(row["data_center"], Some(CqlValue::Text("dc1".into())));
                assert_eq!(row["schema_version"], Some(CqlValue::Uuid(SCHEMA)));
                assert_eq!(row["preferred_ip"], None);
                assert!(matches!(&row["tokens"], Some(CqlValue::Set(t)) if t.len() == 1));
            }
            // The peers' host ids are what each instance says of itself.
            let other = rewrite(
                &query("SELECT host_id FROM system.local"),
                &topology(2),
                &source_local(v),
                v,
            )
            .unwrap();
            assert_eq!(read_back(&other, v)[0]["host_id"], out[1]["host_id"]);
        }
    }

    #[test]
    fn peers_v2_is_synthesized_with_native_ports_and_selections_apply() {
        let v = ProtocolVersion::V4;
        let rows = rewrite(
            &query("SELECT native_address, native_port AS port, peer_port FROM system.peers_v2"),
            &topology(1),
            &source_local(v),
            v,
        )
        .unwrap();
        let names: Vec<String> = rows
            .metadata()
            .columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(names, ["native_address", "port", "peer_port"]);
        let out = read_back(&rows, v);
        assert_eq!(
            out[0]["native_address"],
            Some(CqlValue::Inet("127.0.0.20".parse().unwrap()))
        );
        assert_eq!(out[0]["port"], Some(CqlValue::Int(29042)));
        assert_eq!(out[1]["port"], Some(CqlValue::Int(9000)));
        assert_eq!(out[1]["peer_port"], Some(CqlValue::Int(7000)));
    }

    #[test]
    fn an_unknown_column_is_refused_like_cassandra_does() {
        let v = ProtocolVersion::V4;
        let err = rewrite(
            &query("SELECT nope FROM system.peers"),
            &topology(0),
            &source_local(v),
            v,
        )
        .unwrap_err();
        assert_eq!(err, "Undefined name nope in selection clause");
    }

    #[test]
    fn frames_round_trip_and_skip_metadata_drops_the_column_specs() {
        let v = ProtocolVersion::V4;
        let mut body = BytesMut::new();
        body.put_i32(result_kind::ROWS);
        source_local(v).encode(&mut body, v).unwrap();
        let source = Frame::new(
            FrameHeader::response(v, 9, Opcode::Result, 0),
            body.freeze(),
        );
        let q = query("SELECT * FROM system.peers_v2");
        let frame = answer_frame(&q, true, &topology(0), &source).unwrap();
        assert_eq!(frame.header.stream, 9);
        let mut r = Reader::new(frame.body.clone());
        assert_eq!(r.read_int("kind").unwrap(), result_kind::ROWS);
        let rows = Rows::decode(&mut r, v).unwrap();
        assert!(rows.metadata().columns.is_none());
        assert_eq!((rows.row_count(), rows.column_count()), (2, 12));
        // An error from the source is left alone.
        let err = error_frame(v, 9, &ErrorResponse::server_error("boom"));
        assert!(answer_frame(&q, false, &topology(0), &err).is_none());
        // The request in its place.
        let request = local_query_frame(v, 9).unwrap();
        assert_eq!(request.header.opcode, Opcode::Query);
        let text = Query::decode(&mut Reader::new(request.body), v)
            .unwrap()
            .query;
        assert_eq!(text.text(), LOCAL_QUERY);
    }

    #[test]
    fn prepares_describe_the_markers_and_the_result_columns() {
        let v = ProtocolVersion::V4;
        let q = query(
            "SELECT peer, host_id AS id FROM system.peers_v2 WHERE peer = ? AND peer_port = :port",
        );
        let id = Bytes::from_static(b"FRRYid");
        let p = prepared(&q, &id, &topology(0), &source_local(v), v).unwrap();
        assert_eq!(p.id, id);
        let binds: Vec<(&str, &ColumnType)> = p
            .metadata
            .columns
            .iter()
            .map(|c| (c.name.as_str(), &c.column_type))
            .collect();
        assert_eq!(
            binds,
            [("peer", &ColumnType::Inet), ("peer_port", &ColumnType::Int)]
        );
        assert_eq!(p.metadata.pk_indexes, [0]);
        let result: Vec<&str> = p
            .result_metadata
            .columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(result, ["peer", "id"]);
        // As a frame, answering the source's local row.
        let mut body = BytesMut::new();
        body.put_i32(result_kind::ROWS);
        source_local(v).encode(&mut body, v).unwrap();
        let source = Frame::new(
            FrameHeader::response(v, 4, Opcode::Result, 0),
            body.freeze(),
        );
        let mut q = q;
        q.prepare_id = Some(id.clone());
        let frame = answer_frame(&q, false, &topology(0), &source).unwrap();
        let mut r = Reader::new(frame.body.clone());
        assert_eq!(r.read_int("kind").unwrap(), result_kind::PREPARED);
        assert_eq!(Prepared::decode(&mut r, v).unwrap(), p);
        // A WHERE on a column the table lacks: refused like Cassandra does.
        let q = query("SELECT * FROM system.local WHERE nope = ?");
        let err = prepared(&q, &id, &topology(0), &source_local(v), v).unwrap_err();
        assert_eq!(err, "Undefined name nope in where clause");
    }

    #[test]
    fn where_clauses_filter_the_synthesized_peers() {
        let v = ProtocolVersion::V4;
        let rows = rewrite(
            &query("SELECT peer FROM system.peers WHERE peer = '127.0.0.22'"),
            &topology(0),
            &source_local(v),
            v,
        )
        .unwrap();
        let out = read_back(&rows, v);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0]["peer"],
            Some(CqlValue::Inet("127.0.0.22".parse().unwrap()))
        );
        let none = rewrite(
            &query("SELECT * FROM system.local WHERE key = 'other'"),
            &topology(0),
            &source_local(v),
            v,
        )
        .unwrap();
        assert_eq!(none.row_count(), 0);
    }
}
