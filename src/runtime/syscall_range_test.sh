#!/usr/bin/env bash
# Every `syscall` instruction of libcove-runtime.so must lie inside the range the syscall trap
# allows ([__start_cove_syscall, cove_syscall_code_end), raw_syscall.cc): one outside it would
# be trapped like the program's own, silently sending the runtime's call through the SIGSYS
# handler (InRangeSyscall used in a function not marked COVE_IN_SYSCALL_RANGE, or code linked
# after raw_syscall.cc's block).
# Usage: syscall_range_test.sh LIBCOVE_RUNTIME_SO
set -euo pipefail
so=${1:?usage: syscall_range_test.sh LIBCOVE_RUNTIME_SO}
addr() { nm "$so" | awk -v s="$1" '$3 == s { print $1 }'; }
begin=$(addr __start_cove_syscall)
end=$(addr cove_syscall_code_end)
stop=$(addr __stop_cove_syscall)
[ -n "$begin" ] && [ -n "$end" ] || { echo "FAIL: range symbols missing in $so"; exit 1; }
[ "$end" = "$stop" ] || { echo "FAIL: code after raw_syscall.cc's block (end $end, section end $stop)"; exit 1; }
count=0
bad=0
while read -r at; do
  count=$((count + 1))
  if (( 16#$at < 16#$begin || 16#$at >= 16#$end )); then
    echo "FAIL: syscall at 0x$at outside [0x$begin, 0x$end): $(objdump -d --no-show-raw-insn -C \
      --start-address=0x$at --stop-address=$((16#$at + 2)) "$so" | grep -B3 syscall | head -1)"
    bad=$((bad + 1))
  fi
done < <(objdump -d --no-show-raw-insn "$so" | awk '$2 == "syscall" { sub(":", "", $1); print $1 }')
[ "$count" -gt 0 ] || { echo "FAIL: no syscall instruction found in $so"; exit 1; }
[ "$bad" -eq 0 ] || exit 1
echo "PASS: all $count syscall instructions in [0x$begin, 0x$end)"
