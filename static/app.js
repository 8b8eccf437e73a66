// Progressive enhancement only: every page works without this file.
// Sortable tables: a header link already sorts on the server (a permalink); with JS the same
// click re-orders the rows in place and updates aria-sort, without a reload.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    var num = parseFloat(raw);
    return raw !== "" && !isNaN(num) && isFinite(raw) ? num : raw;
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      var link = th.querySelector("a[data-sort-key]");
      if (!link) return;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var current = th.getAttribute("aria-sort");
        var descending = current === "ascending" || (current === null && th.hasAttribute("data-desc-first"));
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = cellValue(r1, index), b = cellValue(r2, index);
          // Cells without a value go last in both directions, as on the server.
          if (a === "" || b === "") return (a === "") - (b === "");
          var c = compare(a, b);
          return descending ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      });
    });
  });
})();

// Upload progress: without JS the browser posts the form itself (and shows its own progress);
// with JS the same POST goes through XMLHttpRequest so a <progress> bar can show the bytes sent.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("upload-progress");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    if (bar) {
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
      });
    }
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        window.location.assign(xhr.responseURL);
      } else {
        document.open();
        document.write(xhr.responseText);
        document.close();
      }
    });
    xhr.send(new FormData(form));
  });
})();

// Weight sandbox: without JS the form is a plain GET (the URL is the permalink); with JS every
// weight gets a slider, and any change refreshes the table from /api/v1/sandbox in place,
// keeping the address bar and the download links on the current weights.
(function () {
  "use strict";
  var form = document.getElementById("sandbox-form");
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) return;
  var table = document.getElementById("sandbox-table");
  var status = document.getElementById("sandbox-status");
  var api = form.getAttribute("data-api").split("?")[0];
  var links = {};
  table.querySelectorAll("tbody tr").forEach(function (tr) {
    var a = tr.querySelector("a");
    if (a) links[tr.getAttribute("data-region")] = a.getAttribute("href");
  });
  var timer = null;
  var pending = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  }
  form.querySelectorAll("input[data-weight]").forEach(function (input) {
    var slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0";
    var value = parseFloat(input.value) || 0;
    // Indicator weights are shares of a few percent: a 0–1 track would leave them at its edge.
    var top = input.getAttribute("data-weight") === "dimension" ? 1 : 0.5;
    slider.max = String(Math.max(top, value));
    slider.step = input.getAttribute("data-weight") === "dimension" ? "0.01" : "0.002";
    slider.value = String(value);
    slider.setAttribute("aria-label", input.labels && input.labels[0] ? input.labels[0].firstChild.textContent.trim() : input.name);
    slider.className = "weight-slider";
    input.insertAdjacentElement("afterend", slider);
    slider.addEventListener("input", function () { input.value = slider.value; schedule(); });
    input.addEventListener("input", function () {
      var v = parseFloat(input.value);
      if (isFinite(v) && v >= 0) {
        if (v > parseFloat(slider.max)) slider.max = String(v);
        slider.value = String(v);
      }
      schedule();
    });
  });
  var year = document.getElementById("year-select");
  if (year) year.addEventListener("change", schedule);
  function fmt(x, d) { return x === null || x === undefined ? "—" : x.toFixed(d); }
  function cell(tag, text, cls) {
    var c = document.createElement(tag);
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  }
  function render(view) {
    var body = document.createElement("tbody");
    view.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-region", r.region);
      tr.appendChild(cell("td", r.rank === null ? "—" : String(r.rank), "num"));
      var th = document.createElement("th");
      th.scope = "row";
      var a = document.createElement("a");
      a.href = links[r.region] || ("/regions/" + encodeURIComponent(r.region));
      a.textContent = r.name;
      th.appendChild(a);
      tr.appendChild(th);
      tr.appendChild(cell("td", fmt(r.score, 2), "num"));
      tr.appendChild(cell("td", r.nominal_rank === null ? "—" : String(r.nominal_rank), "num"));
      var s = r.shift;
      tr.appendChild(cell("td", s === null ? "—" : s > 0 ? "↑" + s : s < 0 ? "↓" + (-s) : "0", "num"));
      tr.appendChild(cell("td", fmt(r.nominal_score, 2), "num"));
      tr.appendChild(cell("td", fmt(r.laborers, 2), "num"));
      tr.appendChild(cell("td", fmt(r.tools, 2), "num"));
      tr.appendChild(cell("td", fmt(r.objects, 2), "num"));
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    view.dimensions.forEach(function (d) { effective("d." + d.dimension, d.effective); });
    view.indicators.forEach(function (w) { effective("w." + w.indicator, w.effective); });
    var y = document.getElementById("sandbox-year");
    if (y) y.textContent = String(view.year);
  }
  function effective(name, share) {
    var out = form.querySelector('output[data-effective="' + name + '"]');
    if (out) out.textContent = (100 * share).toFixed(1);
  }
  // The map is drawn on the server: take the new one from the page at the new URL.
  function refreshMap(query) {
    var figure = document.getElementById("sandbox-map");
    if (!figure || !window.DOMParser) return;
    fetch(form.getAttribute("action") + "?" + query)
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("sandbox-map");
        if (next) figure.replaceWith(document.importNode(next, true));
      })
      .catch(function () { /* the table is current; the map stays as it was */ });
  }
  function refresh() {
    var params = new URLSearchParams(new FormData(form));
    var query = params.toString();
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    status.textContent = "…";
    fetch(api + "?" + query, { headers: { Accept: "application/json" }, signal: pending ? pending.signal : undefined })
      .then(function (res) {
        return res.json().then(function (body) { return { ok: res.ok, body: body }; });
      })
      .then(function (r) {
        if (!r.ok) { status.textContent = r.body.message || String(r.body.status); return; }
        status.textContent = "";
        render(r.body);
        history.replaceState(null, "", form.getAttribute("action") + "?" + query);
        refreshMap(query);
        document.querySelectorAll("#view-downloads a[data-format]").forEach(function (a) {
          if (a.getAttribute("data-format") === "metadata") return;
          var url = new URL(a.getAttribute("href"), window.location.href);
          var next = new URLSearchParams(query);
          ["format", "bom", "table"].forEach(function (k) {
            var v = url.searchParams.get(k);
            if (v) next.set(k, v);
          });
          a.setAttribute("href", url.pathname + "?" + next.toString());
        });
      })
      .catch(function (e) { if (!e || e.name !== "AbortError") status.textContent = String(e); });
  }
})();
