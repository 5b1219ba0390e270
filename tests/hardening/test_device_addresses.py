"""#17.1: a device address never makes ssh run a local program, and says what was wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eagle.devices.address import DeviceAddressError, parse_ssh, ssh_address_from_fields
from eagle.devices.workers import worker_command
from tests.hardening.conftest import assert_clean_failure, run_cli

PAYLOADS = [
    "ssh://me@host:22?option=ProxyCommand=sh -c 'touch {m}'",
    "ssh://me@host:22?option=ProxyCommand=touch%20{m}",
    "ssh://me@host?option=proxycommand%3Dtouch%20{m}",
    "ssh://me@host?option=LocalCommand=touch%20{m}&option=PermitLocalCommand=yes",
    "ssh://me@host?option=KnownHostsCommand=touch%20{m}",
    "ssh://me@host?option=PKCS11Provider={m}",
    "ssh://me@host?option=Match%20exec%20%22touch%20{m}%22",
    "ssh://me@host?option=Include={m}",
    "ssh://me@host?option=Port=22%20ProxyCommand=touch%20{m}",
    "ssh://me@host?option=IdentityFile=x%0AProxyCommand=touch%20{m}",
    "ssh://-oProxyCommand=touch%20{m}@host",
    "ssh://me@-oProxyCommand=touch{m}",
    "ssh://me@host?identity=-oProxyCommand=touch{m}",
    "ssh://me@host?python=python3;touch%20{m}",
    "ssh://me@host?python=$(touch%20{m})",
    "ssh://me@host:99999",
    "ssh://me@host:abc",
    "ssh://[::1:22",
    "ssh://me@host:22/path",
    "ssh://me:secret@host",
    "ssh://me@host?bogus=1",
    "ssh://",
    "telnet://host",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_bad_address_is_refused_by_measure(payload, tmp_path, capsys):
    marker = tmp_path / "pwned"
    db = tmp_path / "x.sqlite"
    res = run_cli(
        capsys, "measure", "--runtime", "null", "--archs", "2", "--db", db, "--device", payload.format(m=marker)
    )
    assert_clean_failure(res, codes=(2,))
    assert not marker.exists()
    assert not db.exists()  # refused before the store or a worker was touched


@pytest.mark.parametrize(
    "device_block",
    [
        "device_addr: 'lab-board?option=ProxyCommand=touch {m}'",
        "device_addr: lab-board\n  device_user: '-oProxyCommand=touch {m}'",
        "device_addr: '-oProxyCommand=touch{m}'",
        "device_addr: lab-board\n  device_port: 99999",
        "device_addr: lab-board\n  device_port: abc",
    ],
)
def test_bad_address_in_a_measurement_yaml_is_refused(device_block, tmp_path, capsys):
    marker = tmp_path / "pwned"
    cfg = tmp_path / "m.yaml"
    cfg.write_text("device:\n  " + device_block.format(m=marker) + "\n")
    res = run_cli(capsys, "measure", "--cfg", cfg, "--runtime", "null", "--archs", "2", "--db", tmp_path / "x.sqlite")
    assert_clean_failure(res, codes=(2,))
    seed = subprocess.run(
        [sys.executable, "-m", "eagle.device_runner", "--model", "nasbench201", "--device", "lab", "--cfg", str(cfg),
         "--expdir", str(tmp_path / "res"), "--runtime", "null"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert seed.returncode == 2 and len(seed.stderr.strip().splitlines()) == 1, seed.stderr
    assert "Traceback" not in seed.stderr
    assert not marker.exists()


def test_valid_address_builds_a_safe_command():
    addr = parse_ssh(
        "ssh://pi@board.lab:2222?python=/opt/eagle/.venv/bin/python&identity=~/.ssh/id_ed25519"
        "&option=StrictHostKeyChecking=no&option=connecttimeout=5&option=UserKnownHostsFile=/dev/null"
    )
    cmd = addr.command("eagle.measurement.worker")
    assert cmd[cmd.index("--") + 1] == "pi@board.lab"
    assert cmd[-1] == "/opt/eagle/.venv/bin/python -m eagle.measurement.worker"
    assert "ConnectTimeout=5" in cmd and "-p" in cmd and cmd[cmd.index("-p") + 1] == "2222"
    assert addr.target == "ssh://pi@board.lab:2222"
    ipv6 = parse_ssh("ssh://me@[::1]:22")
    assert ipv6.command("m")[-2] == "me@::1" and ipv6.target == "ssh://me@[::1]:22"
    assert worker_command("local")[1] == {"target": "local"}


def test_error_names_the_refused_option():
    with pytest.raises(DeviceAddressError, match="'ProxyCommand' is not allowed"):
        parse_ssh("ssh://me@host?option=ProxyCommand=x")
    with pytest.raises(DeviceAddressError, match="port"):
        ssh_address_from_fields("host", None, 0)
