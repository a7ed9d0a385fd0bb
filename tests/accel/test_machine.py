from pathlib import Path

import pytest

from visiongrad.accel import machine


def test_cpu_model_is_the_first_model_name(monkeypatch):
    monkeypatch.setattr(machine, "cpuinfo", lambda: "processor\t: 0\nmodel name\t: Some CPU\n"
                        "model name\t: Other\n")
    assert machine.cpu_model() == "Some CPU"
    monkeypatch.setattr(machine, "cpuinfo", lambda: "")
    assert machine.cpu_model() is None


def test_cpuinfo_reads_the_real_file():
    if not Path("/proc/cpuinfo").exists():
        pytest.skip("no /proc/cpuinfo on this system")
    assert machine.cpuinfo() == Path("/proc/cpuinfo").read_text(errors="replace") or \
        "processor" in machine.cpuinfo()
