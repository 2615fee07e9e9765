"""The simulated device: flash with two slots, a monotonic counter, and the C boot flow.

A :class:`Device` binds a :class:`~fwsign.device.flash.Flash` and a
:class:`~fwsign.device.flash.Counter` to ``bootref_boot_*`` through ctypes: the C code
decides everything (what to verify, where to write, what to boot); Python only models the
hardware. :func:`create` and :func:`open_device` keep the state in a directory:

``device.json``  identity, geometry, trust anchor file names (written once)
``state.bin``    one file, replaced atomically: a JSON header (counter, wear per sector,
                 operation count, last boot), the flash contents, and which write units
                 are programmed
``trust/``       the trust anchors as the C host port loads them (PEM, raw HMAC 0600)
``report/``      the device's own SUIT report key (``device-key.pem`` P-256/Ed25519 or
                 ``device-key.hmac`` raw HMAC, 0600) and what a verifier needs
                 (``device-key.pub.pem``; for HMAC the shared secret, 0600)
``reports/``     every SUIT report the boot flow emitted (``NNNNNN-install.cose``,
                 ``NNNNNN-boot.cose``: COSE_Sign1 / COSE_Mac0, docs/reports.md)
"""

from __future__ import annotations

import ctypes
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import cbor
from ..errors import FwsignError, PowerCutError, UsageError, VerificationError
from . import lib
from .flash import Counter, Flash, FlashViolation, PowerLost

SLOT_STATES = ("empty", "pending", "trial", "confirmed", "bad")
FORMAT = 1


@dataclass(frozen=True)
class Geometry:
    """Flash layout: two equal slots, slot 0 at address 0, slot 1 right after it."""

    sector_size: int = 4096
    write_size: int = 8
    slot_sectors: int = 32

    @property
    def slot_size(self) -> int:
        return self.sector_size * self.slot_sectors

    @property
    def flash_size(self) -> int:
        return 2 * self.slot_size

    @property
    def env_sectors(self) -> int:
        return -(-4096 // self.sector_size)

    @property
    def image_capacity(self) -> int:
        return self.slot_size - (self.env_sectors + 1) * self.sector_size

    def check(self) -> None:
        if self.write_size not in (1, 2, 4, 8, 16, 32):
            raise UsageError("write size must be 1, 2, 4, 8, 16 or 32 bytes")
        if self.sector_size < 128 or self.sector_size % 32:
            raise UsageError("sector size must be a multiple of 32 and at least 128 bytes")
        if self.slot_sectors < self.env_sectors + 2:
            raise UsageError(f"a slot needs at least {self.env_sectors + 2} sectors of {self.sector_size} bytes")


@dataclass(frozen=True)
class DeviceConfig:
    vendor_id: bytes
    class_id: bytes
    device_id: bytes | None = None
    geometry: Geometry = Geometry()
    #: Trust anchor files inside ``trust/``: ``*.pem`` public keys, ``*.cose`` post-quantum public keys
    #: (COSE_Key), ``*.hmac`` raw MAC keys.
    trust: tuple[str, ...] = ()
    #: Payload decryption keys inside ``decrypt/`` (file name, kid hex): ``*.pem`` X25519/P-256
    #: private keys (ECDH-ES+A128KW), ``*.kek`` raw key-encryption keys (A128KW/A256KW).
    decrypt: tuple[tuple[str, str], ...] = ()
    #: The device's SUIT report key inside ``report/`` (None: the device sends no reports).
    report_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        g = self.geometry
        return {
            "format": FORMAT,
            "vendor_id": self.vendor_id.hex(), "class_id": self.class_id.hex(),
            "device_id": self.device_id.hex() if self.device_id else None,
            "geometry": {"sector_size": g.sector_size, "write_size": g.write_size, "slot_sectors": g.slot_sectors},
            "trust": list(self.trust),
            **({"decrypt": [list(k) for k in self.decrypt]} if self.decrypt else {}),
            **({"report_key": self.report_key} if self.report_key else {}),
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> DeviceConfig:
        try:
            if d.get("format") != FORMAT:
                raise UsageError(f"device format {d.get('format')!r} is not {FORMAT}")
            g = d["geometry"]
            return DeviceConfig(
                bytes.fromhex(d["vendor_id"]), bytes.fromhex(d["class_id"]),
                bytes.fromhex(d["device_id"]) if d.get("device_id") else None,
                Geometry(int(g["sector_size"]), int(g["write_size"]), int(g["slot_sectors"])),
                tuple(str(t) for t in d["trust"]),
                tuple((str(n), str(k)) for n, k in d.get("decrypt", [])),
                _report_key_name(d.get("report_key")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"device.json is not a device description ({exc})") from None


def _report_key_name(name: object) -> str | None:
    if name is None:
        return None
    if name not in REPORT_KEY_FILES:
        raise ValueError(f"report_key {name!r}")
    return str(name)


#: The file names a device's report key may have inside ``report/``.
REPORT_KEY_FILES = ("device-key.pem", "device-key.hmac")
#: Kinds of report keys ``create`` provisions (fwsign.keys.generate).
REPORT_KEY_KINDS = ("p256", "ed25519", "hmac")


@dataclass(frozen=True)
class SlotStatus:
    slot: int
    state: str
    sequence: int | None
    image_size: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "state": self.state, "sequence": self.sequence, "image_size": self.image_size}


@dataclass(frozen=True)
class BootOutcome:
    """What a power-on did: the slot started, whether it was a trial, and whether it confirmed."""

    slot: int
    sequence: int
    trial: bool
    confirmed: bool
    image_digest: str

    def as_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "sequence": self.sequence, "trial": self.trial, "confirmed": self.confirmed,
                "image_sha256": self.image_digest}


@dataclass
class Device:
    """One simulated device; the C boot flow runs against its flash and counter."""

    config: DeviceConfig
    flash: Flash
    counter: Counter
    trust_dir: Path
    last_boot: dict[str, Any] | None = None
    boots: int = 0
    _payloads: dict[str, bytes] = field(default_factory=dict, repr=False)
    _payload: bytes | None = field(default=None, repr=False)
    _fault: BaseException | None = field(default=None, repr=False)
    _ops_start: int = field(default=0, repr=False)
    #: The device's clock for delegations' exp/nbf at install, seconds since the epoch
    #: (None: the host's clock). Boot does not check expiry (accepted at install).
    now: int | None = None
    #: The nonce of the next operation's SUIT reports (a collector's challenge); None:
    #: the device draws 16 random bytes for each operation.
    nonce: bytes | None = None
    #: Every report carries the capability report (otherwise only on "unsupported").
    capabilities: bool = False
    #: SUIT reports emitted and not yet saved: (kind, signed report), oldest first.
    reports: list[tuple[str, bytes]] = field(default_factory=list, repr=False)

    #: Update management (docs/processing-model.md sections 14.1, 14.6): the battery's
    #: energy in mWh (None: no reading), whether the device is in use (treating a
    #: patient), and whether an operator authorized the pending update. The application
    #: authorizes an update when the device is not in use and an operator authorized it.
    battery: int | None = None
    in_use: bool = False
    authorized: bool = False
    #: set-version of the manifest installed in each slot (component 0's version while
    #: that slot runs); None: the manifest has none.
    slot_versions: dict[int, list[int] | None] = field(default_factory=dict)
    #: Overrides the running image's version (the differential tests set it directly).
    version: tuple[int, ...] | None = None

    @property
    def authorizes(self) -> bool:
        """Whether the device's application authorizes an update now (D11)."""
        return self.authorized and not self.in_use

    def running_version(self) -> tuple[int, ...] | None:
        """Component 0's version: the set-version of the running image's manifest (D13)."""
        if self.version is not None:
            return self.version
        slot = (self.last_boot or {}).get("slot")
        v = self.slot_versions.get(slot) if isinstance(slot, int) else None
        return tuple(v) if v else None

    # -- C binding -------------------------------------------------------------------

    def _session(self) -> _Session:
        return _Session(self)

    # -- operations ------------------------------------------------------------------

    def install(self, envelope: bytes, payload: bytes | None = None,
                payloads: Mapping[str, bytes] | None = None) -> int:
        """Verify and stage ``envelope``; returns the slot written. Raises on refusal or power cut."""
        self._payload = payload
        self._payloads = dict(payloads or {})
        try:
            with self._session() as s:
                slot = ctypes.c_uint8(0)
                buf = ctypes.create_string_buffer(envelope, len(envelope))
                code = s.call(s.lib.bootref_boot_install, s.boot, buf, len(envelope), ctypes.byref(slot))
                if code != 0:
                    raise self._error(code, "the update", s.detail())
                version = set_version_of(envelope)
                self.slot_versions[int(slot.value)] = list(version) if version is not None else None
                return int(slot.value)
        finally:
            self._payload, self._payloads = None, {}

    def boot(self, *, confirm: bool = True) -> BootOutcome:
        """Power on: the boot flow picks and verifies an image; a trial image then confirms
        itself unless ``confirm`` is False (an image that fails its own health check)."""
        self.boots += 1
        with self._session() as s:
            res = lib.BootResult()
            code = s.call(s.lib.bootref_boot_select, s.boot, ctypes.byref(res))
            if code != 0:
                self.last_boot = {"ok": False, "reason": lib.reason(code)}
                raise self._error(code, "the boot", s.detail() or "no slot holds an image that verifies")
            confirmed = not res.trial
            if res.trial and confirm:
                code = s.call(s.lib.bootref_boot_confirm, s.boot)
                if code != 0:
                    raise self._error(code, "confirming the new image")
                confirmed = True
            info = s.slots()[res.slot]
            outcome = BootOutcome(int(res.slot), int(res.sequence), bool(res.trial), confirmed,
                                  self._image_digest(res.slot, info.image_size or 0))
        self.last_boot = {"ok": True, **outcome.as_dict()}
        return outcome

    def install_target(self) -> int:
        """The slot the next install writes (the one without the newest confirmed image)."""
        with self._session() as s:
            slot = ctypes.c_uint8(0)
            code = s.call(s.lib.bootref_boot_target, s.boot, ctypes.byref(slot))
            if code != 0:
                raise self._error(code, "reading the slot trailers")
            return int(slot.value)

    def slots(self) -> tuple[SlotStatus, SlotStatus]:
        with self._session() as s:
            code = s.call(s.lib.bootref_boot_scan, s.boot)
            if code != 0:
                raise self._error(code, "reading the slot trailers")
            return s.slots()

    def report_key_path(self) -> Path | None:
        """The device's own SUIT report key (private; None: no reports)."""
        if self.config.report_key is None:
            return None
        return self.trust_dir.parent / "report" / self.config.report_key

    def suit_keys(self) -> list[Any]:
        """The trust anchors as fwsign.verify.TrustedKey objects (for the update client)."""
        from ..keys import SymmetricKey, load_public
        from ..verify import TrustedKey

        out = []
        for name in self.config.trust:
            path = self.trust_dir / name
            key = SymmetricKey(path.read_bytes()) if name.endswith(".hmac") else load_public(path)
            out.append(TrustedKey.of(key, name))
        return out

    def image(self, slot: int, size: int) -> bytes:
        g = self.config.geometry
        base = slot * g.slot_size + g.env_sectors * g.sector_size
        return bytes(self.flash.data[base:base + size])

    def _image_digest(self, slot: int, size: int) -> str:
        import hashlib

        return hashlib.sha256(self.image(slot, size)).hexdigest()

    def status(self) -> dict[str, Any]:
        slots = self.slots()
        wear = self.flash.wear
        return {
            "vendor_id": self.config.vendor_id.hex(), "class_id": self.config.class_id.hex(),
            "counter": self.counter.value,
            "slots": [s.as_dict() for s in slots],
            "last_boot": self.last_boot, "boots": self.boots,
            "flash": {"size": self.flash.size, "sector_size": self.flash.sector_size,
                      "write_size": self.flash.write_size, "operations": self.flash.ops,
                      "erases_total": sum(wear), "erases_max_sector": max(wear)},
            "update_management": {"battery_mwh": self.battery, "in_use": self.in_use,
                                  "authorized": self.authorized,
                                  "version": list(v) if (v := self.running_version()) is not None else None},
        }

    def _error(self, code: int, what: str, detail: str = "") -> FwsignError:
        if self._fault is not None and isinstance(self._fault, FlashViolation):
            raise RuntimeError(f"boot flow broke a flash rule: {self._fault}")
        if not self.flash.powered:
            done = self.flash.ops - self._ops_start
            return PowerCutError(f"power was cut after {done} flash operation(s); {what} did not finish")
        if not detail and isinstance(self._fault, FileNotFoundError):
            detail = str(self._fault.args[0]) if self._fault.args else "payload not available"
        detail = detail or ("a flash or payload operation failed" if lib.reason(code) == "port-error" else "refused")
        text = f"{what}: {detail} [{lib.err_name(code)}]"
        if lib.reason(code) == "usage":
            return UsageError(text)
        return VerificationError(text, reason=lib.reason(code))

    # -- callbacks (never raise into C) ----------------------------------------------

    def _guard(self, fn: Callable[[], None]) -> int:
        try:
            fn()
            return lib.PORT_OK
        except (PowerLost, FlashViolation) as exc:
            self._fault = self._fault or exc
            return lib.PORT_ERROR
        except Exception as exc:  # a bug in the model must not unwind through C
            self._fault = self._fault or exc
            return lib.PORT_ERROR

    def fetch_bytes(self, uri: str, offset: int, length: int) -> bytes:
        # "#name" is an integrated payload of the envelope (draft section 5.5): one the
        # envelope does not carry is missing, never the image delivered beside it.
        data = self._payloads.get(uri) if uri else None
        if data is None and not uri.startswith("#"):
            data = self._payload
        if data is None:
            raise FileNotFoundError(f"no payload for {uri or 'this envelope'}")
        return data[offset:offset + length]


class _Session:
    """The C objects for one operation: host port (keys, identity) and boot state."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.lib = lib.load()
        self.host = lib.HostPort()
        self.reporter: lib.Reporter | None = None
        try:
            for name in dev.config.trust:
                path = dev.trust_dir / name
                if name.endswith(".hmac"):
                    self.host.add_hmac_file(path)
                else:
                    self.host.add_key_file(path)  # PEM, or an HSS-LMS / ML-DSA COSE_Key
            for name, kid in dev.config.decrypt:
                self.host.add_decrypt_key(dev.trust_dir.parent / "decrypt" / name, bytes.fromhex(kid))
            self.host.set_identity(dev.config.vendor_id, dev.config.class_id, dev.config.device_id)
            self.host.set_time(dev.now)
            self.host.set_um(now=dev.now if dev.now is not None else int(time.time()), battery=dev.battery,
                             authorized=dev.authorizes, version=dev.running_version())
        except BaseException:
            self.host.close()
            raise
        g = dev.config.geometry
        f = dev.flash
        c = dev.counter
        self._keep: list[object] = []

        def rd(_ctx: int | None, addr: int, buf: Any, n: int) -> int:
            def op() -> None:
                ctypes.memmove(buf, f.read(addr, n), n)
            return dev._guard(op)

        def wr(_ctx: int | None, addr: int, buf: Any, n: int) -> int:
            return dev._guard(lambda: f.write(addr, ctypes.string_at(buf, n)))

        def er(_ctx: int | None, addr: int) -> int:
            return dev._guard(lambda: f.erase(addr))

        def cread(_ctx: int | None, out: Any) -> int:
            def op() -> None:
                if not f.powered:
                    raise PowerLost("no power")
                out[0] = c.value
            return dev._guard(op)

        def cadv(_ctx: int | None, value: int) -> int:
            return dev._guard(lambda: c.advance(f, value))

        def fetch(_ctx: int | None, uri: Any, uri_len: int, off: int, buf: Any, n: int, got: Any) -> int:
            def op() -> None:
                u = ctypes.string_at(uri, uri_len).decode("utf-8", "replace") if uri_len else ""
                data = dev.fetch_bytes(u, off, n)
                ctypes.memmove(buf, data, len(data))
                got[0] = len(data)
            return dev._guard(op)

        self.port = lib.BootPort(
            None, g.sector_size, g.write_size, (ctypes.c_uint32 * 2)(0, g.slot_size), g.slot_size,
            lib.FlashRead(rd), lib.FlashWrite(wr), lib.FlashErase(er), lib.CounterRead(cread),
            lib.CounterAdvance(cadv), lib.Fetch(fetch),
        )
        self.boot = ctypes.create_string_buffer(int(self.lib.bootref_boot_size()))
        dev._fault = None
        dev._ops_start = f.ops
        code = int(self.lib.bootref_boot_init(self.boot, self.host.port, ctypes.byref(self.port)))
        if code != 0:
            self.host.close()
            raise UsageError(f"the boot flow rejects this flash geometry [{lib.err_name(code)}]")
        key = dev.report_key_path()
        if key is not None:
            import secrets

            try:
                self.reporter = lib.Reporter(key, capabilities=dev.capabilities, alive=lambda: dev.flash.powered)
                nonce = dev.nonce if dev.nonce is not None else secrets.token_bytes(16)
                if int(self.lib.bootref_boot_set_nonce(self.boot, nonce, len(nonce))) != 0:
                    raise UsageError(f"a report nonce is at most {lib.REPORT_MAX_NONCE} bytes")
            except BaseException:
                self.close()
                raise
            self.lib.bootref_boot_set_report(self.boot, self.reporter.port)

    def call(self, fn: Callable[..., int], *args: object) -> int:
        return int(fn(*args))

    def detail(self) -> str:
        return str(self.lib.bootref_boot_detail(self.boot).decode(errors="replace"))

    def slots(self) -> tuple[SlotStatus, SlotStatus]:
        out: list[SlotStatus] = []
        for s in (0, 1):
            st, seq = ctypes.c_uint8(), ctypes.c_uint64()
            el, il = ctypes.c_uint32(), ctypes.c_uint32()
            self.lib.bootref_boot_slot_info(self.boot, s, ctypes.byref(st), ctypes.byref(seq), ctypes.byref(el),
                                            ctypes.byref(il))
            state = SLOT_STATES[st.value] if st.value < len(SLOT_STATES) else "unknown"
            empty = state == "empty"
            out.append(SlotStatus(s, state, None if empty else int(seq.value), None if empty else int(il.value)))
        return out[0], out[1]

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.reporter is not None:
            self.dev.reports.extend(self.reporter.reports)
            self.reporter.close()
            self.reporter = None
        self.host.close()


# -- persistence ---------------------------------------------------------------------


def new_device(config: DeviceConfig, trust_dir: Path) -> Device:
    """A factory-fresh device in memory (erased flash, counter 0)."""
    config.geometry.check()
    g = config.geometry
    return Device(config, Flash(g.flash_size, g.sector_size, g.write_size), Counter(0), trust_dir)


def create(directory: Path, trust: list[Path], vendor_id: bytes, class_id: bytes,
           device_id: bytes | None = None, geometry: Geometry | None = None,
           decrypt: list[Path] | None = None, report_key: str | None = "p256") -> Device:
    """Provision a device in ``directory`` (which must not hold one yet).

    ``report_key``: the kind of the device's own SUIT report key, generated here
    (:data:`REPORT_KEY_KINDS`), or None for a device that sends no reports.
    """
    from ..keys import SymmetricKey, encode_cose_key, key_kind, load_public, public_pem, write_atomic

    directory = Path(directory)
    if (directory / "device.json").exists():
        raise UsageError(f"{directory} already holds a device")
    if not trust:
        raise UsageError("give at least one --trust key")
    if len(trust) > 8:
        raise UsageError("at most 8 trust anchors")
    geometry = geometry or Geometry()
    geometry.check()
    keys = [load_public(p) for p in trust]
    dkeys = _load_decryption(decrypt or [])  # every key loads before anything is written
    tdir = directory / "trust"
    tdir.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for i, key in enumerate(keys):
        if isinstance(key, SymmetricKey):
            name = f"anchor{i}.hmac"
            write_atomic(tdir / name, key.secret, mode=0o600)
        elif key_kind(key) in ("hss-lms", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87"):
            # post-quantum anchors as COSE_Key, which the C host port reads (its OpenSSL has no ML-DSA PEM)
            name = f"anchor{i}.cose"
            write_atomic(tdir / name, encode_cose_key(key))
        else:
            if key_kind(key) not in ("p256", "ed25519"):
                raise UsageError(f"{trust[i]}: the device verifies P-256, Ed25519, HMAC, HSS-LMS and ML-DSA keys, "
                                 f"not {key_kind(key)}")
            name = f"anchor{i}.pem"
            write_atomic(tdir / name, public_pem(key))
        names.append(name)
    if report_key is not None and report_key not in REPORT_KEY_KINDS:
        raise UsageError(f"report key kind {report_key!r}: choose {', '.join(REPORT_KEY_KINDS)} or none")
    config = DeviceConfig(vendor_id, class_id, device_id, geometry, tuple(names),
                          _provision_decryption(directory / "decrypt", dkeys),
                          None if report_key is None else _provision_report_key(directory / "report", report_key))
    dev = new_device(config, tdir)
    write_atomic(directory / "device.json", (json.dumps(config.as_dict(), indent=2) + "\n").encode())
    save(dev, directory)
    return dev


def _provision_report_key(rdir: Path, kind: str) -> str:
    """Generate the device's SUIT report key in ``report/``: the private key (0600) in the
    form the C host port loads, and what a verifier needs beside it."""
    from ..keys import SymmetricKey, generate, private_pem, public_of, public_pem, write_atomic

    rdir.mkdir(parents=True, exist_ok=True)
    key = generate(kind)
    if isinstance(key, SymmetricKey):
        write_atomic(rdir / "device-key.hmac", key.secret, mode=0o600)
        write_atomic(rdir / "device-key.verify.pem", private_pem(key), mode=0o600)  # a shared secret
        return "device-key.hmac"
    write_atomic(rdir / "device-key.pem", private_pem(key), mode=0o600)
    write_atomic(rdir / "device-key.pub.pem", public_pem(public_of(key)))
    return "device-key.pem"


def report_verification_key(directory: Path) -> Path:
    """The file a verifier of ``directory``'s reports loads: the public key, or for an
    HMAC device the shared secret (fwsign's symmetric-key PEM)."""
    config = open_device(directory).config
    if config.report_key is None:
        raise UsageError(f"the device in {directory} has no report key (created with --report-key none)")
    rdir = Path(directory) / "report"
    return rdir / ("device-key.verify.pem" if config.report_key.endswith(".hmac") else "device-key.pub.pem")


def register_report_key(directory: Path, registry: Path) -> Path:
    """Put the device's report verification key where ``fwsign report verify --key-registry``
    finds it: ``REGISTRY/<kid hex>.pem`` (0600 for an HMAC secret). Returns the file."""
    from ..keys import SymmetricKey, key_id, load_public, write_atomic

    src = report_verification_key(directory)
    key = load_public(src)
    registry = Path(registry)
    registry.mkdir(parents=True, exist_ok=True)
    dest = registry / f"{key_id(key).hex()}.pem"
    write_atomic(dest, src.read_bytes(), mode=0o600 if isinstance(key, SymmetricKey) else 0o644)
    return dest


def _load_decryption(paths: list[Path]) -> list[Any]:
    from ..encryption.keys import load_decryption_key

    if len(paths) > 8:
        raise UsageError("at most 8 decryption keys")
    return [load_decryption_key(p) for p in paths]


def _provision_decryption(ddir: Path, keys: list[Any]) -> tuple[tuple[str, str], ...]:
    """Write the device's payload decryption keys into ``decrypt/`` (0600) in the form the C port loads."""
    from cryptography.hazmat.primitives import serialization

    from ..encryption.keys import Kek
    from ..keys import write_atomic

    out: list[tuple[str, str]] = []
    for i, dk in enumerate(keys):
        ddir.mkdir(parents=True, exist_ok=True)
        if isinstance(dk.key, Kek):
            name, data = f"key{i}.kek", dk.key.secret
        else:
            name = f"key{i}.pem"
            data = dk.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        write_atomic(ddir / name, data, mode=0o600)
        out.append((name, dk.kid.hex()))
    return tuple(out)


def open_device(directory: Path) -> Device:
    directory = Path(directory)
    try:
        config = DeviceConfig.from_dict(json.loads((directory / "device.json").read_text()))
        raw = (directory / "state.bin").read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{directory} holds no device (create one with 'fwsign device create')") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the device in {directory}: {exc}") from None
    g = config.geometry
    n = int.from_bytes(raw[:4], "little")
    units = g.flash_size // g.write_size
    if len(raw) != 4 + n + g.flash_size + units:
        raise UsageError(f"{directory}/state.bin does not match the device geometry")
    try:
        state = json.loads(raw[4:4 + n])
        data = bytearray(raw[4 + n:4 + n + g.flash_size])
        written = bytearray(raw[4 + n + g.flash_size:])
        wear = [int(x) for x in state["wear"]]
        if len(wear) != g.flash_size // g.sector_size:
            raise ValueError("wear table size")
        flash = Flash(g.flash_size, g.sector_size, g.write_size, data, wear, written, ops=int(state["operations"]))
        battery = state.get("battery")
        versions = {int(k): (None if v is None else [int(x) for x in v])
                    for k, v in dict(state.get("slot_versions", {})).items()}
        return Device(config, flash, Counter(int(state["counter"])), directory / "trust",
                      state.get("last_boot"), int(state.get("boots", 0)),
                      battery=None if battery is None else int(battery), in_use=bool(state.get("in_use", False)),
                      authorized=bool(state.get("authorized", False)), slot_versions=versions)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{directory}/state.bin is damaged ({exc})") from None


def save(dev: Device, directory: Path) -> list[Path]:
    """Persist flash, counter and statistics in one atomic replace, then the SUIT reports
    emitted since the last save (``reports/NNNNNN-KIND.cose``); returns their files."""
    from ..keys import write_atomic

    state = {"counter": dev.counter.value, "wear": dev.flash.wear, "operations": dev.flash.ops,
             "boots": dev.boots, "last_boot": dev.last_boot,
             # update management (docs/processing-model.md section 14.6)
             "battery": dev.battery, "in_use": dev.in_use, "authorized": dev.authorized,
             "slot_versions": {str(k): v for k, v in dev.slot_versions.items()}}
    head = json.dumps(state).encode()
    blob = len(head).to_bytes(4, "little") + head + bytes(dev.flash.data) + bytes(dev.flash.written)
    write_atomic(Path(directory) / "state.bin", blob)
    written: list[Path] = []
    if dev.reports:
        rdir = Path(directory) / "reports"
        rdir.mkdir(exist_ok=True)
        n = max((int(p.name[:6]) for p in rdir.glob("[0-9][0-9][0-9][0-9][0-9][0-9]-*.cose")), default=0)
        for kind, data in dev.reports:
            n += 1
            path = rdir / f"{n:06d}-{kind}.cose"
            write_atomic(path, data)
            written.append(path)
        dev.reports.clear()
    return written


def set_version_of(envelope: bytes) -> tuple[int, ...] | None:
    """The set-version (manifest member 6) of an envelope the boot flow accepted, or None."""
    from ..suit.decode import decode_envelope_parts, decode_manifest

    try:
        parts = decode_envelope_parts(envelope)
        manifest = decode_manifest(parts.manifest_bytes, lazy=True)
    except FwsignError:
        return None
    for key, raw in manifest.extensions:
        if key == 6 and isinstance(raw, bytes):
            value = cbor.loads(raw)
            if isinstance(value, tuple) and all(type(x) is int for x in value):
                return tuple(int(x) for x in value if type(x) is int)
    return None
