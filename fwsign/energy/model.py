"""The cost of one firmware update on a constrained device, as pure functions.

    E_cpu(c)      = c / f_clk x V x I_cpu                     (c = cycles)
    E_radio(n)    = (n + ceil(n / P) x H) x e_byte + e_transfer
                    (P = payload bytes per packet, H = overhead bytes per packet)
    E_erase(n)    = ceil(n / page) x t_erase x V x I_flash
    E_write(n)    = ceil(n / unit) x t_write x V x I_flash
    cycles(instr) = instr x CPI_core x cpi_scale              (emulated instructions)
    E_hash(n)     = E_cpu(n x cpb)                            (published cycles/byte)

One update = radio (image + the metadata the mode needs) + CPU at install (parse and
policy, manifest digest, signature checks, image hash as the read-back verify) + flash
(erase and write) + ``boots`` boot-time verifications. The *security overhead* is the
energy of the metadata bytes, hashing, signature checks and parsing, as a share of the
*unavoidable* cost: receiving and flashing the image itself.

Three modes (``MODES``):

- ``suit``: the device receives and checks only the SUIT envelope (TUF runs on a
  gateway: Uptane-style partial verification);
- ``tuf``: the device also downloads and checks TUF metadata (timestamp, snapshot,
  top-level targets, one hash bin), sizes from :class:`TufRepo`;
- ``mcuboot``: an MCUboot image signed by imgtool (32-byte header and TLV trailer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .measured import Measured
from .profiles import DeviceProfile, LinkProfile, ProfileError, Sourced

MODES = ("suit", "tuf", "mcuboot")

#: One optimised P-256 verification on Cortex-M4: the yardstick of the parse-and-policy target.
P256_REFERENCE = Sourced(976e3, "cycles", "Emill/P256-Cortex-M4 README: 976k cycles on nRF52840 (REFERENCE s3)")
#: Design targets.
OVERHEAD_TARGET = 0.03
PARSE_TARGET = 0.01


@dataclass(frozen=True)
class TufRepo:
    """Sizes of the TUF metadata one update walks (REFERENCE s2, measured with tuf 7.0.1, Ed25519)."""

    targets: int = 10_000
    #: Hash bins; None = the power of two nearest sqrt(targets x entry / per-bin snapshot bytes).
    bins: int | None = None
    entry_bytes: int = 227
    snapshot_bytes_per_bin: int = 29
    timestamp_bytes: int = 370
    top_targets_bytes: int = 700
    #: root.json per key type, downloaded only when the root rotates.
    root_bytes_p256: int = 2100
    root_bytes_ed25519: int = 1600
    root_updates: int = 0

    def __post_init__(self) -> None:
        if self.targets < 1 or (self.bins is not None and self.bins < 1) or self.root_updates < 0:
            raise ValueError("targets and bins must be positive, root_updates non-negative")

    def bin_count(self) -> int:
        if self.bins is not None:
            return self.bins
        ideal = math.sqrt(self.targets * self.entry_bytes / self.snapshot_bytes_per_bin)
        return max(1, 1 << round(math.log2(ideal)))

    def walk(self, alg: str) -> tuple[tuple[str, int], ...]:
        """(file, bytes) the device downloads and verifies, one signature each."""
        bins = self.bin_count()
        files = [
            ("timestamp.json", self.timestamp_bytes),
            ("snapshot.json", bins * self.snapshot_bytes_per_bin),
            ("targets.json", self.top_targets_bytes),
            ("bin", math.ceil(self.targets / bins) * self.entry_bytes),
        ]
        root = self.root_bytes_p256 if alg == "p256" else self.root_bytes_ed25519
        files += [("root.json", root)] * self.root_updates
        return tuple(files)


@dataclass(frozen=True)
class Scenario:
    image_bytes: int
    alg: str = "p256"
    mode: str = "suit"
    #: Signature library on the device (None = the fastest the profile lists).
    library: str | None = None
    #: SHA-256 implementation ("c", "asm", "hw"; None = the fastest listed).
    sha: str | None = None
    boots: int = 1
    #: Measured override of the envelope size (suit, tuf) in bytes.
    envelope_bytes: int | None = None
    #: Measured override of the TUF metadata bytes per update (tuf); signatures stay 4 + root updates.
    tuf_bytes: int | None = None
    #: Measured override of one signature verification's cycles, with what it measures (e.g.
    #: the emulated HSS-LMS or ML-DSA verification of benchmarks/bench_pq.py); None: the profile's.
    signature_cycles: float | None = None
    signature_label: str = ""
    tuf: TufRepo = field(default_factory=TufRepo)
    #: Encrypted payload: content encryption (fwsign.energy.decrypt.CONTENT_ALGS) or None.
    encrypted: str | None = None
    #: How the device gets the content key: x25519, p256 (ECDH-ES+A128KW), a128kw, a256kw.
    key_exchange: str = "x25519"
    #: Delta release (docs/delta.md): the FWD1 patch's size; None = the full image is sent.
    patch_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.image_bytes < 1:
            raise ValueError("image_bytes must be positive")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if self.boots < 0:
            raise ValueError("boots must be non-negative")
        if self.patch_bytes is not None and (self.patch_bytes < 1 or self.mode == "mcuboot"):
            raise ValueError("patch_bytes must be positive, and a patch needs a SUIT mode")


@dataclass(frozen=True)
class Phase:
    name: str
    #: "radio", "cpu", "flash" or "boot".
    group: str
    #: True if the phase is part of the security overhead, False if unavoidable.
    security: bool
    energy_j: float
    seconds: float
    detail: str


@dataclass(frozen=True)
class UpdateCost:
    device: str
    link: str
    scenario: Scenario
    signature_library: str
    signature_cycles: float
    sha_impl: str
    sha_cpb: float
    metadata_bytes: int
    signatures_at_install: int
    phases: tuple[Phase, ...]
    #: Parse-and-policy cycles per verification (estimate from emulated instructions; 0 for mcuboot).
    parse_policy_instr: int
    parse_policy_cycles: float
    #: Cycles of one boot-time verification (parse, digests, signature, image hash).
    boot_verify_cycles: float
    boot_verify_s: float

    @property
    def total_j(self) -> float:
        return sum(p.energy_j for p in self.phases)

    @property
    def security_j(self) -> float:
        return sum(p.energy_j for p in self.phases if p.security)

    @property
    def unavoidable_j(self) -> float:
        return sum(p.energy_j for p in self.phases if not p.security)

    @property
    def overhead_share(self) -> float:
        """Security energy / unavoidable energy (the 3 % design target)."""
        return self.security_j / self.unavoidable_j if self.unavoidable_j else math.inf

    @property
    def parse_policy_share(self) -> float:
        """Parse-and-policy cycles / one optimised Cortex-M4 P-256 verify (the 1 % target)."""
        return self.parse_policy_cycles / P256_REFERENCE.value


def cpu_energy(dev: DeviceProfile, cycles: float) -> tuple[float, float]:
    """(joules, seconds) of running the CPU for ``cycles``."""
    seconds = cycles / dev.clock_hz.value
    return seconds * dev.voltage_v.value * dev.cpu_current_a.value, seconds


def radio_energy(link: LinkProfile, nbytes: int, transfers: int = 1) -> tuple[float, int]:
    """(joules, bytes on air) for receiving ``nbytes`` of application data."""
    if nbytes <= 0:
        return 0.0, 0
    packets = math.ceil(nbytes / link.packet_payload_bytes.value)
    on_air = nbytes + int(packets * link.packet_overhead_bytes.value)
    return on_air * link.energy_per_byte_j.value + transfers * link.per_transfer_j.value, on_air


def flash_erase_energy(dev: DeviceProfile, nbytes: int) -> tuple[float, float]:
    pages = math.ceil(nbytes / dev.flash_page_bytes.value)
    seconds = pages * dev.flash_page_erase_s.value
    return seconds * dev.voltage_v.value * dev.flash_current_a.value, seconds


def flash_write_energy(dev: DeviceProfile, nbytes: int) -> tuple[float, float]:
    units = math.ceil(nbytes / dev.flash_write_unit_bytes.value)
    seconds = units * dev.flash_write_unit_s.value
    return seconds * dev.voltage_v.value * dev.flash_current_a.value, seconds


def core_cpi(dev: DeviceProfile, measured: Measured) -> float:
    return measured.core(dev.core).cpi * dev.cpi_scale.value


def _phase(name: str, group: str, security: bool, ej: tuple[float, float], detail: str) -> Phase:
    return Phase(name, group, security, ej[0], ej[1], detail)


def update_cost(dev: DeviceProfile, link: LinkProfile, measured: Measured, sc: Scenario) -> UpdateCost:
    """Energy of one update of ``sc.image_bytes`` on ``dev`` over ``link`` in mode ``sc.mode``."""
    sig = dev.sig_impl(sc.alg, sc.library)
    sig_cycles = sig.cycles.value if sc.signature_cycles is None else sc.signature_cycles
    sig_note = (f"{sig.alg} verify, {sig.library}: {sig_cycles:,.0f} cycles" if sc.signature_cycles is None
                else f"{sc.signature_label or 'measured'}: {sig_cycles:,.0f} cycles")
    sha_name, sha = dev.sha_impl(sc.sha)
    cpb = sha.value
    cpi = core_cpi(dev, measured)
    img = sc.image_bytes
    phases: list[Phase] = []

    if sc.mode == "mcuboot":
        header, tlv = measured.imgtool_overhead(sc.alg)
        meta = header + tlv
        parse_instr = digest_instr = 0
        hashed = img + header
        n_sig = 1
        meta_note = f"imgtool header {header} B + TLV trailer {tlv} B"
    else:
        count = measured.core(dev.core).envelope(f"fwsign-{sc.alg}")
        env_bytes = sc.envelope_bytes if sc.envelope_bytes is not None else measured.envelope_bytes(sc.alg)
        parse_instr, digest_instr = count.parse_policy_instr, count.digest_instr
        meta = env_bytes
        hashed = img
        n_sig = 1
        meta_note = f"SUIT envelope {env_bytes} B"

    if sc.patch_bytes is None:
        e, on_air = radio_energy(link, img)
        phases.append(Phase("radio: image", "radio", False, e, 0.0, f"{img} B of image, {on_air} B on air"))
    else:
        phases.extend(_delta_phases(dev, link, sc, cpb, sha_name))
    e, on_air = radio_energy(link, meta)
    phases.append(Phase("radio: update metadata", "radio", True, e, 0.0, f"{meta_note}, {on_air} B on air"))

    tuf_sigs = tuf_bytes = 0
    if sc.mode == "tuf":
        files = sc.tuf.walk(sc.alg)
        tuf_bytes = sc.tuf_bytes if sc.tuf_bytes is not None else sum(n for _, n in files)
        tuf_sigs = len(files)
        e, on_air = radio_energy(link, tuf_bytes)
        src = "measured figure supplied" if sc.tuf_bytes is not None else (
            f"{sc.tuf.targets} targets in {sc.tuf.bin_count()} bins: " + ", ".join(f"{f} {n} B" for f, n in files))
        phases.append(Phase("radio: TUF metadata", "radio", True, e, 0.0, f"{tuf_bytes} B ({src}), {on_air} B on air"))
        phases.append(_phase("cpu: TUF metadata hashing", "cpu", True, cpu_energy(dev, tuf_bytes * cpb),
                             f"SHA-256 over {tuf_bytes} B at {cpb:g} c/B ({sha_name}); JSON parsing not modelled"))
        phases.append(_phase("cpu: TUF signatures", "cpu", True, cpu_energy(dev, tuf_sigs * sig.cycles.value),
                             f"{tuf_sigs} x {sig.alg} verify ({sig.library}, {sig.cycles.value:,.0f} cycles)"))

    parse_cycles = parse_instr * cpi
    digest_cycles = digest_instr * cpi
    if sc.mode != "mcuboot":
        phases.append(_phase("cpu: parse and policy", "cpu", True, cpu_energy(dev, parse_cycles),
                             f"{parse_instr:,} emulated instructions x CPI {cpi:.2f} (estimate)"))
        phases.append(_phase("cpu: manifest digest", "cpu", True, cpu_energy(dev, digest_cycles),
                             f"{digest_instr:,} emulated instructions x CPI {cpi:.2f} (estimate)"))
    phases.append(_phase("cpu: signature", "cpu", True, cpu_energy(dev, n_sig * sig_cycles), sig_note))
    hash_cycles = hashed * cpb
    phases.append(_phase("cpu: image hash (read-back verify)", "cpu", True, cpu_energy(dev, hash_cycles),
                         f"SHA-256 over {hashed} B at {cpb:g} c/B ({sha_name})"))

    phases.append(_phase("flash: erase", "flash", False, flash_erase_energy(dev, img + meta),
                         f"{math.ceil((img + meta) / dev.flash_page_bytes.value)} pages of {dev.flash_page_bytes.value:g} B"))
    phases.append(_phase("flash: write image", "flash", False, flash_write_energy(dev, img), f"{img} B"))
    phases.append(_phase("flash: write metadata", "flash", True, flash_write_energy(dev, meta), f"{meta} B"))

    if sc.encrypted is not None:
        phases.extend(_decryption_phases(dev, link, sc))

    boot_cycles = parse_cycles + digest_cycles + sig_cycles + hash_cycles
    e1, s1 = cpu_energy(dev, boot_cycles)
    phases.append(Phase("boot: verify", "boot", True, sc.boots * e1, sc.boots * s1,
                        f"{sc.boots} boot(s) x {boot_cycles:,.0f} cycles ({s1 * 1e3:.1f} ms each)"))

    return UpdateCost(
        device=dev.name, link=link.name, scenario=sc,
        signature_library=sig.library if sc.signature_cycles is None else (sc.signature_label or "measured"),
        signature_cycles=sig_cycles,
        sha_impl=sha_name, sha_cpb=cpb, metadata_bytes=meta + tuf_bytes,
        signatures_at_install=n_sig + tuf_sigs, phases=tuple(phases), parse_policy_instr=parse_instr,
        parse_policy_cycles=parse_cycles, boot_verify_cycles=boot_cycles, boot_verify_s=s1,
    )


#: Cycles per result byte of the FWD1 apply step (src/delta.c): one source byte read through
#: the port, one add, one staged write. An estimate, not a measurement (docs/delta.md): the
#: applier's inner loops are a memcpy and a byte add per byte; 8 c/B leaves room for the
#: flash read path. It is small against the radio either way.
DELTA_APPLY_CPB = 8.0


def _delta_phases(dev: DeviceProfile, link: LinkProfile, sc: Scenario, cpb: float, sha_name: str) -> list[Phase]:
    """A delta release: the patch on air instead of the image, staged in flash, hashed
    (authenticated against delta-info) and applied from the running slot."""
    assert sc.patch_bytes is not None
    p, img = sc.patch_bytes, sc.image_bytes
    e, on_air = radio_energy(link, p)
    return [
        Phase("radio: patch", "radio", False, e, 0.0, f"{p} B of patch for a {img} B image, {on_air} B on air"),
        _phase("flash: stage patch", "flash", False,
               tuple(a + b for a, b in zip(flash_erase_energy(dev, p), flash_write_energy(dev, p), strict=True)),  # type: ignore[arg-type]
               f"{p} B erased and written where the payload source keeps it"),
        _phase("cpu: patch hash (delta-info)", "cpu", True, cpu_energy(dev, p * cpb),
               f"SHA-256 over {p} B at {cpb:g} c/B ({sha_name}), before anything is written"),
        _phase("cpu: apply patch", "cpu", False, cpu_energy(dev, img * DELTA_APPLY_CPB + p * DELTA_APPLY_CPB),
               f"{img} B made at {DELTA_APPLY_CPB:g} c/B (estimate) from the running image"),
    ]


def _decryption_phases(dev: DeviceProfile, link: LinkProfile, sc: Scenario) -> list[Phase]:
    """Encrypted payload: the encryption info and tag on air, key establishment, decryption at install."""
    from . import decrypt

    assert sc.encrypted is not None
    alg, kx = decrypt.check_content(sc.encrypted), decrypt.check_key_exchange(sc.key_exchange)
    extra = decrypt.INFO_BYTES[kx] + decrypt.tag_bytes(alg)
    e, on_air = radio_energy(link, extra)
    cpb = decrypt.content_cpb(alg, dev.core)
    kc = decrypt.key_cycles(kx, dev.core)
    return [
        Phase("radio: encryption info and tag", "radio", True, e, 0.0,
              f"{decrypt.INFO_BYTES[kx]} B encryption info ({kx}) + {decrypt.tag_bytes(alg)} B tag, {on_air} B on air"),
        _phase("cpu: content key (unwrap)", "cpu", True, cpu_energy(dev, kc),
               f"{kx}: {kc:,.0f} cycles (ECDH + HKDF + AES key unwrap; see fwsign energy --list --sources)"
               if kx in ("x25519", "p256") else f"{kx}: {kc:,.0f} cycles (AES key unwrap)"),
        _phase("cpu: payload decryption", "cpu", True, cpu_energy(dev, sc.image_bytes * cpb),
               f"{alg} over {sc.image_bytes} B at {cpb:.1f} c/B on {dev.core} (once, at install; boots do not decrypt)"),
    ]


def verify_seconds(dev: DeviceProfile, measured: Measured, image_bytes: int, alg: str,
                   library: str | None = None, sha: str | None = None) -> float:
    """Estimated time of one bootloader-ref verification (envelope + image) on ``dev``."""
    sig = dev.sig_impl(alg, library)
    _, sha_c = dev.sha_impl(sha)
    count = measured.core(dev.core).envelope(f"fwsign-{alg}")
    cycles = (count.parse_policy_instr + count.digest_instr) * core_cpi(dev, measured) + sig.cycles.value + image_bytes * sha_c.value
    return cycles / dev.clock_hz.value


def check_alg(alg: str) -> str:
    """Normalise an algorithm name (ESP256/ES256/P-256 -> p256, EdDSA -> ed25519)."""
    a = alg.lower().replace("-", "").replace("_", "")
    if a in ("p256", "esp256", "es256", "ecdsap256"):
        return "p256"
    if a in ("ed25519", "eddsa"):
        return "ed25519"
    raise ProfileError(f"unknown algorithm {alg!r}; choose p256 (esp256, es256) or ed25519")
