import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { fenToYuan, yuanToFen } from '../../src/modules/payments/money.js';
import { parseWechatTradeBill } from '../../src/modules/payments/wechat-bill.js';
import { alipayBillText, parseAlipayTradeBill } from '../../src/modules/payments/alipay-bill.js';
import { expectCode } from './helpers.js';

describe('fen and yuan', () => {
  it('converts both ways without floating point', () => {
    expect(fenToYuan(8888)).toBe('88.88');
    expect(fenToYuan(5)).toBe('0.05');
    expect(fenToYuan(-120)).toBe('-1.20');
    expect(fenToYuan(0)).toBe('0.00');
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('19.99')).toBe(1999);
    expect(yuanToFen('-0.01')).toBe(-1);
    expect(yuanToFen('100')).toBe(10000);
    for (const bad of ['', '1.234', '1e3', ' 1', '1.', '.5', '0x10', '１']) expect(yuanToFen(bad)).toBeUndefined();
    expect(() => fenToYuan(1.5)).toThrow(RangeError);
  });
});

// The layout of the official sample (交易账单文件格式说明, bill_type ALL): BOM, CRLF, backtick-prefixed fields, summary after the rows.
const WECHAT_BILL = [
  '\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
  '`2024-05-01 09:12:33,`wx2421b1c4370ec43b,`1230000109,`0,`,`4200001234202405011234567890,`T20240501A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`120.00,`0.00,`0,`0,`0.00,`0.00,`,`,`成人票,`,`0.72,`0.60%,`120.00,`0.00,`',
  '`2024-05-01 10:00:01,`wx2421b1c4370ec43b,`1230000109,`0,`,`4200001234202405011234567890,`T20240501A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000123,`R1,`60.00,`0.00,`ORIGINAL,`SUCCESS,`成人票,`,`-0.36,`0.60%,`0.00,`60.00,`',
  '`2024-05-01 11:00:00,`wx2421b1c4370ec43b,`1230000109,`0,`,`4200001234202405019999999999,`T20240501B,`o2,`JSAPI,`SUCCESS,`OTHERS,`CNY,`abc,`0.00,`0,`0,`0.00,`0.00,`,`,`家庭套票,`,`0.00,`0.60%,`abc,`0.00,`',
  'garbage line',
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
  '`3,`120.00,`60.00,`0.00,`0.36,`120.00,`60.00',
  '',
].join('\r\n');

describe('WeChat Pay trade bill', () => {
  it('reads payments and refunds by column name, keeps what it cannot read', () => {
    const bill = parseWechatTradeBill(WECHAT_BILL, '2024-05-01');
    expect(bill.lines).toEqual([
      { kind: 'payment', outTradeNo: 'T20240501A', transactionId: '4200001234202405011234567890', amountFen: 12000, status: 'SUCCESS', at: '2024-05-01 09:12:33', lineNo: 2 },
      { kind: 'refund', outTradeNo: 'T20240501A', transactionId: '4200001234202405011234567890', amountFen: 6000, outRefundNo: 'R1', refundId: '50300000123', status: 'SUCCESS', at: '2024-05-01 10:00:01', lineNo: 3 },
    ]);
    expect(bill.rejected.map((r) => [r.lineNo, r.reason])).toEqual([
      [4, 'order amount unreadable'],
      [5, 'not a bill row (no backtick prefix)'],
    ]);
    expect(bill.declaredCount).toBe(3);
    expect(bill.countMatches).toBe(true);
  });

  it('refuses a file without the columns it needs', () => expectCode(() => parseWechatTradeBill('a,b,c\r\n`1,`2,`3', '2024-05-01'), 'payment_malformed'));
});

const ALIPAY_DETAIL = [
  '#支付宝业务明细查询',
  '#账号：[20881234567890120156]',
  '#起始日期：[2024年05月01日 00:00:00]   终止日期：[2024年05月02日 00:00:00]',
  '#-----------------------------------------业务明细列表----------------------------------------',
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注',
  '2024050122001404531234567890\t,T20240501C\t,交易\t,成人票\t,2024-05-01 09:00:00,2024-05-01 09:00:30,\t,\t,\t,\t,xud***@126.com\t,120.00\t,120.00\t,0.00,0.00,0.00,0.00,0.00,\t,0.00,0.00,\t,-0.72,0.00,\t',
  '2024050122001404531234567890\t,T20240501C\t,退款\t,成人票\t,2024-05-01 09:00:00,2024-05-01 12:00:00,\t,\t,\t,\t,xud***@126.com\t,-120.00\t,-120.00\t,0.00,0.00,0.00,0.00,0.00,\t,0.00,0.00,R9\t,0.72,0.00,行程变更\t',
  '#-----------------------------------------业务明细列表结束------------------------------------',
  '#交易合计：1笔，退款合计：1笔',
  '#导出时间：[2024年05月02日 09:25:48]',
].join('\r\n');

describe('Alipay trade bill', () => {
  it('finds the GBK detail file in the zip and reads it', () => {
    const zip = zipSync({
      '20881234567890120156_20240501_业务明细(汇总).csv': new Uint8Array(iconv.encode('#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n合计,,1\r\n', 'gbk')),
      '20881234567890120156_20240501_业务明细.csv': new Uint8Array(iconv.encode(ALIPAY_DETAIL, 'gbk')),
    });
    const bill = parseAlipayTradeBill(alipayBillText(zip), '2024-05-01');
    expect(bill.lines).toEqual([
      { kind: 'payment', outTradeNo: 'T20240501C', transactionId: '2024050122001404531234567890', amountFen: 12000, status: '交易', at: '2024-05-01 09:00:30', lineNo: 6 },
      { kind: 'refund', outTradeNo: 'T20240501C', transactionId: '2024050122001404531234567890', amountFen: 12000, outRefundNo: 'R9', status: '退款', at: '2024-05-01 12:00:00', lineNo: 7 },
    ]);
    expect(bill.countMatches).toBe(true);
  });

  it('refuses what is not a zip, or a zip without the detail table', async () => {
    await expectCode(() => alipayBillText(new Uint8Array([1, 2, 3])), 'payment_malformed');
    await expectCode(() => alipayBillText(zipSync({ 'x.csv': new Uint8Array(iconv.encode('#nothing\r\n', 'gbk')) })), 'payment_malformed');
  });

  it('keeps a row with the wrong field count as rejected', () => {
    const bill = parseAlipayTradeBill(ALIPAY_DETAIL.replace('成人票\t,2024-05-01 09:00:00,2024-05-01 09:00:30', '成人票,含导览\t,2024-05-01 09:00:00,2024-05-01 09:00:30'), '2024-05-01');
    expect(bill.lines).toHaveLength(1);
    expect(bill.rejected[0]).toMatchObject({ lineNo: 6, reason: '26 fields, the header has 25' });
    expect(bill.countMatches).toBe(true);
  });
});
