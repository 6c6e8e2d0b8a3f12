// Parse Mermaid diagrams with Mermaid's own parser, many per run (Node start-up is slow).
//
// stdin: a JSON array of diagram sources (the text inside a ```mermaid fence).
// stdout: a JSON array, one verdict per source, in order:
//   {"ok": true, "type": "gantt" | "xychart", "data": {...}}   what the parser understood
//   {"ok": false, "error": "<the parser's message>"}
// gantt data: title, dateFormat, axisFormat, sections, tasks [{section, task, start, end}]
// (start/end as ISO 8601 UTC; run with TZ=UTC, as dates are read in local time).
// xychart data: title, x (categories), y {title, min, max}, bars (one array per bar plot).
// Mermaid needs a DOM (DOMPurify sanitizes every label), so happy-dom provides one.
import { Window } from "happy-dom";

const win = new Window();
globalThis.window = win;
globalThis.document = win.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

function iso(date) {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}

function gantt(db) {
  const tasks = db.getTasks(); // resolves the dates: an invalid one throws here
  return {
    title: db.getDiagramTitle(),
    dateFormat: db.getDateFormat(),
    axisFormat: db.getAxisFormat(),
    sections: db.getSections(),
    tasks: tasks.map((t) => ({
      section: t.section,
      task: t.task,
      start: iso(t.startTime),
      end: iso(t.endTime),
    })),
  };
}

function xychart(db) {
  const d = db.getXYChartData();
  return {
    title: db.getDiagramTitle(), // copied into getXYChartData() only when drawn
    x: d.xAxis.categories ?? null,
    y: { title: d.yAxis.title, min: d.yAxis.min ?? null, max: d.yAxis.max ?? null },
    bars: d.plots.filter((p) => p.type === "bar").map((p) => p.data.map(([, v]) => v)),
  };
}

async function verdict(source) {
  try {
    await mermaid.parse(source);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source);
    const read = { gantt, xychart }[diagram.type];
    return { ok: true, type: diagram.type, data: read ? read(diagram.db) : null };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const sources = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const out = [];
for (const source of sources) out.push(await verdict(String(source)));
process.stdout.write(JSON.stringify(out) + "\n");
await win.happyDOM.close();
