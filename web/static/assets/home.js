// The home page: lists the registration windows.
"use strict";

(function () {
  const { api, el, en, level, byLevel, vnDateTime, vnDeadline, schoolYear } = window.TS;

  function windowState(w, now) {
    if (w.open) return { cls: "badge-open", vi: "Đang mở", en: "Open" };
    if (new Date(w.opens_at) > now) return { cls: "badge-soon", vi: "Sắp mở", en: "Opens soon" };
    return { cls: "badge-closed", vi: "Đã đóng", en: "Closed" };
  }

  function card(w, now) {
    const lv = level(w.level);
    const st = windowState(w, now);
    return el("li", { class: "card window", "data-level": w.level },
      el("div", { class: "window-head" },
        el("h3", {}, lv.vi, en(lv.en, true)),
        el("span", { class: "badge " + st.cls }, st.vi, " · ", el("span", { lang: "en" }, st.en))),
      el("p", { class: "window-year" }, `Năm học ${schoolYear(w.school_year)} · trẻ sinh năm ${w.birth_year}`,
        en(`School year ${schoolYear(w.school_year)}, children born in ${w.birth_year}`, true)),
      el("ul", { class: "window-facts" },
        el("li", {}, "Mở từ ", el("strong", {}, vnDateTime(w.opens_at))),
        el("li", {}, "Hạn cuối ", el("strong", {}, vnDeadline(w.closes_at))),
        el("li", {}, `Chọn tối đa ${w.max_choices} trường`, " ", en(`up to ${w.max_choices} school choices`))),
      w.open
        ? el("a", { class: "btn", href: "/dang-ky.html?level=" + encodeURIComponent(w.level) },
          `Đăng ký ${lv.vi.toLowerCase()}`)
        : el("p", { class: "muted small" }, st.vi === "Sắp mở" ? "Chưa đến thời gian đăng ký." : "Đã hết thời gian đăng ký trực tuyến; liên hệ trường để đăng ký trực tiếp."));
  }

  async function load() {
    const status = document.getElementById("windows-status");
    const list = document.getElementById("windows");
    const res = await api("/api/v1/windows");
    if (!res.ok || !res.body || !Array.isArray(res.body.windows)) {
      status.className = "notice notice-error";
      status.replaceChildren("Không tải được các đợt đăng ký. Vui lòng tải lại trang sau ít phút. ",
        en("Could not load the registration windows. Please reload the page in a few minutes.", true));
      return;
    }
    const now = new Date();
    const ws = res.body.windows.slice().sort(byLevel);
    if (ws.length === 0) {
      status.className = "notice notice-info";
      status.replaceChildren("Hiện chưa có đợt đăng ký nào. ", en("There are no registration windows at the moment.", true));
      return;
    }
    status.remove();
    list.replaceChildren(...ws.map((w) => card(w, now)));
  }

  load();
})();
