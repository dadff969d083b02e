/**
 * Issue 13, "one tenant's flood never slows another tenant's requests beyond a stated bound": fair
 * admission (src/http/admission.ts) admits a few requests per event-loop turn and queues the rest
 * per tenant, round robin; a tenant's request waits behind at most one turn's admissions, however
 * many connections a flooding tenant keeps busy. Orders are checked here, figures in bench/.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FairAdmission } from '../../src/http/admission.js';
import { uniqueName } from '../helpers/facts.js';
import { spawnServer } from '../helpers/child.js';
import { tenantApi } from '../helpers/server.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('FairAdmission › 40 requests of one tenant, then one of another, in the same turn › the other is admitted in the next turn, second', async (t) => {
  const admission = new FairAdmission(2, 100);
  const order: string[] = [];
  const admit = (tenant: string, label: string) => {
    const wait = admission.admit(tenant);
    if (wait === null) order.push(label);
    else void wait.then(() => order.push(label));
  };
  for (let i = 0; i < 40; i++) admit('flood', `f${i}`);
  admit('quiet', 'q');
  t.deepEqual(order, ['f0', 'f1'], 'the turn’s share passes at once');
  t.is(admission.queued, 39);
  await turn();
  t.deepEqual(order, ['f0', 'f1', 'f2', 'q'], 'round robin: one of each tenant waiting, flood first (it waited first)');
  for (let i = 0; i < 30 && admission.queued > 0; i++) await turn();
  t.is(order.length, 41);
  t.is(admission.queued, 0);
});

test('FairAdmission › round robin › a tenant served goes last, so none is passed over when tenants outnumber a turn', async (t) => {
  const admission = new FairAdmission(1, 100);
  const order: string[] = [];
  t.is(admission.admit('x'), null);
  for (const tenant of ['a', 'b', 'c']) for (let i = 0; i < 2; i++) void admission.admit(tenant)?.then(() => order.push(tenant));
  for (let i = 0; i < 10; i++) await turn();
  t.deepEqual(order, ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('FairAdmission › a tenant with its queue full › 429 RATE_LIMITED at once, other tenants still queue', (t) => {
  const admission = new FairAdmission(1, 3);
  t.is(admission.admit('flood'), null);
  for (let i = 0; i < 3; i++) t.not(admission.admit('flood'), null);
  const error = t.throws(() => admission.admit('flood'));
  t.like(error, { code: 'RATE_LIMITED', details: { limit: 'admission', waiting: 3 } });
  t.not(admission.admit('quiet'), null);
});

/** An open connection to the server, a request ready to write, and its reply's status line when it comes. */
async function connection(url: string, tenant: string, body: string): Promise<{ send: () => void; status: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const request = `POST /ask HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-Tenant-ID: ${tenant}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const status = new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  return { send: () => socket.write(request), status };
}

test('HTTP › 150 requests of one tenant on open connections, then one of another, sent at once › the other is answered ahead of the burst’s queued rest, the burst only 200s or the 429 envelope', async (t) => {
  // Its own process: in the test's process the replies would reach the client in one batch, in socket order.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vesper-admission-'));
  const server = await spawnServer(dataDir, { VESPER_RATE_LIMIT: '0', VESPER_ADMISSION_PER_TURN: '2', VESPER_ADMISSION_QUEUE_PER_TENANT: '1000' });
  t.teardown(async () => {
    server.kill('SIGTERM');
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  const floodName = uniqueName('flood');
  const quietName = uniqueName('quiet');
  t.is((await tenantApi(server.url, floodName).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  t.is((await tenantApi(server.url, quietName).post('/tell', { predicate: 'p', args: [1] })).status, 200);
  const body = JSON.stringify({ predicate: 'p', args: ['?x'] });
  /** One burst: how many of its replies reached the client before the other tenant's. */
  const round = async (): Promise<number> => {
    const burst = await Promise.all(Array.from({ length: 150 }, () => connection(server.url, floodName, body)));
    const alone = await connection(server.url, quietName, body);
    const finished: string[] = [];
    // Written in one tick, the quiet tenant's last: the server reads them all in the same turn of its loop.
    for (const c of burst) c.send();
    alone.send();
    const replies = await Promise.all([...burst.map((c) => c.status.then((r) => (finished.push('flood'), r))), alone.status.then((r) => (finished.push('quiet'), r))]);
    const quiet = replies.pop() as string;
    t.regex(quiet, /^HTTP\/1\.1 200/);
    for (const r of replies) t.regex(r, /^HTTP\/1\.1 (200|429)/);
    return finished.indexOf('quiet');
  };
  // Without fair admission the other tenant comes after all of them (first come first served: 150
  // in every run tried); with it, in the server's next turn after it arrives, ahead of the burst's
  // queued rest (57 and 77 before it in two runs: the server had admitted those while the burst was
  // being written). The order is read at the client, whose own loop can be late on a loaded
  // machine: up to three bursts, and one that shows it is enough (without the gate none does).
  const seen: number[] = [];
  for (let i = 0; i < 3 && !(seen.length > 0 && (seen.at(-1) as number) < 130); i++) seen.push(await round());
  const before = Math.min(...seen);
  t.log(`bursts: ${seen.map((n) => `${n} of 150 replies before the other tenant's`).join('; ')}`);
  t.true(before < 130, `${before} of the burst's 150 replies came before the other tenant's`);
});
