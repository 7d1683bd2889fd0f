// Sort any <table class="sortable"> by clicking a header button. Numbers compare numerically,
// text by locale; empty cells always go last. No dependencies, works from file://.
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    if (!cell) return null;
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "") return null;
    if (type === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    return raw.toLowerCase();
  }

  function sortTable(table, th) {
    var type = th.getAttribute("data-type") || "text";
    var index = th.cellIndex;
    var current = th.getAttribute("aria-sort");
    // First click: numbers best-first (descending), text A-Z; later clicks flip.
    var direction;
    if (current === "ascending") direction = "descending";
    else if (current === "descending") direction = "ascending";
    else direction = type === "number" && th.getAttribute("data-key") !== "rank" ? "descending" : "ascending";
    var sign = direction === "ascending" ? 1 : -1;

    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, position) {
      return { row: row, value: cellValue(row, index, type), position: position };
    });
    keyed.sort(function (a, b) {
      if (a.value === null && b.value === null) return a.position - b.position;
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      var cmp = type === "number" ? a.value - b.value : a.value.localeCompare(b.value);
      return cmp !== 0 ? sign * cmp : a.position - b.position;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });

    table.querySelectorAll("thead th[aria-sort]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", direction);
  }

  // The "more columns" toggle of the leaderboard table.
  var toggle = document.getElementById("toggle-details");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var table = document.getElementById(toggle.getAttribute("aria-controls"));
      var shown = table.classList.toggle("show-details");
      toggle.setAttribute("aria-pressed", shown ? "true" : "false");
      toggle.textContent = shown ? "Show fewer columns" : "Show more columns";
    });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th[data-type]").forEach(function (th) {
      var button = th.querySelector("button") || th;
      button.addEventListener("click", function () { sortTable(table, th); });
    });
  });
})();
