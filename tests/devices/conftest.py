"""A real OpenSSH server on 127.0.0.1, started per test session, for the ssh device."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ssh_device(tmp_path_factory) -> str:
    """``ssh://user@127.0.0.1:PORT?...`` reaching this machine through a real sshd."""
    if not Path(SSHD).exists():
        pytest.skip("sshd is not installed (make test installs openssh-server)")
    if shutil.which("ssh") is None:
        pytest.skip("ssh client is not installed")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    os.chmod(d, 0o700)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    port = _free_port()
    (d / "sshd_config").write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / "host_key"}
AuthorizedKeysFile {d / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile {d / "sshd.pid"}
AcceptEnv LANG
"""
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=open(d / "sshd.log", "w"))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(d / 'sshd.log').read_text()}")
            time.sleep(0.1)
    query = (
        f"python={sys.executable}&identity={d / 'client_key'}"
        "&option=StrictHostKeyChecking=no&option=UserKnownHostsFile=/dev/null&option=LogLevel=ERROR"
    )
    yield f"ssh://{user}@127.0.0.1:{port}?{query}"
    proc.terminate()
    proc.wait(timeout=10)
