"""ctypes binding to the C reference verifier and boot flow (``bootloader-ref/build/libbootref.so``).

The library is built on demand with ``make -C bootloader-ref`` when it is missing or older
than its sources; if that is impossible the error names the command to run. The
environment variable ``FWSIGN_BOOTREF_LIB`` names another build to load instead (the
tests load ``build/asan/libbootref.so`` this way, with the sanitizer runtime preloaded).
Only the functions the simulated device and the differential tests need are declared.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

BOOTREF_DIR = Path(__file__).resolve().parents[2] / "bootloader-ref"
LIBRARY = BOOTREF_DIR / "build" / "libbootref.so"

PORT_OK, PORT_FAIL, PORT_UNSUPPORTED, PORT_UNAVAILABLE, PORT_ERROR = 0, 1, 2, 3, 4
F_ALLOW_SKIP = 1
TIME_CLOCK, TIME_FIXED, TIME_NONE = 0, 1, 2
SEQ_ALL = 0x1F

u8p = ctypes.POINTER(ctypes.c_uint8)
#: SUIT report callback of the host port's reporter (ports/host/host_report.c).
EmitFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, u8p, ctypes.c_size_t)
REPORT_KINDS = {1: "install", 2: "boot"}
#: BOOTREF_REPORT_MAX_NONCE of the host build (bootref_limits.h).
REPORT_MAX_NONCE = 32
FlashRead = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, u8p, ctypes.c_size_t)
FlashWrite = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, u8p, ctypes.c_size_t)
FlashErase = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
CounterRead = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64))
CounterAdvance = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64)
Fetch = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, u8p, ctypes.c_size_t, ctypes.c_uint64, u8p,
                         ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t))


class BootPort(ctypes.Structure):
    """Mirror of ``bootref_boot_port_t`` (include/bootref_boot.h)."""

    _fields_ = [
        ("ctx", ctypes.c_void_p),
        ("sector_size", ctypes.c_uint32),
        ("write_size", ctypes.c_uint32),
        ("slot_addr", ctypes.c_uint32 * 2),
        ("slot_size", ctypes.c_uint32),
        ("flash_read", FlashRead),
        ("flash_write", FlashWrite),
        ("flash_erase", FlashErase),
        ("counter_read", CounterRead),
        ("counter_advance", CounterAdvance),
        ("fetch", Fetch),
    ]


class BootResult(ctypes.Structure):
    """Mirror of ``bootref_boot_result_t``."""

    _fields_ = [
        ("slot", ctypes.c_uint8),
        ("trial", ctypes.c_uint8),
        ("invoke", ctypes.c_uint8),
        ("sequence", ctypes.c_uint64),
    ]


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def _stale() -> bool:
    if not LIBRARY.exists():
        return True
    built = LIBRARY.stat().st_mtime
    sources = [*BOOTREF_DIR.glob("src/*.[ch]"), *BOOTREF_DIR.glob("include/*.h"), *BOOTREF_DIR.glob("ports/host/*.[ch]")]
    return any(p.stat().st_mtime > built for p in sources)


def build() -> Path:
    """Build the host library if it is missing or out of date; return its path."""
    if not BOOTREF_DIR.is_dir():
        raise UsageError(f"bootloader-ref sources not found at {BOOTREF_DIR}")
    if _stale():
        try:
            proc = subprocess.run(["make", "-s", "-C", str(BOOTREF_DIR), "build/libbootref.so"],
                                  capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"cannot build the C verifier ({exc}); run 'make -C bootloader-ref' "
                             "(needs gcc, make and libssl-dev)") from None
        if proc.returncode != 0 or not LIBRARY.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            raise UsageError(f"building the C verifier failed: {tail[0]}; run 'make -C bootloader-ref' "
                             "(needs gcc, make and libssl-dev)")
    return LIBRARY


def load() -> ctypes.CDLL:
    """The loaded library, built first if needed (once per process)."""
    global _lib
    with _lock:
        if _lib is None:
            override = os.environ.get("FWSIGN_BOOTREF_LIB")
            path = Path(override) if override else build()
            try:
                lib = ctypes.CDLL(str(path))
            except OSError as exc:
                raise UsageError(f"cannot load the C verifier {path}: {exc}") from None
            _declare(lib)
            _lib = lib
        return _lib


def _declare(lib: ctypes.CDLL) -> None:
    vp, sz, c_int, c_char_p = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p
    sigs: dict[str, tuple[object, list[object]]] = {
        "bootref_host_new": (vp, []),
        "bootref_host_free": (None, [vp]),
        "bootref_host_add_pem": (c_int, [vp, c_char_p, c_char_p, sz]),
        "bootref_host_add_hmac_file": (c_int, [vp, c_char_p, c_char_p, sz]),
        "bootref_host_set_kid": (c_int, [vp, sz, c_char_p, sz]),
        "bootref_host_add_key_file": (c_int, [vp, c_char_p, c_char_p, sz]),
        "bootref_host_add_raw_key": (c_int, [vp, ctypes.c_uint8, c_char_p, sz, c_char_p, sz]),
        "bootref_host_require_alg": (c_int, [vp, ctypes.c_int32]),
        "bootref_host_hsslms_verify": (c_int, [c_char_p, sz, c_char_p, sz, c_char_p, sz]),
        "bootref_mldsa_verify": (c_int, [c_int, c_char_p, sz, c_char_p, sz, c_char_p, sz]),
        "bootref_shake": (None, [ctypes.c_uint, c_char_p, sz, c_char_p, sz]),
        "bootref_host_verify": (c_int, [vp, vp, c_char_p, sz, ctypes.c_uint32, ctypes.c_uint32]),
        "bootref_host_add_decrypt_key": (c_int, [vp, c_char_p, c_char_p, sz, c_char_p, sz]),
        "bootref_host_set_image": (c_int, [vp, c_char_p, c_char_p, sz]),
        "bootref_host_set_counter": (None, [vp, ctypes.c_uint64]),
        "bootref_host_set_identity": (None, [vp, c_int, c_char_p]),
        "bootref_host_port": (vp, [vp]),
        "bootref_host_set_time": (None, [vp, c_int, ctypes.c_int64]),
        "bootref_host_set_um_time": (None, [vp, c_int, ctypes.c_uint64]),
        "bootref_host_set_battery": (None, [vp, c_int, ctypes.c_uint64]),
        "bootref_host_set_authorized": (None, [vp, c_int]),
        "bootref_host_set_version": (c_int, [vp, ctypes.POINTER(ctypes.c_int64), sz]),
        "bootref_ctx_size": (sz, []),
        "bootref_verify_envelope": (c_int, [vp, vp, c_char_p, sz, ctypes.c_uint32]),
        "bootref_run": (c_int, [vp, ctypes.c_uint32]),
        "bootref_reason": (c_char_p, [c_int]),
        "bootref_set_reporter": (None, [vp, ReportFn, vp]),
        "bootref_err_name": (c_char_p, [c_int]),
        "bootref_boot_size": (sz, []),
        "bootref_boot_init": (c_int, [vp, vp, ctypes.POINTER(BootPort)]),
        "bootref_boot_scan": (c_int, [vp]),
        "bootref_boot_install": (c_int, [vp, c_char_p, sz, ctypes.POINTER(ctypes.c_uint8)]),
        "bootref_boot_select": (c_int, [vp, ctypes.POINTER(BootResult)]),
        "bootref_boot_confirm": (c_int, [vp]),
        "bootref_boot_target": (c_int, [vp, ctypes.POINTER(ctypes.c_uint8)]),
        "bootref_boot_detail": (c_char_p, [vp]),
        "bootref_host_reporter_new": (vp, [c_char_p, c_char_p, sz]),
        "bootref_host_reporter_free": (None, [vp]),
        "bootref_host_reporter_set_emit": (None, [vp, EmitFn, vp, c_int]),
        "bootref_host_reporter_port": (vp, [vp]),
        "bootref_boot_set_report": (None, [vp, vp]),
        "bootref_boot_set_nonce": (c_int, [vp, c_char_p, sz]),
        "bootref_boot_slot_info": (c_int, [vp, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint8),
                                           ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32),
                                           ctypes.POINTER(ctypes.c_uint32)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def reason(code: int) -> str:
    """The reason class of a bootref error code (shared with fwsign.errors.REASONS)."""
    return str(load().bootref_reason(code).decode())


def err_name(code: int) -> str:
    return str(load().bootref_err_name(code).decode())


class HostPort:
    """The OpenSSL host port: trust anchors, identity, counter (owned; free with close())."""

    def __init__(self) -> None:
        self.lib = load()
        handle = self.lib.bootref_host_new()
        if not handle:
            raise MemoryError("bootref_host_new failed")
        self.handle: int = handle

    def close(self) -> None:
        if self.handle:
            self.lib.bootref_host_free(self.handle)
            self.handle = 0

    def __enter__(self) -> HostPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, rc: int, err: ctypes.Array[ctypes.c_char]) -> None:
        if rc != 0:
            from ..errors import KeyLoadError

            raise KeyLoadError(err.value.decode(errors="replace"))

    def add_pem(self, path: Path) -> None:
        err = ctypes.create_string_buffer(256)
        self._check(self.lib.bootref_host_add_pem(self.handle, str(path).encode(), err, 256), err)

    def add_key_file(self, path: Path) -> None:
        """A PEM public key, or an HSS-LMS / ML-DSA COSE_Key file (fwsign's NAME.cose)."""
        err = ctypes.create_string_buffer(256)
        self._check(self.lib.bootref_host_add_key_file(self.handle, str(path).encode(), err, 256), err)

    def require_alg(self, alg: int) -> None:
        """The "all of these algorithms" rule: a block with ``alg`` must verify (at most 8)."""
        if self.lib.bootref_host_require_alg(self.handle, alg) != 0:
            from ..errors import UsageError

            raise UsageError("the C verifier takes at most 8 required algorithms")

    def add_hmac_file(self, path: Path) -> None:
        err = ctypes.create_string_buffer(256)
        self._check(self.lib.bootref_host_add_hmac_file(self.handle, str(path).encode(), err, 256), err)

    def set_kid(self, index: int, kid: bytes | None) -> None:
        """Replace trust anchor ``index``'s key id (by default fwsign's, :func:`fwsign.keys.key_id`);
        None: no key id, a candidate for blocks with any kid."""
        if self.lib.bootref_host_set_kid(self.handle, index, kid or None, len(kid or b"")) != 0:
            raise UsageError(f"no trust anchor {index}, or a key id longer than 64 bytes")

    def add_decrypt_key(self, path: Path, kid: bytes = b"") -> None:
        """A payload decryption key: PEM X25519/P-256 private key, or a raw 16/32-byte KEK file."""
        err = ctypes.create_string_buffer(256)
        rc = self.lib.bootref_host_add_decrypt_key(self.handle, str(path).encode(), kid or None, len(kid), err, 256)
        self._check(rc, err)

    def set_image(self, path: Path) -> None:
        err = ctypes.create_string_buffer(256)
        rc = self.lib.bootref_host_set_image(self.handle, str(path).encode(), err, 256)
        if rc != 0:
            raise UsageError(err.value.decode(errors="replace"))

    def set_counter(self, value: int) -> None:
        self.lib.bootref_host_set_counter(self.handle, value)

    def set_identity(self, vendor: bytes | None = None, class_: bytes | None = None, device: bytes | None = None) -> None:
        for which, ident in ((1, vendor), (2, class_), (3, device)):
            if ident is not None:
                if len(ident) != 16:
                    raise UsageError("identifiers are 16-byte UUIDs")
                self.lib.bootref_host_set_identity(self.handle, which, ident)

    def set_time(self, now: int | None) -> None:
        """The time delegations' exp/nbf are checked against: seconds since the epoch,
        or None for the host's clock."""
        if now is None:
            self.lib.bootref_host_set_time(self.handle, TIME_CLOCK, 0)
        else:
            self.lib.bootref_host_set_time(self.handle, TIME_FIXED, now)

    def set_no_time(self) -> None:
        """Model a device without a time source: every delegation is refused."""
        self.lib.bootref_host_set_time(self.handle, TIME_NONE, 0)

    # -- update management inputs (docs/processing-model.md section 14.1) --------------

    def set_um(self, *, now: int | None = None, battery: int | None = None, authorized: bool | None = None,
               version: tuple[int, ...] | None = None) -> None:
        """The device's trusted time, battery (mWh), whether its application authorizes an
        update, and component 0's version; None: not available (conditions that need it
        fail on a device, wait defers)."""
        self.lib.bootref_host_set_um_time(self.handle, now is not None, now or 0)
        self.lib.bootref_host_set_battery(self.handle, battery is not None, battery or 0)
        self.lib.bootref_host_set_authorized(self.handle, -1 if authorized is None else int(authorized))
        parts = version or ()
        arr = (ctypes.c_int64 * max(1, len(parts)))(*parts)
        if self.lib.bootref_host_set_version(self.handle, arr, len(parts)) != 0:
            raise UsageError("a version has at most 8 integers")

    @property
    def port(self) -> int:
        return int(self.lib.bootref_host_port(self.handle))


class Verifier:
    """In-process equivalent of ``bootref verify``: verify, then run every sequence; with
    ``F_ALLOW_SKIP`` (host mode) also the host's rules of ``bootref_host_verify``
    (integrated payloads, an encrypted or given image of component 0)."""

    def __init__(self, host: HostPort) -> None:
        self.host = host
        self.lib = host.lib
        self.ctx = ctypes.create_string_buffer(int(self.lib.bootref_ctx_size()))

    def check(self, envelope: bytes, flags: int = F_ALLOW_SKIP) -> int:
        """0 if valid, else the bootref error code."""
        buf = ctypes.create_string_buffer(envelope, len(envelope))
        return int(self.lib.bootref_host_verify(self.host.handle, self.ctx, buf, len(envelope), flags, SEQ_ALL))

    def check_events(self, envelope: bytes, flags: int = F_ALLOW_SKIP) -> tuple[int, list[Event]]:
        """As :meth:`check`, with the progress events the C verifier reported, in order."""
        events: list[Event] = []

        def on_event(_user: int | None, ev: ctypes._Pointer[EventStruct]) -> None:
            e = ev.contents
            events.append(Event(
                (e.what or b"").decode(errors="replace"), (e.note or b"").decode(errors="replace"),
                int(e.component), int(e.value), int(e.status)))

        callback = ReportFn(on_event)  # kept alive for the call
        self.lib.bootref_set_reporter(self.ctx, callback, None)
        try:
            return self.check(envelope, flags), events
        finally:
            self.lib.bootref_set_reporter(self.ctx, ReportFn(), None)


EV_OK, EV_SKIPPED, EV_FAILED, EV_NOT_EXECUTED = 0, 1, 2, 3


class EventStruct(ctypes.Structure):
    """Mirror of ``bootref_event_t`` (include/bootref.h)."""

    _fields_ = [
        ("what", ctypes.c_char_p),
        ("note", ctypes.c_char_p),
        ("component", ctypes.c_int),
        ("value", ctypes.c_int32),
        ("status", ctypes.c_int),
    ]


ReportFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(EventStruct))


@dataclass(frozen=True)
class Event:
    """One progress event of the C verifier: what was checked, a note, the component
    (or -1), a value (algorithm, sequence key...) and EV_OK / _SKIPPED / _FAILED /
    _NOT_EXECUTED."""

    what: str
    note: str
    component: int
    value: int
    status: int


class Reporter:
    """The host port's SUIT report signer: the device's key, and a callback per report.

    ``reports`` collects ``(kind, signed report bytes)`` in the order the boot flow
    emitted them. The key never leaves the C object (loaded from ``path``). ``alive``:
    whether the device still has power; a device whose power was cut sends nothing (the
    emit fails, as the boot flow allows: the report is lost, never the update).
    """

    def __init__(self, path: Path, *, capabilities: bool = False, alive: Callable[[], bool] | None = None) -> None:
        self.lib = load()
        err = ctypes.create_string_buffer(256)
        handle = self.lib.bootref_host_reporter_new(str(path).encode(), err, 256)
        if not handle:
            from ..errors import KeyLoadError

            raise KeyLoadError(f"{path}: {err.value.decode(errors='replace')}")
        self.handle: int = handle
        self.reports: list[tuple[str, bytes]] = []

        def emit(_user: int | None, kind: int, data: ctypes._Pointer[ctypes.c_uint8], n: int) -> int:
            if alive is not None and not alive():
                return 1
            try:
                self.reports.append((REPORT_KINDS.get(int(kind), "unknown"), ctypes.string_at(data, n)))
                return 0
            except Exception:  # never unwind through C
                return 1

        self._emit = EmitFn(emit)  # kept alive as long as the reporter
        self.lib.bootref_host_reporter_set_emit(self.handle, self._emit, None, 1 if capabilities else 0)

    @property
    def port(self) -> int:
        return int(self.lib.bootref_host_reporter_port(self.handle))

    def close(self) -> None:
        if self.handle:
            self.lib.bootref_host_reporter_free(self.handle)
            self.handle = 0
