import "reflect-metadata";
import { join } from "node:path";
import { ProtocolError as McpError } from "@modelcontextprotocol/client";
import { AuditMiddleware, McpServer } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { MedicalRecordsApi } from "../../../examples/medical-records-api/medical-records-api.js";
import { readEntries, SECRET, tempDir } from "./helpers.js";

describe("examples/medical-records-api", () => {
  let remove: () => void;
  let logPath: string;
  let audit: AuditMiddleware;
  let server: McpServer;
  let doctor: TestClient;
  let intern: TestClient;

  beforeAll(async () => {
    const temp = tempDir();
    remove = temp.remove;
    logPath = join(temp.dir, "medical.jsonl");
    // As main.ts builds it, with the file in a temporary folder.
    audit = new AuditMiddleware({ logPath, hmacSecret: SECRET });
    server = new McpServer(MedicalRecordsApi).use(audit);
    doctor = await createTestClient(server, { identity: { clientId: "ehr-app", subject: "dr-house", issuer: "https://idp.hospital.example", scopes: ["records:write"] } });
    intern = await createTestClient(server, { identity: { clientId: "ehr-app", subject: "intern-1", scopes: [] } });
  });
  afterAll(async () => {
    await doctor.close();
    await intern.close();
    await server.close();
    remove();
  });

  test("every access is audited with its reason and caller, the SSN redacted, refusals included", async () => {
    const found = await doctor.callTool("search_patients", { name: "ada" });
    expect(found.structuredContent).toEqual({ patients: [{ id: "p-001", name: "Ada Byron" }] });
    const record = await doctor.callTool("get_patient_record", { patientId: "p-001", reason: "treatment" });
    expect(record.structuredContent).toMatchObject({ id: "p-001", allergies: ["penicillin"] });
    expect(JSON.stringify(record.structuredContent)).not.toContain("123-45-6789");
    const registered = await doctor.callTool("register_patient", { name: "Alan T", dateOfBirth: "1912-06-23", ssn: "111-22-3333" });
    expect(registered.structuredContent).toEqual({ id: "p-004" });
    await expect(intern.callTool("record_diagnosis", { patientId: "p-001", code: "J45.9", note: "asthma" })).rejects.toBeInstanceOf(McpError);
    const diagnosis = await doctor.callTool("record_diagnosis", { patientId: "p-001", code: "J45.9", note: "asthma" });
    expect(diagnosis.structuredContent).toEqual({ patientId: "p-001", diagnoses: 1 });
    await doctor.client.readResource({ uri: "medical://patients/p-003/allergies" });

    const entries = readEntries(logPath);
    expect(entries.map((e) => [e.tool, e.status, e.identity?.subject])).toEqual([
      ["search_patients", "ok", "dr-house"],
      ["get_patient_record", "ok", "dr-house"],
      ["register_patient", "ok", "dr-house"],
      ["record_diagnosis", "refused", "intern-1"],
      ["record_diagnosis", "ok", "dr-house"],
      ["medical://patients/p-003/allergies", "ok", "dr-house"],
    ]);
    expect(entries[1]!.args).toEqual({ patientId: "p-001", reason: "treatment" });
    expect(entries[2]!.args).toEqual({ name: "Alan T", dateOfBirth: "1912-06-23", ssn: "[REDACTED]" });
    expect(entries[2]!.result).toMatchObject({ structuredContent: { id: "p-004" } });
    expect(entries[1]!.result).toBeUndefined();
    const verified = await audit.verifyChainReport();
    expect(verified.problems).toEqual([]);
    expect(verified.lastSeq).toBe(6);
  });
});
