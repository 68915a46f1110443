// A small upstream API for the conformance run: the petstore operations the checks call, and
// 200 `{"id": ...}` for every `GET /items/{id}` of the synthetic paging API. Every request is
// appended to LOG as `METHOD /path?query`. Prints `listening PORT` once it accepts connections.
//
//   node upstream.mjs LOG
import { appendFileSync } from "node:fs";
import http from "node:http";

const log = process.argv[2];
const pets = [
  { id: 1, name: "rex", tag: "dog" },
  { id: 7, name: "tom", tag: null },
];

const server = http.createServer((req, res) => {
  appendFileSync(log, `${req.method} ${req.url}\n`);
  const send = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  req.resume();
  req.on("end", () => {
    const path = new URL(req.url, "http://upstream").pathname;
    const pet = path.match(/^\/pets\/([^/]+)$/);
    const item = path.match(/^\/items\/([^/]+)$/);
    if (req.method === "GET" && path === "/pets") return send(200, pets);
    if (req.method === "GET" && pet) {
      const found = pets.find((p) => String(p.id) === decodeURIComponent(pet[1]));
      return found ? send(200, found) : send(404, { code: 404, message: `no pet ${pet[1]}` });
    }
    if (req.method === "GET" && item) return send(200, { id: decodeURIComponent(item[1]) });
    send(404, { code: 404, message: "not found" });
  });
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
