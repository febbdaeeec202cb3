/**
 * Faults for the next N calls: what a provider does on a bad day. `timeout` holds the
 * request without answering (the client's deadline fires), `5xx` answers the provider's
 * system error, `malformed` a 200 whose body is not the protocol's (signed, so only the
 * parser can catch it), `bad_signature` a good body with a broken signature, `stale` one
 * signed 10 minutes ago, `unknown_key` one signed under a key id the merchant does not hold.
 */

export type FaultKind = 'timeout' | '5xx' | 'malformed' | 'bad_signature' | 'stale' | 'unknown_key';
export const FAULT_KINDS: FaultKind[] = ['timeout', '5xx', 'malformed', 'bad_signature', 'stale', 'unknown_key'];

export interface Fault {
  kind: FaultKind;
  /** Only calls to this provider; both if absent. */
  provider?: 'wechat' | 'alipay';
  /** Only calls whose path (WeChat) or method (Alipay) contains this. */
  match?: string;
  remaining: number;
  /** For `timeout`: how long the request is held before the socket is dropped (default 30 s). */
  hangMs?: number;
}

export class Faults {
  private list: Fault[] = [];

  add(f: Fault): void {
    this.list.push(f);
  }

  clear(): void {
    this.list = [];
  }

  pending(): Fault[] {
    return this.list.map((f) => ({ ...f }));
  }

  /** The fault the next call of this provider and endpoint gets, counted down. */
  take(provider: 'wechat' | 'alipay', endpoint: string): Fault | undefined {
    const f = this.list.find((x) => (x.provider === undefined || x.provider === provider) && (x.match === undefined || endpoint.includes(x.match)) && x.remaining > 0);
    if (f === undefined) return undefined;
    f.remaining--;
    this.list = this.list.filter((x) => x.remaining > 0);
    return { ...f };
  }
}
