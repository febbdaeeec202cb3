/**
 * The booking API's JSON as the page reads it (the contract is src/modules/booking/schemas.ts;
 * test/booking-page.test.ts checks at compile time that these types are the schemas' own, so the
 * two cannot drift apart). Written out here so the browser bundle carries no zod.
 */
export type Lang = 'zh-CN' | 'en';
export type LocalText = Record<Lang, string>;
export type Provider = 'wechat' | 'alipay';
export type Level = 'green' | 'yellow' | 'orange' | 'red';

export interface BookInfo {
  site: string;
  name: LocalText;
  timeZone: string;
  today: string;
  lastDate: string;
  ticketsPerIdPerDay: number;
  types: { typeId: string; name: LocalText; persons: number; baseFen: number; days: 'any' | 'weekend' | 'weekday'; entries: ('early' | 'night')[] }[];
  slots: { slotId: string; start: string; end: string; name?: LocalText | undefined }[];
  refundReasons: { code: string; label: LocalText }[];
  providers: Provider[];
  wechatOAuth: boolean;
  tourRouteUrl: string | null;
}

export type DiscountRule = 'earlyBird' | 'night' | 'offSeasonWeekend';
export interface Discount {
  rule: DiscountRule;
  percentOff: number;
}

/** The channel API's Availability (sales/schemas.ts AvailabilitySchema). */
export interface Availability {
  site: string;
  channel: string;
  date: string;
  open: boolean;
  paused: boolean;
  capacity: { daily: number; sold: number; remaining: number; percent: number; level?: Level | undefined };
  almostFull: boolean;
  slots: { slotId: string; start: string; end: string; quota: number; remaining: number; almostFull: boolean }[];
  types: {
    typeId: string;
    name: string;
    names: LocalText;
    persons: number;
    unitFen?: number | undefined;
    discounts?: Discount[] | undefined;
    slotPrices?: { slotId: string; unitFen: number; discounts: Discount[] }[] | undefined;
    entryPrices?: { entry: 'early' | 'night'; unitFen: number; discounts: Discount[] }[] | undefined;
    available?: false | undefined;
    reason?: string | undefined;
  }[];
  realName: { ticketsPerIdPerDay: number; bookingHorizonDays: number; lastDate: string };
}

export interface SmsCodeSent {
  sent: true;
  resendAfterSec: number;
  expiresInSec: number;
}

export interface BookSession {
  token: string;
  phoneMasked: string;
  expiresAt: string;
}

export interface BookOrder {
  orderId: string;
  status: 'pending' | 'paid' | 'refunded' | 'expired';
  typeId: string;
  typeName: LocalText;
  date: string;
  slot: { slotId: string; start: string; end: string; name?: LocalText | undefined } | null;
  entryWindow?: { from: string; to: string } | undefined;
  persons: number;
  amountFen: number;
  deadline: string | null;
  visitors: { name: string; idMasked: string }[];
  tickets: { ticketId: string; code: string; persons: number }[];
  refundState: 'requested' | 'processing' | 'succeeded' | 'failed' | null;
  refundReason: string | null;
  canRefund: boolean;
  canRebook: boolean;
  level?: Level | undefined;
}

export interface BookOrderRequest {
  typeId: string;
  date: string;
  slotId?: string | undefined;
  entry?: 'early' | 'night' | undefined;
  visitors: { name: string; idNumber: string }[];
  lang: Lang;
  couponCode?: string | undefined;
  marketingConsent?: boolean | undefined;
}

export interface BookPayRequest {
  provider: Provider;
  method: 'qr' | 'in_app';
  openid?: string | undefined;
  returnUrl?: string | undefined;
}

/** WeChat JSAPI parameters for WeixinJSBridge.invoke('getBrandWCPayRequest', …). */
export interface JsapiParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

/** What …/pay answers (the payments module's PaymentCreated): a QR text, or what to do in the provider's browser. */
export interface PayStarted {
  orderId: string;
  outTradeNo: string;
  provider: Provider;
  method: 'qr' | 'in_app' | 'code';
  state: 'pending' | 'paid' | 'closed' | 'failed';
  amountFen: number;
  expiresAt: string;
  orderStatus: BookOrder['status'];
  codeUrl?: string | undefined;
  inApp?: { kind: 'wechat_jsapi'; prepayId: string; params: JsapiParams } | { kind: 'redirect'; url: string } | undefined;
  failure?: { providerCode: string; message: string } | undefined;
}
