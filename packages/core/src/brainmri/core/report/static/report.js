// brainmri QC page: sort, filter, paginate, rate and export ratings as CSV. No network.
(function () {
  "use strict";
  const spec = JSON.parse(document.getElementById("report-data").textContent);
  const columns = spec.columns, rows = spec.rows;
  const storeKey = "brainmri-ratings:" + location.pathname;
  let ratings = {};
  try { ratings = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { ratings = {}; }
  const state = { key: null, dir: 1, flaggedFirst: true, flaggedOnly: false, text: "", page: 0, size: spec.page_size };
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const isFlagged = (r) => r.flags.length > 0;
  function compare(a, b) {
    if (state.flaggedFirst && isFlagged(a) !== isFlagged(b)) return isFlagged(a) ? -1 : 1;
    if (state.key !== null) {
      const x = a.values[state.key], y = b.values[state.key];
      if (x !== y) {
        if (x === null || x === undefined || x === "") return 1;
        if (y === null || y === undefined || y === "") return -1;
        return (x < y ? -1 : 1) * state.dir;
      }
    }
    return a.scan < b.scan ? -1 : a.scan > b.scan ? 1 : 0;
  }
  function visible() {
    const text = state.text.toLowerCase();
    return rows.filter((r) => (!state.flaggedOnly || isFlagged(r)) &&
      (!text || (r.scan + " " + r.flags.join(" ")).toLowerCase().includes(text))).sort(compare);
  }
  function format(value, column) {
    if (value === null || value === undefined || value === "") return "";
    if (column.kind === "number") return Number(value).toFixed(column.digits);
    return String(value);
  }
  function save() { try { localStorage.setItem(storeKey, JSON.stringify(ratings)); } catch (e) { /* private mode */ } }
  function ratingCell(r) {
    const td = el("td", { class: "rating" });
    const rating = ratings[r.scan] || { rating: "", comment: "" };
    const select = el("select", { "data-scan": r.scan, "aria-label": "rating of " + r.scan });
    for (const option of ["", "good", "doubtful", "bad"]) {
      const o = el("option", { value: option }, option || "-");
      if (option === rating.rating) o.selected = true;
      select.appendChild(o);
    }
    const comment = el("input", { type: "text", placeholder: "comment", "data-scan": r.scan, size: "18" });
    comment.value = rating.comment;
    const update = () => { ratings[r.scan] = { rating: select.value, comment: comment.value }; save(); counts(); };
    select.addEventListener("change", update);
    comment.addEventListener("input", update);
    td.append(select, el("br"), comment);
    return td;
  }
  function render() {
    const shown = visible();
    const pages = Math.max(1, Math.ceil(shown.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    const body = $("rows");
    body.textContent = "";
    for (const r of shown.slice(state.page * state.size, (state.page + 1) * state.size)) {
      const tr = el("tr", { class: isFlagged(r) ? "flagged" : "ok", "data-scan": r.scan });
      tr.appendChild(el("td", { class: "marker" }));
      const name = el("td", { class: "scan" }, r.scan);
      if (r.flags.length) name.appendChild(el("div", { class: "flags" }, r.flags.join(", ")));
      if (r.viewer) {
        const a = el("a", { href: "#", class: "viewer-link" }, "open in viewer");
        a.addEventListener("click", (ev) => { ev.preventDefault(); window.brainmriViewer.open(r); });
        name.appendChild(el("div")).appendChild(a);
      }
      tr.appendChild(name);
      const pic = el("td", { class: "pic" });
      if (r.image) {
        const img = el("img", { class: "mosaic", loading: "lazy", src: r.image, alt: "mosaic of " + r.scan });
        img.addEventListener("click", () => r.viewer ? window.brainmriViewer.open(r) : window.open(r.image));
        pic.appendChild(img);
      }
      tr.appendChild(pic);
      columns.forEach((c, i) => tr.appendChild(el("td", { class: c.kind === "number" ? "num" : "text", "data-key": c.key },
        format(r.values[i], c))));
      tr.appendChild(ratingCell(r));
      body.appendChild(tr);
    }
    $("page").textContent = "page " + (state.page + 1) + " of " + pages + " (" + shown.length + " of " + rows.length + " scans)";
    document.querySelectorAll("th[data-col]").forEach((th) => {
      th.classList.toggle("sorted-asc", Number(th.dataset.col) === state.key && state.dir === 1);
      th.classList.toggle("sorted-desc", Number(th.dataset.col) === state.key && state.dir === -1);
    });
    counts();
  }
  function counts() {
    const n = Object.values(ratings).filter((x) => x.rating || x.comment).length;
    $("rated").textContent = n + " rated";
  }
  function csvField(v) { v = String(v === null || v === undefined ? "" : v); return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  function exportCsv() {
    const lines = [["scan", "file", "rating", "comment", "flags"].join(",")];
    for (const r of rows.slice().sort(compare)) {
      const x = ratings[r.scan];
      if (!x || !(x.rating || x.comment)) continue;
      lines.push([r.scan, r.file, x.rating, x.comment, r.flags.join(";")].map(csvField).join(","));
    }
    const text = lines.join("\n") + "\n";
    const a = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: spec.ratings_name });
    document.body.appendChild(a); a.click(); a.remove();
    return text;
  }
  // header
  const head = $("head");
  head.append(el("th", {}, ""), el("th", {}, "scan"), el("th", {}, spec.image_label));
  columns.forEach((c, i) => {
    const th = el("th", { "data-col": String(i), title: c.help || "" }, c.label);
    th.addEventListener("click", () => { state.dir = state.key === i ? -state.dir : 1; state.key = i; render(); });
    head.appendChild(th);
  });
  head.appendChild(el("th", {}, "rating"));
  $("filter").addEventListener("input", (e) => { state.text = e.target.value; state.page = 0; render(); });
  $("flagged-first").addEventListener("change", (e) => { state.flaggedFirst = e.target.checked; render(); });
  $("flagged-only").addEventListener("change", (e) => { state.flaggedOnly = e.target.checked; state.page = 0; render(); });
  $("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); render(); });
  $("next").addEventListener("click", () => { state.page += 1; render(); });
  $("export").addEventListener("click", exportCsv);
  window.brainmriReport = { exportCsv, render, state, ratings };
  render();
  document.body.dataset.ready = "1";
})();
