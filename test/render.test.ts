import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyToDiscord } from '../src/adapters/discord/render.ts';
import { replyToMessage } from '../src/adapters/slack/blocks.ts';
import { replyAsText } from '../src/chat/reply.ts';
import { loadConfig } from '../src/config.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { send, type Outgoing } from '../src/delivery/send.ts';
import { REPLY_FIXTURES } from './helpers/replies.ts';
import { deliveryPlatforms } from '../src/adapters/platforms.ts';

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text?: string | { text: string }; value?: string }[] };
const texts = (blocks: Block[]) =>
  blocks.flatMap((b) => [b.text?.text, ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : undefined))]).filter((t): t is string => t !== undefined);

describe.each(Object.entries(REPLY_FIXTURES))('renderers on the %s reply', (_name, reply) => {
  it('Slack: within Block Kit limits, with every user-visible text mrkdwn-escaped', () => {
    const message = replyToMessage(reply, { commandLine: '/forecast store 5', requestedBy: 'U1' });
    const blocks = message.blocks as Block[];
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(message.text.length).toBeLessThanOrEqual(3000);
    for (const b of blocks) {
      if (b.type === 'header') expect(b.text!.text.length).toBeLessThanOrEqual(150);
      if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      if (b.fields) {
        expect(b.fields.length).toBeLessThanOrEqual(10);
        for (const f of b.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
    }
    // Only our own "Asked by <@U1>" may reach Slack as markup; nothing from the reply.
    const markup = [message.text, ...texts(blocks.filter((b) => b.type !== 'header'))].flatMap((t) => t.match(/<[^>]*>/g) ?? []);
    expect(markup.every((m) => m === '<@U1>')).toBe(true);
  });

  it('Discord: within embed limits (25 fields, 6000 characters), no mentions allowed', () => {
    const message = replyToDiscord(reply, { png: Buffer.from('png'), commandLine: '/forecast store 5' });
    const [embed] = message.body.embeds!;
    const chars = (embed!.title?.length ?? 0) + (embed!.description?.length ?? 0) + (embed!.footer?.text.length ?? 0) + (embed!.fields ?? []).reduce((a, f) => a + f.name.length + f.value.length, 0);
    expect(chars).toBeLessThanOrEqual(6000);
    expect(embed!.fields?.length ?? 0).toBeLessThanOrEqual(25);
    expect(embed!.title!.length).toBeLessThanOrEqual(256);
    expect(embed!.description!.length).toBeLessThanOrEqual(4096);
    expect(message.body.allowed_mentions).toEqual({ parse: [] });
    const rows = message.body.components ?? [];
    expect(rows.length).toBeLessThanOrEqual(5);
    for (const row of rows) expect((row as { components: unknown[] }).components.length).toBeLessThanOrEqual(5);
  });

  it('text (CLI): title, summary and the footer line', () => {
    const text = replyAsText(reply);
    expect(text.startsWith(reply.title)).toBe(true);
    expect(text).toContain('Data through 2012-10-26');
  });
});

describe('weekly summaries use the chat renderers', () => {
  const received: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end('ok');
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const config = loadConfig({});
  const options = { outbound: createOutbound({ allow: ['127.0.0.1'] }), timeoutMs: 5_000, platforms: deliveryPlatforms(config)(5_000) };
  const outgoing = (reply: Outgoing['reply'], targetKind: Outgoing['targetKind'], path: string): Outgoing => ({
    deliveryId: 'd1',
    subscriptionId: 's1',
    period: '2012-10-29',
    targetKind,
    url: `${url}${path}`,
    reply,
    png: Buffer.from('png'),
    chartUrl: 'https://storecast.example.com/api/v1/charts/abc.png',
  });

  it('a Slack incoming webhook gets the chat blocks, escaped, with the chart linked and no buttons', async () => {
    const reply = REPLY_FIXTURES.hostile;
    expect(await send(outgoing(reply, 'slack-webhook', '/slack'), options)).toMatchObject({ ok: true });
    const body = JSON.parse(received.at(-1)!.body.toString()) as { blocks: Block[] };
    expect(body).toEqual(JSON.parse(JSON.stringify(replyToMessage(reply, { imageUrl: 'https://storecast.example.com/api/v1/charts/abc.png', interactive: false }))));
    expect(body.blocks.some((b) => b.type === 'actions')).toBe(false);
    // The header is plain_text (never parsed); everything in mrkdwn is escaped.
    expect(JSON.stringify({ text: (body as unknown as { text: string }).text, blocks: body.blocks.filter((b) => b.type !== 'header') })).not.toContain('<!channel>');
  });

  it('a Discord webhook gets the chat embed (all 25 fields, not 10) without components', async () => {
    const reply = REPLY_FIXTURES.oversized;
    expect(await send(outgoing(reply, 'discord-webhook', '/discord'), options)).toMatchObject({ ok: true });
    const last = received.at(-1)!;
    const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': String(last.headers['content-type']) }, body: new Uint8Array(last.body) }).formData();
    const payload = JSON.parse(String(form.get('payload_json'))) as { embeds: { fields: unknown[] }[]; components: unknown[] };
    expect(payload.embeds[0]!.fields).toEqual(replyToDiscord(reply).body.embeds![0]!.fields);
    expect(payload.components).toEqual([]);
  });
});
