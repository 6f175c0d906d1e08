// The registration form. The hints here help parents fill it in; the server
// checks everything again and its answer is the one shown.
"use strict";

(function () {
  const { api, el, en, level, byLevel, vnDeadline, schoolYear, formatCode, copyText } = window.TS;
  const $ = (id) => document.getElementById(id);
  const OUTSIDE = "__outside";

  const state = {
    windows: [], // open windows
    wards: [],
    wardByCode: new Map(),
    schools: new Map(), // "level:year" -> [school]
    win: null, // the chosen window
    choiceSelects: [], // the selects whose values were sent, by index in choices
    retryTimer: 0,
  };

  const form = $("reg-form");
  const alertBox = $("form-alert");

  // Correction mode (dang-ky.html?sua=CODE): the same form corrects an
  // application the school returned. The parent fills it in again (the
  // status lookup shows no personal data to prefill it with), and it is
  // sent with PUT /api/v1/applications/CODE; the server keeps the child's
  // ID number, level and year as they were.
  const correcting = String(new URLSearchParams(location.search).get("sua") || "").toUpperCase().replace(/[\s-]/g, "");
  let returned = null; // the returned application's status, in correction mode

  // ---------- loading ----------

  async function init() {
    const [wres, dres] = await Promise.all([api("/api/v1/windows"), api("/api/v1/wards")]);
    $("form-loading").remove();
    if (!wres.ok || !dres.ok || !wres.body || !dres.body) {
      showAlert("error", "Không tải được dữ liệu của biểu mẫu. Vui lòng tải lại trang sau ít phút.",
        "Could not load the form's data. Please reload the page in a few minutes.");
      form.hidden = true;
      return;
    }
    state.windows = (wres.body.windows || []).filter((w) => w.open).sort(byLevel);
    if (correcting && !(await startCorrection())) return;
    state.wards = (dres.body.wards || []).slice().sort((a, b) => a.name.localeCompare(b.name, "vi"));
    for (const w of state.wards) state.wardByCode.set(w.code, w);

    if (state.windows.length === 0) {
      $("no-window").hidden = false;
      form.hidden = true;
      return;
    }
    fillDateSelects();
    renderLevels();
    fillWardSelect($("perm-ward"), true);
    fillWardSelect($("cur-ward"), false);
    fillGroupSelect($("perm-group"), "");
    fillGroupSelect($("cur-group"), "");
    renderChoices();
    markPermanentWard();
    wire();
  }

  // startCorrection loads the returned application and shows its reason
  // above the form; it reports whether the form can be used.
  async function startCorrection() {
    const res = await api("/api/v1/applications/" + encodeURIComponent(correcting));
    const v = res.ok && res.body;
    document.title = "Sửa và gửi lại hồ sơ · Correct an application";
    $("page-title").replaceChildren("Sửa và gửi lại hồ sơ ", en("Correct and resubmit", true));
    const box = $("correction");
    box.hidden = false;
    if (!v || v.status !== "returned") {
      box.className = "notice notice-error";
      box.replaceChildren(el("h2", {}, "Không sửa được hồ sơ này ", en("This application cannot be corrected", true)),
        el("p", {}, v ? "Chỉ sửa được hồ sơ nhà trường đã trả lại. " : "Không tìm thấy hồ sơ với mã này. ",
          en(v ? "Only an application the school returned can be corrected." : "No application has this code.", true)),
        el("p", {}, el("a", { href: "/tra-cuu.html?code=" + encodeURIComponent(correcting) }, "Xem trạng thái hồ sơ ", en("· Check its status"))));
      form.hidden = true;
      return false;
    }
    returned = v;
    state.windows = state.windows.filter((w) => w.level === v.level && w.school_year === v.school_year);
    $("correction-code").textContent = formatCode(v.tracking_code);
    $("correction-reason").textContent = v.return_reason || "";
    $("submit-btn").replaceChildren("Gửi lại hồ sơ đã sửa ", en("· Resubmit"));
    if (state.windows.length === 0) {
      showAlert("warn", "Đã hết thời gian đăng ký", "Registration is closed",
        el("p", {}, "Hồ sơ chỉ sửa được trong thời gian đăng ký. Hãy liên hệ nhà trường. ",
          en("An application can be corrected only while registration is open. Contact the school.", true)));
      form.hidden = true;
      return false;
    }
    return true;
  }

  function renderLevels() {
    const box = $("level-options");
    const want = returned ? returned.level : new URLSearchParams(location.search).get("level");
    box.replaceChildren(...state.windows.map((w) => {
      const lv = level(w.level);
      const input = el("input", { type: "radio", name: "level", value: w.level, id: "level-" + w.level,
        "data-year": String(w.school_year) });
      return el("label", { class: "check level-option", for: "level-" + w.level }, input,
        el("span", {},
          el("strong", {}, lv.vi), en(lv.en, true),
          el("span", { class: "meta" }, `Năm học ${schoolYear(w.school_year)} · trẻ sinh năm ${w.birth_year}`),
          el("span", { class: "meta" }, `Hạn đăng ký: ${vnDeadline(w.closes_at)}`)));
    }));
    const pick = state.windows.find((w) => w.level === want) || (state.windows.length === 1 ? state.windows[0] : null);
    if (pick) {
      $("level-" + pick.level).checked = true;
      chooseLevel(pick.level);
    }
  }

  // The date of birth is three selects, day, month and year, so it reads
  // dd/mm/yyyy in every browser and the year is one tap away.
  function fillDateSelects() {
    const p2 = (n) => String(n).padStart(2, "0");
    for (let d = 1; d <= 31; d++) $("dob-day").append(el("option", { value: p2(d) }, String(d)));
    for (let m = 1; m <= 12; m++) $("dob-month").append(el("option", { value: p2(m) }, `Tháng ${m}`));
    const years = state.windows.map((w) => w.birth_year);
    const hi = years.length ? Math.max(...years) + 1 : new Date().getFullYear();
    const lo = years.length ? Math.min(...years) - 4 : hi - 16;
    for (let y = hi; y >= lo; y--) $("dob-year").append(el("option", { value: String(y) }, String(y)));
  }

  function dateOfBirth() {
    const d = $("dob-day").value, m = $("dob-month").value, y = $("dob-year").value;
    return d && m && y ? `${y}-${m}-${d}` : "";
  }

  function fillWardSelect(sel, allowOutside) {
    const kinds = new Map();
    for (const w of state.wards) {
      if (!kinds.has(w.kind)) kinds.set(w.kind, []);
      kinds.get(w.kind).push(w);
    }
    const kindName = { phuong: "Phường", xa: "Xã", dac_khu: "Đặc khu" };
    const opts = [el("option", { value: "" }, "— Chọn phường/xã —")];
    for (const [kind, ws] of kinds) {
      opts.push(el("optgroup", { label: kindName[kind] || kind },
        ws.map((w) => el("option", { value: w.code }, w.name))));
    }
    if (allowOutside) opts.push(el("option", { value: OUTSIDE }, "Ngoài thành phố (tỉnh khác) · Outside the city"));
    sel.replaceChildren(...opts);
  }

  function fillGroupSelect(sel, wardCode) {
    const w = state.wardByCode.get(wardCode);
    const keep = sel.value;
    if (!w) {
      sel.replaceChildren(el("option", { value: "" }, "— Chọn phường/xã trước —"));
      sel.disabled = true;
      return;
    }
    sel.disabled = false;
    const opts = [el("option", { value: "" }, "— Chọn tổ dân phố/thôn —")];
    for (const g of w.groups || []) opts.push(el("option", { value: g }, g));
    sel.replaceChildren(...opts);
    if ((w.groups || []).includes(keep)) sel.value = keep;
  }

  // ---------- level and schools ----------

  async function chooseLevel(code) {
    const w = state.windows.find((x) => x.level === code);
    state.win = w || null;
    clearFieldError(document.querySelector('[data-field="level"]'));
    updateBirthHint();
    updateOverAge();
    if (!w) return;
    const key = `${w.level}:${w.school_year}`;
    if (!state.schools.has(key)) {
      renderChoices(true);
      const res = await api(`/api/v1/schools?level=${encodeURIComponent(w.level)}&school_year=${w.school_year}`);
      state.schools.set(key, res.ok && res.body && Array.isArray(res.body.schools) ? res.body.schools : null);
    }
    if (state.win === w) renderChoices();
    if (returned && state.win === w) {
      (returned.choices || []).forEach((c, i) => {
        const sel = $("choice-" + i);
        if (sel && Array.from(sel.options).some((o) => o.value === c)) sel.value = c;
      });
      updateChoiceInfo();
    }
  }

  function currentSchools() {
    if (!state.win) return [];
    return state.schools.get(`${state.win.level}:${state.win.school_year}`) || [];
  }

  function currentResidence() {
    if ($("same-as").checked) {
      const ward = $("perm-ward").value;
      return { ward: ward === OUTSIDE ? "" : ward, group: $("perm-group").value };
    }
    return { ward: $("cur-ward").value, group: $("cur-group").value };
  }

  // fit tells how a school's catchment covers a residence: "in" (đúng
  // tuyến), "maybe" (the ward is in it, but only some of its groups and no
  // group is chosen) or "" (outside).
  function fit(school, res) {
    if (!res.ward) return "";
    let maybe = false;
    for (const z of school.catchment || []) {
      if (z.ward !== res.ward) continue;
      const groups = z.groups || [];
      if (groups.length === 0) return "in";
      if (res.group && groups.includes(res.group)) return "in";
      if (!res.group) maybe = true;
    }
    return maybe ? "maybe" : "";
  }

  function rankedSchools() {
    const res = currentResidence();
    const list = currentSchools().map((s) => ({ s, fit: fit(s, res), sameWard: res.ward && s.ward === res.ward }));
    const rank = (x) => (x.fit === "in" ? 0 : x.fit === "maybe" ? 1 : x.sameWard ? 2 : 3);
    list.sort((a, b) => rank(a) - rank(b) || a.s.name.localeCompare(b.s.name, "vi"));
    return { res, list };
  }

  function wardName(code) {
    const w = state.wardByCode.get(code);
    return w ? w.name : code;
  }

  function renderChoices(loading) {
    const rows = $("choice-rows");
    const box = $("catchment");
    if (!state.win) {
      box.replaceChildren(el("p", {}, "Chọn cấp học (mục 1) để xem danh sách trường. ", en("Choose a level (step 1) to see the schools.")));
      rows.replaceChildren();
      return;
    }
    if (loading) {
      box.replaceChildren(el("p", { class: "loading" }, "Đang tải danh sách trường… ", en("Loading schools…")));
      return;
    }
    if (state.schools.get(`${state.win.level}:${state.win.school_year}`) === null) {
      box.replaceChildren(el("p", {}, "Không tải được danh sách trường. Vui lòng tải lại trang. ", en("Could not load the schools. Please reload the page.")));
      rows.replaceChildren();
      return;
    }
    const { res, list } = rankedSchools();
    renderCatchmentBox(box, res, list);

    const old = Array.from(rows.querySelectorAll("select")).map((s) => s.value);
    const n = state.win.max_choices || 1;
    const newRows = [];
    for (let i = 0; i < n; i++) {
      const sel = el("select", { id: "choice-" + i, "data-choice": String(i), "aria-describedby": "choice-info-" + i });
      sel.append(el("option", { value: "" }, i === 0 ? "— Chọn trường —" : "— Không chọn —"));
      const groups = [
        ["in", "Đúng tuyến theo nơi ở hiện tại · In your catchment"],
        ["maybe", "Có thể đúng tuyến (tùy tổ dân phố) · Maybe, by residential group"],
        ["", "Các trường khác · Other schools"],
      ];
      for (const [f, label] of groups) {
        const items = list.filter((x) => x.fit === f);
        if (items.length === 0) continue;
        sel.append(el("optgroup", { label }, items.map((x) => el("option", { value: x.s.code },
          x.s.name + (f === "in" ? " — đúng tuyến" : "") + (f === "" ? ` (${wardName(x.s.ward)})` : "")))));
      }
      if (old[i] && list.some((x) => x.s.code === old[i])) sel.value = old[i];
      const label = el("label", { for: "choice-" + i },
        `Nguyện vọng ${i + 1}`, i === 0 ? el("span", { class: "req", "aria-hidden": "true" }, "*") : el("span", { class: "opt" }, "(không bắt buộc)"),
        " ", en(`Choice ${i + 1}`));
      newRows.push(el("div", { class: "choice-row field", "data-label": `Nguyện vọng ${i + 1}` }, label, sel,
        el("p", { class: "school-info", id: "choice-info-" + i })));
    }
    rows.replaceChildren(...newRows);
    updateChoiceInfo();
  }

  function renderCatchmentBox(box, res, list) {
    if (!res.ward) {
      box.replaceChildren(el("p", {}, "Chọn nơi ở hiện tại (mục 3) để biết trường nào đúng tuyến. ",
        en("Choose the current residence (step 3) to see which schools are in your catchment.")));
      return;
    }
    const inList = list.filter((x) => x.fit === "in");
    const maybe = list.filter((x) => x.fit === "maybe");
    const parts = [];
    if (inList.length > 0) {
      parts.push(el("p", {}, el("strong", {}, `Trường đúng tuyến với nơi ở hiện tại (${wardName(res.ward)}${res.group ? ", " + res.group : ""}):`),
        " ", en("Schools in your catchment:")));
      parts.push(el("ul", { id: "catchment-list" }, inList.map((x) => el("li", {},
        el("span", { class: "badge badge-ok" }, "Đúng tuyến"), el("span", {}, x.s.name), el("span", { class: "muted small" }, x.s.address || "")))));
      if (level(state.win.level) && ["mg5", "lop1", "lop6"].includes(state.win.level)) {
        parts.push(el("p", { class: "small mt-05" }, "Trẻ trong độ tuổi, đúng tuyến được bảo đảm chỗ học tại trường công lập. ",
          en("A child in the catchment is guaranteed a place in a public school.")));
      }
    } else if (maybe.length > 0) {
      parts.push(el("p", {}, "Chọn tổ dân phố/thôn để biết chính xác trường đúng tuyến. ",
        en("Choose the residential group to see exactly which schools are in your catchment.")));
    } else {
      parts.push(el("p", {}, "Không tìm thấy trường đúng tuyến cho nơi ở này ở cấp học đã chọn; bạn vẫn chọn được trường khác. Phường/xã sẽ bố trí chỗ học cho trẻ. ",
        en("No catchment school found for this residence; you can still choose other schools. The ward will arrange a place.")));
    }
    box.replaceChildren(...parts);
  }

  function updateChoiceInfo() {
    const selects = Array.from(document.querySelectorAll("#choice-rows select"));
    const chosen = selects.map((s) => s.value);
    const res = currentResidence();
    selects.forEach((sel, i) => {
      // A school chosen in one row cannot be chosen again in another.
      for (const o of sel.options) {
        if (!o.value) continue;
        o.disabled = chosen.some((c, j) => j !== i && c === o.value);
      }
      const info = $("choice-info-" + i);
      const s = currentSchools().find((x) => x.code === sel.value);
      if (!s) {
        info.replaceChildren();
        return;
      }
      const f = fit(s, res);
      const badge = f === "in" ? el("span", { class: "badge badge-ok" }, "Đúng tuyến")
        : f === "maybe" ? el("span", { class: "badge badge-info" }, "Tùy tổ dân phố")
          : el("span", { class: "badge badge-warn" }, "Ngoài tuyến");
      const parts = [badge, `${s.address || wardName(s.ward)} · chỉ tiêu ${s.quota} · mã ${s.code}`];
      if (f === "") parts.push(el("span", { class: "en-block" }, "Trẻ ngoài tuyến chỉ được xét khi trường còn chỗ sau khi nhận trẻ đúng tuyến."));
      info.replaceChildren(...parts);
    });
  }

  // ---------- hints ----------

  function updateBirthHint() {
    const hint = $("child-date_of_birth-hint");
    hint.textContent = state.win ? `${level(state.win.level).vi}: trẻ sinh năm ${state.win.birth_year}.` : "\u00a0";
    if (state.win) hint.append(" ", en(`born in ${state.win.birth_year}`));
  }

  function dobYear() {
    return Number($("dob-year").value) || 0;
  }

  function updateOverAge() {
    const y = dobYear();
    const show = !!(state.win && y && y < state.win.birth_year);
    const f = $("f-over-age");
    if (show) f.hidden = false;
    else if (!f.classList.contains("has-error")) f.hidden = true;
  }

  function sexValue() {
    const r = document.querySelector('input[name="sex"]:checked');
    return r ? r.value : "";
  }

  // The ID number's 4th digit tells century and sex, the 5th and 6th the
  // birth year: a hint only, the server checks it.
  function updateIDHint() {
    const input = $("child-id_number");
    const hint = $("child-id_number-hint");
    const digits = input.value.replace(/\s/g, "");
    hint.hidden = false;
    hint.classList.remove("hint-warn");
    let msg = "12 chữ số, xem trên VNeID hoặc giấy khai sinh.";
    if (digits && !/^\d*$/.test(digits)) {
      msg = "Số định danh chỉ gồm chữ số.";
      hint.classList.add("hint-warn");
    } else if (digits.length > 0 && digits.length !== 12) {
      msg = `Đã nhập ${digits.length}/12 chữ số.`;
      if (digits.length > 12) hint.classList.add("hint-warn");
    } else if (digits.length === 12) {
      const y = dobYear();
      const sex = sexValue();
      msg = "Đủ 12 chữ số.";
      if (y && sex) {
        const want = 2 * Math.floor((y - 1900) / 100) + (sex === "female" ? 1 : 0);
        const yy = String(y % 100).padStart(2, "0");
        if (Number(digits[3]) !== want || digits.slice(4, 6) !== yy) {
          msg = `Lưu ý: với trẻ ${sex === "female" ? "nữ" : "nam"} sinh năm ${y}, chữ số thứ 4 thường là ${want} và chữ số 5–6 là ${yy}. Hãy kiểm tra lại.`;
          hint.classList.add("hint-warn");
        }
      }
    }
    hint.textContent = msg;
  }

  // The permanent ward is required while it is also the current residence
  // (the current residence's ward is required); otherwise it may be empty.
  function markPermanentWard() {
    $("perm-ward-req").hidden = !$("same-as").checked;
  }

  // ---------- wiring ----------

  function wire() {
    $("level-options").addEventListener("change", (e) => {
      if (e.target.name === "level") chooseLevel(e.target.value);
    });
    $("perm-ward").addEventListener("change", () => {
      const outside = $("perm-ward").value === OUTSIDE;
      fillGroupSelect($("perm-group"), outside ? "" : $("perm-ward").value);
      $("perm-address").disabled = outside;
      const same = $("same-as");
      if (outside) same.checked = false;
      same.disabled = outside;
      $("current-residence").hidden = same.checked;
      markPermanentWard();
      renderChoices();
    });
    $("perm-group").addEventListener("change", () => renderChoices());
    $("same-as").addEventListener("change", () => {
      $("current-residence").hidden = $("same-as").checked;
      markPermanentWard();
      renderChoices();
    });
    $("cur-ward").addEventListener("change", () => {
      fillGroupSelect($("cur-group"), $("cur-ward").value);
      renderChoices();
    });
    $("cur-group").addEventListener("change", () => renderChoices());
    $("choice-rows").addEventListener("change", updateChoiceInfo);
    $("f-dob").addEventListener("change", () => { updateOverAge(); updateIDHint(); });
    $("child-id_number").addEventListener("input", updateIDHint);
    $("f-child-sex").addEventListener("change", updateIDHint);

    // Editing a field clears its error: the parent sees what is left to fix.
    form.addEventListener("input", (e) => clearFieldError(e.target));
    form.addEventListener("change", (e) => clearFieldError(e.target));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });
    $("copy-code").addEventListener("click", async () => {
      const ok = await copyText($("result-code").dataset.code || "");
      $("copy-status").textContent = ok ? "Đã sao chép mã · Copied" : "Không sao chép được; hãy chép tay mã. · Copy failed; write the code down.";
    });
    $("print-page").addEventListener("click", () => window.print());
  }

  // ---------- submitting ----------

  function value(id) {
    const n = $(id);
    return n && !n.disabled ? n.value.trim() : "";
  }

  function payload() {
    const lv = document.querySelector('input[name="level"]:checked');
    const permWard = $("perm-ward").value;
    const permanent = permWard === OUTSIDE || permWard === ""
      ? { ward: "", group: "", address: permWard === OUTSIDE ? "" : value("perm-address") }
      : { ward: permWard, group: $("perm-group").value, address: value("perm-address") };
    const current = $("same-as").checked
      ? Object.assign({}, permanent)
      : { ward: $("cur-ward").value, group: $("cur-group").value, address: value("cur-address") };
    state.choiceSelects = [];
    const choices = [];
    for (const sel of document.querySelectorAll("#choice-rows select")) {
      if (!sel.value) continue;
      choices.push(sel.value);
      state.choiceSelects.push(sel);
    }
    const pr = document.querySelector('input[name="priority"]:checked');
    const child = {
      id_number: value("child-id_number").replace(/\s/g, ""),
      full_name: value("child-full_name"),
      date_of_birth: dateOfBirth(),
      sex: sexValue(),
      ethnicity: value("child-ethnicity"),
      place_of_birth: value("child-place_of_birth"),
    };
    if (!$("f-over-age").hidden) child.over_age_reason = value("child-over_age_reason");
    return {
      level: lv ? lv.value : "",
      school_year: lv ? Number(lv.dataset.year) : 0,
      child,
      residence: { permanent, current },
      guardian: {
        full_name: value("guardian-full_name"),
        relation: $("guardian-relation").value,
        id_number: value("guardian-id_number").replace(/\s/g, ""),
        phone: value("guardian-phone"),
        email: value("guardian-email"),
      },
      priority_group: pr ? Number(pr.value) : 0,
      choices,
      consent: $("consent").checked,
    };
  }

  async function submit() {
    const btn = $("submit-btn");
    if (btn.disabled) return;
    const body = payload();
    clearErrors();
    hideAlert();
    btn.disabled = true;
    const label = btn.innerHTML;
    btn.textContent = "Đang gửi… · Sending…";
    const res = returned
      ? await api("/api/v1/applications/" + encodeURIComponent(returned.tracking_code), { json: body, method: "PUT" })
      : await api("/api/v1/applications", { json: body });
    btn.innerHTML = label;
    btn.disabled = false;
    const err = res.body && res.body.error;

    if ((res.status === 202 || res.status === 200) && res.body && res.body.tracking_code) {
      showResult(res.body, body);
      return;
    }
    if (res.status === 422 && err) {
      showProblems(err);
      return;
    }
    if (res.status === 409 && err) {
      // The answer tells nothing of the existing application (anyone who
      // knows a child's ID number can send a form); its message says how
      // the parent who made it gets its code back.
      showAlert("warn", "Trẻ này đã có hồ sơ đăng ký", "This child is already registered",
        el("p", {}, err.message), el("p", { class: "en", lang: "en" }, err.message_en));
      return;
    }
    if (res.status === 503) {
      const secs = Math.min(Math.max(parseInt(res.headers.get("Retry-After") || "5", 10) || 5, 1), 300);
      // The server's message says whether the registration certainly was
      // not saved or may have been (resubmitting is safe either way).
      showAlert("error", "Hệ thống đang bận — vui lòng gửi lại", "The system is busy — please submit again",
        el("p", {}, err ? err.message : "Hệ thống tạm thời không nhận được hồ sơ."),
        err ? el("p", { class: "en", lang: "en" }, err.message_en) : null,
        el("p", {}, el("strong", {}, "Thông tin bạn đã nhập vẫn được giữ nguyên trên trang này."),
          ` Hãy bấm «Gửi hồ sơ đăng ký» lại sau ${secs} giây. Thời điểm gửi không ảnh hưởng đến kết quả.`,
          en(" What you entered is still here. Press submit again in a few seconds; the time of submission does not affect placement.", true)));
      holdSubmit(secs);
      return;
    }
    if (res.status === 0) {
      showAlert("error", "Không kết nối được với hệ thống — hồ sơ CHƯA được gửi", "Could not reach the server — nothing was sent",
        el("p", {}, "Kiểm tra kết nối mạng rồi bấm gửi lại. Thông tin bạn đã nhập vẫn được giữ nguyên. ",
          en("Check your connection and submit again. What you entered is still here.", true)));
      return;
    }
    // 403 (window closed), 400, 413 and anything else: the server's message.
    showAlert(res.status === 403 ? "warn" : "error",
      res.status === 403 ? "Không trong thời gian đăng ký" : "Hồ sơ chưa được gửi",
      res.status === 403 ? "Registration is not open" : "The registration was not sent",
      el("p", {}, err ? err.message : `Lỗi ${res.status}. Vui lòng thử lại sau.`),
      err ? el("p", { class: "en", lang: "en" }, err.message_en) : null);
  }

  // holdSubmit keeps the submit button off for a few seconds after a 503,
  // as the server's Retry-After asks.
  function holdSubmit(secs) {
    const btn = $("submit-btn");
    const label = btn.innerHTML;
    clearInterval(state.retryTimer);
    let left = secs;
    btn.disabled = true;
    btn.textContent = `Gửi lại sau ${left} giây`;
    state.retryTimer = setInterval(() => {
      left--;
      if (left <= 0) {
        clearInterval(state.retryTimer);
        btn.disabled = false;
        btn.innerHTML = label;
        return;
      }
      btn.textContent = `Gửi lại sau ${left} giây`;
    }, 1000);
  }

  function showResult(body, sent) {
    const code = body.tracking_code;
    form.hidden = true;
    hideAlert();
    document.querySelector(".lead").hidden = true;
    const r = $("result");
    if (returned) {
      $("result-title").replaceChildren("Đã gửi lại hồ sơ đã sửa ", en("Your corrected application is sent", true));
    } else if (body.status === "repeated") {
      $("result-title").replaceChildren("Hồ sơ này đã được gửi trước đó ", en("This registration was already sent", true));
    }
    // The title already says the registration was received: the server's
    // message is shown without repeating it.
    const msg = (body.message || "").replace(/^Đã tiếp nhận hồ sơ[.\s]*/, "");
    const msgEN = (body.message_en || "").replace(/^registration accepted[.\s]*/i, "");
    $("result-message").replaceChildren(msg, " ", en(msgEN, true));
    $("result-message").hidden = !msg && !msgEN;
    const out = $("result-code");
    out.textContent = formatCode(code);
    out.dataset.code = code;
    $("status-link").href = "/tra-cuu.html?code=" + encodeURIComponent(code);
    const lv = level(sent.level);
    const names = new Map(currentSchools().map((s) => [s.code, s.name]));
    $("result-summary").replaceChildren(
      el("dt", {}, "Trẻ", en("Child", true)), el("dd", {}, sent.child.full_name),
      el("dt", {}, "Cấp học", en("Level", true)), el("dd", {}, `${lv.vi} · năm học ${schoolYear(sent.school_year)}`),
      el("dt", {}, "Nguyện vọng", en("Choices", true)),
      el("dd", {}, el("ol", {}, sent.choices.map((c) => el("li", {}, names.get(c) || c)))));
    r.hidden = false;
    window.scrollTo(0, 0);
    r.focus();
  }

  // ---------- errors ----------

  function showAlert(kind, titleVI, titleEN, ...content) {
    alertBox.className = "notice notice-" + kind;
    alertBox.setAttribute("role", "alert");
    alertBox.replaceChildren(el("h2", {}, titleVI, en(titleEN, true)), ...content);
    alertBox.hidden = false;
    alertBox.scrollIntoView({ block: "start" });
    alertBox.focus({ preventScroll: true });
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertBox.replaceChildren();
  }

  // target returns the element a problem's field path points at.
  function target(field) {
    let m = /^choices\[(\d+)\]$/.exec(field);
    if (m) return state.choiceSelects[Number(m[1])] || document.querySelector('[data-field="choices"]');
    // "choose at least one school" and "too many": choice 1, the one
    // required, not the optional ones.
    if (field === "choices") return $("choice-0") || document.querySelector('[data-field="choices"]');
    if (field === "school_year") field = "level";
    m = /^residence\.current\.(\w+)$/.exec(field);
    if (m && $("same-as").checked) field = "residence.permanent." + m[1];
    return document.querySelector(`[data-field="${CSS.escape(field)}"]`);
  }

  // ownWords rewords a problem of the current residence shown at the
  // permanent residence's field ("same as" ticked): each field's message
  // names that field.
  function ownWords(p) {
    if (!$("same-as").checked || !/^residence\.current\./.test(p.field)) return p;
    return Object.assign({}, p, {
      message: p.message.replace("nơi ở hiện tại", "nơi thường trú"),
      message_en: p.message_en.replace("current residence", "permanent residence"),
    });
  }

  function showProblems(err) {
    const problems = (err.problems || []).map(ownWords);
    const items = [];
    const seen = new Set();
    for (const p of problems) {
      const t = target(p.field);
      const wrap = t ? t.closest(".field") : null;
      if (wrap && wrap.hidden) wrap.hidden = false;
      if (t && wrap) setFieldError(t, wrap, p);
      const label = (wrap && wrap.dataset.label) || p.field;
      const key = label + "|" + p.message;
      if (seen.has(key)) continue;
      seen.add(key);
      const focusID = t ? (t.matches("input,select,textarea") ? t.id : (t.querySelector("input,select,textarea") || {}).id) : "";
      const text = `${label}: ${p.message}`;
      items.push({ at: t, li: el("li", {}, focusID ? el("a", { href: "#" + focusID, "data-focus": focusID }, text) : text) });
    }
    // The summary lists the problems in the order of the form, not of
    // the server's checks; those without a field come last.
    items.sort((a, b) => !a.at || !b.at ? !a.at - !b.at
      : a.at === b.at ? 0 : a.at.compareDocumentPosition(b.at) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    showAlert("error", err.message || "Hồ sơ chưa hợp lệ", err.message_en || "The registration is not valid",
      el("p", {}, `Có ${items.length} mục cần sửa. Hồ sơ chưa được gửi; sửa các mục dưới đây rồi bấm gửi lại.`,
        en(` ${items.length} item(s) to correct. Nothing was saved yet.`, true)),
      el("ul", { id: "problem-list" }, items.map((x) => x.li)));
    alertBox.querySelectorAll("a[data-focus]").forEach((a) => a.addEventListener("click", (e) => {
      e.preventDefault();
      const n = $(a.dataset.focus);
      n.scrollIntoView({ block: "center" });
      n.focus({ preventScroll: true });
    }));
  }

  function setFieldError(t, wrap, p) {
    wrap.classList.add("has-error");
    let box = wrap.querySelector(":scope > .field-error");
    if (!box) {
      box = el("div", { class: "field-error", id: (wrap.id || t.id || "f") + "-error" });
      wrap.append(box);
    }
    box.append(el("p", { class: "m-0" }, p.message, el("span", { class: "en", lang: "en" }, p.message_en)));
    const inputs = t.matches("input,select,textarea") ? [t] : Array.from(t.querySelectorAll("input,select,textarea"));
    for (const i of inputs) {
      i.setAttribute("aria-invalid", "true");
      const ids = (i.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!ids.includes(box.id)) ids.unshift(box.id);
      i.setAttribute("aria-describedby", ids.join(" "));
    }
    // The server's word replaces a hint that said the same or otherwise.
    const hint = wrap.querySelector(".hint-warn");
    if (hint) hint.hidden = true;
  }

  function clearFieldError(node) {
    if (!node || !node.closest) return;
    const wrap = node.closest(".field");
    if (!wrap || !wrap.classList.contains("has-error")) return;
    wrap.classList.remove("has-error");
    const box = wrap.querySelector(":scope > .field-error");
    for (const i of wrap.querySelectorAll("[aria-invalid]")) {
      i.removeAttribute("aria-invalid");
      if (box) {
        const ids = (i.getAttribute("aria-describedby") || "").split(/\s+/).filter((x) => x && x !== box.id);
        if (ids.length) i.setAttribute("aria-describedby", ids.join(" "));
        else i.removeAttribute("aria-describedby");
      }
    }
    if (box) box.remove();
  }

  function clearErrors() {
    for (const w of document.querySelectorAll(".field.has-error")) clearFieldError(w);
  }

  init();
})();
