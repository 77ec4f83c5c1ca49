import "reflect-metadata";
import { Type } from "class-transformer";
import { ValidateNested } from "class-validator";
import { Server, Tool } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { Address as OrderAddress, Query as OrderQuery } from "./fixtures/orders-query.js";
import { Address as PersonAddress, Query as PersonQuery } from "./fixtures/people-query.js";

class Shipment {
  @ValidateNested() @Type(() => PersonAddress) from!: PersonAddress;
  @ValidateNested() @Type(() => OrderAddress) to!: OrderAddress;
}

@Server({ name: "same-names", version: "1.0.0" })
class SameNames {
  @Tool({ description: "Find people" })
  findPeople(input: PersonQuery) { return { name: input.name }; }

  @Tool({ description: "Find orders" })
  findOrders(input: OrderQuery) { return { orderId: input.orderId }; }

  @Tool({ description: "Ship between two addresses" })
  ship(input: Shipment) { return { from: input.from.city, to: input.to.street }; }
}

describe("input classes that share a name", () => {
  let client: TestClient;
  beforeEach(async () => { client = await createTestClient(SameNames); });
  afterEach(() => client.close());

  it("publishes each class's own schema and accepts calls that follow it", async () => {
    const { tools } = await client.client.listTools();
    const schema = (name: string) => tools.find((t) => t.name === name)!.inputSchema as Record<string, any>;
    expect(Object.keys(schema("find_people").properties)).toEqual(["name", "limit"]);
    expect(schema("find_people").required).toEqual(["name"]);
    expect(Object.keys(schema("find_orders").properties)).toEqual(["orderId"]);
    expect(schema("find_orders").required).toEqual(["orderId"]);

    expect((await client.callTool("find_people", { name: "Ada" })).structuredContent).toEqual({ name: "Ada" });
    expect((await client.callTool("find_orders", { orderId: 7 })).structuredContent).toEqual({ orderId: 7 });
  });

  it("gives two nested classes of the same name distinct $defs", async () => {
    const { tools } = await client.client.listTools();
    const schema = tools.find((t) => t.name === "ship")!.inputSchema as Record<string, any>;
    expect(schema.properties.from).toEqual({ $ref: "#/$defs/Address" });
    expect(schema.properties.to).toEqual({ $ref: "#/$defs/Address_2" });
    expect(Object.keys(schema.$defs.Address.properties)).toEqual(["city"]);
    expect(schema.$defs.Address.required).toEqual(["city"]);
    expect(Object.keys(schema.$defs.Address_2.properties)).toEqual(["street", "zip"]);
    expect(schema.$defs.Address_2.required).toEqual(["street", "zip"]);

    const result = await client.callTool("ship", { from: { city: "Paris" }, to: { street: "Main St", zip: "12345" } });
    expect(result.structuredContent).toEqual({ from: "Paris", to: "Main St" });
  });
});
