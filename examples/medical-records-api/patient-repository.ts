import { injectable } from "tsyringe";

export interface Patient {
  id: string;
  name: string;
  dateOfBirth: string;
  ssn: string;
  allergies: string[];
  diagnoses: { code: string; note: string; recordedBy: string; at: string }[];
}

const SEED: Patient[] = [
  { id: "p-001", name: "Ada Byron", dateOfBirth: "1815-12-10", ssn: "123-45-6789", allergies: ["penicillin"], diagnoses: [] },
  { id: "p-002", name: "Charles Babbage", dateOfBirth: "1791-12-26", ssn: "987-65-4321", allergies: [], diagnoses: [] },
  { id: "p-003", name: "Mary Somerville", dateOfBirth: "1780-12-26", ssn: "555-12-3456", allergies: ["latex"], diagnoses: [] },
];

/** An in-memory patient store: the service the medical records server gets by constructor injection. */
@injectable()
export class PatientRepository {
  private readonly patients = new Map(SEED.map((p) => [p.id, structuredClone(p)]));
  private nextId = SEED.length + 1;

  search(name: string): Patient[] {
    const needle = name.toLowerCase();
    return [...this.patients.values()].filter((p) => p.name.toLowerCase().includes(needle));
  }

  get(id: string): Patient | undefined {
    return this.patients.get(id);
  }

  register(fields: Pick<Patient, "name" | "dateOfBirth" | "ssn">): Patient {
    const patient: Patient = { id: `p-${String(this.nextId++).padStart(3, "0")}`, ...fields, allergies: [], diagnoses: [] };
    this.patients.set(patient.id, patient);
    return patient;
  }
}
