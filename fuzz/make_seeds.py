#!/usr/bin/env python3
"""Writes the seed corpora of the shield fuzzers under fuzz/corpus/<fuzzer>/ (small files).

The formats are those of src/shield/fspf.h, file_format.h and journal.h; the seeds are valid
inputs (and a few near misses) so that the fuzzers start past the first length checks.
Run from anywhere: python3 fuzz/make_seeds.py
"""
import hashlib
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def u8(v): return struct.pack("<B", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def string(s): return u32(len(s)) + s


def group_count(size, chunk):
    chunks = (size + chunk - 1) // chunk
    return (chunks + 127) // 128


def payload(regions, files, flags=0):
    out = u32(1) + u32(flags) + u32(len(regions))
    for kind, path, kernel in regions:
        out += u8(kind) + string(path) + string(kernel)
    out += u32(len(files))
    for path, kind, size, gen, chunk in files:
        groups = group_count(size, chunk)
        out += string(path) + u8(kind) + bytes(range(16)) + bytes(range(32, 64))
        out += u64(size) + u64(gen) + u32(chunk) + u32(groups) + b"\xdd" * 32 * groups
    return out


def plain_container(p):
    return b"COVEFSPF" + u32(1) + b"\0\0\0\0" + hashlib.sha256(p).digest() + p


def journal(records, generation=2, host_size=12288):
    body = b"COVEJNL1" + bytes(range(16)) + u64(generation) + u64(host_size) + u32(len(records))
    for offset, data in records:
        body += u64(offset) + u32(len(data)) + data
    return body + hashlib.sha256(body).digest()


def header(chunk=4096, kind=2):
    h = b"COVEPF01" + u32(1) + u32(chunk) + bytes(range(16)) + u8(kind)
    return h + b"\0" * (4096 - len(h))


def write(fuzzer, name, data):
    d = os.path.join(ROOT, fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    empty = payload([], [])
    regions = [(2, b"/data", b""), (1, b"/etc/app", b"/host/etc"), (0, b"/tmp", b"")]
    files = [(b"/data/a", 2, 5000, 1, 4096), (b"/etc/app/conf", 1, 0, 1, 4096),
             (b"/data/big", 2, 600000, 3, 4096), (b"/data/wide", 2, 70000, 1, 65536)]
    full = payload(regions, files, flags=1)
    write("fspf_fuzzer", "payload-empty", empty)
    write("fspf_fuzzer", "payload-regions", payload(regions, []))
    write("fspf_fuzzer", "payload-full", full)
    write("fspf_fuzzer", "container-empty", plain_container(empty))
    write("fspf_fuzzer", "container-full", plain_container(full))
    # A sealed container (it will not authenticate, but reaches the sealed branch).
    write("fspf_fuzzer", "container-sealed", b"COVEFSPF" + u32(1) + b"\1\0\0\0" + b"\x11" * 12 +
          b"\x22" * 40 + b"\x33" * 16)

    # The body of journal_fuzzer's framed input is the journal without magic and checksum.
    j = journal([(4096, b"\xaa" * 32), (8192, b"\xbb" * 4096)])
    write("journal_fuzzer", "journal-two-records", j)
    write("journal_fuzzer", "body-two-records", j[8:-32])
    write("journal_fuzzer", "body-empty", journal([])[8:-32])

    write("file_header_fuzzer", "header-encrypted-4k", header())
    write("file_header_fuzzer", "header-authenticated-64k", header(65536, 1))
    write("file_header_fuzzer", "tag-entries", bytes(range(64)) * 2)

    # protected_file_fuzzer: read step byte, then 6-byte ops (op/target, u32 arg, value).
    def op(kind, target, arg, value):
        return u8(kind | target << 3) + u32(arg) + u8(value)
    write("protected_file_fuzzer", "nothing", b"\0")
    write("protected_file_fuzzer", "flip-chunk", b"\1" + op(0, 1, 4096 * 2 + 5, 1))
    write("protected_file_fuzzer", "flip-fspf", b"\2" + op(0, 0, 40, 0x80))
    write("protected_file_fuzzer", "truncate", b"\3" + op(3, 3, 4096 * 3, 0))
    write("protected_file_fuzzer", "extend", b"\0" + op(4, 2, 0, 7))
    write("protected_file_fuzzer", "swap-between-files",
          b"\0" + op(5, 1, (2 << 16) | 3, 3))
    write("protected_file_fuzzer", "rollback-file", b"\4" + op(6, 3, 0, 0))
    write("protected_file_fuzzer", "rollback-fspf", b"\0" + op(6, 0, 0, 0))
    write("protected_file_fuzzer", "forged-journal", b"\1" + op(7, 1, 0x00102000, 0x05))


if __name__ == "__main__":
    main()
