/**
 * What an SMS provider does on a bad day, for the next N requests (or deliveries):
 *
 *   error         the provider's own refusal, with `code` (default: its per-phone limit:
 *                 isv.BUSINESS_LIMIT_CONTROL / LimitExceeded.PhoneNumberThirtySecondLimit)
 *   throttle      its request-rate refusal (Throttling.User / RequestLimitExceeded): nothing sent
 *   5xx           a gateway error: `status` (default 503 Service Unavailable)
 *   malformed     HTTP 200 whose body is not the protocol's (the text WAS taken)
 *   timeout       the text is taken, the answer never comes (held `hangMs`, then dropped)
 *   undeliverable accepted, then the carrier fails it (a failed receipt)
 */
export type SmsFaultKind = 'error' | 'throttle' | '5xx' | 'malformed' | 'timeout' | 'undeliverable';
export const SMS_FAULT_KINDS: SmsFaultKind[] = ['error', 'throttle', '5xx', 'malformed', 'timeout', 'undeliverable'];

export type SmsProvider = 'aliyun' | 'tencent';
export const SMS_PROVIDERS: SmsProvider[] = ['aliyun', 'tencent'];

export interface SmsFault {
  kind: SmsFaultKind;
  provider?: SmsProvider;
  remaining: number;
  code?: string;
  message?: string;
  status?: number;
  hangMs?: number;
}

export class SmsFaults {
  private list: SmsFault[] = [];

  add(f: SmsFault): void {
    this.list.push(f);
  }

  clear(): void {
    this.list = [];
  }

  pending(): SmsFault[] {
    return this.list.map((f) => ({ ...f }));
  }

  /** The next fault of these kinds for this provider, counted down. */
  take(provider: SmsProvider, kinds: readonly SmsFaultKind[]): SmsFault | undefined {
    const f = this.list.find((x) => (x.provider === undefined || x.provider === provider) && kinds.includes(x.kind) && x.remaining > 0);
    if (f === undefined) return undefined;
    f.remaining--;
    this.list = this.list.filter((x) => x.remaining > 0);
    return { ...f };
  }
}
