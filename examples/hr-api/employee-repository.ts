import { injectable } from "tsyringe";

export interface Employee {
  id: number;
  name: string;
  department: string;
  email: string;
}

const SEED: Employee[] = [
  { id: 1, name: "Ada Lovelace", department: "Engineering", email: "ada@example.com" },
  { id: 2, name: "Grace Hopper", department: "Engineering", email: "grace@example.com" },
  { id: 3, name: "Katherine Johnson", department: "Research", email: "katherine@example.com" },
  { id: 4, name: "Alan Turing", department: "Research", email: "alan@example.com" },
];

/** An in-memory employee store: the service the HR server gets by constructor injection. */
@injectable()
export class EmployeeRepository {
  private readonly employees = new Map(SEED.map((e) => [e.id, { ...e }]));
  private nextId = SEED.length + 1;

  search(query: string, limit: number): Employee[] {
    const needle = query.toLowerCase();
    return [...this.employees.values()].filter((e) => e.name.toLowerCase().includes(needle)).slice(0, limit);
  }

  create(fields: Omit<Employee, "id">): Employee {
    const employee = { id: this.nextId++, ...fields };
    this.employees.set(employee.id, employee);
    return employee;
  }

  get(id: number): Employee | undefined {
    return this.employees.get(id);
  }
}
