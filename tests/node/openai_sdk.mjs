// The official `openai` npm package, unmodified, against the gateway's /v1 surface (run by
// tests/e2e/test_openai_node.py with HUB_BASE, HUB_KEY, HUB_BROKE_KEY set). Exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const baseURL = `${process.env.HUB_BASE}/v1`;
const client = new OpenAI({ apiKey: process.env.HUB_KEY, baseURL, maxRetries: 0 });
const hello = (content) => [{ role: 'user', content }];
const echo = (text) => `Echo: ${text}`;

for (const model of ['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5-20251001', 'google/gemini-3.5-flash']) {
  test(`chat unary ${model}`, async () => {
    const r = await client.chat.completions.create({ model, messages: hello('Hello node') });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, model);
    assert.equal(r.choices[0].message.content, echo('Hello node'));
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0);
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
  });
}

test('chat stream with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'google/gemini-3.5-flash',
    messages: hello('Stream node'),
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, echo('Stream node'));
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage.completion_tokens > 0);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
});

test('chat stream helper (ChatCompletionStream)', async () => {
  const runner = client.chat.completions.stream({ model: 'openai/gpt-4o-mini', messages: hello('Helper node') });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, echo('Helper node'));
});

test('responses unary', async () => {
  const r = await client.responses.create({ model: 'anthropic/claude-haiku-4-5-20251001', input: 'Responses node', instructions: 'Be kind' });
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, echo('Responses node'));
  assert.equal(r.store, false);
});

test('responses stream', async () => {
  const stream = client.responses.stream({ model: 'openai/gpt-4o-mini', input: 'Responses stream node' });
  const kinds = [];
  for await (const event of stream) kinds.push(event.type);
  const final = await stream.finalResponse();
  assert.equal(final.output_text, echo('Responses stream node'));
  assert.equal(kinds[0], 'response.created');
  assert.equal(kinds.at(-1), 'response.completed');
  assert.ok(kinds.includes('response.output_text.delta'));
});

test('embeddings', async () => {
  const r = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['one two', 'three'] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 8);
  const floats = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'one two', encoding_format: 'float' });
  floats.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - r.data[0].embedding[i]) < 1e-6));
});

test('models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('anthropic/claude-haiku-4-5-20251001'));
  const one = await client.models.retrieve('google/gemini-3.5-flash');
  assert.equal(one.owned_by, 'google');
});

test('error classes', async () => {
  const bad = new OpenAI({ apiKey: 'ihk_wrong', baseURL, maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(
    client.chat.completions.create({ model: 'openai/no-such-model', messages: hello('x') }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hello('[[status:429]] [[retryafter:7]]') }),
    (e) => e instanceof OpenAI.RateLimitError && e.headers.get('retry-after') === '7',
  );
  const broke = new OpenAI({ apiKey: process.env.HUB_BROKE_KEY, baseURL, maxRetries: 0 });
  await assert.rejects(
    broke.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hello('x') }),
    (e) => e instanceof OpenAI.APIError && e.status === 402 && e.type === 'insufficient_quota',
  );
});

const weather = {
  type: 'function',
  function: { name: 'weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
};

for (const model of ['anthropic/claude-haiku-4-5-20251001', 'google/gemini-3.5-flash']) {
  test(`chat tools ${model}: unary, streamed, and the result sent back`, async () => {
    const question = hello('Weather in Oslo');
    const r = await client.chat.completions.create({ model, messages: question, tools: [weather] });
    const [call] = r.choices[0].message.tool_calls;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'Weather in Oslo' });

    const runner = client.chat.completions.stream({ model, messages: question, tools: [weather] });
    const streamed = await runner.finalChatCompletion(); // the helper throws on a malformed tool-call delta
    assert.equal(streamed.choices[0].message.tool_calls[0].function.name, 'weather');
    assert.deepEqual(JSON.parse(streamed.choices[0].message.tool_calls[0].function.arguments), { query: 'Weather in Oslo' });

    const answer = await client.chat.completions.create({
      model,
      tools: [weather],
      messages: [...question, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    assert.equal(answer.choices[0].message.content, 'Echo: sunny');
  });
}

test('responses stream with a function call', async () => {
  const tool = { type: 'function', name: 'weather', parameters: weather.function.parameters, strict: true };
  const stream = client.responses.stream({ model: 'openai/gpt-4o-mini', input: 'Weather in Bergen', tools: [tool] });
  const final = await stream.finalResponse(); // the accumulator throws on unknown events or mismatched item ids
  const [call] = final.output.filter((item) => item.type === 'function_call');
  assert.equal(call.name, 'weather');
  assert.deepEqual(JSON.parse(call.arguments), { query: 'Weather in Bergen' });
});
