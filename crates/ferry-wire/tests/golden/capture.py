#!/usr/bin/env python3
"""The session recorded into ferry-wire's golden frames.

Run by `cargo run -p ferry-testkit --example record_golden`, which starts a
RecordingRelay in front of a real Cassandra 2.1.0 node and passes the
relay's address here:

    capture.py HOST PORT

It drives the DataStax Python driver (protocol v3, the newest 2.1.0
speaks) through a representative session: connection setup (OPTIONS,
STARTUP, REGISTER and system.local / system.peers queries on the control
connection), DDL with a UDT, a tuple and collections (frozen, as 2.1
requires for UDTs and tuples), prepared INSERTs over every 2.1 type with nulls, a BATCH,
paged SELECTs (simple and prepared), a counter update, USE, a syntax
error, an invalid query, and the schema-change events the DDL causes.
A second client then negotiates LZ4 compression and reads the table back,
so the recording also holds compressed frames (this needs the lz4 module:
`pip install --target target/capture-pylib lz4`; record_golden puts that
directory on PYTHONPATH).

Everything goes through the relay: the only contact point is the relay,
the load-balancing policy allows only it, and the driver maps the node's
own row in system.local to the control connection's address.
"""

import datetime
import decimal
import sys
import uuid
from ipaddress import ip_address

from cassandra import InvalidRequest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.protocol import SyntaxException
from cassandra.query import BatchStatement, BatchType, SimpleStatement

KEYSPACE = "ferry_golden"


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=60
    )
    cluster = Cluster(
        [host],
        port=port,
        protocol_version=3,
        compression=False,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Schema/token metadata would add large system.schema_* results to
        # the recording; the events still arrive on the control connection.
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
        connect_timeout=20,
    )
    session = cluster.connect()

    session.execute("SELECT release_version, cluster_name FROM system.local")
    session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}")
    session.execute(
        f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.set_keyspace(KEYSPACE)  # USE -> RESULT SetKeyspace

    session.execute(
        "CREATE TYPE address (street text, zip int, phones set<text>)"
    )
    session.execute(
        """
        CREATE TABLE all_types (
            id int PRIMARY KEY,
            a ascii, b bigint, bl blob, bo boolean, dec decimal, d double,
            f float, ip inet, t text, ts timestamp, tu timeuuid, u uuid,
            vc varchar, vi varint,
            l list<int>, s set<text>, m map<text, int>,
            tup frozen<tuple<int, text, double>>,
            addr frozen<address>,
            nested map<text, frozen<address>>,
            tl list<frozen<tuple<int, text>>>
        )
        """
    )
    session.execute("CREATE TABLE counts (id int PRIMARY KEY, n counter)")

    insert = session.prepare(
        "INSERT INTO all_types (id, a, b, bl, bo, dec, d, f, ip, t, ts, tu, u, vc, vi,"
        " l, s, m, tup, addr, nested, tl)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    # UDT values as (street, zip, phones): the driver binds unregistered
    # UDTs positionally.
    home = ("1 Main St", 12345, {"+1 555 0100"})
    for i in range(6):
        session.execute(
            insert,
            (
                i,
                f"ascii {i}",
                -(2**62) + i,
                bytes(range(i * 3)),
                i % 2 == 0,
                decimal.Decimal(f"-{i}12345.6789"),
                1.5 * i,
                0.25 * i,
                ip_address("10.0.0.1") if i % 2 else ip_address("::1"),
                f"text é {i}",
                datetime.datetime(2014, 9, 1, 12, 0, i),
                uuid.UUID(f"{i:08x}-0000-1000-8000-00000000cafe"),
                uuid.UUID(int=i * 0x1234567890ABCDEF),
                f"varchar {i}",
                10**30 * (i - 3),
                list(range(i)),
                {f"s{j}" for j in range(i)},
                {f"k{j}": j for j in range(i)},
                (i, f"tuple {i}", i / 3),
                home,
                {"home": home, "work": (None, i, set())},
                [(j, f"t{j}") for j in range(i)],
            ),
        )
    # A row that is mostly nulls.
    session.execute(insert, (100,) + (None,) * 21)

    # A logged BATCH mixing a prepared and a simple statement.
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    batch.add(insert, (200, "batched", 1, b"\x00", True, decimal.Decimal("0"), 0.0, 0.0,
                       ip_address("127.0.0.1"), "b", datetime.datetime(2000, 1, 1),
                       uuid.UUID("00000000-0000-1000-8000-000000000000"), uuid.UUID(int=42),
                       "v", 0, [], set(), {}, (None, None, None), None, None, None))
    batch.add(SimpleStatement("INSERT INTO all_types (id, t) VALUES (%s, %s)"), (201, "simple"))
    session.execute(batch)

    session.execute("UPDATE counts SET n = n + 5 WHERE id = 1")

    # Paged reads: QUERY and EXECUTE with page size 3, then with the paging state.
    rows = list(session.execute(SimpleStatement("SELECT * FROM all_types", fetch_size=3)))
    assert len(rows) == 9, len(rows)
    select = session.prepare("SELECT id, t, addr, nested, tl FROM all_types")
    select.fetch_size = 4
    assert len(list(session.execute(select))) == 9
    one = session.prepare("SELECT * FROM all_types WHERE id = ?")
    session.execute(one, (3,))
    session.execute("SELECT n FROM counts WHERE id = 1")

    # Errors: a syntax error and an invalid query.
    try:
        session.execute("SELEC * FROM all_types")
        raise AssertionError("syntax error expected")
    except SyntaxException:
        pass
    try:
        session.execute("SELECT * FROM no_such_table")
        raise AssertionError("invalid request expected")
    except InvalidRequest:
        pass

    compressed_session(host, port, profile)

    session.execute(f"DROP KEYSPACE {KEYSPACE}")
    cluster.shutdown()
    print("capture session done")


def compressed_session(host, port, profile):
    """A second client that negotiates LZ4 in STARTUP: Cassandra then
    compresses its responses (and the driver its requests)."""
    try:
        import lz4.block  # noqa: F401  (the driver's LZ4 support needs it)
    except ImportError:
        sys.exit(
            "the compressed connection needs the lz4 module: "
            "pip install --target target/capture-pylib lz4 (record_golden adds it to PYTHONPATH)"
        )
    cluster = Cluster(
        [host],
        port=port,
        protocol_version=3,
        compression="lz4",
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
        connect_timeout=20,
    )
    session = cluster.connect(KEYSPACE)
    rows = list(session.execute(SimpleStatement("SELECT * FROM all_types", fetch_size=5)))
    assert len(rows) == 9, len(rows)
    one = session.prepare("SELECT id, m, tup FROM all_types WHERE id = ?")
    session.execute(one, (2,))
    session.execute(one, (5,))
    cluster.shutdown()


if __name__ == "__main__":
    main()
