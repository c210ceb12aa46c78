// AsyncQueue dashboard on a phone (600 px wide or less): every table reads as cards, each
// cell under its column's name (data-label, from the table's header), empty cells left
// out (data-empty); the job list's filters and bulk actions fold into their summaries
// ("Filters · 2 set", "Bulk actions").
// On a wider screen the folds stay open and their summaries are hidden (dashboard.css).
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 600px)");

  function label(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) { return; }
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, n) {
          var text = heads[n] ? heads[n].textContent.replace(/\s+/g, " ").trim() : "";
          if (cell.getAttribute("data-label") !== text) { cell.setAttribute("data-label", text); }
          // A card leaves out the lines with nothing to say.
          var empty = !cell.textContent.trim() && !cell.querySelector("input, a, svg");
          if (empty !== cell.hasAttribute("data-empty")) { cell.toggleAttribute("data-empty", empty); }
        });
      });
    });
  }

  function fold() {
    document.querySelectorAll("details.fold").forEach(function (details) {
      details.open = !phone.matches || details.hasAttribute("data-keep-open") ||
        details.contains(document.activeElement);
    });
  }

  // A poll's merge keeps the labels (the server's rows have none).
  if (window.Idiomorph) {
    var before = window.Idiomorph.defaults.callbacks.beforeAttributeUpdated;
    window.Idiomorph.defaults.callbacks.beforeAttributeUpdated = function (name, element, how) {
      if (name === "data-label" || name === "data-empty") { return false; }
      return before ? before(name, element, how) : true;
    };
  }
  label(document);
  fold();
  phone.addEventListener("change", fold);
  document.addEventListener("htmx:afterSettle", function () { label(document); });
})();
