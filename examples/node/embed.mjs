// A Node.js platform embedding the lever-connector component's typed face (transpiled by jco
// into ./gen): it sets one connection up through `setup`, links a candidate through
// `partner`, and serves Lever's webhook deliveries to `webhooks.handle-lever-webhook` from
// its own HTTP server. Each step prints one JSON line.
//
// Environment:
//   LEVER_CONNECTOR_<KEY>  the connector's configuration (config.js), as for lever-host;
//                          LEVER_CONNECTOR_PUBLIC_BASE_URL is set here to this server.
//   LEVER_API_KEY          the Lever account's API key to connect with
//   CONNECTION             the connection id (default "acme")
//   STAGE_MAP              JSON {"<lever stage id>": "<partner stage>"} (optional)
//   LINK                   JSON {"<partner candidate id>": "<opportunity id>"} (optional)
//   PORT                   where to listen on 127.0.0.1 (default: any free port)

import http from 'node:http';

const connector = await import('./gen/lever_plugin.js');
const { setup, partner, webhooks } = connector;

const connection = process.env.CONNECTION ?? 'acme';
const print = (line) => console.log(JSON.stringify(line));

/** The HTTP status the connector's own HTTP face gives each `connector-error` case. */
const STATUS = {
  'invalid-input': 400,
  unauthorized: 401,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'rate-limited': 429,
  upstream: 502,
  'not-configured': 503,
  unsupported: 501,
  internal: 500,
};

/** Runs one typed call; a `connector-error` comes back as `{ error }` (the WIT variant). */
function attempt(call) {
  try {
    return { ok: call() };
  } catch (e) {
    if (e && e.payload && typeof e.payload.tag === 'string') return { error: e.payload };
    throw e;
  }
}

const server = http.createServer((request, response) => {
  const match = /^\/webhooks\/lever\/([^/?]+)$/.exec(request.url ?? '');
  if (request.method !== 'POST' || !match) {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = new Uint8Array(Buffer.concat(chunks));
    const result = attempt(() => webhooks.handleLeverWebhook(decodeURIComponent(match[1]), body));
    if (result.error) {
      print({ webhookError: result.error });
      response.writeHead(STATUS[result.error.tag] ?? 500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: result.error }));
      return;
    }
    print({ receipt: result.ok });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ outcome: result.ok.outcome.tag, token: result.ok.token }));
  });
});

await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}`;
process.env.LEVER_CONNECTOR_PUBLIC_BASE_URL = url;

// A wrong key is refused by Lever and comes back as a typed error; nothing is stored.
print({ wrongKey: attempt(() => setup.connectApiKey(connection, 'not-a-lever-key')).error });

setup.connectApiKey(connection, process.env.LEVER_API_KEY ?? '');
const stages = setup.listLeverStages(connection);
const stageMap = JSON.parse(process.env.STAGE_MAP ?? '{}');
setup.setStageMap(
  connection,
  Object.entries(stageMap).map(([leverStageId, partnerStage]) => ({ leverStageId, partnerStage })),
);
for (const [partnerCandidateId, opportunityId] of Object.entries(JSON.parse(process.env.LINK ?? '{}'))) {
  partner.linkCandidate(connection, partnerCandidateId, opportunityId);
}
const installed = setup.installWebhooks(connection);
const status = setup.getStatus(connection);
print({
  ready: true,
  url,
  connection,
  auth: status.auth,
  stages: stages.map((stage) => stage.text),
  mappedStages: status.mappedStages.length,
  webhooks: installed.webhooks.map((hook) => `${hook.event} ${hook.action}`),
});
