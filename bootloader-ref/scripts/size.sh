#!/bin/sh
# make size: cross-build the core (no crypto, no port) for Cortex-M0+, M4 and M33
# with arm-none-eabi-gcc -Os -ffunction-sections -fdata-sections, link with
# --gc-sections from a bootloader-like entry point, NDEBUG, and print flash/RAM
# and the worst-case stack from -fstack-usage / -fcallgraph-info.
set -eu
cd "$(dirname "$0")/.."
CC=${ARM_CC:-arm-none-eabi-gcc}

if ! command -v "$CC" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "make size: $CC not found; installing gcc-arm-none-eabi (running as root)"
        apt-get update
        apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi
    else
        echo "make size: $CC not found. Install the Arm GNU toolchain, e.g." >&2
        echo "  sudo apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi" >&2
        echo "or set ARM_CC to its gcc." >&2
        exit 1
    fi
fi
command -v python3 >/dev/null 2>&1 || { echo "make size: python3 is needed for the stack report" >&2; exit 1; }

SIZE=${CC%gcc}size
OUT=build/size
rm -rf "$OUT"
mkdir -p "$OUT"
NEST=$(printf '#include "bootref_config.h"\nBOOTREF_MAX_SEQ_NESTING\n' | "$CC" -E -P -Iinclude - | tail -1 | tr -d 'u ')
SRCS="src/cbor.c src/envelope.c src/interp.c src/errors.c scripts/size_entry.c"

echo "$($CC --version | head -1)"
echo "flags: -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG, --gc-sections; crypto and port excluded"
echo "bss includes one static bootref_ctx_t; stack excludes the port's own functions"
echo
printf '%-8s %-8s %7s %6s %6s %6s %6s\n' core config core total data bss stack
for cpu in cortex-m0plus cortex-m4 cortex-m33; do
    for cfg in default lean report lean+um; do
        d="$OUT/$cpu-$cfg"
        mkdir -p "$d"
        extra=""
        [ "$cfg" = lean ] && extra="-DBOOTREF_DETAIL_STRINGS=0"
        # report = lean with SUIT reports compiled in (BOOTREF_REPORT=1: the interpreter's record hook)
        [ "$cfg" = report ] && extra="-DBOOTREF_DETAIL_STRINGS=0 -DBOOTREF_REPORT=1"
        # lean + update management (BOOTREF_WITH_UM, docs/processing-model.md section 14)
        [ "$cfg" = lean+um ] && extra="-DBOOTREF_DETAIL_STRINGS=0 -DBOOTREF_WITH_UM=1"
        objs=""
        for s in $SRCS; do
            o="$d/$(basename "$s" .c).o"
            "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra \
                -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -Isrc \
                -fstack-usage -fcallgraph-info=su -c "$s" -o "$o"
            objs="$objs $o"
        done
        "$CC" -mcpu=$cpu -mthumb -Os -nostdlib -Wl,--gc-sections -Wl,-e,bootref_size_entry \
            -Wl,-Map,"$d/map.txt" -o "$d/core.elf" $objs -lc_nano -lgcc
        set -- $("$SIZE" -B "$d/core.elf" | tail -1)
        text=$1 data=$2 bss=$3
        # flash of libc/libgcc helpers pulled in (memcpy, memset, memcmp, ...)
        lib=$("${CC%gcc}nm" -S -t d --size-sort "$d/core.elf" | awk '$4 ~ /^(bootref_size_entry|mem|__aeabi|__gnu|__udiv|__div|__ctz|__clz)/ {s += $2} END {print s+0}')
        stack=$(python3 scripts/stack_report.py "$NEST" 32 bootref_verify_envelope,bootref_run "$d"/*.ci)
        printf '%-8s %-8s %7s %6s %6s %6s %6s\n' "${cpu#cortex-}" "$cfg" "$((text - lib))" "$text" "$data" "$bss" "${stack%% *}"
        echo "$stack" > "$d/stack.txt"
        # the boot flow: a separate object on top of the core (src/boot.c)
        mkdir -p "$d/boot"
        "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra \
            -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wconversion \
            -Iinclude -Isrc -fstack-usage -fcallgraph-info=su -c src/boot.c -o "$d/boot/boot.o"
        btext=$("$SIZE" -B "$d/boot/boot.o" | tail -1 | awk '{print $1}')
        bstack=$(python3 scripts/stack_report.py "$NEST" 32 bootref_boot_install,bootref_boot_select,bootref_boot_confirm "$d"/*.ci "$d"/boot/*.ci)
        echo "${cpu#cortex-} $cfg $btext ${bstack%% *}" >> "$OUT/boot.txt"
        echo "$bstack" > "$d/boot/stack.txt"
        # SUIT reports: a separate object the boot flow calls (src/report.c), report config only
        if [ "$cfg" = report ]; then
            mkdir -p "$d/report"
            "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra \
                -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wconversion \
                -Iinclude -Isrc -fstack-usage -fcallgraph-info=su -c src/report.c -o "$d/report/report.o"
            rtext=$("$SIZE" -B "$d/report/report.o" | tail -1 | awk '{print $1}')
            rstack=$(python3 scripts/stack_report.py "$NEST" 32 bootref_report_finish "$d"/report/*.ci)
            echo "${cpu#cortex-} $cfg $rtext ${rstack%% *}" >> "$OUT/report.txt"
            echo "$rstack" > "$d/report/stack.txt"
        fi
        # trust-domains delegation: a separate object reached through the port (src/delegation.c)
        mkdir -p "$d/deleg"
        "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra \
            -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wconversion \
            -Iinclude -Isrc -fstack-usage -fcallgraph-info=su -c src/delegation.c -o "$d/deleg/delegation.o"
        dtext=$("$SIZE" -B "$d/deleg/delegation.o" | tail -1 | awk '{print $1}')
        dstack=$(python3 scripts/stack_report.py "$NEST" 32 bootref_delegation_check "$d"/*.ci "$d"/deleg/*.ci)
        # called from bootref_verify_envelope through deleg_hook: add their frames
        caller=$(awk -F'\t' '$1 ~ /:(bootref_verify_envelope|deleg_hook)$/ {s += $2} END {print s+0}' "$d/envelope.su")
        echo "${cpu#cortex-} $cfg $dtext $((${dstack%% *} + caller))" >> "$OUT/deleg.txt"
        echo "$dstack (+ $caller B bootref_verify_envelope, deleg_hook)" > "$d/deleg/stack.txt"
        # delta updates (BOOTREF_DELTA=1): the FWD1 applier (src/delta.c), and what the option
        # adds to the core (delta-info in interp.c) and to the boot flow (boot.c)
        mkdir -p "$d/delta"
        for src in src/delta.c src/interp.c src/boot.c; do
            "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra -DBOOTREF_DELTA=1 \
                -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wconversion \
                -Iinclude -Isrc -fstack-usage -fcallgraph-info=su -c "$src" -o "$d/delta/$(basename "$src" .c).o"
        done
        xtext=$("$SIZE" -B "$d/delta/delta.o" | tail -1 | awk '{print $1}')
        itext=$(( $("$SIZE" -B "$d/delta/interp.o" | tail -1 | awk '{print $1}') - $("$SIZE" -B "$d/interp.o" | tail -1 | awk '{print $1}') ))
        btext2=$(( $("$SIZE" -B "$d/delta/boot.o" | tail -1 | awk '{print $1}') - btext ))
        printf '#include "bootref_delta.h"\nchar bootref_delta_ram[sizeof(bootref_delta_t)];\n' |
            "$CC" -mcpu=$cpu -mthumb -Iinclude -x c -c - -o "$d/delta/ram.o"
        ram=$("${CC%gcc}nm" -S -t d "$d/delta/ram.o" | awk '$4 == "bootref_delta_ram" {print $2 + 0}')
        xstack=$(awk -F'\t' '{ if ($2 + 0 > m) m = $2 + 0 } END {print m + 0}' "$d/delta/delta.su")
        echo "${cpu#cortex-} $cfg $xtext $itext $btext2 $ram $xstack" >> "$OUT/delta.txt"
        # post-quantum: the core built with BOOTREF_WITH_HSSLMS (src/hsslms.c) and
        # BOOTREF_WITH_MLDSA (ML-DSA blocks handed to the port), against the core above
        p="$d/pq"
        mkdir -p "$p"
        pobjs=""
        for s in $SRCS src/hsslms.c; do
            o="$p/$(basename "$s" .c).o"
            "$CC" -mcpu=$cpu -mthumb -Os -ffunction-sections -fdata-sections -DNDEBUG $extra \
                -DBOOTREF_WITH_HSSLMS=1 -DBOOTREF_WITH_MLDSA=1 \
                -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -Isrc \
                -fstack-usage -fcallgraph-info=su -c "$s" -o "$o"
            pobjs="$pobjs $o"
        done
        "$CC" -mcpu=$cpu -mthumb -Os -nostdlib -Wl,--gc-sections -Wl,-e,bootref_size_entry \
            -o "$p/core.elf" $pobjs -lc_nano -lgcc
        set -- $("$SIZE" -B "$p/core.elf" | tail -1)
        ptext=$1 pbss=$3
        plib=$("${CC%gcc}nm" -S -t d --size-sort "$p/core.elf" | awk '$4 ~ /^(bootref_size_entry|mem|__aeabi|__gnu|__udiv|__div|__ctz|__clz)/ {s += $2} END {print s+0}')
        pstack=$(python3 scripts/stack_report.py "$NEST" 32 bootref_verify_envelope,bootref_run "$p"/*.ci)
        echo "${cpu#cortex-} $cfg $((ptext - plib)) $((ptext - plib - text + lib)) $pbss $((pbss - bss)) ${pstack%% *}" >> "$OUT/pq.txt"
        echo "$pstack" > "$p/stack.txt"
    done
done
echo
echo "boot flow (src/boot.c, A/B slots, trailer, confirm/revert) on top of the core:"
printf '%-8s %-8s %7s %6s\n' core config flash stack
while read -r c cfg t st; do printf '%-8s %-8s %7s %6s\n' "$c" "$cfg" "$t" "$st"; done < "$OUT/boot.txt"
echo "SUIT reports (src/report.c, BOOTREF_REPORT=1), called by the boot flow of the report config:"
printf '%-8s %-8s %7s %6s\n' core config flash stack
while read -r c cfg t st; do printf '%-8s %-8s %7s %6s\n' "$c" "$cfg" "$t" "$st"; done < "$OUT/report.txt"
echo "report stack = the deepest chain from bootref_report_finish (called by the boot flow after the"
echo "core returns, so it does not add to the core's); its RAM is a bootref_report_t inside bootref_boot_t."
echo "delegation (src/delegation.c, trust-domains CWT chains), linked by devices that accept them:"
printf '%-8s %-8s %7s %6s\n' core config flash stack
while read -r c cfg t st; do printf '%-8s %-8s %7s %6s\n' "$c" "$cfg" "$t" "$st"; done < "$OUT/deleg.txt"
echo "delta updates (BOOTREF_DELTA=1; off in the core and lean rows above):"
printf '%-8s %-8s %7s %7s %7s %7s %6s\n' core config applier +interp +boot ram frame
while read -r c cfg t i bt r st; do printf '%-8s %-8s %7s %7s %7s %7s %6s\n' "$c" "$cfg" "$t" "$i" "$bt" "$r" "$st"; done < "$OUT/delta.txt"
echo "applier = src/delta.c (the FWD1 reader); +interp / +boot = what the option adds to interp.c"
echo "(delta-info) and boot.c (patch hash, apply through the slots); ram = sizeof(bootref_delta_t)"
echo "with BOOTREF_DELTA_CHUNK=64, the apply step's only state beyond bootref_boot_t's buffers;"
echo "frame = the largest stack frame in delta.c."
echo
echo "post-quantum (BOOTREF_WITH_HSSLMS=1, BOOTREF_WITH_MLDSA=1): HSS-LMS verified in the core"
echo "with the port's SHA-256, ML-DSA blocks passed to the port (its ML-DSA code not counted):"
printf '%-8s %-8s %7s %6s %6s %6s %6s\n' core config core "+core" bss "+bss" stack
while read -r c cfg t dt b db st; do printf '%-8s %-8s %7s %6s %6s %6s %6s\n' "$c" "$cfg" "$t" "+$dt" "$b" "+$db" "$st"; done < "$OUT/pq.txt"
echo "+bss is the LM-OTS chain-end buffer in the context (265 x 32 B for W1; BOOTREF_HSSLMS_MIN_W=4: 67 x 32 B)."
echo
echo "delegation stack = bootref_verify_envelope's frame + the deepest chain from bootref_delegation_check"
echo "(the manifest walk's recursion counted BOOTREF_MAX_SEQ_NESTING=$NEST extra times); RAM: one"
echo "bootref_deleg_state_t (its size depends on BOOTREF_DELEG_MAX_CWT and the chain limits)."
echo
echo "boot flash = the object's own code and constants; its RAM is one static bootref_boot_t"
echo "(the core context plus a RAM copy of the envelope); stack = deepest chain from"
echo "bootref_boot_install/select/confirm, through the core, port functions excluded."
echo
echo "core = flash of the verifier's own code and constants; total = plus the libc helpers it"
echo "links (memcpy, memset, memcmp), which a bootloader normally has already."
echo "default = diagnostics on (BOOTREF_DETAIL_STRINGS=1), lean = off (device configuration),"
echo "report = lean with SUIT reports (BOOTREF_REPORT=1: the interpreter's record hook in the core),"
echo "lean+um = lean with update management compiled in (BOOTREF_WITH_UM=1)."
echo "stack = deepest call chain from bootref_verify_envelope/bootref_run, with try-each/run-sequence"
echo "recursion counted BOOTREF_MAX_SEQ_NESTING=$NEST extra times and 32 B for each libc leaf call."
echo "Deepest chain (m4, default): $(cat $OUT/cortex-m4-default/stack.txt | cut -d' ' -f2-)"
