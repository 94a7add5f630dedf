#!/usr/bin/env bash
# End-to-end test of `cove check`: human output, --json (parsed by python3, keys checked), --hw on
# this machine (no SGX driver: refused, naming the driver), and a fake --root with an SGX node and
# low memory. Usage: check_cli_test.sh PATH_TO_COVE
set -euo pipefail

cove="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Human output: one line per fact and a final verdict; this machine has every required feature.
"$cove" check >"$work/human.out" 2>"$work/human.err" || fail "cove check exited $? on a capable machine: $(cat "$work/human.err")"
for fact in "AES-NI" "PCLMULQDQ" "SSE4.2" "AVX2" "SHA-NI" "SGX driver" "hyperthreading" "vulnerability        l1tf:" "memory"; do
  grep -q "^$fact" "$work/human.out" || fail "human output lacks a '$fact' line"
done
[[ "$(tail -n 1 "$work/human.out")" == "verdict: simulation mode can run on this machine" ]] ||
  fail "last line is not the verdict: $(tail -n 1 "$work/human.out")"

# JSON: one object with the documented keys.
"$cove" check --json >"$work/check.json" || fail "cove check --json exited non-zero"
python3 - "$work/check.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for key in ["features", "tee_devices", "smt", "vulnerabilities", "memory", "simulation_mode_ok",
            "hardware_mode_ok", "reasons", "warnings"]:
    assert key in report, f"missing key {key}"
for feature in ["aes_ni", "sse4_2", "avx", "avx2", "os_avx_state", "pclmulqdq", "sha_ni", "vaes"]:
    assert report["features"][feature] is True, f"feature {feature} not true"
assert report["simulation_mode_ok"] is True
assert report["hardware_mode_ok"] is False
assert any("no SGX driver" in r for r in report["reasons"]), report["reasons"]
assert "l1tf" in report["vulnerabilities"] and "mds" in report["vulnerabilities"]
assert report["memory"]["available_bytes"] > report["memory"]["required_bytes"]
PY

# --hw: no SGX driver here, so refused with the reason on stderr.
if "$cove" check --hw >"$work/hw.out" 2>"$work/hw.err"; then fail "cove check --hw succeeded without an SGX driver"; fi
grep -q "no SGX driver: none of /dev/sgx_enclave, /dev/sgx/enclave, /dev/isgx exists" "$work/hw.err" ||
  fail "--hw did not name the SGX driver: $(cat "$work/hw.err")"

# A fake root with an SGX device node: hardware mode is accepted.
mkdir -p "$work/root/dev" "$work/root/proc"
touch "$work/root/dev/sgx_enclave"
echo "MemAvailable:    8000000 kB" >"$work/root/proc/meminfo"
"$cove" check --hw --root "$work/root" >"$work/fake.out" || fail "--hw refused with /dev/sgx_enclave present"
grep -q "^SGX driver *present (/dev/sgx_enclave)" "$work/fake.out" || fail "SGX node not reported"

# Low memory: refused with the numbers, also in JSON.
echo "MemAvailable:      40960 kB" >"$work/root/proc/meminfo"
if "$cove" check --root "$work/root" >/dev/null 2>"$work/low.err"; then fail "low memory accepted"; fi
grep -q "only 40 MiB of memory available" "$work/low.err" || fail "low memory reason: $(cat "$work/low.err")"
if "$cove" check --json --root "$work/root" >"$work/low.json" 2>/dev/null; then fail "low memory accepted (json)"; fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["simulation_mode_ok"] is False and any("40 MiB" in x for x in r["simulation_mode_reasons"])' "$work/low.json"

echo "check_cli: all passed"
