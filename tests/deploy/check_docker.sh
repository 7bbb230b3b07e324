#!/usr/bin/env bash
# Checks the container files in deploy/docker (Dockerfile, compose.yaml, prometheus.yml) and the
# .dockerignore at the repository root, without a Docker engine:
#   - compose.yaml is valid (docker-compose 1.29 `config -q`, Debian's package) and wires things
#     up right: services, build targets that are stages of the Dockerfile, mounted files that
#     exist, ports published on 127.0.0.1 only, stats following the registry service, the store
#     in a named volume, restart policy, stop_grace_period above drain + shutdown timeout;
#   - prometheus.yml passes `promtool check config` laid out as the container sees it (with the
#     mounted alerts.yml), scrapes the compose services' metrics ports, with the job names of
#     deploy/prometheus/prometheus.yml (the alerts and the dashboard select on them);
#   - the runtime images' package list covers every shared library of the real binaries (ldd,
#     dpkg -S, then the Depends closure of the list from the installed packages' metadata;
#     what debian:12-slim already has is allowed) and the data files they read (iso-codes,
#     tzdata);
#   - the Dockerfile: build stage on debian:12 running scripts/deps.sh --build-only and building
#     the binaries the runtime stages copy and run; runtime stages on debian:12-slim with a
#     numeric non-root USER; every REGISTRY_* / STATS_* / OBSERVERCTL_* variable and every flag
#     set in the Dockerfile or compose.yaml is one the binary's --help lists; the healthcheck is
#     an `observerctl health` the binary has;
#   - .dockerignore keeps build directories out and every tracked file in.
# hadolint is not in Debian: no Dockerfile lint here.
#   check_docker.sh REGISTRY_SERVICE_BINARY STATS_SERVICE_BINARY OBSERVERCTL_BINARY [OTHER...]
# OTHER: further binaries the images carry (observer-load-example).
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 REGISTRY_SERVICE_BINARY STATS_SERVICE_BINARY OBSERVERCTL_BINARY [OTHER...]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
binaries=("$@")
for b in "${binaries[@]}"; do
  [[ -x "$b" ]] || { echo "check_docker: $b is not an executable (build it first)" >&2; exit 1; }
done

need() {  # need COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null || {
    echo "check_docker: $1 is missing (Debian package $2; bash scripts/deps.sh installs it)" >&2
    exit 1
  }
}
need docker-compose docker-compose
need promtool prometheus
need ldd libc-bin
need dpkg-query dpkg
# Python with PyYAML: Debian's python3 has it once docker-compose (which depends on
# python3-yaml) is installed; another python3 first in PATH may not.
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
[[ -n "$python" ]] || { echo "check_docker: no python3 with PyYAML (Debian package python3-yaml)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0

# 1. The compose file, as docker-compose 1.29 (Compose Specification loader) reads it.
echo "check_docker: docker-compose $(docker-compose version --short 2>/dev/null || echo '?') config -q"
if ! (cd "$root" && docker-compose -f deploy/docker/compose.yaml config -q) >"$work/compose.log" 2>&1; then
  echo "check_docker: FAIL: docker-compose rejects deploy/docker/compose.yaml:" >&2
  cat "$work/compose.log" >&2
  failed=1
fi

# 2. Facts about the real binaries: their --help and their shared libraries (ldd; mapped to
#    packages with dpkg -S in the Python part below).
for b in "${binaries[@]}"; do
  name="$(basename "$b")"
  if ! "$b" --help >"$work/help-$name.txt" 2>&1; then
    echo "check_docker: FAIL: $b --help exits non-zero:" >&2
    cat "$work/help-$name.txt" >&2
    failed=1
  fi
  if ! ldd "$b" >"$work/ldd-$name.txt" 2>&1; then
    echo "check_docker: FAIL: ldd $b failed:" >&2
    cat "$work/ldd-$name.txt" >&2
    failed=1
  fi
done

# Every installed package's metadata, for the Depends closure (no apt lists needed).
dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Essential}\t${Provides}\t${Pre-Depends}\t${Depends}\n' \
  | awk -F'\t' '$1 == "installed"' | cut -f2- >"$work/dpkg.tsv"

# 3. Everything else: parsed and checked in Python (YAML, the Dockerfile's instructions).
if ! "$python" - "$root" "$work" "${binaries[@]}" <<'PY'; then failed=1; fi
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

root, work = sys.argv[1], sys.argv[2]
binary_paths = sys.argv[3:]
docker_dir = os.path.join(root, "deploy", "docker")
dockerfile_path = os.path.join(docker_dir, "Dockerfile")
compose_path = os.path.join(docker_dir, "compose.yaml")
errors = []


def fail(message):
    if message in errors:
        return
    errors.append(message)
    print("check_docker: FAIL: " + message, file=sys.stderr)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- The binaries' --help: env variables and flags each one really has.
SERVICES = {"registry": "registry-service", "stats": "stats-service"}
helps = {}
for path in binary_paths:
    name = os.path.basename(path)
    helps[name] = read(os.path.join(work, "help-" + name + ".txt"))
for name in ("registry-service", "stats-service", "observerctl"):
    if name not in helps:
        fail("the binaries given are %s; expected registry-service, stats-service, observerctl"
             % ", ".join(sorted(helps)))
        sys.exit(1)
ENV_OWNER = {"REGISTRY_": "registry-service", "STATS_": "stats-service",
             "OBSERVERCTL_": "observerctl"}


def env_owner(variable):
    for prefix, binary in ENV_OWNER.items():
        if variable.startswith(prefix):
            return binary
    return None


def help_has_env(binary, variable):
    # registry-service: "(env REGISTRY_LISTEN, default ...)"; observerctl: "(env OBSERVERCTL_STATS;
    # default ...)" or "(env OBSERVERCTL_TLS_CA)".
    return re.search(r"\benv " + re.escape(variable) + r"[,;)\s]", helps[binary]) is not None


def help_has_flag(binary, flag):
    return re.search(r"(^|\s)" + re.escape(flag) + r"(\s|=|,|$)", helps[binary], re.M) is not None


def help_default(binary, variable):
    m = re.search(r"\benv " + re.escape(variable) + r', default "([^"]*)"', helps[binary])
    return m.group(1) if m else None


def check_env(where, variables):
    for variable in variables:
        binary = env_owner(variable)
        if binary and not help_has_env(binary, variable):
            fail("%s sets %s, which `%s --help` does not list (misspelt?)" % (where, variable, binary))


def seconds(duration):
    """Go/absl/compose durations: 1s, 500ms, 1m30s, 1.5h."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", str(duration))
    if not parts or "".join(a + b for a, b in parts) != str(duration).strip():
        return None
    return sum(float(a) * units[b] for a, b in parts)


def split_address(address):
    m = re.fullmatch(r"\[?([^\]]*)\]?:(\d+)", address or "")
    return (m.group(1), int(m.group(2))) if m else (None, None)


# ---- The Dockerfile, instruction by instruction (continuations joined, comments dropped).
def parse_dockerfile(text):
    instructions, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    stages = []
    for keyword, args in instructions:
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append({"base": words[0], "name": name, "instructions": []})
        elif not stages:
            if keyword != "ARG":
                fail("Dockerfile: %s before the first FROM" % keyword)
        else:
            stages[-1]["instructions"].append((keyword, args))
    return stages


dockerfile = read(dockerfile_path)
stages = parse_dockerfile(dockerfile)
by_name = {s["name"]: s for s in stages if s["name"]}


def chain(stage):
    """The stage and the stages it is built FROM, base first."""
    result = []
    while stage is not None and stage not in result:
        result.insert(0, stage)
        stage = by_name.get(stage["base"])
    return result


def root_image(stage):
    return chain(stage)[0]["base"]


def parse_env(args):
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}  # legacy ENV KEY VALUE
    return dict(w.split("=", 1) for w in words)


def effective(stage):
    env, user, entrypoint, healthcheck, volumes, exposed, copies, runs = {}, None, None, None, [], [], [], []
    for s in chain(stage):
        for keyword, args in s["instructions"]:
            if keyword == "ENV":
                env.update(parse_env(args))
            elif keyword == "USER":
                user = args
            elif keyword == "ENTRYPOINT":
                entrypoint = args
            elif keyword == "HEALTHCHECK":
                healthcheck = args
            elif keyword == "VOLUME":
                volumes += json.loads(args) if args.startswith("[") else args.split()
            elif keyword == "EXPOSE":
                exposed += [int(p.split("/")[0]) for p in args.split()]
            elif keyword in ("COPY", "ADD"):
                copies.append((s, keyword, args))
            elif keyword == "RUN":
                runs.append(args)
    return {"env": env, "user": user, "entrypoint": entrypoint, "healthcheck": healthcheck,
            "volumes": volumes, "exposed": exposed, "copies": copies, "runs": runs}


def parse_copy(args):
    words = shlex.split(args)
    options = {w.split("=", 1)[0]: (w.split("=", 1) + [""])[1] for w in words if w.startswith("--")}
    paths = [w for w in words if not w.startswith("--")]
    return options, paths[:-1], paths[-1]


# Build stage: debian:12, deps.sh --build-only, the cmake targets and where they land.
build = by_name.get("build")
built = {}  # image path of each built binary → target name
context_dir = None  # where the build stage copies the build context
if build is None:
    fail("Dockerfile: no stage named 'build'")
else:
    if build["base"] != "debian:12":
        fail("Dockerfile: the build stage is FROM %s, not debian:12" % build["base"])
    runs = [a for k, a in build["instructions"] if k == "RUN"]
    if not any(re.search(r"scripts/deps\.sh\s+--build-only\b", r) for r in runs):
        fail("Dockerfile: the build stage does not run scripts/deps.sh --build-only")
    for keyword, args in build["instructions"]:
        if keyword == "COPY":
            _, sources, dest = parse_copy(args)
            if sources == ["."]:
                context_dir = dest.rstrip("/")
    targets, build_dir = [], None
    for r in runs:
        words = shlex.split(r)
        for i, w in enumerate(words):
            if w == "-B" and i + 1 < len(words):
                build_dir = words[i + 1].rstrip("/")
            if w == "--target":
                for t in words[i + 1:]:
                    if t.startswith("-") or t in ("&&", ";", "||"):
                        break
                    targets.append(t)
    if not targets or build_dir is None:
        fail("Dockerfile: the build stage has no `cmake -B DIR` and `cmake --build ... --target ...`")
        targets = []
    for t in targets:
        if t not in helps:
            fail("Dockerfile: the build stage builds %s, which is not one of the binaries checked" % t)
            continue
        # The binary given to this script lies in its build directory (the one with the
        # CMakeCache.txt) where the image's build puts it in build_dir.
        real = os.path.realpath([p for p in binary_paths if os.path.basename(p) == t][0])
        top = os.path.dirname(real)
        while top != "/" and not os.path.isfile(os.path.join(top, "CMakeCache.txt")):
            top = os.path.dirname(top)
        if top == "/":
            fail("%s is not in a CMake build directory (no CMakeCache.txt above it)" % real)
            continue
        built[build_dir + "/" + os.path.relpath(real, top)] = t


def copied_file(stage_effective, image_path):
    """(source, target) of the COPY --from=build that puts image_path in the image, else None."""
    for s, keyword, args in stage_effective["copies"]:
        options, sources, dest = parse_copy(args)
        if options.get("--from") != "build":
            continue
        for src in sources:
            into_directory = dest.endswith("/") or dest.rstrip("/") == os.path.dirname(image_path)
            target = dest.rstrip("/") + "/" + os.path.basename(src) if into_directory else dest
            if target == image_path:
                return src, target
    return None


def check_copies(stage):
    """Sources of COPY --from=build exist: a built binary, or a path of the build context."""
    for keyword, args in stage["instructions"]:
        if keyword not in ("COPY", "ADD"):
            continue
        options, sources, dest = parse_copy(args)
        for src in sources:
            if options.get("--from") == "build":
                if src in built:
                    continue
                if context_dir and src.startswith(context_dir + "/"):
                    rel = src[len(context_dir) + 1:]
                    if not os.path.exists(os.path.join(root, rel)):
                        fail("Dockerfile: COPY --from=build %s: %s is not in the repository" % (src, rel))
                    continue
                fail("Dockerfile: COPY --from=build %s is neither a binary the build stage builds "
                     "(%s) nor a file of the build context" % (src, ", ".join(sorted(set(built.values())))))
            elif "--from" not in options and src != ".":
                if not os.path.exists(os.path.join(root, src)):
                    fail("Dockerfile: COPY %s: no such file in the repository" % src)


for s in stages:
    check_copies(s)


def image_file_in_repo(stage_effective, image_path):
    """The repository file an image path was copied from (via the build context), or None."""
    for s, keyword, args in stage_effective["copies"]:
        options, sources, dest = parse_copy(args)
        for src in sources:
            if options.get("--from") == "build" and context_dir and src.startswith(context_dir + "/"):
                prefix = dest.rstrip("/")
                if image_path == prefix or image_path.startswith(prefix + "/"):
                    return os.path.join(root, src[len(context_dir) + 1:], image_path[len(prefix) + 1:])
    return None


# Runtime stages: debian:12-slim, non-root numeric USER, ENTRYPOINT = their service's binary.
runtime_packages = set()
apt_runs = set()
stage_info = {}
for service, binary in SERVICES.items():
    stage = by_name.get(service)
    if stage is None:
        fail("Dockerfile: no stage named '%s'" % service)
        continue
    info = effective(stage)
    stage_info[service] = info
    if root_image(stage) != "debian:12-slim":
        fail("Dockerfile: stage %s is based on %s, not debian:12-slim" % (service, root_image(stage)))
    user = (info["user"] or "").split(":")
    if not user[0].isdigit():
        fail("Dockerfile: stage %s runs as USER %r: give a numeric uid (Kubernetes' runAsNonRoot "
             "can only check a number)" % (service, info["user"]))
    elif int(user[0]) == 0 or (len(user) > 1 and user[1].isdigit() and int(user[1]) == 0):
        fail("Dockerfile: stage %s runs as root (USER %s)" % (service, info["user"]))
    try:
        entrypoint = json.loads(info["entrypoint"] or "")
    except ValueError:
        entrypoint = None
    if not isinstance(entrypoint, list) or not entrypoint:
        fail("Dockerfile: stage %s has no exec-form ENTRYPOINT [\"...\"] (a shell form would "
             "not pass SIGTERM to the service)" % service)
    else:
        path = entrypoint[0]
        found = copied_file(info, path)
        if os.path.basename(path) != binary:
            fail("Dockerfile: stage %s runs %s, not %s" % (service, path, binary))
        elif found is None or found[0] not in built or built[found[0]] != binary:
            fail("Dockerfile: stage %s runs %s, which no COPY --from=build of the built %s "
                 "puts there" % (service, path, binary))
        for word in entrypoint[1:]:
            if word.startswith("--") and not help_has_flag(binary, word.split("=", 1)[0]):
                fail("Dockerfile: stage %s passes %s, not a flag of %s" % (service, word, binary))
    check_env("Dockerfile stage %s (ENV)" % service, info["env"])
    # observerctl, for the healthcheck and the operator.
    found = copied_file(info, "/usr/local/bin/observerctl")
    if found is None or built.get(found[0]) != "observerctl":
        fail("Dockerfile: stage %s has no built observerctl in /usr/local/bin" % service)
    health = info["healthcheck"] or ""
    m = re.search(r"\bCMD\s+(.*)$", health)
    if not m:
        fail("Dockerfile: stage %s has no HEALTHCHECK CMD" % service)
    else:
        command = m.group(1)
        words = json.loads(command) if command.startswith("[") else shlex.split(command)
        if not words or os.path.basename(words[0]) != "observerctl":
            fail("Dockerfile: stage %s: the HEALTHCHECK does not run observerctl" % service)
        elif words[1:3] != ["health", service]:
            fail("Dockerfile: stage %s: the HEALTHCHECK runs `%s`, not `observerctl health %s`"
                 % (service, " ".join(words), service))
        if not re.search(r"^\s+health(\s|$)", helps["observerctl"], re.M):
            fail("Dockerfile: the HEALTHCHECKs run `observerctl health`, a command that `observerctl "
                 "--help` does not list (this observerctl has no health command)")
        for word in words[1:]:
            if word.startswith("--") and not help_has_flag("observerctl", word.split("=", 1)[0]):
                fail("Dockerfile: stage %s: the HEALTHCHECK passes %s, not a flag of observerctl"
                     % (service, word))
        for variable in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", command):
            if variable not in info["env"]:
                fail("Dockerfile: stage %s: the HEALTHCHECK uses $%s, which the image does not set"
                     % (service, variable))
    if not re.search(r"--interval=", health) or not re.search(r"--timeout=", health):
        fail("Dockerfile: stage %s: give the HEALTHCHECK an --interval and a --timeout" % service)
    # The runtime packages: apt-get install --no-install-recommends, lists cleaned.
    for run in info["runs"]:
        if not re.search(r"apt-get\s+(-\S+\s+)*install\b", run):
            continue
        apt_runs.add(run)
        if "--no-install-recommends" not in run:
            fail("Dockerfile: stage %s: apt-get install without --no-install-recommends" % service)
        if not re.search(r"rm -rf /var/lib/apt/lists", run):
            fail("Dockerfile: stage %s: the apt-get install does not remove /var/lib/apt/lists" % service)
        for command in re.split(r"&&|;|\|\|", run):
            words = shlex.split(command)
            words = [w for w in words if "=" not in w or w.startswith("-")]  # VAR=value prefixes
            if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                runtime_packages.update(w for w in words[words.index("install") + 1:]
                                        if not w.startswith("-"))
if not runtime_packages:
    fail("Dockerfile: no `apt-get install` of runtime packages in the runtime stages")

# ---- The packages: every shared library and data file of the binaries is in the images.
# Data files the binaries read at run time (common/country_codes.h; tzdata through absl).
DATA_FILES = ["/usr/share/iso-codes/json/iso_3166-1.json", "/usr/share/zoneinfo/Asia/Almaty"]
libraries = []  # (binary, soname, path)
for path in binary_paths:
    name = os.path.basename(path)
    for line in read(os.path.join(work, "ldd-" + name + ".txt")).splitlines():
        line = line.strip()
        if "=> not found" in line:
            fail("%s: ldd finds no %s" % (name, line.split()[0]))
        elif " => " in line:
            soname, rest = line.split(" => ", 1)
            if rest.startswith("/"):
                libraries.append((name, soname, rest.split(" (")[0]))
        elif line.startswith("/"):
            file = line.split(" (")[0]
            libraries.append((name, os.path.basename(file), file))


def candidates(path):
    """The path as ldd names it and as it resolves, each with and without /usr: Debian 12 has
    merged /usr, and packages register one form or the other."""
    result = []
    for p in (path, os.path.realpath(path)):
        for q in (p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p):
            if q not in result:
                result.append(q)
    return result


queries = sorted({c for _, _, p in libraries for c in candidates(p)} |
                 {c for p in DATA_FILES for c in candidates(p)})
owners = {}
# One dpkg-query -S for all paths (each call reads every package's file list); paths no package
# owns are reported on stderr and left out.
listing = subprocess.run(["dpkg-query", "-S"] + queries, capture_output=True, text=True).stdout
for line in listing.splitlines():
    if line.startswith("diversion by") or ": /" not in line:
        continue
    packages, file = line.split(": /", 1)
    owners["/" + file] = packages.split(",")[0].strip().split(":")[0]


def owner(path):
    for c in candidates(path):
        if c in owners:
            return owners[c]
    return None


installed, essential, provides, depends = set(), set(), {}, {}
for line in read(os.path.join(work, "dpkg.tsv")).splitlines():
    package, is_essential, provided, pre_depends, package_depends = (line.split("\t") + [""] * 5)[:5]
    installed.add(package)
    if is_essential == "yes":
        essential.add(package)
    for p in filter(None, (x.strip().split(" ")[0] for x in provided.split(","))):
        provides.setdefault(p, set()).add(package)
    groups = []
    for field in (pre_depends, package_depends):
        for group in filter(None, (g.strip() for g in field.split(","))):
            groups.append([re.split(r"[\s(:]", a.strip())[0] for a in group.split("|")])
    depends[package] = groups


def resolve(name):
    """The installed packages a dependency on `name` can be met by (itself, or its providers)."""
    if name in installed:
        return {name}
    return provides.get(name, set())


def closure(packages):
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p in seen or p not in installed:
            continue
        seen.add(p)
        for alternatives in depends.get(p, []):
            # apt takes the first alternative it can install.
            for a in alternatives:
                met = resolve(a)
                if met:
                    todo.extend(met)
                    break
    return seen


# debian:12-slim holds every Essential package and apt, with their dependencies (libc6,
# libgcc-s1, libstdc++6, zlib1g, ...), and not a file under the paths slimify drops.
base = closure(essential | {"apt"})
for p in sorted(runtime_packages):
    if p not in installed:
        fail("Dockerfile: runtime package %s is not installed on this machine, so its dependencies "
             "cannot be checked (misspelt? `dpkg -S` of the libraries names the right package)" % p)
covered = closure(runtime_packages) | base
needed = {}  # package → why
for binary, lib, path in libraries:
    package = owner(path)
    if re.match(r"lib(a|ub|t|l|hwa)san\.so", lib):
        print("check_docker: note: %s loads %s (sanitizer build); the image's Release build "
              "does not" % (binary, lib))
        continue
    if package is None:
        fail("%s loads %s (%s), which no installed package owns: the image would not have it"
             % (binary, lib, path))
        continue
    needed.setdefault(package, set()).add("%s (%s)" % (lib, binary))
for path in DATA_FILES:
    package = owner(path)
    if not package:
        fail("%s, read by the services, is not installed here (by any package)" % path)
        continue
    for excluded in ("/usr/share/doc/", "/usr/share/groff/", "/usr/share/info/", "/usr/share/linda/",
                     "/usr/share/lintian/overrides/", "/usr/share/locale/", "/usr/share/man/"):
        if path.startswith(excluded):
            fail("%s is under %s, which debian:12-slim's dpkg configuration leaves out" % (path, excluded))
    needed.setdefault(package, set()).add(path)
for package, why in sorted(needed.items()):
    if package not in covered:
        fail("the runtime images lack package %s, needed for %s: add it to the Dockerfile's "
             "apt-get install" % (package, ", ".join(sorted(why))))
direct_or_data = set(needed)
for p in sorted(runtime_packages - closure(direct_or_data) - base):
    print("check_docker: note: runtime package %s is needed by no library or data file of the "
          "binaries" % p)

# ---- compose.yaml
compose = yaml.safe_load(read(compose_path))
services = compose.get("services") or {}
for name in ("registry", "stats", "prometheus"):
    if name not in services:
        fail("compose.yaml: no service %s" % name)


def compose_env(service):
    env = services.get(service, {}).get("environment") or {}
    if isinstance(env, list):
        env = dict((e.split("=", 1) + [""])[:2] for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def host_path(source):
    return os.path.normpath(os.path.join(docker_dir, os.path.expanduser(source)))


def mounts(service):
    """(kind, source, target) of each volume of a service; kind is bind or volume."""
    result = []
    for v in services.get(service, {}).get("volumes") or []:
        if isinstance(v, dict):
            kind = v.get("type", "volume")
            result.append((kind, v.get("source", ""), v.get("target", "")))
        else:
            parts = v.split(":")
            source, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", parts[0])
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            result.append((kind, source, target))
    return result


declared_volumes = set((compose.get("volumes") or {}).keys())
effective_env = {}
for name, service in services.items():
    where = "compose.yaml: service %s" % name
    if service.get("restart") != "unless-stopped":
        fail("%s: restart is %r, not unless-stopped" % (where, service.get("restart")))
    check_env(where + " (environment)", compose_env(name))
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            host_ip, published, target = port.get("host_ip"), port.get("published"), port.get("target")
        else:
            parts = str(port).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else None
            published, target = (parts[-2] if len(parts) >= 2 else None), parts[-1]
        if host_ip != "127.0.0.1":
            fail("%s: port %s is published on %s, not on 127.0.0.1 only" % (where, port, host_ip or "every address"))
    for kind, source, target in mounts(name):
        if kind == "bind" and not os.path.exists(host_path(source)):
            fail("%s mounts %s, which does not exist (%s)" % (where, source, host_path(source)))
        if kind == "volume" and source and source not in declared_volumes:
            fail("%s uses volume %s, not declared under the top-level volumes" % (where, source))

for service, binary in SERVICES.items():
    if service not in services or service not in stage_info:
        continue
    spec = services[service]
    where = "compose.yaml: service %s" % service
    build_spec = spec.get("build") or {}
    if not isinstance(build_spec, dict):
        build_spec = {"context": build_spec}
    context = os.path.normpath(os.path.join(docker_dir, build_spec.get("context", ".")))
    if context != os.path.normpath(root):
        fail("%s builds with context %s, not the repository root" % (where, build_spec.get("context")))
    dockerfile_used = os.path.normpath(os.path.join(context, build_spec.get("dockerfile", "Dockerfile")))
    if dockerfile_used != os.path.normpath(dockerfile_path):
        fail("%s builds %s, not deploy/docker/Dockerfile" % (where, dockerfile_used))
    target = build_spec.get("target")
    if target not in by_name:
        fail("%s builds target %r, which is not a stage of the Dockerfile (stages: %s)"
             % (where, target, ", ".join(sorted(by_name))))
        continue
    if target != service:
        fail("%s builds target %s, which runs %s, not %s" % (where, target,
             SERVICES.get(target, "no service"), binary))
    info = effective(by_name[target])
    env = dict(info["env"])
    env.update(compose_env(service))
    effective_env[service] = env
    prefix = "REGISTRY_" if service == "registry" else "STATS_"

    def value(flag, env=env, prefix=prefix, binary=binary):
        variable = prefix + flag.upper().replace("-", "_")
        return env.get(variable, help_default(binary, variable))

    # Listening on every address of the container, on ports the image exposes and compose publishes.
    published = set()
    for port in spec.get("ports") or []:
        published.add(int(port["target"]) if isinstance(port, dict) else int(str(port).split("/")[0].split(":")[-1]))
    for flag in ("listen", "metrics-listen"):
        host, port = split_address(value(flag))
        if host is None:
            fail("%s: --%s is %r, not HOST:PORT" % (where, flag, value(flag)))
            continue
        if host.startswith("127.") or host in ("localhost", "::1"):
            fail("%s: --%s is %s: a loopback address cannot be reached from outside the container"
                 % (where, flag, value(flag)))
        if port not in info["exposed"]:
            fail("Dockerfile: stage %s listens on port %d (--%s) but does not EXPOSE it" % (service, port, flag))
        if port not in published:
            fail("%s listens on port %d (--%s), which compose does not publish" % (where, port, flag))
    # Stopping: drain period + shutdown timeout must fit in the grace period.
    grace = seconds(spec.get("stop_grace_period", "10s"))
    drain, shutdown = seconds(value("drain-period") or ""), seconds(value("shutdown-timeout") or "")
    if grace is None or drain is None or shutdown is None:
        fail("%s: cannot read stop_grace_period / --drain-period / --shutdown-timeout" % where)
    elif grace <= drain + shutdown:
        fail("%s: stop_grace_period %s is not longer than --drain-period %s + --shutdown-timeout %s: "
             "docker would SIGKILL the service mid-drain" % (where, spec.get("stop_grace_period", "10s (default)"),
                                                          value("drain-period"), value("shutdown-timeout")))
    # Files named by settings that the service reads at start.
    for variable in ("STATS_REGION_SCHEMES",):
        for path in filter(None, (env.get(variable) or "").split(",")):
            repo_file = image_file_in_repo(info, path)
            if repo_file is None or not os.path.isfile(repo_file):
                fail("%s: %s names %s, which the %s image does not have" % (where, variable, path, service))

# The registry's store lives in a named volume (and the Dockerfile's VOLUME).
if "registry" in effective_env:
    store = effective_env["registry"].get("REGISTRY_STORE", help_default("registry-service", "REGISTRY_STORE"))
    m = re.fullmatch(r"sqlite://(/.*)", store or "")
    if not m:
        fail("compose.yaml: registry: REGISTRY_STORE %r is not sqlite:///ABSOLUTE/PATH" % store)
    else:
        store_dir = os.path.dirname(m.group(1))
        named = [t for kind, s, t in mounts("registry") if kind == "volume" and s]
        if not any(store_dir == t.rstrip("/") or store_dir.startswith(t.rstrip("/") + "/") for t in named):
            fail("compose.yaml: registry: the store %s is not in a named volume (mounts: %s): it "
                 "would be lost with the container" % (m.group(1), mounts("registry")))
        if not any(store_dir == v.rstrip("/") or store_dir.startswith(v.rstrip("/") + "/")
                   for v in stage_info.get("registry", {}).get("volumes", [])):
            fail("Dockerfile: stage registry does not declare the store directory %s as a VOLUME" % store_dir)

# stats follows the registry service, and starts once it is healthy.
if "stats" in effective_env and "registry" in effective_env:
    host, port = split_address(effective_env["stats"].get("STATS_REGISTRY"))
    _, registry_port = split_address(effective_env["registry"].get("REGISTRY_LISTEN",
                                     help_default("registry-service", "REGISTRY_LISTEN")))
    if host != "registry" or port != registry_port:
        fail("compose.yaml: stats follows %r, not the registry service (registry:%s)"
             % (effective_env["stats"].get("STATS_REGISTRY"), registry_port))
    depends_on = services["stats"].get("depends_on") or {}
    if not isinstance(depends_on, dict) or (depends_on.get("registry") or {}).get("condition") != "service_healthy":
        fail("compose.yaml: stats does not depend on registry with condition: service_healthy")

# ---- Prometheus: pinned v2 image, its files laid out as in the container, the same jobs.
prometheus = services.get("prometheus", {})
image = prometheus.get("image", "")
if not re.fullmatch(r"(docker\.io/)?prom/prometheus:v2\.\d+\.\d+", image):
    fail("compose.yaml: prometheus runs image %r, not prom/prometheus pinned to a v2.x.y tag" % image)
config_file = "/etc/prometheus/prometheus.yml"  # the image's default --config.file
command = prometheus.get("command") or []
for word in (shlex.split(command) if isinstance(command, str) else command):
    if word.startswith("--config.file="):
        config_file = word.split("=", 1)[1]
layout = os.path.join(work, "prometheus-root")
for kind, source, target in mounts("prometheus"):
    if kind == "bind" and os.path.isfile(host_path(source)):
        destination = os.path.join(layout, target.lstrip("/"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(host_path(source), destination)
laid_out_config = os.path.join(layout, config_file.lstrip("/"))
if not os.path.isfile(laid_out_config):
    fail("compose.yaml: prometheus mounts nothing at %s (its --config.file)" % config_file)
else:
    with open(os.path.join(work, "prometheus-config"), "w") as f:
        f.write(laid_out_config)
    config = yaml.safe_load(read(laid_out_config))
    for rule_file in config.get("rule_files") or []:
        if os.path.isabs(rule_file):
            fail("deploy/docker/prometheus.yml: rule file %s: use a path relative to the config file" % rule_file)
    reference = yaml.safe_load(read(os.path.join(root, "deploy", "prometheus", "prometheus.yml")))
    jobs = {j["job_name"]: j for j in config.get("scrape_configs") or []}
    reference_jobs = {j["job_name"] for j in reference.get("scrape_configs") or []}
    if set(jobs) != reference_jobs:
        fail("deploy/docker/prometheus.yml has jobs %s, deploy/prometheus/prometheus.yml %s: the alerts "
             "and the dashboard select on those names" % (sorted(jobs), sorted(reference_jobs)))
    for job, service in (("registry", "registry"), ("stats", "stats")):
        if job not in jobs or service not in effective_env:
            continue
        variable = ("REGISTRY_" if service == "registry" else "STATS_") + "METRICS_LISTEN"
        _, metrics_port = split_address(effective_env[service].get(variable, help_default(SERVICES[service], variable)))
        targets = [t for sc in jobs[job].get("static_configs") or [] for t in sc.get("targets") or []]
        if targets != ["%s:%d" % (service, metrics_port)]:
            fail("deploy/docker/prometheus.yml: job %s scrapes %s, not the %s service's metrics "
                 "address %s:%d" % (job, targets, service, service, metrics_port))

# ---- .dockerignore: build directories out, every tracked file in (or the image would lack
# sources, and git describe --dirty would call the build dirty).
ignore_path = os.path.join(root, ".dockerignore")
if not os.path.isfile(ignore_path):
    fail(".dockerignore is missing: the build directories (gigabytes, and CMake caches of another "
         "source path) would be sent as build context")
else:
    rules = []
    for line in read(ignore_path).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((negate, re.compile(regex + "$")))

    def ignored(path):
        result = False
        prefixes = [path]
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        for negate, regex in rules:
            if any(regex.match(p) for p in prefixes):
                result = not negate
        return result

    for path in ("build", "build-ctl", "build-asan/CMakeCache.txt", ".observer-state/registry.db"):
        if not ignored(path):
            fail(".dockerignore does not exclude %s" % path)
    for path in ("CMakeLists.txt", "scripts/deps.sh", ".git/HEAD"):
        if ignored(path):
            fail(".dockerignore excludes %s, which the image build needs" % path)
    try:
        tracked = subprocess.run(["git", "-C", root, "ls-files"], check=True, capture_output=True,
                                 text=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        tracked = []
        print("check_docker: note: not a git checkout here; tracked files not checked against .dockerignore")
    for path in tracked:
        if ignored(path):
            fail(".dockerignore excludes the tracked file %s" % path)

if errors:
    print("check_docker: %d problem(s)" % len(errors), file=sys.stderr)
    sys.exit(1)
print("check_docker: runtime packages: %s" % " ".join(sorted(runtime_packages)))
print("check_docker: needed by the binaries: %s (with the base image's %s)"
      % (" ".join(sorted(set(needed) - base)), " ".join(sorted(set(needed) & base))))
PY

# 4. promtool on the Prometheus configuration as the container sees it.
if [[ -f "$work/prometheus-config" ]]; then
  config="$(cat "$work/prometheus-config")"
  if ! promtool check config "$config" >"$work/promtool.log" 2>&1; then
    echo "check_docker: FAIL: promtool check config deploy/docker/prometheus.yml (as mounted):" >&2
    cat "$work/promtool.log" >&2
    failed=1
  else
    sed 's/^/check_docker: promtool: /' "$work/promtool.log"
  fi
fi

if [[ $failed -ne 0 ]]; then
  echo "check_docker: deploy/docker has problems (see above)" >&2
  exit 1
fi
echo "check_docker: deploy/docker checked"
