"""dev.py test runs the suite in parallel (pytest-xdist) unless the command line says how."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dev_script_args", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)


def test_the_suite_runs_in_one_worker_per_core_by_default():
    assert dev.pytest_args(["-q", "-p", "no:cacheprovider"]) == [
        "-n", "auto", "--maxprocesses", "4", "--dist", "loadgroup", "-q", "-p",
        "no:cacheprovider"]
    assert dev.pytest_args([]) == dev.PARALLEL


def test_a_command_line_that_chooses_is_passed_on_as_it_is():
    for chosen in (["-n", "0"], ["-n0"], ["--numprocesses=3"], ["-p", "no:xdist"],
                   ["--dist", "loadfile"], ["-m", "frozen", "-n", "0"]):
        assert dev.pytest_args(chosen) == chosen, chosen
