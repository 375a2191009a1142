#!/usr/bin/env python3
"""Writes a node tree for the benchmarks: the two-socket RAPL zones,
/proc/stat and boot_id, a cgroup v2 tree (systemd driver, cri-o) with
PODS pod-level cgroups of one container each, kubelet pod log folders,
and PROCS /proc/<pid> folders with the files process-exporter reads.

Usage: gen_tree.py SOURCE_TREE OUT PODS PROCS
"""
import os
import shutil
import sys
import uuid

src, out, pods, procs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shutil.copytree(os.path.join(src, "sys/class/powercap"),
                os.path.join(out, "sys/class/powercap"), symlinks=True)
os.makedirs(os.path.join(out, "proc/sys/kernel/random"), exist_ok=True)
shutil.copy(os.path.join(src, "proc/sys/kernel/random/boot_id"),
            os.path.join(out, "proc/sys/kernel/random/boot_id"))
with open(os.path.join(out, "proc/stat"), "w") as f:
    f.write("cpu  120000 0 60000 845000 15000 0 600 0 0 0\n"
            "cpu0 60000 0 30000 422500 7500 0 300 0 0 0\n"
            "intr 1 0\nctxt 1000\nbtime 1773000000\nprocesses 5000\n"
            "procs_running 2\nprocs_blocked 0\n")
with open(os.path.join(out, "proc/uptime"), "w") as f:
    f.write("36000.00 70000.00\n")
with open(os.path.join(out, "proc/meminfo"), "w") as f:
    f.write("MemTotal: 32000000 kB\n")

cg = os.path.join(out, "sys/fs/cgroup")
os.makedirs(cg, exist_ok=True)
open(os.path.join(cg, "cgroup.controllers"), "w").write("cpu memory\n")
qos = ["kubepods-burstable.slice", "kubepods-besteffort.slice", ""]
logs = os.path.join(out, "var/log/pods")
os.makedirs(logs, exist_ok=True)
for i in range(pods):
    uid = str(uuid.UUID(int=0x1234 + i * 7919))
    q = qos[i % 3]
    base = os.path.join(cg, "kubepods.slice", q)
    prefix = (q[:-6] + "-") if q else "kubepods-"
    pod = os.path.join(base, f"{prefix}pod{uid.replace('-', '_')}.slice")
    cont = os.path.join(pod, f"crio-{i:064x}.scope")
    os.makedirs(cont, exist_ok=True)
    stat = "usage_usec %d\nuser_usec %d\nsystem_usec %d\n"
    open(os.path.join(pod, "cpu.stat"), "w").write(stat % (1000000 + i, 600000, 400000))
    open(os.path.join(cont, "cpu.stat"), "w").write(stat % (999000 + i, 599000, 400000))
    os.makedirs(os.path.join(logs, f"ns{i % 20}_pod-{i}_{uid}"), exist_ok=True)
for d in [os.path.join(cg, "kubepods.slice"), os.path.join(cg, "system.slice")] + \
        [os.path.join(cg, "kubepods.slice", q) for q in qos if q]:
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "cpu.stat"), "w").write("usage_usec 1\nuser_usec 1\nsystem_usec 0\n")

for pid in range(1000, 1000 + procs):
    d = os.path.join(out, "proc", str(pid))
    os.makedirs(os.path.join(d, "fd"), exist_ok=True)
    name = f"worker{pid % 50}"
    open(os.path.join(d, "stat"), "w").write(
        f"{pid} ({name}) S 1 {pid} {pid} 0 -1 4194560 100 0 0 0 "
        f"{pid % 97} {pid % 13} 0 0 20 0 1 0 {pid * 10} 10000000 500 "
        "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
    open(os.path.join(d, "status"), "w").write(
        f"Name:\t{name}\nState:\tS (sleeping)\nPid:\t{pid}\nPPid:\t1\n"
        "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t2000 kB\nVmSwap:\t0 kB\n"
        "Threads:\t1\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t1\n")
    open(os.path.join(d, "cmdline"), "w").write(f"/usr/bin/{name}\0--flag\0")
    open(os.path.join(d, "comm"), "w").write(name + "\n")
    open(os.path.join(d, "io"), "w").write(
        "rchar: 1000\nwchar: 1000\nsyscr: 10\nsyscw: 10\nread_bytes: 4096\n"
        "write_bytes: 4096\ncancelled_write_bytes: 0\n")
    open(os.path.join(d, "limits"), "w").write(
        "Limit                     Soft Limit           Hard Limit           Units\n"
        "Max open files            1024                 4096                 files\n")
    open(os.path.join(d, "cgroup"), "w").write("0::/system.slice/app.service\n")
