/**
 * What the page remembers on this phone (localStorage, per site): the session token and masked
 * phone, the order waiting for payment (so closing the page mid-payment finds it again), the
 * large-text choice and the language. Storage may be missing or throw (private mode, some
 * in-app browsers): then the page works from memory for this visit.
 */
export interface Remembered {
  token: string | null;
  phoneMasked: string | null;
  expiresAt: string | null;
  pendingOrderId: string | null;
  largeText: boolean;
  lang: string | null;
}

function get(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function put(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* memory only */
  }
}

export class PageStore {
  constructor(private readonly site: string) {}

  private k(name: string): string {
    return `stile.book.${this.site}.${name}`;
  }

  read(now: number): Remembered {
    const expiresAt = get(this.k('expiresAt'));
    const live = expiresAt !== null && Date.parse(expiresAt) > now;
    return {
      token: live ? get(this.k('token')) : null,
      phoneMasked: live ? get(this.k('phone')) : null,
      expiresAt: live ? expiresAt : null,
      pendingOrderId: get(this.k('pending')),
      // Large text is the visitor's, not the site's: one key for every park.
      largeText: get('stile.book.largeText') === '1',
      lang: get('stile.book.lang'),
    };
  }

  session(token: string | null, phoneMasked: string | null, expiresAt: string | null): void {
    put(this.k('token'), token);
    put(this.k('phone'), phoneMasked);
    put(this.k('expiresAt'), expiresAt);
  }

  pending(orderId: string | null): void {
    put(this.k('pending'), orderId);
  }

  largeText(on: boolean): void {
    put('stile.book.largeText', on ? '1' : null);
  }

  lang(lang: string): void {
    put('stile.book.lang', lang);
  }

  /** The visitor's WeChat openid for this visit only (sessionStorage: gone with the tab). */
  wechatOpenid(): string | null {
    try {
      return window.sessionStorage.getItem(this.k('wxOpenid'));
    } catch {
      return null;
    }
  }

  setWechatOpenid(openid: string | null): void {
    try {
      if (openid === null) window.sessionStorage.removeItem(this.k('wxOpenid'));
      else window.sessionStorage.setItem(this.k('wxOpenid'), openid);
    } catch {
      /* memory only (Ctx.wechat) */
    }
  }
}
