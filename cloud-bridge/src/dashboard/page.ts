/**
 * The staff dashboard: one self-contained HTML page (inline style and script, no external
 * resources) that renders a {@link DashboardModel} live for one site.
 *
 * The staff token travels in the URL fragment (`#token=…`), which browsers never send to the
 * server; the page keeps it in memory and in sessionStorage (so a reload keeps working) and
 * sends it only as `Authorization: Bearer`, never in a URL (URLs end up in access logs and
 * history): the live stream is read with fetch() and a small SSE parser rather than
 * EventSource (which cannot send headers), and reports are fetched and shown from a blob: URL.
 * Every value from the model reaches the DOM through `textContent` / attributes, never as markup.
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../reports/daily-report.js';

export type DashboardLang = 'zh-CN' | 'en';

const ZH = {
  title: 'Stile 员工看板',
  loading: '加载中…',
  noscript: '此页面需要启用 JavaScript。',
  language: '语言',
  updated: '更新于',
  connecting: '连接中…',
  live: '实时',
  reconnecting: '重新连接中…',
  polling: '重新连接中…（每 2 秒刷新）',
  unauthorizedShort: '未授权',
  unauthorized: '员工令牌缺失或错误。',
  tokenHint: '请用管理员提供的完整链接（含 #token=…）重新打开此页面。',
  retry: '重试',
  capacity: '今日容量',
  admittedToday: '今日已入园 / 日容量',
  load: '当日负载（已售 + 现场入园）',
  percent: '负载率',
  soldToday: '今日已售',
  thresholds: '阈值',
  level_green: '绿色 · 正常',
  level_yellow: '黄色 · 接近满员',
  level_orange: '橙色 · 线上暂停',
  level_red: '红色 · 已满',
  level_unknown: '等级未知',
  levelShort_green: '绿色',
  levelShort_yellow: '黄色',
  levelShort_orange: '橙色',
  levelShort_red: '红色',
  info: '信息',
  gates: '闸机',
  online: '在线',
  offline: '离线',
  gateState: '状态',
  outbox: '待上传',
  devices: '设备',
  noDevices: '无设备上报',
  statusAt: '状态时间',
  minutesAgo: '{n} 分钟前',
  channels: '售票渠道',
  kind_online: '线上',
  kind_kiosk: '自助机',
  selling: '售票中',
  pausedBy: '已由 {by} 暂停：{reason}',
  resumedBy: '{by} 已恢复：{reason}',
  capacityStop_orange: '今日线上售票已因容量（橙色）停止',
  capacityStop_red: '今日售票已因容量（红色）停止',
  pause: '暂停',
  resume: '恢复',
  yourName: '姓名',
  reason: '原因',
  confirm_pause: '确认暂停',
  confirm_resume: '确认恢复',
  cancel: '取消',
  sending: '提交中…',
  nameRequired: '请填写姓名',
  reasonRequired: '请填写原因',
  requestFailed: '操作失败',
  networkError: '网络错误，请重试',
  entriesByHour: '每小时入园人数',
  hourTip: '{from}–{to}：{n} 人',
  peak: '峰值 {from}–{to}：{n} 人',
  now: '当前 {from}–{to}：{n} 人',
  total: '今日共 {n} 人',
  noEntries: '今日暂无入园',
  alerts: '最近告警',
  conflicts: '分区冲突',
  conflictHead: '票号 · 首次闸机 → 第二闸机',
  none: '暂无',
  reports: '日报',
  reportDate: '日期',
  viewReport: '查看报表',
  downloadCsv: '下载 CSV',
  reportLoading: '报表生成中…',
  openReport: '打开报表',
  cloudUnhealthy: '云端服务异常：闸机的入园记录暂时无法入库，以下数字可能不是最新。请联系运维。',
} as const;

type TextKey = keyof typeof ZH;

const EN: Record<TextKey, string> = {
  title: 'Stile staff dashboard',
  loading: 'Loading…',
  noscript: 'This page needs JavaScript.',
  language: 'Language',
  updated: 'Updated',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Reconnecting… (refreshing every 2 s)',
  unauthorizedShort: 'Unauthorized',
  unauthorized: 'Staff token missing or wrong.',
  tokenHint: 'Open this page again with the full link you were given (it ends in #token=…).',
  retry: 'Retry',
  capacity: "Today's capacity",
  admittedToday: 'Admitted today / daily capacity',
  load: 'Load (sold + walk-ins)',
  percent: 'Load %',
  soldToday: 'Sold for today',
  thresholds: 'Thresholds',
  level_green: 'Green · normal',
  level_yellow: 'Yellow · nearly full',
  level_orange: 'Orange · online sales paused',
  level_red: 'Red · full',
  level_unknown: 'Level unknown',
  levelShort_green: 'Green',
  levelShort_yellow: 'Yellow',
  levelShort_orange: 'Orange',
  levelShort_red: 'Red',
  info: 'Info',
  gates: 'Gates',
  online: 'online',
  offline: 'offline',
  gateState: 'State',
  outbox: 'Outbox',
  devices: 'Devices',
  noDevices: 'no device report',
  statusAt: 'Status at',
  minutesAgo: '{n} min ago',
  channels: 'Sales channels',
  kind_online: 'online',
  kind_kiosk: 'kiosk',
  selling: 'Selling',
  pausedBy: 'Paused by {by}: {reason}',
  resumedBy: 'Resumed by {by}: {reason}',
  capacityStop_orange: "Today's online sales stopped by capacity (orange)",
  capacityStop_red: "Today's sales stopped by capacity (red)",
  pause: 'Pause',
  resume: 'Resume',
  yourName: 'Your name',
  reason: 'Reason',
  confirm_pause: 'Confirm pause',
  confirm_resume: 'Confirm resume',
  cancel: 'Cancel',
  sending: 'Sending…',
  nameRequired: 'Please enter your name',
  reasonRequired: 'Please enter a reason',
  requestFailed: 'Request failed',
  networkError: 'Network error, please try again',
  entriesByHour: 'Entries by hour',
  hourTip: '{from}–{to}: {n} persons',
  peak: 'Peak {from}–{to}: {n} persons',
  now: 'Now {from}–{to}: {n} persons',
  total: '{n} persons today',
  noEntries: 'No entries yet today',
  alerts: 'Recent alerts',
  conflicts: 'Partition conflicts',
  conflictHead: 'Ticket · first gate → second gate',
  none: 'none',
  reports: 'Daily report',
  reportDate: 'Date',
  viewReport: 'View report',
  downloadCsv: 'Download CSV',
  reportLoading: 'Preparing the report…',
  openReport: 'Open the report',
  cloudUnhealthy: 'The cloud service has a problem: admissions from the gates are not being stored, so these numbers may be out of date. Please call the operator.',
};

/** Every label of the page in both languages (same keys; `{name}` placeholders are filled in by the page). */
export const DASHBOARD_TEXT: Record<DashboardLang, Record<TextKey, string>> = { 'zh-CN': ZH, en: EN };

/** JSON that is safe inside an inline `<script>` (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root { color-scheme: light; --ink: #1c2430; --muted: #5f6b7a; --line: #dde3ea; --bg: #f3f5f8; --card: #fff;
  --green: #2e7d32; --yellow: #f2b705; --orange: #ef6c00; --red: #c62828; --blue: #1565c0; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.4;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }
button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid #9aa6b5; background: #fff; color: var(--ink); padding: 8px 14px; min-height: 40px; }
button:focus-visible, input:focus-visible { outline: 3px solid var(--blue); outline-offset: 2px; }
button:disabled { opacity: .6; cursor: default; }
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 10px; }
.top { position: sticky; top: 0; z-index: 2; background: #1c2430; color: #fff; padding: 10px 14px; padding-top: max(10px, env(safe-area-inset-top)); }
.top-row { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 6px 12px; }
.top .meta { margin-top: 6px; font-size: .85rem; color: #cfd8e3; justify-content: flex-start; }
.lang { display: inline-flex; }
.lang button { min-height: 34px; padding: 4px 10px; background: transparent; color: #fff; border-color: #6c7a8c; }
.lang button:first-child { border-radius: 8px 0 0 8px; }
.lang button:last-child { border-radius: 0 8px 8px 0; border-left: 0; }
.lang button[aria-pressed="true"] { background: #fff; color: #1c2430; font-weight: 600; }
#conn-badge { padding: 2px 8px; border-radius: 999px; font-size: .8rem; background: #37475a; color: #fff; }
#conn-badge[data-state="live"] { background: #2e7d32; }
#conn-badge[data-state="reconnecting"], #conn-badge[data-state="polling"], #conn-badge[data-state="connecting"] { background: #f2b705; color: #1c2430; }
#conn-badge[data-state="unauthorized"] { background: var(--red); }
.banner { margin: 12px; padding: 12px 14px; border-radius: 10px; }
.banner.error { background: #fdecea; border: 1px solid #f5b7b1; color: #7f1d1d; }
.banner.error button { margin-top: 8px; display: block; }
.banner.warn { background: #fff6da; border: 1px solid #f2d57e; color: #5c4400; }
#loading { margin: 24px 14px; color: var(--muted); }
main { display: grid; grid-template-columns: 1fr; gap: 12px; padding: 12px; padding-bottom: max(12px, env(safe-area-inset-bottom)); max-width: 1200px; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 14px; min-width: 0; }
.capacity { transition: background-color .3s; }
.capacity[data-level="green"] { background: #edf7ee; border-color: #b7dfba; --lv: var(--green); }
.capacity[data-level="yellow"] { background: #fff8e1; border-color: #f3dc8a; --lv: var(--yellow); }
.capacity[data-level="orange"] { background: #fff0e3; border-color: #f6c08f; --lv: var(--orange); }
.capacity[data-level="red"] { background: #fdeaea; border-color: #f1a9a9; --lv: var(--red); }
.capacity[data-level="unknown"] { --lv: #78909c; }
.big { font-size: clamp(2.4rem, 11vw, 3.6rem); font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.big .slash { color: var(--muted); font-weight: 400; margin: 0 .15em; }
.big #daily { color: var(--muted); font-size: .6em; }
.big-label { color: var(--muted); font-size: .85rem; }
.level-name { display: inline-block; margin: 10px 0 4px; padding: 4px 12px; border-radius: 999px; font-weight: 700; background: var(--lv, #78909c); color: #fff; }
.capacity[data-level="yellow"] .level-name { color: #1c2430; }
.bar-wrap { position: relative; margin: 24px 0 26px; }
.cap-bar { position: relative; height: 22px; border-radius: 11px; background: rgba(0,0,0,.08); overflow: hidden; }
.cap-fill { height: 100%; width: 0; background: var(--lv, #78909c); border-radius: 11px 0 0 11px; transition: width .4s; }
.ticks { position: absolute; inset: 0; pointer-events: none; }
.tick { position: absolute; top: -3px; height: 28px; width: 0; border-left: 2px solid #1c2430; }
.tick[data-threshold="yellow"] { border-color: #b08400; }
.tick[data-threshold="orange"] { border-color: var(--orange); }
.tick[data-threshold="red"] { border-color: var(--red); }
.tick span { position: absolute; top: 28px; transform: translateX(-50%); font-size: .72rem; color: var(--muted); white-space: nowrap; }
.tick.edge span { top: -19px; transform: translateX(-100%); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 8px; margin: 0; }
.facts div { background: rgba(255,255,255,.6); border-radius: 8px; padding: 6px 10px; }
.facts dt { font-size: .78rem; color: var(--muted); }
.facts dd { margin: 0; font-size: 1.15rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.rows { list-style: none; margin: 0; padding: 0; }
.rows > li { padding: 10px 0; border-top: 1px solid var(--line); }
.rows > li:first-child { border-top: 0; padding-top: 0; }
.rows > li.empty { color: var(--muted); }
.gate-head { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; }
.gate-name { font-weight: 700; }
.dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; background: #9e9e9e; flex: none; }
.dot.on { background: var(--green); box-shadow: 0 0 0 3px rgba(46,125,50,.2); }
.dot.off { background: var(--red); }
li.offline .online-text { color: var(--red); font-weight: 700; }
.muted { color: var(--muted); font-size: .85rem; }
.meta-line { display: flex; flex-wrap: wrap; gap: 2px 14px; margin-top: 4px; }
.warn-text { color: #a04000; font-weight: 600; }
.devices { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }
.device { font-size: .8rem; padding: 2px 8px; border-radius: 999px; background: #eef2f6; }
.device.bad { background: #fdecea; color: #8e1b1b; font-weight: 700; border: 1px solid #f1a9a9; }
.ch-main { display: flex; align-items: flex-start; justify-content: space-between; gap: 10px; }
.ch-main > button { flex: none; white-space: nowrap; }
.ch-info { min-width: 0; overflow-wrap: anywhere; }
.ch-name { font-weight: 700; }
.kind { font-size: .72rem; padding: 1px 6px; border-radius: 4px; background: #e3eaf3; margin-left: 6px; vertical-align: middle; }
.ch-state.selling { color: var(--green); font-weight: 600; }
.ch-state.paused { color: var(--red); font-weight: 600; }
li[data-paused="true"] { background: linear-gradient(90deg, rgba(198,40,40,.07), transparent); }
button[data-action="pause"] { border-color: var(--red); color: var(--red); }
button[data-action="resume"] { border-color: var(--green); color: var(--green); }
.action-form { margin-top: 10px; padding: 10px; background: #f6f8fa; border: 1px solid var(--line); border-radius: 8px; display: grid; gap: 8px; }
.action-form label { display: grid; gap: 2px; font-size: .85rem; color: var(--muted); }
.action-form input { font: inherit; font-size: 16px; padding: 8px; border: 1px solid #9aa6b5; border-radius: 6px; color: var(--ink); width: 100%; }
.form-error { color: #8e1b1b; font-weight: 600; overflow-wrap: anywhere; }
.form-buttons { display: flex; gap: 8px; flex-wrap: wrap; }
.form-buttons button[type="submit"] { background: #1c2430; color: #fff; border-color: #1c2430; }
#entries-chart { display: block; width: 100%; height: auto; max-height: 240px; }
#entries-chart .bar-g .bar { fill: #90a4ae; }
#entries-chart .bar-g.peak .bar { fill: var(--orange); }
#entries-chart .bar-g.current .bar { fill: var(--blue); }
#entries-chart .bar-g.current.peak .bar { stroke: var(--orange); stroke-width: 2; }
#entries-chart .bar-g:hover .bar { opacity: .75; }
#entries-chart .hit { fill: transparent; }
#entries-chart text { font-size: 13px; fill: var(--muted); font-family: inherit; }
#entries-chart text.now { fill: var(--blue); font-weight: 700; }
#entries-chart text.val { fill: var(--ink); font-weight: 700; }
#entries-chart .axis { stroke: #b0bac5; stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .82rem; margin: 6px 0 0; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: baseline; }
.sw.peak { background: var(--orange); } .sw.now { background: var(--blue); }
.alert { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; border-left: 4px solid #90a4ae; padding-left: 10px !important; }
.alert[data-level="green"] { border-left-color: var(--green); }
.alert[data-level="yellow"] { border-left-color: var(--yellow); }
.alert[data-level="orange"] { border-left-color: var(--orange); }
.alert[data-level="red"] { border-left-color: var(--red); }
.alert .tag { font-size: .75rem; font-weight: 700; }
.alert .msg { grid-column: 1 / -1; overflow-wrap: anywhere; }
.conflict { overflow-wrap: anywhere; }
.conflict code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef2f6; padding: 1px 4px; border-radius: 4px; }
.noscript { margin: 16px; padding: 12px; background: #fff6da; border-radius: 8px; }
.report-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; }
.report-row label { display: grid; gap: 2px; font-size: .85rem; color: var(--muted); }
.report-row input { font: inherit; font-size: 16px; padding: 6px 8px; border: 1px solid #9aa6b5; border-radius: 6px; color: var(--ink); min-height: 40px; }
#report-link { display: inline-block; margin-top: 8px; color: var(--blue); font-weight: 600; }
[hidden] { display: none !important; }
@media (min-width: 760px) {
  main { grid-template-columns: 1fr 1fr; }
  .capacity, .wide { grid-column: 1 / -1; }
  .top { padding: 12px 20px; }
  h1 { font-size: 1.25rem; }
}
@media (min-width: 1100px) {
  main { grid-template-columns: repeat(3, 1fr); }
  .capacity { grid-column: 1 / 3; }
  .wide { grid-column: auto; }
}
`;

/*
 * The browser script. Plain ES2017, no template literals (this is itself a TypeScript template)
 * and no markup built from data: every model value goes in via textContent or setAttribute.
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var CONFIG = __STILE_CONFIG__;
  var TEXT = CONFIG.text;
  var SITE = String(CONFIG.site);
  var API = '/v1/staff/sites/' + encodeURIComponent(SITE);
  var LS_LANG = 'stile.dashboard.lang';
  var LS_BY = 'stile.dashboard.by';
  var SS_TOKEN = 'stile.dashboard.token:' + SITE;
  var LEVELS = ['green', 'yellow', 'orange', 'red'];
  var STREAM_GRACE_MS = 5000;
  var POLL_MS = 2000;
  // The server sends a comment line every 20 s; a stream silent for longer is dead (a dropped
  // connection fetch() would otherwise wait on forever): drop it and connect again.
  var STREAM_IDLE_MS = 45000;

  // ---- storage, language ----
  function storage(kind) {
    try { return kind === 'local' ? window.localStorage : window.sessionStorage; } catch (e) { return null; }
  }
  function getItem(kind, key) {
    var s = storage(kind);
    try { return s ? s.getItem(key) : null; } catch (e) { return null; }
  }
  function setItem(kind, key, value) {
    var s = storage(kind);
    try { if (s) s.setItem(key, value); } catch (e) { /* private mode: memory only */ }
  }
  function pickLang() {
    var saved = getItem('local', LS_LANG);
    if (saved === 'zh-CN' || saved === 'en') return saved;
    if (CONFIG.lang === 'zh-CN' || CONFIG.lang === 'en') return CONFIG.lang;
    var nav = String(navigator.language || '').toLowerCase();
    return nav.indexOf('zh') === 0 ? 'zh-CN' : 'en';
  }
  var lang = pickLang();
  function t(key, vars) {
    var table = TEXT[lang] || TEXT.en;
    var s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split('{' + k + '}').join(String(vars[k])); });
    }
    return s;
  }

  // ---- small DOM helpers ----
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  var SVGNS = null;
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function num(v) { var n = Number(v); return isFinite(n) ? n : 0; }
  function str(v) { return v === null || v === undefined ? '' : String(v); }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function hourLabel(h) { return pad2(h) + ':00'; }

  // ---- time, in the park's time zone ----
  var lastModel = null;
  var fmtCache = {};
  function tz() { return lastModel && typeof lastModel.timeZone === 'string' && lastModel.timeZone ? lastModel.timeZone : undefined; }
  function formatter(key, options, locale) {
    var loc = locale || lang;
    var k = key + '|' + loc + '|' + (tz() || '');
    if (!fmtCache[k]) {
      try { fmtCache[k] = new Intl.DateTimeFormat(loc, Object.assign({ timeZone: tz() }, options)); }
      catch (e) { fmtCache[k] = new Intl.DateTimeFormat(loc, options); } // unknown time zone: the phone's own
    }
    return fmtCache[k];
  }
  function zoned(d) {
    var o = {};
    try {
      var f = formatter('parts', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }, 'en-US');
      f.formatToParts(d).forEach(function (p) { o[p.type] = p.value; });
      var date = o.year + '-' + o.month + '-' + o.day;
      return { date: /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : '', hour: Number(o.hour) % 24 };
    } catch (e) {
      return { date: '', hour: d.getHours() };
    }
  }
  /** A model timestamp as park-local time; with the date when it is not the model's day. */
  function fmtAt(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return str(iso);
    var sameDay = lastModel && zoned(d).date === lastModel.date;
    var f = sameDay
      ? formatter('time', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      : formatter('datetime', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return f.format(d);
  }
  function ageText(iso) {
    var ms = Date.now() - new Date(iso).getTime();
    if (!isFinite(ms) || ms < 120000) return '';
    return t('minutesAgo', { n: Math.floor(ms / 60000) });
  }
  function fmtDate(date) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(str(date))) return str(date);
    try {
      return new Intl.DateTimeFormat(lang, { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(new Date(date + 'T00:00:00Z'));
    } catch (e) { return str(date); }
  }

  // ---- static labels, language toggle ----
  function applyStaticText() {
    document.documentElement.lang = lang;
    document.title = t('title') + ' · ' + SITE;
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('button[data-lang]'), function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-lang') === lang ? 'true' : 'false');
    });
    var group = document.querySelector('.lang');
    if (group) group.setAttribute('aria-label', t('language'));
    setConn(connState);
  }
  function setLang(next) {
    if (next !== 'zh-CN' && next !== 'en') return;
    lang = next;
    setItem('local', LS_LANG, next);
    applyStaticText();
    render();
  }

  // ---- connection: SSE first, polling while it is down ----
  var token = null;
  var stream = null; // the AbortController of the live stream's fetch
  var idleTimer = null;
  var streamUp = false;
  var connState = 'connecting';
  var downTimer = null;
  var pollTimer = null;
  var reconnectTimer = null;
  var reconnectDelay = 1000;
  var lastProbe = 0;
  var authFailed = false;

  function tokenFromHash() {
    var parts = String(location.hash || '').replace(/^#/, '').split('&');
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf('token=') === 0) {
        var raw = parts[i].slice(6);
        try { raw = decodeURIComponent(raw); } catch (e) { /* keep as is */ }
        return raw || null;
      }
    }
    return null;
  }
  function loadToken() {
    var fromHash = tokenFromHash();
    if (fromHash) { setItem('session', SS_TOKEN, fromHash); return fromHash; }
    return getItem('session', SS_TOKEN) || null;
  }
  function setConn(state) {
    connState = state;
    var b = $('conn-badge');
    if (!b) return;
    b.setAttribute('data-state', state);
    b.textContent = t(state === 'unauthorized' ? 'unauthorizedShort' : state);
  }
  function showNotice(text) {
    var n = $('notice');
    n.textContent = text || '';
    n.hidden = !text;
  }
  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }
  function startPolling() {
    if (pollTimer || streamUp || authFailed) return;
    setConn('polling');
    fetchModel();
    pollTimer = setInterval(function () { if (streamUp) stopPolling(); else fetchModel(); }, POLL_MS);
  }
  function closeStream() {
    if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
    if (stream) { var s = stream; stream = null; s.abort(); }
    streamUp = false;
  }
  function stopStream() {
    closeStream();
    if (downTimer) { clearTimeout(downTimer); downTimer = null; }
    if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  }
  function onUnauthorized() {
    authFailed = true;
    stopStream();
    stopPolling();
    setConn('unauthorized');
    $('auth-error').hidden = false;
    $('loading').hidden = true;
  }
  function clearUnauthorized() {
    authFailed = false;
    $('auth-error').hidden = true;
  }
  function scheduleReconnect() {
    if (reconnectTimer || authFailed) return;
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 15000);
  }
  /**
   * Server-sent events from a fetch() body: calls onData with each event's data. Only what
   * the server sends is handled (data lines, comments, LF or CRLF line ends); id, event and
   * retry are not used.
   */
  function readEvents(body, onChunk, onData) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    var data = [];
    function line(l) {
      if (l === '') {
        if (data.length) { var d = data.join('\n'); data = []; onData(d); }
        return;
      }
      if (l.charAt(0) === ':') return; // comment: the server's heartbeat
      var i = l.indexOf(':');
      var field = i < 0 ? l : l.slice(0, i);
      var value = i < 0 ? '' : l.slice(i + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'data') data.push(value);
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) return;
        if (onChunk() === false) { reader.cancel(); return; }
        buf += decoder.decode(r.value, { stream: true });
        var lines = buf.split('\n');
        buf = lines.pop();
        lines.forEach(function (l) { line(l.charAt(l.length - 1) === '\r' ? l.slice(0, -1) : l); });
        return pump();
      });
    }
    return pump();
  }
  function streamDown(ctrl) {
    if (stream !== ctrl) return;
    closeStream();
    if (!pollTimer) setConn('reconnecting');
    if (!downTimer && !pollTimer) {
      downTimer = setTimeout(function () { downTimer = null; if (!streamUp) startPolling(); }, STREAM_GRACE_MS);
    }
    scheduleReconnect();
    // One GET right away: tells a wrong token (401) apart from a network blip.
    if (Date.now() - lastProbe > POLL_MS) fetchModel();
  }
  function connect() {
    // Not stopStream(): the "down for 5 s, start polling" timer must survive our own reconnect attempts.
    closeStream();
    if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
    if (!token) { onUnauthorized(); return; }
    if (typeof AbortController !== 'function' || typeof TextDecoder !== 'function' || typeof ReadableStream !== 'function') { startPolling(); return; }
    var ctrl = new AbortController();
    stream = ctrl;
    function alive() {
      if (stream !== ctrl) return false;
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(function () { streamDown(ctrl); }, STREAM_IDLE_MS);
      return true;
    }
    fetch(API + '/dashboard/stream', { headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal: ctrl.signal })
      .then(function (res) {
        if (stream !== ctrl) return;
        if (res.status === 401) { onUnauthorized(); return; }
        if (!res.ok || !res.body) { streamDown(ctrl); return; }
        streamUp = true;
        reconnectDelay = 1000;
        if (downTimer) { clearTimeout(downTimer); downTimer = null; }
        stopPolling();
        setConn('live');
        alive();
        return readEvents(res.body, alive, function (data) {
          var m;
          try { m = JSON.parse(data); } catch (e) { return; }
          accept(m);
        }).then(function () { streamDown(ctrl); }); // the server ended the stream
      })
      .catch(function () { streamDown(ctrl); }); // network error, or our own abort (then stream !== ctrl)
  }
  function authHeaders(extra) {
    var h = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }
  function errorText(res, body) {
    var msg = '';
    try {
      var j = JSON.parse(body);
      if (j && typeof j === 'object') msg = str(j.message || j.error);
    } catch (e) { /* not JSON */ }
    return t('requestFailed') + ' (' + res.status + ')' + (msg ? ': ' + msg : '');
  }
  function fetchModel() {
    if (!token) { onUnauthorized(); return Promise.resolve(); }
    lastProbe = Date.now();
    return fetch(API + '/dashboard', { headers: authHeaders(), cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { onUnauthorized(); return; }
        if (!res.ok) return res.text().then(function (body) { showNotice(errorText(res, body)); });
        return res.json().then(function (m) {
          if (authFailed) { clearUnauthorized(); connect(); }
          showNotice('');
          accept(m);
        });
      })
      .catch(function () { /* offline: the badge already says so */ });
  }
  function accept(m) {
    if (!m || typeof m !== 'object') return;
    if (lastModel && m.updatedAt && lastModel.updatedAt) {
      var a = Date.parse(m.updatedAt), b = Date.parse(lastModel.updatedAt);
      if (isFinite(a) && isFinite(b) && a < b) return; // an older answer overtaken by a newer one
    }
    render(m);
  }
  // ---- reports: fetched with the header, shown from a blob: URL (a link would need the token in it) ----
  var reportUrl = null;
  function reportStatus(text) {
    var n = $('report-status');
    n.textContent = text || '';
    n.hidden = !text;
  }
  function openReport(format) {
    if (!token) { onUnauthorized(); return; }
    var date = $('report-date').value || (lastModel && lastModel.date) || '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) { $('report-date').focus(); return; }
    // Opened now, inside the click, so it is not a blocked popup; the report goes into it when it arrives.
    var win = format === 'html' ? window.open('', '_blank') : null;
    if (win) win.opener = null;
    reportStatus(t('reportLoading'));
    fetch(API + '/reports/' + date + '?format=' + format + '&lang=' + encodeURIComponent(lang), { headers: authHeaders({ Accept: format === 'csv' ? 'text/csv' : 'text/html' }), cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) {
          if (win) win.close();
          if (res.status === 401) onUnauthorized();
          return res.text().then(function (body) { reportStatus(errorText(res, body)); });
        }
        return res.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          reportStatus('');
          if (format === 'csv') {
            var a = el('a', { href: url, download: SITE + '-' + date + '.csv', hidden: true });
            document.body.appendChild(a);
            a.click();
            a.remove();
            setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
            return;
          }
          if (reportUrl) URL.revokeObjectURL(reportUrl);
          reportUrl = url;
          var link = $('report-link');
          link.href = url;
          link.setAttribute('data-date', date);
          link.hidden = false;
          if (win) win.location.href = url;
        });
      }, function () { if (win) win.close(); reportStatus(t('networkError')); });
  }

  function restart() {
    token = loadToken();
    clearUnauthorized();
    $('loading').hidden = !!lastModel;
    reconnectDelay = 1000;
    if (!token) { onUnauthorized(); return; }
    setConn('connecting');
    connect();
    fetchModel();
  }

  // ---- rendering ----
  function renderHeader(m) {
    $('site').textContent = m && m.site ? str(m.site) : SITE;
    $('date').textContent = m ? fmtDate(m.date) : '';
    $('updated').textContent = m ? fmtAt(m.updatedAt) : '—';
    if (m && m.updatedAt) $('updated').setAttribute('datetime', str(m.updatedAt));
    var rd = $('report-date');
    if (m && /^\d{4}-\d{2}-\d{2}$/.test(str(m.date))) {
      rd.max = m.date;
      if (!rd.value) rd.value = m.date;
    }
  }

  // The cloud's own /healthz: numbers that stop moving must say why.
  function renderCloud(m) {
    var box = $('cloud-health');
    var c = m.cloud;
    if (!c || c.ready !== false) { box.hidden = true; return; }
    box.replaceChildren(el('strong', { text: t('cloudUnhealthy') }), el('ul', {}, arr(c.problems).map(function (p) { return el('li', { text: str(p) }); })));
    box.hidden = false;
  }

  function renderCapacity(m) {
    var c = m.capacity || {};
    var level = LEVELS.indexOf(c.level) >= 0 ? c.level : 'unknown';
    var card = $('capacity');
    card.setAttribute('data-level', level);
    var daily = num(c.daily), load = num(c.load);
    var admitted = $('admitted');
    admitted.textContent = String(num(c.admitted));
    admitted.setAttribute('data-value', String(num(c.admitted)));
    $('daily').textContent = String(daily);
    $('level-name').textContent = t('level_' + level);
    $('load').textContent = load + ' / ' + daily;
    $('percent').textContent = num(c.percent) + '%';
    $('sold').textContent = String(num(c.soldToday));

    var th = c.thresholds || {};
    var frac = daily > 0 ? load / daily : 0;
    var scale = Math.max(1, num(th.red), Math.min(frac, 1.5));
    $('cap-fill').style.width = Math.max(0, Math.min(frac / scale, 1)) * 100 + '%';
    var bar = $('cap-bar');
    bar.setAttribute('aria-valuenow', String(num(c.percent)));
    bar.setAttribute('aria-valuemax', String(Math.round(scale * 100)));
    bar.setAttribute('aria-valuetext', num(c.percent) + '% · ' + t('level_' + level));
    var ticks = $('cap-ticks');
    ticks.replaceChildren();
    ['yellow', 'orange', 'red'].forEach(function (name) {
      var f = Number(th[name]);
      if (!isFinite(f) || f <= 0) return;
      var pos = Math.min(f / scale, 1) * 100;
      var pct = Math.round(f * 100) + '%';
      ticks.appendChild(el('div', { class: 'tick' + (pos > 92 ? ' edge' : ''), 'data-threshold': name, title: t('levelShort_' + name) + ' ' + pct },
        [el('span', { text: pct })]));
      ticks.lastChild.style.left = pos + '%';
    });
  }

  function renderGates(m) {
    var list = $('gates');
    var gates = arr(m.gates);
    if (!gates.length) { list.replaceChildren(el('li', { class: 'empty', text: t('none') })); return; }
    list.replaceChildren.apply(list, gates.map(function (g) {
      var online = g.online === true;
      var devices = g.devices && typeof g.devices === 'object' ? g.devices : {};
      var names = Object.keys(devices);
      var bad = names.filter(function (n) { return str(devices[n]) !== 'ok'; });
      var outbox = g.outboxDepth === null || g.outboxDepth === undefined ? '—' : String(num(g.outboxDepth));
      var age = g.statusAt ? ageText(g.statusAt) : '';
      return el('li', { class: online ? 'online' : 'offline', 'data-gate': str(g.gate), 'data-online': String(online), 'data-bad-devices': String(bad.length) }, [
        el('div', { class: 'gate-head' }, [
          el('span', { class: 'dot ' + (online ? 'on' : 'off'), 'aria-hidden': 'true' }),
          el('span', { class: 'gate-name', text: str(g.gate) }),
          el('span', { class: 'online-text', text: t(online ? 'online' : 'offline') }),
          el('span', { class: 'gate-state', 'data-field': 'state' }, [t('gateState') + ': ', el('strong', { text: g.state === null || g.state === undefined ? '—' : str(g.state) })]),
        ]),
        el('div', { class: 'meta-line muted' }, [
          el('span', { 'data-field': 'outbox', class: num(g.outboxDepth) > 0 ? 'warn-text' : null, text: t('outbox') + ': ' + outbox }),
          el('span', { 'data-field': 'statusAt', text: t('statusAt') + ': ' + fmtAt(g.statusAt) + (age ? ' (' + age + ')' : '') }),
        ]),
        names.length
          ? el('ul', { class: 'devices', 'aria-label': t('devices') }, names.map(function (n) {
              var state = str(devices[n]);
              return el('li', { class: 'device' + (state !== 'ok' ? ' bad' : ''), 'data-device': n, 'data-state': state, text: n + ': ' + state });
            }))
          : el('div', { class: 'muted', text: t('devices') + ': ' + t('noDevices') }),
      ]);
    }));
  }

  // Channel rows are kept across renders (keyed by id) so an open pause/resume form survives live updates.
  var channelRows = new Map();
  var formSeq = 0;
  function makeChannelRow(id) {
    var row = { id: id, action: 'pause', form: null };
    row.info = el('div', { class: 'ch-info' });
    row.btn = el('button', { type: 'button', 'data-action': 'pause', 'aria-expanded': 'false' });
    row.btn.addEventListener('click', function () { if (row.form) closeForm(row); else openForm(row); });
    row.li = el('li', { 'data-channel': id }, [el('div', { class: 'ch-main' }, [row.info, row.btn])]);
    return row;
  }
  function updateChannelRow(row, c, m) {
    var paused = c.paused === true;
    row.action = paused ? 'resume' : 'pause';
    row.li.setAttribute('data-paused', String(paused));
    var level = m.capacity && m.capacity.level;
    var capStop = !paused && (level === 'red' || (level === 'orange' && c.kind === 'online')) ? t('capacityStop_' + level) : '';
    var kind = c.kind === 'online' || c.kind === 'kiosk' ? t('kind_' + c.kind) : str(c.kind);
    var lines = [
      el('div', {}, [el('span', { class: 'ch-name', text: str(c.name || c.id) }), el('span', { class: 'kind', 'data-kind': str(c.kind), text: kind })]),
      paused
        ? el('div', { class: 'ch-state paused', 'data-field': 'state', text: t('pausedBy', { by: str(c.by) || '—', reason: str(c.reason) || '—' }) })
        : el('div', { class: 'ch-state selling', 'data-field': 'state', text: t('selling') }),
    ];
    if (!paused && c.by) lines.push(el('div', { class: 'muted', text: t('resumedBy', { by: str(c.by), reason: str(c.reason) || '—' }) + (c.at ? ' · ' + fmtAt(c.at) : '') }));
    if (paused && c.at) lines.push(el('div', { class: 'muted', text: fmtAt(c.at) }));
    if (capStop) lines.push(el('div', { class: 'warn-text', 'data-field': 'capacity-stop', text: capStop }));
    row.info.replaceChildren.apply(row.info, lines);
    row.btn.setAttribute('data-action', row.action);
    row.btn.textContent = t(row.action);
    if (row.form && row.form.action !== row.action && !row.form.busy) closeForm(row);
    if (row.form) labelForm(row.form);
  }
  function labelForm(f) {
    f.byLabel.textContent = t('yourName');
    f.reasonLabel.textContent = t('reason');
    f.submit.textContent = t(f.busy ? 'sending' : 'confirm_' + f.action);
    f.cancel.textContent = t('cancel');
  }
  function openForm(row) {
    var id = 'chform-' + (++formSeq);
    var f = { action: row.action, busy: false };
    f.by = el('input', { type: 'text', name: 'by', 'data-field': 'by', maxlength: 64, required: true, autocomplete: 'name' });
    f.by.value = getItem('local', LS_BY) || '';
    f.reason = el('input', { type: 'text', name: 'reason', 'data-field': 'reason', maxlength: 200, required: true });
    f.byLabel = el('span');
    f.reasonLabel = el('span');
    f.error = el('div', { class: 'form-error', 'data-role': 'error', role: 'alert' });
    f.error.hidden = true;
    f.submit = el('button', { type: 'submit', 'data-role': 'submit' });
    f.cancel = el('button', { type: 'button', 'data-role': 'cancel' });
    f.node = el('form', { id: id, class: 'action-form', 'data-form': f.action, novalidate: true }, [
      el('label', {}, [f.byLabel, f.by]),
      el('label', {}, [f.reasonLabel, f.reason]),
      f.error,
      el('div', { class: 'form-buttons' }, [f.submit, f.cancel]),
    ]);
    f.node.addEventListener('submit', function (ev) { ev.preventDefault(); submitForm(row, f); });
    f.cancel.addEventListener('click', function () { closeForm(row); row.btn.focus(); });
    labelForm(f);
    row.form = f;
    row.li.appendChild(f.node);
    row.btn.setAttribute('aria-expanded', 'true');
    row.btn.setAttribute('aria-controls', id);
    (f.by.value ? f.reason : f.by).focus();
  }
  function closeForm(row) {
    if (!row.form) return;
    row.form.node.remove();
    row.form = null;
    row.btn.setAttribute('aria-expanded', 'false');
    row.btn.removeAttribute('aria-controls');
  }
  function formError(f, text) {
    f.error.textContent = text;
    f.error.hidden = !text;
  }
  function submitForm(row, f) {
    if (f.busy) return;
    var by = f.by.value.trim();
    var reason = f.reason.value.trim();
    if (!by) { formError(f, t('nameRequired')); f.by.focus(); return; }
    if (!reason) { formError(f, t('reasonRequired')); f.reason.focus(); return; }
    if (!token) { onUnauthorized(); formError(f, t('unauthorized')); return; }
    setItem('local', LS_BY, by);
    formError(f, '');
    f.busy = true;
    f.submit.disabled = true;
    labelForm(f);
    fetch(API + '/channels/' + encodeURIComponent(row.id) + '/' + f.action, {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ by: by, reason: reason }),
      cache: 'no-store',
    })
      .then(function (res) {
        if (res.ok) {
          f.busy = false;
          if (row.form === f) { closeForm(row); row.btn.focus(); }
          return fetchModel();
        }
        return res.text().then(function (body) {
          if (res.status === 401) onUnauthorized();
          formError(f, errorText(res, body));
        });
      }, function () { formError(f, t('networkError')); })
      .then(function () {
        f.busy = false;
        f.submit.disabled = false;
        labelForm(f);
      });
  }
  function renderChannels(m) {
    var list = $('channels');
    var chans = arr(m.channels);
    var seen = new Set();
    var order = [];
    chans.forEach(function (c) {
      var id = str(c && c.id);
      if (seen.has(id)) return;
      seen.add(id);
      var row = channelRows.get(id);
      if (!row) { row = makeChannelRow(id); channelRows.set(id, row); }
      updateChannelRow(row, c, m);
      order.push(row.li);
    });
    channelRows.forEach(function (row, id) { if (!seen.has(id)) { row.li.remove(); channelRows.delete(id); } });
    Array.prototype.slice.call(list.children).forEach(function (child) { if (order.indexOf(child) < 0) child.remove(); });
    order.forEach(function (li, i) { if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null); });
    if (!order.length) list.appendChild(el('li', { class: 'empty', text: t('none') }));
  }

  function renderChart(m) {
    var svg = $('entries-chart');
    if (!SVGNS) SVGNS = svg.namespaceURI;
    var persons = [];
    for (var h = 0; h < 24; h++) persons.push(0);
    arr(m.entriesByHour).forEach(function (b) {
      var hour = Number(b && b.hour);
      if (hour >= 0 && hour < 24 && Math.floor(hour) === hour) persons[hour] = num(b.persons);
    });
    var max = Math.max.apply(null, persons);
    var total = persons.reduce(function (a, b) { return a + b; }, 0);
    var peak = max > 0 ? persons.indexOf(max) : -1;
    var here = zoned(new Date());
    var nowHour = here.date === m.date ? here.hour : -1;
    var W = 20, TOP = 16, BOTTOM = 132, H = BOTTOM - TOP;
    var nodes = [svgEl('line', { class: 'axis', x1: 0, x2: 24 * W, y1: BOTTOM + 0.5, y2: BOTTOM + 0.5 })];
    persons.forEach(function (p, hour) {
      var cls = 'bar-g' + (hour === nowHour ? ' current' : '') + (hour === peak ? ' peak' : '');
      var bh = p > 0 ? Math.max(2, (p / Math.max(max, 1)) * H) : 0;
      var g = svgEl('g', { class: cls, 'data-hour': hour, 'data-persons': p });
      g.appendChild(svgEl('title', {}, t('hourTip', { from: hourLabel(hour), to: hourLabel((hour + 1) % 24), n: p })));
      g.appendChild(svgEl('rect', { class: 'hit', x: hour * W, y: 0, width: W, height: BOTTOM }));
      g.appendChild(svgEl('rect', { class: 'bar', x: hour * W + 3, y: BOTTOM - bh, width: W - 6, height: bh, rx: 2 }));
      if (hour === peak) g.appendChild(svgEl('text', { class: 'val', x: hour * W + W / 2, y: Math.max(10, BOTTOM - bh - 4), 'text-anchor': 'middle' }, p));
      nodes.push(g);
      var labelled = hour === nowHour || (hour % 6 === 0 && (nowHour < 0 || Math.abs(hour - nowHour) > 1));
      if (labelled) nodes.push(svgEl('text', { class: hour === nowHour ? 'now' : 'hour', x: hour * W + W / 2, y: BOTTOM + 16, 'text-anchor': 'middle' }, pad2(hour)));
    });
    svg.replaceChildren.apply(svg, nodes);
    var parts = [];
    if (peak >= 0) parts.push(t('peak', { from: hourLabel(peak), to: hourLabel((peak + 1) % 24), n: max }));
    if (nowHour >= 0) parts.push(t('now', { from: hourLabel(nowHour), to: hourLabel((nowHour + 1) % 24), n: persons[nowHour] }));
    parts.push(total > 0 ? t('total', { n: total }) : t('noEntries'));
    svg.setAttribute('aria-label', t('entriesByHour') + '. ' + parts.join('; '));
    var legend = $('entries-summary');
    var items = [];
    if (peak >= 0) items.push(el('span', {}, [el('span', { class: 'sw peak', 'aria-hidden': 'true' }), parts.shift()]));
    if (nowHour >= 0) items.push(el('span', {}, [el('span', { class: 'sw now', 'aria-hidden': 'true' }), parts.shift()]));
    items.push(el('span', { text: parts.join('; ') }));
    legend.replaceChildren.apply(legend, items);
  }

  function renderAlerts(m) {
    var list = $('alerts');
    var alerts = arr(m.alerts);
    if (!alerts.length) { list.replaceChildren(el('li', { class: 'empty', text: t('none') })); return; }
    list.replaceChildren.apply(list, alerts.map(function (a) {
      var level = LEVELS.indexOf(a.level) >= 0 ? a.level : null;
      var msg = a.message || {};
      var text = lang === 'en' ? (msg.en || msg.zh) : (msg.zh || msg.en);
      return el('li', { class: 'alert', 'data-level': level || 'none', 'data-kind': str(a.kind) }, [
        el('span', { class: 'muted', text: fmtAt(a.at) }),
        el('span', { class: 'tag', text: level ? t('levelShort_' + level) : t('info') }),
        el('span', { class: 'msg', text: str(text || a.kind) }),
      ]);
    }));
  }

  function renderConflicts(m) {
    var list = $('conflicts');
    var conflicts = arr(m.conflicts);
    if (!conflicts.length) { list.replaceChildren(el('li', { class: 'empty', text: t('none') })); return; }
    list.replaceChildren.apply(list, [el('li', { class: 'muted', text: t('conflictHead') })].concat(conflicts.map(function (c) {
      return el('li', { class: 'conflict', 'data-ticket': str(c.ticketId) }, [
        el('code', { text: str(c.ticketId) }),
        ' · ' + (c.firstGate === null || c.firstGate === undefined ? '?' : str(c.firstGate)) + ' → ' + str(c.secondGate) + ' · ',
        el('span', { class: 'muted', text: fmtAt(c.detectedAt) }),
      ]);
    })));
  }

  function render(model) {
    if (model !== undefined) {
      if (!model || typeof model !== 'object') return;
      lastModel = model;
      api.lastModel = model;
    }
    var m = lastModel;
    renderHeader(m);
    if (!m) return;
    $('loading').hidden = true;
    $('main').hidden = false;
    [renderCloud, renderCapacity, renderGates, renderChannels, renderChart, renderAlerts, renderConflicts].forEach(function (section) {
      try { section(m); } catch (e) { if (window.console) console.error('dashboard: render failed', e); }
    });
  }

  var api = { lastModel: null, render: render };
  window.__stileDashboard = api;

  // ---- start ----
  Array.prototype.forEach.call(document.querySelectorAll('button[data-lang]'), function (b) {
    b.addEventListener('click', function () { setLang(b.getAttribute('data-lang')); });
  });
  $('retry').addEventListener('click', restart);
  $('report-html').addEventListener('click', function () { openReport('html'); });
  $('report-csv').addEventListener('click', function () { openReport('csv'); });
  window.addEventListener('hashchange', function () {
    var next = tokenFromHash();
    if (next && next !== token) restart();
  });
  document.addEventListener('visibilitychange', function () {
    // Phones suspend background tabs: catch up at once when the page is shown again.
    if (document.visibilityState === 'visible' && token && !authFailed && !streamUp) { connect(); fetchModel(); }
  });
  setInterval(function () { if (lastModel) render(); }, 30000); // ages, current hour
  applyStaticText();
  restart();
})();
`;

/** The dashboard page for one site; the server serves it at `GET /dashboard/{site}`. */
export function dashboardHtml(opts: { site: string; lang?: DashboardLang }): string {
  const lang: DashboardLang = opts.lang === 'en' ? 'en' : 'zh-CN';
  const L = DASHBOARD_TEXT[lang];
  const tx = (key: TextKey) => escapeHtml(L[key]);
  const site = escapeHtml(opts.site);
  const nonce = randomBytes(16).toString('base64');
  const config = scriptJson({ site: opts.site, lang: opts.lang ?? null, text: DASHBOARD_TEXT });
  const script = SCRIPT.replace('__STILE_CONFIG__', () => config);
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>${tx('title')} · ${site}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <div class="top-row">
    <h1><span data-i18n="title">${tx('title')}</span> · <span id="site">${site}</span></h1>
    <div class="lang" role="group" aria-label="${tx('language')}">
      <button type="button" data-lang="zh-CN" lang="zh-CN" aria-pressed="${lang === 'zh-CN'}">中文</button><button type="button" data-lang="en" lang="en" aria-pressed="${lang === 'en'}">English</button>
    </div>
  </div>
  <div class="top-row meta">
    <span id="date"></span>
    <span><span data-i18n="updated">${tx('updated')}</span> <time id="updated">—</time></span>
    <span id="conn-badge" data-state="connecting" role="status" aria-live="polite">${tx('connecting')}</span>
  </div>
</header>
<noscript><p class="noscript">此页面需要启用 JavaScript。This page needs JavaScript.</p></noscript>
<div id="auth-error" class="banner error" role="alert" hidden>
  <strong data-i18n="unauthorized">${tx('unauthorized')}</strong> <span data-i18n="tokenHint">${tx('tokenHint')}</span>
  <button type="button" id="retry" data-i18n="retry">${tx('retry')}</button>
</div>
<div id="notice" class="banner warn" role="status" hidden></div>
<div id="cloud-health" class="banner error" role="alert" hidden></div>
<p id="loading" data-i18n="loading">${tx('loading')}</p>
<main id="main" hidden>
  <section id="capacity" class="card capacity" aria-labelledby="cap-title">
    <h2 id="cap-title" data-i18n="capacity">${tx('capacity')}</h2>
    <div class="big"><span id="admitted">0</span><span class="slash">/</span><span id="daily">0</span></div>
    <div class="big-label" data-i18n="admittedToday">${tx('admittedToday')}</div>
    <div id="level-name" class="level-name"></div>
    <div class="bar-wrap">
      <div id="cap-bar" class="cap-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-labelledby="load-label"><div id="cap-fill" class="cap-fill"></div></div>
      <div id="cap-ticks" class="ticks" aria-hidden="true"></div>
    </div>
    <dl class="facts">
      <div><dt id="load-label" data-i18n="load">${tx('load')}</dt><dd id="load"></dd></div>
      <div><dt data-i18n="percent">${tx('percent')}</dt><dd id="percent"></dd></div>
      <div><dt data-i18n="soldToday">${tx('soldToday')}</dt><dd id="sold"></dd></div>
    </dl>
  </section>
  <section class="card" aria-labelledby="gates-title"><h2 id="gates-title" data-i18n="gates">${tx('gates')}</h2><ul id="gates" class="rows"></ul></section>
  <section class="card" aria-labelledby="channels-title"><h2 id="channels-title" data-i18n="channels">${tx('channels')}</h2><ul id="channels" class="rows"></ul></section>
  <section class="card wide" aria-labelledby="entries-title"><h2 id="entries-title" data-i18n="entriesByHour">${tx('entriesByHour')}</h2>
    <svg id="entries-chart" viewBox="0 0 480 150" role="img" preserveAspectRatio="xMidYMid meet"></svg>
    <p id="entries-summary" class="legend"></p>
  </section>
  <section class="card" aria-labelledby="alerts-title"><h2 id="alerts-title" data-i18n="alerts">${tx('alerts')}</h2><ul id="alerts" class="rows"></ul></section>
  <section class="card" aria-labelledby="conflicts-title"><h2 id="conflicts-title" data-i18n="conflicts">${tx('conflicts')}</h2><ul id="conflicts" class="rows"></ul></section>
  <section class="card" aria-labelledby="reports-title"><h2 id="reports-title" data-i18n="reports">${tx('reports')}</h2>
    <div class="report-row">
      <label><span data-i18n="reportDate">${tx('reportDate')}</span><input type="date" id="report-date"></label>
      <button type="button" id="report-html" data-i18n="viewReport">${tx('viewReport')}</button>
      <button type="button" id="report-csv" data-i18n="downloadCsv">${tx('downloadCsv')}</button>
    </div>
    <p id="report-status" class="muted" role="status" hidden></p>
    <a id="report-link" target="_blank" rel="noopener" data-i18n="openReport" hidden>${tx('openReport')}</a>
  </section>
</main>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
}
