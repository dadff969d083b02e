/**
 * The yardstick of `npm run bench:http`: a bare koa app with the same JSON body parser as Vesper,
 * answering every POST with a small fixed JSON reply. It is what "a koa route costs" on this
 * machine; Vesper's serving path is reported as a fraction of it. Prints its port on stdout.
 */
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';

const app = new Koa();
const reply = { results: [{ predicate: 'knows', args: ['u1', 'u2'], scope: 'main', bindings: { y: 'u2' } }], cursor: null };
app.use(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonStrict: true }));
app.use((ctx) => {
  ctx.body = reply;
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
