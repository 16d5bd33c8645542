#!/usr/bin/env python3
"""Switchyard's benchmark: the gateway, the direct floor and peer gateways, side by side.

Started by bench/run (which builds and installs what this needs). For each candidate it
starts the server pinned to the server CPU, checks its answers against the direct
baseline's, then drives each scenario with wrk pinned to the other CPU, reading the
candidate's CPU time and resident memory from /proc and the services' request counters
from their /__stats. Results go to stdout and to OUT/results.{md,json}.

Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS = BENCH / "peers"
RELEASE = ROOT / "target" / "release"

SERVICES_BASE = 4100  # users 4101, orders 4102, payments 4103, notifications 4104
SERVICES = ["users", "orders", "payments", "notifications"]
# `switchyard-solo` is Switchyard with the speed levers off: no coalescing across
# requests, no deduplication, no planned executor (async-graphql resolves every field).
# Every request executes on its own and makes its own upstream calls, as a per-request
# loader does. `switchyard-unplanned` turns off only the planned executor. Side by side,
# they show each lever.
PORTS = {"switchyard": 4110, "switchyard-solo": 4111, "switchyard-unplanned": 4112,
         "direct": 4190, "apollo": 4170, "hive": 4180}
SWITCHYARDS = ("switchyard", "switchyard-solo", "switchyard-unplanned")

# --- Scenarios -------------------------------------------------------------------------

DASHBOARD = (
    "query Dashboard($id: ID!) { user(id: $id) { name orders(first: 10) { total payment { status } }"
    " unreadNotificationCount notifications(first: 5) { message } } }"
)
N_PLUS_ONE = (
    "query NPlusOne($offset: Int!) { users(first: 50, offset: $offset) {"
    " orders(first: 5) { payment { status } user { name } } } }"
)
BIG = (
    "query Big($offset: Int!) { users(first: 100, offset: $offset) { id name country tier"
    " createdAt orders(first: 10) { id status total currency createdAt"
    " items { sku name quantity unitPrice } } } }"
)
# Wide: one upstream call, 200 objects × 6 leaves: the cost of answering leaves, with no
# fan-out to hide it.
WIDE = (
    "query Wide($offset: Int!) { users(first: 200, offset: $offset) {"
    " __typename id name country tier createdAt } }"
)
# Hot: every caller asks the same catalogue page, public data, at once.
HOT = "query Hot { products(first: 20) { sku name unitPrice } }"
TINY = "query Tiny { __typename }"
MUTATION = (
    "mutation PlaceOrder($userId: Int!, $sku: String!) { placeOrder(input: {userId: $userId,"
    " items: [{sku: $sku, quantity: 1}]}) { id status total } }"
)

# Hive Gateway's graph is Mesh's: ids are strings or BigInts, the unread count is an
# object, and a nested `@resolveTo` join needs its key selected by the client (a Mesh
# bug: it is not added to the parent's delegation when the parent came from another
# `@resolveTo`). Its queries differ only in that; the answers are compared field by field.
HIVE_QUERIES = {
    DASHBOARD: DASHBOARD.replace("$id: ID!", "$id: String!")
    .replace("orders(first: 10) { total", "orders(first: 10) { id total")
    .replace("unreadNotificationCount", "unreadNotificationCount { unread }"),
    N_PLUS_ONE: N_PLUS_ONE.replace("{ orders(first: 5) { payment", "{ id orders(first: 5) { id payment"),
    MUTATION: MUTATION.replace("$userId: Int!", "$userId: BigInt!"),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    operation: str
    query: str
    variables: str  # JSON text; %ID% is drawn per request from id_range
    id_range: tuple[int, int]
    callers: str = "unique"  # or a pool size: the same few callers again and again
    check_id: int = 7  # the id of the request whose answers are compared
    compare: bool = True
    summary: str = ""
    # The candidates it runs for (all when empty): the peers are not given every field.
    only: tuple[str, ...] = ()

    def runs_for(self, candidate: str) -> bool:
        return not self.only or candidate in self.only

    def body(self, candidate: str, id_text: str | None = None) -> str:
        query = HIVE_QUERIES.get(self.query, self.query) if candidate == "hive" else self.query
        variables = self.variables if id_text is None else self.variables.replace("%ID%", id_text)
        return (
            '{"operationName": %s, "query": %s, "variables": %s}'
            % (json.dumps(self.operation), json.dumps(query), variables)
        )


SCENARIOS = [
    Scenario("dashboard", "Dashboard", DASHBOARD, '{"id": "%ID%"}', (1, 5000),
             summary="one user's dashboard, users spread over 5,000 (cold-ish cache)"),
    Scenario("dashboard-hot", "Dashboard", DASHBOARD, '{"id": "%ID%"}', (1, 20), callers="16",
             summary="the same dashboard, 20 users asked by 16 callers (warm cache)"),
    Scenario("n-plus-one", "NPlusOne", N_PLUS_ONE, '{"offset": %ID%}', (0, 4950),
             summary="50 users × 5 orders × (payment, user)"),
    Scenario("big", "Big", BIG, '{"offset": %ID%}', (0, 4900),
             summary="100 users with 10 orders and their line items (~0.5 MB)"),
    Scenario("tiny", "Tiny", TINY, "{}", (1, 1), summary="`{ __typename }`, no upstream call"),
    Scenario("hot", "Hot", HOT, "{}", (1, 1), only=(*SWITCHYARDS, "direct"),
             summary="one identical query of public data (the catalogue) from every caller"),
    Scenario("wide", "Wide", WIDE, '{"offset": %ID%}', (0, 4800),
             summary="200 users × 6 leaves from one call"),
    Scenario("mutation", "PlaceOrder", MUTATION, '{"userId": %ID%, "sku": "SKU-0001"}', (1, 5000),
             check_id=4999, compare=False, summary="`placeOrder`, one POST"),
]

# --- Processes and /proc ---------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    kids = children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(kids.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of the processes, and of their children that have exited."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class PeakSampler:
    """Samples the resident memory of a process tree ten times a second."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(process_tree(self.pid)))
            self._stop.wait(0.1)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Server:
    def __init__(self, name: str, cmd: list[str], cpus: str | None, env: dict[str, str],
                 logs: Path, cwd: Path = ROOT, ports: tuple[int, ...] = ()):
        self.name = name
        busy = [port for port in ports if port_in_use(port)]
        if busy:
            # Else the readiness check would measure whatever already listens there.
            sys.exit(f"{name}: port {busy[0]} is in use on 127.0.0.1; stop what listens there")
        if cpus is not None:
            cmd = ["taskset", "-c", cpus, *cmd]
        self.log = logs / f"{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                cmd, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, check, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            try:
                if check():
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"{self.name} did not become ready in {timeout} s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def http(method: str, url: str, body: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=body.encode() if body else None)
    if body:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def service_url(index: int) -> str:
    return f"http://127.0.0.1:{SERVICES_BASE + 1 + index}"


def upstream_total() -> int:
    total = 0
    for index in range(len(SERVICES)):
        _, body = http("GET", service_url(index) + "/__stats")
        total += json.loads(body)["total"]
    return total


def reset_upstream() -> None:
    for index in range(len(SERVICES)):
        http("POST", service_url(index) + "/__stats/reset")


# --- Candidates --------------------------------------------------------------------------


def start_candidate(name: str, cpus: str | None, logs: Path, work: Path) -> Server:
    port = PORTS[name]
    if name in SWITCHYARDS:
        # No rate limit (the load comes from one address) and no token checks: the peers
        # have neither (docs/benchmark.md).
        env = {"SWITCHYARD_LOG__FILTER": "warn", "SWITCHYARD_RATE_LIMIT__ENABLED": "false"}
        for index, service in enumerate(SERVICES):
            env[f"SWITCHYARD_SOURCES__{service.upper()}__URL"] = service_url(index)
            if name == "switchyard-solo":
                env[f"SWITCHYARD_SOURCES__{service.upper()}__COALESCE"] = "false"
        if name == "switchyard-solo":
            env["SWITCHYARD_GRAPHQL__DEDUP"] = "false"
        if name in ("switchyard-solo", "switchyard-unplanned"):
            env["SWITCHYARD_GRAPHQL__PLANNED_EXECUTION"] = "false"
        cmd = [str(RELEASE / "switchyard"), "serve", "--schema", "schema/examples/shop.graphql",
               "--listen", f"127.0.0.1:{port}"]
        server = Server(name, cmd, cpus, env, logs, ports=(port,))
    elif name == "direct":
        cmd = [str(RELEASE / "switchyard-direct"), "--listen", f"127.0.0.1:{port}"]
        for index, service in enumerate(SERVICES):
            cmd += [f"--{service}", service_url(index)]
        server = Server(name, cmd, cpus, {}, logs, ports=(port,))
    elif name == "apollo":
        env = {"SCHEMA": str(work / "public.graphql"), "PORT": str(port),
               "SERVICES_BASE_PORT": str(SERVICES_BASE), "NODE_ENV": "production"}
        server = Server(name, ["node", str(PEERS / "apollo.mjs")], cpus, env, logs, ports=(port,))
    elif name == "hive":
        env = {"NODE_ENV": "production", "SERVICES_BASE_PORT": str(SERVICES_BASE)}
        cmd = [str(PEERS / "node_modules" / ".bin" / "hive-gateway"), "supergraph",
               str(work / "supergraph.graphql"), "--host", "127.0.0.1", "--port", str(port)]
        server = Server(name, cmd, cpus, env, logs, cwd=work, ports=(port,))
    else:
        raise ValueError(name)
    tiny = SCENARIOS[4].body(name)
    server.wait_ready(lambda: http("POST", f"http://127.0.0.1:{port}/graphql", tiny)[0] == 200)
    return server


def prepare_peers(work: Path, logs: Path) -> None:
    """The public schema for Apollo; the Mesh composition for Hive Gateway."""
    schema = subprocess.run(
        [str(RELEASE / "switchyard"), "print-schema", "--schema", "schema/examples/shop.graphql"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    (work / "public.graphql").write_text(schema)
    mesh = PEERS / "mesh"
    (mesh / "openapi").mkdir(exist_ok=True)
    for index, service in enumerate(SERVICES):
        _, body = http("GET", service_url(index) + "/openapi.json")
        (mesh / "openapi" / f"{service}.json").write_bytes(body)
    with (logs / "mesh-compose.log").open("w") as log:
        subprocess.run(
            [str(PEERS / "node_modules" / ".bin" / "mesh-compose"), "-c", "mesh.config.mjs",
             "-o", str(work / "supergraph.graphql")],
            cwd=mesh, env={**os.environ, "SERVICES_BASE_PORT": str(SERVICES_BASE)},
            check=True, stdout=log, stderr=subprocess.STDOUT,
        )


# --- Answers ---------------------------------------------------------------------------


def normalize(value):
    """Peers' representations of the same answer made equal: ids as text, Mesh's unread
    count object as its number."""
    if isinstance(value, dict):
        if set(value) == {"unread"}:
            return value["unread"]
        return {k: (str(v) if k == "id" and v is not None else normalize(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def covers(candidate, reference, path="data") -> str | None:
    """None when `candidate` holds every field of `reference` with the same value."""
    if isinstance(reference, dict):
        if not isinstance(candidate, dict):
            return f"{path}: {candidate!r} is not an object"
        for key, value in reference.items():
            if key not in candidate:
                return f"{path}.{key} is missing"
            problem = covers(candidate[key], value, f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(reference, list):
        if not isinstance(candidate, list) or len(candidate) != len(reference):
            return f"{path}: lists differ in length"
        for index, (c, r) in enumerate(zip(candidate, reference)):
            problem = covers(c, r, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(reference, float) or isinstance(candidate, float):
        ok = isinstance(candidate, (int, float)) and math.isclose(candidate, reference)
        return None if ok else f"{path}: {candidate!r} != {reference!r}"
    return None if candidate == reference else f"{path}: {candidate!r} != {reference!r}"


def answer(name: str, scenario: Scenario) -> tuple[int, dict]:
    body = scenario.body(name, str(scenario.check_id))
    status, raw = http("POST", f"http://127.0.0.1:{PORTS[name]}/graphql", body)
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, {"errors": [{"message": raw[:200].decode(errors="replace")}]}


def check_answer(name: str, scenario: Scenario, references: dict[str, dict]) -> str:
    status, reply = answer(name, scenario)
    if status != 200 or reply.get("errors"):
        return f"error: {status} {json.dumps(reply.get('errors'))[:300]}"
    if not scenario.compare:
        return "ok"
    reference = references.get(scenario.name)
    if reference is None:
        return "ok (reference)"
    problem = covers(normalize(reply.get("data")), normalize(reference))
    return "ok" if problem is None else f"differs: {problem}"


# --- Load ------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    candidate: str
    mode: str  # "throughput" or "paced"
    requests: int = 0
    seconds: float = 0
    rps: float = 0
    p50_ms: float = 0
    p90_ms: float = 0
    p99_ms: float = 0
    errors: int = 0
    cpu_s: float = 0
    cpu_ms_per_request: float = 0
    peak_rss_mib: float = 0
    upstream_per_request: float = 0
    response_kib: float = 0
    answer: str = ""


def wrk(name: str, scenario: Scenario, seconds: int, connections: int, delay_ms: int,
        cpus: str | None, work: Path) -> dict:
    out = work / "wrk.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_BODY": scenario.body(name),
        "BENCH_ID_MIN": str(scenario.id_range[0]),
        "BENCH_ID_MAX": str(scenario.id_range[1]),
        "BENCH_CALLERS": scenario.callers,
        "BENCH_DELAY_MS": str(delay_ms),
        "BENCH_OUT": str(out),
    }
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(BENCH / "load.lua"), f"http://127.0.0.1:{PORTS[name]}"]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0 or not out.exists():
        sys.exit(f"wrk failed ({run.returncode}): {run.stderr or run.stdout}")
    return json.loads(out.read_text())


def upstream_probe(name: str, scenario: Scenario, concurrency: int, count: int = 128) -> float:
    """Upstream calls per request over `count` requests, `concurrency` at a time, each with
    its own caller and drawn variables as under load, all of them finished."""
    import concurrent.futures
    import random

    url = f"http://127.0.0.1:{PORTS[name]}/graphql"
    low, high = scenario.id_range

    def one(index: int) -> None:
        body = scenario.body(name, str(random.randint(low, high)))
        request = urllib.request.Request(url, method="POST", data=body.encode())
        request.add_header("content-type", "application/json")
        caller = f"probe-{index}" if scenario.callers == "unique" else \
            f"bench-pool-{random.randint(1, int(scenario.callers))}"
        request.add_header("authorization", f"Bearer {caller}")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    reset_upstream()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    return upstream_total() / count


def measure(server: Server, scenario: Scenario, mode: str, args, work: Path,
            answer_note: str) -> Result:
    connections, delay = (args.connections, 0) if mode == "throughput" else (args.paced_connections, args.paced_delay_ms)
    if args.warmup > 0:
        wrk(server.name, scenario, args.warmup, connections, delay, args.load_cpus, work)
    reset_upstream()
    pids = process_tree(server.pid)
    cpu_before = cpu_seconds(pids)
    with PeakSampler(server.pid) as sampler:
        stats = wrk(server.name, scenario, args.duration, connections, delay, args.load_cpus, work)
    cpu = cpu_seconds(process_tree(server.pid)) - cpu_before
    requests = max(stats["requests"], 1)
    # Counted apart from the timed run: when wrk stops, the requests still in flight have
    # made some of their upstream calls but are not counted as served, which inflated the
    # figure by up to a call per connection.
    time.sleep(2)  # the requests cut off by wrk's stop finish their calls first
    upstream = upstream_probe(server.name, scenario, concurrency=min(connections, 16))
    seconds = stats["duration_us"] / 1e6
    return Result(
        scenario=scenario.name, candidate=server.name, mode=mode, requests=stats["requests"],
        seconds=round(seconds, 2), rps=round(stats["requests"] / seconds, 1),
        p50_ms=stats["p50_us"] / 1000, p90_ms=stats["p90_us"] / 1000, p99_ms=stats["p99_us"] / 1000,
        errors=stats["errors"], cpu_s=round(cpu, 2),
        cpu_ms_per_request=round(cpu * 1000 / requests, 3),
        peak_rss_mib=round(sampler.peak / 2**20, 1),
        upstream_per_request=round(upstream, 2),
        response_kib=round(stats["bytes"] / requests / 1024, 1), answer=answer_note,
    )


# --- Report ----------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def markdown(results: list[Result], meta: dict) -> str:
    lines = [
        f"Run {meta['date']} on {meta['machine']}: `{meta['command']}`; services with "
        f"{meta['latency_ms']} ms added latency; {meta['duration']} s per run after "
        f"{meta['warmup']} s warm-up; wrk with {meta['connections']} connections; "
        f"servers pinned to CPU {meta['server_cpus']}, wrk and services to CPU {meta['load_cpus']}.",
        "",
        "| scenario | candidate | req/s | p50 ms | p99 ms | CPU ms/req | peak RSS MiB | upstream calls/req | errors | answer |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if r.mode != "throughput":
            continue
        lines.append(
            f"| {r.scenario} | {r.candidate} | {fmt(r.rps, 0)} | {fmt(r.p50_ms, 2)} | {fmt(r.p99_ms, 2)} "
            f"| {fmt(r.cpu_ms_per_request, 3)} | {fmt(r.peak_rss_mib)} | {fmt(r.upstream_per_request, 2)} "
            f"| {r.errors} | {r.answer} |"
        )
    paced = [r for r in results if r.mode == "paced"]
    if paced:
        lines += [
            "",
            f"Latency at a load every candidate sustains ({meta['paced_connections']} connections, "
            f"each pausing {meta['paced_delay_ms']} ms between requests):",
            "",
            "| scenario | candidate | req/s | p50 ms | p99 ms | p99 added over direct ms |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        direct = {r.scenario: r for r in paced if r.candidate == "direct"}
        for r in paced:
            added = f"{r.p99_ms - direct[r.scenario].p99_ms:+.2f}" if r.scenario in direct else "n/a"
            lines.append(f"| {r.scenario} | {r.candidate} | {fmt(r.rps, 0)} | {fmt(r.p50_ms, 2)} "
                         f"| {fmt(r.p99_ms, 2)} | {added} |")
    ratios = ratio_lines(results)
    if ratios:
        lines += ["", "Switchyard against each peer, same run:", "", *ratios]
    levers = lever_lines(results)
    if levers:
        lines += ["", "Each speed lever, same run (switchyard ÷ the candidate without it):", "",
                  *levers]
    return "\n".join(lines) + "\n"


def lever_lines(results: list[Result]) -> list[str]:
    """Switchyard against itself with levers off: all of them (`switchyard-solo`), and the
    planned executor alone (`switchyard-unplanned`)."""
    by = {(r.scenario, r.candidate): r for r in results if r.mode == "throughput"}
    offs = [c for c in ("switchyard-solo", "switchyard-unplanned") if any(k[1] == c for k in by)]
    if not offs or not any(k[1] == "switchyard" for k in by):
        return []
    head = "| scenario | " + " | ".join(
        f"throughput ÷ {c} | CPU/req ÷ {c} | calls/req ÷ {c}" for c in offs) + " |"
    lines = [head, "| --- |" + " ---: | ---: | ---: |" * len(offs)]
    for scenario in dict.fromkeys(k[0] for k in by):
        ours = by.get((scenario, "switchyard"))
        if not ours:
            continue
        cells = []
        for off in offs:
            theirs = by.get((scenario, off))
            if not theirs or not theirs.rps:
                cells += ["n/a"] * 3
                continue
            cells.append(f"{ours.rps / theirs.rps:.2f}×")
            cells.append(f"{ours.cpu_ms_per_request / theirs.cpu_ms_per_request:.2f}×"
                         if theirs.cpu_ms_per_request else "n/a")
            cells.append(f"{ours.upstream_per_request / theirs.upstream_per_request:.2f}×"
                         if theirs.upstream_per_request else "n/a")
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return lines


def ratio_lines(results: list[Result]) -> list[str]:
    by = {(r.scenario, r.candidate): r for r in results if r.mode == "throughput"}
    peers = [c for c in ("hive", "apollo", "direct") if any(k[1] == c for k in by)]
    if not peers or not any(k[1] == "switchyard" for k in by):
        return []
    head = "| scenario | " + " | ".join(
        f"throughput ÷ {p} | peak RSS ÷ {p}" for p in peers) + " |"
    lines = [head, "| --- |" + " ---: | ---: |" * len(peers)]
    for scenario in dict.fromkeys(k[0] for k in by):
        ours = by.get((scenario, "switchyard"))
        if not ours:
            continue
        cells = []
        for peer in peers:
            theirs = by.get((scenario, peer))
            if theirs and theirs.rps and theirs.peak_rss_mib:
                cells += [f"{ours.rps / theirs.rps:.2f}×", f"{ours.peak_rss_mib / theirs.peak_rss_mib:.2f}×"]
            else:
                cells += ["n/a", "n/a"]
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates",
                        default="switchyard,switchyard-solo,switchyard-unplanned,direct,apollo,hive")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before each run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--paced", default="dashboard,n-plus-one",
                        help="scenarios also run at a paced load for latency ('' for none)")
    parser.add_argument("--paced-connections", type=int, default=2)
    parser.add_argument("--paced-delay-ms", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=0, help="latency the services add")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place processes")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "bench")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    pin = not args.no_pin and cores >= 2 and shutil.which("taskset")
    args.server_cpus = str(cores - 1) if pin else None
    args.load_cpus = ",".join(str(c) for c in range(cores - 1)) if pin else None
    candidates = [c for c in args.candidates.split(",") if c]
    wanted = set(args.scenarios.split(","))
    scenarios = [s for s in SCENARIOS if s.name in wanted]
    paced = set(filter(None, args.paced.split(",")))
    unknown = (set(candidates) - set(PORTS)) | (wanted - {s.name for s in SCENARIOS})
    if unknown:
        sys.exit(f"unknown candidate or scenario: {', '.join(sorted(unknown))}")

    work = args.out
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    def start_services() -> Server:
        services = Server(
            "services",
            [str(RELEASE / "switchyard-mock"), "--users-port", str(SERVICES_BASE + 1),
             "--orders-port", str(SERVICES_BASE + 2), "--payments-port", str(SERVICES_BASE + 3),
             "--notifications-port", str(SERVICES_BASE + 4), "--latency-ms", str(args.latency_ms)],
            args.load_cpus, {"RUST_LOG": "warn"}, logs,
            ports=tuple(SERVICES_BASE + 1 + i for i in range(len(SERVICES))),
        )
        services.wait_ready(lambda: all(
            http("GET", service_url(i) + "/health")[0] == 200 for i in range(len(SERVICES))))
        return services

    results: list[Result] = []
    references: dict[str, dict] = {}
    if {"apollo", "hive"} & set(candidates):
        services = start_services()
        try:
            prepare_peers(work, logs)
        finally:
            services.stop()
    # The direct baseline answers first: its answers are the reference. Each candidate
    # gets freshly started services (same seed, same data): the mutation scenario adds
    # orders, which would change the next candidate's answers and work.
    for name in sorted(candidates, key=lambda c: c != "direct"):
        print(f"== {name}", file=sys.stderr, flush=True)
        services = start_services()
        try:
            server = start_candidate(name, args.server_cpus, logs, work)
            try:
                # Answers are checked before any load, on the seeded data, writes last.
                notes = {}
                for scenario in sorted(scenarios, key=lambda s: not s.compare):
                    if not scenario.runs_for(name):
                        continue
                    notes[scenario.name] = check_answer(name, scenario, references)
                    if name == "direct" and scenario.compare:
                        references[scenario.name] = answer(name, scenario)[1].get("data")
            finally:
                server.stop()
            for scenario in [s for s in scenarios if s.runs_for(name)]:
                # A fresh process per scenario: peak memory is the scenario's own, not the
                # high-water mark of the scenarios before it.
                server = start_candidate(name, args.server_cpus, logs, work)
                try:
                    note = notes[scenario.name]
                    modes = ["throughput"] + (["paced"] if scenario.name in paced else [])
                    for mode in modes:
                        result = measure(server, scenario, mode, args, work, note)
                        results.append(result)
                        print(f"   {scenario.name:14} {mode:10} {result.rps:>9,.0f} req/s  "
                              f"p99 {result.p99_ms:7.2f} ms  cpu {result.cpu_ms_per_request:.3f} ms/req  "
                              f"rss {result.peak_rss_mib:6.1f} MiB  upstream {result.upstream_per_request:.2f}  "
                              f"errors {result.errors}  {note}", file=sys.stderr, flush=True)
                finally:
                    server.stop()
        finally:
            services.stop()

    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cores} cores, {platform.machine()}, {platform.system()} {platform.release()}",
        "command": "bench/run " + " ".join(sys.argv[1:]),
        "latency_ms": args.latency_ms, "duration": args.duration, "warmup": args.warmup,
        "connections": args.connections, "paced_connections": args.paced_connections,
        "paced_delay_ms": args.paced_delay_ms, "server_cpus": args.server_cpus or "any",
        "load_cpus": args.load_cpus or "any",
        "scenarios": {s.name: s.summary for s in scenarios},
    }
    table = markdown(results, meta)
    (work / "results.md").write_text(table)
    (work / "results.json").write_text(
        json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2) + "\n")
    print(table)
    print(f"(written to {work}/results.md and results.json)", file=sys.stderr)


if __name__ == "__main__":
    main()
