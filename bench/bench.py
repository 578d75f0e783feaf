"""``make bench``: the design's §6 targets, measured side by side in one run (ratios, not absolute times).

Each figure is a function returning a ``Measurement``; FIGURES lists (name, function, target). The script prints
one table (figure, measured, target, result) and writes ``bench-results.json`` at the repo root: one number per
figure, plus a ``details`` object with the raw timings and, for a figure over target, where the time goes.
The machine is noisy, so the sides of a ratio are measured in alternating rounds (A B, B A, ...) and the median
of the per-round ratios is reported.
"""

from __future__ import annotations

import collections
import contextlib
import cProfile
import json
import logging
import os
import pstats
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_CODE = ROOT / "functions" / "api"
REGION = "ap-southeast-3"

# The environment both sides of every figure run in: fake credentials, no real AWS, X-Ray disabled.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": str(ROOT / ".bench-no-aws-config"),  # never read ~/.aws: does not exist on purpose
    "AWS_SHARED_CREDENTIALS_FILE": str(ROOT / ".bench-no-aws-credentials"),
    "LAPOR_TABLE_NAME": "ReportsTable", "LAPOR_IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "lapor-api",
    "POWERTOOLS_METRICS_NAMESPACE": "Lapor", "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml's Globals
}
# What the Lambda runtime sets and libraries test for. Without LAMBDA_TASK_ROOT the X-Ray SDK (imported by
# Powertools' Tracer even when tracing is disabled) builds a centralized sampler with two botocore X-Ray clients,
# a cost a real Lambda never pays; cold starts are measured with these set, and once without as a detail.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": str(API_CODE), "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
}

# The body of the sample event, as the tests use it.
REPORT = json.loads(json.loads((ROOT / "events" / "api" / "post-report.json").read_text())["body"])


@dataclass
class Measurement:
    value: float
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # printed under the table


# -- helpers -------------------------------------------------------------------------------------------------


def interleaved(rounds: int, sides: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every side once per round, in the given order on even rounds and reversed on odd ones.

    The first two sides make the headline ratio: they always run next to each other, and each goes first
    in half of the rounds.
    """
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in reversed(names) if i % 2 else names:
            times[name].append(sides[name]())
    return times


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}..{max(values):.2f}"


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send what the handler prints (Logger lines, EMF metrics) to /dev/null; it is still formatted and written.

    Powertools' Logger keeps the ``sys.stdout`` it saw at import, so stdout logging handlers are re-pointed too.
    """
    real = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as null:
        moved = []
        for name in [None, *logging.root.manager.loggerDict]:
            for handler in getattr(logging.getLogger(name), "handlers", []):
                if isinstance(handler, logging.StreamHandler) and handler.stream in (real, sys.__stdout__):
                    moved.append((handler, handler.setStream(null)))
        sys.stdout = null
        try:
            yield
        finally:
            sys.stdout = real
            for handler, stream in moved:
                handler.setStream(stream)


def _bucket(path: str, func: str) -> str:
    """A cProfile entry's owner: site-packages distribution, repo file, stdlib module or builtin."""
    if path == "~":
        return "builtin " + re.sub(r"^<(built-in )?(method|function) ", "", func).split(" of ")[0].rstrip(">")
    if found := re.search(r"site-packages/([^/]+)", path):
        return found.group(1).removesuffix(".py")
    if path.startswith(str(ROOT)):
        return os.path.relpath(path, ROOT)
    if found := re.search(r"python3\.\d+/([^/]+)", path):
        return "stdlib " + found.group(1).removesuffix(".py")
    return path


def profile_by_owner(call: Callable[[], None], calls: int, top: int = 12) -> dict[str, float]:
    """Self time per call (ms) of ``call`` under cProfile, by owner, largest first."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    owners: collections.Counter[str] = collections.Counter()
    for (path, _, func), (_, _, self_time, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        owners[_bucket(path, func)] += self_time
    return {k: round(v / calls * 1000, 3) for k, v in owners.most_common(top)}


# -- 1. intake_vs_putitem ------------------------------------------------------------------------------------


@contextlib.contextmanager
def local_dynamodb() -> Iterator[str]:
    """A moto server on a free loopback port with the template's tables; the process env points at it.

    moto keeps its state per process, not per server: it is reset on the way in and out, so each figure that
    opens one starts from empty tables (and the sweep's 20,000 reports do not outlive their figure).
    """
    import urllib.request

    from moto.server import ThreadedMotoServer

    from lapor_cli import moto_transactions
    from lapor_cli.localdb import free_port

    moto_transactions.install()  # as the local stack does: transactions do not copy whole tables

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def reset() -> None:
        direct.open(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()

    saved = {k: os.environ.get(k) for k in [*BASE_ENV, "AWS_ENDPOINT_URL_DYNAMODB"]}
    os.environ.update(BASE_ENV | {"AWS_ENDPOINT_URL_DYNAMODB": endpoint})
    try:
        reset()
        import boto3

        from lapor_cli.template import create_table_request, load_template

        client = boto3.client("dynamodb")
        for logical_id, props in load_template(ROOT / "template.yaml").tables.items():
            client.create_table(**create_table_request(logical_id, props))
        yield endpoint
    finally:
        with contextlib.suppress(OSError):
            reset()
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _NoNetwork:
    """Stands in for the DynamoDB client: the filing's write (one TransactWriteItems since the timeline moved to
    items of its own) succeeds at once: the handler's own work, nothing else."""

    def __init__(self, real: Any) -> None:
        self.exceptions = real.exceptions

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return {}

    def query(self, **_: Any) -> dict[str, Any]:  # the reply's possible duplicates (the sample has a location)
        return {"Items": [], "Count": 0, "ScannedCount": 0}


class _QueriesAnswered:
    """The handler's client with the possible-duplicates Queries answered at once (empty) and everything else sent
    to moto: moto answers a GSI Query by going through the whole table (and this figure files every report at the
    sample's point), which DynamoDB does not; what those Queries cost on the 20,000-report table is counted by
    ``nearby_reads_per_result`` (``per_filing``)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def query(self, **params: Any) -> dict[str, Any]:
        if params.get("IndexName") == "NearbyCells":
            return {"Items": [], "Count": 0, "ScannedCount": 0}
        return self._real.query(**params)


def intake_vs_putitem(rounds: int = 30, calls: int = 15, warmup: int = 20, target: float = 1.3) -> Measurement:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from lapor import runtime
    from lapor_cli.devserver import LambdaContext, build_event
    from lapor.dal import keys
    from lapor_cli.seed import seed
    from lapor_cli.template import load_template

    with local_dynamodb() as endpoint:
        runtime.reset()
        store = runtime.store()
        seed(runtime.config_store())
        if str(API_CODE) not in sys.path:
            sys.path.insert(0, str(API_CODE))
        from lapor_api.app import lambda_handler

        route = next(r for r in load_template(ROOT / "template.yaml").http_routes if r.route_key == "POST /reports")
        request = Request(EnvironBuilder(method="POST", path="/reports", data=json.dumps(REPORT),
                                         headers={"Content-Type": "application/json"}).get_environ())
        event = build_event(request, route, route.match("POST", "/reports") or {})
        context = LambdaContext("ApiFunction", timeout_seconds=3600)

        client = store.client  # the very client (and configuration) the handler writes with
        no_network, answered = _NoNetwork(client), _QueriesAnswered(client)

        def call_with(stand_in: Any) -> None:
            store._client = stand_in
            try:
                result = lambda_handler(event, context)
            finally:
                store._client = client
            if result["statusCode"] != 201:
                raise AssertionError(f"POST /reports answered {result['statusCode']}: {result.get('body')}")

        def handler_call() -> None:
            call_with(answered)

        def handler_without_dynamodb() -> None:
            call_with(no_network)

        with quiet_stdout():
            for _ in range(warmup):  # reference data, holidays, routing config, boto3 client, pydantic schemas
                handler_call()

        # Side B's items: a real stored report and its filing events (same attributes, index keys and size),
        # written as the handler writes them, in one TransactWriteItems; only PK changes per call.
        stored = client.scan(TableName=store.table_name)["Items"]
        item = next(i for i in stored if keys.is_report_key(i))
        events = sorted((i for i in stored if i["PK"] == item["PK"] and i["SK"]["S"].startswith(keys.EVENT_PREFIX)),
                        key=lambda i: i["SK"]["S"])
        counter = iter(range(10**9))

        def filing(condition: dict[str, str]) -> list[dict[str, Any]]:
            pk = {"S": f"REPORT#BENCH{next(counter):09d}"}
            return [{"Put": {"TableName": store.table_name, "Item": i | {"PK": pk}, **condition}}
                    for i in (item, *events)]

        def put_call() -> None:
            client.transact_write_items(TransactItems=filing({}))

        def conditional_put_call() -> None:  # what the handler sends: the same with attribute_not_exists(PK)
            client.transact_write_items(TransactItems=filing({"ConditionExpression": "attribute_not_exists(PK)"}))

        for _ in range(warmup):
            put_call()
            conditional_put_call()

        def block(call: Callable[[], None]) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                return (time.perf_counter() - start) / calls
            return run

        with quiet_stdout():
            times = interleaved(rounds, {
                "handler": block(handler_call), "putitem": block(put_call),
                "conditional_putitem": block(conditional_put_call), "handler_without_dynamodb":
                block(handler_without_dynamodb),
            })
            ratios = [a / b for a, b in zip(times["handler"], times["putitem"])]
            value = statistics.median(ratios)
            profile = profile_by_owner(handler_without_dynamodb, 300) if value > target else None
        runtime.reset()

    med = {name: statistics.median(t) for name, t in times.items()}
    cond_ratios = [a / c for a, c in zip(times["handler"], times["conditional_putitem"])]
    details: dict[str, Any] = {
        "endpoint": endpoint, "rounds": rounds, "calls_per_round": calls, "item_json_bytes": len(json.dumps(item)),
        "ratios": [round(r, 3) for r in ratios],
        **{f"{name}_ms_per_call": [ms(t) for t in ts] for name, ts in times.items()},
        **{f"{name}_ms_median": ms(m) for name, m in med.items()},
        "handler_vs_conditional_putitem_ratio": round(statistics.median(cond_ratios), 3),
    }
    notes = [
        f"intake_vs_putitem: handler {ms(med['handler']):.2f} ms/call, bare filing transaction "
        f"{ms(med['putitem']):.2f}, conditional {ms(med['conditional_putitem']):.2f}, handler with the write stubbed out "
        f"{ms(med['handler_without_dynamodb']):.2f} (medians, {rounds} rounds x {calls} calls; ratios {spread(ratios)})",
        f"intake_vs_putitem: handler / conditional filing transaction = {details['handler_vs_conditional_putitem_ratio']:.3f} "
        f"(moto evaluating attribute_not_exists(PK) costs "
        f"{ms(med['conditional_putitem'] - med['putitem']):.2f} ms/call)",
    ]
    if profile is not None:
        details["handler_without_dynamodb_self_ms_by_owner"] = profile
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(profile.items())[:8])
        notes.append(f"intake_vs_putitem: handler's own work by owner (cProfile, ms/call, inflated): {top}")
    return Measurement(value, details, notes)


# -- 2. cold_import_ratio ------------------------------------------------------------------------------------

# Each child prints one JSON line: the total (from before the first import to a DynamoDB client) and its parts.
COLD_API = f"""
import json, sys, time
sys.path.insert(0, {str(API_CODE)!r})
start = time.perf_counter()
import lapor_api.app
imported = time.perf_counter()
from lapor import runtime
runtime.store().client
end = time.perf_counter()
print(json.dumps({{"total": end - start, "import": imported - start, "init": end - imported}}))
"""

COLD_BOTO3 = f"""
import json, time
start = time.perf_counter()
import boto3
imported = time.perf_counter()
boto3.client("dynamodb", region_name={REGION!r})
end = time.perf_counter()
print(json.dumps({{"total": end - start, "import": imported - start, "init": end - imported}}))
"""


# What stands in the way of cold_import_ratio, measured: a child that imports the very modules a function ends
# up with (stdlib and third-party, in the order they were first imported) but none of Lapor's own, with the
# collector paused as the function pauses it, then builds the same DynamoDB client. The difference to the
# function is Lapor's code: its modules, the model classes it declares, the routes it registers.
MODULES_OF = """
import json, sys
lapor = {lapor!r}  # where Lapor's code lives (the venv may be under the repository too)
def added(before):
    return [name for name, module in list(sys.modules.items()) if name not in before
            and name.split(".")[0] not in ("lapor", "lapor_api", "lapor_sms", "lapor_cli")
            and not (getattr(module, "__file__", None) or "").startswith(lapor)]
before = set(sys.modules)
{imports}
at_import = added(before)
before = set(sys.modules)
{init}
print(json.dumps([at_import, added(before)]))
"""
# The function pauses the collector while its module loads and starts it again at the module's end, before init
# (boto3 and the client) runs: so does this child.
COLD_LIBRARIES = f"""
import json, sys, time, importlib, gc
at_import, at_init = json.loads(sys.stdin.read())
start = time.perf_counter()
gc.disable()
failed = 0
def load(names):
    global failed
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # an alias a package put in sys.modules (six.moves), not a module of its own
            failed += 1
load(at_import)
gc.freeze(); gc.enable()
imported = time.perf_counter()
load(at_init)
import boto3
boto3.client("dynamodb", region_name={REGION!r})
end = time.perf_counter()
print(json.dumps({{"total": end - start, "import": imported - start, "init": end - imported, "failed": failed}}))
"""


def libraries_of(code: str) -> list[list[str]]:
    """The stdlib and third-party modules a cold-start child imports (not Lapor's), in import order: those its
    import adds, then those its init adds."""
    prelude, timed = code.split("start = time.perf_counter()\n", 1)
    imports, init = timed.split("imported = time.perf_counter()\n", 1)
    init = init.rsplit("end = time.perf_counter()", 1)[0]
    lapor = tuple(str(ROOT / folder) for folder in ("layers", "functions"))
    child = prelude + MODULES_OF.format(imports=imports, init=init, lapor=lapor)
    return json.loads(_child(child).stdout.strip().splitlines()[-1])


def _time_libraries(names: list[list[str]]) -> dict[str, float]:
    return json.loads(_child(COLD_LIBRARIES, stdin=json.dumps(names)).stdout.strip().splitlines()[-1])


def _child_env(lambda_like: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LAPOR_", "POWERTOOLS_", "_X_AMZN")) and k != "LAMBDA_TASK_ROOT"}
    env.update(BASE_ENV | (LAMBDA_ENV if lambda_like else {}))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _child(code: str, *flags: str, lambda_like: bool = True, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=_child_env(lambda_like), timeout=60, input=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{done.stderr[-2000:]}")
    return done


def _time_child(code: str, lambda_like: bool = True) -> dict[str, float]:
    return json.loads(_child(code, lambda_like=lambda_like).stdout.strip().splitlines()[-1])


def _importtime(code: str) -> dict[str, int]:
    """Self time (us) of every module a child imports, from ``-X importtime`` (module-level work included)."""
    modules = {}
    for line in _child(code, "-X", "importtime").stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:"):].split("|", 2)
            modules[name.strip()] = int(self_us)
    return modules


def import_excess(runs: int = 3, top: int = 12) -> dict[str, float]:
    """Self import time (ms) of the modules the API imports and boto3 + a client does not, by top-level package.

    Medians of ``runs`` children; ``-X importtime`` has overhead of its own, so read these as shares.
    """
    baseline = set(_importtime(COLD_BOTO3))
    per_run: list[collections.Counter[str]] = []
    for _ in range(runs):
        packages: collections.Counter[str] = collections.Counter()
        for module, self_us in _importtime(COLD_API).items():
            if module not in baseline:
                packages[module.split(".")[0]] += self_us
        per_run.append(packages)
    names = set().union(*per_run)
    medians = {name: statistics.median(run.get(name, 0) for run in per_run) / 1000 for name in names}
    ranked = sorted(medians.items(), key=lambda kv: -kv[1])
    return {"total": round(sum(medians.values()), 1), **{k: round(v, 1) for k, v in ranked[:top]}}


def _against_boto3(side: str, code: str, runs: int) -> tuple[dict[str, list[dict[str, float]]],
                                                              dict[str, dict[str, float]], dict[str, Any], str]:
    """``code``'s cold start (``side``), boto3's and its libraries floor's, ``runs`` interleaved fresh processes
    each: the times, their medians by part, the floor's details and its note."""
    for child in (code, COLD_BOTO3):  # write the .pyc files once, outside the measurement
        _time_child(child)
    libraries = libraries_of(code)
    times = interleaved(runs, {side: lambda: _time_child(code), "boto3": lambda: _time_child(COLD_BOTO3),
                               "libraries": lambda: _time_libraries(libraries)})
    med = {name: {part: statistics.median(t[part] for t in ts) for part in ("total", "import", "init")}
           for name, ts in times.items()}
    floor = med["libraries"]["total"] / med["boto3"]["total"]
    own = med[side]["total"] - med["libraries"]["total"]
    details = {"libraries_only_ratio": round(floor, 3), "libraries_modules": sum(map(len, libraries)),
               "libraries_failed_imports": max(t["failed"] for t in times["libraries"]), "lapor_own_ms": ms(own)}
    note = (f"the {sum(map(len, libraries))} stdlib and third-party modules it imports, alone (no Lapor code; the "
            f"collector paused while the function pauses it) + the client: {ms(med['libraries']['total']):.0f} ms, "
            f"{floor:.2f} of boto3's; Lapor's own code (its modules, model classes, routes) adds {ms(own):.0f} ms")
    return times, med, details, note


def cold_import_ratio(runs: int = 9, outside_lambda_runs: int = 3, target: float = 1.25) -> Measurement:
    times, med, floor, floor_note = _against_boto3("api", COLD_API, runs)
    value = med["api"]["total"] / med["boto3"]["total"]
    outside = interleaved(outside_lambda_runs, {"api": lambda: _time_child(COLD_API, lambda_like=False),
                                                "boto3": lambda: _time_child(COLD_BOTO3, lambda_like=False)})
    outside_med = {side: statistics.median(t["total"] for t in ts) for side, ts in outside.items()}
    details: dict[str, Any] = {
        "runs": runs, "tracing": "disabled (POWERTOOLS_TRACE_DISABLED=true)", "lambda_env": LAMBDA_ENV,
        **{f"{side}_{part}_ms": [ms(t[part]) for t in ts] for side, ts in times.items() for part in ("total",)},
        **{f"{side}_{part}_ms_median": ms(v) for side, parts in med.items() for part, v in parts.items()},
        **floor,
        "outside_lambda_env": {"runs": outside_lambda_runs, "ratio": round(outside_med["api"] / outside_med["boto3"], 3),
                               **{f"{side}_total_ms_median": ms(v) for side, v in outside_med.items()}},
    }
    notes = [
        f"cold_import_ratio: ApiFunction {ms(med['api']['total']):.0f} ms (import {ms(med['api']['import']):.0f} + "
        f"init {ms(med['api']['init']):.0f}) vs import boto3 + DynamoDB client {ms(med['boto3']['total']):.0f} ms "
        f"(import {ms(med['boto3']['import']):.0f} + client {ms(med['boto3']['init']):.0f}); medians of {runs} "
        f"fresh processes each, Lambda env vars set, tracing disabled",
        f"cold_import_ratio: {floor_note}",
        f"cold_import_ratio: without the Lambda env vars (X-Ray SDK builds its sampler's clients): "
        f"{details['outside_lambda_env']['ratio']:.2f} ({ms(outside_med['api']):.0f} vs "
        f"{ms(outside_med['boto3']):.0f} ms, {outside_lambda_runs} runs each)",
    ]
    if value > target:
        excess = import_excess()
        details["api_only_import_self_ms_by_package"] = excess
        top = ", ".join(f"{k} {v:.0f}" for k, v in list(excess.items())[1:9])
        notes.append(f"cold_import_ratio: modules boto3 does not import, self ms by package (-X importtime, "
                     f"total {excess['total']:.0f}): {top}")
    return Measurement(value, details, notes)


SMS_CODE = ROOT / "functions" / "sms"
COLD_SMS = COLD_API.replace(str(API_CODE), str(SMS_CODE)).replace("import lapor_api.app", "import lapor_sms.app")


def cold_import_ratio_sms(runs: int = 9, target: float = 1.25) -> Measurement:
    """cold_import_ratio for the other request-facing function, SmsFunction (the SMS webhooks)."""
    _, med, floor, floor_note = _against_boto3("sms", COLD_SMS, runs)
    notes = [f"cold_import_ratio_sms: SmsFunction {ms(med['sms']['total']):.0f} ms (import "
             f"{ms(med['sms']['import']):.0f} + init {ms(med['sms']['init']):.0f}) vs import boto3 + DynamoDB client "
             f"{ms(med['boto3']['total']):.0f} ms; medians of {runs} fresh processes each",
             f"cold_import_ratio_sms: {floor_note}"]
    return Measurement(med["sms"]["total"] / med["boto3"]["total"],
                       {**{f"{side}_total_ms_median": ms(parts["total"]) for side, parts in med.items()}, **floor},
                       notes)


# A fresh ApiFunction process as SnapStart runs it: init and the before-snapshot hooks (priming: the snapshot
# holds their result), then, as in a copy resumed from the snapshot, the after-restore hooks and the first
# request; then warm requests. Each request files a report (a new Idempotency-Key each) against the moto server;
# its possible-duplicates Queries are answered at once (moto would read every report filed before it, all at one
# point: the warm requests would grow slower and the ratio would shrink for nothing Lapor does).
# The moto server, DynamoDB's stand-in, lives in the bench's process and sits idle while the child starts (~0.5 s);
# on this 2-core machine whatever follows such a gap is slower. DynamoDB is never idle, so before the restore the
# child wakes the server with plain HTTP requests (WAKE; not through botocore, which would warm Lapor's own client
# paths). The second view (PAUSE) puts the same gap before the first request and before each warm one, as Lambda
# freezes an environment between invocations.
RESTORE_CHILD = f"""
import json, os, sys, time, urllib.request, uuid
sys.path.insert(0, {str(API_CODE)!r})
import lapor_api.app as app
from lapor import runtime, snapstart
sent = []  # what a request sends to the moto server: operation (and a transaction's number of entries)
# Registered before the priming, which ends with the handler cache as a restored copy finds it.
runtime.dynamodb().meta.events.register("before-parameter-build.dynamodb", lambda model, params, **_: sent.append(
    model.name + (f"({{len(params['TransactItems'])}})" if "TransactItems" in params else "")))
if PRIME:
    snapstart.run_before_snapshot()
sys.path.insert(0, {str(ROOT / "bench")!r})
from bench import _QueriesAnswered  # the possible-duplicates Queries answered at once, as in intake_vs_putitem
reports = runtime.store()
reports._client = _QueriesAnswered(reports.client)
event = json.loads(open({str(ROOT / "events" / "api" / "post-report.json")!r}).read())

class Context:
    function_name = "ApiFunction"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:ApiFunction"
    def get_remaining_time_in_millis(self): return 10000

def call():
    event["headers"]["idempotency-key"] = str(uuid.uuid4())
    answer = app.lambda_handler(event, Context())
    assert answer["statusCode"] == 201, answer
def timed():
    time.sleep(PAUSE); sent.clear(); t0 = time.perf_counter(); call(); return time.perf_counter() - t0
direct = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
woken = 0
for _ in range(WAKE):  # moto's dashboard page: ~1 ms each once the first is served
    with direct.open(os.environ["AWS_ENDPOINT_URL_DYNAMODB"] + "/moto-api/", timeout=10) as page:
        page.read()
    woken += 1
time.sleep(PAUSE)
sent.clear()
start = time.perf_counter()
snapstart.run_after_restore()
restored = time.perf_counter()
call()
first = time.perf_counter()
first_sent = list(sent)
warm = [timed() for _ in range(WARM)]
print(json.dumps({{"after_restore": restored - start, "first_request": first - restored, "warm": warm,
                  "first_sent": first_sent, "warm_sent": list(sent), "woken": woken}}))
"""
RESTORE_WAKE_REQUESTS = 10
RESTORE_PAUSE_SECONDS = 0.3


def _restore_children(runs: int, warm: int, prime: bool, wake: int, pause: float) -> list[dict[str, Any]]:
    from lapor import runtime
    from lapor_cli.seed import seed

    code = f"PRIME = {prime!r}; WAKE = {wake!r}; PAUSE = {pause!r}; WARM = {warm!r}\n" + RESTORE_CHILD
    results = []
    with local_dynamodb() as endpoint:
        runtime.reset()
        seed(runtime.config_store())
        runtime.reset()
        env = _child_env(lambda_like=True) | {"AWS_ENDPOINT_URL_DYNAMODB": endpoint}
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                  timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"restore child failed:\n{done.stderr[-2000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def first_request_after_restore_ratio(runs: int = 9, warm: int = 15, prime: bool = True,
                                      target: float = 1.3) -> Measurement:
    """(after-restore hooks + the first request) / the median warm request (back to back), each in a fresh
    process that ran init and the before-snapshot hooks first, with the moto server awake; median of ``runs``
    processes. Details: the same with a pause before every request. ``prime=False`` skips the priming."""
    views = {"awake": {"wake": RESTORE_WAKE_REQUESTS, "pause": 0.0},
             "paused": {"wake": 0, "pause": RESTORE_PAUSE_SECONDS}}
    seen = {view: _restore_children(runs, warm, prime, **how) for view, how in views.items()}
    if any(r["woken"] != RESTORE_WAKE_REQUESTS for r in seen["awake"]):  # the server must really have answered
        raise RuntimeError(f"the moto server answered {[r['woken'] for r in seen['awake']]} wake-up requests")
    figures: dict[str, dict[str, Any]] = {}
    for view, results in seen.items():
        ratios = [(r["after_restore"] + r["first_request"]) / statistics.median(r["warm"]) for r in results]
        figures[view] = {
            "ratio": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
            "after_restore_ms": ms(statistics.median(r["after_restore"] for r in results)),
            "first_request_ms": ms(statistics.median(r["first_request"] for r in results)),
            "warm_ms": ms(statistics.median(statistics.median(r["warm"]) for r in results))}
    awake, paused = figures["awake"], figures["paused"]
    # After the restore the configuration's version is due for a check; the first filing makes it with a
    # ConditionCheck in its own transaction (one more entry), not with a Query before it: what each sends shows it.
    first_sent, warm_sent = seen["awake"][-1]["first_sent"], seen["awake"][-1]["warm_sent"]
    primed = "primed" if prime else "NOT primed"
    notes = [f"first_request_after_restore_ratio: after-restore hooks {awake['after_restore_ms']:.1f} ms + first "
             f"POST /reports {awake['first_request_ms']:.1f} ms vs a warm one back to back {awake['warm_ms']:.1f} ms "
             f"(moto server woken by {RESTORE_WAKE_REQUESTS} HTTP requests before the restore; medians of {runs} "
             f"fresh processes, each {primed} before its 'snapshot'); ratios {spread(awake['ratios'])}",
             f"first_request_after_restore_ratio: with a {RESTORE_PAUSE_SECONDS} s pause before every request "
             f"instead (no wake-up): {paused['first_request_ms']:.1f} ms vs {paused['warm_ms']:.1f} ms, "
             f"{paused['ratio']:.2f} ({spread(paused['ratios'])})",
             f"first_request_after_restore_ratio: the first request sent {', '.join(first_sent)}; a warm one "
             f"{', '.join(warm_sent)}" + (" (the version check is the first one's extra transaction entry)" if prime
                                          else "")]
    return Measurement(awake["ratio"],
                       {"runs": runs, "warm_requests": warm, "primed": prime, **awake,
                        "wake_requests": RESTORE_WAKE_REQUESTS,
                        "paused": paused | {"pause_seconds": RESTORE_PAUSE_SECONDS},
                        "first_request_sent": first_sent, "warm_request_sent": warm_sent}, notes)


# -- 3. sweep_reads_per_overdue, scan_reads_per_overdue, escalations_per_second --------------------------------

SWEEP_REPORTS = int(os.environ.get("LAPOR_BENCH_REPORTS", "20000"))  # the table's size; a quick run sets it lower
SWEEP_OVERDUE_SHARE = 0.01  # 1% of the reports are past their deadline
SWEEP_SHARDS = 8
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Calls:
    """What went over a DynamoDB client: per operation, calls (pages), ScannedCount and Count summed, seconds;
    and every write, as (operation, PK or "*")."""

    ops: dict[str, dict[str, float]] = field(default_factory=lambda: collections.defaultdict(
        lambda: {"calls": 0, "scanned": 0, "returned": 0, "seconds": 0.0}))
    writes: list[tuple[str, str]] = field(default_factory=list)

    def rounded(self) -> dict[str, dict[str, float]]:
        return {op: {k: round(v, 3) for k, v in c.items()} for op, c in self.ops.items()}


@contextlib.contextmanager
def dynamodb_calls(client: Any) -> Iterator[Calls]:
    """Count what ``client`` sends and reads while the block runs (botocore event handlers, removed after)."""
    calls = Calls()
    started: dict[str, float] = {}

    def params(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WRITE_OPERATIONS:
            entries = [(f"{model.name}.{op}", e) for entry in params.get("TransactItems", []) for op, e in entry.items()]
            for name, write in entries or [(model.name, params)]:
                calls.writes.append((name, write.get("Key", write.get("Item", {})).get("PK", {}).get("S", "*")))

    def before(model: Any, **_: Any) -> None:
        started[model.name] = time.perf_counter()

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        counts = calls.ops[model.name]
        counts["calls"] += 1
        counts["scanned"] += parsed.get("ScannedCount", 0)
        counts["returned"] += parsed.get("Count", 0)
        counts["seconds"] += time.perf_counter() - started.pop(model.name, time.perf_counter())

    hooks = [("before-parameter-build.dynamodb", params), ("before-call.dynamodb", before),
             ("after-call.dynamodb", after)]
    for n, (event, handler) in enumerate(hooks):
        client.meta.events.register(event, handler, unique_id=f"bench-calls-{n}")
    try:
        yield calls
    finally:
        for n, (event, _) in enumerate(hooks):
            client.meta.events.unregister(event, unique_id=f"bench-calls-{n}")


@contextlib.contextmanager
def moto_without_item_size_check() -> Iterator[None]:
    """While building the table only: moto re-sums an item's whole size on every attribute it sets (to refuse
    items over 400 KB), O(attributes^2) per item and over a third of a build. Our items are ~2 KB."""
    try:
        from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    except ImportError:  # another moto: build at its own pace
        yield
        return
    checked = LimitedSizeDict.__dict__.get("__setitem__")
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        if checked is None:
            del LimitedSizeDict.__setitem__
        else:
            LimitedSizeDict.__setitem__ = checked  # type: ignore[method-assign]


def build_reports(store: Any, config: Any, reports: int, overdue: int,
                  as_of: Any) -> tuple[set[str], list[str], dict[str, Any]]:
    """``reports`` open reports filed like intake files them, ``overdue`` of them past their deadline at ``as_of``.

    One report goes through ``submit_report`` (its stored item is the shape every other copies); the rest are
    written 25 per BatchWriteItem with the same index keys ``create_report`` writes, by a store whose client
    skips botocore's client-side parameter validation (a quarter of the client's time; moto validates anyway).
    Returns the overdue ids, every id, and how long the build took.
    """
    import random
    from datetime import timedelta

    import boto3
    from botocore.config import Config
    from ulid import ULID

    from lapor.dal import ReportStore, report_key
    from lapor.domain import ids, reference
    from lapor.domain.escalation import is_overdue
    from lapor.intake import iso_utc, submit_report
    from lapor.models import ReportIn

    started = time.perf_counter()
    rng = random.Random(6472)
    filed = submit_report(ReportIn.model_validate(REPORT), channel="web", store=store, config=config,
                          default_deadline_days=30, now=as_of - timedelta(days=120))
    raw = store.client.get_item(TableName=store.table_name, Key=report_key(filed["tracking_id"]))["Item"]
    template = {k: v for k, v in store._plain(raw).items()
                if k not in ("PK", "SK", "agency_pk", "agency_sk", "due_pk", "due_sk")}
    if not is_overdue(template["due_at_utc"], as_of):
        raise AssertionError(f"a report filed 120 days ago is not overdue: due {template['due_at_utc']}")
    zone = reference.region(template["region_code"]).zone  # type: ignore[union-attr]
    days = template["deadline_working_days"]
    due_by_day: dict[Any, Any] = {}

    def record(late: bool) -> dict[str, Any]:
        while True:  # a filing moment whose deadline falls on the wanted side of as_of
            ago = rng.uniform(60, 150) if late else rng.uniform(0, 20)
            submitted = (as_of - timedelta(days=ago)).replace(microsecond=0)
            local_day = submitted.astimezone(zone).date()
            if local_day not in due_by_day:
                due_by_day[local_day] = config.calendar.due_at(submitted, zone, days)
            due = due_by_day[local_day]
            if is_overdue(iso_utc(due), as_of) == late:
                break
        tracking_id = ids.new_tracking_id()
        return template | {
            "tracking_id": tracking_id, "access_code_hash": ids.hash_access_code(tracking_id, ids.new_access_code()),
            "submitted_at": iso_utc(submitted), "due_at": due.isoformat(), "due_at_utc": iso_utc(due),
            "timeline": [event | {"id": str(ULID()), "at": iso_utc(submitted)} for event in template["latest_events"]],
        }

    late_at = set(rng.sample(range(1, reports), overdue - 1))  # the report filed through intake is overdue too
    records = [record(i in late_at) for i in range(1, reports)]
    if len({r["tracking_id"] for r in records} | {template["tracking_id"]}) != reports:
        raise AssertionError("tracking id collision while building the table; run again")
    built = time.perf_counter()
    writer = ReportStore(store.table_name, due_index_shards=store.due_index_shards,
                         client=boto3.client("dynamodb", config=Config(parameter_validation=False)))
    with moto_without_item_size_check():
        writer._batch_put(item for r in records for item in writer.new_items(r))
    done = time.perf_counter()
    overdue_ids = {template["tracking_id"]} | {r["tracking_id"] for r in records if is_overdue(r["due_at_utc"], as_of)}
    if len(overdue_ids) != overdue:
        raise AssertionError(f"built {len(overdue_ids)} overdue reports, wanted {overdue}")
    every_id = [template["tracking_id"], *(r["tracking_id"] for r in records)]
    return overdue_ids, every_id, {"reports": reports, "overdue": overdue, "build_seconds": round(done - started, 1),
                         "records_seconds": round(built - started, 1), "batch_write_seconds": round(done - built, 1),
                         "batch_writes": -(-(reports - 1) // 25), "item_json_bytes": len(json.dumps(raw))}


def scan_sweep(store: Any, as_of: Any) -> set[str]:
    """The baseline: what a sweep without the index would do, a filtered Scan of the whole table (reads only)."""
    from lapor.dal import OPEN_STATUSES
    from lapor.domain.clock import iso_utc

    statuses = {f":s{i}": {"S": s} for i, s in enumerate(sorted(OPEN_STATUSES))}
    kwargs: dict[str, Any] = {
        "TableName": store.table_name, "ProjectionExpression": "tracking_id",
        "FilterExpression": f"SK = :meta AND due_at_utc < :as_of AND #status IN ({', '.join(statuses)}) "
                            "AND attribute_not_exists(overdue_final)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":meta": {"S": "META"}, ":as_of": {"S": iso_utc(as_of)}} | statuses,
    }
    found = set()
    while True:
        page = store.client.scan(**kwargs)
        found |= {item["tracking_id"]["S"] for item in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_SWEEP_RUN: dict[str, Any] = {}


def sweep_run() -> dict[str, Any]:
    """Build the table, count the Scan baseline, then run the real sweep: once, for the three sweep figures."""
    if "result" not in _SWEEP_RUN and "error" not in _SWEEP_RUN:
        try:
            _SWEEP_RUN["result"] = _sweep_run(SWEEP_REPORTS, max(1, round(SWEEP_REPORTS * SWEEP_OVERDUE_SHARE)))
        except Exception as exc:
            _SWEEP_RUN["error"] = exc
    if "error" in _SWEEP_RUN:
        raise _SWEEP_RUN["error"]
    return _SWEEP_RUN["result"]


def _sweep_run(reports: int, overdue: int) -> dict[str, Any]:
    import random
    from datetime import UTC, datetime

    from lapor import runtime, sweep
    from lapor.dal import report_key
    from lapor_cli.seed import seed

    phases: dict[str, float] = {}
    with local_dynamodb() as endpoint:
        t0 = time.perf_counter()
        runtime.reset()
        store = runtime.store()
        seed(runtime.config_store())
        config = runtime.config_cache().get()
        as_of = datetime.now(UTC).replace(microsecond=0)
        overdue_ids, every_id, build = build_reports(store, config, reports, overdue, as_of)
        phases["seed_and_build"] = time.perf_counter() - t0
        print(f"sweep figures: built {reports} reports ({overdue} overdue) in {build['build_seconds']:.1f} s "
              f"({build['batch_writes']} BatchWriteItem calls, {build['batch_write_seconds']:.1f} s)", flush=True)

        with dynamodb_calls(store.client) as scan_calls:
            t0 = time.perf_counter()
            scan_found = scan_sweep(store, as_of)
            phases["scan"] = time.perf_counter() - t0
        if scan_found != overdue_ids:
            raise AssertionError(f"the Scan sweep found {len(scan_found)} overdue reports, "
                                 f"{len(scan_found & overdue_ids)} of the {overdue} built")

        with dynamodb_calls(store.client) as sweep_calls:
            t0 = time.perf_counter()
            counts = sweep.run_sweep(store, config, as_of=as_of, dry_run=False, shards=SWEEP_SHARDS)
            phases["sweep"] = time.perf_counter() - t0

        # Exactly the overdue reports went one step up, once each, and nothing else was written: the sweep's
        # only writes are one transaction (update the report, put its event) per overdue report (all of them
        # from this process, on this client).
        t0 = time.perf_counter()
        written = collections.Counter(sweep_calls.writes)
        expected = collections.Counter((f"TransactWriteItems.{op}", report_key(tid)["PK"]["S"])
                                       for tid in overdue_ids for op in ("Update", "Put"))
        if written != expected:
            raise AssertionError(f"the sweep wrote {sum(written.values())} times to {len(written)} items; expected "
                                 f"one transaction (the report, its event) to each of the {overdue} overdue reports "
                                 f"({sum((written - expected).values())} unexpected writes)")
        reread = {tid: store.get_report(tid, timeline=True) for tid in overdue_ids}
        on_time = [tid for tid in every_id if tid not in overdue_ids]
        on_time = random.Random(1).sample(on_time, min(overdue, len(on_time)))
        untouched = {tid: store.get_report(tid, timeline=True) for tid in on_time}  # and, by the write log, all the others too
        phases["verify"] = time.perf_counter() - t0
        runtime.reset()

    def state(report: dict[str, Any] | None) -> tuple[Any, ...]:
        return (report["status"], report["escalation_level"], report["version"],
                report["timeline"][-1]["type"]) if report else ("missing",)

    wrong = {tid: state(r) for tid, r in reread.items() if state(r) != ("escalated", 1, 2, "escalated")}
    moved = {tid: state(r) for tid, r in untouched.items() if state(r) != ("routed", 0, 1, "routed")}
    if wrong or moved:
        raise AssertionError(f"{len(wrong)} overdue reports not escalated exactly once, {len(moved)} of "
                             f"{len(untouched)} on-time reports changed: e.g. {[*wrong.items(), *moved.items()][:3]}")
    if (counts.escalated, counts.flagged_final, counts.skipped) != (overdue, 0, 0):
        raise AssertionError(f"sweep counts {counts}, wanted {overdue} escalated")

    query, scan = sweep_calls.ops.get("Query", {}), scan_calls.ops.get("Scan", {})
    return {
        "endpoint": endpoint, "as_of": as_of.isoformat(), "shards": SWEEP_SHARDS, **build,
        "escalated_to": sorted({r["agency_id"] for r in reread.values()}), "on_time_reread": len(untouched),
        "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
        "sweep": {"seconds": round(phases["sweep"], 2), "counts": asdict(counts), "calls": sweep_calls.rounded()},
        "scan": {"seconds": round(phases["scan"], 2), "found": len(scan_found), "calls": scan_calls.rounded()},
        "sweep_items_read": int(query.get("scanned", 0)), "sweep_query_pages": int(query.get("calls", 0)),
        "scan_items_read": int(scan.get("scanned", 0)), "scan_pages": int(scan.get("calls", 0)),
    }


def sweep_reads_per_overdue(target: float = 1.05) -> Measurement:
    run = sweep_run()
    value = run["sweep_items_read"] / run["overdue"]
    # The target allows one page per shard besides the items (the page that finds a shard empty or finished),
    # in each of the sweep's two indexes (ByDue, then ByClosing: none of these reports is due to close).
    extra_pages = max(0, run["sweep_query_pages"] - 2 * run["shards"])
    notes = [
        f"sweep_reads_per_overdue: {run['reports']} open reports, {run['overdue']} overdue at as_of (built in "
        f"{run['build_seconds']:.1f} s, {run['batch_writes']} BatchWriteItem calls); run_sweep (shards="
        f"{run['shards']}, page 100, dry_run=False) read {run['sweep_items_read']} index items in "
        f"{run['sweep_query_pages']} Query pages ({extra_pages} beyond one per shard and index) and escalated "
        f"{run['sweep']['counts']['escalated']}: one transaction (report + event) each, no other write, each at level 1 / version 2",
        f"sweep_reads_per_overdue: a Scan-based sweep reads "
        f"{run['scan_items_read'] / max(1, run['sweep_items_read']):.1f}x the items this sweep reads "
        f"({run['scan_items_read']} vs {run['sweep_items_read']})",
    ]
    keys = ("reports", "overdue", "shards", "sweep_items_read", "sweep_query_pages", "build_seconds", "records_seconds",
            "batch_write_seconds", "batch_writes", "item_json_bytes", "as_of", "escalated_to", "on_time_reread",
            "phase_seconds", "sweep", "endpoint")
    return Measurement(value, {k: run[k] for k in keys}, notes)


def scan_reads_per_overdue(target: float | None = None) -> Measurement:
    run = sweep_run()
    value = run["scan_items_read"] / run["overdue"]
    notes = [f"scan_reads_per_overdue: a filtered Scan (SK = META, due_at_utc < as_of, open status, not final; run "
             f"before the sweep, writes nothing) read {run['scan_items_read']} items in {run['scan_pages']} pages "
             f"({run['scan']['seconds']:.1f} s) to find the same {run['scan']['found']} overdue reports"]
    return Measurement(value, {k: run[k] for k in ("reports", "overdue", "scan_items_read", "scan_pages", "scan")},
                       notes)


def escalations_per_second(target: float | None = None) -> Measurement:
    run = sweep_run()
    done = run["sweep"]
    value = done["counts"]["escalated"] / done["seconds"]
    parts = ", ".join(f"{op} {c['calls']:.0f} calls {c['seconds']:.2f} s" for op, c in done["calls"].items())
    notes = [f"escalations_per_second: {done['counts']['escalated']} escalations in {done['seconds']:.2f} s, one "
             f"process against moto ({parts}); moto answers each Query by sorting the whole table, DynamoDB does not"]
    return Measurement(value, {"escalated": done["counts"]["escalated"], "seconds": done["seconds"],
                               "calls": done["calls"]}, notes)


# -- 4. sweep_queued_vs_in_process: a run through the queue, one report poisoned ------------------------------

SWEEP_CODE = ROOT / "functions" / "sweep"


@contextlib.contextmanager
def poisoned(tracking_id: str) -> Iterator[None]:
    """Every write to one report fails, every time (an item past DynamoDB's limits, say)."""
    from lapor.dal import ReportStore

    write = ReportStore.record_change

    def record_change(self: Any, record: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if record["tracking_id"] == tracking_id:
            raise RuntimeError("poisoned report")
        return write(self, record, *args, **kwargs)

    ReportStore.record_change = record_change  # type: ignore[method-assign]
    try:
        yield
    finally:
        ReportStore.record_change = write  # type: ignore[method-assign]


def _queued_run(body: dict[str, Any]) -> tuple[dict[str, Any], float, int]:
    """``POST /admin/sweeps`` through the API handler, then the worker on every message of the queue (as
    Lambda's SQS event source would, one at a time) until it is empty; the run as ``GET`` shows it, the wall
    time, and the messages delivered."""
    import boto3

    from lapor_api.app import lambda_handler
    from lapor_cli.devserver import LambdaContext
    from lapor_sweep.app import worker_handler

    event = json.loads((ROOT / "events" / "api" / "post-admin-sweep.json").read_text()) | {"body": json.dumps(body)}
    sqs, url = boto3.client("sqs"), os.environ["LAPOR_SWEEP_QUEUE_URL"]
    started = time.perf_counter()
    with quiet_stdout():
        reply = lambda_handler(event, LambdaContext("AdminFunction"))
        run = json.loads(reply["body"])
        if reply["statusCode"] not in (200, 202):
            raise AssertionError(f"POST /admin/sweeps answered {reply['statusCode']}: {reply['body']}")
        messages = 0
        while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                           AttributeNames=["All"]).get("Messages", []):
            records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs", "awsRegion": REGION, "eventSourceARN": "bench"} for m in found]
            result = worker_handler({"Records": records}, LambdaContext("SweepWorkerFunction", 300))
            if result["batchItemFailures"]:
                raise AssertionError(f"a shard message failed: {result}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=found[0]["ReceiptHandle"])
            messages += 1
        get = (ROOT / "events" / "api" / "get-admin-sweep.json").read_text()
        sample_id = json.loads(get)["pathParameters"]["run_id"]
        followed = lambda_handler(json.loads(get.replace(sample_id, run["id"])), LambdaContext("AdminFunction"))
    return json.loads(followed["body"]), time.perf_counter() - started, messages


def sweep_queued_vs_in_process(rounds: int = 2, target: float | None = None) -> Measurement:
    """A = a dry run through ``POST /admin/sweeps`` and the queue (record, messages, counts per message) with
    the inline part off; B = ``run_sweep`` in process, dry; same table, alternating rounds. Then the real run,
    through the queue, with one overdue report poisoned."""
    from datetime import UTC, datetime

    from lapor import runtime, sweep
    from lapor_cli.seed import seed

    for code in (API_CODE, SWEEP_CODE):
        if str(code) not in sys.path:
            sys.path.insert(0, str(code))
    reports, overdue = SWEEP_REPORTS, max(2, round(SWEEP_REPORTS * SWEEP_OVERDUE_SHARE))
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_SQS", "LAPOR_SWEEP_QUEUE_URL",
                                            "LAPOR_SWEEP_INLINE_SECONDS", "LAPOR_DUE_INDEX_SHARDS")}
    with local_dynamodb() as endpoint:
        import boto3

        os.environ["AWS_ENDPOINT_URL_SQS"] = endpoint  # the sweep queue on the same moto server
        os.environ["LAPOR_SWEEP_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="SweepQueue")["QueueUrl"]
        os.environ["LAPOR_SWEEP_INLINE_SECONDS"] = "0"  # the dry runs go through the queue too
        os.environ["LAPOR_DUE_INDEX_SHARDS"] = str(SWEEP_SHARDS)
        try:
            runtime.reset()
            store = runtime.store()
            seed(runtime.config_store())
            config = runtime.config_cache().get()
            as_of = datetime.now(UTC).replace(microsecond=0)
            overdue_ids, _, build = build_reports(store, config, reports, overdue, as_of)
            bad = sorted(overdue_ids)[0]
            dry: dict[str, Any] = {}

            def queued() -> float:
                dry["run"], seconds, dry["messages"] = _queued_run({"dry_run": True, "as_of": as_of.isoformat()})
                return seconds

            def in_process() -> float:
                t0 = time.perf_counter()
                with quiet_stdout():
                    dry["counts"] = sweep.run_sweep(store, config, as_of=as_of, dry_run=True, shards=SWEEP_SHARDS)
                return time.perf_counter() - t0

            times = interleaved(rounds, {"queued": queued, "in_process": in_process})
            if (dry["run"]["escalated"], dry["run"]["status"]) != (dry["counts"].escalated, "finished"):
                raise AssertionError(f"the queued dry run counted {dry['run']}, in process {dry['counts']}")
            with poisoned(bad):
                run, seconds, messages = _queued_run({"as_of": as_of.isoformat()})
            levels = {tid: store.get_report(tid)["escalation_level"] for tid in overdue_ids}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            runtime.reset()
    others = [tid for tid in overdue_ids if tid != bad]
    counts = {k: run[k] for k in ("status", "shards", "shards_done", "scanned", "escalated", "skipped", "failed")}
    if (run["status"], run["failed"], run["escalated"]) != ("finished", 1, overdue - 1) or levels[bad] != 0 or \
            any(levels[tid] != 1 for tid in others):
        raise AssertionError(f"the poisoned run: {counts}; {sum(levels[t] == 1 for t in others)} of {len(others)} "
                             f"other overdue reports escalated, the poisoned one at level {levels[bad]}")
    ratios = [a / b for a, b in zip(times["queued"], times["in_process"])]
    value = statistics.median(ratios)
    notes = [
        f"sweep_queued_vs_in_process: dry runs on {reports} reports ({overdue} overdue): through POST /admin/sweeps "
        f"and the queue ({dry['messages']} messages) {spread(times['queued'])} s vs run_sweep in process "
        f"{spread(times['in_process'])} s",
        f"sweep_queued_vs_in_process: the real run with one overdue report poisoned (every write to it raises): "
        f"{run['status']}, escalated {run['escalated']} of {overdue} overdue, failed {run['failed']}, "
        f"scanned {run['scanned']}, shards {run['shards_done']}/{run['shards']}, {messages} messages, "
        f"{seconds:.1f} s wall (moto); every other overdue report at level 1, the poisoned one at 0",
    ]
    return Measurement(value, {"reports": reports, "overdue": overdue, "build_seconds": build["build_seconds"],
                               "queued_seconds": [round(t, 2) for t in times["queued"]],
                               "in_process_seconds": [round(t, 2) for t in times["in_process"]],
                               "poisoned_run": counts | {"seconds": round(seconds, 1), "messages": messages}}, notes)


# -- 5. dev_peak_rss_mb, dev_stop_seconds ---------------------------------------------------------------------

DEV_REPORTS = int(os.environ.get("LAPOR_BENCH_DEV_REPORTS", "10000"))  # the table lapor dev holds
DEV_LARGE_REPORTS = int(os.environ.get("LAPOR_BENCH_DEV_LARGE_REPORTS", "3"))  # reports answered many times
DEV_ANSWERS = int(os.environ.get("LAPOR_BENCH_DEV_ANSWERS", "80"))  # progress notes of 1,900 characters each
DEV_QUIET_SECONDS = 3.0  # the stream backlog is worked through when lapor dev has printed nothing for this long
DEV_BACKLOG_SECONDS = float(os.environ.get("LAPOR_BENCH_DEV_BACKLOG_SECONDS", "300"))  # waited for at most
DEV_STOP_TIMEOUT = 60.0  # then SIGKILL


def _proc_status_mb(pid: int) -> dict[str, float]:
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in file
                if line.startswith(("VmHWM", "VmRSS"))}


class DevStack:
    """One ``lapor dev`` subprocess on a free port and a fresh data folder, its output drained (the last lines kept,
    and when it last printed), its memory sampled from /proc every 0.1 s."""

    def __init__(self, data_dir: Path) -> None:
        import lapor
        import lapor_cli

        # The child imports the very lapor and lapor_cli this process runs (an editable install may point elsewhere).
        paths = [str(Path(m.__file__).resolve().parents[1]) for m in (lapor, lapor_cli)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAPOR_"))}
        env |= {"PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(p for p in [*paths, env.get("PYTHONPATH")] if p)}
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lapor_cli.main", "dev", "--port", "0", "--data-dir", str(data_dir)], cwd=ROOT,
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            encoding="utf-8", errors="replace")
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self.last_output = time.monotonic()
        self.url = self.dynamodb = ""
        self.samples: list[tuple[float, float, float]] = []  # (seconds since start, VmRSS MB, VmHWM MB)
        self._ready = threading.Event()
        self._started = time.monotonic()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(60):
            self.process.kill()
            raise RuntimeError("lapor dev printed no ready line in 60 s:\n" + "".join(self.output))
        threading.Thread(target=self._sample, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.last_output = time.monotonic()
            if found := re.match(r"Lapor dev ready: API on (\S+) \(DynamoDB (\S+?),", line):
                self.url, self.dynamodb = found[1], found[2]
                self._ready.set()

    def _sample(self) -> None:
        while self.process.poll() is None:
            try:
                status = _proc_status_mb(self.process.pid)
            except (OSError, ValueError):
                return
            if "VmHWM" not in status:  # exiting: its memory is gone from /proc
                return
            self.samples.append((time.monotonic() - self._started, status.get("VmRSS", 0.0), status["VmHWM"]))
            time.sleep(0.1)

    def peak_mb(self) -> float:
        return max((hwm for *_, hwm in self.samples), default=0.0)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{self.url}{path}", method=method, headers={
            "Content-Type": "application/json", **(headers or {})}, data=None if body is None else json.dumps(body).encode())
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=600) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")[:500]

    def wait_quiet(self, cap: float) -> tuple[float, bool]:
        """Wait until it has printed nothing for DEV_QUIET_SECONDS (every stream batch and request logs), at most
        ``cap`` seconds; how long it took and whether it went quiet."""
        started = time.monotonic()
        while time.monotonic() - self.last_output < DEV_QUIET_SECONDS:
            if time.monotonic() - started > cap:
                return time.monotonic() - started, False
            time.sleep(0.2)
        return time.monotonic() - started, True

    def stop(self) -> tuple[float, int | None]:
        """SIGTERM, as Ctrl-C; seconds until it exited (SIGKILL after DEV_STOP_TIMEOUT) and its exit code."""
        import signal

        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=DEV_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started, self.process.returncode


_DEV_RUN: dict[str, Any] = {}


def dev_stack_run() -> dict[str, Any]:
    """Load one lapor dev, then stop it: once, for both dev figures."""
    if "result" not in _DEV_RUN and "error" not in _DEV_RUN:
        try:
            _DEV_RUN["result"] = _dev_stack_run(DEV_REPORTS, DEV_LARGE_REPORTS, DEV_ANSWERS)
        except Exception as exc:
            _DEV_RUN["error"] = exc
    if "error" in _DEV_RUN:
        raise _DEV_RUN["error"]
    return _DEV_RUN["result"]


def _dev_stack_run(reports: int, large: int, answers: int) -> dict[str, Any]:
    import shutil
    import tempfile
    from datetime import UTC, datetime

    from lapor import runtime
    from lapor_cli.issuer import LocalIssuer

    data_dir = Path(tempfile.mkdtemp(prefix="lapor-bench-dev-"))
    phases: dict[str, float] = {}
    stack = DevStack(data_dir)
    try:
        admin = {"Authorization": f"Bearer {LocalIssuer(data_dir / 'issuer').issue('admin')}"}
        # 1. Large reports: filed, then answered with progress notes, hundreds of KB of timeline per report (a limit
        # may refuse some notes with a 4xx: counted, never a 5xx).
        t0 = time.perf_counter()
        statuses: collections.Counter[int] = collections.Counter()
        for _ in range(large):
            status, filed = stack.call("POST", "/reports", REPORT)
            if status != 201:
                raise AssertionError(f"POST /reports answered {status}: {filed}")
            for n in range(answers):
                status, _ = stack.call("POST", f"/reports/{filed['tracking_id']}/responses",
                                       {"status": "in_progress", "message": f"Catatan {n}: " + "x" * 1900}, admin)
                statuses[status] += 1
        if any(code >= 500 for code in statuses):
            raise AssertionError(f"answering the large reports: {dict(statuses)}")
        phases["large_reports"] = time.perf_counter() - t0
        after_large = stack.peak_mb()

        # 2. The table: as the sweep figures build theirs, here in lapor dev's DynamoDB (1% overdue).
        t0 = time.perf_counter()
        saved = {k: os.environ.get(k) for k in [*BASE_ENV, "AWS_ENDPOINT_URL_DYNAMODB"]}
        os.environ.update(BASE_ENV | {"AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb})
        try:
            runtime.reset()
            as_of = datetime.now(UTC).replace(microsecond=0)
            build_reports(runtime.store(), runtime.config_cache().get(), reports, max(1, reports // 100), as_of)
        finally:
            runtime.reset()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        phases["build"] = time.perf_counter() - t0

        # 3. A sweep through the API (it escalates the overdue 1%), then the stream backlog worked through.
        t0 = time.perf_counter()
        sweep_status, _ = stack.call("POST", "/admin/sweeps", {}, admin)
        if not 200 <= sweep_status < 300:
            raise AssertionError(f"POST /admin/sweeps answered {sweep_status}")
        phases["sweep"] = time.perf_counter() - t0
        phases["backlog"], drained = stack.wait_quiet(DEV_BACKLOG_SECONDS)
        loaded = _proc_status_mb(stack.process.pid)
    except BaseException:
        stack.process.kill()
        raise
    finally:
        stop_seconds, code = stack.stop()
        printed = "".join(stack.output)
        shutil.rmtree(data_dir, ignore_errors=True)
    if code != 0 or "Lapor dev stopped" not in printed:
        raise AssertionError(f"lapor dev exited with {code} after SIGTERM ({stop_seconds:.1f} s):\n{printed[-2000:]}")
    peak = stack.peak_mb()
    timeline = [(round(t, 1), round(rss)) for t, rss, _ in stack.samples[:: max(1, len(stack.samples) // 40)]]
    return {"reports": reports, "large_reports": large, "answers_per_large_report": answers,
            "answer_statuses": dict(statuses), "sweep_status": sweep_status, "backlog_drained": drained,
            "peak_rss_mb": round(peak, 1), "peak_rss_mb_after_large_reports": round(after_large, 1),
            "rss_mb_loaded": round(loaded["VmRSS"], 1), "stop_seconds": round(stop_seconds, 2),
            "phase_seconds": {k: round(v, 1) for k, v in phases.items()}, "rss_mb_timeline": timeline}


def dev_peak_rss_mb(target: float = 400) -> Measurement:
    run = dev_stack_run()
    notes = [f"dev_peak_rss_mb: lapor dev's VmHWM {run['peak_rss_mb']:.0f} MB over its life: {run['large_reports']} "
             f"reports answered {run['answers_per_large_report']} times each with 1,900-character notes "
             f"(peak {run['peak_rss_mb_after_large_reports']:.0f} MB by then; answers {run['answer_statuses']}), "
             f"a {run['reports']}-report table built in its DynamoDB, a sweep through the API "
             f"({run['sweep_status']}), the stream backlog worked through "
             f"({'' if run['backlog_drained'] else 'NOT DRAINED in LAPOR_BENCH_DEV_BACKLOG_SECONDS, '}"
             f"{run['rss_mb_loaded']:.0f} MB then), SIGTERM; phases {run['phase_seconds']} s"]
    keys = ("reports", "large_reports", "answers_per_large_report", "answer_statuses", "sweep_status", "backlog_drained",
            "peak_rss_mb_after_large_reports", "rss_mb_loaded", "phase_seconds", "rss_mb_timeline")
    return Measurement(run["peak_rss_mb"], {k: run[k] for k in keys}, notes)


def dev_stop_seconds(target: float = 5) -> Measurement:
    run = dev_stack_run()
    notes = [f"dev_stop_seconds: SIGTERM to exit {run['stop_seconds']:.1f} s (streams stopped, tables saved to "
             f"disk, {run['reports'] + run['large_reports']} reports)"]
    return Measurement(run["stop_seconds"], {"reports": run["reports"]}, notes)


# -- nearby ----------------------------------------------------------------------------------------------------

SAMARINDA = (-0.5022, 117.1536)  # central Samarinda (the sample report's location)
KALTIM = ((-2.4, 2.6), (113.8, 119.0))  # Kalimantan Timur, roughly: (south, north), (west, east)
NEARBY_POINTS = int(os.environ.get("LAPOR_BENCH_NEARBY_POINTS", "12"))


def nearby_reads_per_result(target: float = 3.0) -> Measurement:
    """Items ``GET /reports/nearby``'s query reads against the reports actually within 250 m, on a table of
    ``LAPOR_BENCH_REPORTS`` located reports over Kalimantan Timur, a quarter of them in a dense cluster around
    central Samarinda; asserted: each query finds exactly the public reports within 250 m (brute force) and reads
    at most the index items of the 9 cells around its point (design §6)."""
    import math
    import random
    from datetime import UTC, datetime, timedelta

    import boto3
    import pygeohash
    from botocore.config import Config

    from lapor import runtime
    from lapor.dal import ReportStore, keys, report_key
    from lapor.domain import ids
    from lapor.domain.geo import haversine_m
    from lapor.intake import iso_utc, submit_report
    from lapor.models import ReportIn
    from lapor_cli.seed import seed

    if str(API_CODE) not in sys.path:
        sys.path.insert(0, str(API_CODE))
    from lapor_api.reports import (  # as the API sends them
        DUPLICATE_LIMIT, DUPLICATE_PRECISION, DUPLICATE_RANGES, NEARBY_RANGES)

    rng = random.Random(6472)
    metres = 1 / 111_195.0

    def around(centre: tuple[float, float], sigma_m: float) -> dict[str, float]:
        lat = rng.gauss(centre[0], sigma_m * metres)
        return {"lat": lat, "lon": rng.gauss(centre[1], sigma_m * metres / math.cos(math.radians(lat)))}

    with local_dynamodb():
        runtime.reset()
        store = runtime.store()
        seed(runtime.config_store())
        now = datetime.now(UTC).replace(microsecond=0)
        filed = submit_report(ReportIn.model_validate(REPORT), channel="web", store=store,
                              config=runtime.config_cache().get(), default_deadline_days=30, now=now)
        raw = store.client.get_item(TableName=store.table_name, Key=report_key(filed["tracking_id"]))["Item"]
        template = {k: v for k, v in store._plain(raw).items() if not k.endswith(("_pk", "_sk", "_pk1", "_pk2",
                                                                                    "_pk3")) and k not in ("PK", "SK")}
        records = []
        for n in range(SWEEP_REPORTS - 1):
            if n % 4 == 0:
                location = around(SAMARINDA, 1500)
            else:
                location = {"lat": rng.uniform(*KALTIM[0]), "lon": rng.uniform(*KALTIM[1])}
            tracking_id = ids.new_tracking_id()
            records.append(template | {
                "tracking_id": tracking_id, "location": location,
                "privacy": "confidential" if n % 10 == 9 else "public",
                "submitted_at": iso_utc(now - timedelta(seconds=rng.randrange(20 * 86400))),
                "timeline": template["latest_events"]})
        started = time.perf_counter()
        writer = ReportStore(store.table_name, due_index_shards=store.due_index_shards,
                             client=boto3.client("dynamodb", config=Config(parameter_validation=False)))
        with moto_without_item_size_check():
            writer._batch_put(item for r in records for item in writer.new_items(r))
        build_seconds = time.perf_counter() - started
        records.append(template | {"location": REPORT["location"]})
        indexed = collections.Counter(keys.nearby_keys(r).get(keys.NEARBY_PK) for r in records)
        runs = []
        for _ in range(NEARBY_POINTS):
            point = around(SAMARINDA, 1000)
            with dynamodb_calls(store.client) as calls:
                found, cost = store.nearby_reports(point["lat"], point["lon"], 250, max_ranges=NEARBY_RANGES)
            read = cost["index_items"] + cost["items"]
            since = iso_utc(now - timedelta(days=30))
            # The filing's lookup (possible_duplicates) at the same point: what a filing there reads.
            _, filing = store.nearby_reports(point["lat"], point["lon"], 250, category=REPORT["category"], since=since,
                                             limit=DUPLICATE_LIMIT + 1, nearest_first=True, max_ranges=DUPLICATE_RANGES,
                                             finest=DUPLICATE_PRECISION)
            truth = {r["tracking_id"] for r in records if r["privacy"] == "public" and haversine_m(
                point["lat"], point["lon"], r["location"]["lat"], r["location"]["lon"]) <= 250}
            if {i["tracking_id"] for i in found} != truth:
                raise AssertionError(f"nearby at {point} found {len(found)} reports, {len(truth)} are within 250 m")
            cell = pygeohash.encode(point["lat"], point["lon"], keys.NEARBY_PRECISION)
            column = [pygeohash.get_adjacent(cell, "top"), cell, pygeohash.get_adjacent(cell, "bottom")]
            nine = {c for row in column for c in (pygeohash.get_adjacent(row, "left"), row,
                                                  pygeohash.get_adjacent(row, "right"))}
            nine_items = sum(indexed[keys.nearby_partition(c)] for c in nine)
            if cost["index_items"] > nine_items:
                raise AssertionError(f"nearby at {point} read {cost['index_items']} index items, the 9 cells around it "
                                     f"hold {nine_items}")
            runs.append({"read": read, "index_items": cost["index_items"], "items": cost["items"], "found": len(found),
                         "nine_cells_items": nine_items, "queries": cost["queries"],
                         "seconds": round(calls.ops["Query"]["seconds"] + calls.ops["BatchGetItem"]["seconds"], 3),
                         "filing": filing})
    read, found = sum(r["read"] for r in runs), sum(r["found"] for r in runs)
    value = read / max(1, found)
    per_filing = {k: statistics.mean(r["filing"][k] for r in runs) for k in ("queries", "index_items", "items")}
    worst_filing = {k: max(r["filing"][k] for r in runs) for k in ("queries", "index_items", "items")}
    notes = [f"nearby_reads_per_result: {SWEEP_REPORTS} located reports over Kalimantan Timur (a quarter around "
             f"central Samarinda, sigma 1.5 km; a tenth confidential; built in {build_seconds:.1f} s); "
             f"{len(runs)} queries of 250 m around points in the cluster read {read} items "
             f"({sum(r['index_items'] for r in runs)} index entries in {sum(r['queries'] for r in runs)} Query pages, "
             f"{sum(r['items'] for r in runs)} reports) for {found} reports within 250 m; index entries at most "
             f"{max(r['index_items'] / r['nine_cells_items'] for r in runs if r['nine_cells_items']):.2f}x those "
             f"of the 9 cells around the point (design target: at most 1x)",
             f"nearby_reads_per_result: a filing at those points (possible_duplicates, same category, which every "
             f"report of this table has) reads per filing on average {per_filing['queries']:.1f} Query pages, "
             f"{per_filing['index_items']:.1f} index entries and {per_filing['items']:.1f} reports (at most "
             f"{worst_filing['queries']}, {worst_filing['index_items']}, {worst_filing['items']})"]
    return Measurement(value, {"reports": SWEEP_REPORTS, "points": len(runs), "runs": runs,
                               "per_filing_mean": per_filing, "per_filing_max": worst_filing,
                               "build_seconds": round(build_seconds, 1)}, notes)


# -- open311_listing_reads_vs_allowed, open311_window_reads_per_result (issue 14) -----------------------------

OPEN311_REPORTS = int(os.environ.get("LAPOR_BENCH_OPEN311_REPORTS", "20000"))
OPEN311_FILTERS = (  # what Open311 clients ask; {kecamatan} and {week} are filled in below
    "service_code=health", "status=open", "service_code=health&status=closed",
    "service_code=education&jurisdiction_id=64.72", "status=open&jurisdiction_id={kecamatan}",
    "service_code=infrastructure,health&status=open&start_date={week}", "service_code=does-not-exist",
)
_OPEN311_RUN: dict[str, Any] = {}


def open311_run() -> dict[str, Any]:
    """Build the table once and run every filter both ways, for the two Open311 figures."""
    if "result" not in _OPEN311_RUN and "error" not in _OPEN311_RUN:
        try:
            _OPEN311_RUN["result"] = _open311_run(OPEN311_REPORTS)
        except Exception as exc:
            _OPEN311_RUN["error"] = exc
    if "error" in _OPEN311_RUN:
        raise _OPEN311_RUN["error"]
    return _OPEN311_RUN["result"]


def _open311_run(reports: int) -> dict[str, Any]:
    """``reports`` reports over Kalimantan Timur's kabupaten/kota and some of their kecamatan, in the 11 services,
    every status, a tenth confidential, filed over the last 100 days. Each filter is asked of the real Open311
    handler (GET requests.json) and, as the baseline, read the way it was before the keys: the whole window of
    ByMonth (or of the region's public index) in date order, filtered in the function until 1000 match."""
    import random
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote

    import boto3
    from botocore.config import Config

    from lapor import open311, runtime
    from lapor.dal import ReportStore
    from lapor.domain import ids, reference
    from lapor.intake import iso_utc, submit_report
    from lapor.models import ReportIn
    from lapor_cli.seed import seed

    sys.path.insert(0, str(API_CODE))
    from lapor_api import app

    with local_dynamodb():
        runtime.reset()
        store = runtime.store()
        seed(runtime.config_store())
        config = runtime.config_cache().get()
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        first = submit_report(ReportIn.model_validate(REPORT), channel="web", store=store, config=config,
                              default_deadline_days=30, now=now - timedelta(days=1))
        template = store.get_report(first["tracking_id"])
        rng = random.Random(14)
        regions = [r.code for r in reference.child_regions("64")]
        kecamatan = [k.code for code in regions[:3] for k in reference.child_regions(code)]
        statuses = ["submitted", "routed", "in_progress", "escalated", "responded", "closed", "rejected"]
        records = [template | {
            "tracking_id": ids.new_tracking_id(), "category": rng.choice(list(reference.categories())),
            "status": rng.choices(statuses, weights=(2, 4, 2, 1, 3, 6, 1))[0],
            "region_code": rng.choice(regions + kecamatan),
            "privacy": "confidential" if rng.random() < 0.1 else "public",
            "submitted_at": iso_utc(now - timedelta(seconds=rng.uniform(0, 100 * 86400))), "timeline": []}
            for _ in range(reports - 1)]
        writer = ReportStore(store.table_name, due_index_shards=store.due_index_shards,
                             client=boto3.client("dynamodb", config=Config(parameter_validation=False)))
        with moto_without_item_size_check():
            writer._batch_put(item for r in records for item in writer.new_items(r))
        build_seconds = time.perf_counter() - started
        print(f"open311 figures: built {reports} reports in {build_seconds:.1f} s", flush=True)

        event = json.loads((ROOT / "events" / "api" / "get-open311-requests.json").read_text())
        week = iso_utc(now - timedelta(days=7))
        rows = []
        for template_filter in OPEN311_FILTERS:
            query = template_filter.format(kecamatan=kecamatan[0], week=quote(week))
            params = {k: v for k, v in (part.split("=") for part in query.split("&"))}
            with dynamodb_calls(store.client) as calls:
                answer = app.lambda_handler(event | {"rawQueryString": query, "queryStringParameters": params},
                                            _BenchContext())
            if answer["statusCode"] != 200:
                raise AssertionError(f"GET requests.json?{query}: {answer['statusCode']} {answer['body'][:200]}")
            returned = len(json.loads(answer["body"]))
            listed = open311.list_query({k: [v.replace("%3A", ":")] for k, v in params.items()}, now=now)
            jurisdiction = params.get("jurisdiction_id")
            known = reference.categories()
            codes = [c for c in listed.service_codes if c in known] if listed.service_codes else list(known)
            keys_queried = len(codes) * (len(listed.statuses) or 2) if codes else 0
            with dynamodb_calls(store.client) as baseline:
                wanted = frozenset().union(*(open311.lapor_statuses(x) for x in listed.statuses)) \
                    if listed.statuses else None
                start, end = iso_utc(listed.start), iso_utc(listed.end)
                window = (store.public_reports_filed_between(jurisdiction, start, end) if jurisdiction
                          else store.reports_filed_between(start, end))
                matched = 0
                for record in window:
                    if (not listed.service_codes or record["category"] in listed.service_codes) and (
                            wanted is None or record["status"] in wanted):
                        matched += 1
                        if matched >= listed.limit:
                            break
            rows.append({"filter": query, "returned": returned, "keys_queried": keys_queried,
                         "index_items_read": int(calls.ops.get("Query", {}).get("returned", 0)),
                         "queries": int(calls.ops.get("Query", {}).get("calls", 0)),
                         "window_items_read": int(baseline.ops.get("Query", {}).get("returned", 0)),
                         "window_queries": int(baseline.ops.get("Query", {}).get("calls", 0)),
                         "baseline_matched": matched, "seconds": round(calls.ops["Query"]["seconds"], 3)
                         if "Query" in calls.ops else 0.0})
            if matched != returned:
                raise AssertionError(f"{query}: the keyed listing returned {returned}, the window read finds {matched}")
        runtime.reset()
    return {"reports": reports, "build_seconds": round(build_seconds, 1), "rows": rows}


class _BenchContext:
    function_name = "ApiFunction"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:ApiFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 10000


def open311_listing_reads_vs_allowed(target: float = 1.0) -> Measurement:
    """Index items read by Open311's filtered listings against what issue 14 allows them: 1.05x the requests
    returned plus one page (``SERVICE_PAGE_SIZE``, or the limit for one key) per key queried; the worst filter."""
    from lapor.dal.reports import SERVICE_PAGE_SIZE

    run = open311_run()
    worst, notes = 0.0, []
    for row in run["rows"]:
        page = 1000 if row["keys_queried"] == 1 else SERVICE_PAGE_SIZE
        row["allowed"] = 1.05 * row["returned"] + row["keys_queried"] * page
        row["vs_allowed"] = round(row["index_items_read"] / row["allowed"], 3) if row["allowed"] else 0.0
        worst = max(worst, row["vs_allowed"])
        notes.append(f"  {row['filter']}: returned {row['returned']}, read {row['index_items_read']} index items in "
                     f"{row['queries']} Queries (the whole window: {row['window_items_read']} in "
                     f"{row['window_queries']})")
    read = sum(r["index_items_read"] for r in run["rows"])
    returned = sum(r["returned"] for r in run["rows"])
    notes.insert(0, f"open311 listings on {run['reports']} reports: {read} index items read for {returned} returned "
                    f"({read / max(returned, 1):.3f} per request); the whole-window read: "
                    f"{sum(r['window_items_read'] for r in run['rows'])}")
    return Measurement(worst, {"rows": run["rows"], "build_seconds": run["build_seconds"]}, notes)


def open311_window_reads_per_result(target: float | None = None) -> Measurement:
    """The baseline: items the whole-window read (ByMonth or the public index, filtered in the function) reads
    per request returned, over the same filters (a filter that matches nothing reads the whole window)."""
    run = open311_run()
    read = sum(r["window_items_read"] for r in run["rows"])
    return Measurement(read / max(1, sum(r["returned"] for r in run["rows"])), {"items_read": read})


# -- table ---------------------------------------------------------------------------------------------------

# A target of None is a figure reported for information (no pass/fail).
FIGURES: list[tuple[str, Callable[..., Measurement], float | None]] = [
    ("intake_vs_putitem", intake_vs_putitem, 1.3),
    ("sweep_reads_per_overdue", sweep_reads_per_overdue, 1.05),
    ("scan_reads_per_overdue", scan_reads_per_overdue, None),
    ("escalations_per_second", escalations_per_second, None),
    ("sweep_queued_vs_in_process", sweep_queued_vs_in_process, None),
    ("dev_peak_rss_mb", dev_peak_rss_mb, 400),
    ("dev_stop_seconds", dev_stop_seconds, 5),
    ("cold_import_ratio", cold_import_ratio, 1.25),
    ("cold_import_ratio_sms", cold_import_ratio_sms, 1.25),
    ("first_request_after_restore_ratio", first_request_after_restore_ratio, 1.3),
    ("open311_listing_reads_vs_allowed", open311_listing_reads_vs_allowed, 1.0),
    ("open311_window_reads_per_result", open311_window_reads_per_result, None),
    ("nearby_reads_per_result", nearby_reads_per_result, 3.0),
]


def print_table(rows: list[tuple[str, float | None, float | None, str]]) -> None:
    header = ("figure", "measured", "target", "result")
    lines = [header] + [(name, "error" if value is None else f"{value:.3f}",
                         "—" if target is None else f"<= {target:g}", verdict)
                        for name, value, target, verdict in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    print(rule)
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if n == 0:
            print(rule)
    print(rule)


def main() -> int:
    os.chdir(ROOT)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    details: dict[str, Any] = {}
    rows: list[tuple[str, float | None, float | None, str]] = []
    notes: list[str] = []
    for name, measure, target in FIGURES:
        t0 = time.perf_counter()
        try:
            measured = measure(target=target)
        except Exception as exc:  # one broken figure must not hide the others
            rows.append((name, None, target, "ERROR"))
            notes.append(f"{name}: {type(exc).__name__}: {exc}")
            details[name] = {"error": repr(exc)}
            continue
        results[name] = round(measured.value, 4)
        details[name] = measured.details | {"target": target, "seconds": round(time.perf_counter() - t0, 1)}
        verdict = "info" if target is None else "pass" if measured.value <= target else "FAIL"
        rows.append((name, measured.value, target, verdict))
        notes.extend(measured.notes)
    print_table(rows)
    for note in notes:
        print(note)
    print(f"total {time.perf_counter() - started:.1f} s; results in bench-results.json")
    (ROOT / "bench-results.json").write_text(json.dumps(results | {"details": details}, indent=2) + "\n",
                                             encoding="utf-8")
    # A figure over target is a finding, not a crash: only a figure that could not be measured fails the run.
    return 1 if any(verdict == "ERROR" for *_, verdict in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
