"""bench/site.yml for pyinfra: the same 40 operations on the same hosts.

The templates are site.yml's (bench/templates/), given the variables
Ansible's would see. `bench_setting` comes from `--data bench_setting=N`
(the "one small change" scenario); the handlers of site.yml are operations
that run only when the operations that notify them changed something.
"""

from io import StringIO

from pyinfra import host
from pyinfra.operations import apt, files, iptables, systemd

TEMPLATES = __file__.rsplit("/", 2)[0] + "/templates"
SETTING = str(host.data.get("bench_setting", "1"))
PORT = 9100
NAME = host.name

apt.packages(
    name="lab-hello is installed",
    packages=["lab-hello"],
    update=True,
    cache_time=86400,
)

for d in [
    "/etc/benchapp",
    "/etc/benchapp/conf.d",
    "/var/lib/benchapp",
    "/var/log/benchapp",
    "/var/www/benchapp",
]:
    files.directory(name=f"directory {d}", path=d, mode="755")

for i in range(1, 21):
    files.template(
        name=f"config file {i:02d}",
        src=f"{TEMPLATES}/app.conf.j2",
        dest=f"/etc/benchapp/conf.d/{i:02d}.conf",
        mode="644",
        section=f"part{i:02d}",
        inventory_hostname=NAME,
        bench_port=PORT,
        bench_setting=SETTING,
    )

for key, value in [
    ("BENCH_MODE", "production"),
    ("BENCH_WORKERS", "4"),
    ("BENCH_LOG", "/var/log/benchapp/app.log"),
]:
    files.line(
        name=f"default {key}",
        path="/etc/default/benchapp",
        line=f"^{key}=.*",
        replace=f"{key}={value}",
    )

files.put(
    name="the page",
    src=StringIO(f"benchapp on {NAME}\n"),
    dest="/var/www/benchapp/index.html",
    mode="644",
)

unit = files.template(
    name="the unit",
    src=f"{TEMPLATES}/benchapp.service.j2",
    dest="/etc/systemd/system/benchapp.service",
    mode="644",
    bench_port=PORT,
)

systemd.service(
    name="benchapp runs",
    service="benchapp",
    running=True,
    enabled=True,
    # pyinfra reloads (and reports a change) on every run when asked to:
    # the reload comes with the restart below, when the unit changed.
    daemon_reload=False,
)

iptables.rule(name="firewall: loopback", chain="INPUT", jump="ACCEPT", in_interface="lo")
iptables.rule(
    name="firewall: replies",
    chain="INPUT",
    jump="ACCEPT",
    # As iptables -S prints it, so that pyinfra finds the rule in place.
    extras="-m conntrack --ctstate RELATED,ESTABLISHED",
)
for port in (22, 80):
    iptables.rule(
        name=f"firewall: {port}",
        chain="INPUT",
        jump="ACCEPT",
        protocol="tcp",
        destination_port=port,
    )

site = files.template(
    name="the nginx site",
    src=f"{TEMPLATES}/site.conf.j2",
    dest="/etc/nginx/sites-available/benchapp",
    mode="644",
    inventory_hostname=NAME,
    bench_port=PORT,
)

link = files.link(
    name="the site is enabled",
    path="/etc/nginx/sites-enabled/benchapp",
    target="/etc/nginx/sites-available/benchapp",
)

systemd.service(name="nginx runs", service="nginx", running=True, enabled=True)

files.put(
    name="a marker of the run",
    src=StringIO(f"managed by the benchmark, setting {SETTING}\n"),
    dest="/var/lib/benchapp/managed",
    mode="644",
)

# site.yml's handlers.
systemd.service(
    name="restart benchapp",
    service="benchapp",
    running=True,
    restarted=True,
    daemon_reload=True,
    _if=unit.did_change,
)
systemd.service(
    name="reload nginx",
    service="nginx",
    running=True,
    reloaded=True,
    _if=lambda: site.did_change() or link.did_change(),
)
