"""The scale benchmark (bench/README.md, "Scale"): many hosts, cheaply.

One lab host (h30) answers SSH on many addresses of its own (10.253.x.y,
routed through it), and each inventory host works in its own directory
(bench/scale.yml). tend converges 100, 500, 1,000 of them (a cold run, then
a converged run); the peers run the same playbook up to `--peer-max` hosts
(they take minutes where tend takes seconds). Reports time and peak
controller memory per host count and writes bench/scale.png.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

HOST = 30
HOST_IP = bench.address(HOST)
NET = "10.253.0.0/16"


def scale_address(i):
    """The address of scale host `i` (0-based), on h30."""
    return f"10.253.{i // 250}.{i % 250 + 1}"


def prepare_host(count):
    """Starts h30 fresh, gives it `count` addresses and room for that many
    SSH connections at once, and routes them through it."""
    env = dict(os.environ, LAB_IF_UP="restart")
    subprocess.run([str(bench.LAB / "up.sh"), "1", str(HOST)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    batch = "".join(f"addr add {scale_address(i)}/32 dev host0\n" for i in range(count))
    script = (
        "ip -batch - <<'EOF'\n" + batch + "EOF\n"
        f"printf 'MaxStartups {count * 2}:30:{count * 4}\\nMaxSessions 100\\n' > /etc/ssh/sshd_config.d/scale.conf\n"
        "systemctl reload ssh\n"
    )
    ssh(script)
    subprocess.run(["ip", "route", "replace", NET, "via", HOST_IP], check=True)


def ssh(script):
    subprocess.run(
        ["ssh", "-F", "none", "-i", str(bench.KEY), "-o", f"UserKnownHostsFile={bench.KNOWN_HOSTS}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{HOST_IP}", script],
        check=True, capture_output=True,
    )


def write_files(count):
    """Inventories and a known_hosts for `count` scale hosts."""
    key = (bench.LAB / "keys" / "hostkeys" / f"h{HOST}_ed25519.pub").read_text().split()[:2]
    kh = bench.WORK / f"scale-known_hosts-{count}"
    kh.write_text("".join(f"{scale_address(i)} {key[0]} {key[1]}\n" for i in range(count)))
    lines = ["[scale]"]
    for i in range(count):
        lines.append(
            f"s{i:04d} ansible_host={scale_address(i)} ansible_user=root "
            f"ansible_ssh_private_key_file={bench.KEY} ansible_python_interpreter=/usr/bin/python3 "
            f"ansible_ssh_common_args='-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes' "
            # One sshd stands in for every host: a thousand handshakes queue
            # up on it, where real hosts would each answer their own.
            f"ansible_ssh_timeout=120"
        )
    (bench.WORK / f"scale-{count}.ini").write_text("\n".join(lines) + "\n")
    entries = ",\n".join(
        f'    ("s{i:04d}", {{"ssh_hostname": "{scale_address(i)}", "ssh_user": "root", '
        f'"ssh_key": "{bench.KEY}", "ssh_known_hosts_file": "{kh}", '
        f'"ssh_strict_host_key_checking": "yes"}})'
        for i in range(count)
    )
    (bench.WORK / f"scale-{count}.py").write_text(f"scale = [\n{entries},\n]\n")


def command(tool, count):
    inv = str(bench.WORK / f"scale-{count}.ini")
    if tool == "tend":
        return [str(bench.TEND), "run", str(bench.BENCH / "scale.yml"), "-i", inv]
    if tool == "ansible":
        return [str(bench.VENV / "bin" / "ansible-playbook"), str(bench.BENCH / "scale.yml"), "-i", inv,
                "-f", str(count)]
    return [str(bench.VENV / "bin" / "pyinfra"), "-y", "--parallel", str(count),
            str(bench.WORK / f"scale-{count}.py"), str(bench.BENCH / "pyinfra" / "scale.py")]


def run(args):
    counts = sorted(int(c) for c in args.counts.split(","))
    tools = [t for t in args.tools.split(",") if t]
    # One socket per host, and then some.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    env = dict(os.environ, ANSIBLE_CONFIG=str(bench.WORK / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               NO_COLOR="1", HOME=str(bench.WORK / "home"))
    for d in ("home", "cp", "logs"):
        (bench.WORK / d).mkdir(parents=True, exist_ok=True)
    bench.write_inventories(max(counts))
    results = []
    prepare_host(max(counts))  # its host key, for the known_hosts below
    for count in counts:
        write_files(count)
        for tool in tools:
            if tool != "tend" and count > args.peer_max:
                continue
            prepare_host(max(counts))
            for phase in ("cold", "converged"):
                log = bench.WORK / "logs" / f"scale-{count}-{tool}-{phase}.log"
                seconds, code, rss, output = bench.timed(command(tool, count), env, log)
                if bench.failed(tool, output, code):
                    sys.exit(f"bench: scale: {tool} failed at {count} hosts ({phase}); see {log}")
                if phase == "converged" and bench.changed_hosts(tool, output):
                    sys.exit(f"bench: scale: {tool}'s converged run changed something; see {log}")
                results.append(dict(tool=tool, hosts=count, phase=phase, seconds=seconds, rss_mib=rss))
                # Kept as it goes: a long run stopped half-way still has them.
                (bench.WORK / "scale.json").write_text(json.dumps(results, indent=1))
                bench.log(f"scale: {tool} {count:5} hosts {phase:9} {seconds:8.2f} s {rss:7.1f} MiB")
    (bench.WORK / "scale.json").write_text(json.dumps(results, indent=1))
    table = render(results, tools)
    print(table)
    plot(results, tools)
    return table


def render(results, tools):
    lines = [
        "| tool | hosts | cold apply (s) | converged (s) | peak memory (MiB) | per host (KiB) |",
        "|---|---|---|---|---|---|",
    ]
    for tool in tools:
        for count in sorted({r["hosts"] for r in results if r["tool"] == tool}):
            rs = {r["phase"]: r for r in results if r["tool"] == tool and r["hosts"] == count}
            rss = max(r["rss_mib"] for r in rs.values())
            lines.append(f"| {tool} | {count} | {rs['cold']['seconds']:.1f} | "
                         f"{rs['converged']['seconds']:.1f} | {rss:.0f} | {rss * 1024 / count:.0f} |")
    return "\n".join(lines) + "\n"


def plot(results, tools):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for tool in tools:
        rs = sorted((r["hosts"], r["seconds"]) for r in results
                    if r["tool"] == tool and r["phase"] == "converged")
        if rs:
            ax.plot([h for h, _ in rs], [s for _, s in rs], marker="o", label=tool)
    ax.set_xlabel("hosts")
    ax.set_ylabel("converged run (s)")
    ax.set_title("Converged run of 40 tasks vs host count (one controller, 2 cores)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(bench.BENCH / "scale.png", dpi=100)
    bench.log(f"wrote {bench.BENCH / 'scale.png'}")


def section(table, command):
    """BENCHMARKS.md's Scale section; `command` when it was run on its own."""
    how = f"Generated by `{command}`. " if command else ""
    return (
        "\n## Scale\n\n" + how +
        "One lab host answers SSH on many addresses, each inventory host working in its\n"
        "own directory (bench/scale.yml, 40 file tasks). Converged time against host\n"
        "count: bench/scale.png.\n\n" + table
    )


def write_section(text):
    """Replaces the Scale section of BENCHMARKS.md (the last one) with `text`."""
    path = bench.ROOT / "BENCHMARKS.md"
    report = path.read_text() if path.exists() else "# Benchmarks\n"
    report = report.split("\n## Scale\n", 1)[0].rstrip("\n") + "\n"
    path.write_text(report + text)
    bench.log(f"wrote {path}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--counts", default="10,100,500,1000")
    p.add_argument("--write", action="store_true",
                   help="put the results in BENCHMARKS.md's Scale section")
    p.add_argument("--tools", default="tend,ansible,pyinfra")
    p.add_argument("--peer-max", type=int, default=10,
                   help="the most hosts the peers run (they are slow)")
    args = p.parse_args()
    try:
        table = run(args)
        if args.write:
            write_section(section(table, f"bench/.venv/bin/python bench/scale.py --counts {args.counts} --write"))
    finally:
        subprocess.run(["ip", "route", "del", NET], capture_output=True)
        bench.lab_down()


if __name__ == "__main__":
    main()
