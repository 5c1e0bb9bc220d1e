"""Sink 2: the alert log file, one JSON object per line.

Each line is written with a single write() on a descriptor opened with O_APPEND, so
lines from concurrent processes never interleave, and the file is opened for every
alert, so a log rotated by rename (a new file appears) or by copy-truncate (writes
continue at the new end) keeps working.
"""

import os
import pwd
from pathlib import Path

from django.conf import settings

from observability.alert_record import AlertRecord, AlertResult, SinkOutcome
from observability.jsonsafe import dumps

NAME = "log_file"
DEFAULT_PATH = "~/atocore-logs/alerts.log"
# JSON leaves these unescaped, but str.splitlines() and many tools break lines at them.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


class NoHomeFolder(Exception):
    """The path starts with ~ and there is no home folder to expand it to."""


def log_path() -> Path:
    """ATOCORE_ALERT_LOG with ~ expanded; raises NoHomeFolder rather than guessing."""
    raw = str(getattr(settings, "ATOCORE_ALERT_LOG", "") or DEFAULT_PATH)
    if raw == "~" or raw.startswith("~/"):
        home = os.environ.get("HOME")
        if home is None:
            try:
                home = pwd.getpwuid(os.getuid()).pw_dir
            except KeyError:
                home = ""
        if not home:
            raise NoHomeFolder(f"no home folder to expand {raw!r}")
        return Path(home) / raw[2:]
    if raw.startswith("~"):  # ~user/...
        expanded = os.path.expanduser(raw)
        if expanded.startswith("~"):
            raise NoHomeFolder(f"no home folder to expand {raw!r}")
        raw = expanded
    return Path(raw)


def format_line(record: AlertRecord) -> bytes:
    """One line of strict JSON (UTF-8), ending in a newline and containing no other line break."""
    data = {**record.as_dict(), "severity": record.severity.upper()}
    return (dumps(data, ensure_ascii=False).translate(_LINE_BREAKS) + "\n").encode("utf-8")


def append(path: Path, data: bytes) -> None:
    """Append ``data`` with one write() on an O_APPEND descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        written = os.write(fd, data)
        while written < len(data):  # only on a full disk or a signal; finish the line
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)


def send(record: AlertRecord, result: AlertResult) -> SinkOutcome:
    try:
        path = log_path()
    except NoHomeFolder as exc:
        return SinkOutcome.failed("error", str(exc), status="unavailable")
    append(path, format_line(record))
    return SinkOutcome("ok")
