/** `lantern audit …` — filled in by the audit trail work. */
export async function run(_args: string[]): Promise<number> {
  console.error("lantern audit: not available yet");
  return 2;
}
