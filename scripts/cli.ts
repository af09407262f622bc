/** The shared entry point of the project's scripts: run `main` on the command line, print an Error's message, exit. */

/**
 * Runs `main(argv)` when `mod` is the script Node started (not when a test imports it) and exits with its status
 * (0 when it returns nothing); a thrown Error prints its message alone and exits 1.
 */
export function runScript(mod: NodeModule, main: (argv: string[]) => number | void): void {
  if (require.main !== mod) return;
  try {
    process.exit(main(process.argv.slice(2)) ?? 0);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
