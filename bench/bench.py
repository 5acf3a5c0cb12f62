"""The benchmark: tend, ansible-playbook and pyinfra doing the same work on
the same lab hosts (bench/README.md). Started by bench/run, which builds
tend and the virtualenv of the peers first.

Every scenario runs each tool in turn, round after round, and the report
gives medians and each peer's ratio to tend. Nothing here asserts a speed:
the numbers are what they are.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LAB = ROOT / "tests" / "lab"
WORK = BENCH / ".work"
VENV = BENCH / ".venv"
TEND = ROOT / "target" / "release" / "tend"
KEY = LAB / "keys" / "id_ed25519"
KNOWN_HOSTS = LAB / "hosts" / "known_hosts"

TOOLS = ["tend", "ansible", "pyinfra"]
SCENARIOS = {
    "cold": "cold apply (fresh hosts)",
    "converged": "converged run",
    "check": "converged run, check mode with diff",
    "change": "one small change (one template on every host)",
}


def address(n):
    return f"10.251.0.{10 + n}"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the lab


def lab_up(hosts, fresh):
    """Starts h1..hN; `fresh` restarts them on new overlays (cold state)."""
    env = dict(os.environ, LAB_IF_UP="restart" if fresh else "keep")
    subprocess.run(
        [str(LAB / "up.sh"), str(hosts), "1"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def lab_down():
    subprocess.run([str(LAB / "down.sh")], check=False, capture_output=True)


# ---------------------------------------------------- files the tools read


def write_inventories(hosts):
    WORK.mkdir(parents=True, exist_ok=True)
    lines = ["[bench]"]
    for n in range(1, hosts + 1):
        lines.append(
            f"h{n} ansible_host={address(n)} ansible_user=root "
            f"ansible_ssh_private_key_file={KEY} "
            f"ansible_python_interpreter=/usr/bin/python3 "
            f"ansible_ssh_common_args='-o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes'"
        )
    (WORK / "inventory.ini").write_text("\n".join(lines) + "\n")
    entries = ",\n".join(
        f'    ("h{n}", {{"ssh_hostname": "{address(n)}", "ssh_user": "root", '
        f'"ssh_key": "{KEY}", "ssh_known_hosts_file": "{KNOWN_HOSTS}", '
        f'"ssh_strict_host_key_checking": "yes"}})'
        for n in range(1, hosts + 1)
    )
    (WORK / "inventory.py").write_text(f"bench = [\n{entries},\n]\n")
    # Ansible tuned as its documentation advises for speed.
    (WORK / "ansible.cfg").write_text(
        f"""[defaults]
forks = {max(hosts, 5)}
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
stdout_callback = default
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = {WORK / "cp"}
"""
    )


def command(tool, scenario, hosts, setting):
    """The command line of `tool` for `scenario`."""
    check = scenario == "check"
    if tool == "tend":
        cmd = [str(TEND), "run", str(BENCH / "site.yml"), "-i", str(WORK / "inventory.ini")]
        cmd += ["-e", f"bench_setting={setting}"]
        return cmd + (["--check", "--diff"] if check else [])
    if tool == "ansible":
        cmd = [str(VENV / "bin" / "ansible-playbook"), str(BENCH / "site.yml")]
        cmd += ["-i", str(WORK / "inventory.ini"), "-e", f"bench_setting={setting}"]
        return cmd + (["--check", "--diff"] if check else [])
    cmd = [str(VENV / "bin" / "pyinfra"), "-y", "--parallel", str(hosts)]
    cmd += ["--data", f"bench_setting={setting}"]
    cmd += ["--dry", "--diff"] if check else []
    return cmd + [str(WORK / "inventory.py"), str(BENCH / "pyinfra" / "deploy.py")]


# ------------------------------------------------------------ measuring


class TreeRss:
    """The resident memory of a process and all its descendants, sampled
    again and again. Each process's parent is read once, when the process
    is first seen: reading every process's stat on every sample cost
    3 ms of CPU with ten lab hosts up, 8% of the machine at one sample
    every 20 ms, which slowed the tool being measured."""

    def __init__(self, pid):
        self.pid = pid
        self.parent = {}

    def kib(self):
        pids = {int(e) for e in os.listdir("/proc") if e.isdigit()}
        for gone in self.parent.keys() - pids:
            del self.parent[gone]
        for new in pids - self.parent.keys():
            try:
                with open(f"/proc/{new}/stat") as f:
                    self.parent[new] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        children = {}
        for child, ppid in self.parent.items():
            children.setdefault(ppid, []).append(child)
        total, todo = 0, [self.pid]
        while todo:
            p = todo.pop()
            todo.extend(children.get(p, []))
            try:
                with open(f"/proc/{p}/status") as f:
                    m = re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M)
                total += int(m.group(1)) if m else 0
            except OSError:
                continue
        return total


def timed(cmd, env, logfile):
    """Runs `cmd`; returns (seconds, exit code, peak RSS of its process
    tree in MiB, output). Memory is sampled every 20 ms: tools that fork
    workers (Ansible) are counted with all of them."""
    peak = [0]
    with open(logfile, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=WORK)
        done = threading.Event()

        def sample():
            tree = TreeRss(proc.pid)
            while not done.is_set():
                peak[0] = max(peak[0], tree.kib())
                done.wait(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        code = proc.wait()
        seconds = time.monotonic() - start
        done.set()
        sampler.join()
    return seconds, code, peak[0] / 1024, Path(logfile).read_text(errors="replace")


def changed_hosts(tool, output):
    """How many hosts reported a change (tend and Ansible: the recap);
    for pyinfra, how many operations ran somewhere (its results table)."""
    if tool == "pyinfra":
        table = output.split("--> Results:", 1)[-1]
        rows = re.findall(r"^\s+(.+?)\s{2,}(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", table, re.M)
        return sum(1 for r in rows if r[0] != "Grand total" and r[2] != "-")
    recap = output.split("PLAY RECAP", 1)[-1]
    return sum(1 for m in re.finditer(r"changed=(\d+)", recap) if int(m.group(1)) > 0)


def failed(tool, output, code):
    if code != 0:
        return True
    if tool == "pyinfra":
        return False
    recap = output.split("PLAY RECAP", 1)[-1]
    return bool(re.search(r"(failed|unreachable)=[1-9]", recap))


def floor(hosts):
    """`ssh host true` to every host at once: the cost of connecting."""
    def one(n):
        subprocess.run(
            ["ssh", "-F", "none", "-i", str(KEY), "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
             "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=no", "-o", "BatchMode=yes",
             f"root@{address(n)}", "true"],
            check=True, capture_output=True,
        )
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=hosts) as pool:
        list(pool.map(one, range(1, hosts + 1)))
    return time.monotonic() - start


# -------------------------------------------------------------- the run


def run(args):
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            sys.exit(f"bench: unknown tool {t!r} (tools: {', '.join(TOOLS)})")
    env = dict(os.environ, ANSIBLE_CONFIG=str(WORK / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               NO_COLOR="1", HOME=str(WORK / "home"))
    (WORK / "home").mkdir(parents=True, exist_ok=True)
    (WORK / "cp").mkdir(parents=True, exist_ok=True)
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    write_inventories(args.hosts)
    results = []  # dicts: round, tool, scenario, seconds, rss_mib, changed_hosts
    floors = []
    for rnd in range(1, args.rounds + 1):
        for tool in tools:
            log(f"round {rnd}/{args.rounds}: {tool}: fresh hosts")
            lab_up(args.hosts, fresh=True)
            shutil.rmtree(WORK / "cp", ignore_errors=True)
            (WORK / "cp").mkdir()
            for scenario in SCENARIOS:
                setting = f"{rnd}{tool}" if scenario == "change" else "base"
                cmd = command(tool, scenario, args.hosts, setting)
                logfile = WORK / "logs" / f"{rnd}-{tool}-{scenario}.log"
                seconds, code, rss, output = timed(cmd, env, logfile)
                if failed(tool, output, code):
                    sys.exit(f"bench: {tool} failed in {scenario} (round {rnd}); see {logfile}")
                changed = changed_hosts(tool, output)
                if scenario in ("converged", "check") and changed:
                    sys.exit(f"bench: {tool}'s {scenario} run changed {changed} host(s): not converged; see {logfile}")
                results.append(dict(round=rnd, tool=tool, scenario=scenario, seconds=seconds,
                                    rss_mib=rss, changed_hosts=changed))
                log(f"  {scenario:9} {seconds:8.2f} s  {rss:7.1f} MiB")
        floors.append(floor(args.hosts))
        log(f"round {rnd}: floor (ssh true to every host) {floors[-1]:.3f} s")
    load = os.getloadavg()[1]
    (WORK / "results.json").write_text(json.dumps({"results": results, "floor": floors}, indent=1))
    report = render(args, tools, results, floors, load)
    if args.write:
        (ROOT / "BENCHMARKS.md").write_text(report)
    if args.scale:
        import scale

        lab_down()
        table = scale.run(argparse.Namespace(counts=args.scale, tools=args.tools,
                                             peer_max=args.peer_max))
        report += scale.section(table, None)
    print(report)
    if args.write:
        (ROOT / "BENCHMARKS.md").write_text(report)
        log(f"wrote {ROOT / 'BENCHMARKS.md'}")


# ------------------------------------------------------------ the report


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem = int(m.group(1)) // 1024 // 1024 if m else 0
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, Linux {platform.release()}"


def versions():
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {
        "tend": out([str(TEND), "--version"]),
        "ansible": out([str(VENV / "bin" / "ansible-playbook"), "--version"]),
        "pyinfra": out([str(VENV / "bin" / "pyinfra"), "--version"]),
    }


def render(args, tools, results, floors, load):
    med = {}
    for tool in tools:
        for sc in SCENARIOS:
            xs = [r for r in results if r["tool"] == tool and r["scenario"] == sc]
            med[tool, sc] = (statistics.median(r["seconds"] for r in xs),
                             statistics.median(r["rss_mib"] for r in xs))
    v = versions()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `sudo bench/run"
        + (f" --hosts {args.hosts}" if args.hosts != 10 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 3 else "")
        + (" --scale ''" if not args.scale else "")
        + "` (bench/README.md says how it works); do not edit by hand.",
        "",
        f"- Machine: {machine()}; load average over the last 5 minutes of the run: {load:.1f}.",
        f"- Hosts: {args.hosts} lab hosts (tests/lab: Debian 12 containers with systemd and sshd, on a bridge of this machine).",
        f"- Work: bench/site.yml, 40 tasks (bench/pyinfra/deploy.py for pyinfra); {args.rounds} rounds, tools in turn; medians.",
        f"- Versions: {v['tend']}; {v['ansible']}; {v['pyinfra']}.",
        "- Ansible: pipelining on, ControlPersist 60s, forks = hosts, no fact gathering (as in the playbook). pyinfra: --parallel = hosts.",
        "",
        "| scenario | " + " | ".join(f"{t} (s)" for t in tools) + " | "
        + " | ".join(f"{t} / tend" for t in tools if t != "tend") + " |",
        "|---" * (1 + len(tools) + len([t for t in tools if t != "tend"])) + "|",
    ]
    for sc, title in SCENARIOS.items():
        row = [title] + [f"{med[t, sc][0]:.2f}" for t in tools]
        if "tend" in tools:
            row += [f"{med[t, sc][0] / med['tend', sc][0]:.1f}x" for t in tools if t != "tend"]
        lines.append("| " + " | ".join(row) + " |")
    fl = statistics.median(floors)
    lines += [
        "",
        f"Connection floor (`ssh host true` to every host at once): {fl:.3f} s."
        + (f" tend's converged run is {med['tend', 'converged'][0] / fl:.1f}x the floor." if "tend" in tools else ""),
        "",
        "Peak memory of the controller (the tool's whole process tree, MiB, median of the rounds):",
        "",
        "| scenario | " + " | ".join(tools) + " |",
        "|---" * (1 + len(tools)) + "|",
    ]
    for sc, title in SCENARIOS.items():
        lines.append("| " + " | ".join([title] + [f"{med[t, sc][1]:.0f}" for t in tools]) + " |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hosts", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--write", action="store_true", help="write BENCHMARKS.md")
    p.add_argument("--scale", default="10,100,500,1000",
                   help="host counts of the scale run ('' to skip it)")
    p.add_argument("--peer-max", type=int, default=10,
                   help="the most hosts the peers run in the scale run")
    p.add_argument("--keep-lab", action="store_true", help="leave the lab hosts running")
    args = p.parse_args()
    try:
        run(args)
    finally:
        if not args.keep_lab:
            lab_down()


if __name__ == "__main__":
    main()
