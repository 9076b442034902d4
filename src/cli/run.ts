/**
 * @module cli/run
 * Process entry of the `wharf` command (bin/wharf.js loads the compiled copy of this file).
 */
import { runCli } from './main.ts';

await runCli(process.argv);
