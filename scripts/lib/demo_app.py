#!/usr/bin/env python3
"""The sample application of scripts/demo.sh, on the DataStax Python driver.

A small shop: `users` (one row per partition, with a set) and `orders`
(clustered by order id). Subcommands:

  schema HOST KS            create the keyspace and tables (on the source)
  load HOST KS USERS ORDERS write the initial, "historical" rows directly
                            to the source (deterministic, so `check` can
                            rebuild them)
  run  HOST PORT KS DIR     the live workload through the proxy: writes,
                            updates, deletes and reads, prepared and simple
                            statements, until DIR/stop exists. Every
                            acknowledged write is appended to
                            DIR/acked-writes.jsonl. Primary switches: each
                            line "SEQ TIME CLUSTER" the demo appends to
                            DIR/switches (before its POST /primary) starts a
                            measurement: the first write acknowledged on a
                            connection opened after TIME is the first one
                            with CLUSTER as primary (the proxy closes the
                            older connections); its delay is written to
                            DIR/switch-SEQ.done.
  check HOST KS DIR         rebuild the expected contents (initial rows +
                            every acknowledged write, in order) and compare
                            them with what HOST holds; prints JSON.

A key never has two requests in flight, and a write that fails (a timeout,
a connection closed at cutover) is sent again until it is acknowledged, so
the expected final state of every key is exactly the last acknowledged
write. No lists and no counters: they are not idempotent, and a retried or
replayed write must leave the same cells.
"""

import json
import os
import random
import sys
import threading
import time
from collections import deque

USERS_DDL = (
    "CREATE TABLE IF NOT EXISTS {ks}.users (id int PRIMARY KEY, name text, "
    "email text, score int, tags set<text>)"
)
ORDERS_DDL = (
    "CREATE TABLE IF NOT EXISTS {ks}.orders (customer int, order_id int, item text, "
    "qty int, status text, PRIMARY KEY (customer, order_id))"
)


def log(msg):
    print("[demo-app] %s" % msg, file=sys.stderr, flush=True)


def connect(host, port=9042, keyspace=None, whitelist=True, connection_class=None):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, WhiteListRoundRobinPolicy

    kwargs = dict(
        contact_points=[host],
        port=port,
        connect_timeout=15,
        control_connection_timeout=15,
        # Reconnect quickly: at cutover the proxy closes client connections
        # and the driver must come back at once.
        reconnection_policy=ConstantReconnectionPolicy(0.05, max_attempts=None),
        compression=False,
    )
    if whitelist:
        # Use only the contact point (the proxy), never the nodes the driver
        # discovers from system.local/peers: they would bypass the proxy.
        kwargs["execution_profiles"] = {
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=15
            )
        }
    if connection_class is not None:
        kwargs["connection_class"] = connection_class
    if port == 9042:
        # Direct to a 2.1 node: no need to probe newer protocol versions.
        kwargs["protocol_version"] = 3
    cluster = Cluster(**kwargs)
    for attempt in range(30):
        try:
            return cluster, cluster.connect(keyspace)
        except Exception as e:  # the node may still be settling
            if attempt == 29:
                raise
            log("connect to %s:%d failed (%s); retrying" % (host, port, e))
            time.sleep(1)


# ---------------------------------------------------------------- data --
def initial_user(i):
    return {"name": "user-%d" % i, "email": "user-%d@example.com" % i,
            "score": i % 100, "tags": ["demo", "t%d" % (i % 5)]}


def order_key(j, customers):
    return ((j % customers) + 1, j)


def initial_order(j):
    return {"item": "item-%d" % (j % 37), "qty": j % 9 + 1, "status": "new"}


def customers_for(users):
    return max(1, users // 2)


# -------------------------------------------------------------- schema --
def cmd_schema(host, ks):
    cluster, session = connect(host)
    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
    )
    session.execute(USERS_DDL.format(ks=ks))
    session.execute(ORDERS_DDL.format(ks=ks))
    cluster.shutdown()


def cmd_load(host, ks, users, orders):
    from cassandra.concurrent import execute_concurrent_with_args

    cluster, session = connect(host, keyspace=ks)
    ins_user = session.prepare("INSERT INTO users (id, name, email, score, tags) VALUES (?, ?, ?, ?, ?)")
    ins_order = session.prepare(
        "INSERT INTO orders (customer, order_id, item, qty, status) VALUES (?, ?, ?, ?, ?)"
    )
    customers = customers_for(users)
    t0 = time.time()
    args = []
    for i in range(1, users + 1):
        u = initial_user(i)
        args.append((i, u["name"], u["email"], u["score"], set(u["tags"])))
    for ok, res in execute_concurrent_with_args(session, ins_user, args, concurrency=64, raise_on_first_error=True):
        pass
    args = []
    for j in range(1, orders + 1):
        c, o = order_key(j, customers)
        d = initial_order(j)
        args.append((c, o, d["item"], d["qty"], d["status"]))
    for ok, res in execute_concurrent_with_args(session, ins_order, args, concurrency=64, raise_on_first_error=True):
        pass
    log("loaded %d users and %d orders in %.1fs" % (users, orders, time.time() - t0))
    cluster.shutdown()


# ------------------------------------------------------------ workload --
class Workload:
    """Runs operations with up to `in_flight` requests at once, at about
    `rate` operations per second, until the stop file appears."""

    def __init__(self, session, ks, out_dir, users, orders, rate, in_flight, seed):
        self.session = session
        self.out_dir = out_dir
        self.rng = random.Random(seed)
        self.users_max = users
        self.orders_max = orders
        self.customers = customers_for(users)
        self.rate = rate
        self.in_flight = in_flight
        self.lock = threading.Lock()
        self.busy = set()  # keys with a request in flight
        self.slots = threading.Semaphore(in_flight)
        self.retry = deque()  # operations to send again
        self.acked = open(os.path.join(out_dir, "acked-writes.jsonl"), "a", buffering=1)
        self.seq = 0
        self.stats = {"writes_acked": 0, "reads": 0, "reads_mismatched": 0, "retries": 0,
                      "errors": {}, "by_op": {}}
        self.model = initial_state(users, orders)  # key -> expected row (None = deleted)
        self.switches = []  # {"seq", "cluster", "at", "first_ack_at", "seconds", "first_op"}
        self.switch_lines = 0
        p = session.prepare
        self.stmts = {
            "insert_user": p("INSERT INTO users (id, name, email, score, tags) VALUES (?, ?, ?, ?, ?)"),
            "update_user": p("UPDATE users SET email = ?, score = ? WHERE id = ?"),
            "insert_order": p("INSERT INTO orders (customer, order_id, item, qty, status) VALUES (?, ?, ?, ?, ?)"),
            "delete_order": p("DELETE FROM orders WHERE customer = ? AND order_id = ?"),
            "read_user": p("SELECT name, email, score, tags FROM users WHERE id = ?"),
        }

    # One operation: (kind, key, statement, params, write-effect or None).
    def next_op(self):
        from cassandra.query import SimpleStatement

        r = self.rng.random()
        self.seq += 1
        s = self.seq
        if r < 0.22:
            self.users_max += 1
            i = self.users_max
            row = {"name": "new-%d" % s, "email": "n%d@example.com" % s, "score": s % 1000,
                   "tags": sorted({"new", "s%d" % (s % 7)})}
            return ("insert_user", ("users", i), self.stmts["insert_user"],
                    (i, row["name"], row["email"], row["score"], set(row["tags"])), ("put", row))
        i = self.rng.randint(1, self.users_max)
        if r < 0.40:
            row = {"email": "u%d-%d@example.com" % (i, s), "score": s % 1000}
            return ("update_user", ("users", i), self.stmts["update_user"],
                    (row["email"], row["score"], i), ("merge", row))
        if r < 0.50:
            name = "renamed-%d" % s
            stmt = SimpleStatement("UPDATE users SET name = '%s' WHERE id = %d" % (name, i))
            return ("rename_user_simple", ("users", i), stmt, None, ("merge", {"name": name}))
        if r < 0.56:
            stmt = SimpleStatement("DELETE FROM users WHERE id = %d" % i)
            return ("delete_user_simple", ("users", i), stmt, None, ("delete", None))
        if r < 0.72:
            self.orders_max += 1
            c, o = order_key(self.orders_max, self.customers)
            row = {"item": "item-%d" % (s % 37), "qty": s % 9 + 1, "status": "new"}
            return ("insert_order", ("orders", c, o), self.stmts["insert_order"],
                    (c, o, row["item"], row["qty"], row["status"]), ("put", row))
        c, o = order_key(self.rng.randint(1, self.orders_max), self.customers)
        if r < 0.80:
            status = "shipped-%d" % s
            stmt = SimpleStatement(
                "UPDATE orders SET status = '%s' WHERE customer = %d AND order_id = %d" % (status, c, o))
            return ("ship_order_simple", ("orders", c, o), stmt, None, ("merge", {"status": status}))
        if r < 0.85:
            return ("delete_order", ("orders", c, o), self.stmts["delete_order"], (c, o), ("delete", None))
        return ("read_user", ("users", i), self.stmts["read_user"], (i,), None)

    def submit(self, op):
        kind, key, stmt, params, effect = op
        fut = self.session.execute_async(stmt, params)
        fut.add_callbacks(self.on_ok, self.on_err, callback_args=(op, fut), errback_args=(op,))

    def on_ok(self, rows, op, fut):
        kind, key, stmt, params, effect = op
        now = time.time()
        with self.lock:
            self.stats["by_op"][kind] = self.stats["by_op"].get(kind, 0) + 1
            if effect is None:
                self.stats["reads"] += 1
                self.check_read(key, rows)
            else:
                self.stats["writes_acked"] += 1
                apply_write(self.model, key, effect[0], effect[1])
                self.acked.write(json.dumps({"t": round(now, 6), "op": kind, "key": list(key),
                                             "effect": effect[0], "row": effect[1]}) + "\n")
                sw = self.switches[-1] if self.switches else None
                if sw is not None and sw["first_ack_at"] is None:
                    conn = getattr(fut, "_connection", None)
                    opened = getattr(conn, "ferry_opened_at", None)
                    if opened is not None and opened > sw["at"]:
                        sw["first_ack_at"] = now
                        sw["seconds"] = round(now - sw["at"], 3)
                        sw["first_op"] = kind
                        with open(os.path.join(self.out_dir, "switch-%d.done" % sw["seq"]), "w") as f:
                            f.write("%.3f\n" % sw["seconds"])
            self.busy.discard(key)
        self.slots.release()

    def on_err(self, exc, op):
        name = type(exc).__name__
        with self.lock:
            self.stats["errors"][name] = self.stats["errors"].get(name, 0) + 1
            self.stats["retries"] += 1
            self.retry.append(op)  # the key stays busy until it is acknowledged
        self.slots.release()

    def read_switches(self, path):
        with open(path) as f:
            lines = [l.split() for l in f.read().splitlines() if l.strip()]
        for seq, at, cluster in lines[self.switch_lines:]:
            with self.lock:
                self.switches.append({"seq": int(seq), "cluster": cluster, "at": float(at),
                                      "first_ack_at": None, "seconds": None, "first_op": None})
            log("primary switch %s to %s seen" % (seq, cluster))
        self.switch_lines = len(lines)

    def check_read(self, key, rows):
        got = None
        for r in rows:
            got = {"name": r.name, "email": r.email, "score": r.score,
                   "tags": sorted(r.tags) if r.tags else None}
        want = self.model.get(key)
        if normalize(got) != normalize(want):
            self.stats["reads_mismatched"] += 1

    def run(self):
        stop_file = os.path.join(self.out_dir, "stop")
        switch_file = os.path.join(self.out_dir, "switches")
        interval = 1.0 / self.rate
        next_at = time.time()
        last_report = time.time()
        while not os.path.exists(stop_file):
            if os.path.exists(switch_file):
                self.read_switches(switch_file)
            now = time.time()
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            next_at = max(next_at + interval, now - 1.0)
            if not self.slots.acquire(timeout=0.2):
                continue
            with self.lock:
                op = self.retry.popleft() if self.retry else None
            if op is not None:
                time.sleep(0.02)  # a failed request: give the proxy or driver a moment
            else:
                while True:
                    op = self.next_op()
                    with self.lock:
                        if op[1] not in self.busy:
                            self.busy.add(op[1])
                            break
            try:
                self.submit(op)
            except Exception as e:  # NoHostAvailable raised synchronously
                self.on_err(e, op)
            if time.time() - last_report > 5:
                last_report = time.time()
                with self.lock:
                    log("%d writes acknowledged, %d reads, %d retries" % (
                        self.stats["writes_acked"], self.stats["reads"], self.stats["retries"]))
        # Stop: no new operations; finish those in flight and the retries.
        deadline = time.time() + 120
        while time.time() < deadline:
            with self.lock:
                op = self.retry.popleft() if self.retry else None
                idle = not self.busy and not self.retry
            if idle:
                break
            if op is None:
                time.sleep(0.05)
                continue
            if not self.slots.acquire(timeout=1):
                with self.lock:
                    self.retry.appendleft(op)
                continue
            time.sleep(0.05)
            try:
                self.submit(op)
            except Exception as e:
                self.on_err(e, op)
        with self.lock:
            unfinished = len(self.busy)
        self.acked.close()
        out = dict(self.stats)
        out["unfinished"] = unfinished
        out["switches"] = self.switches
        return out


def apply_write(model, key, effect, row):
    """The state of `key` after an acknowledged write: `put` (INSERT: every
    column), `merge` (UPDATE: the columns set; creates the row if absent) or
    `delete`."""
    key = tuple(key)
    if effect == "delete":
        model[key] = None
        return
    base = {c: None for c in columns_of(key[0])}
    if effect == "merge" and model.get(key):
        base.update(model[key])
    base.update(row)
    model[key] = base


def initial_state(users, orders):
    """The rows `load` wrote."""
    customers = customers_for(users)
    model = {}
    for i in range(1, users + 1):
        model[("users", i)] = initial_user(i)
    for j in range(1, orders + 1):
        c, o = order_key(j, customers)
        model[("orders", c, o)] = initial_order(j)
    return model


def columns_of(table):
    return ["name", "email", "score", "tags"] if table == "users" else ["item", "qty", "status"]


def normalize(row):
    if row is None:
        return None
    out = {}
    for k, v in row.items():
        if isinstance(v, (list, set, tuple)):
            v = sorted(v) or None
        out[k] = v
    if all(v is None for v in out.values()):
        # A row whose cells are all null and that has no row marker does
        # not exist; compare such rows as absent.
        return None if not out else out
    return out


def make_connection_class():
    from cassandra.cluster import DefaultConnection

    class TimedConnection(DefaultConnection):
        """The driver's connection, remembering when it was opened (cutover:
        connections opened after the switch use the target as primary)."""

        def __init__(self, *args, **kwargs):
            self.ferry_opened_at = time.time()
            super().__init__(*args, **kwargs)

    return TimedConnection


def cmd_run(host, port, ks, out_dir, users, orders, rate, in_flight):
    cluster, session = connect(host, port, keyspace=ks, connection_class=make_connection_class())
    log("connected through %s:%d with protocol v%d" % (host, port, cluster.protocol_version))
    w = Workload(session, ks, out_dir, users, orders, rate, in_flight, seed=int(time.time()))
    with open(os.path.join(out_dir, "workload.started"), "w") as f:
        f.write("%f\n" % time.time())
    stats = w.run()
    stats["protocol_version"] = cluster.protocol_version
    cluster.shutdown()
    with open(os.path.join(out_dir, "workload.json"), "w") as f:
        json.dump(stats, f, indent=1)
    log("stopped: %d writes acknowledged, %d reads, %d retries, %d unfinished" % (
        stats["writes_acked"], stats["reads"], stats["retries"], stats["unfinished"]))


# --------------------------------------------------------------- check --
def expected_state(out_dir, users, orders):
    """The initial rows plus every acknowledged write, in order."""
    model = initial_state(users, orders)
    acked = 0
    with open(os.path.join(out_dir, "acked-writes.jsonl")) as f:
        for line in f:
            if line.strip():
                w = json.loads(line)
                apply_write(model, w["key"], w["effect"], w["row"])
                acked += 1
    return model, acked


def cmd_check(host, ks, out_dir, users, orders):
    from cassandra.query import SimpleStatement

    model, acked = expected_state(out_dir, users, orders)
    cluster, session = connect(host, keyspace=ks)
    seen = {}
    for r in session.execute(SimpleStatement("SELECT id, name, email, score, tags FROM users", fetch_size=2000)):
        seen[("users", r.id)] = {"name": r.name, "email": r.email, "score": r.score,
                                 "tags": sorted(r.tags) if r.tags else None}
    for r in session.execute(SimpleStatement(
            "SELECT customer, order_id, item, qty, status FROM orders", fetch_size=2000)):
        seen[("orders", r.customer, r.order_id)] = {"item": r.item, "qty": r.qty, "status": r.status}
    cluster.shutdown()
    missing, differing, extra, examples = 0, 0, 0, []
    for key, want in model.items():
        want, got = normalize(want), normalize(seen.get(key))
        if want == got:
            continue
        if got is None:
            missing += 1
        elif want is None:
            extra += 1
        else:
            differing += 1
        if len(examples) < 5:
            examples.append({"key": list(key), "expected": want, "found": got})
    for key in seen:
        if key not in model:
            extra += 1
            if len(examples) < 5:
                examples.append({"key": list(key), "expected": None, "found": seen[key]})
    expected_rows = sum(1 for v in model.values() if normalize(v) is not None)
    print(json.dumps({"host": host, "acked_writes": acked, "keys_checked": len(model),
                      "expected_rows": expected_rows, "rows_found": len(seen),
                      "missing": missing, "differing": differing, "extra": extra,
                      "examples": examples}))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, a = argv[1], argv[2:]
    if cmd == "schema":
        cmd_schema(a[0], a[1])
    elif cmd == "load":
        cmd_load(a[0], a[1], int(a[2]), int(a[3]))
    elif cmd == "run":
        cmd_run(a[0], int(a[1]), a[2], a[3], int(a[4]), int(a[5]), float(a[6]), int(a[7]))
    elif cmd == "check":
        cmd_check(a[0], a[1], a[2], int(a[3]), int(a[4]))
    else:
        sys.exit("unknown command %s\n\n%s" % (cmd, __doc__))


if __name__ == "__main__":
    main(sys.argv)
