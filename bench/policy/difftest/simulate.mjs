// Reads one iam-simulate Simulation per line of stdin (as JSON, wrapped as
// {"id": n, "simulation": {...}}) and writes one line per case to stdout:
// {"id": n, "result": "Allowed"|"ExplicitlyDenied"|"ImplicitlyDenied"} or
// {"id": n, "error": "..."} when iam-simulate rejects the input.
// Bulwark's differential test (bench/policy, TestDifferentialIAMSimulate)
// drives it; run `npm ci` here first.
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  if (line.trim() === '') continue
  let id = null
  try {
    const c = JSON.parse(line)
    id = c.id
    const r = await runSimulation(c.simulation, {})
    if (r.resultType === 'error') {
      process.stdout.write(JSON.stringify({ id, error: JSON.stringify(r.errors) }) + '\n')
    } else {
      process.stdout.write(JSON.stringify({ id, result: r.overallResult }) + '\n')
    }
  } catch (e) {
    process.stdout.write(JSON.stringify({ id, error: String(e && e.stack || e) }) + '\n')
  }
}
