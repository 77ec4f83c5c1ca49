import "reflect-metadata";
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from "class-validator";
import { Elicitor, Inject, Param, ProgressReporter, Prompt, Resource, Server, ServerLogger, Tool, ToolError, type ElicitationForm } from "lantern-mcp";
import { Inventory } from "./inventory.js";

export class FindItems {
  @IsString() @Length(1, 100) query!: string;
  @IsInt() @Min(1) @Max(50) limit = 10;
}

export class AdjustStock {
  @Matches(/^[A-Z]{3}-\d{3}$/) sku!: string;
  @IsInt() @Min(-1000) @Max(1000) delta!: number;
  @IsString() @Length(3, 200) reason!: string;
}

export class Reconcile {
  @IsIn(["berlin", "lisbon"]) warehouse!: string;
  @IsOptional() @IsInt() @Min(1) @Max(20) batches?: number;
}

export class DiscontinueItem {
  @Matches(/^[A-Z]{3}-\d{3}$/) sku!: string;
}

const CONFIRM_FORM: ElicitationForm = {
  type: "object",
  properties: { confirm: { type: "boolean", description: "Discontinue the item and write off its stock" } },
  required: ["confirm"],
};

export class RestockArgs {
  @Matches(/^[A-Z]{3}-\d{3}$/) sku!: string;
}

/**
 * A stock-keeping server: what the production stack of `main.ts` wraps. Reads are open to any
 * authenticated agent; changing stock needs the `inventory:write` scope.
 */
@Server({ name: "inventory-api", version: "1.0.0", instructions: "Find items and adjust stock levels of the company's warehouses." })
export class InventoryApi {
  constructor(private readonly inventory: Inventory) {}

  @Tool({ description: "Find items by name or SKU", annotations: { readOnlyHint: true } })
  findItems(input: FindItems) {
    return { items: this.inventory.find(input.query, input.limit) };
  }

  @Tool({ description: "Add or remove stock of one item", scopes: ["inventory:write"], timeoutMs: 5_000 })
  adjustStock(input: AdjustStock) {
    if (!this.inventory.get(input.sku)) throw new ToolError(`No item with SKU ${input.sku}`);
    try {
      return this.inventory.adjust(input.sku, input.delta);
    } catch (error) {
      if (error instanceof RangeError) throw new ToolError(error.message);
      throw error;
    }
  }

  @Tool({ description: "Count a warehouse again, batch by batch, reporting progress", scopes: ["inventory:write"], timeoutMs: 30_000 })
  async reconcile(input: Reconcile, @Inject(ServerLogger) logger: ServerLogger, @Inject(ProgressReporter) progress: ProgressReporter, @Inject(AbortSignal) signal: AbortSignal) {
    const batches = input.batches ?? 5;
    for (let batch = 1; batch <= batches; batch++) {
      if (signal.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      await progress.report(batch, batches, `batch ${batch} of ${batches}`);
    }
    await logger.notice(`Reconciled ${input.warehouse} in ${batches} batches`);
    return { warehouse: input.warehouse, batches, discrepancies: 0 };
  }

  @Tool({ description: "Discontinue an item once the user confirms (asks the client's user first)", scopes: ["inventory:write"] })
  async discontinueItem(input: DiscontinueItem, @Inject(Elicitor) elicitor: Elicitor) {
    const item = this.inventory.get(input.sku);
    if (!item) throw new ToolError(`No item with SKU ${input.sku}`);
    // Nothing changes before the answer: in the 2026 era this method runs again once the user answered.
    const answer = await elicitor.form<{ confirm: boolean }>(
      `Discontinue ${item.name} (${item.sku})? ${item.quantity} in stock will be written off.`,
      CONFIRM_FORM,
      { key: "confirm" },
    );
    if (answer.action !== "accept" || !answer.content.confirm) return { sku: item.sku, discontinued: false };
    return { sku: item.sku, discontinued: true, writtenOff: this.inventory.discontinue(item.sku) };
  }

  @Resource("inventory://items/{sku}", { mimeType: "application/json", description: "One item's stock record" })
  item(@Param("sku") sku: string) {
    const item = this.inventory.get(sku);
    if (!item) throw new ToolError(`No item with SKU ${sku}`);
    return item;
  }

  @Prompt({ description: "Draft a restock request for an item" })
  restock(args: RestockArgs) {
    const item = this.inventory.get(args.sku);
    return `Draft a restock request for ${item?.name ?? args.sku} (now ${item?.quantity ?? "unknown"} in stock).`;
  }
}
