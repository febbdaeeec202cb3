/**
 * Test identities: GB 11643 numbers with a correct check character, and resident-card text
 * fields around them. Every value is made up; region 110101 is 北京市东城区.
 */
import type { IdFields } from '@stile/gate-agent/protocol';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';
const DAY_MS = 86_400_000;

/** The MOD 11-2 check character for 17 digits. */
export function idCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError(`expected 17 digits, got "${first17}"`);
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 0x30) * (WEIGHTS[i] as number);
  return CHECK_CHARS[sum % 11] as string;
}

/**
 * The n-th made-up ID number (n ≥ 0): region, a birth date that moves on a day every 999
 * numbers from `birth`, sequence 001–999, check character. Distinct for distinct n.
 */
export function makeIdNumber(n: number, opts: { region?: string; birth?: string } = {}): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const region = opts.region ?? '110101';
  const birth = opts.birth ?? '19900101';
  const base = Date.UTC(Number(birth.slice(0, 4)), Number(birth.slice(4, 6)) - 1, Number(birth.slice(6, 8)));
  const date = new Date(base + Math.floor(n / 999) * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `${region}${date}${String((n % 999) + 1).padStart(3, '0')}`;
  return first17 + idCheckChar(first17);
}

export interface ResidentCardInput {
  idNumber: string;
  name?: string;
  address?: string;
  validFrom?: string;
  validTo?: string;
}

/** Resident-card fields for an ID number; sex and birth date follow the number when it has them. */
export function residentCard(input: ResidentCardInput): IdFields {
  const id = input.idNumber;
  const seq = id.length === 18 ? Number(id[16]) : NaN;
  return {
    cardType: 'resident',
    name: input.name ?? '测试游客',
    genderCode: Number.isNaN(seq) ? '0' : seq % 2 === 1 ? '1' : '2',
    nationCode: '01',
    birthDate: /^\d{8}$/.test(id.slice(6, 14)) ? id.slice(6, 14) : '19900101',
    address: input.address ?? '北京市东城区景山前街4号',
    idNumber: id,
    authority: '北京市公安局东城分局',
    validFrom: input.validFrom ?? '20200101',
    validTo: input.validTo ?? '20400101',
  };
}
