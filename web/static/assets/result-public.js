// The public results page: every published run with its seed, its
// commitment, a per-school table and the files to re-run.
"use strict";

(function () {
  const { api, el, en, level, vnDateTime, schoolYear } = window.TS;
  const $ = (id) => document.getElementById(id);
  const out = $("published-view");

  function cutoff(c) {
    if (!c) return el("span", { class: "muted" }, "Nhận hết · all admitted");
    const parts = [`mức ${c.class + 1}`];
    if (c.score !== null && c.score !== undefined) parts.push(`điểm ${c.score}`);
    return el("span", {}, parts.join(", "), " · ", el("span", { class: "digest", title: c.lottery }, "bốc thăm " + String(c.lottery).slice(0, 12) + "…"));
  }

  function run(r) {
    const lv = level(r.level);
    const s = r.stats || {};
    const box = el("section", { class: "card", "aria-labelledby": `run-${r.id}` },
      el("h2", { id: `run-${r.id}` }, `${lv.vi} · năm học ${schoolYear(r.school_year)} · vòng ${r.round}`,
        en(`${lv.en}, ${schoolYear(r.school_year)}, round ${r.round}`, true)));
    const dl = el("dl", { class: "facts" });
    const row = (vi, e, ...dd) => dl.append(el("dt", {}, vi, en(e, true)), el("dd", {}, ...dd));
    row("Công bố lúc", "Published", vnDateTime(r.published_at));
    row("Hạt giống bốc thăm", "Lottery seed", el("span", { class: "digest" }, r.seed));
    row("Cam kết (sha256 của hạt giống)", "Commitment", el("span", { class: "digest" }, r.seed_commitment), " ",
      el("span", { class: "muted small" }, `công bố từ ${vnDateTime(r.seed_committed_at)}`));
    row("Thống kê", "Statistics", `${s.students ?? "?"} trẻ, ${s.seats ?? "?"} chỉ tiêu; ${s.assigned_by_choice ?? "?"} theo nguyện vọng, ` +
      `${s.administrative ?? 0} điều tiết, ${s.unassigned ?? 0} chưa có chỗ`);
    row("Tệp dữ liệu", "Files", el("a", { href: r.instance_url, download: "" }, "instance.json"), " · ",
      el("a", { href: r.result_url, download: "" }, "result.json"));
    box.append(dl);
    const table = el("table", { class: "results-table" },
      el("caption", { class: "visually-hidden" }, "Chỉ tiêu, số trẻ được nhận và ngưỡng trúng tuyển từng trường"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Trường"), el("th", { scope: "col" }, "Chỉ tiêu"),
        el("th", { scope: "col" }, "Được nhận"), el("th", { scope: "col" }, "Điều tiết"), el("th", { scope: "col" }, "Ngưỡng (mức, điểm, bốc thăm)"))),
      el("tbody", {}, r.schools.map((sc) => el("tr", {},
        el("th", { scope: "row" }, sc.school_name || sc.school, " ", el("span", { class: "muted small mono" }, sc.school)),
        el("td", { class: "num" }, sc.quota), el("td", { class: "num" }, sc.admitted), el("td", { class: "num" }, sc.administrative),
        el("td", {}, cutoff(sc.cutoff))))));
    box.append(el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Bảng kết quả từng trường" }, table));
    return box;
  }

  async function show(lv, year) {
    const q = new URLSearchParams();
    if (lv) q.set("level", lv);
    if (year) q.set("school_year", year);
    out.replaceChildren(el("p", { class: "loading", role: "status" }, "Đang tải… ", en("Loading…")));
    const res = await api("/api/v1/placement/published?" + q.toString());
    const err = res.body && res.body.error;
    if (!res.ok || !res.body) {
      out.replaceChildren(el("div", { class: "notice notice-error", role: "alert" },
        el("p", {}, err ? err.message : "Không tải được kết quả. Vui lòng thử lại sau."), err ? en(err.message_en, true) : null));
      return;
    }
    if (!res.body.runs.length) {
      out.replaceChildren(el("p", { class: "notice notice-info", id: "published-none" }, "Chưa có đợt phân tuyến nào được công bố cho lựa chọn này. ",
        en("No published run for this choice yet.")));
      return;
    }
    out.replaceChildren(...res.body.runs.map(run));
  }

  $("published-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const lv = $("pub-level").value, year = $("pub-year").value;
    const url = new URL(location.href);
    url.search = "";
    if (lv) url.searchParams.set("level", lv);
    if (year) url.searchParams.set("school_year", year);
    history.replaceState(null, "", url);
    show(lv, year);
  });

  const params = new URLSearchParams(location.search);
  $("pub-level").value = params.get("level") || "";
  $("pub-year").value = params.get("school_year") || "";
  show($("pub-level").value, $("pub-year").value);
})();
