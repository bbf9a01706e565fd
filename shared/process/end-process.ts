// Ends the current process with an exit code: for command-line entry points (the acceptance
// script, the chaos test's simulator process) whose open sockets would otherwise keep it alive.
export function endProcess(code: number): never {
  process.exit(code);
}
