// AsyncQueue dashboard: keyboard and screen-reader care around htmx swaps.
// - After an operator's action swaps part of the page, focus goes to what they need
//   next: a confirmation's safe choice, else the message the action left, else the first
//   action of the new content, else its heading. It never drops to <body>.
// - Escape closes a confirmation (its [data-dismiss] link: "Keep it", "Back to the list").
// Polls (htmx "poll" events) never move focus.
(function () {
  "use strict";

  function focusOn(element) {
    if (!element) { return false; }
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  function nextTarget(root) {
    return root.querySelector(".confirm [data-dismiss]") ||
      root.querySelector(".flash") ||
      root.querySelector(".actions button, .actions a[href]") ||
      root.querySelector("h1, h2, caption") || root;
  }

  function byPoll(detail) {
    var config = detail.requestConfig || {};
    var trigger = config.triggeringEvent;
    return trigger && trigger.type === "poll";
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (byPoll(event.detail)) { return; }
    // An outerHTML swap replaces the target: find its successor by id.
    var target = event.detail.target;
    if (target && !target.isConnected && target.id) { target = document.getElementById(target.id); }
    var root = target && target.isConnected ? target : document.querySelector("main");
    var lost = !document.activeElement || document.activeElement === document.body ||
      !document.activeElement.isConnected;
    var says = root.querySelector(".confirm [data-dismiss], .flash");
    if (lost || says) { focusOn(nextTarget(root)); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) { return; }
    var dismiss = document.querySelector(".confirm [data-dismiss]");
    if (dismiss) {
      event.preventDefault();
      dismiss.click();
    }
  });

  // A full page that opens on a confirmation (bulk actions, removing a user) starts on
  // its safe choice, as the in-page ones do.
  var opening = document.querySelector(".confirm [data-dismiss]");
  if (opening) { opening.focus(); }
})();
