// Prints an OpenAPI 3.1 document with COUNT `GET /items/{id}` style operations (one path each),
// for a server whose tools/list needs several pages.
//
//   node synth-spec.mjs COUNT
const count = Number(process.argv[2] ?? 250);
const paths = {};
for (let i = 0; i < count; i++) {
  const n = String(i).padStart(4, "0");
  paths[`/items/item-${n}`] = {
    get: {
      operationId: `get_item_${n}`,
      summary: `Item ${n}`,
      responses: {
        200: {
          description: "the item",
          content: { "application/json": { schema: { type: "object", properties: { id: { type: "string" } } } } },
        },
      },
    },
  };
}
const spec = {
  openapi: "3.1.0",
  info: { title: "Paging", version: "1.0.0" },
  servers: [{ url: "http://127.0.0.1:9" }],
  paths,
};
console.log(JSON.stringify(spec, null, 1));
