#!/usr/bin/env bash
# Make sure the system tools the tests and bootloader-ref's make targets need are present:
#   required  gcc, make, OpenSSL headers (bootloader-ref's host port, the simulated device),
#             gcc's ASan/UBSan runtimes (make -C bootloader-ref test-asan)
#   optional  arm-none-eabi-gcc + newlib (make -C bootloader-ref size),
#             clang with libFuzzer (make -C bootloader-ref fuzz),
#             SoftHSM2 (a software PKCS#11 token: the HSM signer tests skip without it),
#             Python headers (the compiled verification path, scripts/compile.py),
#             PostgreSQL's server (the fleet collector's PostgreSQL tests start one),
#             Chromium (the fleet status page tests and make demo's screenshot, headless)
# Installs what is missing with apt-get when running as root; otherwise says exactly what
# is missing and how to install it. Exit 0 when everything required is there (missing
# optional tools are reported), 2 when something required is missing.
#
#   scripts/ensure-sysdeps.sh            required + optional
#   scripts/ensure-sysdeps.sh --required only what the test suite cannot run without
set -euo pipefail

want_optional=1
[ "${1:-}" = "--required" ] && want_optional=0

missing=()   # required packages
optional=()  # optional packages

have() { command -v "$1" >/dev/null 2>&1; }

# gcc can link a sanitizer build (libasan + libubsan present)
sanitizers_ok() {
  have gcc || return 1
  local tmp
  tmp=$(mktemp -d)
  printf 'int main(void){return 0;}\n' > "$tmp/t.c"
  if gcc -fsanitize=address,undefined -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1; then rm -rf "$tmp"; return 0; fi
  rm -rf "$tmp"; return 1
}

# clang can link a libFuzzer target
libfuzzer_ok() {
  have clang || return 1
  local tmp
  tmp=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$tmp/f.c"
  if clang -fsanitize=fuzzer -o "$tmp/f" "$tmp/f.c" >/dev/null 2>&1; then rm -rf "$tmp"; return 0; fi
  rm -rf "$tmp"; return 1
}

# arm-none-eabi-gcc can link against newlib-nano (make size links -lc_nano)
arm_ok() {
  have arm-none-eabi-gcc || return 1
  local tmp
  tmp=$(mktemp -d)
  printf 'int f(void);\nint f(void){return 0;}\n' > "$tmp/a.c"
  if arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -nostdlib -Wl,-e,f -o "$tmp/a.elf" "$tmp/a.c" -lc_nano -lgcc >/dev/null 2>&1; then
    rm -rf "$tmp"; return 0
  fi
  rm -rf "$tmp"; return 1
}

have gcc || missing+=(gcc)
have make || missing+=(make)
[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
if have gcc && ! sanitizers_ok; then
  gccv=$(gcc -dumpversion | cut -d. -f1)
  missing+=("libgcc-${gccv}-dev")
fi
# Python headers for the interpreter make uses (the compiled build, scripts/compile.py;
# without them fwsign runs as pure Python)
python_headers_ok() {
  "${PYTHON:-python3}" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null
}

if [ "$want_optional" = 1 ]; then
  python_headers_ok || optional+=(python3-dev)
  arm_ok || optional+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
  have softhsm2-util || optional+=(softhsm2)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || have initdb || optional+=(postgresql)
  have chromium || have chromium-browser || optional+=(chromium)
  if ! libfuzzer_ok; then
    optional+=(clang)
    # Debian/Ubuntu ship libFuzzer in the versioned compiler-rt package
    if have clang; then
      cv=$(clang -dumpversion | cut -d. -f1)
      optional+=("libclang-rt-${cv}-dev")
    fi
  fi
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  exit 0
fi

pkgs=("${missing[@]}" "${optional[@]}")
if [ "$(id -u)" -eq 0 ] && have apt-get; then
  echo "installing ${pkgs[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "could not install required packages: ${missing[*]}" >&2
    exit 2
  fi
  if [ ${#optional[@]} -gt 0 ] && ! apt-get install -y -qq "${optional[@]}" >/dev/null; then
    echo "note: optional packages not installed: ${optional[*]}" >&2
    echo "  (make -C bootloader-ref size / fuzz will say what they need; without softhsm2 the HSM tests skip," >&2
    echo "   without postgresql or chromium the fleet collector's PostgreSQL and page tests skip)" >&2
  fi
  # clang may have been installed just now without its libFuzzer runtime
  if [ "$want_optional" = 1 ] && have clang && ! libfuzzer_ok; then
    cv=$(clang -dumpversion | cut -d. -f1)
    apt-get install -y -qq "libclang-rt-${cv}-dev" >/dev/null 2>&1 || \
      echo "note: libFuzzer for clang ${cv} could not be installed; make -C bootloader-ref fuzz will not run" >&2
  fi
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "fwsign needs these system packages: ${missing[*]}" >&2
  echo "install them (e.g. sudo apt-get install ${missing[*]}) and run make again" >&2
fi
if [ ${#optional[@]} -gt 0 ]; then
  echo "optional, for make -C bootloader-ref size / fuzz, the PKCS#11 (SoftHSM2) tests and the fleet collector's" >&2
  echo "  PostgreSQL and status page tests: ${optional[*]}" >&2
  echo "  (e.g. sudo apt-get install ${optional[*]})" >&2
fi
[ ${#missing[@]} -eq 0 ] || exit 2
exit 0
