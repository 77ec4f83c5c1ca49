import "reflect-metadata";
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, Length } from "class-validator";
import { Inject, ProgressReporter, Server, ServerLogger, Tool, ToolError } from "lantern-mcp";

export class RunPipeline {
  @IsString() @Length(1, 64) dataset!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10) @IsIn(["extract", "clean", "enrich", "load"], { each: true }) stages!: string[];
}

/**
 * The seed's data pipeline: a long-running tool that tells the client what it is doing with
 * `ServerLogger` messages and `notifications/progress`.
 */
@Server({ name: "data-pipeline", version: "1.0.0" })
export class DataPipeline {
  @Tool({ description: "Run pipeline stages over a dataset, reporting each stage" })
  async runPipeline(input: RunPipeline, @Inject(ServerLogger) logger: ServerLogger, @Inject(ProgressReporter) progress: ProgressReporter) {
    const log = logger.child("pipeline");
    await log.info(`Starting ${input.stages.length} stages on ${input.dataset}`);
    let rows = 1000;
    for (const [index, stage] of input.stages.entries()) {
      await log.debug(`stage ${stage}: ${rows} rows in`);
      if (stage === "clean") rows -= 37;
      if (stage === "load" && input.dataset === "locked") {
        await log.error(`stage load: dataset ${input.dataset} is locked`);
        throw new ToolError(`Dataset ${input.dataset} is locked; try again later`);
      }
      await progress.report(index + 1, input.stages.length, `${stage} done`);
    }
    await log.notice(`Finished: ${rows} rows`);
    return { dataset: input.dataset, rows, stages: input.stages };
  }
}
