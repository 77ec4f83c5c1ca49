import "reflect-metadata";
import { IsEmail, IsIn, IsInt, IsString, Length, Max, Min } from "class-validator";
import { CallContext, Inject, Param, Prompt, Resource, Server, ServerLogger, Tool, ToolError } from "lantern-mcp";
import { EmployeeRepository } from "./employee-repository.js";

export class SearchEmployees {
  @IsString() @Length(1, 100) query!: string;
  @IsInt() @Min(1) @Max(100) limit = 10;
}

export class CreateEmployee {
  @IsString() @Length(1, 200) name!: string;
  @IsIn(["Engineering", "Research", "Sales", "People"]) department!: string;
  @IsEmail() email!: string;
}

export class EmployeeId {
  @IsInt() @Min(1) id!: number;
}

export class OnboardingArgs {
  @IsString() @Length(1, 200) name!: string;
}

/** The seed's HR server: employee search and creation, a policy resource, an onboarding prompt. */
@Server({ name: "hr-api", version: "1.0.0", instructions: "Look up and create employees of the company." })
export class HrApi {
  constructor(private readonly employees: EmployeeRepository) {}

  @Tool({ description: "Search employees by name", annotations: { readOnlyHint: true } })
  async searchEmployees(input: SearchEmployees) {
    return { employees: this.employees.search(input.query, input.limit) };
  }

  @Tool({ description: "Create an employee record" })
  async createEmployee(input: CreateEmployee, @Inject(ServerLogger) logger: ServerLogger, @Inject(CallContext) ctx: CallContext) {
    await logger.info(`Creating employee ${input.name} for ${ctx.clientId}`);
    return this.employees.create(input);
  }

  @Tool({ description: "Look up one employee by id", annotations: { readOnlyHint: true } })
  getEmployee(input: EmployeeId) {
    const employee = this.employees.get(input.id);
    if (!employee) throw new ToolError(`No employee with id ${input.id}`);
    return employee;
  }

  @Resource("hr://employees/{id}", { mimeType: "application/json", description: "One employee record" })
  async employee(@Param("id") id: string) {
    const employee = this.employees.get(Number(id));
    if (!employee) throw new ToolError(`No employee with id ${id}`);
    return employee;
  }

  @Prompt({ description: "Draft an onboarding plan for a new employee" })
  onboarding(args: OnboardingArgs) {
    return `Draft a two-week onboarding plan for ${args.name}.`;
  }
}
