#!/usr/bin/env bash
# The fwsign demo on built-in defaults, release to device: generate keys, sign a sample
# firmware image into a SUIT envelope, verify it, show tampered and rolled-back copies
# being refused, a two-signature release ceremony and the inspect view; then publish two
# releases to a local TUF repository, serve it on loopback and update a fleet of simulated
# devices running the C reference boot flow (one loses power mid-install, one is offered
# a rolled-back release, one a tampered image); finally the energy one update costs on a
# real microcontroller class. Artifacts: demo-out/. The server is always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
FWSIGN=.venv/bin/fwsign
OUT=demo-out
rm -rf "$OUT"
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }
expect_reject() {  # run a command that must be refused with exit code 1
  set +e; "$@"; local rc=$?; set -e
  if [ "$rc" -ne 1 ]; then echo "demo: expected a rejection (exit 1), got exit $rc" >&2; exit 1; fi
  echo "   -> refused as expected (exit 1)"
}

step "1. Release keys (Ed25519 and P-256); private keys are written 0600"
$FWSIGN keygen --alg ed25519 -o "$OUT/release-ed25519"
$FWSIGN keygen --alg p256 -o "$OUT/release-p256"

step "2. A sample firmware image (256 KiB, deterministic)"
python3 -c "import hashlib,sys; sys.stdout.buffer.write(b''.join(hashlib.sha256(i.to_bytes(4,'big')).digest() for i in range(8192)))" > "$OUT/firmware.bin"
ls -l "$OUT/firmware.bin"

step "3. Sign it into a SUIT envelope (sequence 3, download-and-install + secure boot)"
$FWSIGN sign "$OUT/firmware.bin" -k "$OUT/release-ed25519.pem" --sequence 3 \
  --vendor-domain example.com --class-name infusion-pump-v3 \
  --uri https://fw.example.com/pump/firmware-3.bin --text "Release 3" --version 3.0.0 \
  -o "$OUT/firmware.suit"

step "4. Verify envelope and image as a device or gateway would"
$FWSIGN verify "$OUT/firmware.suit" -k "$OUT/release-ed25519.pub.pem" \
  --vendor-domain example.com --class-name infusion-pump-v3 --min-sequence 2 --image "$OUT/firmware.bin"

step "5. A tampered image is refused"
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[4096]^=1; open(sys.argv[2],'wb').write(d)" \
  "$OUT/firmware.bin" "$OUT/tampered.bin"
expect_reject $FWSIGN verify "$OUT/firmware.suit" -k "$OUT/release-ed25519.pub.pem" --image "$OUT/tampered.bin"

step "6. A tampered envelope is refused"
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[-5]^=1; open(sys.argv[2],'wb').write(d)" \
  "$OUT/firmware.suit" "$OUT/tampered.suit"
expect_reject $FWSIGN verify "$OUT/tampered.suit" -k "$OUT/release-ed25519.pub.pem"

step "7. A device already at sequence 4 refuses this release (anti-rollback)"
expect_reject $FWSIGN verify "$OUT/firmware.suit" -k "$OUT/release-ed25519.pub.pem" --min-sequence 4

step "8. Dual control: an unsigned release needs two signatures (one via tbs + attach)"
$FWSIGN sign "$OUT/firmware.bin" --unsigned --sequence 4 --vendor-domain example.com \
  --class-name infusion-pump-v3 -o "$OUT/release-4.suit"
$FWSIGN sign-envelope "$OUT/release-4.suit" -k "$OUT/release-ed25519.pem"
$FWSIGN tbs "$OUT/release-4.suit" -k "$OUT/release-p256.pub.pem" -o "$OUT/release-4.tbs"
# Stand-in for an offline signer: any tool that makes an ECDSA P-256/SHA-256 signature.
python3 - "$OUT" <<'PY'
import sys
from pathlib import Path
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
out = Path(sys.argv[1])
key = serialization.load_pem_private_key((out / "release-p256.pem").read_bytes(), None)
(out / "release-4.sig").write_bytes(key.sign((out / "release-4.tbs").read_bytes(), ec.ECDSA(hashes.SHA256())))
PY
$FWSIGN attach "$OUT/release-4.suit" --signature "$OUT/release-4.sig" -k "$OUT/release-p256.pub.pem"
$FWSIGN verify "$OUT/release-4.suit" -k "$OUT/release-ed25519.pub.pem" -k "$OUT/release-p256.pub.pem" --threshold 2

step "8b. Delegation: the offline anchor key (the one devices trust) lets a CI key sign for one class; an audit log records it"
$FWSIGN keygen --alg ed25519 -o "$OUT/anchor" >/dev/null
$FWSIGN keygen --alg p256 -o "$OUT/ci" >/dev/null
$FWSIGN delegate issue --anchor "$OUT/anchor.pem" --subject "$OUT/ci.pub.pem" --expires 30d \
  --vendor-domain example.com --class-name infusion-pump-v3 -o "$OUT/ci.cwt"
head -c 65536 "$OUT/firmware.bin" > "$OUT/app-5.bin"
$FWSIGN sign "$OUT/app-5.bin" -k "$OUT/ci.pem" --delegation "$OUT/ci.cwt" --sequence 5 \
  --vendor-domain example.com --class-name infusion-pump-v3 --audit-log "$OUT/release.log" \
  --reason "release 5, built by CI" -o "$OUT/delegated.suit"
$FWSIGN verify "$OUT/delegated.suit" -k "$OUT/anchor.pub.pem" --vendor-domain example.com --class-name infusion-pump-v3
echo "   the C verifier agrees, and a device provisioned with the anchor alone installs it:"
make -s -C bootloader-ref >/dev/null
echo "   bootref verify: $(bootloader-ref/build/bootref verify --trust "$OUT/anchor.pub.pem" "$OUT/delegated.suit" "$OUT/app-5.bin" | tail -1)"
$FWSIGN device create "$OUT/anchor-device" --trust "$OUT/anchor.pub.pem" --vendor-domain example.com \
  --class-name infusion-pump-v3 >/dev/null
$FWSIGN device install "$OUT/anchor-device" "$OUT/delegated.suit" --payload "$OUT/app-5.bin"
$FWSIGN device boot "$OUT/anchor-device"
echo "   the same CI key signing for another class is refused:"
$FWSIGN sign "$OUT/app-5.bin" -k "$OUT/ci.pem" --delegation "$OUT/ci.cwt" --sequence 5 \
  --vendor-domain example.com --class-name ventilator-v1 -o "$OUT/out-of-scope.suit" >/dev/null
expect_reject $FWSIGN verify "$OUT/out-of-scope.suit" -k "$OUT/anchor.pub.pem"
$FWSIGN log verify "$OUT/release.log"

step "8c. Confidential firmware: encrypted for one device's X25519 key; the device decrypts while installing"
$FWSIGN keygen --alg x25519 -o "$OUT/device-kex" >/dev/null
head -c 65536 "$OUT/firmware.bin" > "$OUT/secret-app.bin"
$FWSIGN sign "$OUT/secret-app.bin" -k "$OUT/release-ed25519.pem" --sequence 6 \
  --vendor-domain example.com --class-name infusion-pump-v3 --uri https://fw.example.com/pump/secret-6.enc \
  --encrypt-for "$OUT/device-kex.pub.pem" --encrypted-payload "$OUT/secret-app.enc" -o "$OUT/secret.suit"
$FWSIGN verify "$OUT/secret.suit" -k "$OUT/release-ed25519.pub.pem" --image "$OUT/secret-app.enc" \
  --decrypt-key "$OUT/device-kex.pem" | tail -2
echo "   another device's key cannot decrypt it:"
$FWSIGN keygen --alg x25519 -o "$OUT/other-kex" >/dev/null
expect_reject $FWSIGN verify "$OUT/secret.suit" -k "$OUT/release-ed25519.pub.pem" --image "$OUT/secret-app.enc" \
  --decrypt-key "$OUT/other-kex.pem"
$FWSIGN device create "$OUT/secret-device" --trust "$OUT/release-ed25519.pub.pem" --vendor-domain example.com \
  --class-name infusion-pump-v3 --decrypt-key "$OUT/device-kex.pem" >/dev/null
$FWSIGN device install "$OUT/secret-device" "$OUT/secret.suit" --payload "$OUT/secret-app.enc"
$FWSIGN device boot "$OUT/secret-device"

step "8d. SUIT reports: the device signs a report of every install and boot with its own key"
$FWSIGN device create "$OUT/report-device" --trust "$OUT/release-ed25519.pub.pem" --vendor-domain example.com \
  --class-name infusion-pump-v3 --register-report-key "$OUT/device-keys"
$FWSIGN sign "$OUT/app-5.bin" -k "$OUT/release-ed25519.pem" --sequence 7 --vendor-domain example.com \
  --class-name infusion-pump-v3 -o "$OUT/release-7.suit" >/dev/null
CHALLENGE=$(python3 -c "import secrets; print(secrets.token_hex(16))")
echo "   the collector's challenge for this install: $CHALLENGE"
$FWSIGN device install "$OUT/report-device" "$OUT/release-7.suit" --payload "$OUT/app-5.bin" --nonce "$CHALLENGE"
$FWSIGN device boot "$OUT/report-device"
$FWSIGN report verify "$OUT/report-device/reports/000001-install.cose" --key-registry "$OUT/device-keys" \
  --nonce "$CHALLENGE" --seen "$OUT/collector-seen" --envelope "$OUT/release-7.suit"
$FWSIGN report verify "$OUT/report-device/reports/000002-boot.cose" --key-registry "$OUT/device-keys" \
  --seen "$OUT/collector-seen"
echo "   release 8 with a tampered image is refused, and the refusal is reported:"
$FWSIGN sign "$OUT/app-5.bin" -k "$OUT/release-ed25519.pem" --sequence 8 --vendor-domain example.com \
  --class-name infusion-pump-v3 -o "$OUT/release-8.suit" >/dev/null
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[100]^=1; open(sys.argv[2],'wb').write(d)" \
  "$OUT/app-5.bin" "$OUT/app-8-tampered.bin"
expect_reject $FWSIGN device install "$OUT/report-device" "$OUT/release-8.suit" --payload "$OUT/app-8-tampered.bin"
$FWSIGN report verify "$OUT/report-device/reports/000003-install.cose" --key-registry "$OUT/device-keys" | grep result
echo "   a tampered report is refused:"
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[-70]^=1; open(sys.argv[2],'wb').write(d)" \
  "$OUT/report-device/reports/000001-install.cose" "$OUT/tampered-report.cose"
expect_reject $FWSIGN report verify "$OUT/tampered-report.cose" --key-registry "$OUT/device-keys"
echo "   a replayed report is refused:"
expect_reject $FWSIGN report verify "$OUT/report-device/reports/000001-install.cose" --key-registry "$OUT/device-keys" \
  --seen "$OUT/collector-seen"

step "9. The six SUIT specification examples verify with the spec's test key"
for n in 0 1 2 3 4 5; do
  $FWSIGN verify "tests/vectors/suit-spec/example$n.signed.hex" \
    -k tests/vectors/suit-spec/spec-test-key.public.pem --vendor-domain arm.com --json \
    | python3 -c "import json,sys; r=json.load(sys.stdin); print(f'   example $n: valid={r[\"valid\"]} sequence={r[\"sequence_number\"]}')"
done

step "10. What was signed (fwsign inspect)"
$FWSIGN inspect "$OUT/firmware.suit"

# 11-19: TUF repository, loopback server, simulated fleet (scripts/demo_fleet.py).
.venv/bin/python scripts/demo_fleet.py "$OUT" "$OUT/release-ed25519"

step "19b. The repository's audit log: every action, hash-chained, head signed and anchored in the published snapshot"
$FWSIGN audit verify "$OUT/repo/audit.log"
$FWSIGN audit show "$OUT/repo/audit.log" | tail -4

step "20. What one update costs a battery-powered device (nRF52840 over BLE, 256 KiB image)"
$FWSIGN energy --device nrf52840 --link ble-1m --image-size 256KiB --alg ed25519 --mode all

step "21. Every install and boot in this demo left a SUIT report signed by its device; all verify"
n=0
for dir in $(find "$OUT" -name device.json -printf '%h\n' | sort); do
  for r in "$dir"/reports/*.cose; do
    [ -e "$r" ] || continue
    $FWSIGN report verify "$r" --device-key "$dir/report/device-key.pub.pem" --json \
      | python3 -c "import json,sys; r=json.load(sys.stdin); res=r['result']; print('   ' + sys.argv[1] + ': ' + ('ok' if res is True else res['reason']))" "${r#$OUT/}"
    n=$((n + 1))
  done
done
echo "   $n reports verified"

step "Done. Artifacts are in $OUT/ (keys, envelopes, the TUF repository in $OUT/repo, devices in $OUT/fleet)."
