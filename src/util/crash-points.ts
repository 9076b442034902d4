/**
 * @module util/crash-points
 * Fault injection for crash tests: with `WHARF_TEST_CRASH_AT=<name>` in its environment, the
 * process kills itself with SIGKILL when it reaches the point of that name — the exact moment
 * between two stores (git has moved a ref, the database has not recorded it) that a crash test
 * needs and cannot hit reliably from outside. Unset (always, outside tests), a point does nothing.
 */
// Read once: a crash test gives it to the process it starts, and `process.env` is a lookup in
// the C++ environment on every read (several points are passed per release created).
const CRASH_AT = process.env.WHARF_TEST_CRASH_AT;

export function crashPoint(name: string): void {
  if (CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
