// The status page: looks up a tracking code, and keeps looking while the
// registration is still queued.
"use strict";

(function () {
  const { api, el, en, level, status, vnDateTime, schoolYear, formatCode } = window.TS;
  const $ = (id) => document.getElementById(id);
  const out = $("lookup-result");

  const STEPS = [
    ["Đã gửi", "Sent"],
    ["Đã lưu hồ sơ", "Stored"],
    ["Trường xét duyệt", "Reviewed"],
    ["Có kết quả", "Placed"],
    ["Nhập học", "Enrolled"],
  ];
  const REACHED = { queued: 0, received: 1, pending_verification: 1, returned: 1, accepted: 2, placed: 3, confirmed: 4, declined: 3 };
  const poll = { timer: 0, delay: 0, code: "", started: 0 };
  const schoolNames = new Map(); // "level:year" -> Map(code -> name), or a pending promise

  function normalize(s) {
    return String(s || "").toUpperCase().replace(/[\s-]/g, "");
  }

  function stopPolling() {
    clearTimeout(poll.timer);
    poll.timer = 0;
  }

  async function names(lv, year) {
    const key = `${lv}:${year}`;
    if (!schoolNames.has(key)) {
      schoolNames.set(key, api(`/api/v1/schools?level=${encodeURIComponent(lv)}&school_year=${year}`).then((res) => {
        const m = new Map();
        if (res.ok && res.body && Array.isArray(res.body.schools)) for (const s of res.body.schools) m.set(s.code, s.name);
        return m;
      }));
    }
    return schoolNames.get(key);
  }

  async function lookup(raw, quiet) {
    const code = normalize(raw);
    if (!code) {
      stopPolling();
      out.replaceChildren(notice("error", "Chưa nhập mã tra cứu", "Enter a tracking code",
        el("p", {}, "Nhập mã gồm 20 ký tự chữ và số bạn nhận được khi đăng ký.")));
      $("code").focus();
      return;
    }
    if (code !== poll.code) {
      stopPolling();
      poll.code = code;
      poll.delay = 2000;
      poll.started = Date.now();
    }
    if (!quiet) out.replaceChildren(el("p", { class: "loading", role: "status" }, "Đang tra cứu… ", en("Looking up…")));
    const res = await api("/api/v1/applications/" + encodeURIComponent(code));
    if (code !== poll.code) return; // another lookup started meanwhile
    const err = res.body && res.body.error;
    if (res.ok && res.body && res.body.status) {
      const names = await schoolNamesOf(res.body);
      if (code !== poll.code) return;
      out.replaceChildren(render(res.body, names));
      if (res.body.status === "queued") schedule(code);
      return;
    }
    if (res.status === 404) {
      stopPolling();
      // The server answers a malformed code as it answers an unknown one;
      // the page can still tell a parent who mistyped.
      const malformed = !/^[0-9A-Z]{20}$/.test(code);
      const msg = malformed ? "Mã tra cứu không đúng dạng: gồm 20 ký tự chữ và số"
        : err ? err.message : "Không tìm thấy hồ sơ với mã tra cứu này";
      const msgEN = malformed ? "Malformed tracking code: it has 20 letters and digits" : err ? err.message_en : null;
      out.replaceChildren(notice("error", "Không tìm thấy hồ sơ", "No application found",
        el("p", { id: "not-found-message" }, msg),
        msgEN ? el("p", { class: "en", lang: "en" }, msgEN) : null,
        el("p", {}, "Mã bạn nhập: ", el("strong", { class: "mono" }, formatCode(code))),
        el("ul", {},
          el("li", {}, "Kiểm tra lại từng ký tự của mã (mã gồm 20 ký tự chữ và số). ", en("Check each character of the code.")),
          el("li", {}, "Nếu vừa đăng ký, hãy dùng đúng mã hiện ra sau khi gửi hồ sơ. ", en("Use the code shown after you submitted.")),
          el("li", {}, "Vẫn không tìm thấy? Liên hệ trường nơi bạn đăng ký. ", en("Still not found? Contact the school.")))));
      return;
    }
    // 503, a lost connection or anything else: try again later.
    const msg = err ? err.message : "Tạm thời không tra cứu được. Vui lòng thử lại sau ít phút.";
    const msgEN = err ? err.message_en : "Lookups are unavailable right now. Please try again in a few minutes.";
    if (poll.timer || quiet) {
      schedule(code); // keep refreshing through a short outage
      return;
    }
    out.replaceChildren(notice("error", "Chưa tra cứu được", "Could not look it up",
      el("p", {}, msg), el("p", { class: "en", lang: "en" }, msgEN),
      el("button", { type: "button", class: "btn btn-secondary", onclick: () => lookup(code) }, "Thử lại · Try again")));
  }

  // schedule looks again later, less and less often, for at most 15 minutes.
  function schedule(code) {
    stopPolling();
    if (Date.now() - poll.started > 15 * 60 * 1000) return;
    poll.timer = setTimeout(() => lookup(code, true), poll.delay);
    poll.delay = Math.min(Math.round(poll.delay * 1.5), 15000);
  }

  async function schoolNamesOf(v) {
    if (!v.level) return new Map(); // queued: stored moments from now
    try {
      return await names(v.level, v.school_year);
    } catch (e) {
      return new Map();
    }
  }

  function notice(kind, vi, enText, ...content) {
    return el("div", { class: "notice notice-" + kind, role: kind === "error" ? "alert" : null },
      el("h2", {}, vi, en(enText, true)), ...content);
  }

  function progress(status) {
    const reached = REACHED[status];
    if (reached === undefined) return null;
    return el("ol", { class: "progress", "aria-label": "Tiến trình hồ sơ" }, STEPS.map(([vi, e], i) => el("li", {
      class: [i <= reached ? "done" : "", i === reached ? "current" : ""].join(" ").trim() || null,
      "aria-current": i === reached ? "step" : null,
    }, vi, el("span", { class: "en en-block", lang: "en" }, e))));
  }

  function render(v, names) {
    const lv = level(v.level);
    const card = el("section", { class: "card", id: "status-card", "data-status": v.status, "aria-labelledby": "status-title" });
    card.append(el("div", { class: "status-head" },
      el("h2", { id: "status-title" }, "Hồ sơ ", el("span", { class: "mono" }, formatCode(v.tracking_code))),
      el("span", { class: "badge " + status(v.status).badge }, status(v.status).label)));
    card.append(el("p", { class: "status-text", id: "status-text" }, v.status_text || v.status));
    card.append(el("p", { class: "status-text-en", id: "status-text-en", lang: "en" }, v.status_text_en || ""));
    const prog = v.status === "duplicate" || v.status === "not_stored" ? null : progress(v.status);
    if (prog) card.append(prog);

    if (v.status === "duplicate") {
      // Nothing of the first application is shown to the holder of this
      // code: its code goes to the guardian who made it.
      card.append(notice("warn", "Hồ sơ này không được tính", "This application does not count",
        el("p", {}, "Trẻ đã có hồ sơ đăng ký trước đó. Mã tra cứu của hồ sơ đó đã được gửi lại đến số điện thoại phụ huynh đã khai lần đầu. Nếu bạn không nhận được, hãy mang giấy tờ của trẻ đến trường. ",
          en("The child already had an application. Its tracking code was sent again to the guardian phone given the first time; if you did not get it, take the child's papers to the school.", true))));
    }
    if (v.status === "not_stored") {
      card.append(notice("warn", "Cần đăng ký lại", "Register again",
        el("p", {}, "Hồ sơ này không lưu được vào hệ thống và không được tính. Hãy đăng ký lại cho trẻ (trẻ chưa có hồ sơ nào), hoặc liên hệ nhà trường. ",
          en("This application could not be stored and does not count. Register the child again (the child has no application), or contact the school.", true)),
        el("p", {}, el("a", { href: "/dang-ky.html" }, "Đăng ký lại ", en("· Register again")))));
    }
    if (v.status === "returned") {
      card.append(notice("warn", "Nhà trường trả lại hồ sơ để bổ sung", "The school returned the application",
        el("p", {}, "Lý do ", en("Reason", false), ":"),
        el("p", { class: "return-reason", id: "return-reason" }, v.return_reason || "Nhà trường không ghi lý do; hãy liên hệ nhà trường."),
        el("p", {}, "Sửa hồ sơ theo lý do trên và gửi lại trong thời gian đăng ký; hồ sơ giữ nguyên mã tra cứu. ",
          en("Correct the application as the reason says and send it again while registration is open; it keeps its tracking code.", true)),
        el("p", {}, el("a", { class: "btn", id: "correct-link", href: "/dang-ky.html?sua=" + encodeURIComponent(v.tracking_code) },
          "Sửa và gửi lại hồ sơ ", en("· Correct and resubmit")))));
    }

    if (v.status === "placed" || v.status === "unplaced" || v.status === "confirmed" || v.status === "declined") {
      card.append(notice("info", "Đã có kết quả xếp chỗ", "The placement result is out",
        el("p", {}, "Xem trường được xếp và lý do, xác nhận nhập học và in giấy báo: nhập mã tra cứu cùng số định danh của trẻ. ",
          en("See the school and why, confirm the seat and print the notice: enter the tracking code with the child's ID number.", true)),
        el("p", {}, el("a", { class: "btn", id: "result-link", href: "/ket-qua.html?code=" + encodeURIComponent(v.tracking_code) },
          "Xem kết quả ", en("· See the result")))));
    }

    const dl = el("dl", { class: "facts" });
    const row = (vi, e, ...dd) => dl.append(el("dt", {}, vi, en(e, true)), el("dd", {}, ...dd));
    if (v.level) row("Cấp học", "Level", `${lv.vi} `, en(`(${lv.en})`));
    if (v.school_year) row("Năm học", "School year", schoolYear(v.school_year));
    if (v.child) row("Trẻ", "Child", el("span", { id: "status-child" }, v.child));
    if (v.choices && v.choices.length) {
      row("Nguyện vọng", "Choices", el("ol", { id: "status-choices" }, v.choices.map((c) => el("li", {},
        names.get(c) ? `${names.get(c)} ` : "", el("span", { class: "muted small mono nowrap" }, names.get(c) ? `(${c})` : c)))));
    }
    if (v.submitted_at) row("Gửi lúc", "Submitted", vnDateTime(v.submitted_at, true), " ", en("(giờ Việt Nam · Vietnam time)"));
    if (v.received_at) row("Lưu vào hệ thống lúc", "Stored", vnDateTime(v.received_at, true));
    card.append(dl);

    if (v.status === "queued") {
      card.append(el("p", { class: "refresh-note", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }),
        el("span", {}, "Hồ sơ đã được tiếp nhận an toàn và đang chờ lưu. Trang tự cập nhật, không cần tải lại. ",
          en("Your registration is safely received and waiting to be stored. This page refreshes by itself.", true))));
    } else {
      card.append(el("p", { class: "muted small mt-075 mb-0" },
        "Thời điểm gửi hồ sơ không ảnh hưởng đến kết quả xét tuyển. ",
        en("The time of submission does not affect placement.")));
    }
    return card;
  }

  $("lookup-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = normalize($("code").value);
    const url = new URL(location.href);
    if (code) url.searchParams.set("code", code);
    else url.searchParams.delete("code");
    history.replaceState(null, "", url);
    poll.code = ""; // a fresh lookup, even of the same code
    lookup(code);
  });

  const initial = new URLSearchParams(location.search).get("code");
  if (initial) {
    $("code").value = formatCode(normalize(initial));
    lookup(initial);
  }
})();
