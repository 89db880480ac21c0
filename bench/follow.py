#!/usr/bin/env python3
"""Follows an agent's NDJSON output for the benchmark.

  follow.py PATH --want N [--timeout S]       wait until PATH holds N lines; print the seconds
  follow.py PATH --for S                       follow for S seconds (live runs)
  options:
    --state FILE   remember where reading stopped (and resume from there)
    --punch        free the disk blocks already read (fallocate PUNCH_HOLE): the file keeps
                   its length, so the agent's committed offsets stay true, but a 50 M-record
                   catch-up no longer needs 65 GB of disk
    --ids FILE     append every record's Id (raw format) to FILE, for an exactly-once check
    --sample PID,STATE_DIR,CSV,SECS
                   every SECS seconds append "elapsed,rss_kb,hwm_kb,cpu_s,state_bytes,lines"

Reads only what was appended since the last look, so a multi-GB output costs little.
"""
import argparse
import ctypes
import json
import os
import sys
import time

FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
CHUNK = 1 << 22
# A raw line as the simulator renders it: {"CreationTime":"YYYY-MM-DDTHH:MM:SS","Id":"…
ID_AT = len('{"CreationTime":"') + 19 + len('","Id":"')

libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def punch(fd, start, end):
    # Whole 4 KiB blocks only; the kernel zeroes partial ones, which we never need again.
    start = (start + 4095) // 4096 * 4096
    end = end // 4096 * 4096
    if end > start:
        libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, start, end - start)


def ids_of(lines):
    out = []
    for line in lines:
        if line[ID_AT - 8:ID_AT] == b'","Id":"' and line[ID_AT + 36:ID_AT + 37] == b'"':
            out.append(line[ID_AT:ID_AT + 36])
        else:
            i = line.find(b'"Id":"')
            j = line.find(b'"', i + 6)
            out.append(line[i + 6:j] if i >= 0 and j > 0 else b"?" + line[:60])
    return out


def proc_sample(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        rss = int(st["VmRSS"].split()[0])
        hwm = int(st["VmHWM"].split()[0])
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return rss, hwm, cpu
    except (OSError, KeyError, ValueError, IndexError):
        return 0, 0, 0.0


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--want", type=int)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--for", dest="duration", type=float)
    ap.add_argument("--state")
    ap.add_argument("--punch", action="store_true")
    ap.add_argument("--ids")
    ap.add_argument("--sample")
    a = ap.parse_args()

    off, n = 0, 0
    if a.state and os.path.exists(a.state):
        with open(a.state) as f:
            s = json.load(f)
        off, n = s["offset"], s["lines"]
    ids = open(a.ids, "ab") if a.ids else None
    sample = None
    if a.sample:
        pid, sdir, csv, secs = a.sample.split(",")
        sample = (int(pid), sdir, open(csv, "a"), float(secs))
    t0 = time.monotonic()
    next_sample = t0
    fd = None
    while True:
        if fd is None:
            try:
                fd = os.open(a.path, os.O_RDWR if a.punch else os.O_RDONLY)
            except FileNotFoundError:
                pass
        got = 0
        while fd is not None:
            b = os.pread(fd, CHUNK, off)
            # Only whole lines: an append may be half done.
            end = b.rfind(b"\n") + 1
            if end == 0:
                break
            b = b[:end]
            n += b.count(b"\n")
            if ids:
                ids.write(b"\n".join(ids_of(b.split(b"\n")[:-1])) + b"\n")
            if a.punch:
                punch(fd, off - (off % 4096), off + end)
            off += end
            got += end
        now = time.monotonic()
        if sample and now >= next_sample:
            pid, sdir, csv, secs = sample
            rss, hwm, cpu = proc_sample(pid)
            csv.write(f"{now - t0:.0f},{rss},{hwm},{cpu:.2f},{dir_size(sdir)},{n}\n")
            csv.flush()
            next_sample += secs
        if a.want is not None and n >= a.want:
            break
        if a.duration is not None and now - t0 >= a.duration:
            break
        if a.want is not None and now - t0 > a.timeout:
            sys.exit(f"timed out with {n} of {a.want} lines in {a.path}")
        if got == 0:
            time.sleep(0.2)
    if a.state:
        with open(a.state, "w") as f:
            json.dump({"offset": off, "lines": n}, f)
    if ids:
        ids.close()
    print(f"{time.monotonic() - t0:.2f} {n}")


if __name__ == "__main__":
    main()
