// Judges one run of the conformance suite from its output directory (`-o DIR`: one
// `server-<scenario>-<time>/checks.json` per scenario) against the baseline in
// expected-failures.yml, and prints one line per scenario and a last line `SUMMARY <passed>
// <failed> <expected>`. Exit status 0 when nothing failed unexpectedly.
//
//   node evaluate.mjs DIR BASELINE --required a,b,c [--section NAME] [--only]
//
// A scenario fails when a check reports FAILURE or WARNING (as the suite's own baseline logic
// counts them). Baseline entries, under the top-level key NAME (default `server`, the section
// the suite itself reads): `scenario` (the whole scenario is expected to fail) or
// `scenario:check-id`. An entry that passes, or names a scenario that was not judged, is stale
// and fails the run. Every required scenario must have run and passed; it may only have single
// checks in the baseline. With --only, just the required scenarios are judged (a second pass in
// another server mode, with its own section).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const [dir, baselinePath] = args;
const required = (args[args.indexOf("--required") + 1] ?? "").split(",").filter(Boolean);
const only = args.includes("--only");
const section = args.includes("--section") ? args[args.indexOf("--section") + 1] : "server";

// The baseline: `  - entry  # reason` lines under `<section>:`; each must give a reason.
const whole = new Map();
const checks = new Map();
const problems = [];
let current = "";
for (const [n, line] of readFileSync(baselinePath, "utf8").split("\n").entries()) {
  const key = line.match(/^([A-Za-z][\w-]*):\s*(#.*)?$/);
  if (key) current = key[1];
  const m = line.match(/^\s*-\s*([^\s#]+)\s*(?:#\s*(.*))?$/);
  if (!m || current !== section) continue;
  const [, entry, reason] = m;
  if (!reason || !reason.trim()) problems.push(`${baselinePath}:${n + 1}: entry ${entry} gives no reason`);
  const colon = entry.indexOf(":");
  if (colon < 0) whole.set(entry, reason);
  else {
    const scenario = entry.slice(0, colon);
    if (!checks.has(scenario)) checks.set(scenario, new Map());
    checks.get(scenario).set(entry.slice(colon + 1), reason);
  }
}

// The results.
const results = new Map();
for (const name of readdirSync(dir)) {
  const m = name.match(/^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/);
  if (!m) continue;
  const list = JSON.parse(readFileSync(join(dir, name, "checks.json"), "utf8"));
  const bad = new Set();
  const good = new Set();
  for (const c of list) {
    if (c.status === "FAILURE" || c.status === "WARNING") bad.add(c.id);
    else if (c.status === "SUCCESS") good.add(c.id);
  }
  results.set(m[1], { bad, good, count: list.filter((c) => c.status === "SUCCESS").length });
}

let passed = 0;
let failed = 0;
let expected = 0;
const lines = [];
const scenarios = only ? required : [...results.keys()].sort();
for (const scenario of scenarios) {
  const r = results.get(scenario);
  const isRequired = required.includes(scenario);
  const tag = isRequired ? " (required)" : "";
  if (!r) {
    failed++;
    lines.push(`FAIL  ${scenario}${tag}: did not run`);
    continue;
  }
  if (r.count === 0 && r.bad.size === 0 && !whole.has(scenario) && !checks.has(scenario)) {
    if (isRequired) {
      failed++;
      lines.push(`FAIL  ${scenario}${tag}: no check applied`);
    } else {
      lines.push(`N/A   ${scenario}: no check applies to this server`);
    }
    continue;
  }
  if (!only && whole.has(scenario)) {
    if (isRequired) {
      failed++;
      lines.push(`FAIL  ${scenario}${tag}: a required scenario cannot be in the baseline as a whole`);
    } else if (r.bad.size > 0) {
      expected++;
      lines.push(`XFAIL ${scenario}: ${whole.get(scenario)}`);
    } else {
      failed++;
      lines.push(`FAIL  ${scenario}: passes now, remove it from the baseline (stale)`);
    }
    continue;
  }
  const allowed = checks.get(scenario) ?? new Map();
  const unexpected = [...r.bad].filter((id) => !allowed.has(id));
  const stale = [...allowed.keys()].filter((id) => !r.bad.has(id));
  if (unexpected.length > 0 || stale.length > 0) {
    failed++;
    const why = [];
    if (unexpected.length) why.push(`failing checks ${unexpected.join(", ")}`);
    if (stale.length) why.push(`baseline checks no longer failing ${stale.join(", ")} (stale)`);
    lines.push(`FAIL  ${scenario}${tag}: ${why.join("; ")}`);
  } else {
    passed++;
    const note = allowed.size ? `; ${allowed.size} checks not testable without the suite's fixture tools (baseline)` : "";
    lines.push(`PASS  ${scenario}${tag}: ${r.count} checks passed${note}`);
  }
}
for (const scenario of new Set([...whole.keys(), ...checks.keys()])) {
  if (!scenarios.includes(scenario) || !results.has(scenario)) {
    problems.push(`baseline (${section}) entry for ${scenario}, which was not judged (stale)`);
  }
}
for (const p of problems) {
  failed++;
  lines.push(`FAIL  ${p}`);
}
console.log(lines.join("\n"));
console.log(`SUMMARY ${passed} ${failed} ${expected}`);
process.exit(failed > 0 ? 1 : 0);
