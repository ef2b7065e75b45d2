// Prepares one CSV body on a worker thread and prints its row count, with nothing else keeping
// the process alive: tests/unit/worker-preparer.test.ts runs it from another directory.
import { indexLiveIds } from '../../src/ingest/aligned.js';
import { workerPreparer } from '../../src/ingest/worker-preparer.js';

const ids = ['a', 'b', 'c'];
const preparer = workerPreparer(1, { minChars: 0 });
const prepared = await preparer.prepare({ kind: 'csv', text: 'id,prediction\na,0.1\nb,0.2\nc,0.3\n' }, { ...indexLiveIds(ids), digest: 'child' }, { era: 1, minCoverage: 1 });
process.stdout.write(`${prepared.rows} ${prepared.rawEncoding}\n`);
await preparer.close();
