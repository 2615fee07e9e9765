"""Cross-build bootloader-ref (core + soft port + driver.c) for a Cortex-M core and
count the instructions it executes under the unicorn emulator, per phase.

Counting: a basic-block hook adds the number of Thumb instructions in each translated
block as it starts (16- and 32-bit encodings told apart by the first halfword, ARM
ARM A6.1), so the count is exact for code that runs to the end of its blocks. The
driver writes phase markers to an address the emulator watches (0x40000000); a write
hook records the running count at each marker. A marker costs at most a few
instructions of attribution error (the rest of its block), and each wrapped port
call adds ~10 instructions of wrapper code; both are small next to what is measured.

Nothing here is cycle-accurate: instruction counts are exact for this build, cycles
are an estimate (see run.py and docs/energy.md).

Profiling: ``emulate(..., profile=...)`` also attributes every counted instruction
outside the port calls to the function it belongs to (from the ELF's symbol sizes),
per phase, so that the per-function counts of a phase add up to its parse or
interpreter count exactly (benchmarks/emu/profile.py prints them).
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BOOTREF = ROOT / "bootloader-ref"
BUILD = HERE / "build"

#: Sources built, relative to bootloader-ref/ (the core and its soft port), plus our driver.
CORE_SRC = ("src/cbor.c", "src/envelope.c", "src/interp.c", "src/errors.c", "ports/soft/sha256.c", "ports/soft/bootref_soft.c")
CFLAGS = ("-mthumb", "-ffunction-sections", "-fdata-sections", "-DNDEBUG", "-std=c99",
          "-DBOOTREF_DETAIL_STRINGS=0", "-DBOOTREF_SOFT_EXTERNAL_SIG")
#: The post-quantum build (benchmarks/bench_pq.py): HSS-LMS in the core, ML-DSA in the port.
PQ_SRC = ("src/hsslms.c", "ports/soft/mldsa.c")
PQ_CFLAGS = ("-DBOOTREF_WITH_HSSLMS=1", "-DBOOTREF_WITH_MLDSA=1", "-DBOOTREF_MLDSA_STATIC", "-DEMU_PQ",
             "-DBOOTREF_MAX_ENVELOPE_SIZE=8192u")
CORES = {"cortex-m0plus": "UC_CPU_ARM_CORTEX_M0", "cortex-m4": "UC_CPU_ARM_CORTEX_M4", "cortex-m33": "UC_CPU_ARM_CORTEX_M33"}

CODE_BASE, RAM_BASE, RAM_SIZE = 0x0000_0000, 0x2000_0000, 0x4_0000
INPUT_BASE, INPUT_SIZE = 0x6000_0000, 0x20_0000 + 0x1_0000
MARK_ADDR, STOP_ADDR = 0x4000_0000, 0x0FFF_0000

M_VERIFY_BEGIN, M_VERIFY_END, M_RUN_END = 1, 2, 3
M_SHA_IN, M_SHA_OUT, M_READ_IN, M_READ_OUT, M_SIG_IN, M_SIG_OUT = 0x10, 0x11, 0x20, 0x21, 0x30, 0x31

ALLOW_SKIP = 1
SEQ_ALL = 0x1F
SEQ_VALIDATE = 1 << 2


def arm_gcc() -> str | None:
    return shutil.which("arm-none-eabi-gcc")


@dataclass(frozen=True)
class Build:
    core: str
    opt: str
    image: bytes
    symbols: dict[str, int]
    text_bytes: int
    toolchain: str
    #: code symbols as (start address without the Thumb bit, size, name), sorted
    functions: tuple[tuple[int, int, str], ...] = field(default=(), repr=False)

    def function_at(self, address: int) -> str:
        """Name of the function that holds ``address`` ("?" outside every sized symbol)."""
        i = bisect.bisect_right(self.functions, (address, 1 << 62, "")) - 1
        if i >= 0 and address < self.functions[i][0] + self.functions[i][1]:
            return self.functions[i][2]
        return "?"


def build(core: str, out: Path = BUILD, opt: str = "-Os", *, pq: bool = False) -> Build:
    """Compile and link for ``core`` (e.g. cortex-m4) with ``opt`` into ``out/<core><opt>/``
    (``pq``: the post-quantum build, into ``out/<core><opt>-pq/``)."""
    cc = arm_gcc()
    if cc is None:
        raise RuntimeError("arm-none-eabi-gcc not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    d = out / f"{core}{opt}{'-pq' if pq else ''}"
    d.mkdir(parents=True, exist_ok=True)
    inc = [f"-I{BOOTREF / p}" for p in ("include", "src", "ports/soft")]
    srcs = [BOOTREF / s for s in CORE_SRC + (PQ_SRC if pq else ())] + [HERE / "driver.c"]
    elf = d / "emu.elf"
    flags = (*CFLAGS, *(PQ_CFLAGS if pq else ()))
    cmd = [cc, f"-mcpu={core}", opt, *flags, *inc, "-nostdlib", "-T", str(HERE / "emu.ld"), "-Wl,--gc-sections",
           "-Wl,-e,emu_main", "-o", str(elf), *map(str, srcs), "-lc_nano", "-lgcc"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    prefix = cc[: -len("gcc")]
    binf = d / "emu.bin"
    subprocess.run([prefix + "objcopy", "-O", "binary", "--remove-section=.bss", str(elf), str(binf)], check=True)
    nm = subprocess.run([prefix + "nm", "-S", str(elf)], check=True, capture_output=True, text=True).stdout
    symbols = {}
    functions = []
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            symbols[parts[-1]] = int(parts[0], 16)
        if len(parts) == 4 and parts[2] in "tT":
            functions.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    size = subprocess.run([prefix + "size", "-B", str(elf)], check=True, capture_output=True, text=True).stdout
    text = int(size.splitlines()[-1].split()[0])
    version = subprocess.run([cc, "--version"], check=True, capture_output=True, text=True).stdout.splitlines()[0]
    return Build(core, opt, binf.read_bytes(), symbols, text, version, tuple(sorted(functions)))


@dataclass(frozen=True)
class Run:
    verify_result: int
    run_result: int
    #: bootref_verify_envelope: total, SHA-256 calls, signature calls
    verify_total: int
    verify_sha: int
    verify_sig: int
    #: bootref_run: total, SHA-256 calls, image reads
    run_total: int
    run_sha: int
    run_read: int

    @property
    def parse_instr(self) -> int:
        return self.verify_total - self.verify_sha - self.verify_sig

    @property
    def interp_instr(self) -> int:
        return self.run_total - self.run_sha - self.run_read

    @property
    def image_instr(self) -> int:
        return self.run_sha + self.run_read


def _thumb_count(code: bytes) -> int:
    n = i = 0
    while i + 1 < len(code):
        hw = code[i] | (code[i + 1] << 8)
        i += 4 if (hw >> 11) in (0x1D, 0x1E, 0x1F) else 2
        n += 1
    return n


def emulate(b: Build, envelope: bytes, image: bytes = b"", *, vendor: bytes, klass: bytes,
            flags: int = 0, sequences: int = SEQ_ALL, profile: dict[str, dict[str, int]] | None = None,
            pq_key: tuple[int, bytes] | None = None) -> Run:
    """Run emu_main() once and return the instruction counts per phase.

    With ``profile`` (a dict, filled in): instructions outside the port calls per
    function, under "verify" (bootref_verify_envelope) and "run" (bootref_run).
    ``pq_key`` (post-quantum build): the trust anchor's key type and raw public key.
    """
    import unicorn
    from unicorn import arm_const

    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(getattr(arm_const, CORES[b.core]))
    code_size = max(0x10_0000, (len(b.image) + 0xFFFF) & ~0xFFFF)
    uc.mem_map(CODE_BASE, code_size)
    uc.mem_write(CODE_BASE, b.image)
    uc.mem_map(RAM_BASE, RAM_SIZE)
    uc.mem_map(INPUT_BASE, INPUT_SIZE)
    uc.mem_map(MARK_ADDR, 0x1000)
    uc.mem_map(STOP_ADDR, 0x1000)
    key_bytes = pq_key[1] if pq_key is not None else b""
    if len(envelope) + len(image) + len(key_bytes) + 32 > INPUT_SIZE:
        raise ValueError("inputs larger than the emulated input region")
    env_addr = INPUT_BASE
    img_addr = INPUT_BASE + ((len(envelope) + 15) & ~15)
    key_addr = img_addr + ((len(image) + 15) & ~15)
    uc.mem_write(env_addr, envelope)
    if image:
        uc.mem_write(img_addr, image)
    s = b.symbols
    if pq_key is not None:
        uc.mem_write(key_addr, key_bytes)
        for name, v in (("emu_pq_key", key_addr), ("emu_pq_key_len", len(key_bytes)), ("emu_pq_type", pq_key[0])):
            uc.mem_write(s[name], v.to_bytes(4, "little"))

    def put32(name: str, v: int) -> None:
        uc.mem_write(s[name], v.to_bytes(4, "little"))

    put32("emu_env", env_addr)
    put32("emu_env_len", len(envelope))
    put32("emu_img", img_addr if image else 0)
    put32("emu_img_len", len(image))
    put32("emu_flags", flags)
    put32("emu_sequences", sequences)
    uc.mem_write(s["emu_vendor"], vendor)
    uc.mem_write(s["emu_class"], klass)

    counter = [0]
    cache: dict[int, int] = {}
    marks: list[tuple[int, int]] = []
    # profiling state: the phase's table (None outside both phases) and whether a port call is open
    state: list[dict[str, int] | None] = [None]
    in_port = [False]
    tables = {M_VERIFY_BEGIN: "verify", M_VERIFY_END: "run"}
    names: dict[int, str] = {}

    def on_block(uc_: unicorn.Uc, address: int, size: int, _u: object) -> None:
        key = (address << 12) | size
        n = cache.get(key)
        if n is None:
            n = _thumb_count(bytes(uc_.mem_read(address, size)))
            cache[key] = n
        counter[0] += n
        table = state[0]
        if table is not None and not in_port[0]:
            name = names.get(address)
            if name is None:
                name = names[address] = b.function_at(address)
            table[name] = table.get(name, 0) + n

    def on_mark(uc_: unicorn.Uc, _access: int, _address: int, _size: int, value: int, _u: object) -> None:
        marks.append((value, counter[0]))
        if profile is not None:
            if value in (M_VERIFY_BEGIN, M_VERIFY_END, M_RUN_END):
                state[0] = profile.setdefault(tables[value], {}) if value in tables else None
            else:
                in_port[0] = value in (M_SHA_IN, M_READ_IN, M_SIG_IN)

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, on_mark, begin=MARK_ADDR, end=MARK_ADDR + 3)
    uc.reg_write(arm_const.UC_ARM_REG_SP, RAM_BASE + RAM_SIZE)
    uc.reg_write(arm_const.UC_ARM_REG_LR, STOP_ADDR | 1)
    uc.emu_start(s["emu_main"] | 1, STOP_ADDR, count=2_000_000_000)

    def result(name: str) -> int:
        return int.from_bytes(uc.mem_read(s[name], 4), "little", signed=True)

    return _phases(marks, result("emu_verify_result"), result("emu_run_result"))


def _phases(marks: list[tuple[int, int]], vres: int, rres: int) -> Run:
    at: dict[int, int] = {}
    spans = {"verify": {M_SHA_IN: 0, M_READ_IN: 0, M_SIG_IN: 0}, "run": {M_SHA_IN: 0, M_READ_IN: 0, M_SIG_IN: 0}}
    phase = ""
    open_at: dict[int, int] = {}
    for value, count in marks:
        if value in (M_VERIFY_BEGIN, M_VERIFY_END, M_RUN_END):
            at[value] = count
            phase = {M_VERIFY_BEGIN: "verify", M_VERIFY_END: "run", M_RUN_END: ""}[value]
        elif value in (M_SHA_IN, M_READ_IN, M_SIG_IN):
            open_at[value] = count
        elif value in (M_SHA_OUT, M_READ_OUT, M_SIG_OUT):
            start = value - 1
            if phase:
                spans[phase][start] += count - open_at.pop(start)
    if set(at) != {M_VERIFY_BEGIN, M_VERIFY_END, M_RUN_END}:
        raise RuntimeError(f"emulation did not reach all phase markers: {sorted(at)}")
    v, r = spans["verify"], spans["run"]
    return Run(
        verify_result=vres, run_result=rres,
        verify_total=at[M_VERIFY_END] - at[M_VERIFY_BEGIN], verify_sha=v[M_SHA_IN], verify_sig=v[M_SIG_IN],
        run_total=at[M_RUN_END] - at[M_VERIFY_END], run_sha=r[M_SHA_IN], run_read=r[M_READ_IN],
    )
