// Checks of a running generated server beyond the conformance suite, one group per call. Prints
// `ok - ...` or `not ok - ...: why` per check; exit status 1 when one failed.
//
//   node checks.mjs http      URL TOOLS_JSON           host/origin protection, /healthz, every protocol version
//   node checks.mjs inspector URL TOOLS_JSON INSPECTOR UPSTREAM_LOG
//   node checks.mjs dead      URL INSPECTOR            (after the upstream API was stopped)
//   node checks.mjs stdio     BINARY TOOLS_JSON INSPECTOR
//   node checks.mjs paging    URL TOOLS_JSON           (a server with more tools than one page)
//   node checks.mjs stateful  URL TOOLS_JSON
//
// URL is the server's `/mcp` endpoint; TOOLS_JSON the crate's generated `src/tools.json`, the
// tool list the server must return (names, in this order).
import { spawnSync } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [group, ...rest] = process.argv.slice(2);
let failures = 0;

function check(name, ok, why = "") {
  if (ok) console.log(`ok - ${name}`);
  else {
    failures++;
    console.log(`not ok - ${name}${why ? `: ${why}` : ""}`);
  }
}

function toolNames(toolsJson) {
  return JSON.parse(readFileSync(toolsJson, "utf8")).tools.map((t) => t.name);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const short = (v) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s && s.length > 300 ? `${s.slice(0, 300)}...` : s;
};

/** One JSON-RPC POST; `json` is the parsed body (JSON or the first SSE `data:` message). */
async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    const data = text.split("\n").find((l) => l.startsWith("data:") && l.length > 6);
    if (data) json = JSON.parse(data.slice(5));
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A POST with a Host header of our choice (fetch always sends the URL's own). */
function postWithHost(url, host, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { host, "content-type": "application/json", accept: "application/json, text/event-stream" },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

let nextId = 1;
const request = (method, params) => ({ jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) });

/** Request `_meta` and headers of protocol 2026-07-28, which has no initialize. */
function modern(method, params = {}, name) {
  const body = request(method, {
    ...params,
    _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "checks", version: "1.0.0" },
    },
  });
  const headers = { "mcp-protocol-version": "2026-07-28", "mcp-method": method };
  if (name) headers["mcp-name"] = name;
  return [body, headers];
}

async function initialize(url, version) {
  return post(url, request("initialize", {
    protocolVersion: version,
    capabilities: {},
    clientInfo: { name: "checks", version: "1.0.0" },
  }));
}

/** Runs the Inspector CLI; its HOME (where it keeps state) is a fresh temporary directory. */
function inspector(bin, args) {
  const home = mkdtempSync(join(tmpdir(), "inspector-home-"));
  try {
    const r = spawnSync(process.execPath, [bin, "--cli", ...args], {
      cwd: home,
      env: { ...process.env, HOME: home },
      encoding: "utf8",
      timeout: 90000,
    });
    let json;
    try {
      json = JSON.parse(r.stdout);
    } catch {}
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const text = (result) => (result?.content ?? []).map((c) => c.text ?? "").join("\n");

const groups = {
  async http(url, toolsJson) {
    const names = toolNames(toolsJson);
    const base = url.replace(/\/mcp$/, "");
    const health = await fetch(`${base}/healthz`);
    check("GET /healthz answers 200 ok", health.status === 200 && (await health.text()) === "ok");

    const init = request("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } });
    let status = await postWithHost(url, "evil.example", init);
    check("a foreign Host header gets 403", status === 403, `HTTP ${status}`);
    status = await postWithHost(url, `localhost:${new URL(url).port}`, init);
    check("Host: localhost:<port> is served", status === 200, `HTTP ${status}`);
    let r = await post(url, init, { origin: "http://evil.example" });
    check("a foreign Origin header gets 403", r.status === 403, `HTTP ${r.status}`);
    r = await post(url, init, { origin: "http://evil.example:8000" });
    check("a foreign Origin with a port gets 403", r.status === 403, `HTTP ${r.status}`);
    r = await post(url, init, { origin: "null" });
    check("Origin: null gets 403", r.status === 403, `HTTP ${r.status}`);
    r = await post(url, init, { origin: "http://localhost:6274" });
    check("a loopback Origin (any port) is served", r.status === 200, `HTTP ${r.status}`);
    r = await post(url, init, { origin: "https://127.0.0.1:1234" });
    check("an https loopback Origin is served", r.status === 200, `HTTP ${r.status}`);
    const get = await fetch(url, { headers: { accept: "text/event-stream" } });
    check("stateless: GET /mcp (no event stream) is 405", get.status === 405, `HTTP ${get.status}`);

    for (const version of ["2025-03-26", "2025-06-18", "2025-11-25"]) {
      r = await initialize(url, version);
      check(`${version}: initialize negotiates ${version}`, r.json?.result?.protocolVersion === version, short(r.text));
      check(`${version}: no Mcp-Session-Id (stateless)`, !r.headers.get("mcp-session-id"));
      const headers = version === "2025-03-26" ? {} : { "mcp-protocol-version": version };
      r = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
      check(`${version}: notifications/initialized is 202`, r.status === 202, `HTTP ${r.status}`);
      r = await post(url, request("tools/list"), headers);
      const listed = r.json?.result?.tools?.map((t) => t.name);
      check(`${version}: tools/list lists every tool in order`, same(listed, names), short(r.text));
      check(`${version}: no caching hints for a pre-2026 client`, r.json?.result && !("ttlMs" in r.json.result), short(r.text));
      r = await post(url, request("tools/call", { name: "show_pet_by_id", arguments: { petId: "1" } }), headers);
      const result = r.json?.result;
      check(`${version}: tools/call returns the upstream's answer`, result && !result.isError && text(result).includes('"rex"'), short(r.text));
      r = await post(url, request("tools/call", { name: "no_such_tool", arguments: {} }), headers);
      check(`${version}: an unknown tool is JSON-RPC -32602`, r.json?.error?.code === -32602, short(r.text));
    }

    let [body, headers] = modern("server/discover");
    r = await post(url, body, headers);
    const versions = r.json?.result?.supportedVersions ?? [];
    check("2026-07-28: server/discover lists all four versions",
      ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"].every((v) => versions.includes(v)), short(r.text));
    [body, headers] = modern("tools/list");
    r = await post(url, body, headers);
    const list = r.json?.result;
    check("2026-07-28: tools/list lists every tool in order", same(list?.tools?.map((t) => t.name), names), short(r.text));
    check("2026-07-28: tools/list has caching hints (ttlMs 300000, private)",
      list?.ttlMs === 300000 && list?.cacheScope === "private", short({ ttlMs: list?.ttlMs, cacheScope: list?.cacheScope }));
    check("2026-07-28: tools/list fits one page (no nextCursor)", list && !list.nextCursor);
    [body, headers] = modern("tools/call", { name: "show_pet_by_id", arguments: { petId: "7" } }, "show_pet_by_id");
    r = await post(url, body, headers);
    check("2026-07-28: tools/call returns structuredContent",
      same(r.json?.result?.structuredContent, { id: 7, name: "tom", tag: null }), short(r.text));
    [body, headers] = modern("ping");
    r = await post(url, body, headers);
    check("2026-07-28: ping (removed) is 404 / -32601", r.status === 404 && r.json?.error?.code === -32601, `HTTP ${r.status} ${short(r.text)}`);
    [body, headers] = modern("resources/read", { uri: "file:///etc/passwd" }, "file:///etc/passwd");
    r = await post(url, body, headers);
    check("2026-07-28: resources/read of anything is -32602 (no resources)", r.json?.error?.code === -32602, short(r.text));
  },

  async inspector(url, toolsJson, bin, upstreamLog) {
    const names = toolNames(toolsJson);
    let r = inspector(bin, [url, "--method", "tools/list"]);
    check("inspector tools/list exits 0", r.code === 0, `exit ${r.code}: ${short(r.stderr)}`);
    check("inspector tools/list shows every tool in order", same(r.json?.tools?.map((t) => t.name), names), short(r.stdout));
    const pets = r.json?.tools?.find((t) => t.name === "show_pet_by_id");
    check("inspector sees show_pet_by_id's schemas and annotations",
      pets?.inputSchema?.required?.includes("petId") && pets?.outputSchema?.type === "object" && pets?.annotations?.readOnlyHint === true,
      short(pets));

    r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "show_pet_by_id", "--tool-arg", 'petId="7"']);
    check("inspector tools/call show_pet_by_id petId=\"7\" exits 0", r.code === 0, `exit ${r.code}: ${short(r.stderr)}`);
    check("inspector tools/call returns the pet as structuredContent",
      same(r.json?.structuredContent, { id: 7, name: "tom", tag: null }) && !r.json?.isError, short(r.stdout));

    r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "list_pets", "--tool-arg", "limit=2"]);
    check("inspector tools/call list_pets limit=2 exits 0", r.code === 0, `exit ${r.code}: ${short(r.stderr)}`);
    check("list_pets wraps the array as {result: [...]}", r.json?.structuredContent?.result?.length === 2, short(r.stdout));
    const log = readFileSync(upstreamLog, "utf8").split("\n");
    check("the upstream received GET /pets?limit=2", log.includes("GET /pets?limit=2"), short(log.slice(-5)));

    r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "show_pet_by_id", "--tool-arg", 'petId="404"']);
    check("upstream 404: inspector exits 5 (isError)", r.code === 5, `exit ${r.code}`);
    check("upstream 404: the tool error names the status", r.json?.isError === true && text(r.json).includes("404"), short(r.stdout));

    const before = readFileSync(upstreamLog, "utf8").length;
    r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "show_pet_by_id", "--tool-arg", "petId=7"]);
    check("wrong argument type: inspector exits 5 (isError)", r.code === 5, `exit ${r.code}`);
    check("wrong argument type: the tool error names petId", r.json?.isError === true && text(r.json).includes("petId"), short(r.stdout));
    const after = readFileSync(upstreamLog, "utf8").slice(before);
    check("a bad argument never reaches the upstream", after === "", short(after));

    r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "no_such_tool"]);
    check("unknown tool: inspector reports tool_not_found (it checks tools/list first)",
      r.code !== 0 && r.stderr.includes("tool_not_found") && !r.json, `exit ${r.code}: ${short(r.stderr)}`);
  },

  async dead(url, bin) {
    let r = inspector(bin, [url, "--method", "tools/call", "--tool-name", "list_pets"]);
    check("dead upstream: inspector exits 5 (isError)", r.code === 5, `exit ${r.code}: ${short(r.stderr)}`);
    check("dead upstream: the tool error says it cannot connect", r.json?.isError === true && /connect/i.test(text(r.json)), short(r.stdout));
    r = inspector(bin, [url, "--method", "tools/list"]);
    check("dead upstream: the server still answers tools/list", r.code === 0 && r.json?.tools?.length > 0, `exit ${r.code}`);
  },

  async stdio(binary, toolsJson, bin) {
    const names = toolNames(toolsJson);
    let r = inspector(bin, ["--method", "tools/list", "--", binary, "--transport", "stdio", "--upstream-url", "http://127.0.0.1:9"]);
    check("stdio: inspector tools/list exits 0", r.code === 0, `exit ${r.code}: ${short(r.stderr)}`);
    check("stdio: every tool in order", same(r.json?.tools?.map((t) => t.name), names), short(r.stdout));
    r = inspector(bin, ["--method", "tools/call", "--tool-name", "show_pet_by_id", "--tool-arg", 'petId="1"', "--",
      binary, "--transport", "stdio", "--upstream-url", "http://127.0.0.1:9"]);
    check("stdio: a call with the upstream down is a tool error (exit 5)", r.code === 5 && r.json?.isError === true, `exit ${r.code}: ${short(r.stdout)}`);
  },

  async paging(url, toolsJson) {
    const names = toolNames(toolsJson);
    check(`the paging API has more tools than one page (${names.length})`, names.length > 100);
    const styles = {
      "2025-11-25": (cursor) => [request("tools/list", cursor ? { cursor } : undefined), { "mcp-protocol-version": "2025-11-25" }],
      "2026-07-28": (cursor) => modern("tools/list", cursor ? { cursor } : {}),
    };
    for (const [version, make] of Object.entries(styles)) {
      const pages = [];
      const cursors = [];
      let cursor;
      do {
        const [body, headers] = make(cursor);
        const r = await post(url, body, headers);
        const result = r.json?.result;
        if (!result) {
          check(`${version}: page ${pages.length + 1}`, false, short(r.text));
          break;
        }
        pages.push(result.tools.map((t) => t.name));
        cursor = result.nextCursor;
        if (cursor) cursors.push(cursor);
      } while (cursor && pages.length <= names.length);
      check(`${version}: ${pages.length} pages of ${pages.map((p) => p.length).join(", ")} tools`,
        pages.length === Math.ceil(names.length / 100) && pages.slice(0, -1).every((p) => p.length === 100));
      check(`${version}: the pages concatenate to the whole list, in order`, same(pages.flat(), names));
      check(`${version}: cursors are opaque (no offset in plain sight)`, cursors.every((c) => !/^\d+$/.test(c)), short(cursors));
    }
    const again = await post(url, ...modern("tools/list", { cursor: (await post(url, ...modern("tools/list"))).json.result.nextCursor }));
    check("the same cursor gives the same page (deterministic, any instance)", again.json?.result?.tools?.[0]?.name === names[100]);
    const bad = await post(url, ...modern("tools/list", { cursor: "bm90IGEgY3Vyc29y" }));
    check("an invalid cursor is JSON-RPC -32602", bad.json?.error?.code === -32602, short(bad.text));
  },

  async stateful(url, toolsJson) {
    const names = toolNames(toolsJson);
    let r = await initialize(url, "2025-11-25");
    const session = r.headers.get("mcp-session-id");
    check("stateful: initialize returns an Mcp-Session-Id", !!session);
    const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
    r = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
    check("stateful: notifications/initialized is 202", r.status === 202, `HTTP ${r.status}`);
    r = await post(url, request("tools/list"), headers);
    check("stateful: tools/list in the session", same(r.json?.result?.tools?.map((t) => t.name), names), short(r.text));
    r = await post(url, request("tools/list"), { "mcp-protocol-version": "2025-11-25", "mcp-session-id": "no-such-session" });
    check("stateful: an unknown session is 404", r.status === 404, `HTTP ${r.status}`);
    const del = await fetch(url, { method: "DELETE", headers });
    check("stateful: DELETE ends the session", del.status >= 200 && del.status < 300, `HTTP ${del.status}`);
    r = await post(url, request("tools/list"), headers);
    check("stateful: the ended session is gone (404)", r.status === 404, `HTTP ${r.status}`);
    const [body, modernHeaders] = modern("tools/list");
    r = await post(url, body, modernHeaders);
    check("stateful: 2026-07-28 requests are still served without a session", same(r.json?.result?.tools?.map((t) => t.name), names), short(r.text));
  },
};

try {
  await groups[group](...rest);
} catch (error) {
  check(`${group} checks ran`, false, error?.stack ?? String(error));
}
process.exit(failures > 0 ? 1 : 0);
