import { createTestClient } from "lantern-mcp/testing";
import { DataPipeline } from "../../examples/data-pipeline/data-pipeline.js";

describe("examples/data-pipeline", () => {
  it("reports each stage with log messages and progress, honouring the client's log level", async () => {
    const client = await createTestClient(DataPipeline);
    await client.client.setLoggingLevel("info");
    const result = await client.callTool("run_pipeline", { dataset: "sales", stages: ["extract", "clean", "load"] }, { progress: true });
    expect(result.structuredContent).toEqual({ dataset: "sales", rows: 963, stages: ["extract", "clean", "load"] });
    expect(client.logs).toEqual([
      { level: "info", logger: "pipeline", data: "Starting 3 stages on sales" },
      { level: "notice", logger: "pipeline", data: "Finished: 963 rows" },
    ]);
    expect(client.progress.map((p) => p.message)).toEqual(["extract done", "clean done", "load done"]);
    await client.close();
  });

  it("ends a failing stage with an error message and an isError result", async () => {
    const client = await createTestClient(DataPipeline);
    const result = await client.callTool("run_pipeline", { dataset: "locked", stages: ["load"] });
    expect(result).toMatchObject({ isError: true, content: [{ type: "text", text: "Dataset locked is locked; try again later" }] });
    expect(client.logs.map((l) => l.level)).toEqual(["info", "debug", "error"]);
    await client.close();
  });

  it("refuses unknown stages", async () => {
    const client = await createTestClient(DataPipeline);
    await expect(client.callTool("run_pipeline", { dataset: "x", stages: ["explode"] })).rejects.toThrow(/stages/);
    await client.close();
  });
});
