// AsyncQueue dashboard: keyboard and screen-reader care around htmx swaps.
// - After an operator's action swaps part of the page, focus goes to what they need
//   next: a confirmation's safe choice, else the message the action left, else the first
//   action of the new content, else its heading. It never drops to <body>.
// - Escape closes a confirmation (its [data-dismiss] link: "Keep it", "Back to the list"),
//   and the focus goes back to the button that opened it, on this page or the next.
// - A full page that opens after an action starts on the message the action left.
// Polls (htmx "poll" events) never move focus.
(function () {
  "use strict";
  var OPENER = "asyncqueue-opener", RETURN = "asyncqueue-return-focus";
  // The button or link that opened the confirmation shown now, as a key to find it again
  // (the page around it may have been swapped or loaded anew meanwhile).
  var opener = null;
  var returning = null;

  function keyOf(element) {
    var form = element.form || element.closest("form");
    return [element.tagName, element.textContent.trim(), element.getAttribute("value") || "",
            (form && form.getAttribute("action")) || element.getAttribute("href") || ""].join("|");
  }

  function findByKey(key) {
    var found = null;
    document.querySelectorAll("main button, main a[href]").forEach(function (element) {
      if (!found && keyOf(element) === key) { found = element; }
    });
    // (On a phone the bulk actions' menu may be folded: open it.)
    for (var fold = found && found.closest("details"); fold; fold = fold.parentElement.closest("details")) {
      fold.open = true;
    }
    return found;
  }

  function remember(name, key) {
    try { window.sessionStorage.setItem(name, key); } catch (e) { /* private mode */ }
  }

  function recall(name) {
    try {
      var key = window.sessionStorage.getItem(name);
      window.sessionStorage.removeItem(name);
      return key;
    } catch (e) { return null; }
  }

  document.addEventListener("click", function (event) {
    var element = event.target.closest("button, a[href]");
    if (!element || !element.closest("main")) { return; }
    if (element.matches(".confirm [data-dismiss]")) {
      returning = opener;
      if (returning) { remember(RETURN, returning); }
    } else if (!element.closest(".confirm")) {
      opener = keyOf(element);
      remember(OPENER, opener);
    }
  }, true);

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
    if (returning && !root.querySelector(".confirm")) {
      var back = findByKey(returning);
      returning = null;
      if (focusOn(back)) { return; }
    }
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
  var clicked = recall(OPENER), back = recall(RETURN);
  if (opening) {
    opening.focus();
    opener = clicked;
  } else {
    // After an action: on its message; back from a confirmation (Escape, "Back to the
    // list"): on the button that opened it.
    focusOn(document.querySelector("main .flash") || (back && findByKey(back)));
  }
})();
