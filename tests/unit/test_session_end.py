"""One line per file the session end could not write, naming the file and the cause."""

from __future__ import annotations

import errno
from pathlib import Path

from pytest_modelperf.run.session_end import describe_write_failure
from pytest_modelperf.storage.baseline_store import StorageError

EXPORT = Path("reports/run.json")


def test_a_full_disk_names_the_file_it_was_writing():
    error = OSError(errno.ENOSPC, "No space left on device")  # the kernel names no file
    assert describe_write_failure("--modelperf-json", EXPORT, error) == (
        "--modelperf-json reports/run.json: cannot be written: No space left on device"
    )


def test_an_error_about_another_path_names_both():
    error = PermissionError(errno.EACCES, "Permission denied", "reports")
    assert describe_write_failure("--modelperf-markdown", Path("reports/summary.md"), error) == (
        "--modelperf-markdown reports/summary.md: cannot be written (reports): Permission denied"
    )


def test_a_store_error_already_names_its_file():
    error = StorageError("baselines/cpu/test_perf.json: field tests.test_a: not a finite number (NaN)")
    assert describe_write_failure("", Path("baselines"), error) == str(error)
    assert describe_write_failure("--modelperf-json", EXPORT, StorageError("reports/run.json: it is a folder")) == (
        "--modelperf-json reports/run.json: it is a folder"
    )


def test_a_value_json_cannot_hold_is_named():
    error = ValueError("Out of range float values are not JSON compliant")
    assert describe_write_failure("--modelperf-csv", Path("run.csv"), error) == (
        "--modelperf-csv run.csv: cannot be written: Out of range float values are not JSON compliant"
    )
