#!/usr/bin/env bash
# End-to-end test of `cove evidence verify` on the genuine vectors in tests/data/attestation:
# exit codes, the JSON keys the issue requires (checked with python3's json), --forbid-debug,
# --require-up-to-date, expiry, tampering and unusable input.
# Usage: evidence_cli_test.sh /path/to/cove /path/to/tests/data/attestation
set -u
COVE="$1"
DATA="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_exit CODE DESCRIPTION -- ARGS...: runs cove, keeps stdout in $TMP/out.
expect_exit() {
  local want="$1" what="$2"
  shift 3
  "$COVE" "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$TMP/out" >&2
    sed 's/^/  stderr: /' "$TMP/err" >&2
  fi
}

# expect_json DESCRIPTION PYTHON-EXPRESSION: evaluates the expression with `j` = parsed stdout.
expect_json() {
  local what="$1" check="$2"
  if ! python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
required = ['verified', 'kind', 'tcb_status', 'advisories', 'debug', 'report_data']
missing = [k for k in required if k not in j]
assert not missing, 'missing keys: %s' % missing
assert ($check), json.dumps(j, indent=1)
" "$TMP/out"; then
    fail "$what: JSON check failed: $check"
  fi
}

SNP_OK="$DATA/snp-virtee-milan/report_milan.hex"
SNP_OK_VCEK="$DATA/snp-virtee-milan/vcek_milan.der"
SNP_DEBUG="$DATA/snp-go-sev-guest-milan-debug/attestation.bin"
SNP_DEBUG_VCEK="$DATA/snp-go-sev-guest-milan-debug/vcek.testcer"
AT=2025-07-01T00:00:00Z

# --- SEV-SNP ---------------------------------------------------------------------------------
expect_exit 0 "snp virtee (hex text) verifies" -- \
  evidence verify "$SNP_OK" --kind snp --vcek "$SNP_OK_VCEK" --at "$AT" --json
expect_json "snp virtee" "j['verified'] is True and j['kind'] == 'snp' and j['debug'] is False \
  and j['policy'] == '30000' and j['tcb_status'] == 'UpToDate' and 'error' not in j \
  and len(j['measurement']) == 96 and len(j['host_data']) == 64 and len(j['report_data']) == 128 \
  and all(j[k] == j[k].lower() for k in ['measurement', 'host_data', 'chip_id', 'report_data'])"

expect_exit 0 "snp virtee passes --require-up-to-date --forbid-debug" -- \
  evidence verify "$SNP_OK" --kind snp --vcek "$SNP_OK_VCEK" --at "$AT" \
  --require-up-to-date --forbid-debug
grep -q '^verified: yes$' "$TMP/out" || fail "snp virtee: human output lacks 'verified: yes'"
grep -q '^policy: 30000$' "$TMP/out" || fail "snp virtee: human output lacks the policy"

expect_exit 0 "snp debug (binary) verifies" -- \
  evidence verify "$SNP_DEBUG" --kind snp --vcek "$SNP_DEBUG_VCEK" --at "$AT" --json
expect_json "snp debug" "j['verified'] is True and j['debug'] is True and j['policy'] == 'b0000'"

expect_exit 1 "snp debug refused by --forbid-debug" -- \
  evidence verify "$SNP_DEBUG" --kind snp --vcek "$SNP_DEBUG_VCEK" --at "$AT" --json --forbid-debug
expect_json "snp debug --forbid-debug" "j['verified'] is False and j['error'].startswith('forbid-debug')"

expect_exit 1 "snp after VCEK expiry" -- \
  evidence verify "$SNP_OK" --kind snp --vcek "$SNP_OK_VCEK" --at 2030-06-01T00:00:00Z --json
expect_json "snp expired" "j['verified'] is False and j['error'].startswith('snp-cert-chain: VCEK: certificate has expired')"

expect_exit 1 "snp with the other chip's VCEK" -- \
  evidence verify "$SNP_OK" --kind snp --vcek "$SNP_DEBUG_VCEK" --at "$AT" --json
expect_json "snp wrong VCEK" "j['error'].startswith('snp-signature')"

cp "$SNP_DEBUG" "$TMP/tampered.bin"
printf '\x42' | dd of="$TMP/tampered.bin" bs=1 seek=144 conv=notrunc status=none  # MEASUREMENT
expect_exit 1 "snp tampered measurement" -- \
  evidence verify "$TMP/tampered.bin" --kind snp --vcek "$SNP_DEBUG_VCEK" --at "$AT" --json
expect_json "snp tampered" "j['verified'] is False and j['error'].startswith('snp-signature')"

expect_exit 1 "snp without --vcek" -- evidence verify "$SNP_OK" --kind snp --at "$AT"
grep -q '^error: snp-vcek-parse' "$TMP/out" || fail "snp without --vcek: no snp-vcek-parse error"

# --- unusable input ----------------------------------------------------------------------------
expect_exit 2 "missing evidence file" -- evidence verify "$TMP/nonexistent" --kind snp
expect_exit 2 "unknown kind" -- evidence verify "$SNP_OK" --kind sev
expect_exit 2 "bad --at" -- evidence verify "$SNP_OK" --kind snp --vcek "$SNP_OK_VCEK" --at 2025-13-01
expect_exit 2 "--collateral with snp" -- \
  evidence verify "$SNP_OK" --kind snp --vcek "$SNP_OK_VCEK" --collateral "$SNP_OK_VCEK"
if "$COVE" evidence verify >/dev/null 2>&1; then fail "no FILE accepted"; fi

# --- SGX / TDX (DCAP) ------------------------------------------------------------------------
SGX="$DATA/sgx-dcap-qvl/sgx_quote"
SGX_COLLATERAL="$DATA/sgx-dcap-qvl/sgx_quote_collateral.json"
expect_exit 0 "sgx quote verifies" -- \
  evidence verify "$SGX" --kind sgx --collateral "$SGX_COLLATERAL" --at "$AT" --json
expect_json "sgx" "j['verified'] is True and j['kind'] == 'sgx' \
  and j['tcb_status'] == 'ConfigurationAndSWHardeningNeeded' \
  and sorted(j['advisories']) == ['INTEL-SA-00289', 'INTEL-SA-00615'] \
  and bytes.fromhex(j['report_data']).startswith(b'Hello, world!') \
  and all(k in j for k in ['mrenclave', 'mrsigner', 'isvprodid', 'isvsvn']) \
  and j['mrenclave'] == j['mrenclave'].lower() and len(j['mrenclave']) == 64"

expect_exit 1 "sgx --require-up-to-date" -- \
  evidence verify "$SGX" --kind sgx --collateral "$SGX_COLLATERAL" --at "$AT" --json \
  --require-up-to-date
expect_json "sgx --require-up-to-date" "j['verified'] is False and j['error'].startswith('require-up-to-date')"

expect_exit 1 "sgx after the collateral expired" -- \
  evidence verify "$SGX" --kind sgx --collateral "$SGX_COLLATERAL" --at 2025-08-01T00:00:00Z --json
expect_json "sgx expired" "j['verified'] is False and len(j['error']) > 0"

TDX="$DATA/tdx-dcap-qvl/tdx_quote"
expect_exit 0 "tdx quote verifies" -- \
  evidence verify "$TDX" --kind tdx --collateral "$DATA/tdx-dcap-qvl/tdx_quote_collateral.json" \
  --at 2025-07-01T00:00:00Z --json
expect_json "tdx" "j['verified'] is True and j['kind'] == 'tdx' and j['tcb_status'] == 'UpToDate' \
  and all(k in j for k in ['mrtd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']) and len(j['mrtd']) == 96"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "evidence_cli: all checks passed"
