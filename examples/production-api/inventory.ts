import { injectable } from "tsyringe";

export interface Item {
  sku: string;
  name: string;
  quantity: number;
  warehouse: string;
}

/** An in-memory stock ledger: the service the production server gets by constructor injection. */
@injectable()
export class Inventory {
  private readonly items = new Map<string, Item>(
    [
      { sku: "LMP-001", name: "Desk lamp", quantity: 42, warehouse: "berlin" },
      { sku: "LMP-002", name: "Floor lamp", quantity: 7, warehouse: "berlin" },
      { sku: "BLB-100", name: "LED bulb", quantity: 1200, warehouse: "lisbon" },
    ].map((item) => [item.sku, item]),
  );

  find(query: string, limit: number): Item[] {
    const needle = query.toLowerCase();
    return [...this.items.values()].filter((i) => i.name.toLowerCase().includes(needle) || i.sku.toLowerCase().includes(needle)).slice(0, limit);
  }

  get(sku: string): Item | undefined {
    return this.items.get(sku);
  }

  /** Removes an item; returns how many were written off. */
  discontinue(sku: string): number {
    const item = this.items.get(sku);
    if (!item) throw new Error(`unknown sku ${sku}`);
    this.items.delete(sku);
    return item.quantity;
  }

  adjust(sku: string, delta: number): Item {
    const item = this.items.get(sku);
    if (!item) throw new Error(`unknown sku ${sku}`);
    if (item.quantity + delta < 0) throw new RangeError(`only ${item.quantity} of ${sku} in stock`);
    item.quantity += delta;
    return { ...item };
  }
}
