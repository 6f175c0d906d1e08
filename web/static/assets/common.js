// Shared helpers of the parents' pages: the API, Vietnam time, the labels.
// Plain ES2020, no build step; exposed as window.TS.
"use strict";

(function () {
  // The names of levels and statuses come from the server, generated from
  // package enrollment (/assets/labels.js, loaded before this file).
  const LABELS = window.TS_LABELS || { levels: {}, statuses: {} };
  const LEVELS = LABELS.levels;

  function level(code) {
    return LEVELS[code] || { vi: code, en: code, order: 99 };
  }

  // status returns a status's short label, sentence and badge class.
  function status(code) {
    return LABELS.statuses[code] || { label: code, label_en: code, text: code, text_en: code, badge: "" };
  }

  function byLevel(a, b) {
    return level(a.level).order - level(b.level).order;
  }

  // Vietnam has one time zone, UTC+7, with no daylight saving, so the
  // conversion needs no time zone database.
  const VN_OFFSET_MS = 7 * 3600 * 1000;

  function vnParts(iso) {
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) return null;
    const v = new Date(t.getTime() + VN_OFFSET_MS);
    const p2 = (n) => String(n).padStart(2, "0");
    return {
      y: v.getUTCFullYear(), mo: p2(v.getUTCMonth() + 1), d: p2(v.getUTCDate()),
      h: p2(v.getUTCHours()), mi: p2(v.getUTCMinutes()), s: p2(v.getUTCSeconds()),
    };
  }

  // "14:05 ngày 26/11/2026"
  function vnDateTime(iso, seconds) {
    const p = vnParts(iso);
    if (!p) return "";
    return `${p.h}:${p.mi}${seconds ? ":" + p.s : ""} ngày ${p.d}/${p.mo}/${p.y}`;
  }

  function vnDate(iso) {
    const p = vnParts(iso);
    return p ? `${p.d}/${p.mo}/${p.y}` : "";
  }

  // A closing time at 00:00 reads better as the end of the day before.
  function vnDeadline(iso) {
    const p = vnParts(iso);
    if (!p) return "";
    if (p.h === "00" && p.mi === "00") {
      return `24:00 ngày ${vnDate(new Date(new Date(iso).getTime() - 1000).toISOString())}`;
    }
    return vnDateTime(iso);
  }

  function schoolYear(y) {
    return `${y}–${y + 1}`;
  }

  // Tracking codes are shown in groups of five: ABCDE-FGHJK-MNPQR-STVWX.
  function formatCode(code) {
    return String(code || "").replace(/(.{5})(?=.)/g, "$1-");
  }

  // api fetches JSON and always resolves to {status, ok, body, headers};
  // status 0 means the server could not be reached.
  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { status: 0, ok: false, body: null, headers: new Headers() };
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { status: res.status, ok: res.ok, body, headers: res.headers };
  }

  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  // en returns English secondary text.
  function en(text, block) {
    return el("span", { class: block ? "en en-block" : "en", lang: "en" }, text);
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (e) {
      // fall through to the old way
    }
    const ta = el("textarea", { readonly: true, "aria-hidden": "true", class: "offscreen" });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    ta.remove();
    return ok;
  }

  window.TS = { LEVELS, level, status, byLevel, vnDateTime, vnDate, vnDeadline, schoolYear, formatCode, api, el, en, copyText };
})();
