import "reflect-metadata";
import { Type } from "class-transformer";
import { IsOptional, IsString, ValidateNested } from "class-validator";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { JSON_SCHEMA_2020_12, Server, Tool } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Address {
  @IsString() city!: string;
}

class Customer {
  @IsString() name!: string;
  @IsOptional() @ValidateNested() @Type(() => Address) address?: Address;
}

@Server({ name: "schemas", version: "1.0.0" })
class Customers {
  @Tool({ description: "Registers a customer" })
  register(input: Customer) {
    return { name: input.name };
  }
}

describe("input schemas (JSON Schema 2020-12)", () => {
  let client: TestClient;
  beforeEach(async () => {
    client = await createTestClient(Customers);
  });
  afterEach(() => client.close());

  it("publishes $schema, $defs and additionalProperties: false, which the validator enforces", async () => {
    const { tools } = await client.client.listTools();
    const schema = tools.find((t) => t.name === "register")!.inputSchema as Record<string, any>;
    expect(schema.$schema).toBe(JSON_SCHEMA_2020_12);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.address).toEqual({ $ref: "#/$defs/Address" });
    expect(schema.$defs.Address).toMatchObject({ type: "object", additionalProperties: false });

    const extra = await client.callTool("register", { name: "Ada", extra: 1 }).catch((e: unknown) => e);
    expect((extra as McpError).code).toBe(ErrorCode.InvalidParams);
    const nestedExtra = await client.callTool("register", { name: "Ada", address: { city: "London", zip: "1" } }).catch((e: unknown) => e);
    expect((nestedExtra as McpError).code).toBe(ErrorCode.InvalidParams);
  });
});
