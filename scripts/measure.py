#!/usr/bin/env python3
"""Time a command (or a sequence of commands run one after another) as whole processes.

    measure.py [--runs N] [--warmup W] [--cwd DIR] -- CMD ARGS... [--- CMD ARGS...]
               [---- CMD ARGS... [--- CMD ARGS...]]...

Each run executes the commands in order with stdout discarded; a run's wall time is the sum
over its commands, its CPU time the sum of their user and system time, its peak RSS the
largest of theirs (from wait4's rusage). Prints one JSON object: runs, wall seconds
(min/median/max), median CPU seconds and peak RSS in bytes. Fails if a command fails.

`----` separates alternatives that are measured side by side: each run (and each warm-up)
executes every alternative once, in turn, so a load that comes and goes on the machine falls on
all of them alike. With alternatives the output is a JSON list, one object per alternative.
Stdlib only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(commands, cwd):
    total = 0.0
    cpu = 0.0
    peak = 0
    for cmd in commands:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        total += time.perf_counter() - start
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss * 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0,):
            err = proc.stderr.read().decode(errors="replace")
            sys.exit(f"measure.py: {' '.join(cmd)} exited {code}\n{err}")
        proc.stderr.close()
    return total, cpu, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cwd", default=None)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    words = args.command[1:] if args.command[:1] == ["--"] else args.command
    alternatives, commands, current = [], [], []
    for w in words + ["----"]:
        if w in ("---", "----"):
            commands.append(current)
            current = []
            if w == "----":
                alternatives.append(commands)
                commands = []
        else:
            current.append(w)
    if not all(all(cmds) for cmds in alternatives):
        sys.exit("measure.py: empty command")
    for _ in range(args.warmup):
        for commands in alternatives:
            run_once(commands, args.cwd)
    walls = [[] for _ in alternatives]
    cpus = [[] for _ in alternatives]
    peaks = [[] for _ in alternatives]
    for _ in range(args.runs):
        for i, commands in enumerate(alternatives):
            wall, cpu, peak = run_once(commands, args.cwd)
            walls[i].append(wall)
            cpus[i].append(cpu)
            peaks[i].append(peak)
    results = [{
        "runs": args.runs,
        "wall_min": min(w),
        "wall_median": statistics.median(w),
        "wall_max": max(w),
        "cpu_median": statistics.median(c),
        "peak_rss": max(p),
    } for w, c, p in zip(walls, cpus, peaks)]
    print(json.dumps(results if len(results) > 1 else results[0]))


if __name__ == "__main__":
    main()
