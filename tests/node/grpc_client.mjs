// A Node gRPC client (@grpc/grpc-js + @grpc/proto-loader over proto/) calling the server directly with a key
// (run by tests/e2e/test_openai_node.py with HUB_GRPC, HUB_KEY, HUB_ROOT set).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const root = process.env.HUB_ROOT;
const definition = protoLoader.loadSync(['indoxhub/v1/user.proto', 'indoxhub/v1/chat.proto'], {
  includeDirs: [path.join(root, 'proto'), path.join(root, 'build/third_party')],
  keepCase: true,
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).indoxhub.v1;
const credentials = grpc.credentials.createInsecure();
const metadata = () => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${process.env.HUB_KEY}`);
  return md;
};

test('GetCurrentUser with a key', async () => {
  const users = new v1.UserService(process.env.HUB_GRPC, credentials);
  const me = await new Promise((resolve, reject) =>
    users.GetCurrentUser({}, metadata(), (err, reply) => (err ? reject(err) : resolve(reply))),
  );
  assert.match(me.email, /@example\.com$/);
  assert.ok(me.credits > 0);
  const anonymous = await new Promise((resolve) => users.GetCurrentUser({}, (err) => resolve(err)));
  assert.equal(anonymous.code, grpc.status.UNAUTHENTICATED);
  users.close();
});

test('StreamChat reads the streamed text', async () => {
  const chat = new v1.ChatService(process.env.HUB_GRPC, credentials);
  const call = chat.StreamChat(
    { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: { stringValue: 'Hello grpc node' } }] },
    metadata(),
  );
  const kinds = [];
  let text = '';
  for await (const event of call) {
    kinds.push(event.type);
    if (event.type === 'response.content_part.delta') text += event.delta;
  }
  assert.equal(text, 'Echo: Hello grpc node');
  assert.equal(kinds[0], 'response.created');
  assert.equal(kinds.at(-1), 'response.done');
  chat.close();
});

test('StreamChat reads a streamed tool call', async () => {
  const chat = new v1.ChatService(process.env.HUB_GRPC, credentials);
  const parameters = { fields: { type: { stringValue: 'object' } } };
  const call = chat.StreamChat(
    {
      model: 'anthropic/claude-haiku-4-5-20251001',
      messages: [{ role: 'user', content: { stringValue: 'Weather in Oslo' } }],
      tools: [{ type: 'function', function: { name: 'weather', parameters } }],
    },
    metadata(),
  );
  let name = '';
  let args = '';
  for await (const event of call) {
    if (event.type === 'response.output_item.added' && event.item.type === 'function_call') name = event.item.name;
    if (event.type === 'response.function_call_arguments.delta') args += event.delta;
  }
  assert.equal(name, 'weather');
  assert.deepEqual(JSON.parse(args), { query: 'Weather in Oslo', n: 0 });
  chat.close();
});
