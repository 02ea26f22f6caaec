// The handler a user would write by hand for the benchmark's flow, in plain Node.js: a signed
// Lever `candidateStageChange` in, its signature and freshness checked, its token deduped in
// a Map, the opportunity read from Lever, its stage mapped, a Standard-Webhooks-signed event
// POSTed to the partner, 200 out. State in memory, as the handlers integration platforms run.
// `lever-host bench` writes this file to a temporary directory and runs it with `node` when
// `node` is on PATH; it is not part of the product.
//
// Environment: LEVER_API_BASE, LEVER_API_KEY, SIGNATURE_TOKEN, PARTNER_CALLBACK_URL,
// PARTNER_SECRET (`whsec_` + base64), STAGE_MAP (JSON: Lever stage → partner stage),
// LINKS_FILE (JSON: opportunity id → partner candidate id), CONNECTION. Prints
// `listening <port>` once it serves on 127.0.0.1.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const env = process.env;
const apiBase = env.LEVER_API_BASE;
const authorization = 'Basic ' + Buffer.from(`${env.LEVER_API_KEY}:`).toString('base64');
const signatureToken = env.SIGNATURE_TOKEN;
const callback = new URL(env.PARTNER_CALLBACK_URL);
const partnerKey = Buffer.from(env.PARTNER_SECRET.replace(/^whsec_/, ''), 'base64');
const stageMap = JSON.parse(env.STAGE_MAP);
const links = new Map(Object.entries(JSON.parse(fs.readFileSync(env.LINKS_FILE, 'utf8'))));
const connection = env.CONNECTION ?? 'acme';
const maxAgeMs = 5 * 60 * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const seen = new Map();

function request(url, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { ...options, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function answer(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(raw) {
  let delivery;
  try {
    delivery = JSON.parse(raw);
  } catch {
    return [400, { error: 'malformed JSON' }];
  }
  const { token, triggeredAt, signature, event, data } = delivery;
  if (typeof token !== 'string' || typeof signature !== 'string' || typeof triggeredAt !== 'number') {
    return [400, { error: 'missing fields' }];
  }
  const expected = crypto.createHmac('sha256', signatureToken).update(token + triggeredAt).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    return [401, { error: 'bad signature' }];
  }
  if (Math.abs(Date.now() - triggeredAt) > maxAgeMs) {
    return [401, { error: 'stale' }];
  }
  if (seen.has(token)) {
    return [200, { outcome: 'duplicate' }];
  }
  seen.set(token, 'processing');
  try {
    if (event !== 'candidateStageChange') {
      seen.set(token, 'ignored');
      return [200, { outcome: 'ignored' }];
    }
    const got = await request(`${apiBase}/opportunities/${encodeURIComponent(data.opportunityId)}`, {
      headers: { authorization, accept: 'application/json' },
    });
    if (got.status !== 200) {
      seen.delete(token);
      return [502, { error: `Lever answered ${got.status}` }];
    }
    const opportunity = JSON.parse(got.body).data;
    const candidate = links.get(opportunity.id);
    const stage = stageMap[opportunity.stage];
    if (!candidate || !stage) {
      seen.set(token, 'skipped');
      return [200, { outcome: 'skipped' }];
    }
    const changes = opportunity.stageChanges ?? [];
    const occurredAt = changes.length ? changes[changes.length - 1].updatedAt : opportunity.updatedAt;
    const id = 'evt_' + crypto.createHash('sha256')
      .update(['candidate.stage_changed', connection, opportunity.id, opportunity.stage, occurredAt].join('|'))
      .digest('hex').slice(0, 32);
    const body = JSON.stringify({
      id,
      type: 'candidate.stage_changed',
      connectionId: connection,
      occurredAt,
      data: {
        partnerCandidateId: candidate,
        stage,
        leverOpportunityId: opportunity.id,
        leverContactId: opportunity.contact,
        leverStageId: opportunity.stage,
      },
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const mac = crypto.createHmac('sha256', partnerKey).update(`${id}.${timestamp}.${body}`).digest('base64');
    const sent = await request(callback, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${mac}`,
      },
    }, body);
    if (sent.status < 200 || sent.status >= 300) {
      seen.delete(token);
      return [502, { error: `partner answered ${sent.status}` }];
    }
    seen.set(token, 'forwarded');
    return [200, { outcome: 'forwarded', webhookId: id }];
  } catch (error) {
    seen.delete(token);
    return [502, { error: String(error) }];
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= 1024 * 1024) chunks.push(c);
  });
  req.on('end', async () => {
    if (size > 1024 * 1024) return answer(res, 413, { error: 'too large' });
    const [status, value] = await handle(Buffer.concat(chunks).toString('utf8'));
    answer(res, status, value);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
