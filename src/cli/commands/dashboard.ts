/** `lantern dashboard …` — filled in by the dashboard work. */
export async function run(_args: string[]): Promise<number> {
  console.error("lantern dashboard: not available yet");
  return 2;
}
