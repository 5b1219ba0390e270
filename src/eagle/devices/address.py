"""Device addresses: ``local`` or ``ssh://[user@]host[:port][?key=value&...]``, parsed and validated.

A device address comes from the command line, a measurement YAML or a script, and ends up as an
``ssh`` command line. ssh reads many options that run local programs (``ProxyCommand``,
``LocalCommand``, ``KnownHostsCommand``, ``PKCS11Provider``, ``Match exec`` ...), so an address may
only carry what is listed here; everything else is refused with an error naming it:

* ``user``: letters, digits, ``._-`` (not starting with ``-``); ``host``: a host name or ssh-config
  alias (letters, digits, ``._-``, not starting with ``-``), an IPv4 address or a bracketed IPv6
  address; ``port``: 1..65535 (default 22).
* query parameters: ``python=PATH`` (the remote interpreter, default ``python3``), ``identity=FILE``
  (a private key, repeatable) and ``option=KEY=VALUE`` (repeatable) with KEY one of
  :data:`SSH_OPTIONS`. Values hold letters, digits and ``._/~+:@,-`` only (no spaces, quotes,
  ``%`` tokens or shell characters) and never start with ``-``; ``UserKnownHostsFile`` and
  ``GlobalKnownHostsFile`` may only be ``/dev/null`` (ssh appends host keys to the file named).
  An IPv6 zone (``fe80::1%eth0``) is an interface name. Every pattern matches the whole value (a
  final newline is not let through).

The ssh command puts ``--`` before the destination, so nothing in it can be read as an option.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from eagle.errors import UsageError

#: ssh options an address may set (matched case-insensitively, as ssh does); none runs a program.
SSH_OPTIONS: tuple[str, ...] = (
    "Port",
    "IdentityFile",
    "IdentitiesOnly",
    "StrictHostKeyChecking",
    "UserKnownHostsFile",
    "GlobalKnownHostsFile",
    "CheckHostIP",
    "HostKeyAlias",
    "ConnectTimeout",
    "ConnectionAttempts",
    "ServerAliveInterval",
    "ServerAliveCountMax",
    "Compression",
    "LogLevel",
    "PreferredAuthentications",
    "PubkeyAuthentication",
)
_OPTIONS_LOWER = {o.lower(): o for o in SSH_OPTIONS}
QUERY_KEYS = ("python", "identity", "option")

# whole-string patterns (used with fullmatch: '$' would also match before a final newline)
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_HOST_RE = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9._-]{0,252})")
_VALUE_RE = re.compile(r"[A-Za-z0-9._/~+:@,][A-Za-z0-9._/~+:@,-]*")
_SCOPE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,15}")  # an IPv6 zone: an interface name or number
_OPTION_RE = re.compile(r"([A-Za-z][A-Za-z0-9]*)\s*[=\s]\s*(.*)", re.DOTALL)
#: options that name a file ssh writes to: only the null file (no host keys are recorded anywhere)
_WRITES_FILE = {"UserKnownHostsFile": ("/dev/null", "none"), "GlobalKnownHostsFile": ("/dev/null", "none")}

HELP = (
    "a device is 'local' or 'ssh://[user@]host[:port][?python=PATH&identity=FILE&option=KEY=VALUE]' "
    "(README: Device addresses)"
)


class DeviceAddressError(UsageError):
    """A device address that is malformed or asks for something Eagle will not pass to ssh."""


@dataclass(frozen=True)
class SshAddress:
    """A validated ssh device: every field is safe to put on an ssh command line."""

    host: str
    user: str | None = None
    port: int = 22
    python: str = "python3"
    identities: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def destination(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" if self.user else host

    @property
    def target(self) -> str:
        """How the device is recorded in a run's identity (no key paths or options)."""
        return f"ssh://{self.destination}:{self.port}"

    def command(self, remote: str) -> list[str]:
        """The ssh command that runs ``remote`` (a module name run with ``python -m``) on the host."""
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", str(self.port)]
        for key in self.identities:
            cmd += ["-o", f"IdentityFile={key}"]
        for key, value in self.options:
            cmd += ["-o", f"{key}={value}"]
        host = self.host  # ssh takes a bare IPv6 address as the destination host
        dest = f"{self.user}@{host}" if self.user else host
        return [*cmd, "--", dest, f"{shlex.quote(self.python)} -m {remote}"]


def _check(value: str, pattern: re.Pattern[str], what: str, address: str, hint: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DeviceAddressError(f"device {address!r}: {what} {value!r} is not allowed ({hint})")
    return value


def check_user(user: str, address: str) -> str:
    return _check(user, _USER_RE, "user", address, "letters, digits, '._-', not starting with '-'")


def check_host(host: str, address: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return _check(host, _HOST_RE, "host", address, "a host name, an ssh-config alias or an IP address")
    scope = getattr(ip, "scope_id", None)
    if scope is not None:
        _check(scope, _SCOPE_RE, "IPv6 zone", address, "an interface name such as eth0: letters, digits, '._-'")
    return str(ip)


def check_port(port: object, address: str) -> int:
    text = str(port).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise DeviceAddressError(f"device {address!r}: port {port!r} is not a number from 1 to 65535")
    return int(text)


def check_value(value: str, what: str, address: str) -> str:
    return _check(value, _VALUE_RE, what, address, "letters, digits and '._/~+:@,-' only, not starting with '-'")


def check_option(text: str, address: str) -> tuple[str, str]:
    """``KEY=VALUE`` (or ``KEY VALUE``) with KEY on the allow-list; returns (canonical KEY, VALUE)."""
    m = _OPTION_RE.fullmatch(text.strip())
    if not m:
        raise DeviceAddressError(f"device {address!r}: ssh option {text!r} is not KEY=VALUE; {HELP}")
    key, value = m.group(1), m.group(2).strip()
    canonical = _OPTIONS_LOWER.get(key.lower())
    if canonical is None:
        raise DeviceAddressError(
            f"device {address!r}: ssh option {key!r} is not allowed in a device address "
            f"(allowed: {', '.join(SSH_OPTIONS)}); put anything else in your ~/.ssh/config"
        )
    value = check_value(value, f"the value of {canonical}", address)
    if canonical in _WRITES_FILE and value not in _WRITES_FILE[canonical]:
        raise DeviceAddressError(
            f"device {address!r}: {canonical} may only be /dev/null in a device address (ssh would write host keys "
            "to the file it names); set a known-hosts file in your ~/.ssh/config"
        )
    return canonical, value


def parse_ssh(address: str) -> SshAddress:
    """Parse and validate an ``ssh://`` address; raises :class:`DeviceAddressError` naming the problem."""
    if any(c in address for c in "\r\n\t\0 "):
        raise DeviceAddressError(f"device {address!r}: an address holds no spaces or control characters; {HELP}")
    try:
        url = urlsplit(address)
        port = url.port
    except ValueError as exc:
        raise DeviceAddressError(f"device {address!r}: {exc}; {HELP}") from None
    if url.scheme != "ssh" or not url.hostname:
        raise DeviceAddressError(f"device {address!r}: expected ssh://[user@]host[:port]; {HELP}")
    if url.path not in ("", "/") or url.fragment:
        raise DeviceAddressError(f"device {address!r}: an ssh address has no path or '#' part; {HELP}")
    if url.password is not None:
        raise DeviceAddressError(f"device {address!r}: passwords are not taken in addresses; use a key (identity=)")
    netloc_port = url.netloc.rpartition("@")[2]
    if port is None and netloc_port.endswith(":"):
        raise DeviceAddressError(f"device {address!r}: empty port after ':'")
    host = check_host(url.hostname, address)
    user = check_user(url.username, address) if url.username is not None else None
    python, identities, options = "python3", [], []
    try:
        pairs = parse_qsl(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError:
        raise DeviceAddressError(
            f"device {address!r}: the query {url.query!r} is not key=value pairs; {HELP}"
        ) from None
    for key, value in pairs:
        if key == "python":
            python = check_value(value, "python", address)
        elif key == "identity":
            identities.append(check_value(value, "identity", address))
        elif key == "option":
            opt = check_option(value, address)
            if opt[0] == "Port":
                port = check_port(opt[1], address)
            elif opt[0] == "IdentityFile":
                identities.append(opt[1])
            else:
                options.append(opt)
        else:
            raise DeviceAddressError(
                f"device {address!r}: unknown parameter {key!r} (allowed: {', '.join(QUERY_KEYS)}); {HELP}"
            )
    return SshAddress(
        host=host,
        user=user,
        port=check_port(port, address) if port is not None else 22,
        python=python,
        identities=tuple(identities),
        options=tuple(options),
    )


def ssh_address_from_fields(host: object, user: object = None, port: object = 22) -> str:
    """An ``ssh://`` address from separate fields (the seed's YAML), each validated on its own."""
    where = f"host={host!r}, user={user!r}, port={port!r}"
    h = check_host(str(host), where)
    u = check_user(str(user), where) if user not in (None, "") else None
    p = check_port(port if port is not None else 22, where)
    shown = f"[{h}]" if ":" in h else h
    return f"ssh://{u + '@' if u else ''}{shown}:{p}"


_RESOURCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_device(device: str, executor: str = "local") -> str:
    """Validate ``device`` for ``executor`` before anything starts: ``local`` or an ssh address for
    the local executor; a cluster device name (``pixel3``, ``device:pixel3``) for Ray."""
    if executor == "ray":
        name = device.removeprefix("device:")
        if device.startswith(("ssh://", "local")) or not _RESOURCE_RE.fullmatch(name):
            raise DeviceAddressError(
                f"with --executor ray, --device names a device resource of the cluster (e.g. pixel3 for "
                f"'device:pixel3'), not {device!r}; see 'eagle cluster status'"
            )
        return device
    if device == "local":
        return device
    if device.startswith("ssh://"):
        parse_ssh(device)
        return device
    raise DeviceAddressError(f"unknown device {device!r}; {HELP}")
