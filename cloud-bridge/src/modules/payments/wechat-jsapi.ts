/**
 * WeChat Pay JSAPI (inside WeChat's browser): after a JSAPI order gives a prepay_id, the page
 * calls WeixinJSBridge.invoke('getBrandWCPayRequest', params) with these parameters. paySign
 * is SHA256withRSA with the merchant's API key over
 *
 *   appId \n timeStamp \n nonceStr \n package \n
 *
 * where package is "prepay_id=…", timeStamp Unix seconds as text, signType the fixed "RSA".
 */
import type { KeyObject } from 'node:crypto';
import { rsaSha256Sign } from './wechat-sign.js';

export interface JsapiPayParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

export function jsapiPayMessage(appId: string, timeStamp: string, nonceStr: string, pkg: string): string {
  return `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
}

export function jsapiPayParams(appId: string, prepayId: string, privateKey: KeyObject, timeStamp: string, nonceStr: string): JsapiPayParams {
  const pkg = `prepay_id=${prepayId}`;
  return { appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign: rsaSha256Sign(jsapiPayMessage(appId, timeStamp, nonceStr, pkg), privateKey) };
}
