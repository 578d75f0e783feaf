"""``lapor``: the command line of the local stack and of operators."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path


def _dev(args: argparse.Namespace) -> int:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from lapor_cli import devsignin, devstate, locals3
    from lapor_cli.devserver import DEV_SECRETS, DevApp, project_root, serve
    from lapor_cli.issuer import LocalIssuer
    from lapor_cli.localdb import LOCAL_REGION, LocalDynamo
    from lapor_cli.queues import QueuePoller
    from lapor_cli.streams import StreamPoller
    from lapor_cli.template import load_template

    root = project_root()
    template = load_template(root / "template.yaml")
    data_dir = None if args.ephemeral else (Path(args.data_dir) if args.data_dir else root / ".lapor")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_DEV", "false")
    # Notices (SMS to reporters, agency events) are written to a file instead of SNS and EventBridge.
    outbox = (data_dir or Path(tempfile.mkdtemp(prefix="lapor-dev-"))) / "outbox.jsonl"
    os.environ["LAPOR_NOTIFY_TRANSPORT"] = "outbox"
    os.environ["LAPOR_OUTBOX_PATH"] = str(outbox)
    for name, value in DEV_SECRETS.items():  # SSM on AWS; the environment or the documented defaults here
        os.environ.setdefault(name, value)
    database = LocalDynamo(template, data_dir)
    database.start()
    # The sweep's queue on the same moto server; its worker is fed from it as Lambda's event source would.
    queues = QueuePoller(template, database.endpoint)
    queue_urls = queues.create()
    os.environ["AWS_ENDPOINT_URL_SQS"] = database.endpoint
    # The buckets on the same moto, served under /s3 of the API's own port (see lapor_cli.locals3).
    storage = locals3.LocalS3(template, data_dir)
    storage.start(database.endpoint, LOCAL_REGION)
    issuer_dir = (data_dir or root / ".lapor") / "issuer"
    issuer = LocalIssuer(issuer_dir)
    app = DevApp(template, database.table_names | queue_urls | storage.bucket_names, database.mark_dirty, issuer)
    os.environ.update(app.environment(next(iter(template.functions.values()))))
    # Settings are read once per process: the queue URLs some functions name are known from the start.
    os.environ.update({name: value for function in template.functions.values()
                       for name, value in app.environment(function).items() if value in queue_urls.values()})
    if database.fresh:
        _seed_local()
        database.mark_dirty()
    streams = StreamPoller(template, database.client(), database.table_names, app.invoke, database.mark_dirty,
                           (data_dir / "dead-letters.jsonl") if data_dir else None,
                           on_consumed=database.stream_consumed)
    streams.start()
    queues.start(app.invoke, database.mark_dirty)
    # SIGTERM (a test fixture, a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))

    recorded: list[Path | None] = []

    def ready(url: str) -> None:
        s3_endpoint = storage.serve_at(url, app.invoke, database.mark_dirty)
        recorded.append(devstate.record(url, data_dir, issuer_dir, outbox))
        where = f"data in {data_dir}" if data_dir else "data in memory only"
        print(f"Lapor dev ready: API on {url} (DynamoDB {database.endpoint}, S3 {s3_endpoint}, {where}, "
              f"notices in {outbox}); Ctrl-C stops", flush=True)

    try:
        # /_dev: the desk's local sign-in (lapor_cli.devsignin), offered by lapor dev only, never deployed.
        mounts = {locals3.PREFIX: storage, devsignin.PREFIX: devsignin.DevSignIn(app, issuer)}
        serve(DispatcherMiddleware(app, mounts), args.host, args.port, ready)
    except KeyboardInterrupt:
        pass
    finally:
        for path in recorded:
            devstate.forget(path)
        storage.stop()
        queues.stop()
        streams.stop()
        database.stop()
        print("Lapor dev stopped", flush=True)
    # Saved and stopped. The interpreter's last garbage collections at exit would walk every object moto holds
    # (2.5 s for 10,000 reports); frozen objects are left out, and the process ends at once.
    import gc

    gc.freeze()
    return 0


def _endpoint(args: argparse.Namespace) -> str:
    from lapor_cli import devstate

    return devstate.endpoint(args.endpoint)


def _seed_local() -> dict[str, int]:
    from lapor import runtime

    from lapor_cli.seed import seed

    runtime.reset()
    return seed(runtime.config_store())


def _seed(args: argparse.Namespace) -> int:
    counts = _seed_local()
    print(f"seeded {counts['agencies']} agencies and {counts['routes']} routes into {os.environ.get('LAPOR_TABLE_NAME', 'lapor-reports')}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from lapor import runtime

    runtime.reset()
    counts = runtime.store().reindex()
    print(f"{counts['reports']} reports read, {counts['updated']} given the index keys their state calls for, "
          f"{counts['changed_meanwhile']} changed meanwhile (their change wrote the keys) in "
          f"{os.environ.get('LAPOR_TABLE_NAME', 'lapor-reports')}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from lapor.domain.reference import load_data

    from lapor_cli import devstate
    from lapor_cli.issuer import LocalIssuer

    if args.role in ("operator", "supervisor") and not args.agency:
        print(f"lapor token: --agency is required for the {args.role} role", file=sys.stderr)
        return 2
    known = {a["id"] for a in load_data("agencies.json")}
    if args.agency and args.agency not in known:
        print(f"lapor token: unknown agency {args.agency!r} (see layers/core/lapor/data/agencies.json)", file=sys.stderr)
        return 2
    print(LocalIssuer(devstate.issuer_dir(args.data_dir)).issue(args.role, args.agency, ttl_seconds=args.ttl))
    return 0


def _routes_export(args: argparse.Namespace) -> int:
    from lapor_cli.remote import bearer, call
    from lapor_cli.routes_io import write_routes

    endpoint = _endpoint(args)
    token = bearer(endpoint, args.token, Path(args.data_dir) if args.data_dir else None)
    routes = call("GET", f"{endpoint.rstrip('/')}/admin/routes", token)["items"]
    sys.stdout.write(write_routes(routes, args.format))
    return 0


def _routes_import(args: argparse.Namespace) -> int:
    from lapor_cli.remote import ApiError, bearer, call
    from lapor_cli.routes_io import RoutesFileError, format_of, read_routes

    path = Path(args.file)
    try:
        routes = read_routes(path.read_text(encoding="utf-8"), format_of(path, args.format))
    except (OSError, RoutesFileError) as exc:
        print(f"lapor routes import: {exc}", file=sys.stderr)
        return 2
    endpoint = _endpoint(args)
    token = bearer(endpoint, args.token, Path(args.data_dir) if args.data_dir else None)
    try:
        saved = call("PUT", f"{endpoint.rstrip('/')}/admin/routes", token, {"items": routes})
    except ApiError as exc:
        print(f"lapor routes import: refused, nothing saved: {exc}", file=sys.stderr)
        details = exc.body.get("error", {}).get("details") if isinstance(exc.body, dict) else None
        for problem in details or []:
            print(f"  {'.'.join(str(p) for p in problem.get('loc', []))}: {problem.get('msg')}", file=sys.stderr)
        return 1
    print(f"imported {len(saved['items'])} routes from {path}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from datetime import datetime

    from lapor_cli.remote import ApiError, bearer, call, follow_run

    body: dict = {"dry_run": args.dry_run}
    if args.as_of:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            print(f"lapor sweep: --as-of {args.as_of!r} is not an ISO 8601 instant", file=sys.stderr)
            return 2
        if as_of.tzinfo is None:
            print("lapor sweep: --as-of needs an offset, e.g. 2027-01-15T00:00:00+08:00", file=sys.stderr)
            return 2
        body["as_of"] = as_of.isoformat()
    endpoint = _endpoint(args)
    token = bearer(endpoint, args.token, Path(args.data_dir) if args.data_dir else None)
    runs = f"{endpoint.rstrip('/')}/admin/sweeps"
    try:
        run = call("POST", runs, token, body)
        # Started (202): its shards are on the sweep queue; follow the run until it has ended.
        run = follow_run(run, lambda: call("GET", f"{runs}/{run['id']}", token), out=sys.stdout, interval=args.poll)
    except ApiError as exc:
        run_id = (exc.body.get("error", {}).get("details") or {}).get("run_id") if isinstance(exc.body, dict) else None
        print(f"lapor sweep: failed: {exc}" + (f" (run {run_id})" if run_id else ""), file=sys.stderr)
        return 1
    rows = [("run", run["id"]), ("status", run["status"]), ("as of", run["as_of"]),
            ("dry run", "yes" if run["dry_run"] else "no"), ("shards", f"{run['shards_done']}/{run['shards']}"),
            ("scanned", run["scanned"]), ("escalated", run["escalated"]), ("flagged final", run["flagged_final"]),
            ("closed", run["closed"]), ("skipped", run["skipped"]), ("failed", run["failed"])]
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    if run["dry_run"] and run.get("would_escalate") is not None:
        print(_would_escalate_table(run["would_escalate"], run.get("would_escalate_truncated", False)))
    if run["status"] != "finished":
        error = run.get("error") or {}
        cause = f": {error['type']} on shard {error.get('shard')} at {error['at']}" if error else ""
        print(f"lapor sweep: run {run['id']} {run['status']}{cause} (GET /admin/sweeps/{run['id']})", file=sys.stderr)
        return 1
    return 0


def _would_escalate_table(entries: list[dict], truncated: bool) -> str:
    """A dry run's list of what would escalate, one report a line: tracking id, agency, deadline, where to."""
    if not entries:
        return "\nwould escalate: none"
    heading = (f"would escalate: the first {len(entries)} listed, more would (the counts above count them all)"
               if truncated else f"would escalate: {len(entries)}")
    rows = [("tracking id", "agency", "due at", "to")] + [
        (e["tracking_id"], e["agency_id"], e["due_at"],
         f"{e['to_agency_id']} ({e['to_level']})" if e.get("to_agency_id") else "flagged final (top of its ladder)")
        for e in entries]
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(row[:3], widths, strict=True)) + f"  {row[3]}"
             for row in rows]
    return "\n".join(["", heading, *lines])


def _apikeys(args: argparse.Namespace) -> int:
    from lapor_cli.remote import ApiError, bearer, call

    endpoint = _endpoint(args)
    token = bearer(endpoint, args.token, Path(args.data_dir) if args.data_dir else None)
    base = f"{endpoint.rstrip('/')}/admin/apikeys"
    try:
        if args.apikeys_command == "create":
            created = call("POST", base, token, {"name": args.name})
            print(created["key"])
            print(f"API key {created['id']} for {created['name']!r}: shown once, keep it now", file=sys.stderr)
        elif args.apikeys_command == "revoke":
            revoked = call("POST", f"{base}/{args.key_id}/revoke", token)
            print(f"revoked {revoked['id']} ({revoked['name']}) at {revoked['revoked_at']}")
        else:
            for key in call("GET", base, token)["items"]:
                state = f"revoked {key['revoked_at']}" if key.get("revoked_at") else "active"
                print(f"{key['id']}  {key['created_at']}  {state:<29}  {key['name']}")
    except ApiError as exc:
        print(f"lapor apikeys {args.apikeys_command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _outbox(args: argparse.Namespace) -> int:
    import json
    import time

    from lapor_cli import devstate

    path = devstate.outbox_path(args.data_dir)
    position = 0
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        for line in lines[position:]:
            notice = json.loads(line)
            if args.tracking_id and notice["tracking_id"] != args.tracking_id:
                continue
            if args.json:
                print(line, flush=True)
            else:
                print(f"{notice['sent_at']}  {notice['tracking_id']}  {notice['channel']:<6}  "
                      f"{notice['address']:<16}  {notice['text']}", flush=True)
        position = len(lines)
        if not args.follow:
            if not lines:
                print(f"no notices yet in {path}", file=sys.stderr)
            return 0
        time.sleep(0.5)


def _site_publish(args: argparse.Namespace) -> int:
    from lapor_cli.devserver import project_root
    from lapor_cli.publish import main as publish
    from lapor_cli.site import site_root

    return publish(args.stack, region=args.region, prune=args.prune, root=site_root(project_root()))


ENDPOINT_HELP = ("the API (default: $LAPOR_ENDPOINT, else the running `lapor dev` as .lapor/dev.json records it, "
                 "else http://127.0.0.1:3000)")
DATA_DIR_HELP = "the lapor dev data folder (default: the running `lapor dev`'s, else .lapor/)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lapor", description="Lapor: local stack and operator tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="serve the API locally on an embedded DynamoDB")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000, help="0 picks a free port (printed in the ready line)")
    dev.add_argument("--data-dir", help="where local data is kept (default: .lapor/ beside template.yaml)")
    dev.add_argument("--ephemeral", action="store_true", help="keep no data between runs")
    dev.set_defaults(func=_dev)

    token = commands.add_parser("token", help="print a bearer token for the local stack's issuer")
    token.add_argument("--role", required=True, choices=["operator", "supervisor", "admin"])
    token.add_argument("--agency", help="the agency id (custom:agency_id), e.g. 64-72-pupr")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds until it expires (default 8 h)")
    token.add_argument("--data-dir", help=DATA_DIR_HELP + ", whose issuer signs it")
    token.set_defaults(func=_token)

    routes = commands.add_parser("routes", help="routing rules as CSV or JSON, through the admin API")
    route_commands = routes.add_subparsers(dest="routes_command", required=True)
    for name, helptext, func in (("export", "print the routing rules", _routes_export),
                                 ("import", "replace the routing rules with FILE (validated first)", _routes_import)):
        sub = route_commands.add_parser(name, help=helptext)
        if name == "import":
            sub.add_argument("file", help="a .csv (region_code,category,agency_id,deadline_working_days) or .json")
        sub.add_argument("--format", choices=["csv", "json"], default=None if name == "import" else "csv")
        sub.add_argument("--endpoint", help=ENDPOINT_HELP)
        sub.add_argument("--token", help="an admin bearer token (default: $LAPOR_TOKEN, or a local one)")
        sub.add_argument("--data-dir", help=DATA_DIR_HELP + " (for a local token)")
        sub.set_defaults(func=func)

    sweep = commands.add_parser("sweep", help="run the deadline sweep now (admin), on the local stack by default, "
                                              "and follow it to the end; exit 1 if the run failed")
    sweep.add_argument("--as-of", help="sweep as of this ISO 8601 instant with offset (backfills, what-ifs)")
    sweep.add_argument("--dry-run", action="store_true", help="count what would happen and list what would escalate (at most 200), change nothing")
    sweep.add_argument("--endpoint", help=ENDPOINT_HELP)
    sweep.add_argument("--token", help="an admin bearer token (default: $LAPOR_TOKEN, or a local one)")
    sweep.add_argument("--data-dir", help=DATA_DIR_HELP + " (for a local token)")
    sweep.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks (default 1)")
    sweep.set_defaults(func=_sweep)

    apikeys = commands.add_parser("apikeys", help="Open311 API keys (admin): create, list, revoke")
    apikey_commands = apikeys.add_subparsers(dest="apikeys_command", required=True)
    create = apikey_commands.add_parser("create", help="issue a key; prints it once")
    create.add_argument("--name", required=True, help="who will use it, e.g. the app's name")
    apikey_commands.add_parser("list", help="every key: id, created, active or revoked, name")
    revoke = apikey_commands.add_parser("revoke", help="revoke a key at once (kept in the list as revoked)")
    revoke.add_argument("key_id")
    for sub in (create, apikey_commands.choices["list"], revoke):
        sub.add_argument("--endpoint", help=ENDPOINT_HELP)
        sub.add_argument("--token", help="an admin bearer token (default: $LAPOR_TOKEN, or a local one)")
        sub.add_argument("--data-dir", help=DATA_DIR_HELP + " (for a local token)")
        sub.set_defaults(func=_apikeys)

    outbox = commands.add_parser("outbox", help="the notices the local stack sent (SMS to reporters, agency events)")
    outbox.add_argument("tracking_id", nargs="?", help="only this report's notices")
    outbox.add_argument("--follow", "-f", action="store_true", help="keep printing notices as they are sent")
    outbox.add_argument("--json", action="store_true", help="one JSON object per notice")
    outbox.add_argument("--data-dir", help=DATA_DIR_HELP)
    outbox.set_defaults(func=_outbox)

    site = commands.add_parser("site", help="the web app of a deployed stack")
    site_commands = site.add_subparsers(dest="site_command", required=True)
    publish = site_commands.add_parser("publish", help="upload web/ to the stack's site bucket (after sam deploy), "
                                                       "with cache headers, and config.js from the stack's outputs")
    publish.add_argument("--stack", default="lapor", help="the CloudFormation stack (default: lapor)")
    publish.add_argument("--region", help="its region (default: the AWS environment's)")
    publish.add_argument("--prune", action="store_true", help="delete objects the site no longer has")
    publish.set_defaults(func=_site_publish)

    seed = commands.add_parser("seed", help="load agencies and routes into the table named by LAPOR_TABLE_NAME "
                                            "(AWS credentials and region from the environment)")
    seed.set_defaults(func=_seed)

    reindex = commands.add_parser("reindex", help="after an upgrade that adds an index: give every report in the "
                                                  "table named by LAPOR_TABLE_NAME the index keys its state calls "
                                                  "for (one Scan; AWS credentials and region from the environment)")
    reindex.set_defaults(func=_reindex)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
