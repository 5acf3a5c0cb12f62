"""bench/scale.yml for pyinfra: 40 file operations, each host in its own
directory (/srv/scale/<host>)."""

from io import StringIO

from pyinfra import host
from pyinfra.operations import files

TEMPLATES = __file__.rsplit("/", 2)[0] + "/templates"
NAME = host.name
ROOT = f"/srv/scale/{NAME}"
SETTING = str(host.data.get("bench_setting", "1"))

for d in ["", "/conf.d", "/state", "/log", "/www"]:
    files.directory(name=f"directory {d or '(root)'}", path=f"{ROOT}{d}", mode="755")

for i in range(1, 21):
    files.template(
        name=f"config file {i:02d}",
        src=f"{TEMPLATES}/app.conf.j2",
        dest=f"{ROOT}/conf.d/{i:02d}.conf",
        mode="644",
        section=f"part{i:02d}",
        inventory_hostname=NAME,
        bench_port=9100,
        bench_setting=SETTING,
    )

for key, value in [("BENCH_MODE", "production"), ("BENCH_WORKERS", "4"), ("BENCH_LOG", "log/app.log")]:
    files.line(name=f"default {key}", path=f"{ROOT}/default", line=f"^{key}=.*",
               replace=f"{key}={value}")

for i in range(1, 11):
    files.put(name=f"data file {i:02d}", src=StringIO(f"data {i} of {NAME}\n"),
              dest=f"{ROOT}/state/{i:02d}.dat", mode="644")

files.link(name="the current link", path=f"{ROOT}/current", target=f"{ROOT}/conf.d")

files.put(name="a marker of the run",
          src=StringIO(f"managed by the benchmark, setting {SETTING}\n"),
          dest=f"{ROOT}/managed", mode="644")
