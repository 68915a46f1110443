#!/usr/bin/env python3
"""Corpus driver (run by tests/corpus/run.sh): installs the packages of sources.txt into
.cache/corpus/, finds the OpenAPI and Swagger documents they ship, runs the release
`mcpgen generate` on each with a timeout, classifies the outcome, runs `cargo check` on a
deterministic sample of the generated crates (GitHub's always among them) and writes the summary
table. Standard library only, so it runs on a fresh clone with nothing but python3, npm and pip.

Outcomes: generated; failed with a located error (the message names the file and a `#/` JSON
pointer, or for a syntax error a line and column); failed without a location; panicked (exit 101,
a `panicked at` message, or killed by a signal such as a stack overflow); timed out.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "corpus"
PKGS = CACHE / "pkgs"
DOWNLOADS = CACHE / "downloads"
OUT = CACHE / "out"
CHECKS = CACHE / "check"
MCPGEN = ROOT / "target" / "release" / "mcpgen"
GITHUB_DOC = "npm/@octokit/openapi/generated/api.github.com.json"

# A top-level `openapi:` or `swagger:` key (YAML at column 0, or JSON's first-level key).
YAML_MARK = re.compile(r"^[\"']?(openapi|swagger)[\"']?\s*:", re.M)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_sources(path):
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, spec = line.split(None, 1)
        if kind not in ("npm", "pypi"):
            raise SystemExit(f"{path}: unknown source kind {kind!r}")
        out.append((kind, spec.strip()))
    return out


def package_name(kind, spec):
    if kind == "npm":
        at = spec.rfind("@")
        return spec[:at] if at > 0 else spec
    return re.split(r"[=<>!~]", spec, 1)[0]


def install(kind, spec):
    """Installs one package (once) and returns its unpacked directory."""
    name = package_name(kind, spec)
    dest = PKGS / kind / name
    marker = dest / ".mcpgen-corpus-installed"
    if marker.exists() and marker.read_text() == spec:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dl = DOWNLOADS / kind / name.replace("/", "__")
    shutil.rmtree(dl, ignore_errors=True)
    dl.mkdir(parents=True)
    if kind == "npm":
        # `npm pack` fetches the package tarball alone: no dependencies, no install scripts.
        subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(dl), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tgz = next(dl.glob("*.tgz"))
        with tarfile.open(tgz) as t:
            t.extractall(dl / "x", filter="data")
        shutil.move(str(dl / "x" / "package"), str(dest))
    else:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--disable-pip-version-check", "-d", str(dl), spec],
            check=True,
        )
        wheel = next(dl.glob("*.whl"))
        dest.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(dest)
    marker.write_text(spec)
    shutil.rmtree(dl, ignore_errors=True)
    return dest


def is_description(path):
    """Whether a file is an OpenAPI/Swagger document (by its top-level version key)."""
    try:
        if path.suffix == ".json":
            with open(path, "rb") as f:
                head = f.read(1)
            if head != b"{":
                return False
            doc = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc)
        return YAML_MARK.search(path.read_text(encoding="utf-8", errors="replace")) is not None
    except (OSError, ValueError):
        return False


def twin_key(rel):
    """JSON/YAML twins (same document in both formats) share this key."""
    parts = [p for p in Path(rel).with_suffix("").parts if p not in ("json", "yaml", "yml")]
    return "/".join(parts)


def discover(sources):
    docs = []
    seen = set()  # content hashes: a package may ship the same document twice
    for kind, spec in sources:
        name = package_name(kind, spec)
        base = PKGS / kind / name
        found = {}
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.suffix not in (".json", ".yaml", ".yml"):
                continue
            if "node_modules" in path.parts or path.name in ("package.json", "package-lock.json"):
                continue
            if path.stat().st_size < 200 or not is_description(path):
                continue
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            rel = f"{kind}/{name}/{path.relative_to(base).as_posix()}"
            key = twin_key(rel)
            # Keep one of a JSON/YAML pair: the YAML one (the loader's harder path).
            if key in found and not rel.endswith((".yaml", ".yml")):
                continue
            found[key] = (rel, path)
        for rel, path in sorted(found.values()):
            docs.append({"id": rel, "source": f"{kind} {name}", "path": str(path)})
    return docs


def run_limited(cmd, timeout, cwd=None, env=None):
    """Runs a command with a timeout; returns (exit code or None on timeout, stderr, seconds,
    peak RSS in KiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stderr.read()))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - start
    stderr = b"".join(chunks).decode("utf-8", errors="replace")
    code = None if timed_out.is_set() else proc.returncode
    return code, stderr, elapsed, usage.ru_maxrss


def classify(code, stderr):
    if code is None:
        return "timeout"
    if code == 0:
        return "generated"
    if code == 101 or code < 0 or "panicked at" in stderr or "stack overflow" in stderr:
        return "panic"
    line = next((l for l in stderr.splitlines() if l.startswith("error:")), stderr.strip())
    if "#/" in line or re.search(r"line \d+ column \d+", line):
        return "located"
    return "unlocated"


def first_error(stderr):
    for l in stderr.splitlines():
        if l.startswith("error") or "panicked at" in l:
            return l.strip()
    lines = [l for l in stderr.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def doc_slug(doc_id):
    return hashlib.sha1(doc_id.encode()).hexdigest()[:12]


def generate_all(docs, timeout):
    # Kept between runs: mcpgen rewrites only changed files, so cargo check reruns are quick.
    OUT.mkdir(parents=True, exist_ok=True)
    for i, d in enumerate(docs, 1):
        out = OUT / doc_slug(d["id"])
        code, stderr, secs, rss = run_limited(
            [str(MCPGEN), "generate", d["path"], "--out", str(out)], timeout)
        d.update(
            outcome=classify(code, stderr),
            exit=code,
            seconds=round(secs, 3),
            rss_kib=rss,
            warnings=sum(1 for l in stderr.splitlines() if l.startswith("warning:")),
            error=first_error(stderr) if code != 0 else "",
            out=str(out),
        )
        log(f"[{i}/{len(docs)}] {d['outcome']:<9} {secs:6.2f}s {d['id']}")


def check_sample(docs, size, timeout):
    generated = [d for d in docs if d["outcome"] == "generated"]
    ranked = sorted(generated, key=lambda d: hashlib.sha1(d["id"].encode()).hexdigest())
    sample = ranked[:size]
    github = next((d for d in generated if d["id"] == GITHUB_DOC), None)
    if github is not None and github not in sample:
        sample.append(github)
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(ROOT / "target" / "gen-crates")
    env["RUSTFLAGS"] = "-D warnings"
    # A hundred crates' incremental caches would take gigabytes, for builds nobody repeats.
    env["CARGO_INCREMENTAL"] = "0"
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    for i, d in enumerate(sample, 1):
        # Crates with the same name and version (two descriptions titled "Swagger Petstore")
        # would share artifacts in the one target directory, each looking up to date once the
        # other was checked. So the checked copy is generated under a name of its own.
        out = CHECKS / doc_slug(d["id"])
        # A scratch crate: no user-owned file of an earlier run (or mcpgen) may stay in it.
        shutil.rmtree(out, ignore_errors=True)
        code, stderr, _, _ = run_limited(
            [str(MCPGEN), "generate", d["path"], "--out", str(out),
             "--name", f"corpus-{doc_slug(d['id'])}"], 120)
        if code != 0:
            d["check"] = "fail"
            d["check_error"] = first_error(stderr)[:300]
            continue
        code, stderr, secs, _ = run_limited(
            ["nice", "cargo", "check", "--quiet"], timeout, cwd=str(out), env=env)
        # Its artifacts are of no further use: keep the shared target directory from growing by
        # a hundred crates.
        debug = Path(env["CARGO_TARGET_DIR"]) / "debug"
        for stem in (f"corpus_{doc_slug(d['id'])}", f"corpus-{doc_slug(d['id'])}"):
            for p in debug.glob(f"*/{stem}-*"):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        d["check"] = "pass" if code == 0 else ("timeout" if code is None else "fail")
        d["check_seconds"] = round(secs, 1)
        if code != 0:
            errs = [l for l in stderr.splitlines() if l.startswith("error")]
            d["check_error"] = (errs[0] if errs else first_error(stderr))[:300]
        log(f"[check {i}/{len(sample)}] {d['check']:<7} {secs:6.1f}s {d['id']}")
    return sample


def pct(n, total):
    return f"{100.0 * n / total:.1f}%" if total else "n/a"


def git_describe():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summary(docs, sample, args, wall):
    total = len(docs)
    count = {k: sum(1 for d in docs if d["outcome"] == k)
             for k in ("generated", "located", "unlocated", "panic", "timeout")}
    failed = count["located"] + count["unlocated"]
    secs = sorted(d["seconds"] for d in docs)
    median = secs[len(secs) // 2] if secs else 0
    checked = [d for d in sample if "check" in d]
    passed = sum(1 for d in checked if d["check"] == "pass")
    gh = next((d for d in docs if d["id"] == GITHUB_DOC), None)
    L = []
    L.append("# Corpus summary")
    L.append("")
    L.append("Written by `tests/corpus/run.sh` (see `tests/corpus/README.md`); do not edit by hand.")
    L.append(f"mcpgen {git_describe()}; documents from `tests/corpus/sources.txt` "
             f"({len({d['source'] for d in docs})} packages); generate timeout {args.timeout} s; "
             f"whole run {wall / 60:.1f} min on {os.cpu_count()} cores.")
    L.append("")
    L.append("| outcome | documents | share |")
    L.append("|---|---:|---:|")
    L.append(f"| generated | {count['generated']} | {pct(count['generated'], total)} |")
    L.append(f"| failed, located (file + `#/` pointer) | {count['located']} | {pct(count['located'], total)} |")
    L.append(f"| failed, not located | {count['unlocated']} | {pct(count['unlocated'], total)} |")
    L.append(f"| panicked | {count['panic']} | {pct(count['panic'], total)} |")
    L.append(f"| timed out | {count['timeout']} | {pct(count['timeout'], total)} |")
    L.append(f"| **total** | **{total}** | |")
    L.append("")
    if checked:
        L.append(f"`cargo check` (warnings denied) on a deterministic sample of {len(checked)} "
                 f"generated crates: **{passed} pass** ({pct(passed, len(checked))}), "
                 f"{len(checked) - passed} fail.")
    else:
        L.append("`cargo check` was skipped in this run (`--no-check`).")
    L.append("")
    if gh:
        gh_check = gh.get("check", "not checked")
        L.append(f"GitHub's description (`{GITHUB_DOC}`): {gh['outcome']} in {gh['seconds']:.2f} s, "
                 f"peak RSS {gh['rss_kib'] / 1024:.0f} MiB; `cargo check`: {gh_check}"
                 + (f" in {gh['check_seconds']:.0f} s." if "check_seconds" in gh else "."))
    L.append(f"Time per document (generate, release build): median {median:.2f} s, "
             f"max {secs[-1] if secs else 0:.2f} s; "
             f"peak RSS max {max((d['rss_kib'] for d in docs), default=0) / 1024:.0f} MiB.")
    L.append("")
    L.append("## Acceptance")
    L.append("")
    checks = [
        ("0 panics", count["panic"] == 0),
        ("0 hangs (timeouts)", count["timeout"] == 0),
        ("at least 99% generate", total and count["generated"] / total >= 0.99),
        ("every failure located", count["unlocated"] == 0),
        ("at least 95% of the sample passes cargo check",
         bool(checked) and passed / len(checked) >= 0.95),
        ("GitHub's description generates and its crate compiles",
         gh is not None and gh["outcome"] == "generated" and gh.get("check") == "pass"),
    ]
    for name, ok in checks:
        L.append(f"- [{'x' if ok else ' '}] {name}")
    L.append("")
    L.append("## By package")
    L.append("")
    L.append("| package | documents | generated | failed (located) | failed (not located) | panicked | timed out |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for src in sorted({d["source"] for d in docs}):
        ds = [d for d in docs if d["source"] == src]
        c = lambda k: sum(1 for d in ds if d["outcome"] == k)
        L.append(f"| {src} | {len(ds)} | {c('generated')} | {c('located')} | {c('unlocated')} "
                 f"| {c('panic')} | {c('timeout')} |")
    L.append("")
    if failed or count["panic"] or count["timeout"]:
        L.append("## Failures")
        L.append("")
        for d in docs:
            if d["outcome"] != "generated":
                msg = d["error"].replace("|", "\\|").replace(str(PKGS) + "/", "")
                L.append(f"- `{d['id']}` ({d['outcome']}): {msg[:400]}")
        L.append("")
    bad = [d for d in checked if d["check"] != "pass"]
    if bad:
        L.append("## Crates that did not pass cargo check")
        L.append("")
        for d in bad:
            L.append(f"- `{d['id']}` ({d['check']}): {d.get('check_error', '')}")
        L.append("")
    L.append("## Documents")
    L.append("")
    L.append("| document | outcome | generate s | warnings | cargo check |")
    L.append("|---|---|---:|---:|---|")
    for d in docs:
        L.append(f"| `{d['id']}` | {d['outcome']} | {d['seconds']:.2f} | {d['warnings']} "
                 f"| {d.get('check', '')} |")
    L.append("")
    return "\n".join(L), all(ok for _, ok in checks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=str(ROOT / "tests" / "corpus" / "sources.txt"))
    ap.add_argument("--summary", default=str(ROOT / "tests" / "corpus" / "SUMMARY.md"))
    ap.add_argument("--timeout", type=int, default=60, help="seconds per generate")
    ap.add_argument("--sample", type=int, default=100, help="crates to cargo check")
    ap.add_argument("--check-timeout", type=int, default=1800)
    ap.add_argument("--no-check", action="store_true", help="skip cargo check")
    args = ap.parse_args()
    start = time.monotonic()
    sources = read_sources(args.sources)
    for kind, spec in sources:
        log(f"install {kind} {spec}")
        install(kind, spec)
    docs = discover(sources)
    log(f"{len(docs)} documents")
    generate_all(docs, args.timeout)
    sample = [] if args.no_check else check_sample(docs, args.sample, args.check_timeout)
    text, ok = summary(docs, sample, args, time.monotonic() - start)
    Path(args.summary).write_text(text)
    (CACHE / "results.json").write_text(json.dumps(docs, indent=1))
    log(f"summary: {args.summary}; details: {CACHE / 'results.json'}")
    print(text.split("## By package")[0])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
