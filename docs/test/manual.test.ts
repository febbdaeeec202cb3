/**
 * The operations manual (docs/manual/) stays true to the code: every gatectl / kioskctl /
 * stile-cloud / stile-announcer command and option it names is in that tool's --help (the built
 * CLIs: run `npx tsc -b` first), the doctor checks it lists are exactly the doctor's and every
 * problem key it names exists, both languages have the same chapters and sections, every file it
 * links to exists, and the PDFs are there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECKS, PROBLEMS } from '../../gate-agent/src/cli/doctor-problems.js';
import { KIOSK_CHECKS, KIOSK_PROBLEMS } from '../../kiosk-agent/src/cli/doctor-problems.js';
import { REJECT_REASONS } from '../../config/src/reasons.js';
import { ADMIT_MESSAGE, REJECT_MESSAGES } from '../../config/src/reason-messages.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MANUAL = join(REPO, 'docs/manual');
const LANGS = ['zh-CN', 'en'] as const;

const TOOLS = {
  gatectl: 'gate-agent/bin/gatectl.js',
  kioskctl: 'kiosk-agent/bin/kioskctl.js',
  'stile-cloud': 'cloud-bridge/bin/stile-cloud.js',
  'stile-announcer': 'announcer/bin/stile-announcer.js',
} as const;
type Tool = keyof typeof TOOLS;

const chapters = (lang: string): string[] => readdirSync(join(MANUAL, lang)).filter((f) => /^\d\d-[a-z0-9-]+\.md$/.test(f)).sort();
const read = (lang: string, file: string): string => readFileSync(join(MANUAL, lang, file), 'utf8');
const allFiles = (): { lang: string; file: string; text: string }[] => LANGS.flatMap((lang) => chapters(lang).map((file) => ({ lang, file, text: read(lang, file) })));

/** The text inside `code spans` and fenced code blocks: where the manual names commands. */
function codeTexts(md: string): string[] {
  const out: string[] = [];
  const fence = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const m of md.matchAll(fence)) out.push(...m[1]!.split('\n'));
  const prose = md.replace(fence, '');
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) out.push(m[1]!);
  return out;
}

interface Mention {
  tool: Tool;
  words: string[];
  flags: string[];
  text: string;
}

/** Each use of a tool in code: its subcommand words and the --options given, up to the end of that command. */
export function mentions(code: string): Mention[] {
  const found: Mention[] = [];
  for (const m of code.matchAll(/(?:^|[\s(=;&|])(gatectl|kioskctl|stile-cloud|stile-announcer)(?=\s|$)/g)) {
    const rest = code.slice(m.index + m[0].length).split(/\s#|;|&&|\|\||\s\|\s/)[0]!;
    const tokens = rest.trim().split(/\s+/).filter(Boolean);
    const words: string[] = [];
    for (const t of tokens) {
      if (!/^[a-z][a-z-]*$/.test(t)) break;
      words.push(t);
    }
    const flags = tokens.flatMap((t) => /^--[a-z][a-z-]*/.exec(t)?.[0] ?? []);
    found.push({ tool: m[1] as Tool, words, flags, text: `${m[1]} ${rest.trim()}`.trim() });
  }
  return found;
}

/** A tool's commands as word lists, read from its --help: "config pull-types", "gates add", … */
export function helpCommands(tool: Tool, help: string): string[][] {
  const commands: string[][] = [];
  const wordsOf = (s: string): string[] => {
    const words: string[] = [];
    for (const t of s.trim().split(/\s+/)) {
      if (!/^[a-z][a-z|-]*$/.test(t)) break;
      words.push(t);
    }
    return words;
  };
  // Alternatives ("add|rotate") are each a command.
  const expand = (words: string[]): string[][] =>
    words.reduce<string[][]>((acc, w) => acc.flatMap((prefix) => w.split('|').map((alt) => [...prefix, alt])), [[]]);
  for (const line of help.split('\n')) {
    if (tool === 'gatectl' || tool === 'kioskctl') {
      // "  status   …": the command column, two spaces in; continuation lines are indented further.
      const m = /^ {2}([a-z].*)$/.exec(line);
      if (m) commands.push(wordsOf(m[1]!.split(/\s{2,}/)[0]!));
    } else {
      const at = line.indexOf(`${tool} `);
      if (at >= 0) commands.push(...expand(wordsOf(line.slice(at + tool.length))));
    }
  }
  return commands.filter((c) => c.length > 0);
}

function help(tool: Tool): string {
  const bin = join(REPO, TOOLS[tool]);
  try {
    return execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LOG_LEVEL: 'silent' } });
  } catch (err) {
    throw new Error(`${tool} --help failed (build first: npx tsc -b): ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

const HELP: Partial<Record<Tool, string>> = {};
const helpOf = (tool: Tool): string => (HELP[tool] ??= help(tool));

describe('the manual names only commands and options the tools have', () => {
  const uses = allFiles().flatMap(({ lang, file, text }) => codeTexts(text).flatMap((code) => mentions(code).map((m) => ({ ...m, where: `${lang}/${file}` }))));

  it('reads the commands out of each tool\'s --help', () => {
    const gate = helpCommands('gatectl', helpOf('gatectl')).map((c) => c.join(' '));
    expect(gate).toEqual(expect.arrayContaining(['status', 'config validate', 'entries tail', 'doctor', 'provision', 'restore']));
    expect(gate).not.toContain('config');
    const cloud = helpCommands('stile-cloud', helpOf('stile-cloud')).map((c) => c.join(' '));
    expect(cloud).toEqual(expect.arrayContaining(['gates add', 'gates rotate', 'gates revoke', 'kiosks add', 'channel pause', 'devices list']));
    expect(helpCommands('kioskctl', helpOf('kioskctl')).map((c) => c.join(' '))).toEqual(expect.arrayContaining(['close-day', 'refill', 'doctor']));
  });

  it('finds the commands in code spans and blocks', () => {
    expect(mentions('sudo gatectl provision --force -')).toEqual([{ tool: 'gatectl', words: ['provision'], flags: ['--force'], text: 'gatectl provision --force -' }]);
    expect(mentions('systemctl stop stile-gate; gatectl test-relay; systemctl start stile-gate').map((m) => m.words)).toEqual([['test-relay']]);
    expect(mentions("gatectl check 'ST1:…'            # admit: 1 person(s)")[0]!.words).toEqual(['check']);
    expect(mentions('STILE_STAFF_TOKEN=… stile-cloud channel pause --site x --by li')[0]).toMatchObject({ words: ['channel', 'pause'], flags: ['--site', '--by'] });
    expect(uses.length).toBeGreaterThan(100);
  });

  it.each(Object.keys(TOOLS) as Tool[])('every %s command and option named exists', (tool) => {
    const text = helpOf(tool);
    const commands = helpCommands(tool, text);
    const wrong: string[] = [];
    for (const u of uses.filter((x) => x.tool === tool)) {
      if (u.words.length > 0 && !commands.some((c) => c.every((w, i) => u.words[i] === w))) wrong.push(`${u.where}: "${u.text}": no command "${u.words.join(' ')}"`);
      for (const f of u.flags) if (!new RegExp(`${f}(?![a-z-])`).test(text)) wrong.push(`${u.where}: "${u.text}": no option ${f}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('the doctor checks in the manual are the doctor\'s', () => {
  const ids = [...Object.keys(CHECKS), ...Object.keys(KIOSK_CHECKS)].sort();
  const problems = new Set([...Object.keys(PROBLEMS), ...Object.keys(KIOSK_PROBLEMS)]);
  const checkNames = new Set(ids.map((id) => id.split(':')[0]!));

  it.each(LANGS)('%s: the table of checks lists exactly the doctor\'s check ids', (lang) => {
    const tables = allFiles().filter((f) => f.lang === lang && f.text.includes('<!-- doctor-checks -->'));
    expect(tables.map((f) => f.file)).toHaveLength(1);
    const after = tables[0]!.text.split('<!-- doctor-checks -->')[1]!;
    const rows = after.split('\n\n')[0]!.trim().split('\n').slice(2);
    const listed = rows.map((r) => /^\|\s*`([^`]+)`/.exec(r)?.[1] ?? `(not a check id: ${r})`).sort();
    expect(listed).toEqual(ids);
  });

  /** gate.yaml fields that look like problem keys ("check.something") but are not. */
  const CONFIG_FIELDS = new Set(['keys.offline', 'keys.control', 'keys.idHash']);

  it('every problem key and device check named exists', () => {
    const wrong: string[] = [];
    for (const { lang, file, text } of allFiles()) {
      for (const span of text.matchAll(/`([a-z]+)\.([a-zA-Z_]+)`/g)) {
        const key = `${span[1]}.${span[2]}`;
        if (checkNames.has(span[1]!) && !CONFIG_FIELDS.has(key) && !problems.has(key)) wrong.push(`${lang}/${file}: ${span[0]}`);
      }
      for (const span of text.matchAll(/`(device:[^`]*)`/g)) if (!/^device:(<name>|[a-z0-9…-]+)$/.test(span[1]!)) wrong.push(`${lang}/${file}: ${span[0]}`);
    }
    expect(wrong).toEqual([]);
    expect(problems.has('clock.off')).toBe(true);
  });
});

describe('the alerts chapter covers every staff alert the cloud sends', () => {
  it.each(LANGS)('%s: every kind of StaffAlert has its row', (lang) => {
    const source = readFileSync(join(REPO, 'cloud-bridge/src/core/notify/webhook.ts'), 'utf8');
    const union = /kind:\s*((?:'[a-z_]+'\s*\|?\s*)+);/.exec(source)?.[1] ?? '';
    const kinds = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(kinds).toContain('capacity_level');
    const chapter = read(lang, '04-alerts.md');
    expect(kinds.filter((k) => !new RegExp(`^\\| \`${k}\``, 'm').test(chapter) && !chapter.includes(`/ \`${k}\``))).toEqual([]);
  });
});

describe('the monitoring alerts of chapter 4 are the example rules\' alerts', () => {
  it.each(LANGS)('%s: one row per alert in docs/ops/stile-alerts.yml', (lang) => {
    const rules = readFileSync(join(REPO, 'docs/ops/stile-alerts.yml'), 'utf8');
    const names = [...rules.matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]!).sort();
    const rows = [...read(lang, '04-alerts.md').matchAll(/^\| `(Stile\w+)` \|/gm)].map((m) => m[1]!).sort();
    expect(names.length).toBeGreaterThan(0);
    expect(rows).toEqual(names);
  });
});

describe('the gate\'s refusals are written as the lane display shows them', () => {
  it.each(LANGS)('%s: every reject reason has its row in 4.5 and its line on the gate staff card', (lang) => {
    const alerts = read(lang, '04-alerts.md');
    const card = read(lang, '06-training.md');
    const wrong: string[] = [];
    for (const reason of REJECT_REASONS) {
      const { zh, en } = REJECT_MESSAGES[reason];
      if (!alerts.includes(`| \`${reason}\` | ${zh} ${en} |`)) wrong.push(`04-alerts.md: no row "| \`${reason}\` | ${zh} ${en} |"`);
      if (!card.includes(`${zh} ${en}`)) wrong.push(`06-training.md: the card does not show "${zh} ${en}"`);
    }
    expect(wrong).toEqual([]);
    expect(card).toContain(`${ADMIT_MESSAGE.zh} ${ADMIT_MESSAGE.en}`);
  });
});

describe('both languages', () => {
  it('have the same chapter files', () => {
    expect(chapters('en')).toEqual(chapters('zh-CN'));
    expect(chapters('en').length).toBeGreaterThanOrEqual(7);
  });

  it.each(chapters('en'))('%s has the same numbered sections in both', (file) => {
    const numbers = (text: string) => [...text.matchAll(/^#{1,3} (\d+(?:\.\d+)*) /gm)].map((m) => m[1]);
    expect(numbers(read('zh-CN', file))).toEqual(numbers(read('en', file)));
    const tables = (text: string) => text.split('\n').filter((l) => /^\|\s*-{3}/.test(l)).length;
    expect(tables(read('zh-CN', file))).toBe(tables(read('en', file)));
  });
});

describe('links and outputs', () => {
  it('every file the manual links to or shows exists', () => {
    const missing: string[] = [];
    for (const { lang, file, text } of allFiles()) {
      for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const href = m[1]!;
        if (/^[a-z]+:/i.test(href) || href.startsWith('#')) continue;
        const target = resolve(MANUAL, lang, href.split('#')[0]!);
        if (!existsSync(target)) missing.push(`${lang}/${file}: ${href} (${relative(REPO, target)})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('no placeholder is left and the PDFs are built', () => {
    for (const { lang, file, text } of allFiles()) expect(text, `${lang}/${file}`).not.toMatch(/INSTALL_COMMANDS|TODO/);
    for (const lang of LANGS) {
      const pdf = join(MANUAL, `stile-manual-${lang}.pdf`);
      expect(existsSync(pdf), `${relative(REPO, pdf)}: run npm run manual`).toBe(true);
      expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }
  });
});
