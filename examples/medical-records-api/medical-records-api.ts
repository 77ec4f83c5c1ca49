import "reflect-metadata";
import { IsDateString, IsString, Length, Matches } from "class-validator";
import { Audited, CallContext, Inject, Param, Resource, Server, Tool, ToolError } from "lantern-mcp";
import { PatientRepository, type Patient } from "./patient-repository.js";

export class SearchPatients {
  @IsString() @Length(1, 100) name!: string;
}

/** HIPAA wants the purpose of every access to a record: it is required, and audited. */
export class GetPatientRecord {
  @Matches(/^p-\d{3,}$/) patientId!: string;
  @IsString() @Length(3, 200) reason!: string;
}

export class RegisterPatient {
  @IsString() @Length(1, 200) name!: string;
  @IsDateString() dateOfBirth!: string;
  @Matches(/^\d{3}-\d{2}-\d{4}$/, { message: "ssn must look like 123-45-6789" }) ssn!: string;
}

export class RecordDiagnosis {
  @Matches(/^p-\d{3,}$/) patientId!: string;
  @Matches(/^[A-Z]\d{2}(\.\d{1,2})?$/, { message: "code must be an ICD-10 code such as J45.9" }) code!: string;
  @IsString() @Length(1, 2000) note!: string;
}

/** The record without its SSN: what a clinician's tool gets back. */
const publicRecord = ({ ssn: _ssn, ...rest }: Patient) => rest;

/**
 * The seed's medical records server: every call is audited with its arguments (the SSN redacted
 * before the entry is signed), refusals included, in a tamper-evident HMAC chain.
 */
@Server({ name: "medical-records-api", version: "1.0.0", instructions: "Look up and update patient records. Every access is audited." })
@Audited({ includeArgs: true, redact: ["ssn"] })
export class MedicalRecordsApi {
  constructor(private readonly patients: PatientRepository) {}

  @Tool({ description: "Search patients by name", annotations: { readOnlyHint: true } })
  async searchPatients(input: SearchPatients) {
    return { patients: this.patients.search(input.name).map((p) => ({ id: p.id, name: p.name })) };
  }

  @Tool({ description: "Read a patient's record; state the reason for access", annotations: { readOnlyHint: true } })
  async getPatientRecord(input: GetPatientRecord) {
    const patient = this.patients.get(input.patientId);
    if (!patient) throw new ToolError(`No patient with id ${input.patientId}`);
    return publicRecord(patient);
  }

  @Tool({ description: "Register a new patient" })
  @Audited({ includeResult: true })
  async registerPatient(input: RegisterPatient) {
    const { id } = this.patients.register(input);
    return { id };
  }

  @Tool({ description: "Record a diagnosis on a patient's record", scopes: ["records:write"] })
  async recordDiagnosis(input: RecordDiagnosis, @Inject(CallContext) ctx: CallContext) {
    const patient = this.patients.get(input.patientId);
    if (!patient) throw new ToolError(`No patient with id ${input.patientId}`);
    const diagnosis = { code: input.code, note: input.note, recordedBy: ctx.identity?.subject ?? ctx.clientId, at: new Date().toISOString() };
    patient.diagnoses.push(diagnosis);
    return { patientId: patient.id, diagnoses: patient.diagnoses.length };
  }

  @Resource("medical://patients/{id}/allergies", { mimeType: "application/json", description: "A patient's known allergies" })
  async allergies(@Param("id") id: string) {
    const patient = this.patients.get(id);
    if (!patient) throw new ToolError(`No patient with id ${id}`);
    return { patientId: id, allergies: patient.allergies };
  }
}
