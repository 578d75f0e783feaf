"""`make bench` still runs: its sweep figures on a small table (a broken import once went unnoticed until a
bench run). The figures themselves are measured by `make bench`, never asserted here."""

import importlib.util
import sys

from conftest import ROOT


def load_bench(monkeypatch):
    """bench/bench.py as a module of its own (it reads its environment variables when loaded)."""
    spec = importlib.util.spec_from_file_location("lapor_bench", ROOT / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lapor_bench", bench)
    spec.loader.exec_module(bench)
    return bench


def test_the_sweep_figures_run_on_a_small_table(monkeypatch):
    monkeypatch.setenv("LAPOR_BENCH_REPORTS", "400")
    bench = load_bench(monkeypatch)
    measured = bench.sweep_reads_per_overdue(target=1.05)
    assert measured.value >= 1.0  # every overdue report read at least once: the run really swept
    assert bench.scan_reads_per_overdue(target=None).value > measured.value


def test_the_queued_sweep_figure_runs_on_a_small_table(monkeypatch):
    monkeypatch.setenv("LAPOR_BENCH_REPORTS", "200")
    bench = load_bench(monkeypatch)
    measured = bench.sweep_queued_vs_in_process(rounds=1)
    run = measured.details["poisoned_run"]  # the figure asserts these itself; here: it ran the real path
    assert (run["status"], run["failed"], run["escalated"], run["shards_done"]) == ("finished", 1, 1, 8)


def test_the_dev_stack_figures_run_on_a_small_table(monkeypatch):
    """The lapor dev figures start a real lapor dev, load it, stop it; here on 200 reports and one answered twice."""
    for name, value in {"LAPOR_BENCH_DEV_REPORTS": "200", "LAPOR_BENCH_DEV_LARGE_REPORTS": "1",
                        "LAPOR_BENCH_DEV_ANSWERS": "2", "LAPOR_BENCH_DEV_BACKLOG_SECONDS": "5"}.items():
        monkeypatch.setenv(name, value)
    bench = load_bench(monkeypatch)
    peak = bench.dev_peak_rss_mb(target=400)
    assert peak.value > 50 and peak.details["answer_statuses"] == {200: 2}  # a real process, really loaded
    assert bench.dev_stop_seconds(target=5).value > 0


def test_the_intake_figure_runs(monkeypatch):
    """Its stub stood in for put_item after filing became one transaction: every handler call answered 500."""
    bench = load_bench(monkeypatch)
    measured = bench.intake_vs_putitem(rounds=1, calls=2, warmup=2)
    assert measured.value > 0 and measured.details  # the handler answered 201 on every side


def test_the_cold_start_figures_run(monkeypatch):
    """SnapStart's first request after a restore, and SmsFunction's cold import: one process each."""
    bench = load_bench(monkeypatch)
    restored = bench.first_request_after_restore_ratio(runs=1, warm=2)
    assert restored.value > 0 and restored.details["warm_ms"] > 0  # each request filed a report (201)
    assert restored.details["paused"]["warm_ms"] > 0
    # A restored copy's first filing sends what a warm one sends, with the version check as one more entry of its
    # transaction, and no read of the configuration before it.
    first, warm = restored.details["first_request_sent"], restored.details["warm_request_sent"]
    assert len(first) == len(warm) and "Query" not in first
    assert [int(op.split("(")[1][:-1]) for op in first if op.startswith("TransactWriteItems")] == \
        [int(op.split("(")[1][:-1]) + 1 for op in warm if op.startswith("TransactWriteItems")]
    sms = bench.cold_import_ratio_sms(runs=1)
    assert sms.value > 0 and sms.details["libraries_only_ratio"] > 0


def test_the_libraries_floor_imports_no_lapor_code(monkeypatch):
    """cold_import_ratio's floor: the modules a function imports, without Lapor's own (which it would measure),
    split as the function imports them: boto3 with the first table access (init), not with the module."""
    bench = load_bench(monkeypatch)
    at_import, at_init = bench.libraries_of(bench.COLD_API)
    assert {"pydantic", "aws_lambda_powertools.event_handler"} <= set(at_import) and "boto3" in at_init
    assert not [n for n in at_import + at_init if n.split(".")[0] in ("lapor", "lapor_api", "lapor_sms")]
    timed = bench._time_libraries([at_import, at_init])
    assert timed["total"] > timed["init"] > 0 and timed["failed"] == 0


def test_the_open311_listing_figures_run_on_a_small_table(monkeypatch):
    monkeypatch.setenv("LAPOR_BENCH_OPEN311_REPORTS", "300")
    bench = load_bench(monkeypatch)
    measured = bench.open311_listing_reads_vs_allowed()
    rows = measured.details["rows"]  # the figure checks each keyed listing against the window read itself
    assert len(rows) == len(bench.OPEN311_FILTERS) and sum(r["returned"] for r in rows) > 0
    assert (rows[-1]["filter"], rows[-1]["queries"]) == ("service_code=does-not-exist", 0)
    assert bench.open311_window_reads_per_result().value > 1


def test_the_nearby_figure_runs_on_a_small_table(monkeypatch):
    monkeypatch.setenv("LAPOR_BENCH_REPORTS", "600")
    monkeypatch.setenv("LAPOR_BENCH_NEARBY_POINTS", "3")
    bench = load_bench(monkeypatch)
    # Asserted inside: each query finds exactly the public reports within 250 m and reads at most the 9 cells.
    measured = bench.nearby_reads_per_result()
    assert measured.value >= 1.0 and measured.details["points"] == 3
