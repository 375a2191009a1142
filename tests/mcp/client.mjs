// Checks `carbonledger mcp` with the official MCP TypeScript SDK client:
// lists the tools, calls each one with valid arguments and with bad ones,
// and compares one result with `carbonledger query --json`.
//
//   node client.mjs stdio EXPECTED.json CARBONLEDGER ARG...
//   node client.mjs http EXPECTED.json URL [TOKEN]
//
// EXPECTED.json is the output of `query get_cluster_carbon_summary --date
// 2026-03-10 --json` on the same database. Exits 1 on the first failed
// check, printing it.
import { readFileSync } from "node:fs";
import { deepStrictEqual, strictEqual, ok } from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  EmptyResultSchema,
  LATEST_PROTOCOL_VERSION,
} from "@modelcontextprotocol/sdk/types.js";

const [mode, expectedPath, target, ...rest] = process.argv.slice(2);
const date = "2026-03-10";
const profile = [
  380, 375, 370, 365, 370, 380, 390, 410, 430, 445, 455, 460, 465, 470,
  475, 470, 465, 460, 450, 440, 425, 410, 400, 390,
];

const calls = {
  assess_workload_compliance: { date, workload: "nginx-light" },
  list_workloads_by_compliance: { date, sort_by: "power" },
  compare_optimization_impact: {
    date,
    workload: "nginx-light",
    rightsizing_percent: 10,
    pue: 1.275,
  },
  get_regional_comparison: { date, workload: "nginx-light" },
  calculate_optimal_schedule: {
    duration_hours: 4,
    earliest_start: "2026-03-10T00:00+09:00",
    profile,
  },
  get_power_hotspots: { date, top_n: 3 },
  analyze_workload_power_trend: { date, days: 3 },
  get_cluster_carbon_summary: { date },
};

const badCalls = [
  ["get_power_hotspots", { date, threshold_w: "abc" }, "must be a number"],
  ["assess_workload_compliance", { date, workload: "nope" }, "not found"],
  ["calculate_optimal_schedule", { duration_hours: 0, profile }, "at least 1"],
  [
    "calculate_optimal_schedule",
    {
      duration_hours: 4,
      profile,
      earliest_start: "2026-03-10T05:00+09:00",
      deadline: "2026-03-10T01:00+09:00",
    },
    "deadline",
  ],
  ["calculate_optimal_schedule", { duration_hours: 25, profile }, "longer"],
  ["get_cluster_carbon_summary", { date: "2026-01-02" }, "no samples"],
  ["list_workloads_by_compliance", { date, namespace: "shop" }, "namespace"],
  ["get_power_hotspots", { date, top_n: 1e20 }, "top_n is out of range"],
  [
    "compare_optimization_impact",
    { date, pue: 2 },
    "pue 2 is above the period's PUE",
  ],
  [
    "calculate_optimal_schedule",
    { duration_hours: 4, profile: [1e308, ...profile.slice(1)] },
    "profile value 1 (KST hour 0)",
  ],
];

function transport() {
  if (mode === "stdio")
    return new StdioClientTransport({
      command: target,
      args: rest,
      stderr: "ignore",
    });
  const headers = rest[0] ? { Authorization: `Bearer ${rest[0]}` } : {};
  return new StreamableHTTPClientTransport(new URL(target), {
    requestInit: { headers },
  });
}

async function expectRpcError(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    strictEqual(e.code, code, `${what}: error code`);
    return;
  }
  throw new Error(`${what}: no JSON-RPC error`);
}

const client = new Client({ name: "carbonledger-e2e", version: "1.0.0" });
const t = transport();
await client.connect(t);
strictEqual(client.getServerVersion().name, "carbonledger");

const { tools } = await client.listTools();
deepStrictEqual(tools.map((x) => x.name).sort(), Object.keys(calls).sort());
for (const tool of tools) {
  strictEqual(tool.inputSchema.type, "object", `${tool.name} schema`);
  ok(Object.keys(tool.inputSchema.properties).length > 0, tool.name);
  strictEqual(tool.annotations.readOnlyHint, true, tool.name);
}

const results = {};
for (const [name, args] of Object.entries(calls)) {
  const r = await client.callTool({ name, arguments: args });
  ok(!r.isError, `${name} failed: ${JSON.stringify(r.content)}`);
  strictEqual(r.structuredContent.analysis, name);
  deepStrictEqual(JSON.parse(r.content[0].text), r.structuredContent);
  results[name] = r.structuredContent;
}
strictEqual(results.calculate_optimal_schedule.best.start_kst,
  "2026-03-10 01:00");
strictEqual(
  results.calculate_optimal_schedule.best.mean_intensity_g_per_kwh, 370);
strictEqual(results.compare_optimization_impact.combined.reduction_percent,
  23.5);
strictEqual(results.get_cluster_carbon_summary.cluster.energy_j, 8640000);
deepStrictEqual(results.get_cluster_carbon_summary,
  JSON.parse(readFileSync(expectedPath, "utf8")));

for (const [name, args, text] of badCalls) {
  const r = await client.callTool({ name, arguments: args });
  strictEqual(r.isError, true, `${name} ${JSON.stringify(args)}`);
  ok(r.content[0].text.includes(text),
    `${name}: '${text}' not in '${r.content[0].text}'`);
}
await expectRpcError(client.callTool({ name: "no_such_tool", arguments: {} }),
  -32602, "unknown tool");
await expectRpcError(
  client.request({ method: "no/such_method", params: {} }, EmptyResultSchema),
  -32601, "unknown method");
await client.ping();

if (mode === "http") {
  ok(t.sessionId, "no Mcp-Session-Id from initialize");
  await t.terminateSession();
}
await client.close();
console.log(`ok: ${mode}: ${tools.length} tools, ${badCalls.length} bad ` +
  `calls rejected (SDK latest protocol ${LATEST_PROTOCOL_VERSION})`);
