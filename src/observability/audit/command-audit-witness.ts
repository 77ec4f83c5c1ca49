import { checkOptions, defineOptions, option } from "../../core/options.js";
import { spawn } from "node:child_process";
import type { AuditHead } from "./audit-entry.js";
import type { AuditWitness } from "./audit-witness.js";

/** Options of {@link CommandAuditWitness}. */
export interface CommandAuditWitnessOptions {
  /** The program to run (no shell is involved). */
  command: string;
  args?: readonly string[];
  /** Kill the command and count a failure after this long; default 5000 ms. */
  timeoutMs?: number;
}

const COMMAND_WITNESS_OPTIONS = defineOptions<CommandAuditWitnessOptions>("CommandAuditWitness options", {
  command: option.required(option.string({ nonEmpty: true }), "it is the program that receives each head"),
  args: option.stringList(),
  timeoutMs: option.milliseconds(1),
}, { cmd: 'use "command"', arguments: 'use "args"', timeout: 'use "timeoutMs"' });

/**
 * Runs a command for each signed audit head, with the head as one JSON line on its standard input;
 * exit code 0 means the witness holds it. For instance a script that ships the line to a write-once
 * bucket, a remote syslog or another host over ssh.
 *
 * @example
 * new AuditMiddleware({ logPath, witnesses: [new CommandAuditWitness({ command: "/usr/local/bin/ship-head" })] });
 */
export class CommandAuditWitness implements AuditWitness {
  readonly name: string;
  private readonly timeoutMs: number;
  private readonly args: readonly string[];

  constructor(options: CommandAuditWitnessOptions) {
    options = checkOptions(COMMAND_WITNESS_OPTIONS, options);
    this.name = options.command;
    this.args = [...(options.args ?? [])];
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  send(head: AuditHead): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.name, this.args, { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the witness command did not finish within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      child.stderr!.on("data", (chunk: Buffer) => {
        if (stderr.length < 1000) stderr += chunk.toString("utf8");
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`the witness command exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim().slice(0, 300)}` : ""}`));
      });
      // A command that exits without reading its input is its own failure, reported through close.
      child.stdin!.on("error", () => {});
      child.stdin!.end(JSON.stringify(head) + "\n");
    });
  }
}
