"""What an alert costs its caller (issue 3), against real sockets on 127.0.0.1.

1. No webhook: structlog, the log file, project state + AlertEvent, health.
2. A webhook on 127.0.0.1 answering 204 (every alert a new dedup key, so each posts).
3. A webhook port that refuses connections (the gate is reset before every alert, so
   each one pays for the attempt and its one retry), and an alert held back by the
   backoff that follows.
4. A hung webhook (accepts, never answers): at most the deadline plus 0.5 s.
5. A burst of 500 identical alerts: webhook requests made (at most one).

Run: ``python -m bench.alerts [--write]`` (SQLite by default; DATABASE_URL=postgres://...
for PostgreSQL). ``--write`` puts the figures into docs/BENCHMARKS.md, section "Alerts".
"""

import argparse
import datetime
import http.server
import logging
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench import harness

HUNG_LIMIT_MARGIN = 0.5
BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"


class _Hook(http.server.BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self):  # noqa: N802 - the stdlib's name
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _ok_server() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _hung_server() -> socket.socket:
    """Accepts connections and never answers (the connections are kept open)."""
    sock = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_gate() -> None:
    from memories.models import ProjectState
    from observability import webhook_gate

    ProjectState.objects.filter(project="atocore", category="alert_webhook").delete()
    webhook_gate.reset_local()


def _timed(n: int, *, title: str, reset: bool = False, expect: str | None = None) -> list[float]:
    from observability.alerts import emit_alert

    samples = []
    for i in range(n):
        if reset:
            _reset_gate()
        start = time.perf_counter()
        result = emit_alert("warning", f"{title} {i}", "bench message", {"i": i, "host": "bench"})
        samples.append(time.perf_counter() - start)
        if expect and result.sinks.get("webhook") != expect:
            raise SystemExit(f"{title}: webhook outcome {result.sinks} (expected {expect})")
    return samples


def _queries(title: str) -> int:
    from observability.alerts import emit_alert

    return harness.count_queries(lambda: emit_alert("warning", title, "bench message", {"i": 0}))


def run(*, n: int, hung_n: int) -> dict:
    from django.conf import settings

    figures: dict = {}
    settings.ATOCORE_ALERT_WEBHOOK = ""
    _timed(20, title="warm-up")
    figures["none"] = statistics.median(_timed(n, title="no webhook"))
    figures["none_queries"] = _queries("no webhook q")

    server = _ok_server()
    settings.ATOCORE_ALERT_WEBHOOK = f"http://127.0.0.1:{server.server_address[1]}/hook"
    _timed(5, title="warm-up ok")
    figures["ok"] = statistics.median(_timed(n, title="posted", expect="sent"))
    figures["ok_queries"] = _queries("posted q")

    settings.ATOCORE_ALERT_WEBHOOK = f"http://127.0.0.1:{_refused_port()}/hook"
    figures["refused"] = statistics.median(
        _timed(max(n // 4, 10), title="refused", reset=True, expect="connection")
    )
    figures["backoff"] = statistics.median(_timed(n, title="held", expect="backoff"))

    hung = _hung_server()
    settings.ATOCORE_ALERT_WEBHOOK = f"http://127.0.0.1:{hung.getsockname()[1]}/hook"
    hung_samples = _timed(hung_n, title="hung", reset=True, expect="timeout")
    figures["hung"], figures["hung_max"] = statistics.median(hung_samples), max(hung_samples)
    hung.close()

    _reset_gate()
    settings.ATOCORE_ALERT_WEBHOOK = f"http://127.0.0.1:{server.server_address[1]}/burst"
    before = _Hook.requests
    from observability.alerts import emit_alert

    start = time.perf_counter()
    burst = [emit_alert("critical", "db down", "cannot connect") for _ in range(500)]
    figures["burst_total"] = time.perf_counter() - start
    figures["burst_requests"] = _Hook.requests - before
    figures["burst_suppressed"] = sum(r.sinks["webhook"] == "suppressed" for r in burst)
    server.shutdown()
    figures["deadline"] = float(settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT)
    return figures


INTRO = (
    "`python -m bench.alerts --write`: each `emit_alert` outside a transaction (as cron calls it), "
    "log output discarded; every alert to the 204 hook has its own dedup key, so each one posts; the gate "
    "is reset before each refused and hung alert, so each pays for its attempt; default deadline "
    "(`ATOCORE_ALERT_WEBHOOK_TIMEOUT`, 5 s). A shared 2-core machine: figures vary by ~2x with its load."
)


def render(figures: dict, *, machine: str, vendor: str, n: int, hung_n: int) -> str:
    """The ``### <vendor>`` subsection of the Alerts section."""
    ms = lambda seconds: f"{seconds * 1e3:.1f} ms"  # noqa: E731
    limit = figures["deadline"] + HUNG_LIMIT_MARGIN
    rows = [
        ("no webhook", ms(figures["none"]), f"{figures['none_queries']} queries"),
        ("webhook on 127.0.0.1 (204)", ms(figures["ok"]), f"{figures['ok_queries']} queries"),
        ("webhook refusing connections (attempt + 1 retry)", ms(figures["refused"]), ""),
        ("then held back by the backoff", ms(figures["backoff"]), "no request"),
        (
            f"hung webhook, deadline {figures['deadline']:g} s",
            f"{figures['hung']:.3f} s (max {figures['hung_max']:.3f} s)",
            f"limit {limit:g} s: {'met' if figures['hung_max'] <= limit else 'NOT MET'}",
        ),
        (
            "burst of 500 identical alerts",
            f"{figures['burst_total']:.2f} s in all",
            f"{figures['burst_requests']} webhook request(s), {figures['burst_suppressed']} suppressed",
        ),
    ]
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    load = os.getloadavg()[0]
    return "\n".join(
        [
            f"### {vendor}",
            "",
            f"{machine}, {today}, load average {load:.1f}; median of {n} alerts ({hung_n} for the hung webhook).",
            "",
            "| case | median per alert | notes |",
            "| --- | --- | --- |",
            *[f"| {case} | {value} | {note} |" for case, value, note in rows],
            "",
        ]
    )


def write_section(subsection: str, vendor: str, path: Path = BENCHMARKS) -> None:
    """Put ``subsection`` into the '## Alerts' section of docs/BENCHMARKS.md, replacing the
    same vendor's figures and keeping every other section and subsection."""
    lines = (path.read_text("utf-8") if path.exists() else "# Benchmarks\n").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Alerts"), None)
    if start is None:
        lines += ["", "## Alerts", "", INTRO, ""]
        start = len(lines) - 4
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    section = lines[start:end]
    own = next((i for i, line in enumerate(section) if line.strip() == f"### {vendor}"), None)
    new = subsection.rstrip("\n").splitlines() + [""]
    if own is None:
        while section and not section[-1].strip():
            section.pop()
        section += ["", *new]
    else:
        stop = next(
            (i for i in range(own + 1, len(section)) if section[i].startswith(("### ", "## "))), len(section)
        )
        section[own:stop] = new
    text = "\n".join([*lines[:start], *section, *lines[end:]]).rstrip("\n") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="alerts per case")
    parser.add_argument("--hung", type=int, default=3, help="alerts against the hung webhook")
    parser.add_argument("--write", action="store_true", help="write the figures into docs/BENCHMARKS.md")
    args = parser.parse_args()
    logs = tempfile.mkdtemp(prefix="atocore-bench-alerts-")
    os.environ["ATOCORE_ALERT_LOG"] = str(Path(logs) / "alerts.log")
    harness.setup()
    logging.disable(logging.CRITICAL)  # the structlog sink still runs; its output is discarded
    with harness.scratch_database():
        figures = run(n=args.n, hung_n=args.hung)
        from django.db import connection

        vendor = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(connection.vendor, connection.vendor)
        section = render(figures, machine=harness.machine(), vendor=vendor, n=args.n, hung_n=args.hung)
    print(section)
    if args.write:
        write_section(section, vendor)
        print(f"written to {BENCHMARKS}")


if __name__ == "__main__":
    main()
