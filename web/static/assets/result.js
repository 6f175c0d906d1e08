// The parents' result page: look up with the tracking code and the
// child's ID number, read the result and why, recompute the lottery
// number, confirm or decline the seat, print the slip.
"use strict";

(function () {
  const { api, el, en, level, status, vnDateTime, vnDate, schoolYear, formatCode } = window.TS;
  const $ = (id) => document.getElementById(id);
  const out = $("result-view");
  let current = null; // the last view the server gave

  const RELATION = { father: "Cha", mother: "Mẹ", grandparent: "Ông/bà", sibling: "Anh/chị", guardian: "Người giám hộ", other: "Khác" };
  const ROLE = { parent: "Phụ huynh", school: "Nhà trường", authority: "Cơ quan quản lý", city: "Sở GD&ĐT" };

  function normalize(s) {
    return String(s || "").toUpperCase().replace(/[\s-]/g, "");
  }

  function notice(kind, vi, enText, ...content) {
    return el("div", { class: "notice notice-" + kind, role: kind === "error" ? "alert" : null },
      el("h2", {}, vi, en(enText, true)), ...content);
  }

  function schoolName(v, code) {
    return (v.school_names && v.school_names[code]) || code;
  }

  function rankOf(v, code) {
    const i = (v.choices || []).indexOf(code);
    return i < 0 ? 0 : i + 1;
  }

  // The engine writes "Nguyện vọng 1, trường T1: trường đã nhận đủ…"; the
  // page names the school by its name and keeps the reason.
  function reasonText(text) {
    const i = String(text || "").indexOf(": ");
    const s = i >= 0 ? text.slice(i + 2) : text;
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  // reasonParts says "đã đủ N chỉ tiêu: <why>" for a full school, and the
  // engine's reason as it is otherwise.
  function reasonParts(e) {
    const text = reasonText(e.vi);
    const m = /^Trường đã nhận đủ (\d+) chỉ tiêu\. (.*)$/s.exec(text);
    if (e.reason === "full" && m) return [` đã đủ chỉ tiêu (${m[1]} chỗ): `, m[2]];
    return [": ", text];
  }

  function resultSummary(v) {
    const r = v.result;
    const wrap = el("div", { id: "result-summary" });
    if (r.via === "unassigned" || !r.school) {
      wrap.append(el("p", { class: "result-head", id: "result-headline" },
        "Con chưa được xếp chỗ ở vòng này. Con sẽ được xét ở vòng tiếp theo với các chỗ còn trống.",
        en("Your child was not given a seat in this round; the next round considers the seats left.", true)));
    } else if (r.via === "administrative") {
      wrap.append(el("p", { class: "result-head", id: "result-headline" },
        "Con được xếp vào ", el("span", { class: "result-school" }, r.school_name || r.school),
        ` theo điều tiết của cơ quan quản lý: trường còn chỗ gần nơi ở nhất` +
        (r.distance_km != null ? ` (cách khoảng ${r.distance_km.toLocaleString("vi-VN", { maximumFractionDigits: 1 })} km).` : "."),
        en("Your child was placed by the authority at the nearest school with a free seat.", true)));
    } else {
      wrap.append(el("p", { class: "result-head", id: "result-headline" },
        "Con được xếp vào ", el("span", { class: "result-school" }, r.school_name || r.school),
        ` (nguyện vọng ${r.choice_rank}).`,
        en(`Your child got a seat at ${r.school_name || r.school} (choice ${r.choice_rank}).`, true)));
    }
    if (r.explanations && r.explanations.length) {
      wrap.append(el("p", {}, r.via === "unassigned" ? "Vì sao con không được nhận vào các trường đã chọn:" : "Vì sao con không được nhận vào trường xếp trên:",
        en(r.via === "unassigned" ? "Why not the schools chosen:" : "Why not the schools ranked higher:", true)));
      wrap.append(el("ul", { class: "explanations", id: "result-explanations" }, r.explanations.map((e) => el("li", {},
        el("strong", {}, `${schoolName(v, e.school)} (nguyện vọng ${rankOf(v, e.school) || "?"})`),
        ...reasonParts(e),
        el("span", { class: "en en-block", lang: "en" }, e.en)))));
    }
    return wrap;
  }

  function deadline(v) {
    const by = v.result && v.result.confirm_by;
    if (!by) return null;
    return el("p", { id: "result-deadline" }, el("strong", {}, "Hạn xác nhận nhập học: "), vnDateTime(by),
      " ", en("(confirm by, Vietnam time)"));
  }

  function decision(v) {
    const r = v.result;
    const name = r.school_name || r.school;
    const box = el("section", { class: "decision", "aria-labelledby": "decision-title" },
      el("h3", { id: "decision-title" }, "Xác nhận nhập học hoặc từ chối", en("Confirm or decline the seat", true)));
    const opt = (id, cls, label, enLabel, consequence, consequenceEN, value) => el("div", { class: "decision-option" },
      el("p", { id: id + "-what" }, consequence, en(consequenceEN, true)),
      el("button", { type: "button", class: "btn " + cls, id, "aria-describedby": id + "-what", onclick: (e) => decide(value, e.currentTarget) },
        label, en(" · " + enLabel)));
    box.append(el("div", { class: "decision-options" },
      opt("confirm-btn", "", "Xác nhận nhập học", "Confirm",
        `Con giữ chỗ tại ${name}. Sau khi xác nhận, bạn in giấy báo nhập học và mang giấy tờ đến trường. Không thể đổi lại trên mạng.`,
        `Your child keeps the seat at ${name}; print the admission notice and bring the papers to the school. This cannot be undone online.`, "confirm"),
      opt("decline-btn", "btn-decline", "Từ chối chỗ học này", "Decline",
        `Chỗ tại ${name} được nhường cho trẻ khác ở vòng sau. Con không giữ chỗ này nữa; không thể hoàn tác.`,
        `The seat at ${name} goes to another child in the next round; your child no longer holds it. This cannot be undone.`, "decline")));
    box.append(el("div", { id: "decision-message", "aria-live": "polite" }));
    return box;
  }

  async function decide(value, button) {
    const v = current;
    const msg = $("decision-message");
    for (const b of document.querySelectorAll(".decision button")) b.disabled = true;
    msg.replaceChildren(el("p", { class: "loading", role: "status" }, "Đang gửi… ", en("Sending…")));
    const res = await api(`/api/v1/applications/${encodeURIComponent(v.tracking_code)}/decision`, {
      json: { decision: value }, headers: { "X-CSRF-Token": v.csrf_token },
    });
    if (res.ok && res.body) {
      v.status = res.body.status;
      v.status_text = res.body.status_text;
      v.status_text_en = res.body.status_text_en;
      v.can_decide = false;
      v.history = (v.history || []).concat([{ actor: "parent", actor_role: "parent", from: "placed", to: res.body.status, at: new Date().toISOString() }]);
      render(v);
      const done = $("decision-done");
      if (done) done.focus();
      return;
    }
    const err = res.body && res.body.error;
    for (const b of document.querySelectorAll(".decision button")) b.disabled = false;
    msg.replaceChildren(notice("error", res.status === 401 ? "Phiên tra cứu đã hết hạn" : "Chưa gửi được", "Not sent",
      el("p", {}, err ? err.message : "Không kết nối được. Vui lòng thử lại."),
      err ? el("p", { class: "en", lang: "en" }, err.message_en) : null));
    if (button) button.focus();
  }

  function decided(v) {
    if (v.status === "confirmed") {
      return notice("ok", "Đã xác nhận nhập học", "Seat confirmed",
        el("p", { id: "decision-done", tabindex: "-1" }, `Con đã được xác nhận nhập học tại ${(v.result && v.result.school_name) || ""}. Hãy in giấy báo nhập học bên dưới và mang đến trường cùng giấy tờ của trẻ.`,
          en("Print the admission notice below and take it to the school with the child's papers.", true)));
    }
    if (v.status === "declined") {
      return notice("info", "Đã từ chối chỗ học", "Seat declined",
        el("p", { id: "decision-done", tabindex: "-1" }, "Chỗ học đã được nhường lại cho vòng sau. Liên hệ cơ quan quản lý giáo dục ở phường/xã nếu cần hỗ trợ.",
          en("The seat goes back to the next round. Contact the ward's education office for help.", true)));
    }
    return null;
  }

  function lottery(v) {
    const p = v.placement, r = v.result;
    const input = `${v.level}/${v.school_year}/${v.tracking_code}`;
    const box = el("section", { class: "card", id: "lottery", "aria-labelledby": "lottery-title" },
      el("h2", { id: "lottery-title" }, "Tự kiểm tra số bốc thăm của con", en("Check your child's lottery number", true)),
      el("p", {}, "Số bốc thăm được tính từ hạt giống công bố, không ai chọn được. Bạn có thể tự tính lại:",
        en("The lottery number comes from the published seed; nobody picks it. Recompute it:", true)));
    const dl = el("dl", { class: "facts" });
    const row = (vi, e, dd) => dl.append(el("dt", {}, vi, en(e, true)), el("dd", {}, dd));
    row("Hạt giống (đã công bố)", "Seed", el("span", { class: "digest", id: "lottery-seed" }, p.seed));
    row("Cam kết công bố trước", "Commitment made earlier", el("span", { class: "digest" }, p.seed_commitment));
    row("1. Bí danh = sha256(\"" + input + "\")", "Pseudonym", el("span", { class: "digest", id: "lottery-pseudonym" }, p.pseudonym));
    row("2. Số bốc thăm = sha256(\"<hạt giống>/<bí danh>\")", "Lottery number", el("span", { class: "digest", id: "lottery-number" }, r.lottery));
    box.append(dl);
    box.append(el("p", { class: "small" }, "Trên máy tính: ",
      el("code", { class: "digest" }, `printf '%s' '${input}' | sha256sum`), " rồi ",
      el("code", { class: "digest" }, `printf '%s' '${p.seed}/<bí danh>' | sha256sum`)));
    const verdict = el("p", { class: "verify-result", id: "lottery-verdict", "aria-live": "polite" });
    if (window.crypto && crypto.subtle) {
      box.append(el("button", { type: "button", class: "btn btn-secondary no-print", id: "lottery-check", onclick: async () => {
        const hex = async (s) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))))
          .map((b) => b.toString(16).padStart(2, "0")).join("");
        const pseudo = await hex(input);
        const number = await hex(`${p.seed}/${pseudo}`);
        const ok = pseudo === p.pseudonym && number === r.lottery;
        verdict.className = "verify-result " + (ok ? "verify-ok" : "verify-bad");
        verdict.textContent = ok ? "Khớp: trình duyệt của bạn tính ra đúng bí danh và số bốc thăm trên." : "Không khớp: hãy báo cơ quan quản lý.";
      } }, "Tính lại ngay trên trình duyệt", en(" · Recompute in this browser")));
    }
    box.append(verdict);
    box.append(el("p", { class: "small muted" }, "Đối chiếu bí danh với tệp kết quả của đợt tại ",
      el("a", { href: "/ket-qua-cong-bo.html?level=" + encodeURIComponent(v.level) + "&school_year=" + v.school_year }, "trang kết quả công bố"), "."));
    return box;
  }

  function details(v) {
    const lv = level(v.level);
    const box = el("section", { class: "card", "aria-labelledby": "details-title" },
      el("h2", { id: "details-title" }, "Hồ sơ đã nộp", en("What you submitted", true)));
    const dl = el("dl", { class: "facts" });
    const row = (vi, e, ...dd) => dl.append(el("dt", {}, vi, en(e, true)), el("dd", {}, ...dd));
    const c = v.child || {};
    row("Trẻ", "Child", el("span", { id: "result-child" }, c.full_name || ""));
    row("Ngày sinh", "Date of birth", c.date_of_birth ? vnDate(c.date_of_birth + "T00:00:00+07:00") : "");
    row("Cấp học", "Level", `${lv.vi} · năm học ${schoolYear(v.school_year)}`);
    const addr = (a) => [a && a.address, a && a.group, a && a.ward].filter(Boolean).join(", ");
    if (v.residence) row("Nơi ở hiện tại", "Current residence", addr(v.residence.current));
    const g = v.guardian || {};
    row("Phụ huynh", "Guardian", `${g.full_name || ""} (${RELATION[g.relation] || g.relation || ""}) · ${g.phone || ""}`);
    row("Nguyện vọng", "Choices", el("ol", {}, (v.choices || []).map((code) => el("li", {}, schoolName(v, code), " ",
      el("span", { class: "muted small mono" }, `(${code})`)))));
    row("Gửi lúc", "Submitted", vnDateTime(v.submitted_at));
    box.append(dl);
    if (v.history && v.history.length) {
      box.append(el("h3", { class: "mt-075" }, "Lịch sử hồ sơ", en("History", true)));
      box.append(el("ol", { class: "history", id: "result-history" }, v.history.map((h) => el("li", {},
        `${vnDateTime(h.at)} — ${status(h.to).label}`, h.actor_role ? ` (${ROLE[h.actor_role] || h.actor_role})` : "",
        h.reason ? `: ${h.reason}` : ""))));
    }
    return box;
  }

  function render(v) {
    current = v;
    const card = el("section", { class: "card", id: "result-card", "data-status": v.status, "aria-labelledby": "result-title" });
    card.append(el("div", { class: "status-head" },
      el("h2", { id: "result-title" }, "Hồ sơ ", el("span", { class: "mono" }, formatCode(v.tracking_code))),
      el("span", { class: "badge badge-info", id: "result-status" }, status(v.status).label)));
    card.append(el("p", { class: "status-text" }, v.status_text || v.status));
    card.append(el("p", { class: "status-text-en", lang: "en" }, v.status_text_en || ""));
    if (v.status === "returned" && v.status_reason) {
      card.append(notice("warn", "Nhà trường trả lại hồ sơ", "Returned by the school", el("p", {}, "Lý do: ", v.status_reason),
        el("p", {}, el("a", { href: "/tra-cuu.html?code=" + encodeURIComponent(v.tracking_code) }, "Xem và sửa hồ sơ"))));
    }
    if (v.result) {
      card.append(resultSummary(v));
      const d = decided(v);
      if (d) card.append(d);
      else card.append(deadline(v));
      if (v.can_decide) card.append(decision(v));
      else if (v.status === "placed") {
        card.append(notice("warn", "Đã hết hạn xác nhận trực tuyến", "The online deadline has passed",
          el("p", {}, "Liên hệ nhà trường hoặc cơ quan quản lý để biết chỗ học được xét ở vòng sau thế nào.")));
      }
    } else if (["received", "accepted", "pending_verification"].includes(v.status)) {
      card.append(el("p", {}, "Chưa có kết quả phân tuyến. Kết quả sẽ hiện ở đây khi được công bố; bạn cũng nhận được tin nhắn.",
        en("No placement result yet; it appears here when published, and you get a message.", true)));
    }
    const slipLabel = v.status === "confirmed" ? "In giấy báo nhập học (PDF)" : "In phiếu đăng ký (PDF)";
    card.append(el("div", { class: "btn-row mt-075 no-print" },
      el("a", { class: "btn btn-secondary", id: "slip-link", href: `/api/v1/applications/${encodeURIComponent(v.tracking_code)}/slip.pdf`, target: "_blank", rel: "noopener" },
        slipLabel, en(v.status === "confirmed" ? " · Admission notice" : " · Registration slip")),
      el("button", { type: "button", class: "btn btn-secondary", id: "print-btn", onclick: () => window.print() }, "In trang này", en(" · Print this page"))));
    const parts = [card];
    if (v.result && v.placement) parts.push(lottery(v));
    parts.push(details(v));
    out.replaceChildren(...parts);
  }

  async function lookup(code, id) {
    if (!code || !id) {
      out.replaceChildren(notice("error", "Cần nhập đủ mã tra cứu và số định danh", "Enter both",
        el("p", {}, "Nhập mã tra cứu (20 ký tự) và số định danh cá nhân của trẻ (12 chữ số).")));
      (code ? $("result-id") : $("result-code")).focus();
      return;
    }
    $("result-btn").disabled = true;
    out.replaceChildren(el("p", { class: "loading", role: "status" }, "Đang tra cứu… ", en("Looking up…")));
    const res = await api("/api/v1/lookup", { json: { tracking_code: code, child_id_number: id } });
    $("result-btn").disabled = false;
    const err = res.body && res.body.error;
    if (res.ok && res.body) {
      render(res.body);
      $("result-title").setAttribute("tabindex", "-1");
      $("result-title").focus();
      return;
    }
    let title = "Chưa tra cứu được", titleEN = "Could not look it up";
    if (res.status === 404) { title = "Không tìm thấy hồ sơ"; titleEN = "No application found"; }
    if (res.status === 429) { title = "Thử lại sau ít phút"; titleEN = "Try again shortly"; }
    out.replaceChildren(notice("error", title, titleEN,
      el("p", { id: "result-error" }, err ? err.message : "Không kết nối được. Vui lòng thử lại sau ít phút."),
      err ? el("p", { class: "en", lang: "en" }, err.message_en) : null));
  }

  $("result-form").addEventListener("submit", (e) => {
    e.preventDefault();
    lookup(normalize($("result-code").value), $("result-id").value.replace(/\s/g, ""));
  });

  const initial = new URLSearchParams(location.search).get("code");
  if (initial) {
    $("result-code").value = formatCode(normalize(initial));
    $("result-id").focus();
  }
})();
