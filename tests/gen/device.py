"""The simulated device (the C boot flow, fwsign.device) against the Python processor in
device mode (docs/processing-model.md section 1), on the generated envelopes.

The device side installs the envelope on a factory-fresh :class:`fwsign.device.Device`
(identity VENDOR / CLASS / DEVICE, the three trusted keys as anchors, the case's counter,
the case's image as the payload its fetches are served, the envelope's integrated
payloads under their names) and, when the install succeeds, boots it.

The Python side, :func:`device_verdict`, follows section 2 of the model for the envelope
(with ``fwsign.verify``'s functions) and then runs the processor with ``host=False`` over
the update run (payload-fetch, install) and the boot run (validate, load, invoke), with
what the boot flow does besides the model's rules modelled in :class:`BootFlowProcessor`
(see :data:`DEVICE_RULES`).

Verdicts are ``(stage, reason)``: ``("install", reason)`` for a refused install,
``("boot", "ok")`` for an image that installs and starts, ``("boot", reason)`` for one
that installs and then does not start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import fwsign
from fwsign.device.device import DeviceConfig, Geometry, new_device
from fwsign.device.flash import Counter
from fwsign.errors import FwsignError, RollbackError, UnsupportedError, VerificationError
from fwsign.limits import DEVICE_LIMITS, Limits
from fwsign.suit.codepoints import ManifestKey
from fwsign.suit.decode import decode_envelope_parts, decode_manifest, decode_severed_sequence
from fwsign.suit.model import CommandSequence, Envelope, Manifest
from fwsign.suit.processor import DeviceModel, ImageFacts, manifest_sequences, require_validate
from fwsign.verify import (
    Policy,
    TrustedKey,
    check_authentication,
    check_manifest_digest,
    check_severed,
    image_facts,
)

from .build import (
    CLASS,
    DEVICE,
    IMAGES,
    TRUSTED,
    VENDOR,
    Block,
    Case,
    DeviceUM,
    Digest,
    Params,
    Seq,
    describe,
    encode,
    key_file,
    public_key,
    sha256,
)
from .harness import VECTORS

#: The rules the boot flow (bootloader-ref/src/boot.c) follows that the model does not
#: state; BootFlowProcessor models each of them.
DEVICE_RULES = (
    "D1 the device has one image, component 0, in the slot being installed (a fresh device: "
    "slot 0); any other component's image, slot or directive is unavailable (a condition "
    "fails, a directive is a port-error)",
    "D2 a fetch of component 0 writes the slot: from then on component 0's contents are the "
    "fetched payload; only one fetch per install (a second is a port-error), and none at boot",
    "D3 the port serves a fetch of '#name' the envelope's integrated payload of that name (one "
    "the envelope does not carry: port-error), any other uri the image delivered with the "
    "update (none: port-error)",
    "D4 before the fetch, component 0 has no contents (image-match, check-content fail)",
    "D5 an update run that fetches nothing is followed by a fetch of the delivered image "
    "into the slot (port-error without one)",
    "D6 copy, write and swap are not available on this device (port-error)",
    "D7 after the update run the install runs validate, load, invoke over the slot (as the "
    "boot will); the boot runs them again, and a failure there leaves no bootable image",
    "D8 beside a running (confirmed) image, the update goes to the other slot (component 0's "
    "slot is 1), and its sequence number must be greater than the running image's: checked "
    "after the envelope checks (section 2 steps 1-8), refused as rollback; a staged image "
    "that does not verify at boot leaves the previous image running",
    "D9 a fetch that carries an encryption-info, on a device provisioned with no decryption "
    "key, is refused as unsupported (after D2's checks)",
    # update management (docs/processing-model.md section 14.6)
    "D10 a wait whose event has not occurred ends the run as deferred (update or boot run)",
    "D11 the application authorizes an update when the device is not in use and an operator "
    "authorized it (constant over one install and boot here)",
    "D12 the battery is the level set (None: no reading: minimum-battery fails, power never occurs)",
    "D13 component 0's version is the running image's (given directly here); other components have none",
    # delta updates (docs/processing-model.md section 15)
    "D14 during the update run beside a running image, component 1 is the "
    "running image: image-match and check-content of component 1 read it; its slot and "
    "directives stay unavailable (D1)",
    "D15 a fetch of component 0 with delta-info (after D2's checks and the "
    "model's section 15 checks) is a port-error with an encryption-info, a source-component "
    "other than 1 or no running image; the payload served (D3) must have the delta-info's "
    "size and SHA-256 and apply to the running image within the image area (patch-invalid), "
    "and its result is component 0's contents",
)

_FETCH, _COPY, _WRITE, _SWAP, _INVOKE = 21, 22, 18, 31, 23
_P_URI, _P_ENC, _P_SOURCE, _P_DELTA = 21, 19, 22, -257
SHA256 = -16  # the only digest algorithm of the C core
#: A small flash: 1 KiB sectors, 4 for the envelope, one trailer, 1 KiB of image.
GEOMETRY = Geometry(sector_size=1024, write_size=8, slot_sectors=6)
IMAGE_CAPACITY = GEOMETRY.image_capacity

Verdict = tuple[str, str]


class PortError(FwsignError):
    reason = "port-error"


@dataclass
class _Port:
    """What the device's payload source and slot hold during one install."""

    payload: bytes | None
    payloads: Mapping[str, bytes]
    mode: str = "install"
    fetched: bytes | None = None
    #: The slot being installed and booted: 0 on a fresh device, 1 beside a running image.
    slot: int = 0
    #: The running image (D14, D15), or None on a fresh device.
    running: bytes | None = None
    #: The device's update-management inputs (model section 14.1).
    um: DeviceUM | None = None


def _processor_source() -> ModuleType:
    """fwsign/suit/processor.py as Python: a compiled (mypyc) class cannot be subclassed by
    an interpreted one, so in a compiled build the device model runs the same source
    interpreted (the host comparison runs the compiled one)."""
    import fwsign.suit.processor as compiled

    if not fwsign.compiled():
        return compiled
    path = Path(fwsign.__file__).parent / "suit" / "processor.py"
    spec = importlib.util.spec_from_file_location("fwsign.suit._processor_interpreted", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from fwsign.suit.processor import Processor as _Processor
else:
    _Processor = _processor_source().Processor


class BootFlowProcessor(_Processor):
    """The processor in device mode with the boot flow's port (DEVICE_RULES D1-D6)."""

    def __init__(self, manifest: Manifest, port: _Port, limits: Limits) -> None:
        super().__init__(manifest, _model(port.fetched, port.slot, port), limits=limits)
        self.port = port

    def _act(self, code: int, comp: int, where: str) -> None:
        super()._act(code, comp, where)  # R1, R2, the directive's parameters (model section 6, 7)
        if comp != 0:
            raise PortError(f"component {comp} is not on this device", path=where)  # D1
        if code == _INVOKE:
            return
        if code != _FETCH:
            raise PortError("copy, write and swap are not available", path=where)  # D6
        if self.port.mode != "install" or self.port.fetched is not None:
            raise PortError("one fetch per install, none at boot", path=where)  # D2
        if _P_DELTA in self.params[comp]:  # D15
            self.port.fetched = self._delta(comp, where)
            self.model = _model(self.port.fetched, self.port.slot, self.port)
            return
        if _P_ENC in self.params[comp]:  # D9
            raise UnsupportedError("an encrypted payload, and the device has no decryption key", path=where)
        uri = self.params[comp][_P_URI]
        data = self.port.payloads.get(uri) if isinstance(uri, str) else None  # D3
        if data is None and not (isinstance(uri, str) and uri.startswith("#")):
            data = self.port.payload
        if data is None:
            raise PortError(f"no payload for {uri!r}", path=where)
        self.port.fetched = data
        self.model = _model(data, self.port.slot, self.port)  # D2

    def _delta(self, comp: int, where: str) -> bytes:
        """D15: the patch is served, authenticated against delta-info, applied to the running image."""
        from fwsign.delta.apply import patched

        if _P_ENC in self.params[comp] or self.params[comp].get(_P_SOURCE) != 1 or self.port.running is None:
            raise PortError("a patch needs the running image as component 1, unencrypted", path=where)
        uri = self.params[comp][_P_URI]
        data = self.port.payloads.get(uri) if isinstance(uri, str) else None  # D3
        if data is None and not (isinstance(uri, str) and uri.startswith("#")):
            data = self.port.payload
        if data is None:
            raise PortError(f"no payload for {uri!r}", path=where)
        info = self.params[comp][_P_DELTA]
        assert isinstance(info, bytes)
        return patched(data, self.port.running, info, replace(self.limits, max_integrated_payload_bytes=IMAGE_CAPACITY),
                       where)


def _model(image: bytes | None, slot: int, port: _Port | None = None) -> DeviceModel:
    images: tuple[tuple[int, ImageFacts], ...] = () if image is None else ((0, image_facts(image, {SHA256})),)
    if port is not None and port.mode == "install" and port.running is not None:  # D14
        images = (*images, (1, image_facts(port.running, {SHA256})))
    um = (port.um if port is not None else None) or DeviceUM()
    return DeviceModel(VENDOR, CLASS, DEVICE, images=images, slots=((0, slot),), host=False,
                       now=um.now, battery=um.battery, authorized=um.authorized,
                       versions=((0, um.version),) if um.version is not None else ())


def _sequences(manifest: Manifest, severed: dict[int, CommandSequence],
               keys: tuple[int, ...]) -> dict[int, CommandSequence | None]:
    return {k: v for k, v in manifest_sequences(manifest, severed).items() if k in keys}


UPDATE = (int(ManifestKey.PAYLOAD_FETCH), int(ManifestKey.INSTALL))
BOOT = (int(ManifestKey.VALIDATE), int(ManifestKey.LOAD), int(ManifestKey.INVOKE))


def device_verdict(envelope: bytes, keys: tuple[TrustedKey, ...], counter: int, payload: bytes | None,
                   payloads: Mapping[str, bytes], limits: Limits = DEVICE_LIMITS, running: int | None = None,
                   um: DeviceUM | None = None) -> Verdict:
    """What a fresh device does with ``envelope``, by the model in device mode; ``running``:
    the sequence number of a confirmed image in slot 0 (the device counter is then at least
    that), so the update goes to slot 1 (D8)."""
    port = _Port(payload, payloads, slot=0 if running is None else 1,
                 running=None if running is None else IMAGES["image"], um=um)
    if running is not None:
        counter = max(counter, running)
    try:
        # model section 2, steps 1-8
        parts = decode_envelope_parts(envelope, limits)
        check_manifest_digest(parts)
        check_authentication(parts, Policy(keys=keys, limits=limits))
        env: Envelope = parts.with_manifest(decode_manifest(parts.manifest_bytes, limits, lazy=True))
        if env.manifest.sequence_number < counter:
            raise RollbackError("sequence number is lower than the device's counter")
        check_severed(env)
        require_validate(env.manifest)
        if running is not None and env.manifest.sequence_number <= running:  # D8
            raise RollbackError("sequence number is not newer than the running image")
        severed: dict[int, CommandSequence] = {}
        for key in UPDATE:
            seq = decode_severed_sequence(env, key, limits, lazy=True)
            if seq is not None:
                severed[key] = seq
        # step 10, the update run, then the boot flow's own steps
        BootFlowProcessor(env.manifest, port, limits).run(_sequences(env.manifest, severed, UPDATE))
        if port.fetched is None:  # D5
            if payload is None:
                raise PortError("payload could not be fetched into the slot")
            if len(payload) > IMAGE_CAPACITY:
                raise VerificationError("payload is larger than the slot", reason="limit-exceeded")
            port.fetched = payload
        port.mode = "boot"
        BootFlowProcessor(env.manifest, port, limits).run(_sequences(env.manifest, severed, BOOT))  # D7
    except FwsignError as exc:
        return "install", str(exc.reason)
    try:
        BootFlowProcessor(env.manifest, port, limits).run(_sequences(env.manifest, severed, BOOT))
    except FwsignError:
        return "boot", "no-bootable-image" if running is None else "previous-image"
    return "boot", "ok"


@dataclass(frozen=True)
class DeviceOutcome:
    python: Verdict
    device: Verdict
    device_detail: str
    python_detail: str = ""

    @property
    def agree(self) -> bool:
        return self.python == self.device

    @property
    def pair(self) -> tuple[str, str]:
        return "/".join(self.python), "/".join(self.device)


class DeviceDiffer:
    """A fresh simulated device per envelope; trust anchors written once."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fwsign-gen-device-"))
        names: list[str] = []
        for name in TRUSTED:
            file, data = key_file(name)
            (self.tmp / file).write_bytes(data)
            names.append(file)
        self.config = DeviceConfig(VENDOR, CLASS, DEVICE, GEOMETRY, tuple(names))
        self.trusted = tuple(TrustedKey.of(public_key(n), n) for n in TRUSTED)
        # a device running a confirmed image (sequence number RUNNING) in slot 0
        base = new_device(self.config, self.tmp)
        base.install(encode(BASELINE), IMAGES["image"])
        booted = base.boot()
        assert booted.slot == 0 and booted.confirmed and base.counter.value == RUNNING
        self.base_flash = (bytes(base.flash.data), bytes(base.flash.written), list(base.flash.wear))

    def device(self, envelope: bytes, counter: int, payload: bytes | None,
               payloads: Mapping[str, bytes], running: bool = False,
               um: DeviceUM | None = None) -> tuple[Verdict, str]:
        dev = new_device(self.config, self.tmp)
        if um is not None:  # the device's update-management inputs (model section 14.6)
            dev.now, dev.battery, dev.version = um.now, um.battery, um.version
            dev.authorized = um.authorized is True
        if running:
            data, written, wear = self.base_flash
            dev.flash.data[:] = data
            dev.flash.written[:] = written
            dev.flash.wear[:] = wear
            counter = max(counter, RUNNING)
        dev.counter = Counter(counter)
        try:
            slot = dev.install(envelope, payload, payloads)
        except FwsignError as exc:
            return ("install", str(exc.reason)), exc.describe()
        try:
            booted = dev.boot()
        except FwsignError as exc:
            return ("boot", str(exc.reason)), exc.describe()
        if booted.slot != slot:
            return ("boot", "previous-image"), f"slot {slot} was staged, slot {booted.slot} started"
        return ("boot", "ok"), ""

    def run(self, envelope: bytes, counter: int, payload: bytes | None,
            payloads: Mapping[str, bytes], running: bool = False, um: DeviceUM | None = None) -> DeviceOutcome:
        try:
            py = device_verdict(envelope, self.trusted, counter, payload, payloads,
                                running=RUNNING if running else None, um=um)
            detail = ""
        except Exception as exc:  # a crash is a finding too
            py, detail = ("crash", type(exc).__name__), str(exc)
        dv, ddetail = self.device(envelope, counter, payload, payloads, running, um)
        return DeviceOutcome(py, dv, ddetail, detail)


#: The image a device with a running image runs: sequence number RUNNING, slot 0, confirmed.
RUNNING = 1
BASELINE = Case(
    components=((b"\x00",),),
    shared=Seq((
        (20, Params(((1, VENDOR), (2, CLASS), (3, Digest(SHA256, sha256(IMAGES["image"]))),
                     (14, len(IMAGES["image"]))))),
        (1, 15),
        (2, 15),
    )),
    members=((7, Seq(((3, 15),))), (9, Seq(((23, 2),)))),
    blocks=(Block("p256", -7, "own"),),
    sequence_number=RUNNING,
)


def with_running_image(envelope: bytes) -> bool:
    """Half the envelopes go to a device that already runs an image (by the envelope's digest)."""
    return bool(hashlib.sha256(envelope).digest()[0] & 1)


def device_inputs(case: Case) -> tuple[int, bytes | None, dict[str, bytes]]:
    """The case's counter, the image delivered with the update, and the integrated payloads."""
    return case.counter, IMAGES[case.image] if case.image else None, {n: IMAGES[w] for n, w in case.payloads}


#: Device disagreements known and reported (not fixed here): (python verdict, device
#: verdict) as DeviceOutcome.pair -> what is known about it. The tests count them and
#: report them; any other disagreement fails.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}

DEVICE_VECTORS = VECTORS / "device"


def check_device(differ: DeviceDiffer, case: Case, envelope: bytes) -> DeviceOutcome:
    return differ.run(envelope, *device_inputs(case), running=with_running_image(envelope), um=case.um)


def device_vector(case: Case, envelope: bytes, outcome: DeviceOutcome, provenance: str,
                  expected: str | None = None) -> dict[str, object]:
    counter, payload, payloads = device_inputs(case)
    return {
        "envelope": envelope.hex(),
        "counter": counter,
        "payload": payload.hex() if payload is not None else None,
        "payloads": {n: p.hex() for n, p in payloads.items()},
        "running": with_running_image(envelope),
        **({"um": dataclasses.asdict(case.um)} if case.um is not None else {}),
        "expected": expected,
        "observed": {"python": "/".join(outcome.python), "device": "/".join(outcome.device),
                     "device_detail": outcome.device_detail, "python_detail": outcome.python_detail},
        "structure": describe(case),
        "provenance": provenance,
    }


def save_device_vector(data: dict[str, object], directory: Path = DEVICE_VECTORS, name: str | None = None) -> Path:
    observed = data["observed"]
    assert isinstance(observed, dict)
    stem = name or f"py-{observed['python']}__device-{observed['device']}".replace("/", "-").replace(":", "-")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def replay_device(differ: DeviceDiffer, data: Mapping[str, object]) -> DeviceOutcome:
    """Run a saved device vector through the device and the model with the inputs it records."""
    envelope, counter, payload, payloads = data["envelope"], data["counter"], data["payload"], data["payloads"]
    assert isinstance(envelope, str) and isinstance(counter, int) and isinstance(payloads, dict)
    um_data = data.get("um")
    um = None
    if isinstance(um_data, dict):
        version = um_data.get("version")
        um = DeviceUM(um_data.get("now"), um_data.get("battery"), um_data.get("authorized"),
                      tuple(version) if isinstance(version, list) else None)
    return differ.run(bytes.fromhex(envelope), counter, bytes.fromhex(payload) if isinstance(payload, str) else None,
                      {str(n): bytes.fromhex(str(p)) for n, p in payloads.items()}, running=data["running"] is True,
                      um=um)
